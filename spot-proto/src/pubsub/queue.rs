//! Bounded queues: the node's receive queue and per-peer high-water-mark accounting.
//!
//! Both count in messages (ZeroMQ's unit for a high-water mark) with a byte cap as a safety
//! bound, and both follow an [`HwmPolicy`]: [`HwmPolicy::DropNewest`] drops the new message and
//! counts it (delivery is at most once; drops are never silent), [`HwmPolicy::WouldBlock`] refuses
//! it so that a local publisher gets [`NodeError::WouldBlock`] (EAGAIN) and can retry. A message
//! is always admitted when nothing is queued, whatever its size, so that one large message cannot
//! wedge an empty queue.
//!
//! * [`ReceiveQueue`] holds delivered `(topic, payload)` messages until the application takes
//!   them (`recv` with a timeout, in the drivers).
//! * [`HwmGauge`] only counts: a node admits a data message for a peer against it before queuing
//!   it on the peer's link, and releases it once the link has written it.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::error::NodeError;
pub use crate::link::HwmPolicy;
use crate::wire::spot::Topic;

use super::subscriptions::SubscriptionId;

/// The bound of a queue or gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HwmLimits {
    /// High-water mark in messages (default 1000, ZeroMQ's). Zero admits one message at a time
    /// (into an empty queue) only.
    pub messages: usize,
    /// Safety cap on queued payload bytes (default 64 MiB).
    pub bytes: usize,
    /// What happens at the mark.
    pub policy: HwmPolicy,
}

impl Default for HwmLimits {
    fn default() -> Self {
        HwmLimits { messages: 1000, bytes: 64 << 20, policy: HwmPolicy::DropNewest }
    }
}

impl HwmLimits {
    /// Limits of `messages` and `bytes` with `policy`.
    pub fn new(messages: usize, bytes: usize, policy: HwmPolicy) -> Self {
        HwmLimits { messages, bytes, policy }
    }

    /// Whether one more message of `size` bytes fits beside `queued` messages of `queued_bytes`.
    fn fits(&self, queued: usize, queued_bytes: usize, size: usize) -> bool {
        queued == 0 || (queued < self.messages && queued_bytes.saturating_add(size) <= self.bytes)
    }
}

/// What happened to a message offered to a bounded queue or gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Admitted.
    Accepted,
    /// Over the mark with [`HwmPolicy::DropNewest`]: dropped and counted.
    Dropped,
}

/// One message delivered to this node's application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The topic.
    pub topic: Topic,
    /// The payload.
    pub payload: Bytes,
    /// The local subscriptions it matched (for per-subscription streams), in id order.
    pub subscriptions: Vec<SubscriptionId>,
}

/// Counters of a bounded queue or gauge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// Messages admitted.
    pub admitted: u64,
    /// Payload bytes admitted.
    pub admitted_bytes: u64,
    /// Messages taken out (or released).
    pub released: u64,
    /// Messages dropped at the mark ([`HwmPolicy::DropNewest`]).
    pub dropped: u64,
    /// Messages refused at the mark ([`HwmPolicy::WouldBlock`]).
    pub refused: u64,
    /// Most messages queued at once.
    pub peak_messages: usize,
}

/// Message and byte counts against [`HwmLimits`], without holding the messages.
#[derive(Clone, Debug, Default)]
pub struct HwmGauge {
    limits: HwmLimits,
    messages: usize,
    bytes: usize,
    stats: QueueStats,
}

impl HwmGauge {
    /// An empty gauge with `limits`.
    pub fn new(limits: HwmLimits) -> Self {
        HwmGauge { limits, messages: 0, bytes: 0, stats: QueueStats::default() }
    }

