//! [`Subscriptions`]: every delivery to the stream of each subscription it matched, once; what
//! matched a subscription without a live stream goes once to the `recv` queue.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::Instant;
use crate::error::NodeError;
use crate::host::feed::{Feed, Offer};
use crate::node::{Delivery, Node};
use crate::wire::spot::Topic;

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

impl From<Delivery> for Message {
    fn from(delivery: Delivery) -> Self {
        Message { topic: delivery.topic, payload: delivery.payload }
    }
}

/// What routing one delivery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Routed {
    /// Subscription streams that were full and dropped the message.
    pub stream_dropped: u64,
    /// The `recv` queue was full and dropped the message.
    pub inbox_dropped: bool,
    /// A stream that took the message is now more than half full (let its reader run soon).
    pub pressed: bool,
}

/// The per-subscription streams of one node: exact subscriptions by topic, pattern
/// subscriptions in the node's pattern order ([`Node::patterns`](crate::node::Node::patterns),
/// which [`Delivery::patterns`] indexes).
#[derive(Debug)]
pub struct Subscriptions<F> {
    /// By the topic's bytes, so a delivered [`Topic`] is looked up without re-checking it.
    exact: BTreeMap<Box<[u8]>, F>,
    patterns: Vec<F>,
}

impl<F> Default for Subscriptions<F> {
    fn default() -> Self {
        Subscriptions { exact: BTreeMap::new(), patterns: Vec::new() }
    }
}

impl<F: Feed<Message>> Subscriptions<F> {
    /// No subscription streams.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream of an exact subscription to `topic` (after the node's `subscribe` succeeded).
    pub fn insert_exact(&mut self, topic: String, feed: F) {
        self.exact.insert(topic.into_bytes().into_boxed_slice(), feed);
    }

    /// Ends the stream of an exact subscription (after the node's `unsubscribe` succeeded).
    pub fn remove_exact(&mut self, topic: &str) -> Option<F> {
        self.exact.remove(topic.as_bytes())
    }

    /// The stream of a pattern subscription, at the index the node's `subscribe_pattern`
    /// returned.
    pub fn insert_pattern(&mut self, index: usize, feed: F) {
        let at = index.min(self.patterns.len());
        self.patterns.insert(at, feed);
    }

    /// Ends the stream of the pattern at `index` of the node's patterns as they were before
    /// its `unsubscribe_pattern` succeeded.
    pub fn remove_pattern(&mut self, index: usize) -> Option<F> {
        (index < self.patterns.len()).then(|| self.patterns.remove(index))
    }

    /// Subscribes `node` to `topic` and keeps the stream `open` makes for it; `open` runs
    /// only once the node said yes, and its second half goes back to the caller.
    pub fn subscribe<S>(
        &mut self,
        node: &mut Node,
        now: Instant,
        topic: &str,
        open: impl FnOnce() -> (F, S),
    ) -> Result<S, NodeError> {
        node.subscribe(now, topic)?;
        let (feed, stream) = open();
        self.insert_exact(topic.to_owned(), feed);
        Ok(stream)
    }

    /// Unsubscribes `node` from `topic` and ends its stream.
    pub fn unsubscribe(
        &mut self,
        node: &mut Node,
        now: Instant,
        topic: &str,
    ) -> Result<(), NodeError> {
        node.unsubscribe(now, topic)?;
        self.remove_exact(topic);
        Ok(())
    }

    /// Subscribes `node` to `pattern` and keeps the stream `open` makes for it, in the node's
    /// pattern order.
    pub fn subscribe_pattern<S>(
        &mut self,
        node: &mut Node,
        now: Instant,
        pattern: &str,
        open: impl FnOnce() -> (F, S),
    ) -> Result<S, NodeError> {
        let index = node.subscribe_pattern(now, pattern)?;
        let (feed, stream) = open();
        self.insert_pattern(index, feed);
        Ok(stream)
    }

    /// Unsubscribes `node` from `pattern` and ends its stream.
    pub fn unsubscribe_pattern(
        &mut self,
        node: &mut Node,
        now: Instant,
        pattern: &str,
    ) -> Result<(), NodeError> {
        let at = node.patterns().iter().position(|p| p.as_str() == pattern);
        node.unsubscribe_pattern(now, pattern)?;
        if let Some(at) = at {
            self.remove_pattern(at);
        }
        Ok(())
    }

