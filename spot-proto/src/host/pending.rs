//! [`Pending`]: who waits for what — long operations by id, `join` and `leave` callers, and a
//! graceful shutdown in progress — and the event that settles each.
//!
//! The shutdown sequence: when the node is a member it leaves the cluster, then the driver keeps
//! running until the `Left` event (the leave was gossiped for the grace period) or the deadline
//! `leave_grace +` [`LEAVE_SLACK`], whichever comes first; a node that is not a member stops at
//! once. Then the driver closes its sockets and answers the shutdown waiters.

use crate::Instant;
use crate::collections::FxHashMap;
use crate::error::NodeError;
use crate::host::defaults::LEAVE_SLACK;
use crate::host::feed::Reply;
use crate::node::{Node, NodeEvent, OperationId, SyncReport};
use crate::swim::MembershipEvent;

/// A graceful shutdown in progress.
#[derive(Debug)]
struct Shutdown<D> {
    deadline: Instant,
    waiters: Vec<D>,
    done: bool,
}

/// The callers waiting on one node: `O` answers a long operation (`cluster_add`,
/// `cluster_sync`), `U` a `join` or a `leave`, `D` a `shutdown`.
#[derive(Debug)]
pub struct Pending<O, U, D> {
    operations: FxHashMap<OperationId, O>,
    joins: Vec<U>,
    leaves: Vec<U>,
    shutdown: Option<Shutdown<D>>,
}

impl<O, U, D> Default for Pending<O, U, D> {
    fn default() -> Self {
        Pending {
            operations: FxHashMap::default(),
            joins: Vec::new(),
            leaves: Vec::new(),
            shutdown: None,
        }
    }
}

