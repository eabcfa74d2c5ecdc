//! Property tests of `spot_proto::pubsub::relay`:
//!
//! * within the window, a sequence is accepted exactly when it was not recorded before (any
//!   order, any duplicates);
//! * whatever the input, no sequence is ever accepted twice;
//! * in-order streams with losses count exactly the lost numbers the window gave up as gaps;
//! * a relay filter delivers each (origin, sequence) at most once, exactly once when each origin's
//!   copies arrive within the window, and never tracks more origins than its bound.
//!
//! Every run uses a fixed seed, so failures replay.
// Test code: a failed unwrap in a generator is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use quickcheck::{Gen, QuickCheck};
use spot_proto::Limits;
use spot_proto::pubsub::{DedupWindow, RelayConfig, RelayDecision, RelayFilter, WindowVerdict};
use spot_proto::wire::spot::NodeId;

fn qc(tests: u64, seed: u64) -> QuickCheck {
    QuickCheck::new().rng(Gen::from_size_and_seed(100, seed)).tests(tests)
}

#[test]
fn within_the_window_a_sequence_is_new_exactly_once() {
    fn prop(base: u64, offsets: Vec<u8>) -> bool {
        let base = base % (u64::MAX / 2);
        let mut window = DedupWindow::new();
        let mut seen = BTreeSet::new();
        // The first record starts the window at `base`; offsets 0..=128 then stay inside it.
        window.record(base);
        seen.insert(base);
        for offset in offsets {
            let sequence = base + u64::from(offset % 129);
            let fresh = seen.insert(sequence);
            let verdict = window.record(sequence);
            let expected =
                if fresh { WindowVerdict::New { skipped: 0 } } else { WindowVerdict::Seen };
            if verdict != expected || !window.contains(sequence) {
                return false;
            }
        }
        true
    }
    qc(500, 1).quickcheck(prop as fn(u64, Vec<u8>) -> bool);
}

#[test]
fn no_sequence_is_ever_accepted_twice() {
    fn prop(sequences: Vec<u16>) -> bool {
        let mut window = DedupWindow::new();
        let mut accepted = BTreeSet::new();
        for sequence in sequences {
            let sequence = u64::from(sequence % 1000);
            if let WindowVerdict::New { .. } = window.record(sequence)
                && !accepted.insert(sequence)
            {
                return false;
            }
        }
        true
    }
    qc(500, 2).quickcheck(prop as fn(Vec<u16>) -> bool);
}

#[test]
fn in_order_streams_count_exactly_the_given_up_losses_as_gaps() {
    fn prop(start: u32, steps: Vec<u8>) -> bool {
        let mut window = DedupWindow::new();
        let first = u64::from(start);
        let mut delivered = BTreeSet::from([first]);
        window.record(first);
        let mut gaps = 0;
        let mut sequence = first;
        for step in steps {
            // Steps of 1 (no loss) most of the time, sometimes a jump past the window.
            sequence += match step % 8 {
                0 => 1 + u64::from(step),
                1 => 200,
                _ => 1,
            };
            match window.record(sequence) {
                WindowVerdict::New { skipped } => gaps += skipped,
                WindowVerdict::Seen => return false,
            }
            delivered.insert(sequence);
        }
        let passed = window.next_unseen() - first - 1;
        let given_up = passed - delivered.range(first + 1..window.next_unseen()).count() as u64;
        gaps == given_up
    }
    qc(500, 3).quickcheck(prop as fn(u32, Vec<u8>) -> bool);
}

fn node(index: u8) -> NodeId {
    NodeId::copy_from_str(&format!("n{index}"), &Limits::default()).unwrap()
}

#[test]
fn a_filter_delivers_each_message_at_most_once_and_stays_bounded() {
    fn prop(arrivals: Vec<(u8, u8, u8)>, max_origins: u8) -> bool {
        let max_origins = 1 + usize::from(max_origins % 6);
        let config = RelayConfig::default().with_max_origins(max_origins);
        let mut filter = RelayFilter::new(node(0), config);
        let mut delivered: BTreeSet<(u8, u64)> = BTreeSet::new();
        let mut evictions_needed = false;
        for (origin, sequence, hops) in arrivals {
            let origin = origin % 8;
            let decision = filter.on_receive(&node(origin), u64::from(sequence), hops % 4);
            if origin == 0 {
                if decision != RelayDecision::OwnEcho {
                    return false;
                }
                continue;
            }
            if decision.delivers() && !delivered.insert((origin, u64::from(sequence))) {
                // A second delivery is allowed only for an origin that was evicted meanwhile.
                evictions_needed = true;
            }
            if filter.origins() > max_origins {
                return false;
            }
        }
        !evictions_needed || filter.stats().origins_evicted > 0
    }
    qc(500, 4).quickcheck(prop as fn(Vec<(u8, u8, u8)>, u8) -> bool);
}

#[test]
fn with_room_for_every_origin_each_message_is_delivered_exactly_once() {
    fn prop(copies: Vec<(u8, u8)>) -> bool {
        let mut filter = RelayFilter::new(node(0), RelayConfig::default());
        // Every origin sends 1..=N in order; the network duplicates and interleaves, but each
        // origin's stream stays in order, so the windows never give anything up.
        let mut sent = [0u64; 5];
        let mut delivered: BTreeSet<(u8, u64)> = BTreeSet::new();
        for (origin, duplicate) in copies {
            let origin = 1 + origin % 4;
            let slot = usize::from(origin);
            let sequence = if duplicate % 3 == 0 && sent[slot] > 0 {
                sent[slot]
            } else {
                sent[slot] += 1;
                sent[slot]
            };
            let fresh = !delivered.contains(&(origin, sequence));
            let decision = filter.on_receive(&node(origin), sequence, 0);
            if decision.delivers() != fresh {
                return false;
            }
            delivered.insert((origin, sequence));
        }
        let total: u64 = sent.iter().sum();
        filter.stats().accepted == total && filter.stats().gaps == 0
    }
    qc(500, 5).quickcheck(prop as fn(Vec<(u8, u8)>) -> bool);
}
