//! [`SpotLoop`]: a node whose sockets live in the caller's `mio::Poll`.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, Shutdown};
use std::ops::Range;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use mio::event::Event;
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};
use spot_proto::host::defaults::{FEED_SLICE, LINGER, MAX_DATAGRAM, READ_CHUNK};
use spot_proto::host::{Message, endpoint_of, pick_udp_socket};
use spot_proto::node::{ConnectionId, Node, NodeConfig, NodeEvent, NodeOutput};
use spot_proto::{Endpoint, Instant};

use crate::bind::{self, Bound};
use crate::clock::Clock;
use crate::error::BindError;
use crate::stats::DriverStats;

/// Chunks one vectored write hands the socket at most.
const MAX_IOVECS: usize = 64;
/// The write window the driver sets when the config has none: the node hands out at most this
/// many unconfirmed bytes per connection, and keeps the rest where its high-water mark applies.
const DEFAULT_WRITE_WINDOW: usize = 1 << 20;

/// What a token of the range stands for.
#[derive(Clone, Copy, Debug)]
enum Source {
    Listener(usize),
    Udp(usize),
    Conn(ConnectionId),
}

/// One TCP connection.
#[derive(Debug)]
struct Conn {
    token: Token,
    stream: TcpStream,
    /// Dialed and not yet connected: give up at this deadline.
    connecting: Option<std::time::Instant>,
    /// Chunks not yet written, in order.
    out: VecDeque<Bytes>,
    /// The node asked to close once `out` is written; cut at this deadline if the peer does
    /// not read it by then.
    closing: Option<std::time::Instant>,
}

/// A SPOT node whose TCP listener, UDP socket (same port number) and connections are
/// registered in the caller's [`mio::Poll`], under tokens from a range the caller chooses.
///
/// The caller's loop:
///
/// 1. `poll.poll(&mut events, loop_timeout)` with the timeout bounded by
///    [`SpotLoop::next_deadline`];
/// 2. for each event whose token [`SpotLoop::owns`], [`SpotLoop::handle_event`];
/// 3. [`SpotLoop::handle_timeout`] (cheap when nothing is due);
/// 4. take messages with [`SpotLoop::recv`] and events with [`SpotLoop::poll_event`].
///
/// The verbs ([`SpotLoop::with_node`], [`SpotLoop::publish`], ...) act at once and drain the
/// node's outputs. The loop never blocks except in name resolution of `tcp://name:port`
/// endpoints (use IP addresses in latency-sensitive loops). `inproc://` is not supported by this
/// driver ([`BindError::Unsupported`]).
#[derive(Debug)]
pub struct SpotLoop {
    node: Node,
    clock: Clock,
    registry: Registry,
    tokens: Range<usize>,
    /// The lowest token never handed out yet.
    next_token: usize,
    /// Tokens handed back, reused first.
    free_tokens: Vec<usize>,
    sources: HashMap<Token, Source>,
    listeners: Vec<(Token, TcpListener)>,
    udp: Vec<(Token, UdpSocket)>,
    conns: HashMap<ConnectionId, Conn>,
    /// Connect answers the driver made itself (undialable endpoints), fed at the next drain.
    failed_connects: VecDeque<ConnectionId>,
    read_buffer: BytesMut,
    datagram_buffer: Vec<u8>,
    connect_timeout: Duration,
    stats: DriverStats,
}

impl SpotLoop {
    /// A node with `config` whose sockets will be registered in `registry` under tokens in
    /// `tokens` (two per bound endpoint, one per connection). Nothing is bound yet.
    pub fn new(config: NodeConfig, registry: &Registry, tokens: Range<usize>) -> io::Result<Self> {
        let mut config = config;
        if config.write_window.is_none() {
            config.write_window = Some(DEFAULT_WRITE_WINDOW);
        }
        let clock = Clock::start();
        let connect_timeout = config.handshake_timeout;
        let node = Node::new(config, clock.now());
        Ok(SpotLoop {
            node,
            clock,
            registry: registry.try_clone()?,
            next_token: tokens.start,
            free_tokens: Vec::new(),
            tokens,
            sources: HashMap::new(),
            listeners: Vec::new(),
            udp: Vec::new(),
            conns: HashMap::new(),
            failed_connects: VecDeque::new(),
            read_buffer: BytesMut::new(),
            datagram_buffer: vec![0; MAX_DATAGRAM],
            connect_timeout,
            stats: DriverStats::default(),
        })
    }

