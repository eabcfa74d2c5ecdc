//! The driver task: it owns the [`Node`] and every socket, and makes no protocol decision.
//!
//! Each wake-up takes a batch of inputs (user calls, socket events, the timer), hands them to
//! the node with the current time, then drains the node's outputs (connects, writes, closes,
//! datagrams), its deliveries and its events, and re-arms its one timer from `poll_timeout`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use spot_proto::node::{ConnectionId, Node, NodeEvent, NodeOutput, OperationId, SyncReport};
use spot_proto::swim::MembershipEvent;
use spot_proto::wire::spot::NodeId;
use spot_proto::{Endpoint, Host, Instant, NodeError};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::bind::Bound;
use crate::clock::Clock;
use crate::error::BindError;
use crate::inproc;
use crate::io::{self, ConnectionIo, IoEvent, READ_CHUNK, Transport};
use crate::stats::Counters;
use crate::stream::{Feed, Message, Offer};

/// A user call, run on the driver task with the node at hand.
pub(crate) type Call = Box<dyn FnOnce(&mut Driver) + Send>;

/// Inputs taken per wake-up before outputs are drained.
const BATCH: usize = 256;
/// Bytes of a read handed to the node at once (zero-copy slices of the read buffer).
const FEED_SLICE: usize = 8 * 1024;
/// The slice while a stream is more than half full.
const PRESSED_SLICE: usize = 1024;
/// Slots of the channel the socket tasks feed (readers wait when it is full).
pub(crate) const IO_CHANNEL: usize = 1024;
/// Time allowed beyond the membership's leave grace for the Left event at shutdown.
const LEAVE_SLACK: Duration = Duration::from_millis(500);

/// Tunables of the driver (not of the protocol: those are in `NodeConfig`).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) stream_capacity: usize,
    pub(crate) inbox_capacity: usize,
    pub(crate) event_capacity: usize,
    pub(crate) max_pending_write: usize,
    pub(crate) connect_timeout: Duration,
}

/// What the node is, as the handles see it without asking the driver task.
#[derive(Clone, Debug)]
pub(crate) struct NodeInfo {
    pub(crate) id: NodeId,
    pub(crate) advertised: Option<Endpoint>,
    pub(crate) bound: Vec<Endpoint>,
}

/// State shared by the driver task and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) info: RwLock<NodeInfo>,
    pub(crate) counters: Counters,
    pub(crate) settings: Settings,
}

/// A graceful shutdown in progress.
#[derive(Debug)]
struct Shutdown {
    deadline: tokio::time::Instant,
    waiters: Vec<oneshot::Sender<()>>,
    done: bool,
}

/// What woke the driver task.
enum Wake {
    Call(Option<Call>),
    Io(Option<IoEvent>),
    Timer,
}

/// The driver task's state.
pub(crate) struct Driver {
    pub(crate) node: Node,
    clock: Clock,
    pub(crate) shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Call>,
    commands_open: bool,
    io_events: mpsc::Receiver<IoEvent>,
    io_sender: mpsc::Sender<IoEvent>,
    /// Inputs the driver produced itself (inproc dials), fed before the next drain ends.
    deferred: VecDeque<IoEvent>,
    conns: HashMap<ConnectionId, ConnectionIo>,
    udp: Vec<Arc<UdpSocket>>,
    inproc_names: Vec<String>,
    /// Listeners, UDP receivers, dialers and readers: aborted when the driver stops.
    tasks: JoinSet<()>,
    /// Exact subscriptions' streams, by topic.
    pub(crate) exact: HashMap<String, Feed<Message>>,
    /// Pattern subscriptions' streams, in the node's pattern order.
    pub(crate) patterns: Vec<Feed<Message>>,
    inbox: Feed<Message>,
    pub(crate) events: Vec<Feed<NodeEvent>>,
    pub(crate) membership_events: Vec<Feed<MembershipEvent>>,
    pub(crate) operations: HashMap<OperationId, oneshot::Sender<Result<SyncReport, NodeError>>>,
    pub(crate) join_waiters: Vec<oneshot::Sender<Result<(), NodeError>>>,
    pub(crate) leave_waiters: Vec<oneshot::Sender<Result<(), NodeError>>>,
    shutdown: Option<Shutdown>,
    /// A stream filled past half, or a batch hit its bound: let other tasks (the readers of
    /// the streams) run before the next wake-up.
    yield_soon: bool,
    /// The rest of a read, held back while a stream's reader catches up (fed before any other
    /// input, so bytes stay in order).
    paused_read: Option<(ConnectionId, BytesMut)>,
    /// The last deliveries left a stream more than half full.
    pressed: bool,
}