    /// Routes `delivery`: to the stream of every subscription it matched, once each; once to
    /// `inbox` when it matched one without a live stream (or none at all).
    pub fn route(&self, delivery: Delivery, inbox: &impl Feed<Message>) -> Routed {
        let mut routed = Routed::default();
        let message = Message { topic: delivery.topic, payload: delivery.payload };
        if delivery.exact && delivery.patterns.is_empty() {
            // The common case, one exact subscription: the message moves, no clone.
            match self.exact.get(message.topic.as_ref()).filter(|f| !f.is_closed()) {
                Some(feed) => offer_one(feed, message, &mut routed),
                None => offer_orphan(inbox, message, &mut routed),
            }
            return routed;
        }
        let mut orphan = !delivery.exact && delivery.patterns.is_empty();
        if delivery.exact {
            let feed = self.exact.get(message.topic.as_ref());
            orphan |= !offer_to(feed, &message, &mut routed);
        }
        for index in delivery.patterns {
            orphan |= !offer_to(self.patterns.get(index), &message, &mut routed);
        }
        if orphan {
            offer_orphan(inbox, message, &mut routed);
        }
        routed
    }

    /// Hands every stream's staged messages to its reader ([`Feed::flush`]); call after a
    /// batch of [`Subscriptions::route`] calls, with the same `inbox`.
    pub fn flush(&self, inbox: &impl Feed<Message>) {
        self.exact.values().for_each(Feed::flush);
        self.patterns.iter().for_each(Feed::flush);
        inbox.flush();
    }
}

/// Offers a message that matched no live stream to the `recv` queue.
fn offer_orphan(inbox: &impl Feed<Message>, message: Message, routed: &mut Routed) {
    match inbox.offer(message) {
        Offer::Dropped => routed.inbox_dropped = true,
        Offer::Queued => routed.pressed |= inbox.is_pressed(),
        Offer::Closed => {}
    }
}

/// Offers `message` itself to a stream that was live a moment ago. A reader that goes between
/// the check and the offer takes the message with it, as it takes every message already
/// waiting in its stream.
fn offer_one<F: Feed<Message>>(feed: &F, message: Message, routed: &mut Routed) {
    match feed.offer(message) {
        Offer::Queued => routed.pressed |= feed.is_pressed(),
        Offer::Dropped => routed.stream_dropped += 1,
        Offer::Closed => {}
    }
}

