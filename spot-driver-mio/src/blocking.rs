//! [`SpotNode`]: the blocking API in the style of the original C API, over a [`SpotLoop`] run
//! by one background thread that waits on its own `mio::Poll` (readiness, the node's one timer,
//! and a `mio::Waker` for calls from other threads: it never sleeps and retries).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{
    self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError, TrySendError,
};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use mio::{Events, Poll, Token, Waker};
use spot_proto::host::{
    EventFeeds, Feed, Message, Offer, Pending, RecvFailure, Reply, Wait, verbs,
};
use spot_proto::node::{NodeConfig, NodeEvent, NodeStats, PeerStats, SyncReport, TopicInfo};
use spot_proto::swim::MembershipEvent;
use spot_proto::wire::spot::{MemberInfo, NodeId};
use spot_proto::{Endpoint, NodeError};

use crate::error::{BindError, SHUT_DOWN};
use crate::event_loop::SpotLoop;
use crate::stats::DriverStats;

/// The waker's token; the node's sockets use the tokens above it.
const WAKER: Token = Token(0);

/// A call run on the node's thread.
type Call = Box<dyn FnOnce(&mut Worker) + Send>;
/// Where a long operation's answer goes.
type Answer<T> = SyncSender<Result<T, NodeError>>;

/// A one-shot answer to a waiting caller (a channel of one slot).
struct Waiter<T>(SyncSender<T>);

impl<T> Reply<T> for Waiter<T> {
    fn reply(self, value: T) {
        let _ = self.0.send(value);
    }
}

/// Who waits for what: operations, join and leave, shutdown.
type Waiters =
    Pending<Waiter<Result<SyncReport, NodeError>>, Waiter<Result<(), NodeError>>, Waiter<()>>;

/// The worker's end of an event receiver (bounded; a full one drops the newest event).
struct EventFeed<T>(SyncSender<T>);

impl<T> Feed<T> for EventFeed<T> {
    fn offer(&self, item: T) -> Offer {
        match self.0.try_send(item) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => Offer::Dropped,
            Err(TrySendError::Disconnected(_)) => Offer::Closed,
        }
    }

    /// std's `SyncSender` cannot tell without sending: a gone receiver shows as
    /// [`Offer::Closed`] at the next offer.
    fn is_closed(&self) -> bool {
        false
    }
}

/// Waits on `receiver` the C API's way (see [`Wait::from_millis`]): `0` returns at once
/// (`WouldBlock`), a negative value waits as long as it takes, a positive one at most that many
/// milliseconds (`Timeout`).
fn wait<T>(receiver: &Receiver<T>, timeout_ms: i64) -> Result<T, NodeError> {
    let failure = match Wait::from_millis(timeout_ms) {
        Wait::Now => match receiver.try_recv() {
            Ok(item) => return Ok(item),
            Err(TryRecvError::Empty) => RecvFailure::Empty,
            Err(TryRecvError::Disconnected) => RecvFailure::Closed,
        },
        Wait::Forever => return receiver.recv().map_err(|_| SHUT_DOWN),
        Wait::For(timeout) => match receiver.recv_timeout(timeout) {
            Ok(item) => return Ok(item),
            Err(RecvTimeoutError::Timeout) => RecvFailure::TimedOut,
            Err(RecvTimeoutError::Disconnected) => RecvFailure::Closed,
        },
    };
    Err(failure.node_error())
}

/// Builds a [`SpotNode`]: a [`NodeConfig`], the `tcp://` endpoints to bind, and bounds.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct SpotBuilder {
    config: NodeConfig,
    binds: Vec<Endpoint>,
    inbox_capacity: usize,
    event_capacity: usize,
}

impl SpotBuilder {
    /// A builder with `config` and no endpoint bound.
    pub fn new(config: NodeConfig) -> Self {
        SpotBuilder { config, binds: Vec::new(), inbox_capacity: 65_536, event_capacity: 1024 }
    }