    /// Offers a message of `size` payload bytes. `Err(NodeError::WouldBlock)` at the mark with
    /// [`HwmPolicy::WouldBlock`] (counted as refused; nothing is admitted).
    pub fn admit(&mut self, size: usize) -> Result<Admission, NodeError> {
        if !self.limits.fits(self.messages, self.bytes, size) {
            return match self.limits.policy {
                HwmPolicy::DropNewest => {
                    self.stats.dropped += 1;
                    Ok(Admission::Dropped)
                }
                HwmPolicy::WouldBlock => {
                    self.stats.refused += 1;
                    Err(NodeError::WouldBlock)
                }
            };
        }
        self.messages += 1;
        self.bytes = self.bytes.saturating_add(size);
        self.stats.admitted += 1;
        self.stats.admitted_bytes += size as u64;
        self.stats.peak_messages = self.stats.peak_messages.max(self.messages);
        Ok(Admission::Accepted)
    }

    /// A message of `size` bytes admitted earlier has left (written, or discarded with its
    /// link). Releasing more than was admitted saturates at zero.
    pub fn release(&mut self, size: usize) {
        if self.messages > 0 {
            self.messages -= 1;
            self.stats.released += 1;
        }
        self.bytes = self.bytes.saturating_sub(size);
    }

    /// Forgets everything counted as queued (the link closed and its queue was discarded);
    /// returns how many messages that was.
    pub fn clear(&mut self) -> usize {
        let dropped = self.messages;
        self.messages = 0;
        self.bytes = 0;
        dropped
    }

    /// Changes the limits (e.g. `set_hwm`); messages already counted stay.
    pub fn set_limits(&mut self, limits: HwmLimits) {
        self.limits = limits;
    }

    /// The limits.
    pub fn limits(&self) -> HwmLimits {
        self.limits
    }

    /// Messages counted as queued.
    pub fn pending(&self) -> usize {
        self.messages
    }

    /// Payload bytes counted as queued.
    pub fn pending_bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the next message of `size` bytes would be admitted.
    pub fn has_room(&self, size: usize) -> bool {
        self.limits.fits(self.messages, self.bytes, size)
    }

    /// The counters.
    pub fn stats(&self) -> QueueStats {
        self.stats
    }
}

/// This node's receive queue of delivered messages, bounded by [`HwmLimits`].
#[derive(Clone, Debug, Default)]
pub struct ReceiveQueue {
    gauge: HwmGauge,
    messages: VecDeque<ReceivedMessage>,
}

impl ReceiveQueue {
    /// An empty queue with `limits`.
    pub fn new(limits: HwmLimits) -> Self {
        ReceiveQueue { gauge: HwmGauge::new(limits), messages: VecDeque::new() }
    }

    /// Queues a delivered message. At the mark: dropped and counted
    /// ([`HwmPolicy::DropNewest`]), or handed back with `Err` ([`HwmPolicy::WouldBlock`]; the
    /// caller turns it into [`NodeError::WouldBlock`] for a local publisher).
    pub fn push(&mut self, message: ReceivedMessage) -> Result<Admission, ReceivedMessage> {
        match self.gauge.admit(message.payload.len()) {
            Ok(Admission::Accepted) => {
                self.messages.push_back(message);
                Ok(Admission::Accepted)
            }
            Ok(Admission::Dropped) => Ok(Admission::Dropped),
            Err(_) => Err(message),
        }
    }

    /// Takes the oldest message.
    pub fn pop(&mut self) -> Option<ReceivedMessage> {
        let message = self.messages.pop_front()?;
        self.gauge.release(message.payload.len());
        Some(message)
    }

