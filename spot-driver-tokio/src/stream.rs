//! What the application reads: [`Message`]s, per-subscription [`Subscription`] streams and
//! [`EventStream`]s of node and membership events. All are bounded: when one is full the driver
//! drops the newest item and counts it, and never waits for the reader.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use spot_proto::NodeError;
use spot_proto::host::{self, Message, Offer, RecvFailure};

use crate::queue::{self, TryRecvError};

/// The driver's end of a bounded stream: offers never wait, and drops are counted. Offers are
/// staged and reach the reader at the driver's next [`host::Feed::flush`] (once per batch).
#[derive(Debug)]
pub(crate) struct Feed<T> {
    sender: queue::Sender<T>,
}

impl<T> Feed<T> {
    /// A feed and its reader's end, holding at most `capacity` items waiting.
    pub(crate) fn channel(capacity: usize) -> (Feed<T>, queue::Receiver<T>) {
        let (sender, receiver) = queue::channel(capacity);
        (Feed { sender }, receiver)
    }
}

impl<T> host::Feed<T> for Feed<T> {
    fn offer(&self, item: T) -> Offer {
        self.sender.offer(item)
    }

    fn is_pressed(&self) -> bool {
        self.sender.is_pressed()
    }

    fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    fn flush(&self) {
        self.sender.flush();
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
    receiver: queue::Receiver<Message>,
}

impl Subscription {
    pub(crate) fn new(name: String, capacity: usize) -> (Feed<Message>, Subscription) {
        let (feed, receiver) = Feed::channel(capacity);
        (feed, Subscription { name, receiver })
    }

    /// The topic or pattern subscribed to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next message; `None` once the subscription ended. Cancellation-safe: dropping the
    /// future loses no message.
    pub async fn recv(&mut self) -> Option<Message> {
        self.receiver.recv().await
    }

    /// The next message within `timeout`: `Timeout` (ETIMEDOUT) if none came, and
    /// `NotSubscribed` (ENOENT) once the subscription ended.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Message, NodeError> {
        let failure = match tokio::time::timeout(timeout, self.receiver.recv()).await {
            Ok(Some(message)) => return Ok(message),
            Ok(None) => RecvFailure::Closed,
            Err(_) => RecvFailure::TimedOut,
        };
        Err(failure.subscription_error(&self.name))
    }

    /// A message if one is waiting: `WouldBlock` (EAGAIN) if none, `NotSubscribed` (ENOENT) once
    /// the subscription ended.
    pub fn try_recv(&mut self) -> Result<Message, NodeError> {
        self.receiver.try_recv().map_err(|error| {
            let failure = match error {
                TryRecvError::Empty => RecvFailure::Empty,
                TryRecvError::Closed => RecvFailure::Closed,
            };
            failure.subscription_error(&self.name)
        })
    }

    /// Messages dropped because this stream was full.
    pub fn dropped(&self) -> u64 {
        self.receiver.dropped()
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}

/// A bounded stream of events: [`spot_proto::node::NodeEvent`]s from
/// [`crate::SpotNode::events`], or [`spot_proto::swim::MembershipEvent`]s from
/// [`crate::SpotNode::membership_events`]. It sees the events that happen after it was made,
/// and ends when the node shuts down.
#[derive(Debug)]
pub struct EventStream<T> {
    receiver: queue::Receiver<T>,
}

impl<T> EventStream<T> {
    pub(crate) fn new(capacity: usize) -> (Feed<T>, EventStream<T>) {
        let (feed, receiver) = Feed::channel(capacity);
        (feed, EventStream { receiver })
    }

    /// The next event; `None` once the node shut down. Cancellation-safe.
    pub async fn recv(&mut self) -> Option<T> {
        self.receiver.recv().await
    }

    /// The next event within `timeout`, or `Timeout` (ETIMEDOUT).
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<T>, NodeError> {
        let received = tokio::time::timeout(timeout, self.receiver.recv()).await;
        received.map_err(|_| RecvFailure::TimedOut.node_error())
    }

    /// Events dropped because this stream was full.
    pub fn dropped(&self) -> u64 {
        self.receiver.dropped()
    }
}

impl<T> Stream for EventStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}