    /// Binds `tcp://host:port` at start (TCP and UDP on the same port; port 0 picks a free one).
    pub fn bind(mut self, endpoint: Endpoint) -> Self {
        self.binds.push(endpoint);
        self
    }

    /// The endpoint other nodes dial (needed with `tcp://*:port`).
    pub fn advertise(mut self, endpoint: Endpoint) -> Self {
        self.config.advertise = Some(endpoint);
        self
    }

    /// Capacity of the [`SpotNode::recv`] queue, in messages (default 65 536); a full queue
    /// drops the newest message and counts it.
    pub fn inbox_capacity(mut self, messages: usize) -> Self {
        self.inbox_capacity = messages.max(1);
        self
    }

    /// Capacity of each event receiver (default 1024).
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.event_capacity = events.max(1);
        self
    }

    /// Binds the endpoints, creates the node and starts its thread.
    pub fn start(self) -> Result<SpotNode, BindError> {
        let io = |source| BindError::Io {
            endpoint: self.binds.first().cloned().unwrap_or_else(|| Endpoint::localhost(0)),
            source,
        };
        let poll = Poll::new().map_err(io)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(io)?);
        let mut spot = SpotLoop::new(self.config, poll.registry(), 1..usize::MAX).map_err(io)?;
        for endpoint in &self.binds {
            spot.bind(endpoint)?;
        }
        let (commands, calls) = mpsc::channel();
        // Unbounded channel (no memory reserved up front), bounded by the `queued` count.
        let (inbox, inbox_receiver) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            spot,
            poll,
            calls,
            inbox,
            inbox_capacity: self.inbox_capacity,
            queued: Arc::clone(&queued),
            event_capacity: self.event_capacity,
            event_feeds: EventFeeds::new(),
            pending: Pending::new(),
            stats: Arc::new(Mutex::new(DriverStats::default())),
        };
        let stats = Arc::clone(&worker.stats);
        let thread = std::thread::Builder::new()
            .name("spot-mio".into())
            .spawn(move || worker.run())
            .map_err(io)?;
        let inner = Inner {
            commands,
            waker,
            inbox: Mutex::new(inbox_receiver),
            queued,
            stats,
            thread: Mutex::new(Some(thread)),
        };
        Ok(SpotNode { inner: Arc::new(inner) })
    }
}

/// A bounded receiver of events from [`SpotNode::events`] or [`SpotNode::membership_events`].
#[derive(Debug)]
pub struct EventReceiver<T> {
    receiver: Receiver<T>,
}

impl<T> EventReceiver<T> {
    /// The next event: `timeout_ms` 0 returns at once (`WouldBlock`), -1 waits as long as it
    /// takes, more waits at most that long (`Timeout`).
    pub fn recv(&self, timeout_ms: i64) -> Result<T, NodeError> {
        wait(&self.receiver, timeout_ms)
    }
}

/// A SPOT node with a blocking API in the style of the original C API: every call returns when
/// done, errors carry the C API's errno ([`NodeError::errno`]), and waits take milliseconds
/// (`0` = return at once, `-1` = wait forever).
///
/// A background thread owns the node and its sockets; it waits on readiness and the node's
/// timer, so the node keeps answering its peers between calls. `Send + Sync`, cheap to clone.
/// Dropping the last handle shuts the node down gracefully (and waits for it).
#[derive(Clone, Debug)]
pub struct SpotNode {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: Sender<Call>,
    waker: Arc<Waker>,
    inbox: Mutex<Receiver<Message>>,
    /// Messages in `inbox` (the worker drops new ones beyond the capacity).
    queued: Arc<AtomicUsize>,
    stats: Arc<Mutex<DriverStats>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    fn send(&self, call: Call) -> Result<(), NodeError> {
        self.commands.send(call).map_err(|_| SHUT_DOWN)?;
        self.waker.wake().map_err(|_| SHUT_DOWN)
    }

