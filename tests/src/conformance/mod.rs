//! One conformance suite, written once, run against every driver.
//!
//! A driver under test is a [`Driver`]: it starts [`TestNode`]s, a blocking view of one node
//! of that driver (the C API's shape: subscribe, then `recv` with a timeout). [`suite`] holds
//! the scenarios, each a function over `&dyn Driver`; [`conformance_tests!`](crate::conformance_tests)
//! turns them into `#[test]`s for one driver, and `tests/conformance_mixed.rs` runs them with
//! [`Mixed`] (the nodes of each scenario come from different drivers) and a cluster whose nodes
//! come from all three drivers.
//!
//! Every wait is bounded ([`WAIT`] at most), every node binds `tcp://127.0.0.1:0`.

mod adapters;
pub mod suite;

use std::time::Duration;

use bytes::Bytes;
use spot_proto::node::{NodeConfig, NodeStats, SyncReport};
use spot_proto::{Endpoint, NodeError};

pub use adapters::{Mio, Mixed, Smol, Tokio};

/// The longest any single wait of the suite may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long the suite listens to conclude that nothing arrives.
pub const QUIET: Duration = Duration::from_millis(300);

/// One node of the driver under test, seen through a blocking interface.
pub trait TestNode: Send + Sync {
    /// The driver's name (for messages).
    fn driver(&self) -> &'static str;
    /// The endpoint other nodes dial.
    fn endpoint(&self) -> Endpoint;
    /// `topic_create`.
    fn topic_create(&self, topic: &str) -> Result<(), NodeError>;
    /// `topic_destroy`.
    fn topic_destroy(&self, topic: &str) -> Result<(), NodeError>;
    /// Whether the node knows the topic (LOCAL or REMOTE).
    fn topic_exists(&self, topic: &str) -> Result<bool, NodeError>;
    /// `subscribe`; the messages come from [`TestNode::recv`].
    fn subscribe(&self, topic: &str) -> Result<(), NodeError>;
    /// `subscribe_pattern`; the messages come from [`TestNode::recv`].
    fn subscribe_pattern(&self, pattern: &str) -> Result<(), NodeError>;
    /// `unsubscribe`.
    fn unsubscribe(&self, topic: &str) -> Result<(), NodeError>;
    /// `publish`.
    fn publish(&self, topic: &str, payload: Bytes) -> Result<(), NodeError>;
    /// The next message (topic, payload) within `timeout`: `Timeout` if none.
    fn recv(&self, timeout: Duration) -> Result<(String, Bytes), NodeError>;
    /// `cluster_add`, waiting for its sync.
    fn cluster_add(&self, peer: Endpoint) -> Result<SyncReport, NodeError>;
    /// `cluster_remove`.
    fn cluster_remove(&self, peer: &Endpoint) -> Result<(), NodeError>;
    /// `cluster_sync` with a timeout.
    fn cluster_sync(&self, timeout: Duration) -> Result<SyncReport, NodeError>;
    /// `join` through seed endpoints (SWIM over UDP on the TCP port number).
    fn join(&self, seeds: &[Endpoint]) -> Result<(), NodeError>;
    /// The endpoints of the members this node sees alive.
    fn alive_members(&self) -> Result<Vec<Endpoint>, NodeError>;
    /// Waits (at most `timeout`) for the next membership event; `false` if none came.
    fn wait_membership_event(&self, timeout: Duration) -> bool;
    /// The node's counters.
    fn stats(&self) -> Result<NodeStats, NodeError>;
    /// Graceful shutdown; returns once the node stopped.
    fn shutdown(&self);
}

/// A driver under test: starts nodes.
pub trait Driver: Sync {
    /// The driver's name.
    fn name(&self) -> &'static str;
    /// A node with `config` bound on `endpoint`.
    fn start_with(&self, endpoint: Endpoint, config: NodeConfig) -> Box<dyn TestNode>;

    /// A node with the suite's configuration (seeded) on `tcp://127.0.0.1:0`.
    fn start(&self, seed: u64) -> Box<dyn TestNode> {
        self.start_with(loopback_any(), config(seed))
    }
}

/// `tcp://127.0.0.1:0`.
pub fn loopback_any() -> Endpoint {
    Endpoint::localhost(0)
}

/// The suite's node configuration: the local membership preset, seeded, with a sync deadline
/// that tolerates a loaded machine.
pub fn config(seed: u64) -> NodeConfig {
    let mut config = NodeConfig::local().with_seed(seed);
    config.sync_deadline = Duration::from_secs(3);
    config
}

/// Generates one `#[test]` per scenario of [`suite`] for the driver `$driver` (an expression
/// of a type implementing [`Driver`]).
#[macro_export]
macro_rules! conformance_tests {
    ($driver:expr) => {
        $crate::conformance_tests!(@tests $driver;
            basic_publish_receive_exact_bytes,
            publish_after_topic_destroy_fails,
            ten_messages_arrive_in_order,
            pattern_subscription_receives_only_matching_topics,
            selective_unsubscribe,
            one_mebibyte_message,
            hundred_rapid_publishes_all_received,
            remote_topic_over_tcp,
            two_nodes_publish_to_each_other,
            three_node_cluster_one_publish_reaches_both,
            cluster_add_and_sync_discover_topics,
            cluster_remove_stops_delivery,
            destroyed_node_rebinds_same_endpoint,
            stalled_subscriber_meets_the_send_hwm,
        );
    };
    (@tests $driver:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[test]
            fn $scenario() {
                $crate::conformance::suite::$scenario(&$driver);
            }
        )*
    };
}
