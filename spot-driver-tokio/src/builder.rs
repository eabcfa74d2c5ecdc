//! [`SpotBuilder`]: configure, bind and start a node.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use spot_proto::Endpoint;
use spot_proto::host::defaults::WRITE_WINDOW;
use spot_proto::host::{DriverCounters, DriverSettings, NodeInfo, advertise_with_port};
use spot_proto::node::{Node, NodeConfig};
use tokio::sync::mpsc;

use crate::bind::{self, Bound};
use crate::clock::Clock;
use crate::driver::{Driver, Shared};
use crate::error::BindError;
use crate::handle::SpotNode;
use crate::stream::Feed;

/// Builds a [`SpotNode`]: a [`NodeConfig`], the endpoints to bind, and the driver's bounds.
///
/// ```no_run
/// # async fn start() -> Result<(), spot_driver_tokio::BindError> {
/// use spot_driver_tokio::SpotNode;
/// use spot_proto::node::NodeConfig;
///
/// let node = SpotNode::builder(NodeConfig::local())
///     .bind("tcp://127.0.0.1:0".parse().expect("a valid endpoint"))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct SpotBuilder {
    config: NodeConfig,
    binds: Vec<Endpoint>,
    settings: DriverSettings,
}

impl SpotBuilder {
    /// A builder with `config` and no endpoint bound.
    pub fn new(config: NodeConfig) -> Self {
        let settings = DriverSettings::new(&config);
        SpotBuilder { config, binds: Vec::new(), settings }
    }

    /// Binds an endpoint at start: `tcp://host:port` (TCP listener and UDP socket on the same
    /// port; port 0 picks a free one), `tcp://*:port` (every IPv4 interface; set
    /// [`SpotBuilder::advertise`]), `tcp://[::1]:port`, or `inproc://name`. The first TCP or
    /// inproc endpoint is advertised unless [`SpotBuilder::advertise`] says otherwise.
    pub fn bind(mut self, endpoint: Endpoint) -> Self {
        self.binds.push(endpoint);
        self
    }

    /// The endpoint other nodes dial (needed with `tcp://*:port`). A TCP advertise endpoint
    /// with port 0 takes the port of the first TCP bind.
    pub fn advertise(mut self, endpoint: Endpoint) -> Self {
        self.config.advertise = Some(endpoint);
        self
    }

    /// Capacity of each subscription stream, in messages (default 4096). A full stream drops
    /// the newest message and counts it.
    pub fn stream_capacity(mut self, messages: usize) -> Self {
        self.settings.stream_capacity = messages.max(1);
        self
    }

    /// Capacity of the [`SpotNode::recv`] queue, in messages (default 65 536).
    pub fn inbox_capacity(mut self, messages: usize) -> Self {
        self.settings.inbox_capacity = messages.max(1);
        self
    }

    /// Capacity of each event stream (default 1024).
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.settings.event_capacity = events.max(1);
        self
    }

    /// Bytes that may wait to be written to one connection before the driver cuts it as a
    /// peer that does not read (default 64 MiB).
    pub fn max_pending_write(mut self, bytes: usize) -> Self {
        self.settings.max_pending_write = bytes.max(1);
        self
    }

    /// How long a TCP dial may take (default: the config's handshake timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// Binds the endpoints, creates the node and spawns its driver task on the current tokio
    /// runtime (call it from within one: it panics otherwise, like `tokio::spawn`). Any runtime
    /// flavour works; the node's tasks run wherever the runtime puts them.
    pub async fn start(self) -> Result<SpotNode, BindError> {
        let SpotBuilder { mut config, binds, settings } = self;
        let mut bound = Vec::with_capacity(binds.len());
        for endpoint in &binds {
            bound.push(bind::bind(endpoint).await?);
        }
        let first_tcp_port = bound.iter().find_map(|b| match b {
            Bound::Tcp { endpoint, .. } => endpoint.port(),
            Bound::Inproc { .. } => None,
        });
        config.advertise = advertise_with_port(config.advertise.take(), first_tcp_port)?;
        // Backpressure: the node hands out at most this much per connection until the writer
        // confirms it, so a peer that stops reading fills the node's queue, where the send
        // high-water mark counts (and drops) data, instead of this driver's buffers.
        config.write_window.get_or_insert(WRITE_WINDOW);
        let clock = Clock::start();
        let node = Node::new(config, clock.now());
        let info = NodeInfo::of(&node);
        let shared = Arc::new(Shared {
            info: RwLock::new(info),
            counters: DriverCounters::default(),
            settings: settings.clone(),
        });
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let (inbox, inbox_receiver) = Feed::channel(settings.inbox_capacity);
        let mut driver = Driver::new(node, clock, Arc::clone(&shared), command_receiver, inbox);
        for sockets in bound {
            driver.attach(sockets)?;
        }
        tokio::spawn(driver.run());
        Ok(SpotNode::new(commands, inbox_receiver, shared))
    }
}
