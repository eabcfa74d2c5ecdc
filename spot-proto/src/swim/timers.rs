//! One queue of deadlines. Entries are never cancelled: each is checked against the current state
//! when it fires, so a stale one is a harmless early wake-up.

use core::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Instant;
use crate::wire::spot::NodeId;

/// What a deadline is for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Start the next probe (and settle the previous one).
    ProbeTick,
    /// As a PING_REQ intermediary, the target did not answer our PING `seq`: send a NACK.
    ForwardTimeout(u32),
    /// A suspicion may have run out.
    Suspicion(NodeId),
    /// A dead or left member may be forgotten.
    Reap(NodeId),
    /// Gossip pending updates.
    Gossip,
    /// Start a periodic push-pull.
    PushPull,
    /// Ping the seeds again while joining.
    JoinRetry,
    /// The bootstrap timeout.
    Bootstrap,
    /// The leave grace period is over.
    LeaveGrace,
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// The earliest deadline in `heap`, kept beside it: asking when the next timer is due (after
    /// every input) then reads no heap memory, which in a large simulated cluster is a cache
    /// miss per member.
    first: Option<Instant>,
    /// A pending [`Timer::ProbeTick`] with its sequence number, kept out of the heap: it is the
    /// one timer of every probe period, and a member's heap is cold memory by its next period.
    /// It is ordered with the heap's entries by `(at, seq)` exactly as if it were in the heap.
    probe_tick: Option<(Instant, u64)>,
    /// The key of the heap's earliest entry, so that a probe tick is ordered against the heap
    /// without reading the heap's memory.
    heap_first: Option<(Instant, u64)>,
    heap: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
    next_seq: u64,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Instant, timer: Timer) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if timer == Timer::ProbeTick && self.probe_tick.is_none() {
            self.probe_tick = Some((at, seq));
        } else {
            self.heap.push(Reverse((at, seq, timer)));
            if self.heap_first.is_none_or(|first| (at, seq) < first) {
                self.heap_first = Some((at, seq));
            }
        }
        if self.first.is_none_or(|first| at < first) {
            self.first = Some(at);
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.first
    }

    /// The earliest timer due at `now`, removed from the queue.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        if self.first.is_none_or(|first| first > now) {
            return None;
        }
        let timer = match (self.probe_tick, self.heap_first) {
            (Some(tick), heap) if heap.is_none_or(|heap| tick < heap) => {
                self.probe_tick = None;
                Some(Timer::ProbeTick)
            }
            _ => {
                let timer = self.heap.pop().map(|Reverse((_, _, t))| t);
                self.heap_first = self.heap.peek().map(|Reverse((at, seq, _))| (*at, *seq));
                timer
            }
        };
        self.first = match (self.probe_tick.map(|(at, _)| at), self.heap_first.map(|(at, _)| at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        timer
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.probe_tick = None;
        self.heap_first = None;
        self.first = None;
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len() + usize::from(self.probe_tick.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SpotRng;

    /// The queue gives the same timers in the same order as one heap keyed by `(at, seq)`.
    #[test]
    fn probe_ticks_come_out_in_heap_order() {
        let mut rng = SpotRng::from_seed(11);
        let mut timers = Timers::default();
        let mut reference = BinaryHeap::new();
        let mut now = 0u64;
        let mut popped = 0;
        for seq in 0..5_000u64 {
            let at = Instant::from_millis(now + rng.below(50));
            let timer = match rng.below(3) {
                0 => Timer::ProbeTick,
                1 => Timer::Gossip,
                _ => Timer::ForwardTimeout(rng.below(4) as u32),
            };
            timers.schedule(at, timer.clone());
            reference.push(Reverse((at, seq, timer)));
            assert_eq!(timers.len(), reference.len());
            assert_eq!(timers.next_deadline(), reference.peek().map(|Reverse((at, _, _))| *at));
            if rng.below(2) == 0 {
                now += rng.below(30);
                let due = Instant::from_millis(now);
                loop {
                    let expected = match reference.peek() {
                        Some(Reverse((at, _, _))) if *at <= due => {
                            reference.pop().map(|Reverse((_, _, t))| t)
                        }
                        _ => None,
                    };
                    let got = timers.pop_due(due);
                    assert_eq!(got, expected);
                    if got.is_none() {
                        break;
                    }
                    popped += 1;
                }
            }
        }
        assert!(popped > 1_000, "popped {popped}");
    }
}
