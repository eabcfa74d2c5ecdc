//! [`EventFeeds`]: node events and membership events to every event stream the application
//! opened, bounded, with drops counted and closed streams forgotten.

use crate::host::feed::{Feed, Offer};
use crate::node::NodeEvent;
use crate::swim::MembershipEvent;

/// The event streams of one node: `E` takes every [`NodeEvent`], `M` the
/// [`MembershipEvent`]s alone.
#[derive(Debug)]
pub struct EventFeeds<E, M> {
    events: Vec<E>,
    membership: Vec<M>,
}

impl<E, M> Default for EventFeeds<E, M> {
    fn default() -> Self {
        EventFeeds { events: Vec::new(), membership: Vec::new() }
    }
}

impl<E: Feed<NodeEvent>, M: Feed<MembershipEvent>> EventFeeds<E, M> {
    /// No event streams.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream of every node event from now on.
    pub fn add_events(&mut self, feed: E) {
        self.events.push(feed);
    }

    /// A stream of membership events from now on.
    pub fn add_membership(&mut self, feed: M) {
        self.membership.push(feed);
    }

    /// The streams open (node events, membership events).
    pub fn len(&self) -> (usize, usize) {
        (self.events.len(), self.membership.len())
    }

    /// Whether no stream is open.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.membership.is_empty()
    }

    /// Offers `event` to every node-event stream, and a membership event also to every
    /// membership stream; forgets streams whose reader is gone. Returns how many streams were
    /// full and dropped it.
    pub fn offer(&mut self, event: &NodeEvent) -> u64 {
        let mut dropped = 0;
        if let NodeEvent::Membership(membership) = event {
            dropped += offer_all(&mut self.membership, membership);
        }
        dropped + offer_all(&mut self.events, event)
    }

    /// Hands every stream's staged events to its reader ([`Feed::flush`]).
    pub fn flush(&self) {
        self.events.iter().for_each(Feed::flush);
        self.membership.iter().for_each(Feed::flush);
    }
}

/// Offers a clone of `item` to each feed; drops the closed ones; counts the full ones.
fn offer_all<T: Clone, F: Feed<T>>(feeds: &mut Vec<F>, item: &T) -> u64 {
    let mut dropped = 0;
    feeds.retain(|feed| match feed.offer(item.clone()) {
        Offer::Queued => true,
        Offer::Dropped => {
            dropped += 1;
            true
        }
        Offer::Closed => false,
    });
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::feed::testing::TestFeed;

    #[test]
    fn membership_events_reach_both_kinds_of_stream() {
        let (all, members) = (TestFeed::new(4), TestFeed::new(4));
        let mut feeds = EventFeeds::new();
        assert!(feeds.is_empty());
        feeds.add_events(all.handle());
        feeds.add_membership(members.handle());
        assert_eq!(feeds.offer(&NodeEvent::Membership(MembershipEvent::Joined)), 0);
        assert_eq!(all.taken(), [NodeEvent::Membership(MembershipEvent::Joined)]);
        assert_eq!(members.taken(), [MembershipEvent::Joined]);
    }

    #[test]
    fn full_streams_count_and_closed_streams_go() {
        let (small, closing) = (TestFeed::new(1), TestFeed::new(4));
        let mut feeds: EventFeeds<_, TestFeed<MembershipEvent>> = EventFeeds::new();
        feeds.add_events(small.handle());
        feeds.add_events(closing.handle());
        let event = NodeEvent::Membership(MembershipEvent::Left);
        assert_eq!(feeds.offer(&event), 0);
        assert_eq!(feeds.offer(&event), 1, "the small stream is full");
        closing.closed.set(true);
        feeds.offer(&event);
        assert_eq!(feeds.len(), (1, 0));
    }
}
