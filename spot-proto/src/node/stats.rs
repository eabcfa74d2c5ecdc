//! [`NodeStats`]: counters a node keeps.

/// What a node has done and dropped. Every drop has a counter: nothing is lost silently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Publishes this node's user made.
    pub publishes: u64,
    /// Subscriptions this node's user made (exact and pattern).
    pub subscribes: u64,
    /// Messages put in the receive queue.
    pub received_messages: u64,
    /// Payload bytes put in the receive queue.
    pub received_bytes: u64,
    /// Messages forwarded to subscribing peers (one per peer connection).
    pub forwarded: u64,
    /// Data messages dropped at a send high-water mark.
    pub dropped_send_hwm: u64,
    /// Messages dropped at a receive high-water mark or a full receive queue.
    pub dropped_recv_hwm: u64,
    /// Publishes that had nowhere to go (no connection to the owner, unknown topic).
    pub dropped_unroutable: u64,
    /// Messages that did not decode, or broke a rule (non-UTF-8 topic, too many frames).
    pub malformed: u64,
    /// Commands with an extension code this version does not know.
    pub unknown_commands: u64,
    /// Relayed publishes dropped as duplicates or at the hop limit.
    pub dropped_relay: u64,
    /// Forwarded messages dropped because they came by another path than the one this node's
    /// directory names for their topic (a stale owner, a relay no longer used).
    pub dropped_off_path: u64,
    /// Connections opened (both directions).
    pub connections_opened: u64,
    /// Connections closed (both directions).
    pub connections_closed: u64,
}
