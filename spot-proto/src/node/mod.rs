//! [`Node`]: links, membership and pub/sub composed into one sans-IO SPOT node.
//!
//! # The drive loop
//!
//! A driver owns the sockets; the node owns every decision:
//!
//! * **Inputs**: [`Node::handle_accepted`] (a peer connected to one of our listeners),
//!   [`Node::handle_connected`] / [`Node::handle_connect_failed`] (the answer to a
//!   [`NodeOutput::Connect`]), [`Node::handle_read`] (bytes, as owned `BytesMut`),
//!   [`Node::handle_closed`] (EOF or error), [`Node::handle_datagram`] (UDP, SWIM), and
//!   [`Node::handle_timeout`]; plus the user verbs (`topic_create`, `subscribe`, `publish`,
//!   `cluster_add`, `join`, ...). Each takes `now`.
//! * **Outputs**, drained after every input until `None`: [`Node::poll_output`] (connect, write,
//!   close, send a datagram), [`Node::poll_event`] (operations finished, topics found or lost,
//!   membership), [`Node::recv`] (delivered messages), and one timer from
//!   [`Node::poll_timeout`].
//!
//! Writes for a connection come in order and must be written in order; a [`NodeOutput::Close`]
//! comes after the last write of its connection. For backpressure, set
//! [`NodeConfig::write_window`] and confirm written bytes with [`Node::handle_sent`]: a peer that
//! does not read then fills its connection's queue, where the high-water mark applies, instead
//! of the driver's buffers. The node never writes on an outbound
//! connection before [`Node::handle_connected`].
//!
//! # Traffic between nodes
//!
//! A node sends its requests (QUERY, SUBSCRIBE, PUBLISH to an owner) on a DEALER connection it
//! dials, and answers and forwards on the connection a request came in on (as ROUTER, with the
//! empty delimiter). SPOT nodes recognise each other by the `X-Spot` READY property and send
//! extensions (topic announcements, directory queries, push-pull) only to peers that announced
//! them. Plain ZeroMQ peers get the base commands: a DEALER is served as by a ROUTER, a SUB as by
//! an XPUB (`[topic][payload]`), and a dialed PUB/XPUB is consumed as XSUB.
//!
//! # Delivery
//!
//! A publish to a LOCAL topic goes to the local receive queue (once, however many local
//! subscriptions match) and once to every subscribing connection; a publish to a REMOTE topic
//! goes to its owner, which fans it out (and back to us if we subscribe). On a stable path under
//! the high-water marks, each subscribing node gets each publish exactly once, in per-publisher
//! order; otherwise at most once, and every drop is counted in [`NodeStats`].

#[cfg(test)]
mod client_tests;
mod config;
mod conn;
mod dispatch;
mod output;
mod peer;
mod routing;
#[cfg(feature = "sim")]
mod sim;
mod stats;
mod verbs;
#[cfg(feature = "sim")]
pub mod workload;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use bytes::BytesMut;

pub use config::NodeConfig;
pub use output::{ConnectionId, Delivery, NodeEvent, NodeOutput, OperationId, SyncReport};
#[cfg(feature = "sim")]
pub use sim::{SimNode, SimNodeEvent};
pub use stats::NodeStats;
pub use verbs::{PeerStats, TopicInfo, TopicLocation};

use crate::endpoint::{Endpoint, Host};
use crate::error::NodeError;
use crate::link::{CloseReason, Link, LinkConfig, LinkEvent};
use crate::pubsub::{GlobPattern, RelayConfig, RelayFilter, TopicDirectory};
use crate::rng::SpotRng;
use crate::swim::{LocalMember, Membership, MembershipEvent};
use crate::time::Instant;
use crate::wire::spot::{
    Capabilities, Envelope, NodeId, SpotAnnouncement, SpotCommand, Topic, X_SPOT_PROPERTY,
};
use crate::wire::zmtp::{Message, SocketType};
use conn::{Connection, Direction, Remote};
use peer::{Peer, PeerState};
use routing::Subscribers;

