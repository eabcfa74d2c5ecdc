//! What a [`super::Node`] hands its driver: network actions, application events, results.

use bytes::Bytes;

use crate::endpoint::Endpoint;
use crate::error::NodeError;
use crate::wire::spot::{NodeId, Topic};

/// One connection (a TCP stream or an in-memory pipe), named by the node. The driver keeps a
/// map from these to its sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub u64);

/// A long operation (cluster_add's sync, cluster_sync, join): returned at once by the verb that
/// starts it; [`NodeEvent::OperationFinished`] carries its result later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperationId(pub u64);

/// A network action for the driver, from [`super::Node::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeOutput {
    /// Open a connection to `to`; answer with [`super::Node::handle_connected`] or
    /// [`super::Node::handle_connect_failed`] for `conn`.
    Connect {
        /// The name the node gave this connection.
        conn: ConnectionId,
        /// Where to dial.
        to: Endpoint,
    },
    /// Write `data` on `conn`, after everything written on it before.
    Write {
        /// The connection.
        conn: ConnectionId,
        /// The bytes (zero-copy; write vectored if you like).
        data: Bytes,
    },
    /// Close `conn` once what was written before has gone out. The node forgets it; do not
    /// call `handle_closed` for it.
    Close {
        /// The connection.
        conn: ConnectionId,
    },
    /// Send one UDP datagram (SWIM) to the port number of `to`.
    Datagram {
        /// The member's advertised endpoint.
        to: Endpoint,
        /// The datagram.
        payload: Bytes,
    },
}

/// A message delivered to this node's receive queue ([`super::Node::recv`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The topic it was published on.
    pub topic: Topic,
    /// The payload (zero-copy slice of a read buffer when it came over a link).
    pub payload: Bytes,
    /// Whether an exact subscription to the topic matched.
    pub exact: bool,
    /// Indices into [`super::Node::patterns`] of every pattern subscription that matched, so a
    /// driver's per-subscription streams can each get the message once.
    pub patterns: Vec<usize>,
}

/// How one peer fared in a sync (cluster_add or cluster_sync).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Peers that answered QUERY before the deadline.
    pub synced: Vec<Endpoint>,
    /// Peers that did not, with why.
    pub failed: Vec<(Endpoint, NodeError)>,
    /// Peers asked but not waited for (a sync with timeout zero).
    pub pending: Vec<Endpoint>,
}

impl SyncReport {
    /// Success means at least one peer synced, or there was nobody to sync with.
    pub fn is_success(&self) -> bool {
        !self.synced.is_empty() || self.failed.is_empty()
    }
}

/// An application event, from [`super::Node::poll_event`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// A long operation finished.
    OperationFinished {
        /// The operation.
        op: OperationId,
        /// Its outcome: for cluster_add, `Ok` once the peer answered QUERY; for cluster_sync, the
        /// report (`Err` when no peer synced).
        result: Result<SyncReport, NodeError>,
    },
    /// A peer's topic appeared in the directory.
    TopicDiscovered {
        /// The topic.
        topic: Topic,
        /// Its owner.
        owner: NodeId,
    },
    /// A REMOTE topic left the directory (destroyed, or its owner died, left or was removed).
    TopicLost {
        /// The topic.
        topic: Topic,
        /// Its owner.
        owner: NodeId,
    },
    /// A connection to a peer completed its handshake.
    PeerConnected {
        /// The peer's endpoint.
        endpoint: Endpoint,
        /// Its node id, when it is a SPOT node.
        node: Option<NodeId>,
    },
    /// A peer's connection closed; the node redials with backoff while the peer is wanted.
    PeerDisconnected {
        /// The peer's endpoint.
        endpoint: Endpoint,
    },
    /// A peer (SPOT node or client) stopped being a subscriber here: its subscriptions were
    /// dropped.
    SubscriberGone {
        /// The connection that held them.
        conn: ConnectionId,
        /// How many exact topics, patterns and prefixes it held.
        subscriptions: usize,
    },
    /// A membership event (SWIM).
    Membership(crate::swim::MembershipEvent),
}
