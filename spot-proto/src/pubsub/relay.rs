//! Loop and duplicate prevention for relayed publishes (hub-and-spoke, RELAYED_PUBLISH).
//!
//! Every relayed message carries its origin node, the origin's sequence number for it, and a hop
//! count (times forwarded before this hop). A receiving node asks [`RelayFilter::on_receive`]
//! what to do:
//!
//! * its own message coming back is dropped ([`RelayDecision::OwnEcho`]);
//! * a message seen already is dropped ([`RelayDecision::Duplicate`]);
//! * a new message is delivered, and forwarded with the next hop count while that count stays
//!   within [`RelayConfig::max_hops`] ([`RelayDecision::Forward`]), or only delivered once the
//!   hop limit is reached ([`RelayDecision::Deliver`]).
//!
//! # Memory
//!
//! Per origin, a [`DedupWindow`] remembers a floor (every sequence below it counts as seen) and a
//! 128-bit map of the sequences just above it: 32 bytes whatever the traffic. A sequence more than
//! 128 ahead of the floor slides the window; sequences it skips without having seen them are
//! counted as gaps (lost, or arriving too late: a message older than the window is dropped as a
//! duplicate, since it cannot be told apart from one). At most [`RelayConfig::max_origins`]
//! origins are tracked; beyond that the least recently heard one is forgotten (counted), which
//! can let one old duplicate of it through later.
//!
//! # Restarts
//!
//! A restarted origin that starts its sequence again from the same number would look like a
//! stream of duplicates. The node calls [`RelayFilter::forget_origin`] when membership reports
//! that the origin restarted (a new incarnation after it was dead or left), and an origin can
//! start its numbering above any number it used before with
//! [`RelayFilter::with_first_sequence`] (for example its SWIM incarnation shifted left by 32 bits).

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::collections::FxHashMap;
use crate::wire::spot::{NodeId, RelayedPublish, Topic};

/// Width of the per-origin window above its floor.
pub const WINDOW_BITS: u64 = 128;

/// What a [`DedupWindow`] says about one sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowVerdict {
    /// Not seen before. `skipped` sequences below it left the window unseen (gaps).
    New {
        /// Sequences given up as lost by this slide of the window.
        skipped: u64,
    },
    /// Seen before, or older than the window.
    Seen,
}

/// A bounded record of the sequence numbers seen from one origin.
///
/// Every sequence below `next` counts as seen; bit `i` of `bits` says whether `next + i` was
/// seen. Bit 0 is always clear (a seen `next` is folded into `next` at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DedupWindow {
    next: u64,
    bits: u128,
    started: bool,
}

impl DedupWindow {
    /// A window that has seen nothing.
    pub const fn new() -> Self {
        DedupWindow { next: 0, bits: 0, started: false }
    }

    /// Records `sequence` and says whether it is new. The first sequence ever recorded starts
    /// the window: anything below it counts as seen (a message reordered before the first one
    /// heard is dropped as a duplicate).
    pub fn record(&mut self, sequence: u64) -> WindowVerdict {
        if !self.started {
            self.started = true;
            self.next = sequence.saturating_add(1);
            self.bits = 0;
            return WindowVerdict::New { skipped: 0 };
        }
        if sequence < self.next {
            return WindowVerdict::Seen;
        }
        let mut offset = sequence - self.next;
        let mut skipped = 0;
        if offset >= WINDOW_BITS {
            let shift = offset - (WINDOW_BITS - 1);
            let leaving = shift.min(WINDOW_BITS);
            let mask = if leaving >= WINDOW_BITS { u128::MAX } else { (1u128 << leaving) - 1 };
            skipped = leaving - u64::from((self.bits & mask).count_ones());
            skipped += shift - leaving;
            self.bits = if shift >= WINDOW_BITS { 0 } else { self.bits >> shift };
            self.next = self.next.saturating_add(shift);
            offset = WINDOW_BITS - 1;
        }
        let mask = 1u128 << offset;
        if self.bits & mask != 0 {
            return WindowVerdict::Seen;
        }
        self.bits |= mask;
        self.fold();
        WindowVerdict::New { skipped }
    }

    /// Whether `sequence` would be reported as seen.
    pub fn contains(&self, sequence: u64) -> bool {
        if !self.started {
            return false;
        }
        if sequence < self.next {
            return true;
        }
        let offset = sequence - self.next;
        offset < WINDOW_BITS && self.bits & (1u128 << offset) != 0
    }