/// Capabilities this node announces in `X-Spot`.
const OUR_CAPABILITIES: Capabilities = Capabilities::CLUSTER_NODE
    .union(Capabilities::TOPIC_EVENTS)
    .union(Capabilities::DIRECTORY)
    .union(Capabilities::PUSH_PULL)
    .union(Capabilities::MEMBER_LIST)
    .union(Capabilities::HELLO)
    .union(Capabilities::RELAY);

/// The relay filter's bounds from the node's configuration.
fn relay_config(config: &NodeConfig) -> RelayConfig {
    RelayConfig::default().with_max_hops(config.relay_hop_limit)
}

/// A long operation in flight.
#[derive(Debug)]
struct Operation {
    /// Peers still to answer.
    waiting: BTreeSet<Endpoint>,
    report: SyncReport,
    /// `None`: wait for every peer however long it takes.
    deadline: Option<Instant>,
    /// A cluster_add: one peer, and "no connection by the deadline" is EHOSTUNREACH.
    single: bool,
}

/// One SPOT node, sans-IO. See the [module documentation](self) for the drive loop.
#[derive(Debug)]
pub struct Node {
    config: NodeConfig,
    rng: SpotRng,
    now: Instant,
    id: NodeId,
    advertised: Option<Endpoint>,
    bound: BTreeSet<Endpoint>,
    membership: Option<Membership>,
    next_conn: u64,
    next_op: u64,
    conns: BTreeMap<ConnectionId, Connection>,
    peers: BTreeMap<Endpoint, Peer>,
    /// cluster_remove'd endpoints that membership may not re-add.
    blocked: BTreeSet<Endpoint>,
    /// LOCAL topics, and the owner of every REMOTE one (claims, conflicts, explicit routes).
    directory: TopicDirectory,
    /// Topics the user subscribed to by name (kept while their owner is away, so the
    /// subscription comes back with it).
    local_exact: BTreeSet<Topic>,
    /// The user's pattern subscriptions, in the order made.
    local_patterns: Vec<GlobPattern>,
    /// Connections subscribed to our topics (and relayed ones).
    subscribers: Subscribers,
    ops: BTreeMap<OperationId, Operation>,
    outputs: VecDeque<NodeOutput>,
    /// Connections whose links may have bytes to write. Their writes are taken when the driver
    /// drains [`Node::poll_output`], not at each input, so that many publishes between two
    /// drains leave as one coalesced chunk.
    pub(crate) writable: VecDeque<ConnectionId>,
    events: VecDeque<NodeEvent>,
    received: VecDeque<Delivery>,
    /// Who sent the messages in `received` (`None`: no peer, such as a local publish), front
    /// first, as runs of messages in a row from one source: (source, messages).
    received_from: VecDeque<(Option<Endpoint>, usize)>,
    /// Origin sequence numbers for what we relay, and duplicate/loop filtering of relayed
    /// messages (origin, sequence, hop count).
    relay: RelayFilter,
    stats: NodeStats,
    /// The connections of one fan-out, kept to reuse the allocation.
    fan_out_scratch: Vec<ConnectionId>,
    /// The topic of the last `publish`, validated.
    last_published: Option<Topic>,
}

impl Node {
    /// A node with `config`, not yet bound. Verbs on LOCAL topics work at once; bind to take
    /// part in a cluster.
    pub fn new(config: NodeConfig, now: Instant) -> Node {
        let mut rng = SpotRng::from_seed(config.seed);
        let advertised = config.advertise.clone();
        let id = match (&config.node_id, &advertised) {
            (Some(id), _) => id.clone(),
            (None, Some(endpoint)) => crate::swim::default_node_id(endpoint),
            (None, None) => random_node_id(&mut rng),
        };
        let directory = TopicDirectory::new(id.clone(), config.limits.clone());
        let relay = RelayFilter::new(id.clone(), relay_config(&config));
        let mut node = Node {
            rng,
            now,
            id,
            advertised,
            bound: BTreeSet::new(),
            membership: None,
            next_conn: 1,
            next_op: 1,
            conns: BTreeMap::new(),
            peers: BTreeMap::new(),
            blocked: BTreeSet::new(),
            directory,
            local_exact: BTreeSet::new(),
            local_patterns: Vec::new(),
            subscribers: Subscribers::default(),
            ops: BTreeMap::new(),
            outputs: VecDeque::new(),
            writable: VecDeque::new(),
            events: VecDeque::new(),
            received: VecDeque::new(),
            received_from: VecDeque::new(),
            relay,
            stats: NodeStats::default(),
            fan_out_scratch: Vec::new(),
            last_published: None,
            config,
        };
        if node.advertised.is_some() {
            node.start_membership(now);
        }
        node
    }