impl<O, U, D> Pending<O, U, D>
where
    O: Reply<Result<SyncReport, NodeError>>,
    U: Reply<Result<(), NodeError>>,
    D: Reply<()>,
{
    /// Nobody waiting.
    pub fn new() -> Self {
        Self::default()
    }

    /// `answer` hears how operation `op` finished.
    pub fn operation(&mut self, op: OperationId, answer: O) {
        self.operations.insert(op, answer);
    }

    /// `answer` hears whether the join in progress succeeded.
    pub fn join(&mut self, answer: U) {
        self.joins.push(answer);
    }

    /// `answer` hears when the leave in progress is done.
    pub fn leave(&mut self, answer: U) {
        self.leaves.push(answer);
    }

    /// Operations waiting for their event.
    pub fn operations_waiting(&self) -> usize {
        self.operations.len()
    }

    /// Answers whoever `event` settles. Returns the event for the application's streams, or
    /// `None` when it only finished an operation (which nobody else reads).
    pub fn settle(&mut self, event: NodeEvent) -> Option<NodeEvent> {
        match event {
            NodeEvent::OperationFinished { op, result } => {
                if let Some(answer) = self.operations.remove(&op) {
                    answer.reply(result);
                }
                None
            }
            NodeEvent::Membership(ref membership) => {
                match membership {
                    MembershipEvent::Joined => reply_all(&mut self.joins, || Ok(())),
                    MembershipEvent::JoinFailed { reason } => {
                        reply_all(&mut self.joins, || Err(reason.clone()));
                    }
                    MembershipEvent::Left => {
                        reply_all(&mut self.leaves, || Ok(()));
                        if let Some(shutdown) = self.shutdown.as_mut() {
                            shutdown.done = true;
                        }
                    }
                    _ => {}
                }
                Some(event)
            }
            other => Some(other),
        }
    }

    // ------------------------------------------------------------------ shutdown

    /// Starts a graceful shutdown at `now` (leaving the cluster when the node is a member), or
    /// adds `waiter` to the one in progress.
    pub fn begin_shutdown(&mut self, node: &mut Node, now: Instant, waiter: Option<D>) {
        if let Some(shutdown) = self.shutdown.as_mut() {
            shutdown.waiters.extend(waiter);
            return;
        }
        let joined = node.membership().is_some_and(|m| m.is_joined());
        let leaving = joined && node.leave(now).is_ok();
        let deadline =
            if leaving { now + node.config().swim.leave_grace + LEAVE_SLACK } else { now };
        self.shutdown =
            Some(Shutdown { deadline, waiters: waiter.into_iter().collect(), done: !leaving });
    }

    /// Whether a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// Whether the shutdown is complete: the driver stops, closes everything and calls
    /// [`Pending::take_shutdown_waiters`].
    pub fn is_stopped(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|s| s.done)
    }

    /// The driver's next deadline: the earlier of the node's (`node`, from `poll_timeout`) and
    /// the shutdown's.
    pub fn deadline(&self, node: Option<Instant>) -> Option<Instant> {
        let stop = self.shutdown.as_ref().map(|s| s.deadline);
        match (node, stop) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed: a shutdown whose deadline is at or before `now` is complete (the `Left`
    /// event did not come in time).
    pub fn on_time(&mut self, now: Instant) {
        if let Some(shutdown) = self.shutdown.as_mut()
            && shutdown.deadline <= now
        {
            shutdown.done = true;
        }
    }

    /// The shutdown's waiters, to answer once everything is closed.
    pub fn take_shutdown_waiters(&mut self) -> Vec<D> {
        self.shutdown.as_mut().map(|s| std::mem::take(&mut s.waiters)).unwrap_or_default()
    }
}

fn reply_all<T, R: Reply<T>>(waiters: &mut Vec<R>, value: impl Fn() -> T) {
    for waiter in waiters.drain(..) {
        waiter.reply(value());
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;
    use crate::host::feed::testing::TestReply;
    use crate::node::NodeConfig;

    type Table = Pending<
        TestReply<Result<SyncReport, NodeError>>,
        TestReply<Result<(), NodeError>>,
        TestReply<()>,
    >;

    #[test]
    fn an_operation_is_answered_once_and_not_forwarded() {
        let mut pending = Table::new();
        let (answer, slot) = TestReply::new();
        pending.operation(OperationId(7), answer);
        assert_eq!(pending.operations_waiting(), 1);
        let other =
            NodeEvent::OperationFinished { op: OperationId(8), result: Err(NodeError::Timeout) };
        assert_eq!(pending.settle(other), None);
        assert!(slot.borrow().is_none());
        let mine =
            NodeEvent::OperationFinished { op: OperationId(7), result: Err(NodeError::Timeout) };
        assert_eq!(pending.settle(mine), None);
        assert_eq!(*slot.borrow(), Some(Err(NodeError::Timeout)));
        assert_eq!(pending.operations_waiting(), 0);
    }

    #[test]
    fn join_and_leave_waiters_hear_their_events() {
        let mut pending = Table::new();
        let (first, first_slot) = TestReply::new();
        let (second, second_slot) = TestReply::new();
        let (leave, leave_slot) = TestReply::new();
        pending.join(first);
        let failed = NodeEvent::Membership(MembershipEvent::JoinFailed {
            reason: NodeError::NoSeedReachable,
        });
        assert_eq!(pending.settle(failed.clone()), Some(failed));
        assert_eq!(*first_slot.borrow(), Some(Err(NodeError::NoSeedReachable)));
        pending.join(second);
        pending.leave(leave);
        let joined = NodeEvent::Membership(MembershipEvent::Joined);
        assert!(pending.settle(joined).is_some());
        assert_eq!(*second_slot.borrow(), Some(Ok(())));
        assert!(leave_slot.borrow().is_none());
        pending.settle(NodeEvent::Membership(MembershipEvent::Left));
        assert_eq!(*leave_slot.borrow(), Some(Ok(())));
    }

    #[test]
    fn a_node_that_is_not_a_member_stops_at_once() {
        let now = Instant::from_secs(3);
        let mut node = Node::new(NodeConfig::local(), Instant::ZERO);
        let mut pending = Table::new();
        assert!(!pending.is_shutting_down());
        assert_eq!(pending.deadline(Some(Instant::from_secs(9))), Some(Instant::from_secs(9)));
        let (waiter, slot) = TestReply::new();
        pending.begin_shutdown(&mut node, now, Some(waiter));
        assert!(pending.is_shutting_down() && pending.is_stopped());
        assert_eq!(pending.deadline(Some(Instant::from_secs(9))), Some(now));
        let (late, late_slot) = TestReply::new();
        pending.begin_shutdown(&mut node, now, Some(late));
        let waiters = pending.take_shutdown_waiters();
        assert_eq!(waiters.len(), 2);
        waiters.into_iter().for_each(|w| w.reply(()));
        assert_eq!((*slot.borrow(), *late_slot.borrow()), (Some(()), Some(())));
    }

    #[test]
    fn a_member_leaves_and_stops_on_left_or_at_the_deadline() {
        let seed: crate::Endpoint = "tcp://127.0.0.1:4000".parse().expect("endpoint");
        let mut node = Node::new(NodeConfig::local(), Instant::ZERO);
        node.bind(Instant::ZERO, seed.clone()).expect("bound");
        node.join(Instant::ZERO, &[seed]).expect("joins alone");
        while node.poll_event().is_some() {}
        assert!(node.membership().is_some_and(|m| m.is_joined()), "a lone seed is joined");
        let grace = node.config().swim.leave_grace;
        let now = Instant::from_secs(1);
        let mut pending = Table::new();
        pending.begin_shutdown(&mut node, now, None);
        assert!(!pending.is_stopped());
        let deadline = now + grace + LEAVE_SLACK;
        assert_eq!(pending.deadline(None), Some(deadline));
        pending.on_time(deadline - Duration::from_millis(1));
        assert!(!pending.is_stopped());
        pending.on_time(deadline);
        assert!(pending.is_stopped());

        let mut early = Table::new();
        let mut node = Node::new(NodeConfig::local(), Instant::ZERO);
        early.begin_shutdown(&mut node, now, None);
        early.settle(NodeEvent::Membership(MembershipEvent::Left));
        assert!(early.is_stopped());
    }
}