    fn shutdown(&self) {
        let (done, finished) = mpsc::sync_channel(1);
        if self.send(Box::new(move |w: &mut Worker| w.begin_shutdown(Some(done)))).is_ok() {
            let _ = finished.recv();
        }
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        // The last handle may be dropped on the node's own thread (inside a call): no self-join.
        if let Some(thread) = thread.filter(|t| t.thread().id() != std::thread::current().id()) {
            let _ = thread.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl SpotNode {
    /// A builder with `config`.
    pub fn builder(config: NodeConfig) -> SpotBuilder {
        SpotBuilder::new(config)
    }

    /// Runs `f` on the node's thread and returns what it returned.
    fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Worker) -> R + Send + 'static,
    ) -> Result<R, NodeError> {
        let (answer, answered) = mpsc::sync_channel(1);
        self.inner.send(Box::new(move |worker| {
            let result = f(worker);
            // What the call delivered locally is in the recv queue when it returns.
            worker.dispatch();
            let _ = answer.send(result);
        }))?;
        answered.recv().map_err(|_| SHUT_DOWN)
    }

    /// Runs a verb on the node with the current time.
    fn verb<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut spot_proto::node::Node, spot_proto::Instant) -> R + Send + 'static,
    ) -> Result<R, NodeError> {
        self.call(move |worker| worker.spot.with_node(f))
    }

    /// Starts a long operation on the node's thread, then waits for its answer.
    fn call_and_wait<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Worker, Answer<R>) -> Result<(), NodeError> + Send + 'static,
    ) -> Result<R, NodeError> {
        let (answer, answered) = mpsc::sync_channel(1);
        self.call(move |worker| f(worker, answer))??;
        answered.recv().map_err(|_| SHUT_DOWN)?
    }

    // ------------------------------------------------------------------ identity

    /// This node's id.
    pub fn node_id(&self) -> Result<NodeId, NodeError> {
        self.call(|w| w.spot.node().id().clone())
    }

    /// The endpoint other nodes dial, once known (`None` also once shut down).
    pub fn advertised(&self) -> Option<Endpoint> {
        self.call(|w| w.spot.node().advertised().cloned()).ok().flatten()
    }

    /// The endpoints bound, with their real ports.
    pub fn local_endpoints(&self) -> Result<Vec<Endpoint>, NodeError> {
        self.call(|w| w.spot.node().bound().cloned().collect())
    }

    /// Binds one more `tcp://` endpoint; returns it with its real port.
    pub fn bind(&self, endpoint: Endpoint) -> Result<Endpoint, BindError> {
        self.call(move |w| w.spot.bind(&endpoint))?
    }

    // ------------------------------------------------------------------ topics

    /// Creates a LOCAL topic: `TopicExists` (EEXIST) if it is known here or elsewhere.
    pub fn topic_create(&self, topic: &str) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.verb(move |node, now| node.topic_create(now, &topic))?
    }

    /// Destroys a LOCAL topic: `TopicNotFound` (ENOENT), or `TopicIsRemote` (EINVAL).
    pub fn topic_destroy(&self, topic: &str) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.verb(move |node, now| node.topic_destroy(now, &topic))?
    }

    /// Declares `topic` REMOTE, owned by whatever listens at `owner`.
    pub fn topic_route(&self, topic: &str, owner: Endpoint) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.verb(move |node, now| node.topic_route(now, &topic, owner))?
    }

    /// Every known topic, LOCAL and REMOTE, in name order.
    pub fn list_topics(&self) -> Result<Vec<TopicInfo>, NodeError> {
        self.call(|w| w.spot.node().list_topics())
    }

    /// Whether the topic is known (LOCAL or REMOTE).
    pub fn topic_exists(&self, topic: &str) -> Result<bool, NodeError> {
        let topic = topic.to_owned();
        self.call(move |w| w.spot.node().topic_exists(&topic))
    }

    // ------------------------------------------------------------------ subscriptions

    /// Subscribes to a topic by name; its messages come from [`SpotNode::recv`].
    /// `TopicNotFound` (ENOENT) if unknown, `AlreadySubscribed` (EEXIST) twice.
    pub fn subscribe(&self, topic: &str) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.verb(move |node, now| node.subscribe(now, &topic))?
    }

    /// Ends an exact subscription: `NotSubscribed` (ENOENT) if there is none.
    pub fn unsubscribe(&self, topic: &str) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.verb(move |node, now| node.unsubscribe(now, &topic))?
    }

    /// Subscribes to every topic matching a glob pattern (`*`, `?`), now and later.
    pub fn subscribe_pattern(&self, pattern: &str) -> Result<(), NodeError> {
        let pattern = pattern.to_owned();
        self.verb(move |node, now| node.subscribe_pattern(now, &pattern).map(drop))?
    }

    /// Ends a pattern subscription: `NotSubscribed` (ENOENT) if none.
    pub fn unsubscribe_pattern(&self, pattern: &str) -> Result<(), NodeError> {
        let pattern = pattern.to_owned();
        self.verb(move |node, now| node.unsubscribe_pattern(now, &pattern))?
    }

    // ------------------------------------------------------------------ publish and receive

    /// Publishes on a topic: `TopicNotFound` (ENOENT) if unknown; `WouldBlock` (EAGAIN) under
    /// the would-block HWM policy when the queue is full.
    pub fn publish(&self, topic: &str, payload: impl Into<Bytes>) -> Result<(), NodeError> {
        let (topic, payload) = (topic.to_owned(), payload.into());
        self.verb(move |node, now| node.publish(now, &topic, payload))?
    }

    /// Publishes without waiting for the node's answer; a refusal is counted in
    /// [`DriverStats::publish_errors`].
    pub fn publish_nowait(&self, topic: &str, payload: impl Into<Bytes>) -> Result<(), NodeError> {
        let (topic, payload) = (topic.to_owned(), payload.into());
        self.inner.send(Box::new(move |w| {
            if w.spot.with_node(|node, now| node.publish(now, &topic, payload)).is_err() {
                w.stats.lock().unwrap_or_else(PoisonError::into_inner).publish_errors += 1;
            }
        }))
    }

    /// The next message for this node's subscriptions: `timeout_ms` 0 returns at once
    /// (`WouldBlock`, EAGAIN, if none), -1 waits as long as it takes, more waits at most that
    /// many milliseconds (`Timeout`, ETIMEDOUT).
    pub fn recv(&self, timeout_ms: i64) -> Result<Message, NodeError> {
        let inbox = self.inner.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        let message = wait(&inbox, timeout_ms)?;
        self.inner.queued.fetch_sub(1, Ordering::Relaxed);
        Ok(message)
    }

    /// A waiting message, or `WouldBlock` (EAGAIN) at once: `recv(0)`.
    pub fn try_recv(&self) -> Result<Message, NodeError> {
        self.recv(0)
    }

    // ------------------------------------------------------------------ the explicit cluster

    /// Adds an explicit peer, connects and syncs its topics; returns once it answered:
    /// `HostUnreachable` (EHOSTUNREACH), `Timeout` (ETIMEDOUT), `PeerExists` (EEXIST).
    pub fn cluster_add(&self, peer: Endpoint) -> Result<SyncReport, NodeError> {
        self.call_and_wait(move |w, answer| {
            let op = w.spot.with_node(|node, now| node.cluster_add(now, peer))?;
            w.pending.operation(op, Waiter(answer));
            Ok(())
        })
    }

    /// Removes an explicit peer: `PeerNotFound` (ENOENT) if unknown.
    pub fn cluster_remove(&self, peer: &Endpoint) -> Result<(), NodeError> {
        let peer = peer.clone();
        self.verb(move |node, now| node.cluster_remove(now, &peer))?
    }

    /// Asks every peer for its topics and returns the report once all answered or the timeout
    /// passed: `timeout_ms` -1 waits for all, 0 asks and returns at once (peers pending), more
    /// waits at most that long. `Timeout` (ETIMEDOUT) when no peer answered.
    pub fn cluster_sync(&self, timeout_ms: i64) -> Result<SyncReport, NodeError> {
        let timeout = (timeout_ms >= 0).then(|| Duration::from_millis(timeout_ms.unsigned_abs()));
        self.call_and_wait(move |w, answer| {
            let op = w.spot.with_node(|node, now| node.cluster_sync(now, timeout));
            w.pending.operation(op, Waiter(answer));
            Ok(())
        })
    }

    /// The peers this node keeps connections to.
    pub fn peers(&self) -> Result<Vec<Endpoint>, NodeError> {
        self.call(|w| w.spot.node().peers().cloned().collect())
    }

    /// Sets a peer's high-water marks, in messages.
    pub fn set_hwm(&self, peer: &Endpoint, send: usize, receive: usize) -> Result<(), NodeError> {
        let peer = peer.clone();
        self.verb(move |node, _| node.set_hwm(&peer, send, receive))?
    }

    // ------------------------------------------------------------------ membership

    /// Joins the cluster through seed endpoints; returns once a seed answered (or at once with
    /// no other seed): `NoSeedReachable` (EHOSTUNREACH), `AlreadyJoined` (EEXIST).
    pub fn join(&self, seeds: &[Endpoint]) -> Result<(), NodeError> {
        let seeds = seeds.to_vec();
        self.call_and_wait(move |w, answer| {
            w.spot.with_node(|node, now| node.join(now, &seeds))?;
            w.pending.join(Waiter(answer));
            w.dispatch();
            Ok(())
        })
    }

    /// Leaves the cluster gracefully; returns once the leave was gossiped for the grace period.
    pub fn leave(&self) -> Result<(), NodeError> {
        self.call_and_wait(move |w, answer| {
            w.spot.with_node(|node, now| node.leave(now))?;
            w.pending.leave(Waiter(answer));
            w.dispatch();
            Ok(())
        })
    }

    /// Sets one of this node's membership tags: `InvalidTag` (EINVAL) if too large.
    pub fn update_tag(&self, key: &str, value: &str) -> Result<(), NodeError> {
        let tag = verbs::tag(key, value)?;
        self.verb(move |node, now| node.update_tag(now, tag))?
    }

    /// Removes one of this node's tags: `TagNotFound` (ENOENT) if it has none with `key`.
    pub fn remove_tag(&self, key: &str) -> Result<(), NodeError> {
        let key = key.to_owned();
        self.verb(move |node, now| node.remove_tag(now, &key))?
    }

    /// The other members this node knows (any state).
    pub fn members(&self) -> Result<Vec<MemberInfo>, NodeError> {
        self.call(|w| verbs::members(w.spot.node()))
    }

    /// The members with tag `key` (and `value`, when given).
    pub fn nodes_with_tag(&self, key: &str, value: Option<&str>) -> Result<Vec<NodeId>, NodeError> {
        let (key, value) = (key.to_owned(), value.map(str::to_owned));
        self.call(move |w| verbs::nodes_with_tag(w.spot.node(), &key, value.as_deref()))
    }

    /// A receiver of every node event from now on.
    pub fn events(&self) -> Result<EventReceiver<NodeEvent>, NodeError> {
        self.call(|w| {
            let (feed, receiver) = mpsc::sync_channel(w.event_capacity);
            w.event_feeds.add_events(EventFeed(feed));
            EventReceiver { receiver }
        })
    }

    /// A receiver of membership events from now on.
    pub fn membership_events(&self) -> Result<EventReceiver<MembershipEvent>, NodeError> {
        self.call(|w| {
            let (feed, receiver) = mpsc::sync_channel(w.event_capacity);
            w.event_feeds.add_membership(EventFeed(feed));
            EventReceiver { receiver }
        })
    }

    // ------------------------------------------------------------------ figures

    /// The node's counters.
    pub fn stats(&self) -> Result<NodeStats, NodeError> {
        self.call(|w| w.spot.node().stats())
    }

    /// Figures for every peer, in endpoint order.
    pub fn peer_stats(&self) -> Result<Vec<PeerStats>, NodeError> {
        self.call(|w| w.spot.node().peer_stats())
    }

    /// The driver's own counters.
    pub fn driver_stats(&self) -> DriverStats {
        let own = *self.inner.stats.lock().unwrap_or_else(PoisonError::into_inner);
        let sockets = self.call(|w| w.spot.driver_stats()).unwrap_or_default();
        DriverStats {
            inbox_dropped: own.inbox_dropped,
            publish_errors: own.publish_errors,
            ..sockets
        }
    }

    // ------------------------------------------------------------------ stopping

    /// Shuts the node down gracefully: leaves the cluster (waiting for the leave's grace period,
    /// bounded), closes every connection and socket. Every call fails with [`SHUT_DOWN`]
    /// afterwards. Returns at once if the node is already stopped.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// Whether the node has shut down.
    pub fn is_shut_down(&self) -> bool {
        self.call(|_| ()).is_err()
    }
}