    /// Binds `tcp://host:port` (a TCP listener and a UDP socket on the same port number; port 0
    /// picks a free one); returns the endpoint with its real port. The first bind is advertised
    /// unless the config names an advertise endpoint.
    pub fn bind(&mut self, endpoint: &Endpoint) -> Result<Endpoint, BindError> {
        let Bound { endpoint, mut listener, mut udp } = bind::bind(endpoint)?;
        if self.free_tokens.len() + (self.tokens.end - self.next_token) < 2 {
            return Err(BindError::TokensExhausted);
        }
        let now = self.clock.now();
        self.node.bind(now, endpoint.clone())?;
        let io_error = |source| BindError::Io { endpoint: endpoint.clone(), source };
        let listen_token = self.take_token().ok_or(BindError::TokensExhausted)?;
        self.registry
            .register(&mut listener, listen_token, Interest::READABLE)
            .map_err(io_error)?;
        let udp_token = self.take_token().ok_or(BindError::TokensExhausted)?;
        self.registry.register(&mut udp, udp_token, Interest::READABLE).map_err(io_error)?;
        self.sources.insert(listen_token, Source::Listener(self.listeners.len()));
        self.sources.insert(udp_token, Source::Udp(self.udp.len()));
        self.listeners.push((listen_token, listener));
        self.udp.push((udp_token, udp));
        self.drain();
        Ok(endpoint)
    }

    /// Whether `token` is in this driver's range (hand such events to
    /// [`SpotLoop::handle_event`]).
    pub fn owns(&self, token: Token) -> bool {
        self.tokens.contains(&token.0)
    }

    /// The sans-IO node (read-only: identity, topics, membership, stats).
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Now, on the node's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Runs a verb on the node with the current time, then drains its outputs. Every verb of
    /// [`Node`] is reachable this way; the common ones have their own methods.
    pub fn with_node<R>(&mut self, verb: impl FnOnce(&mut Node, Instant) -> R) -> R {
        let now = self.clock.now();
        let result = verb(&mut self.node, now);
        self.drain();
        result
    }

    /// The driver's own counters.
    pub fn driver_stats(&self) -> DriverStats {
        self.stats
    }

    /// When [`SpotLoop::handle_timeout`] must run next (bound the caller's poll timeout by it).
    pub fn next_deadline(&self) -> Option<std::time::Instant> {
        let node = self.node.poll_timeout().map(|t| self.clock.deadline(t));
        let connects = self.conns.values().filter_map(|c| c.connecting.or(c.closing)).min();
        match (node, connects) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A spot-proto instant as a system deadline on this loop's clock.
    pub(crate) fn deadline_of(&self, at: Instant) -> std::time::Instant {
        self.clock.deadline(at)
    }

    /// How long the caller's poll may wait: until [`SpotLoop::next_deadline`], `None` if
    /// nothing is due.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.next_deadline().map(|d| d.saturating_duration_since(std::time::Instant::now()))
    }