    /// This node's id.
    pub fn id(&self) -> &NodeId {
        &self.id
    }

    /// The endpoint other nodes dial, once known.
    pub fn advertised(&self) -> Option<&Endpoint> {
        self.advertised.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The membership state machine, once the node has an advertised endpoint.
    pub fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// Counters.
    pub fn stats(&self) -> NodeStats {
        self.stats
    }

    /// Records that the driver bound `endpoint` (with its real port: the driver binds port 0
    /// first and reports the port it got). The first TCP or inproc bind becomes the advertised
    /// endpoint unless one was configured; `tcp://*:port` needs a configured one.
    pub fn bind(&mut self, now: Instant, endpoint: Endpoint) -> Result<(), NodeError> {
        self.now = now;
        if self.bound.contains(&endpoint) {
            return Err(NodeError::AlreadyBound(endpoint.to_string()));
        }
        if let Endpoint::Tcp { port: 0, .. } = endpoint {
            return Err(NodeError::InvalidArgument(
                "bind reports the bound port: resolve port 0 before calling bind",
            ));
        }
        let wildcard = matches!(endpoint, Endpoint::Tcp { host: Host::Any, .. });
        self.bound.insert(endpoint.clone());
        if self.advertised.is_none() && !wildcard {
            if self.config.node_id.is_none() {
                self.set_id(crate::swim::default_node_id(&endpoint));
            }
            self.advertised = Some(endpoint);
            self.start_membership(now);
        }
        self.flush();
        Ok(())
    }

    /// Takes a new node id (at the first bind), keeping the LOCAL topics.
    fn set_id(&mut self, id: NodeId) {
        let locals = self.directory.local_topics();
        self.directory = TopicDirectory::new(id.clone(), self.config.limits.clone());
        self.relay = RelayFilter::new(id.clone(), relay_config(&self.config));
        for topic in locals {
            let _ = self.directory.create_local(topic.as_str());
        }
        self.id = id;
    }

    /// The endpoints bound so far.
    pub fn bound(&self) -> impl Iterator<Item = &Endpoint> {
        self.bound.iter()
    }

    fn start_membership(&mut self, now: Instant) {
        let Some(endpoint) = self.advertised.clone() else { return };
        let local = LocalMember { id: self.id.clone(), endpoint, tags: self.config.tags.clone() };
        self.membership = Some(Membership::new(self.config.swim.clone(), local, now));
    }

    // ------------------------------------------------------------------ outputs

    /// The next network action, until `None`.
    pub fn poll_output(&mut self) -> Option<NodeOutput> {
        if self.outputs.is_empty() {
            self.take_writes();
        }
        self.outputs.pop_front()
    }

    /// Serializes what the writable connections' links hold into [`NodeOutput::Write`]s,
    /// within each connection's write window.
    fn take_writes(&mut self) {
        let window = self.config.write_window.unwrap_or(usize::MAX);
        while let Some(id) = self.writable.pop_front() {
            let Some(c) = self.conns.get_mut(&id) else { continue };
            c.write_queued = false;
            hand_out_writes(id, c, window, &mut self.outputs);
        }
    }

    /// The next application event, until `None`.
    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    /// The next message delivered to this node's subscriptions, until `None`.
    pub fn recv(&mut self) -> Option<Delivery> {
        let delivery = self.received.pop_front()?;
        if let Some((source, count)) = self.received_from.front_mut() {
            if let Some(peer) = source.as_ref().and_then(|endpoint| self.peers.get_mut(endpoint)) {
                peer.recv_queued = peer.recv_queued.saturating_sub(1);
            }
            *count -= 1;
            if *count == 0 {
                self.received_from.pop_front();
            }
        }
        Some(delivery)
    }

    /// Messages waiting in the receive queue.
    pub fn pending_received(&self) -> usize {
        self.received.len()
    }

    /// When to call [`Node::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let links = self.conns.values().filter_map(|c| c.link.poll_timeout());
        let peers = self.peers.values().filter_map(|p| match p.state {
            PeerState::Backoff { until } if p.wanted.any() => Some(until),
            _ => None,
        });
        let ops = self.ops.values().filter_map(|op| op.deadline);
        let swim = self.membership.as_ref().and_then(Membership::poll_timeout);
        links.chain(peers).chain(ops).chain(swim).min()
    }

