//! The driver task: it owns the [`Node`] and every socket, and makes no protocol decision.
//!
//! Each wake-up takes a batch of inputs (user calls, socket events, the timer), hands them to
//! the node with the current time, then drains the node's outputs (connects, writes, closes,
//! datagrams), its deliveries and its events, and re-arms its one timer from `poll_timeout`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use spot_proto::host::defaults::{FEED_SLICE, READ_CHUNK};
use spot_proto::host::endpoint::inproc_source;
use spot_proto::host::{
    DriverCounters, DriverSettings, EventFeeds, Message, NodeInfo, Pending, Reply, Subscriptions,
    Target,
};
use spot_proto::node::{ConnectionId, Node, NodeEvent, NodeOutput};
use spot_proto::swim::MembershipEvent;
use spot_proto::{Endpoint, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::bind::Bound;
use crate::clock::Clock;
use crate::error::BindError;
use crate::inproc;
use crate::io::{self, ConnectionIo, IoEvent, Transport};
use crate::stream::Feed;

/// A user call, run on the driver task with the node at hand.
pub(crate) type Call = Box<dyn FnOnce(&mut Driver) + Send>;

/// A one-shot answer to a waiting handle.
#[derive(Debug)]
pub(crate) struct Answer<T>(pub(crate) oneshot::Sender<T>);

impl<T> Reply<T> for Answer<T> {
    fn reply(self, value: T) {
        let _ = self.0.send(value);
    }
}

/// Who waits for what: operations, join and leave, shutdown.
pub(crate) type Waiters = Pending<
    Answer<Result<spot_proto::node::SyncReport, spot_proto::NodeError>>,
    Answer<Result<(), spot_proto::NodeError>>,
    Answer<()>,
>;

/// Inputs taken per wake-up before outputs are drained.
const BATCH: usize = 256;
/// The slice while a stream is more than half full.
const PRESSED_SLICE: usize = 1024;
/// Slots of the channel the socket tasks feed (readers wait when it is full).
pub(crate) const IO_CHANNEL: usize = 1024;

/// State shared by the driver task and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) info: RwLock<NodeInfo>,
    pub(crate) counters: DriverCounters,
    pub(crate) settings: DriverSettings,
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
    /// The subscriptions' streams.
    pub(crate) subscriptions: Subscriptions<Feed<Message>>,
    inbox: Feed<Message>,
    /// The event streams.
    pub(crate) event_feeds: EventFeeds<Feed<NodeEvent>, Feed<MembershipEvent>>,
    /// Who waits for what.
    pub(crate) pending: Waiters,
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
            subscriptions: Subscriptions::new(),
            inbox,
            event_feeds: EventFeeds::new(),
            pending: Pending::new(),
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
        let info = NodeInfo::of(&self.node);
        *self.shared.info.write().unwrap_or_else(PoisonError::into_inner) = info;
    }

    /// Starts a graceful shutdown (leave the cluster, then stop); `waiter` hears when it is done.
    pub(crate) fn begin_shutdown(&mut self, waiter: Option<oneshot::Sender<()>>) {
        let now = self.clock.now();
        self.pending.begin_shutdown(&mut self.node, now, waiter.map(Answer));
    }

    /// The driver task's loop; returns when the node has shut down.
    pub(crate) async fn run(mut self) {
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed: Option<tokio::time::Instant> = None;
        loop {
            if self.pending.is_stopped() {
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
        self.pending.deadline(self.node.poll_timeout()).map(|t| self.clock.deadline(t))
    }

    fn on_timer(&mut self) {
        let now = self.clock.now();
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
        }
        self.pending.on_time(now);
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
                    DriverCounters::bump(&self.shared.counters.slow_connections_cut);
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
        match Target::dial(&to) {
            Target::Addr(_) | Target::Resolve { .. } | Target::Unroutable => {
                let timeout = self.shared.settings.connect_timeout;
                self.tasks.spawn(io::dial_tcp(conn, to, timeout, self.io_sender.clone()));
            }
            Target::Inproc(name) => {
                let (ours, theirs) = tokio::io::duplex(READ_CHUNK);
                let accepted = inproc::lookup(name).is_some_and(|listener| {
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
        let advertised = self.node.advertised().and_then(Endpoint::port);
        let sent = match Target::dial(to) {
            Target::Inproc(name) => {
                let from = inproc_source(self.node.advertised(), &self.inproc_names);
                match (inproc::lookup(name), from) {
                    (Some(listener), Some(from)) => {
                        listener.try_send(IoEvent::Datagram(from, payload)).is_ok()
                    }
                    _ => false,
                }
            }
            Target::Addr(address) => io::udp_socket_for(&self.udp, address.ip(), advertised)
                .is_some_and(|socket| socket.try_send_to(&payload, address).is_ok()),
            Target::Resolve { name, port } => {
                let (name, sockets) = (name.to_owned(), self.udp.clone());
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
            Target::Unroutable => false,
        };
        if !sent {
            DriverCounters::bump(&self.shared.counters.datagrams_dropped);
        }
    }

    /// Routes every delivery to the streams of the subscriptions it matched (once each); what
    /// matched a subscription without a live stream goes once to the `recv` queue.
    fn dispatch_deliveries(&mut self) {
        let counters = &self.shared.counters;
        let mut routed_any = false;
        while let Some(delivery) = self.node.recv() {
            routed_any = true;
            let routed = self.subscriptions.route(delivery, &self.inbox);
            DriverCounters::add(&counters.stream_dropped, routed.stream_dropped);
            DriverCounters::add(&counters.inbox_dropped, u64::from(routed.inbox_dropped));
            // A full stream presses too: its reader needs the turn.
            self.pressed |= routed.pressed || routed.stream_dropped > 0;
        }
        // Only offers stage anything: without one, no stream needs visiting.
        if routed_any {
            self.subscriptions.flush(&self.inbox);
        }
    }

    /// Finishes waiting calls and feeds the event streams.
    fn dispatch_events(&mut self) {
        let mut offered_any = false;
        while let Some(event) = self.node.poll_event() {
            if let NodeEvent::Membership(MembershipEvent::Joined) = &event {
                // Before the join's callers hear of it, so they see the node's new identity.
                self.refresh_info();
            }
            let Some(event) = self.pending.settle(event) else { continue };
            offered_any = true;
            let dropped = self.event_feeds.offer(&event);
            DriverCounters::add(&self.shared.counters.events_dropped, dropped);
        }
        if offered_any {
            self.event_feeds.flush();
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
        let waiters = self.pending.take_shutdown_waiters();
        drop(self);
        for waiter in waiters {
            waiter.reply(());
        }
    }
}