    /// Runs what is due: the node's timer and dials that took too long.
    pub fn handle_timeout(&mut self) {
        let wall = std::time::Instant::now();
        let late: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.connecting.is_some_and(|d| d <= wall))
            .map(|(id, _)| *id)
            .collect();
        for conn in late {
            self.drop_conn(conn);
            let now = self.clock.now();
            self.node.handle_connect_failed(now, conn);
        }
        // Closed by the node, and the peer did not take the rest in time: cut (the node
        // forgot these already).
        let lingering: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.closing.is_some_and(|d| d <= wall))
            .map(|(id, _)| *id)
            .collect();
        for conn in lingering {
            self.drop_conn(conn);
        }
        let now = self.clock.now();
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
        }
        self.drain();
    }

    /// Handles one event of the caller's poll whose token this driver [`owns`](Self::owns)
    /// (events of tokens it no longer uses are ignored).
    pub fn handle_event(&mut self, event: &Event) {
        match self.sources.get(&event.token()).copied() {
            Some(Source::Listener(index)) => self.accept(index),
            Some(Source::Udp(index)) => self.receive_datagrams(index),
            Some(Source::Conn(conn)) => self.on_conn_event(conn, event),
            None => {}
        }
        self.drain();
    }

    /// The next delivered message, if one is waiting.
    pub fn recv(&mut self) -> Option<Message> {
        self.node.recv().map(Message::from)
    }

    /// The next node event (operations finished, topics found and lost, peers, membership).
    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.node.poll_event()
    }

    /// Publishes on a topic (see [`Node::publish`]).
    pub fn publish(
        &mut self,
        topic: &str,
        payload: impl Into<Bytes>,
    ) -> Result<(), spot_proto::NodeError> {
        let payload = payload.into();
        self.with_node(|node, now| node.publish(now, topic, payload))
    }

    /// Creates a LOCAL topic (see [`Node::topic_create`]).
    pub fn topic_create(&mut self, topic: &str) -> Result<(), spot_proto::NodeError> {
        self.with_node(|node, now| node.topic_create(now, topic))
    }

    /// Subscribes to a topic by name (see [`Node::subscribe`]); messages come from
    /// [`SpotLoop::recv`].
    pub fn subscribe(&mut self, topic: &str) -> Result<(), spot_proto::NodeError> {
        self.with_node(|node, now| node.subscribe(now, topic))
    }

    /// Closes every connection and deregisters every socket (no graceful leave: call
    /// `leave` through [`SpotLoop::with_node`] and keep polling for the grace period first).
    pub fn close(&mut self) {
        let conns: Vec<ConnectionId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.drop_conn(conn);
        }
        for (_, mut listener) in self.listeners.drain(..) {
            let _ = self.registry.deregister(&mut listener);
        }
        for (_, mut udp) in self.udp.drain(..) {
            let _ = self.registry.deregister(&mut udp);
        }
        self.sources.clear();
        self.free_tokens.clear();
        self.next_token = self.tokens.start;
    }

    // ------------------------------------------------------------------ sockets

    fn take_token(&mut self) -> Option<Token> {
        if let Some(token) = self.free_tokens.pop() {
            return Some(Token(token));
        }
        if self.next_token < self.tokens.end {
            self.next_token += 1;
            return Some(Token(self.next_token - 1));
        }
        None
    }

    fn accept(&mut self, index: usize) {
        loop {
            let Some((_, listener)) = self.listeners.get(index) else { return };
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let Some(token) = self.take_token() else {
                        self.stats.connections_refused += 1;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if self.registry.register(&mut stream, token, interest).is_err() {
                        self.free_tokens.push(token.0);
                        continue;
                    }
                    let now = self.clock.now();
                    let conn = self.node.handle_accepted(now);
                    self.sources.insert(token, Source::Conn(conn));
                    let io = Conn {
                        token,
                        stream,
                        connecting: None,
                        out: VecDeque::new(),
                        closing: None,
                    };
                    self.conns.insert(conn, io);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    return;
                }
            }
        }
    }

    fn receive_datagrams(&mut self, index: usize) {
        loop {
            let Some((_, socket)) = self.udp.get(index) else { return };
            match socket.recv_from(&mut self.datagram_buffer) {
                Ok((len, from)) => {
                    let datagram = Bytes::copy_from_slice(&self.datagram_buffer[..len]);
                    let now = self.clock.now();
                    self.node.handle_datagram(now, endpoint_of(from), datagram);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    tracing::debug!(%error, "UDP receive failed");
                    return;
                }
            }
        }
    }

    fn on_conn_event(&mut self, conn: ConnectionId, event: &Event) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.connecting.is_some() {
            if let Ok(Some(_)) | Err(_) = c.stream.take_error() {
                self.connect_failed(conn);
                return;
            }
            match c.stream.peer_addr() {
                Ok(_) => {
                    c.connecting = None;
                    let now = self.clock.now();
                    if !self.node.handle_connected(now, conn) {
                        // The node gave up on this dial before it connected.
                        self.drop_conn(conn);
                        return;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::NotConnected && !event.is_error() => {
                    return;
                }
                Err(_) => {
                    self.connect_failed(conn);
                    return;
                }
            }
        }
        if event.is_writable() {
            self.flush(conn);
        }
        if event.is_readable() || event.is_read_closed() {
            self.read(conn);
        }
    }

    fn connect_failed(&mut self, conn: ConnectionId) {
        self.drop_conn(conn);
        let now = self.clock.now();
        self.node.handle_connect_failed(now, conn);
    }

    /// Reads until the socket would block, handing the bytes to the node in slices.
    fn read(&mut self, conn: ConnectionId) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else { return };
            if self.read_buffer.len() < READ_CHUNK / 8 {
                self.read_buffer.clear();
                self.read_buffer.resize(READ_CHUNK, 0);
            }
            match c.stream.read(&mut self.read_buffer[..]) {
                Ok(0) => return self.peer_closed(conn),
                Ok(read) => {
                    let mut data = self.read_buffer.split_to(read);
                    while !data.is_empty() && self.conns.contains_key(&conn) {
                        let slice = data.split_to(data.len().min(FEED_SLICE));
                        let now = self.clock.now();
                        self.node.handle_read(now, conn, slice);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.peer_closed(conn),
            }
        }
    }

    fn peer_closed(&mut self, conn: ConnectionId) {
        if self.drop_conn(conn) {
            let now = self.clock.now();
            self.node.handle_closed(now, conn);
        }
    }

    /// Writes what is queued until the socket would block; confirms written bytes to the node.
    fn flush(&mut self, conn: ConnectionId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.connecting.is_some() {
            return;
        }
        let mut written_total = 0;
        let mut failed = false;
        while !c.out.is_empty() {
            let slices: Vec<IoSlice<'_>> =
                c.out.iter().take(MAX_IOVECS).map(|chunk| IoSlice::new(chunk)).collect();
            match c.stream.write_vectored(&slices) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(mut written) => {
                    written_total += written;
                    while written > 0 {
                        let Some(front) = c.out.front_mut() else { break };
                        if front.len() <= written {
                            written -= front.len();
                            c.out.pop_front();
                        } else {
                            front.advance(written);
                            written = 0;
                        }
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let finished_closing = c.closing.is_some() && c.out.is_empty();
        if failed {
            return self.peer_closed(conn);
        }
        if finished_closing {
            let _ = c.stream.shutdown(Shutdown::Write);
            self.drop_conn(conn);
            return;
        }
        if written_total > 0 && c.closing.is_none() {
            let now = self.clock.now();
            self.node.handle_sent(now, conn, written_total);
        }
    }

    /// Deregisters and forgets a connection; `false` if it was gone already.
    fn drop_conn(&mut self, conn: ConnectionId) -> bool {
        let Some(mut c) = self.conns.remove(&conn) else { return false };
        let _ = self.registry.deregister(&mut c.stream);
        self.sources.remove(&c.token);
        self.free_tokens.push(c.token.0);
        true
    }

    fn dial(&mut self, conn: ConnectionId, to: &Endpoint) {
        let Some(address) = bind::address_of(to) else {
            self.failed_connects.push_back(conn);
            return;
        };
        let Some(token) = self.take_token() else {
            self.stats.connections_refused += 1;
            self.failed_connects.push_back(conn);
            return;
        };
        let mut stream = match TcpStream::connect(address) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(%to, %error, "connect failed");
                self.free_tokens.push(token.0);
                self.failed_connects.push_back(conn);
                return;
            }
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self.registry.register(&mut stream, token, interest).is_err() {
            self.free_tokens.push(token.0);
            self.failed_connects.push_back(conn);
            return;
        }
        let _ = stream.set_nodelay(true);
        self.sources.insert(token, Source::Conn(conn));
        let deadline = std::time::Instant::now() + self.connect_timeout;
        let io =
            Conn { token, stream, connecting: Some(deadline), out: VecDeque::new(), closing: None };
        self.conns.insert(conn, io);
    }

    fn send_datagram(&mut self, to: &Endpoint, payload: &[u8]) {
        let advertised = self.node.advertised().and_then(Endpoint::port);
        let sent = bind::address_of(to).is_some_and(|address| {
            udp_socket_for(&self.udp, address.ip(), advertised)
                .is_some_and(|socket| socket.send_to(payload, address).is_ok())
        });
        if !sent {
            self.stats.datagrams_dropped += 1;
        }
    }

    /// Drains the node's network outputs (and the driver's own connect answers) until none.
    fn drain(&mut self) {
        loop {
            while let Some(output) = self.node.poll_output() {
                match output {
                    NodeOutput::Connect { conn, to } => self.dial(conn, &to),
                    NodeOutput::Write { conn, data } => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.out.push_back(data);
                            self.flush(conn);
                        }
                    }
                    NodeOutput::Close { conn } => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.closing = Some(std::time::Instant::now() + LINGER);
                            self.flush(conn);
                        }
                    }
                    NodeOutput::Datagram { to, payload } => self.send_datagram(&to, &payload),
                }
            }
            let Some(conn) = self.failed_connects.pop_front() else { break };
            let now = self.clock.now();
            self.node.handle_connect_failed(now, conn);
        }
    }
}

/// The UDP socket to send to `to` from: one of the same address family, preferring the one on
/// `port` (the advertised port, which receivers take for our SWIM endpoint).
fn udp_socket_for(
    sockets: &[(Token, UdpSocket)],
    to: IpAddr,
    port: Option<u16>,
) -> Option<&UdpSocket> {
    pick_udp_socket(sockets.iter().map(|(_, s)| (s, s.local_addr().ok())), to, port)
}
