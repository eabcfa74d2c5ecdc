//! What the application reads: [`Message`]s, per-subscription [`Subscription`] streams and
//! [`EventStream`]s of node and membership events. All are bounded: when one is full the driver
//! drops the newest item and counts it, and never waits for the reader.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use smol::channel::{self, Receiver, Sender, TryRecvError, TrySendError};
use spot_proto::NodeError;
use spot_proto::wire::spot::Topic;

/// One published message, as delivered to this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The topic it was published on.
    pub topic: Topic,
    /// The payload, exactly as published (a zero-copy slice of a read buffer).
    pub payload: Bytes,
}

impl Message {
    /// The topic's name.
    pub fn topic(&self) -> &str {
        self.topic.as_str()
    }
}

/// `future`, or `None` once `timeout` passed.
pub(crate) async fn within<T>(timeout: Duration, future: impl Future<Output = T>) -> Option<T> {
    smol::future::or(async { Some(future.await) }, async {
        smol::Timer::after(timeout).await;
        None
    })
    .await
}

/// The driver's end of a bounded stream: offers never wait, and drops are counted.
#[derive(Debug)]
pub(crate) struct Feed<T> {
    sender: Sender<T>,
    dropped: Arc<AtomicU64>,
}

/// What [`Feed::offer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Queued for the reader.
    Queued,
    /// The stream was full: dropped and counted.
    Dropped,
    /// The reader is gone.
    Closed,
}

impl<T> Feed<T> {
    /// A feed and its reader's receiver, holding at most `capacity` items.
    pub(crate) fn channel(capacity: usize) -> (Feed<T>, Receiver<T>, Arc<AtomicU64>) {
        let (sender, receiver) = channel::bounded(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        (Feed { sender, dropped: Arc::clone(&dropped) }, receiver, dropped)
    }

    /// Offers `item` without waiting.
    pub(crate) fn offer(&self, item: T) -> Offer {
        match self.sender.try_send(item) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Offer::Dropped
            }
            Err(TrySendError::Closed(_)) => Offer::Closed,
        }
    }

    /// Whether the stream is more than half full (the reader should get a turn soon).
    pub(crate) fn is_pressed(&self) -> bool {
        self.sender.capacity().is_some_and(|capacity| self.sender.len() * 2 > capacity)
    }

    /// Whether the reader is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// The messages of one subscription (an exact topic or a pattern), from
/// [`crate::SpotNode::subscribe`] or [`crate::SpotNode::subscribe_pattern`].
///
/// Each message reaches every matching subscription's stream once, even when an exact and a
/// pattern subscription both match. The stream ends after [`crate::SpotNode::unsubscribe`] (or
/// `unsubscribe_pattern`) and when the node shuts down.
///
/// Dropping the stream does **not** unsubscribe: the subscription stays at the node and its
/// messages go to [`crate::SpotNode::recv`] instead (the C API's style: subscribe, then recv).
#[derive(Debug)]
pub struct Subscription {
    name: String,
    receiver: Pin<Box<Receiver<Message>>>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    pub(crate) fn new(name: String, capacity: usize) -> (Feed<Message>, Subscription) {
        let (feed, receiver, dropped) = Feed::channel(capacity);
        (feed, Subscription { name, receiver: Box::pin(receiver), dropped })
    }

    /// The topic or pattern subscribed to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next message; `None` once the subscription ended. Cancellation-safe: dropping the
    /// future loses no message.
    pub async fn recv(&mut self) -> Option<Message> {
        self.receiver.recv().await.ok()
    }

    /// The next message within `timeout`: `Timeout` (ETIMEDOUT) if none came, and
    /// `NotSubscribed` (ENOENT) once the subscription ended.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Message, NodeError> {
        match within(timeout, self.receiver.recv()).await {
            Some(Ok(message)) => Ok(message),
            Some(Err(_)) => Err(NodeError::NotSubscribed(self.name.clone())),
            None => Err(NodeError::Timeout),
        }
    }

    /// A message if one is waiting: `WouldBlock` (EAGAIN) if none, `NotSubscribed` (ENOENT) once
    /// the subscription ended.
    pub fn try_recv(&mut self) -> Result<Message, NodeError> {
        match self.receiver.try_recv() {
            Ok(message) => Ok(message),
            Err(TryRecvError::Empty) => Err(NodeError::WouldBlock),
            Err(TryRecvError::Closed) => Err(NodeError::NotSubscribed(self.name.clone())),
        }
    }

    /// Messages dropped because this stream was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.get_mut().receiver.as_mut().poll_next(cx)
    }
}

/// A bounded stream of events: [`spot_proto::node::NodeEvent`]s from
/// [`crate::SpotNode::events`], or [`spot_proto::swim::MembershipEvent`]s from
/// [`crate::SpotNode::membership_events`]. It sees the events that happen after it was made,
/// and ends when the node shuts down.
#[derive(Debug)]
pub struct EventStream<T> {
    receiver: Pin<Box<Receiver<T>>>,
    dropped: Arc<AtomicU64>,
}

impl<T> EventStream<T> {
    pub(crate) fn new(capacity: usize) -> (Feed<T>, EventStream<T>) {
        let (feed, receiver, dropped) = Feed::channel(capacity);
        (feed, EventStream { receiver: Box::pin(receiver), dropped })
    }

    /// The next event; `None` once the node shut down. Cancellation-safe.
    pub async fn recv(&mut self) -> Option<T> {
        self.receiver.recv().await.ok()
    }

    /// The next event within `timeout`, or `Timeout` (ETIMEDOUT).
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<T>, NodeError> {
        within(timeout, self.receiver.recv()).await.map(Result::ok).ok_or(NodeError::Timeout)
    }

    /// Events dropped because this stream was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl<T> Stream for EventStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().receiver.as_mut().poll_next(cx)
    }
}