/// Offers a message to a subscription's stream; `false` if it has no live stream.
fn offer_to<F: Feed<Message>>(feed: Option<&F>, message: &Message, routed: &mut Routed) -> bool {
    let Some(feed) = feed.filter(|f| !f.is_closed()) else { return false };
    match feed.offer(message.clone()) {
        Offer::Queued => {
            routed.pressed |= feed.is_pressed();
            true
        }
        Offer::Dropped => {
            routed.stream_dropped += 1;
            true
        }
        Offer::Closed => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::feed::testing::TestFeed;

    fn delivery(topic: &str, exact: bool, patterns: &[usize]) -> Delivery {
        Delivery {
            topic: Topic::copy_from_str(topic, &crate::Limits::default()).expect("a valid topic"),
            payload: Bytes::from_static(b"x"),
            exact,
            patterns: patterns.to_vec(),
        }
    }

    fn topics(feed: &TestFeed<Message>) -> Vec<String> {
        feed.taken().iter().map(|m| m.topic().to_owned()).collect()
    }

    #[test]
    fn each_matching_stream_gets_the_message_once() {
        let (exact, first, second) = (TestFeed::new(8), TestFeed::new(8), TestFeed::new(8));
        let inbox = TestFeed::new(8);
        let mut subs = Subscriptions::new();
        subs.insert_exact("chat:a".into(), exact.handle());
        subs.insert_pattern(0, second.handle());
        subs.insert_pattern(0, first.handle());
        let routed = subs.route(delivery("chat:a", true, &[0, 1]), &inbox);
        assert_eq!(routed, Routed::default());
        assert_eq!(topics(&exact), ["chat:a"]);
        assert_eq!(topics(&first), ["chat:a"]);
        assert_eq!(topics(&second), ["chat:a"]);
        assert!(inbox.taken().is_empty());
    }

    #[test]
    fn without_a_live_stream_the_message_goes_once_to_the_inbox() {
        let exact = TestFeed::new(8);
        let inbox = TestFeed::new(8);
        let mut subs = Subscriptions::new();
        subs.insert_exact("t".into(), exact.handle());
        exact.closed.set(true);
        // Exact stream closed, and pattern 3 has no stream: still one copy in the inbox.
        subs.route(delivery("t", true, &[3]), &inbox);
        assert_eq!(topics(&inbox), ["t"]);
        // No subscription matched at all (a node-level delivery): the inbox too.
        subs.route(delivery("u", false, &[]), &inbox);
        assert_eq!(topics(&inbox), ["u"]);
        assert!(subs.remove_exact("t").is_some());
        assert!(subs.remove_exact("t").is_none());
    }

    #[test]
    fn an_exact_only_match_moves_the_message_to_its_stream_or_else_to_the_inbox() {
        let exact = TestFeed::new(8);
        let inbox = TestFeed::new(8);
        let mut subs = Subscriptions::new();
        subs.insert_exact("t".into(), exact.handle());
        let sent = delivery("t", true, &[]);
        let payload_at = sent.payload.as_ptr();
        subs.route(sent, &inbox);
        let got = exact.taken();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload.as_ptr(), payload_at, "the payload itself, not a copy");
        assert!(inbox.taken().is_empty());
        exact.closed.set(true);
        subs.route(delivery("t", true, &[]), &inbox);
        assert!(exact.taken().is_empty());
        assert_eq!(topics(&inbox), ["t"], "a closed stream's message goes to the inbox");
    }

    #[test]
    fn flush_reaches_every_stream_and_the_inbox() {
        let (exact, pattern, inbox) = (TestFeed::new(8), TestFeed::new(8), TestFeed::new(8));
        let mut subs = Subscriptions::new();
        subs.insert_exact("t".into(), exact.handle());
        subs.insert_pattern(0, pattern.handle());
        subs.flush(&inbox);
        assert_eq!((exact.flushes.get(), pattern.flushes.get(), inbox.flushes.get()), (1, 1, 1));
    }

    #[test]
    fn full_streams_and_inbox_count_drops_and_pressure() {
        let exact = TestFeed::new(2);
        let inbox = TestFeed::new(1);
        let mut subs = Subscriptions::new();
        subs.insert_exact("t".into(), exact.handle());
        assert!(!subs.route(delivery("t", true, &[]), &inbox).pressed);
        assert!(subs.route(delivery("t", true, &[]), &inbox).pressed, "2 of 2 is past half");
        let routed = subs.route(delivery("t", true, &[]), &inbox);
        assert_eq!(routed.stream_dropped, 1);
        assert!(!routed.inbox_dropped, "a full stream is not an orphan");
        subs.route(delivery("v", false, &[]), &inbox);
        assert!(subs.route(delivery("v", false, &[]), &inbox).inbox_dropped);
    }

    #[test]
    fn node_verbs_keep_streams_in_step_with_the_node() {
        use crate::node::NodeConfig;

        let now = Instant::ZERO;
        let mut node = Node::new(NodeConfig::local(), now);
        node.topic_create(now, "chat:a").expect("created");
        let inbox = TestFeed::new(8);
        let mut subs = Subscriptions::new();
        let exact = subs
            .subscribe(&mut node, now, "chat:a", || {
                let feed = TestFeed::new(8);
                (feed.handle(), feed)
            })
            .expect("subscribed");
        let opened = std::cell::Cell::new(false);
        let refused = subs.subscribe(&mut node, now, "chat:a", || {
            opened.set(true);
            (TestFeed::new(1), ())
        });
        assert!(!opened.get(), "no stream for a refused subscription");
        assert!(matches!(refused, Err(NodeError::AlreadySubscribed(_))));
        let chat = subs
            .subscribe_pattern(&mut node, now, "chat:*", || {
                let feed = TestFeed::new(8);
                (feed.handle(), feed)
            })
            .expect("subscribed");
        node.publish(now, "chat:a", Bytes::from_static(b"hi")).expect("published");
        while let Some(delivery) = node.recv() {
            subs.route(delivery, &inbox);
        }
        assert_eq!(topics(&exact), ["chat:a"]);
        assert_eq!(topics(&chat), ["chat:a"]);
        subs.unsubscribe(&mut node, now, "chat:a").expect("unsubscribed");
        subs.unsubscribe_pattern(&mut node, now, "chat:*").expect("unsubscribed");
        assert_eq!(
            subs.unsubscribe_pattern(&mut node, now, "chat:*"),
            Err(NodeError::NotSubscribed("chat:*".into()))
        );
        assert!(subs.remove_exact("chat:a").is_none() && subs.remove_pattern(0).is_none());
    }

    #[test]
    fn pattern_streams_follow_the_node_order() {
        let (a, b) = (TestFeed::new(8), TestFeed::new(8));
        let inbox = TestFeed::new(8);
        let mut subs = Subscriptions::new();
        subs.insert_pattern(5, a.handle()); // clamped to the end
        subs.insert_pattern(1, b.handle());
        subs.route(delivery("x", false, &[1]), &inbox);
        assert_eq!(topics(&b), ["x"]);
        assert!(subs.remove_pattern(0).is_some());
        assert!(subs.remove_pattern(1).is_none());
        subs.route(delivery("y", false, &[0]), &inbox);
        assert_eq!(topics(&b), ["y"]);
        assert!(a.taken().is_empty());
    }
}
