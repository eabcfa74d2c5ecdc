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
    heap: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
    next_seq: u64,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, self.next_seq, timer)));
        self.next_seq += 1;
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
        let timer = self.heap.pop().map(|Reverse((_, _, t))| t);
        self.first = self.heap.peek().map(|Reverse((at, _, _))| *at);
        timer
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.first = None;
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