    /// The oldest message, left in place.
    pub fn peek(&self) -> Option<&ReceivedMessage> {
        self.messages.front()
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Payload bytes queued.
    pub fn bytes(&self) -> usize {
        self.gauge.pending_bytes()
    }

    /// Changes the limits; messages already queued stay.
    pub fn set_limits(&mut self, limits: HwmLimits) {
        self.gauge.set_limits(limits);
    }

    /// The counters.
    pub fn stats(&self) -> QueueStats {
        self.gauge.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn message(topic: &str, payload: &'static [u8]) -> ReceivedMessage {
        ReceivedMessage {
            topic: Topic::copy_from_str(topic, &Limits::default()).unwrap(),
            payload: Bytes::from_static(payload),
            subscriptions: Vec::new(),
        }
    }

    #[test]
    fn receive_queue_is_fifo_and_drops_at_the_mark() {
        let mut q = ReceiveQueue::new(HwmLimits::new(2, 1 << 20, HwmPolicy::DropNewest));
        assert_eq!(q.push(message("a", b"1")), Ok(Admission::Accepted));
        assert_eq!(q.push(message("b", b"22")), Ok(Admission::Accepted));
        assert_eq!(q.push(message("c", b"333")), Ok(Admission::Dropped));
        assert_eq!((q.len(), q.bytes()), (2, 3));
        assert_eq!(q.peek().map(|m| m.topic.as_str()), Some("a"));
        assert_eq!(q.pop().unwrap().topic.as_str(), "a");
        assert_eq!(q.push(message("d", b"4")), Ok(Admission::Accepted));
        let order: Vec<String> =
            std::iter::from_fn(|| q.pop()).map(|m| m.topic.to_string()).collect();
        assert_eq!(order, ["b", "d"]);
        assert!(q.is_empty() && q.pop().is_none());
        let stats = q.stats();
        assert_eq!(
            (stats.admitted, stats.released, stats.dropped, stats.peak_messages),
            (3, 3, 1, 2)
        );
        assert_eq!(stats.admitted_bytes, 4);
    }

    #[test]
    fn receive_queue_would_block_hands_the_message_back() {
        let mut q = ReceiveQueue::new(HwmLimits::new(1, 1 << 20, HwmPolicy::WouldBlock));
        q.push(message("a", b"1")).unwrap();
        let back = q.push(message("b", b"2")).unwrap_err();
        assert_eq!(back.topic.as_str(), "b");
        assert_eq!(q.stats().refused, 1);
        assert_eq!(q.stats().dropped, 0);
        q.set_limits(HwmLimits::new(2, 1 << 20, HwmPolicy::WouldBlock));
        assert_eq!(q.push(back), Ok(Admission::Accepted));
    }

    #[test]
    fn the_byte_cap_bounds_but_an_empty_queue_takes_anything() {
        let mut g = HwmGauge::new(HwmLimits::new(100, 10, HwmPolicy::DropNewest));
        assert_eq!(g.admit(50), Ok(Admission::Accepted), "empty: admitted whatever its size");
        assert_eq!(g.admit(1), Ok(Admission::Dropped), "over the byte cap");
        assert!(!g.has_room(1));
        g.release(50);
        assert_eq!(g.pending(), 0);
        assert!(g.has_room(1000), "empty again");
        assert_eq!(g.admit(6), Ok(Admission::Accepted));
        assert_eq!(g.admit(4), Ok(Admission::Accepted));
        assert_eq!(g.admit(1), Ok(Admission::Dropped));
        assert_eq!((g.pending(), g.pending_bytes()), (2, 10));
        assert_eq!(g.stats().dropped, 2);
    }

    #[test]
    fn gauge_would_block_and_release_and_clear() {
        let mut g = HwmGauge::new(HwmLimits::new(2, 1 << 20, HwmPolicy::WouldBlock));
        g.admit(1).unwrap();
        g.admit(1).unwrap();
        let err = g.admit(1).unwrap_err();
        assert_eq!(err, NodeError::WouldBlock);
        assert_eq!(err.errno(), crate::Errno::EAGAIN);
        g.release(1);
        assert_eq!(g.admit(1), Ok(Admission::Accepted));
        assert_eq!(g.clear(), 2);
        assert_eq!((g.pending(), g.pending_bytes()), (0, 0));
        g.release(5);
        assert_eq!(g.pending(), 0, "releasing more than admitted saturates");
        assert_eq!(g.limits().messages, 2);
        let stats = g.stats();
        assert_eq!((stats.admitted, stats.refused, stats.released), (3, 1, 1));
    }

    #[test]
    fn default_limits_are_zeromq_like() {
        let limits = HwmLimits::default();
        assert_eq!((limits.messages, limits.policy), (1000, HwmPolicy::DropNewest));
        let mut g = HwmGauge::new(HwmLimits::new(0, 0, HwmPolicy::DropNewest));
        assert_eq!(g.admit(3), Ok(Admission::Accepted), "a zero mark still takes one");
        assert_eq!(g.admit(0), Ok(Admission::Dropped));
    }
}