    /// The lowest sequence not counted as seen (every lower one is).
    pub fn next_unseen(&self) -> u64 {
        self.next
    }

    /// Folds the run of seen numbers at the bottom of the map into `next`.
    fn fold(&mut self) {
        let run = self.bits.trailing_ones();
        self.bits = if run >= 128 { 0 } else { self.bits >> run };
        self.next = self.next.saturating_add(u64::from(run));
    }
}

/// What to do with a relayed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayDecision {
    /// New: deliver it, and forward it carrying `hops` (the incremented hop count).
    Forward {
        /// The hop count to put in the forwarded copies.
        hops: u8,
    },
    /// New: deliver it, but do not forward it (the hop limit is reached).
    Deliver,
    /// Seen already (or older than the window): drop it.
    Duplicate,
    /// This node's own message came back: drop it.
    OwnEcho,
}

impl RelayDecision {
    /// Whether the message should be delivered locally.
    pub fn delivers(self) -> bool {
        matches!(self, RelayDecision::Forward { .. } | RelayDecision::Deliver)
    }
}

/// Bounds of a [`RelayFilter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayConfig {
    /// Highest hop count a forwarded copy may carry (default 2: origin, hub, spoke, and one more
    /// hub). A message that arrives with this count is delivered and not forwarded.
    pub max_hops: u8,
    /// Most origins tracked at once (default 4096).
    pub max_origins: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig { max_hops: 2, max_origins: 4096 }
    }
}

impl RelayConfig {
    /// Sets the hop limit.
    pub fn with_max_hops(mut self, max_hops: u8) -> Self {
        self.max_hops = max_hops;
        self
    }

    /// Sets the bound on tracked origins (at least 1).
    pub fn with_max_origins(mut self, max_origins: usize) -> Self {
        self.max_origins = max_origins.max(1);
        self
    }
}

/// Counters of a [`RelayFilter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayStats {
    /// Messages this node originated.
    pub originated: u64,
    /// New messages accepted (forwarded or delivered only).
    pub accepted: u64,
    /// Accepted and to be forwarded.
    pub forwarded: u64,
    /// Accepted but not forwarded: the hop limit was reached.
    pub hop_limited: u64,
    /// Dropped as duplicates (or older than the window).
    pub duplicates: u64,
    /// Own messages that came back, dropped.
    pub own_echoes: u64,
    /// Sequence numbers given up as lost when a window slid past them unseen.
    pub gaps: u64,
    /// Origins forgotten to stay within `max_origins`.
    pub origins_evicted: u64,
    /// Origins forgotten on request ([`RelayFilter::forget_origin`]).
    pub origins_forgotten: u64,
}

#[derive(Clone, Debug)]
struct OriginState {
    window: DedupWindow,
    last_heard: u64,
}

/// Per-origin duplicate windows, the hop limit, and this node's own sequence numbers (see the
/// [module documentation](self)).
#[derive(Clone, Debug)]
pub struct RelayFilter {
    self_id: NodeId,
    config: RelayConfig,
    next_sequence: u64,
    origins: FxHashMap<NodeId, OriginState>,
    /// Least recently heard first: `last_heard` tick -> origin.
    by_age: BTreeMap<u64, NodeId>,
    tick: u64,
    stats: RelayStats,
}

impl RelayFilter {
    /// A filter for node `self_id`; its own sequence numbers start at 1.
    pub fn new(self_id: NodeId, config: RelayConfig) -> Self {
        RelayFilter {
            self_id,
            config,
            next_sequence: 1,
            origins: FxHashMap::default(),
            by_age: BTreeMap::new(),
            tick: 0,
            stats: RelayStats::default(),
        }
    }

    /// Starts this node's own numbering at `first` (e.g. above every number a previous run of the
    /// same node id used).
    pub fn with_first_sequence(mut self, first: u64) -> Self {
        self.next_sequence = first;
        self
    }

    /// The configuration.
    pub fn config(&self) -> RelayConfig {
        self.config
    }

    /// The counters.
    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    /// Number of origins tracked.
    pub fn origins(&self) -> usize {
        self.origins.len()
    }