impl Driver {
    /// A driver for `node`; `inbox` feeds [`crate::SpotNode::recv`].
    pub(crate) fn new(
        node: Node,
        clock: Clock,
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Call>,
        inbox: Feed<Message>,
    ) -> Driver {
        let (io_sender, io_events) = mpsc::channel(IO_CHANNEL);
        Driver {
            node,
            clock,
            shared,
            commands,
            commands_open: true,
            io_events,
            io_sender,
            deferred: VecDeque::new(),
            conns: HashMap::new(),
            udp: Vec::new(),
            inproc_names: Vec::new(),
            tasks: JoinSet::new(),
            exact: HashMap::new(),
            patterns: Vec::new(),
            inbox,
            events: Vec::new(),
            membership_events: Vec::new(),
            operations: HashMap::new(),
            join_waiters: Vec::new(),
            leave_waiters: Vec::new(),
            shutdown: None,
            yield_soon: false,
            paused_read: None,
            pressed: false,
        }
    }

    /// Now, on the node's clock.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Hands bound sockets to the node and starts their tasks.
    pub(crate) fn attach(&mut self, bound: Bound) -> Result<Endpoint, BindError> {
        let now = self.clock.now();
        let endpoint = bound.endpoint().clone();
        match bound {
            Bound::Tcp { endpoint, listener, udp } => {
                self.node.bind(now, endpoint)?;
                let udp = Arc::new(udp);
                self.tasks.spawn(io::accept_loop(listener, self.io_sender.clone()));
                self.tasks.spawn(io::udp_loop(Arc::clone(&udp), self.io_sender.clone()));
                self.udp.push(udp);
            }
            Bound::Inproc { endpoint, name } => {
                if !inproc::register(&name, self.io_sender.clone()) {
                    return Err(BindError::InprocNameTaken(name));
                }
                if let Err(error) = self.node.bind(now, endpoint) {
                    inproc::unregister(&name, &self.io_sender);
                    return Err(error.into());
                }
                self.inproc_names.push(name);
            }
        }
        self.refresh_info();
        self.drain();
        Ok(endpoint)
    }

    /// Publishes the node's identity to the handles.
    fn refresh_info(&self) {
        let info = NodeInfo {
            id: self.node.id().clone(),
            advertised: self.node.advertised().cloned(),
            bound: self.node.bound().cloned().collect(),
        };
        *self.shared.info.write().unwrap_or_else(PoisonError::into_inner) = info;
    }

    /// Starts a graceful shutdown (leave the cluster, then stop); `waiter` hears when it is done.
    pub(crate) fn begin_shutdown(&mut self, waiter: Option<oneshot::Sender<()>>) {
        if let Some(shutdown) = self.shutdown.as_mut() {
            shutdown.waiters.extend(waiter);
            return;
        }
        let now = self.clock.now();
        let joined = self.node.membership().is_some_and(|m| m.is_joined());
        let leaving = joined && self.node.leave(now).is_ok();
        let grace = if leaving {
            self.node.config().swim.leave_grace + LEAVE_SLACK
        } else {
            Duration::ZERO
        };
        self.shutdown = Some(Shutdown {
            deadline: tokio::time::Instant::now() + grace,
            waiters: waiter.into_iter().collect(),
            done: !leaving,
        });
    }

