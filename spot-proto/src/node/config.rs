//! [`NodeConfig`]: how a [`super::Node`] behaves.

use core::time::Duration;

use crate::endpoint::Endpoint;
use crate::limits::Limits;
use crate::link::HwmPolicy;
use crate::swim::SwimConfig;
use crate::wire::spot::{NodeId, Tag};

/// Configuration of one [`super::Node`]. Start from [`NodeConfig::default`] (LAN membership
/// preset) or [`NodeConfig::local`], then set fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeConfig {
    /// Seed of every random choice the node makes (backoff jitter, member ids when none can be
    /// derived); membership gets its own seed in [`SwimConfig::seed`].
    pub seed: u64,
    /// The node id; `None` derives it from the advertised endpoint (so a restarted node keeps its
    /// id), or draws one from the seed when nothing is bound.
    pub node_id: Option<NodeId>,
    /// The endpoint other nodes dial; `None` uses the first TCP (or inproc) bind. Required when
    /// the first bind is `tcp://*:port`.
    pub advertise: Option<Endpoint>,
    /// User tags published through membership.
    pub tags: Vec<Tag>,
    /// Membership (SWIM + Lifeguard) settings.
    pub swim: SwimConfig,
    /// Deadline of the QUERY that cluster_add sends (default 1 s).
    pub sync_deadline: Duration,
    /// First reconnect delay (default 100 ms); doubles per failed attempt, with jitter.
    pub reconnect_min: Duration,
    /// Longest reconnect delay (default 5 s).
    pub reconnect_max: Duration,
    /// Default send high-water mark per peer connection, in data messages (default 1000).
    pub send_hwm: usize,
    /// Send high-water mark per connection in payload bytes (default 64 MiB), beside the count
    /// in messages: whichever is reached first applies [`NodeConfig::hwm_policy`].
    pub send_hwm_bytes: usize,
    /// Default receive high-water mark per peer, in messages queued for [`super::Node::recv`]
    /// (default 1000).
    pub recv_hwm: usize,
    /// Bound on the whole receive queue, in messages (default 100 000).
    pub recv_queue_capacity: usize,
    /// What a full send queue does to a local publish: drop and count (default) or refuse with
    /// `WouldBlock`.
    pub hwm_policy: HwmPolicy,
    /// Interval of ZMTP heartbeats on node links (default 5 s; `None` disables).
    pub heartbeat_interval: Option<Duration>,
    /// Handshake deadline of a new connection (default 5 s).
    pub handshake_timeout: Duration,
    /// Backpressure: most bytes of [`super::NodeOutput::Write`]s handed out for one connection
    /// and not yet confirmed written with [`super::Node::handle_sent`]. Beyond it, data waits in
    /// the connection's queue, where the send high-water mark counts (and drops) it. `None`
    /// (the default) hands everything out at once, for drivers that buffer themselves.
    pub write_window: Option<usize>,
    /// Most times a relayed publish may be forwarded (default 4).
    pub relay_hop_limit: u8,
    /// Size and count bounds for everything peers send.
    pub limits: Limits,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            seed: 0,
            node_id: None,
            advertise: None,
            tags: Vec::new(),
            swim: SwimConfig::lan(),
            sync_deadline: Duration::from_secs(1),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            send_hwm: 1000,
            send_hwm_bytes: 64 << 20,
            recv_hwm: 1000,
            recv_queue_capacity: 100_000,
            hwm_policy: HwmPolicy::DropNewest,
            heartbeat_interval: Some(Duration::from_secs(5)),
            handshake_timeout: Duration::from_secs(5),
            write_window: None,
            relay_hop_limit: 4,
            limits: Limits::default(),
        }
    }
}

impl NodeConfig {
    /// The defaults with the membership preset for nodes on one machine.
    pub fn local() -> Self {
        NodeConfig { swim: SwimConfig::local(), ..NodeConfig::default() }
    }

    /// Sets the seed of the node and of its membership.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.swim = self.swim.with_seed(seed ^ 0x5157_494d);
        self
    }

    /// Sets the advertised endpoint.
    pub fn with_advertise(mut self, endpoint: Endpoint) -> Self {
        self.advertise = Some(endpoint);
        self
    }
}
