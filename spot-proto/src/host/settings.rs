//! [`DriverSettings`]: the driver's own bounds (not the protocol's: those are in
//! [`NodeConfig`]), and [`NodeInfo`]: what a node is, as handles see it without asking the
//! driver.

use core::time::Duration;

use crate::Endpoint;
use crate::node::{Node, NodeConfig};
use crate::wire::spot::NodeId;

/// Capacity of each subscription stream by default, in messages.
pub const STREAM_CAPACITY: usize = 4096;
/// Capacity of the `recv` queue by default, in messages.
pub const INBOX_CAPACITY: usize = 65_536;
/// Capacity of each event stream by default.
pub const EVENT_CAPACITY: usize = 1024;
/// Bytes that may wait to be written to one connection by default before the driver cuts it
/// as a peer that does not read.
pub const MAX_PENDING_WRITE: usize = 64 << 20;

/// Tunables of a driver. A full stream or queue drops the newest item and counts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverSettings {
    /// Capacity of each subscription stream, in messages (at least 1).
    pub stream_capacity: usize,
    /// Capacity of the `recv` queue, in messages (at least 1).
    pub inbox_capacity: usize,
    /// Capacity of each event stream (at least 1).
    pub event_capacity: usize,
    /// Bytes that may wait to be written to one connection before it is cut (at least 1).
    pub max_pending_write: usize,
    /// How long a TCP dial may take.
    pub connect_timeout: Duration,
}

impl DriverSettings {
    /// The defaults for `config`: the constants of this module, and the config's handshake
    /// timeout as the dial timeout.
    pub fn new(config: &NodeConfig) -> Self {
        DriverSettings {
            stream_capacity: STREAM_CAPACITY,
            inbox_capacity: INBOX_CAPACITY,
            event_capacity: EVENT_CAPACITY,
            max_pending_write: MAX_PENDING_WRITE,
            connect_timeout: config.handshake_timeout,
        }
    }
}

/// What a node is: its id, advertised endpoint and bound endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// The endpoint other nodes dial, once known.
    pub advertised: Option<Endpoint>,
    /// The endpoints bound, with their real ports.
    pub bound: Vec<Endpoint>,
}

impl NodeInfo {
    /// `node` as it is now.
    pub fn of(node: &Node) -> Self {
        NodeInfo {
            id: node.id().clone(),
            advertised: node.advertised().cloned(),
            bound: node.bound().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Instant;

    #[test]
    fn defaults_follow_the_config() {
        let mut config = NodeConfig::local();
        config.handshake_timeout = Duration::from_millis(1234);
        let settings = DriverSettings::new(&config);
        assert_eq!(settings.connect_timeout, Duration::from_millis(1234));
        assert_eq!(settings.stream_capacity, STREAM_CAPACITY);
        assert_eq!(settings.inbox_capacity, INBOX_CAPACITY);
        assert_eq!(settings.max_pending_write, MAX_PENDING_WRITE);
    }

    #[test]
    fn info_tracks_the_binds() {
        let mut node = Node::new(NodeConfig::local(), Instant::ZERO);
        assert!(NodeInfo::of(&node).bound.is_empty());
        let endpoint: Endpoint = "tcp://127.0.0.1:4100".parse().expect("endpoint");
        node.bind(Instant::ZERO, endpoint.clone()).expect("bound");
        let info = NodeInfo::of(&node);
        assert_eq!(info.id, *node.id());
        assert_eq!(info.bound, std::slice::from_ref(&endpoint));
        assert_eq!(info.advertised, Some(endpoint));
    }
}