    /// The driver task's loop; returns when the node has shut down.
    pub(crate) async fn run(mut self) {
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed: Option<tokio::time::Instant> = None;
        loop {
            if self.shutdown.as_ref().is_some_and(|s| s.done) {
                break;
            }
            if let Some((conn, data)) = self.paused_read.take() {
                self.feed(conn, data);
                self.take_batch();
                self.drain();
                if std::mem::take(&mut self.yield_soon) {
                    tokio::task::yield_now().await;
                }
                continue;
            }
            let deadline = self.next_deadline();
            if deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
                self.on_timer();
                self.drain();
                continue;
            }
            if let Some(at) = deadline
                && armed != Some(at)
            {
                timer.as_mut().reset(at);
                armed = Some(at);
            }
            let wake = tokio::select! {
                call = self.commands.recv(), if self.commands_open => Wake::Call(call),
                event = self.io_events.recv() => Wake::Io(event),
                () = &mut timer, if deadline.is_some() => Wake::Timer,
            };
            match wake {
                Wake::Call(Some(call)) => call(&mut self),
                Wake::Call(None) => self.handles_gone(),
                Wake::Io(Some(event)) => self.on_io(event),
                Wake::Io(None) => {}
                Wake::Timer => {
                    armed = None;
                    self.on_timer();
                }
            }
            self.take_batch();
            self.drain();
            if std::mem::take(&mut self.yield_soon) {
                tokio::task::yield_now().await;
            }
        }
        self.teardown().await;
    }

    /// More inputs that are ready now, up to [`BATCH`], before one drain; stops early when a
    /// stream fills up, so its reader gets a turn.
    fn take_batch(&mut self) {
        for taken in 0..=BATCH {
            if taken == BATCH || self.yield_soon || self.paused_read.is_some() {
                self.yield_soon = true;
                break;
            }
            let mut progressed = false;
            if self.commands_open {
                match self.commands.try_recv() {
                    Ok(call) => {
                        call(self);
                        progressed = true;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => self.handles_gone(),
                    Err(mpsc::error::TryRecvError::Empty) => {}
                }
            }
            if let Ok(event) = self.io_events.try_recv() {
                self.on_io(event);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }

    /// The last handle was dropped: shut down gracefully in the background.
    fn handles_gone(&mut self) {
        self.commands_open = false;
        self.begin_shutdown(None);
    }

    fn next_deadline(&self) -> Option<tokio::time::Instant> {
        let node = self.node.poll_timeout().map(|t| self.clock.deadline(t));
        let stop = self.shutdown.as_ref().map(|s| s.deadline);
        match (node, stop) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_timer(&mut self) {
        let now = self.clock.now();
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
        }
        if let Some(shutdown) = self.shutdown.as_mut()
            && shutdown.deadline <= tokio::time::Instant::now()
        {
            shutdown.done = true;
        }
    }

    /// One socket event, handed to the node.
    fn on_io(&mut self, event: IoEvent) {
        let now = self.clock.now();
        match event {
            IoEvent::Accepted(transport) => {
                let conn = self.node.handle_accepted(now);
                let io = ConnectionIo::start(conn, transport, &self.io_sender, &mut self.tasks);
                self.conns.insert(conn, io);
            }
            IoEvent::Connected(conn, transport) => {
                let io = ConnectionIo::start(conn, transport, &self.io_sender, &mut self.tasks);
                self.conns.insert(conn, io);
                if !self.node.handle_connected(now, conn)
                    && let Some(io) = self.conns.remove(&conn)
                {
                    // The node gave up on this dial before it connected.
                    io.abort();
                }
            }
            IoEvent::ConnectFailed(conn) => self.node.handle_connect_failed(now, conn),
            IoEvent::Read(conn, data) => self.feed(conn, data),
            IoEvent::Sent(conn, bytes) => self.node.handle_sent(now, conn, bytes),
            IoEvent::Closed(conn) => {
                if let Some(io) = self.conns.remove(&conn) {
                    io.close();
                    self.node.handle_closed(now, conn);
                }
            }
            IoEvent::Datagram(from, payload) => self.node.handle_datagram(now, from, payload),
        }
    }

    /// Hands read bytes to the node in slices, taking the deliveries after each: the node's
    /// receive high-water mark then counts what waits for the application, not what one large
    /// read held. When a stream fills past half, the rest waits in `paused_read` until the
    /// stream's reader had a turn.
    fn feed(&mut self, conn: ConnectionId, mut data: BytesMut) {
        while self.conns.contains_key(&conn) && !data.is_empty() {
            // A stream's reader takes about 128 items per turn (tokio's budget): while one is
            // filling, hand the node less at a time.
            let size = if std::mem::take(&mut self.pressed) { PRESSED_SLICE } else { FEED_SLICE };
            let slice = data.split_to(data.len().min(size));
            let now = self.clock.now();
            self.node.handle_read(now, conn, slice);
            self.dispatch_deliveries();
            if self.pressed {
                self.yield_soon = true;
                if !data.is_empty() {
                    self.paused_read = Some((conn, data));
                }
                return;
            }
        }
    }

    /// Drains the node: network actions, then deliveries and events.
    pub(crate) fn drain(&mut self) {
        loop {
            while let Some(output) = self.node.poll_output() {
                self.on_output(output);
            }
            match self.deferred.pop_front() {
                Some(event) => self.on_io(event),
                None => break,
            }
        }
        self.dispatch_deliveries();
        self.dispatch_events();
        while self.tasks.try_join_next().is_some() {}
    }

    fn on_output(&mut self, output: NodeOutput) {
        match output {
            NodeOutput::Connect { conn, to } => self.dial(conn, to),
            NodeOutput::Write { conn, data } => {
                let Some(io) = self.conns.get(&conn) else { return };
                if io.write(data) > self.shared.settings.max_pending_write {
                    // The peer does not read: cut it rather than queue without bound.
                    if let Some(io) = self.conns.remove(&conn) {
                        io.abort();
                    }
                    Counters::bump(&self.shared.counters.slow_connections_cut);
                    tracing::warn!(conn = conn.0, "peer is not reading: connection cut");
                    let now = self.clock.now();
                    self.node.handle_closed(now, conn);
                }
            }
            NodeOutput::Close { conn } => {
                if let Some(io) = self.conns.remove(&conn) {
                    io.close();
                }
            }
            NodeOutput::Datagram { to, payload } => self.send_datagram(&to, payload),
        }
    }

    fn dial(&mut self, conn: ConnectionId, to: Endpoint) {
        match to {
            Endpoint::Tcp { .. } => {
                let timeout = self.shared.settings.connect_timeout;
                self.tasks.spawn(io::dial_tcp(conn, to, timeout, self.io_sender.clone()));
            }
            Endpoint::Inproc(name) => {
                let (ours, theirs) = tokio::io::duplex(READ_CHUNK);
                let accepted = inproc::lookup(&name).is_some_and(|listener| {
                    listener.try_send(IoEvent::Accepted(Transport::Inproc(theirs))).is_ok()
                });
                self.deferred.push_back(if accepted {
                    IoEvent::Connected(conn, Transport::Inproc(ours))
                } else {
                    IoEvent::ConnectFailed(conn)
                });
            }
        }
    }

    fn send_datagram(&mut self, to: &Endpoint, payload: Bytes) {
        let sent = match to {
            Endpoint::Inproc(name) => match (inproc::lookup(name), self.inproc_source()) {
                (Some(listener), Some(from)) => {
                    listener.try_send(IoEvent::Datagram(from, payload)).is_ok()
                }
                _ => false,
            },
            Endpoint::Tcp { host: Host::Ip(ip), port } => {
                let advertised = self.node.advertised().and_then(Endpoint::port);
                io::udp_socket_for(&self.udp, *ip, advertised)
                    .is_some_and(|socket| socket.try_send_to(&payload, (*ip, *port).into()).is_ok())
            }
            Endpoint::Tcp { host: Host::Name(name), port } => {
                let (name, port, sockets) = (name.clone(), *port, self.udp.clone());
                let advertised = self.node.advertised().and_then(Endpoint::port);
                self.tasks.spawn(async move {
                    let Ok(mut addresses) = tokio::net::lookup_host((name.as_str(), port)).await
                    else {
                        return;
                    };
                    if let Some(address) = addresses.next()
                        && let Some(socket) = io::udp_socket_for(&sockets, address.ip(), advertised)
                    {
                        let _ = socket.send_to(&payload, address).await;
                    }
                });
                true
            }
            Endpoint::Tcp { host: Host::Any, .. } => false,
        };
        if !sent {
            Counters::bump(&self.shared.counters.datagrams_dropped);
        }
    }

    /// The endpoint our inproc datagrams come from.
    fn inproc_source(&self) -> Option<Endpoint> {
        match self.node.advertised() {
            Some(advertised @ Endpoint::Inproc(_)) => Some(advertised.clone()),
            _ => self.inproc_names.first().map(|name| Endpoint::Inproc(name.clone())),
        }
    }

    /// Routes every delivery to the streams of the subscriptions it matched (once each); what
    /// matched a subscription without a live stream goes once to the `recv` queue.
    fn dispatch_deliveries(&mut self) {
        while let Some(delivery) = self.node.recv() {
            let message = Message { topic: delivery.topic, payload: delivery.payload };
            let mut orphan = !delivery.exact && delivery.patterns.is_empty();
            let counters = &self.shared.counters;
            if delivery.exact {
                let feed = self.exact.get(message.topic.as_str());
                orphan |= !offer_to(feed, &message, counters, &mut self.pressed);
            }
            for index in delivery.patterns {
                let feed = self.patterns.get(index);
                orphan |= !offer_to(feed, &message, counters, &mut self.pressed);
            }
            if orphan {
                match self.inbox.offer(message) {
                    Offer::Dropped => Counters::bump(&self.shared.counters.inbox_dropped),
                    Offer::Queued => self.pressed |= self.inbox.is_pressed(),
                    Offer::Closed => {}
                }
            }
        }
    }

    /// Finishes waiting calls and feeds the event streams.
    fn dispatch_events(&mut self) {
        let mut offered = false;
        while let Some(event) = self.node.poll_event() {
            if let NodeEvent::OperationFinished { op, result } = event {
                if let Some(waiter) = self.operations.remove(&op) {
                    let _ = waiter.send(result);
                }
                continue;
            }
            if let NodeEvent::Membership(membership) = &event {
                self.on_membership(membership);
                for feed in &self.membership_events {
                    if feed.offer(membership.clone()) == Offer::Dropped {
                        Counters::bump(&self.shared.counters.events_dropped);
                    }
                }
            }
            for feed in &self.events {
                if feed.offer(event.clone()) == Offer::Dropped {
                    Counters::bump(&self.shared.counters.events_dropped);
                }
            }
            offered = true;
        }
        if offered {
            self.events.retain(|f| !f.is_closed());
            self.membership_events.retain(|f| !f.is_closed());
        }
    }

    fn on_membership(&mut self, event: &MembershipEvent) {
        match event {
            MembershipEvent::Joined => {
                self.refresh_info();
                for waiter in self.join_waiters.drain(..) {
                    let _ = waiter.send(Ok(()));
                }
            }
            MembershipEvent::JoinFailed { reason } => {
                for waiter in self.join_waiters.drain(..) {
                    let _ = waiter.send(Err(reason.clone()));
                }
            }
            MembershipEvent::Left => {
                for waiter in self.leave_waiters.drain(..) {
                    let _ = waiter.send(Ok(()));
                }
                if let Some(shutdown) = self.shutdown.as_mut() {
                    shutdown.done = true;
                }
            }
            _ => {}
        }
    }

    /// Closes every connection and socket, frees the inproc names, ends the streams and tells
    /// the waiters.
    async fn teardown(mut self) {
        for (_, io) in self.conns.drain() {
            io.close();
        }
        self.tasks.abort_all();
        // Wait until the listeners and UDP sockets are really closed, so that the port can be
        // bound again as soon as `shutdown` returns.
        while self.tasks.join_next().await.is_some() {}
        self.udp.clear();
        for name in &self.inproc_names {
            inproc::unregister(name, &self.io_sender);
        }
        let waiters = self.shutdown.take().map(|s| s.waiters).unwrap_or_default();
        drop(self);
        for waiter in waiters {
            let _ = waiter.send(());
        }
    }
}

/// Offers a message to a subscription's stream; `false` if it has no live stream. Notes in
/// `pressed` when the stream is filling up.
fn offer_to(
    feed: Option<&Feed<Message>>,
    message: &Message,
    counters: &Counters,
    pressed: &mut bool,
) -> bool {
    let Some(feed) = feed.filter(|f| !f.is_closed()) else { return false };
    match feed.offer(message.clone()) {
        Offer::Queued => {
            *pressed |= feed.is_pressed();
            true
        }
        Offer::Dropped => {
            Counters::bump(&counters.stream_dropped);
            *pressed = true;
            true
        }
        Offer::Closed => false,
    }
}