/// The node's thread: the loop, and who waits for what.
struct Worker {
    spot: SpotLoop,
    poll: Poll,
    calls: Receiver<Call>,
    inbox: Sender<Message>,
    inbox_capacity: usize,
    queued: Arc<AtomicUsize>,
    event_capacity: usize,
    event_feeds: EventFeeds<EventFeed<NodeEvent>, EventFeed<MembershipEvent>>,
    pending: Waiters,
    stats: Arc<Mutex<DriverStats>>,
}

impl Worker {
    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        while !self.pending.is_stopped() {
            let stop = self.pending.deadline(None).map(|at| self.spot.deadline_of(at));
            let deadline = match (self.spot.next_deadline(), stop) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timeout = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            if let Err(error) = self.poll.poll(&mut events, timeout)
                && error.kind() != std::io::ErrorKind::Interrupted
            {
                tracing::error!(%error, "poll failed: the node stops");
                break;
            }
            for event in events.iter() {
                if event.token() != WAKER && self.spot.owns(event.token()) {
                    self.spot.handle_event(event);
                }
            }
            loop {
                match self.calls.try_recv() {
                    Ok(call) => call(&mut self),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.begin_shutdown(None);
                        break;
                    }
                }
            }
            self.spot.handle_timeout();
            let now = self.spot.now();
            self.pending.on_time(now);
            self.dispatch();
        }
        self.spot.close();
        for waiter in self.pending.take_shutdown_waiters() {
            waiter.reply(());
        }
    }

    fn begin_shutdown(&mut self, waiter: Option<SyncSender<()>>) {
        let pending = &mut self.pending;
        self.spot.with_node(|node, now| pending.begin_shutdown(node, now, waiter.map(Waiter)));
    }

    /// Hands messages to the inbox and events to their waiters and receivers.
    fn dispatch(&mut self) {
        while let Some(message) = self.spot.recv() {
            if self.queued.load(Ordering::Relaxed) >= self.inbox_capacity {
                self.stats.lock().unwrap_or_else(PoisonError::into_inner).inbox_dropped += 1;
            } else {
                // Counted before it is sent, so a reader never takes it below zero.
                self.queued.fetch_add(1, Ordering::Relaxed);
                let _ = self.inbox.send(message);
            }
        }
        while let Some(event) = self.spot.poll_event() {
            let Some(event) = self.pending.settle(event) else { continue };
            // This driver's receivers drop the newest event when full (not counted: its
            // DriverStats has no field for it).
            self.event_feeds.offer(&event);
        }
    }
}