    /// The next sequence number for a message this node originates.
    pub fn next_sequence(&mut self) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.stats.originated += 1;
        sequence
    }

    /// A RELAYED_PUBLISH for a message this node originates (hop count 0).
    pub fn originate(&mut self, topic: Topic, data: Bytes) -> RelayedPublish {
        let sequence = self.next_sequence();
        RelayedPublish { origin: self.self_id.clone(), hops: 0, sequence, topic, data }
    }

    /// Decides about a relayed message from `origin` with `sequence`, carrying `hops`.
    pub fn on_receive(&mut self, origin: &NodeId, sequence: u64, hops: u8) -> RelayDecision {
        if origin == &self.self_id {
            self.stats.own_echoes += 1;
            return RelayDecision::OwnEcho;
        }
        self.tick += 1;
        let tick = self.tick;
        let verdict = match self.origins.get_mut(origin.as_bytes().as_ref()) {
            Some(state) => {
                self.by_age.remove(&state.last_heard);
                state.last_heard = tick;
                state.window.record(sequence)
            }
            None => {
                if self.origins.len() >= self.config.max_origins {
                    self.evict_oldest();
                }
                let mut window = DedupWindow::new();
                let verdict = window.record(sequence);
                self.origins.insert(origin.clone(), OriginState { window, last_heard: tick });
                verdict
            }
        };
        self.by_age.insert(tick, origin.clone());
        match verdict {
            WindowVerdict::Seen => {
                self.stats.duplicates += 1;
                RelayDecision::Duplicate
            }
            WindowVerdict::New { skipped } => {
                self.stats.gaps += skipped;
                self.stats.accepted += 1;
                if hops < self.config.max_hops {
                    self.stats.forwarded += 1;
                    RelayDecision::Forward { hops: hops + 1 }
                } else {
                    self.stats.hop_limited += 1;
                    RelayDecision::Deliver
                }
            }
        }
    }

    /// [`Self::on_receive`] for a decoded RELAYED_PUBLISH.
    pub fn on_relayed(&mut self, message: &RelayedPublish) -> RelayDecision {
        self.on_receive(&message.origin, message.sequence, message.hops)
    }

    /// Forgets an origin's window (it restarted and numbers from the start again). Returns
    /// whether it was tracked.
    pub fn forget_origin(&mut self, origin: &NodeId) -> bool {
        match self.origins.remove(origin.as_bytes().as_ref()) {
            Some(state) => {
                self.by_age.remove(&state.last_heard);
                self.stats.origins_forgotten += 1;
                true
            }
            None => false,
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, oldest)) = self.by_age.pop_first() {
            self.origins.remove(oldest.as_bytes().as_ref());
            self.stats.origins_evicted += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn node(name: &str) -> NodeId {
        NodeId::copy_from_str(name, &Limits::default()).unwrap()
    }

    #[test]
    fn window_accepts_each_sequence_once_in_any_order_within_the_window() {
        let mut w = DedupWindow::new();
        assert!(!w.contains(10));
        assert_eq!(w.record(10), WindowVerdict::New { skipped: 0 });
        assert_eq!(w.record(10), WindowVerdict::Seen);
        assert_eq!(w.record(9), WindowVerdict::Seen, "older than the first heard");
        for s in [13, 12, 11, 14] {
            assert_eq!(w.record(s), WindowVerdict::New { skipped: 0 }, "sequence {s}");
        }
        assert_eq!(w.next_unseen(), 15);
        assert_eq!(w.record(100), WindowVerdict::New { skipped: 0 });
        assert!(w.contains(100) && !w.contains(99) && w.contains(14));
        assert_eq!(w.record(99), WindowVerdict::New { skipped: 0 });
        assert_eq!(w.record(99), WindowVerdict::Seen);
    }

    #[test]
    fn window_slides_and_counts_gaps() {
        let mut w = DedupWindow::new();
        w.record(0);
        w.record(5);
        // next = 1, so 1..=128 fit the window; 200 slides it by 72: numbers 1..=72 leave it,
        // of which only 5 was seen.
        assert_eq!(w.record(200), WindowVerdict::New { skipped: 71 });
        assert_eq!(w.next_unseen(), 73);
        assert_eq!(w.record(72), WindowVerdict::Seen, "given up: too old to tell");
        assert_eq!(w.record(73), WindowVerdict::New { skipped: 0 }, "still in the window");
        assert_eq!(w.next_unseen(), 74);
        assert!(w.contains(200) && !w.contains(199) && !w.contains(10_000));
        // A jump far beyond the window gives up everything in between.
        let mut far = DedupWindow::new();
        far.record(0);
        assert_eq!(far.record(1_000), WindowVerdict::New { skipped: 872 });
        assert_eq!(far.record(999), WindowVerdict::New { skipped: 0 }, "still in the window");
        // 999 and 1000 were seen among the 128 leaving; the rest is given up.
        assert_eq!(far.record(u64::MAX), WindowVerdict::New { skipped: u64::MAX - 1_002 });
        assert_eq!(far.record(u64::MAX), WindowVerdict::Seen);
    }

    #[test]
    fn decisions_follow_the_hop_limit() {
        let config = RelayConfig::default().with_max_hops(1);
        let mut hub = RelayFilter::new(node("hub"), config);
        let origin = node("spoke1");
        assert_eq!(hub.on_receive(&origin, 1, 0), RelayDecision::Forward { hops: 1 });
        assert_eq!(hub.on_receive(&origin, 2, 1), RelayDecision::Deliver);
        assert_eq!(hub.on_receive(&origin, 3, 200), RelayDecision::Deliver);
        assert_eq!(hub.on_receive(&origin, 1, 0), RelayDecision::Duplicate);
        assert!(!RelayDecision::Duplicate.delivers() && RelayDecision::Deliver.delivers());
        assert_eq!(hub.on_receive(&node("hub"), 7, 0), RelayDecision::OwnEcho);
        assert!(!RelayDecision::OwnEcho.delivers());
        let stats = hub.stats();
        assert_eq!(
            (
                stats.accepted,
                stats.forwarded,
                stats.hop_limited,
                stats.duplicates,
                stats.own_echoes
            ),
            (3, 1, 2, 1, 1)
        );
    }

    #[test]
    fn origination_numbers_messages() {
        let limits = Limits::default();
        let mut filter =
            RelayFilter::new(node("me"), RelayConfig::default()).with_first_sequence(41);
        let topic = Topic::copy_from_str("t", &limits).unwrap();
        let first = filter.originate(topic.clone(), Bytes::from_static(b"x"));
        let second = filter.originate(topic, Bytes::from_static(b"y"));
        assert_eq!((first.sequence, second.sequence), (41, 42));
        assert_eq!((first.hops, first.origin.clone()), (0, node("me")));
        // A receiver accepts each once; our own copy coming back is an echo.
        let mut other = RelayFilter::new(node("other"), RelayConfig::default());
        assert!(other.on_relayed(&first).delivers());
        assert_eq!(other.on_relayed(&first), RelayDecision::Duplicate);
        assert_eq!(filter.on_relayed(&second), RelayDecision::OwnEcho);
        assert_eq!(filter.stats().originated, 2);
        assert_eq!(filter.config().max_hops, 2);
    }

    #[test]
    fn origins_are_bounded_least_recently_heard_first() {
        let config = RelayConfig::default().with_max_origins(2);
        let mut f = RelayFilter::new(node("me"), config);
        f.on_receive(&node("a"), 1, 0);
        f.on_receive(&node("b"), 1, 0);
        f.on_receive(&node("a"), 2, 0); // a is now the most recent
        f.on_receive(&node("c"), 1, 0); // evicts b
        assert_eq!(f.origins(), 2);
        assert_eq!(f.stats().origins_evicted, 1);
        assert_eq!(f.on_receive(&node("a"), 2, 0), RelayDecision::Duplicate, "a kept");
        assert!(f.on_receive(&node("b"), 1, 0).delivers(), "b was forgotten");
        assert_eq!(RelayConfig::default().with_max_origins(0).max_origins, 1);
    }

    #[test]
    fn forgetting_a_restarted_origin() {
        let mut f = RelayFilter::new(node("me"), RelayConfig::default());
        let origin = node("o");
        for s in 1..=5 {
            f.on_receive(&origin, s, 0);
        }
        assert_eq!(f.on_receive(&origin, 1, 0), RelayDecision::Duplicate);
        assert!(f.forget_origin(&origin));
        assert!(!f.forget_origin(&origin));
        assert!(f.on_receive(&origin, 1, 0).delivers(), "numbering from the start again");
        assert_eq!(f.stats().origins_forgotten, 1);
    }
}
