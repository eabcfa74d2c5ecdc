//! One connection as the node sees it: the [`Link`] plus who is on the other end.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::Limits;
use crate::endpoint::Endpoint;
use crate::link::{Link, PeerInfo};
use crate::wire::spot::{Capabilities, NodeId, SpotAnnouncement};
use crate::wire::zmtp::SocketType;

use super::output::OperationId;

/// Which side opened the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// We dialed `peer` (our requests go here; we are DEALER, or XSUB toward a publisher).
    Outbound {
        /// The peer's endpoint (the key of its [`super::peer::Peer`]), shared so that each
        /// message from it can name it without copying it.
        peer: Arc<Endpoint>,
    },
    /// The peer dialed us (we answer as ROUTER or XPUB).
    Inbound,
}

/// Who is on the other end, once the handshake tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Remote {
    /// Handshake not complete.
    Pending,
    /// A SPOT node or SPOT-aware client (it sent `X-Spot`).
    Spot {
        /// Its node id.
        id: NodeId,
        /// What it understands.
        capabilities: Capabilities,
    },
    /// A plain ZeroMQ DEALER/ROUTER speaking the base SPOT commands (pyzmq, the C++ original).
    Plain,
    /// A SUB/XSUB peer we serve as XPUB: `[topic][payload]`, prefix subscriptions.
    Subscriber,
    /// A PUB/XPUB peer we consume as XSUB.
    Publisher,
}

impl Remote {
    /// Classifies a peer from its READY.
    pub(crate) fn from_peer_info(info: &PeerInfo, limits: &Limits) -> Remote {
        match info.socket_type {
            SocketType::Sub | SocketType::XSub => return Remote::Subscriber,
            SocketType::Pub | SocketType::XPub => return Remote::Publisher,
            _ => {}
        }
        match info.x_spot().map(|value| SpotAnnouncement::decode(value, limits)) {
            Some(Ok(announcement)) => {
                Remote::Spot { id: announcement.node_id, capabilities: announcement.capabilities }
            }
            // A malformed X-Spot is a plain peer: base commands only.
            Some(Err(_)) | None => Remote::Plain,
        }
    }

    /// Whether the peer understands `capability` (plain peers understand none).
    pub(crate) fn has(&self, capability: Capabilities) -> bool {
        matches!(self, Remote::Spot { capabilities, .. } if capabilities.contains(capability))
    }

    /// The peer's node id, when it announced one.
    pub(crate) fn node_id(&self) -> Option<&NodeId> {
        match self {
            Remote::Spot { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether it is a cluster node (not a client).
    pub(crate) fn is_cluster_node(&self) -> bool {
        self.has(Capabilities::CLUSTER_NODE)
    }
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The ZMTP state machine.
    pub(crate) link: Link,
    /// Who dialed.
    pub(crate) direction: Direction,
    /// Who is on the other end.
    pub(crate) remote: Remote,
    /// The transport is up (inbound connections are born connected).
    pub(crate) connected: bool,
    /// Operations waiting for the answers to the QUERYs sent on this connection, oldest first
    /// (answers come back in order on one connection).
    pub(crate) queries: VecDeque<Vec<OperationId>>,
    /// Output for this connection is waiting in the link.
    pub(crate) dirty: bool,
    /// Bytes handed out as writes and not yet confirmed by `handle_sent`.
    pub(crate) in_flight: usize,
    /// The connection is in the node's `writable` queue: its link may have bytes to hand out
    /// at the next `poll_output`.
    pub(crate) write_queued: bool,
    /// The driver reported that the dial failed.
    pub(crate) dial_failed: bool,
    /// The driver reported that the transport closed.
    pub(crate) transport_closed: bool,
}

impl Connection {
    pub(crate) fn new(link: Link, direction: Direction, connected: bool) -> Self {
        Connection {
            link,
            direction,
            remote: Remote::Pending,
            connected,
            queries: VecDeque::new(),
            dirty: true,
            in_flight: 0,
            write_queued: false,
            dial_failed: false,
            transport_closed: false,
        }
    }

    /// The peer endpoint of an outbound connection.
    pub(crate) fn peer_endpoint(&self) -> Option<&Endpoint> {
        match &self.direction {
            Direction::Outbound { peer } => Some(peer),
            Direction::Inbound => None,
        }
    }

    /// [`Connection::peer_endpoint`], as a shared handle (a reference-count increment).
    pub(crate) fn shared_peer_endpoint(&self) -> Option<Arc<Endpoint>> {
        match &self.direction {
            Direction::Outbound { peer } => Some(Arc::clone(peer)),
            Direction::Inbound => None,
        }
    }
}