    // ------------------------------------------------------------------ inputs

    /// A peer connected to one of our listeners; returns the name of the new connection.
    pub fn handle_accepted(&mut self, now: Instant) -> ConnectionId {
        self.now = now;
        let conn = self.next_connection_id();
        let link = Link::new(self.link_config(None), now);
        self.conns.insert(conn, Connection::new(link, Direction::Inbound, true));
        self.stats.connections_opened += 1;
        self.flush();
        conn
    }

    /// The connection asked for by [`NodeOutput::Connect`] is up. Returns false when the node
    /// gave up on it meanwhile (it then already emitted [`NodeOutput::Close`] for it): close the
    /// socket.
    pub fn handle_connected(&mut self, now: Instant, conn: ConnectionId) -> bool {
        self.now = now;
        let wanted = match self.conns.get_mut(&conn) {
            Some(c) => {
                c.connected = true;
                c.dirty = true;
                true
            }
            None => false,
        };
        self.flush();
        wanted
    }

    /// The connection asked for by [`NodeOutput::Connect`] could not be made.
    pub fn handle_connect_failed(&mut self, now: Instant, conn: ConnectionId) {
        self.now = now;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.link.handle_transport_closed(now);
            c.dial_failed = true;
            c.dirty = true;
        }
        self.flush();
    }

    /// Bytes arrived on `conn`.
    pub fn handle_read(&mut self, now: Instant, conn: ConnectionId, data: BytesMut) {
        self.now = now;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.link.handle_read(now, data);
            c.dirty = true;
        }
        self.flush();
    }

    /// `bytes` of `conn`'s writes reached the socket (with [`NodeConfig::write_window`] set, the
    /// node hands out more only as earlier writes are confirmed; without it, this is optional).
    pub fn handle_sent(&mut self, now: Instant, conn: ConnectionId, bytes: usize) {
        self.now = now;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.in_flight = c.in_flight.saturating_sub(bytes);
            c.dirty = true;
        }
        self.flush();
    }

    /// `conn` reached end of stream or failed. The node forgets it (no `Close` follows).
    pub fn handle_closed(&mut self, now: Instant, conn: ConnectionId) {
        self.now = now;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.link.handle_transport_closed(now);
            c.connected = false;
            c.transport_closed = true;
            c.dirty = true;
        }
        self.flush();
    }

    /// A UDP datagram arrived from `from` (the sender's endpoint: its address and port).
    pub fn handle_datagram(&mut self, now: Instant, from: Endpoint, datagram: bytes::Bytes) {
        self.now = now;
        if let Some(membership) = self.membership.as_mut() {
            membership.handle_datagram(now, from, datagram);
        }
        self.flush();
    }

    /// The timer from [`Node::poll_timeout`] fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        for c in self.conns.values_mut() {
            if c.link.poll_timeout().is_some_and(|t| t <= now) {
                c.link.handle_timeout(now);
                c.dirty = true;
            }
        }
        let due: Vec<Endpoint> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.wanted.any() && matches!(p.state, PeerState::Backoff { until } if until <= now)
            })
            .map(|(endpoint, _)| endpoint.clone())
            .collect();
        for endpoint in due {
            self.dial(&endpoint);
        }
        if let Some(membership) = self.membership.as_mut()
            && membership.poll_timeout().is_some_and(|t| t <= now)
        {
            membership.handle_timeout(now);
        }
        self.expire_operations(now);
        self.flush();
    }

    // ------------------------------------------------------------------ internals

    fn next_connection_id(&mut self) -> ConnectionId {
        let id = ConnectionId(self.next_conn);
        self.next_conn += 1;
        id
    }

    fn next_operation_id(&mut self) -> OperationId {
        let id = OperationId(self.next_op);
        self.next_op += 1;
        id
    }

    /// The link configuration for a new connection: dialing `as_type`, or listening.
    fn link_config(&self, as_type: Option<SocketType>) -> LinkConfig {
        let mut config = match as_type {
            Some(socket_type) => LinkConfig::dialer(socket_type),
            None => LinkConfig::listener(),
        };
        config = config
            .with_limits(self.config.limits.clone())
            .with_handshake_timeout(self.config.handshake_timeout)
            .with_hwm(self.config.send_hwm, self.config.send_hwm_bytes, self.config.hwm_policy);
        if let Some(interval) = self.config.heartbeat_interval {
            config = config.with_heartbeat(interval, interval * 3);
        }
        // A dialer toward a publisher announces `Socket-Type` alone, like libzmq's XSUB.
        if as_type != Some(SocketType::XSub) {
            let announcement = SpotAnnouncement::new(self.id.clone(), OUR_CAPABILITIES);
            if let Ok(with) = config.clone().with_property(X_SPOT_PROPERTY, announcement.encode()) {
                config = with;
            }
        }
        config
    }

    /// The peer for `endpoint`, created if new.
    fn peer_mut(&mut self, endpoint: &Endpoint) -> &mut Peer {
        let (send_hwm, recv_hwm) = (self.config.send_hwm, self.config.recv_hwm);
        self.peers.entry(endpoint.clone()).or_insert_with(|| {
            Peer::new(crate::swim::default_node_id(endpoint), send_hwm, recv_hwm)
        })
    }

    /// Makes sure a connection to `endpoint` exists or is coming (dials now unless one is up
    /// or a backoff is running).
    fn ensure_connection(&mut self, endpoint: &Endpoint) {
        let now = self.now;
        let peer = self.peer_mut(endpoint);
        match peer.state {
            PeerState::Connected => {}
            PeerState::Backoff { until } if until > now && peer.failures > 0 => {}
            PeerState::Backoff { .. } => self.dial(endpoint),
        }
    }

    /// Opens an outbound connection to `endpoint` and queues what a fresh connection sends:
    /// QUERY (to learn its topics), and every subscription held there.
    fn dial(&mut self, endpoint: &Endpoint) {
        if !endpoint.is_dialable() {
            return;
        }
        let conn = self.next_connection_id();
        let as_subscriber = self.peer_mut(endpoint).as_subscriber;
        let socket_type = if as_subscriber { SocketType::XSub } else { SocketType::Dealer };
        let mut config = self.link_config(Some(socket_type));
        config.data_hwm = self.peer_mut(endpoint).send_hwm;
        let mut link = Link::new(config, self.now);
        let peer = self.peer_mut(endpoint);
        if as_subscriber {
            for topic in &peer.subscribed {
                let _ = link.subscribe(topic.as_bytes().clone());
            }
        } else {
            let _ =
                link.send_control(Message::from_frames(SpotCommand::Query.encode(Envelope::Bare)));
            for topic in &peer.subscribed {
                let subscribe = SpotCommand::Subscribe { topic: topic.clone() };
                let _ = link.send_control(Message::from_frames(subscribe.encode(Envelope::Bare)));
            }
        }
        peer.conn = Some(conn);
        peer.state = PeerState::Connected;
        let mut connection =
            Connection::new(link, Direction::Outbound { peer: Arc::new(endpoint.clone()) }, false);
        connection.queries.push_back(Vec::new());
        self.conns.insert(conn, connection);
        self.stats.connections_opened += 1;
        self.outputs.push_back(NodeOutput::Connect { conn, to: endpoint.clone() });
    }

    /// Processes everything the links and membership produced, until nothing moves: link
    /// events, writes, closes, membership datagrams and events.
    fn flush(&mut self) {
        loop {
            let mut progressed = self.flush_membership();
            // In id order, without collecting: flushing one connection may dirty others.
            let mut next = self.next_dirty(None);
            while let Some(conn) = next {
                progressed = true;
                self.flush_connection(conn);
                next = self.next_dirty(Some(conn));
            }
            if !progressed {
                break;
            }
        }
    }

    /// The first dirty connection after `after` (from the start with `None`).
    fn next_dirty(&self, after: Option<ConnectionId>) -> Option<ConnectionId> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = after.map_or(Unbounded, Excluded);
        self.conns.range((from, Unbounded)).find(|(_, c)| c.dirty).map(|(id, _)| *id)
    }

    /// Drains one connection's events and writes.
    fn flush_connection(&mut self, id: ConnectionId) {
        let mut closed = None;
        loop {
            let Some(c) = self.conns.get_mut(&id) else { return };
            c.dirty = false;
            let Some(event) = c.link.poll_event() else { break };
            match event {
                LinkEvent::HandshakeComplete(info) => {
                    c.remote = Remote::from_peer_info(&info, &self.config.limits);
                    self.on_handshake(id);
                }
                LinkEvent::Message(message) => self.on_message(id, message),
                LinkEvent::Subscription { change, .. } => self.on_zmq_subscription(id, change),
                LinkEvent::Pong { .. } => {}
                LinkEvent::Closed(reason) => closed = Some(reason),
            }
        }
        let Some(c) = self.conns.get_mut(&id) else { return };
        c.dirty = false;
        match closed {
            Some(reason) => {
                // A closing link hands out its last bytes now, whatever the window, so they
                // come before its Close.
                hand_out_writes(id, c, usize::MAX, &mut self.outputs);
                self.on_closed(id, reason);
            }
            None if c.connected && !c.write_queued => {
                c.write_queued = true;
                self.writable.push_back(id);
            }
            None => {}
        }
    }

    /// The handshake on `id` completed.
    fn on_handshake(&mut self, id: ConnectionId) {
        let Some(c) = self.conns.get(&id) else { return };
        let endpoint = c.peer_endpoint().cloned();
        let node = c.remote.node_id().cloned();
        if let Some(endpoint) = endpoint {
            let peer = self.peer_mut(&endpoint);
            peer.failures = 0;
            if let Some(node_id) = &node {
                peer.node_id = node_id.clone();
            }
            self.events.push_back(NodeEvent::PeerConnected { endpoint, node });
        }
    }

    /// `id` closed: forget it, drop what it held, and redial its peer if still wanted.
    fn on_closed(&mut self, id: ConnectionId, reason: CloseReason) {
        let Some(c) = self.conns.remove(&id) else { return };
        self.stats.connections_closed += 1;
        // A dial the node gives up on before it connected is closed too, so the driver can drop
        // the attempt; one that failed or a transport that closed needs no Close.
        let dialing = matches!(c.direction, Direction::Outbound { .. }) && !c.dial_failed;
        if c.connected || (dialing && !c.transport_closed) {
            self.outputs.push_back(NodeOutput::Close { conn: id });
        }
        let held = self.subscribers.remove_connection(id);
        if held > 0 {
            self.events.push_back(NodeEvent::SubscriberGone { conn: id, subscriptions: held });
        }
        let Direction::Outbound { peer: endpoint } = c.direction else { return };
        let endpoint = Arc::unwrap_or_clone(endpoint);
        let was_ready = !matches!(c.remote, Remote::Pending);
        let now = self.now;
        let (min, max) = (self.config.reconnect_min, self.config.reconnect_max);
        let Some(peer) = self.peers.get_mut(&endpoint) else { return };
        if peer.conn != Some(id) {
            return;
        }
        peer.conn = None;
        if let CloseReason::PeerIsPublisher { .. } = reason {
            peer.as_subscriber = true;
            peer.failures = 0;
            peer.state = PeerState::Backoff { until: now };
        } else {
            peer.failures = if was_ready { 1 } else { peer.failures.saturating_add(1) };
            let delay = Peer::backoff(peer.failures, min, max, &mut self.rng);
            peer.state = PeerState::Backoff { until: now + delay };
        }
        if was_ready {
            self.events.push_back(NodeEvent::PeerDisconnected { endpoint: endpoint.clone() });
        }
        if !self.peers.get(&endpoint).is_some_and(|p| p.wanted.any()) {
            self.peers.remove(&endpoint);
        } else if matches!(reason, CloseReason::PeerIsPublisher { .. }) {
            self.dial(&endpoint);
        }
    }

    /// Moves membership's datagrams out and acts on its events; returns whether anything moved.
    fn flush_membership(&mut self) -> bool {
        let Some(membership) = self.membership.as_mut() else { return false };
        let mut progressed = false;
        while let Some(datagram) = membership.poll_transmit() {
            progressed = true;
            self.outputs
                .push_back(NodeOutput::Datagram { to: datagram.to, payload: datagram.payload });
        }
        let mut push_pulls = Vec::new();
        while let Some(request) = membership.poll_push_pull() {
            push_pulls.push(request);
        }
        let mut events = Vec::new();
        while let Some(event) = membership.poll_event() {
            events.push(event);
        }
        for (endpoint, message) in push_pulls {
            progressed = true;
            self.send_request(&endpoint, SpotCommand::PushPullReq(message));
        }
        for event in events {
            progressed = true;
            self.on_membership_event(event);
        }
        progressed
    }

    /// Acts on one membership event, then reports it.
    fn on_membership_event(&mut self, event: MembershipEvent) {
        match &event {
            MembershipEvent::MemberUp { id, endpoint } => self.member_up(id, endpoint),
            MembershipEvent::MemberAlive { id, .. } => {
                let endpoint = self
                    .membership
                    .as_ref()
                    .and_then(|m| m.member(id).map(|member| member.endpoint.clone()));
                if let Some(endpoint) = endpoint {
                    self.member_up(id, &endpoint);
                }
            }
            MembershipEvent::MemberDead { id } | MembershipEvent::MemberLeft { id } => {
                self.member_gone(id);
            }
            _ => {}
        }
        self.events.push_back(NodeEvent::Membership(event));
    }

    fn member_up(&mut self, id: &NodeId, endpoint: &Endpoint) {
        if Some(endpoint) == self.advertised.as_ref() || self.blocked.contains(endpoint) {
            return;
        }
        let peer = self.peer_mut(endpoint);
        peer.wanted.member = true;
        peer.node_id = id.clone();
        self.ensure_connection(endpoint);
    }

    /// A member died or left: forget its topics and the subscriptions it held here.
    fn member_gone(&mut self, id: &NodeId) {
        let endpoints: Vec<Endpoint> = self
            .peers
            .iter()
            .filter(|(_, p)| &p.node_id == id)
            .map(|(endpoint, _)| endpoint.clone())
            .collect();
        for endpoint in &endpoints {
            if let Some(peer) = self.peers.get_mut(endpoint) {
                peer.wanted.member = false;
            }
            self.drop_owner(id);
            self.close_peer_if_unwanted(endpoint);
        }
        self.drop_inbound_from(id);
    }

    /// Closes the inbound connections of node `id` (their subscriptions go with them).
    fn drop_inbound_from(&mut self, id: &NodeId) {
        let inbound: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.direction == Direction::Inbound && c.remote.node_id() == Some(id))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in inbound {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.link.close();
                c.dirty = true;
            }
        }
    }

    /// Closes and forgets the peer at `endpoint` when nothing wants it any more.
    fn close_peer_if_unwanted(&mut self, endpoint: &Endpoint) {
        let Some(peer) = self.peers.get(endpoint) else { return };
        if peer.wanted.any() {
            return;
        }
        if let Some(conn) = peer.conn
            && let Some(c) = self.conns.get_mut(&conn)
        {
            c.link.close();
            c.dirty = true;
        }
        self.peers.remove(endpoint);
    }

    /// Sends a request to the node at `endpoint` on our outbound connection to it (dialing if
    /// needed; queued in the link until the handshake is done).
    fn send_request(&mut self, endpoint: &Endpoint, command: SpotCommand) -> bool {
        self.ensure_connection(endpoint);
        let Some(conn) = self.peers.get(endpoint).and_then(|p| p.conn) else { return false };
        let Some(c) = self.conns.get_mut(&conn) else { return false };
        let message = Message::from_frames(command.encode(Envelope::Bare));
        c.dirty = true;
        c.link.send_control(message).is_ok()
    }

    /// Finishes operations whose deadline passed.
    fn expire_operations(&mut self, now: Instant) {
        let due: Vec<OperationId> = self
            .ops
            .iter()
            .filter(|(_, op)| op.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for op_id in due {
            let Some(mut op) = self.ops.remove(&op_id) else { continue };
            for endpoint in std::mem::take(&mut op.waiting) {
                let connected = self
                    .peers
                    .get(&endpoint)
                    .and_then(|p| p.conn)
                    .and_then(|conn| self.conns.get(&conn))
                    .is_some_and(|c| !matches!(c.remote, Remote::Pending));
                let error = if connected {
                    NodeError::Timeout
                } else {
                    NodeError::HostUnreachable(endpoint.to_string())
                };
                op.report.failed.push((endpoint, error));
            }
            self.finish_operation(op_id, op);
        }
    }

    /// Reports a finished operation.
    fn finish_operation(&mut self, op_id: OperationId, op: Operation) {
        let result = if op.single {
            match op.report.failed.first() {
                Some((_, error)) => Err(error.clone()),
                None => Ok(op.report),
            }
        } else if op.report.is_success() {
            Ok(op.report)
        } else {
            Err(NodeError::Timeout)
        };
        self.events.push_back(NodeEvent::OperationFinished { op: op_id, result });
    }

    /// A QUERY_RESP from `endpoint` arrived: every operation waiting for it has its answer.
    fn peer_synced(&mut self, endpoint: &Endpoint) {
        let mut done = Vec::new();
        for (id, op) in self.ops.iter_mut() {
            if op.waiting.remove(endpoint) {
                op.report.synced.push(endpoint.clone());
                if op.waiting.is_empty() {
                    done.push(*id);
                }
            }
        }
        for op_id in done {
            if let Some(op) = self.ops.remove(&op_id) {
                self.finish_operation(op_id, op);
            }
        }
    }
}

/// A node id drawn from the seed, for a node with nothing to derive one from.
fn random_node_id(rng: &mut SpotRng) -> NodeId {
    let text = format!("node-{:016x}", rng.next_u64());
    NodeId::copy_from_str(&text, &crate::Limits::default()).expect("a 21-byte ASCII id is valid")
}

/// Moves what `c`'s link has to write into `outputs` as [`NodeOutput::Write`]s, while the
/// connection is up and fewer than `window` bytes are unconfirmed.
fn hand_out_writes(
    id: ConnectionId,
    c: &mut Connection,
    window: usize,
    outputs: &mut VecDeque<NodeOutput>,
) {
    while c.connected && c.in_flight < window {
        let Some(data) = c.link.poll_transmit() else { break };
        c.in_flight = c.in_flight.saturating_add(data.len());
        outputs.push_back(NodeOutput::Write { conn: id, data });
    }
}
