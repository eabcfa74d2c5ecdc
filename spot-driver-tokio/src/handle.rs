//! [`SpotNode`]: the async handle over one node.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use spot_proto::node::{NodeConfig, NodeEvent, NodeStats, PeerStats, SyncReport, TopicInfo};
use spot_proto::swim::MembershipEvent;
use spot_proto::wire::spot::{MemberInfo, NodeId};
use spot_proto::{Endpoint, NodeError};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::bind;
use crate::builder::SpotBuilder;
use spot_proto::host::{DriverCounters, DriverStats, Message, RecvFailure, verbs};

use crate::driver::{Answer, Call, Driver, Shared};
use crate::error::{BindError, SHUT_DOWN};
use crate::queue::{self, TryRecvError};
use crate::stream::{EventStream, Subscription};

/// An async handle over one SPOT node: `Send + Sync`, and cheap to clone (an `Arc`).
///
/// One driver task owns the node and its sockets; every method sends it a call and, when the
/// answer matters, awaits it. Errors are [`NodeError`]s with the original C API's errno
/// ([`NodeError::errno`]); once the node has shut down every call fails with [`SHUT_DOWN`].
///
/// Dropping the last handle shuts the node down gracefully in the background, like
/// [`SpotNode::shutdown`].
#[derive(Clone, Debug)]
pub struct SpotNode {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::UnboundedSender<Call>,
    inbox: Mutex<queue::Receiver<Message>>,
    shared: Arc<Shared>,
}

impl SpotNode {
    /// A builder with `config`.
    pub fn builder(config: NodeConfig) -> SpotBuilder {
        SpotBuilder::new(config)
    }

    pub(crate) fn new(
        commands: mpsc::UnboundedSender<Call>,
        inbox: queue::Receiver<Message>,
        shared: Arc<Shared>,
    ) -> SpotNode {
        SpotNode { inner: Arc::new(Inner { commands, inbox: Mutex::new(inbox), shared }) }
    }

    /// Runs `f` on the driver task and returns what it returned.
    async fn call<R, F>(&self, f: F) -> Result<R, NodeError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Driver) -> R + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let call: Call = Box::new(move |driver| {
            let _ = answer.send(f(driver));
        });
        self.inner.commands.send(call).map_err(|_| SHUT_DOWN)?;
        answered.await.map_err(|_| SHUT_DOWN)
    }

    /// Runs a call that starts a long operation, then awaits the operation's answer.
    async fn call_and_wait<R, F>(&self, f: F) -> Result<R, NodeError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Driver, oneshot::Sender<Result<R, NodeError>>) -> Result<(), NodeError>
            + Send
            + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.call(move |driver| f(driver, answer)).await??;
        answered.await.map_err(|_| SHUT_DOWN)?
    }

    // ------------------------------------------------------------------ identity

    /// This node's id (derived from the advertised endpoint unless configured).
    pub fn node_id(&self) -> NodeId {
        self.inner.shared.info.read().unwrap_or_else(PoisonError::into_inner).id.clone()
    }

    /// The endpoint other nodes dial, once known.
    pub fn advertised(&self) -> Option<Endpoint> {
        self.inner.shared.info.read().unwrap_or_else(PoisonError::into_inner).advertised.clone()
    }

    /// The endpoints bound, with their real ports.
    pub fn local_endpoints(&self) -> Vec<Endpoint> {
        self.inner.shared.info.read().unwrap_or_else(PoisonError::into_inner).bound.clone()
    }

    /// Binds one more endpoint (see [`SpotBuilder::bind`]); returns it with its real port.
    pub async fn bind(&self, endpoint: Endpoint) -> Result<Endpoint, BindError> {
        let bound = bind::bind(&endpoint).await?;
        self.call(move |driver| driver.attach(bound)).await?
    }

    // ------------------------------------------------------------------ topics

    /// Creates a LOCAL topic: `TopicExists` (EEXIST) if it is known here or elsewhere.
    pub async fn topic_create(&self, topic: &str) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.call(move |d| {
            let now = d.now();
            d.node.topic_create(now, &topic)
        })
        .await?
    }

    /// Destroys a LOCAL topic: `TopicNotFound` (ENOENT), or `TopicIsRemote` (EINVAL).
    pub async fn topic_destroy(&self, topic: &str) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.call(move |d| {
            let now = d.now();
            d.node.topic_destroy(now, &topic)
        })
        .await?
    }

    /// Declares `topic` REMOTE, owned by whatever listens at `owner` (a SPOT node, or a
    /// ZeroMQ PUB/XPUB, consumed as XSUB).
    pub async fn topic_route(&self, topic: &str, owner: Endpoint) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.call(move |d| {
            let now = d.now();
            d.node.topic_route(now, &topic, owner)
        })
        .await?
    }

    /// Every known topic, LOCAL and REMOTE, in name order.
    pub async fn list_topics(&self) -> Result<Vec<TopicInfo>, NodeError> {
        self.call(|d| d.node.list_topics()).await
    }

    /// Whether the topic is known (LOCAL or REMOTE).
    pub async fn topic_exists(&self, topic: &str) -> Result<bool, NodeError> {
        let topic = topic.to_owned();
        self.call(move |d| d.node.topic_exists(&topic)).await
    }

    // ------------------------------------------------------------------ subscriptions

    /// Subscribes to a topic by name and returns its stream. A REMOTE topic is subscribed at
    /// its owner; an unknown one is `TopicNotFound` (ENOENT) unless the node has peers to ask.
    /// Twice is `AlreadySubscribed` (EEXIST).
    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, NodeError> {
        let topic = topic.to_owned();
        let capacity = self.inner.shared.settings.stream_capacity;
        self.call(move |d| {
            let now = d.now();
            let open = || Subscription::new(topic.clone(), capacity);
            d.subscriptions.subscribe(&mut d.node, now, &topic, open)
        })
        .await?
    }

    /// Ends an exact subscription (its stream ends): `NotSubscribed` (ENOENT) if there is none.
    pub async fn unsubscribe(&self, topic: &str) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        self.call(move |d| {
            let now = d.now();
            d.subscriptions.unsubscribe(&mut d.node, now, &topic)
        })
        .await?
    }

    /// Subscribes to every topic matching a glob pattern (`*`, `?`) anywhere in the cluster,
    /// now and later, and returns its stream. A duplicate is `AlreadySubscribed` (EEXIST).
    pub async fn subscribe_pattern(&self, pattern: &str) -> Result<Subscription, NodeError> {
        let pattern = pattern.to_owned();
        let capacity = self.inner.shared.settings.stream_capacity;
        self.call(move |d| {
            let now = d.now();
            let open = || Subscription::new(pattern.clone(), capacity);
            d.subscriptions.subscribe_pattern(&mut d.node, now, &pattern, open)
        })
        .await?
    }

    /// Ends a pattern subscription (its stream ends): `NotSubscribed` (ENOENT) if none.
    pub async fn unsubscribe_pattern(&self, pattern: &str) -> Result<(), NodeError> {
        let pattern = pattern.to_owned();
        self.call(move |d| {
            let now = d.now();
            d.subscriptions.unsubscribe_pattern(&mut d.node, now, &pattern)
        })
        .await?
    }

    // ------------------------------------------------------------------ publish and receive

    /// Publishes on a topic (LOCAL: to local and remote subscribers; REMOTE: to its owner).
    /// `TopicNotFound` (ENOENT) if unknown; `WouldBlock` (EAGAIN) under the would-block HWM
    /// policy when the queue is full.
    pub async fn publish(&self, topic: &str, payload: impl Into<Bytes>) -> Result<(), NodeError> {
        let (topic, payload) = (topic.to_owned(), payload.into());
        self.call(move |d| {
            let now = d.now();
            d.node.publish(now, &topic, payload)
        })
        .await?
    }

    /// Publishes without waiting for the node's answer (for high rates: the driver takes many
    /// per wake-up). Fails at once only when the node has shut down; a refusal by the node is
    /// counted in [`DriverStats::publish_errors`].
    pub fn publish_nowait(&self, topic: &str, payload: impl Into<Bytes>) -> Result<(), NodeError> {
        let (topic, payload) = (topic.to_owned(), payload.into());
        let call: Call = Box::new(move |d| {
            let now = d.now();
            if d.node.publish(now, &topic, payload).is_err() {
                DriverCounters::bump(&d.shared.counters.publish_errors);
            }
        });
        self.inner.commands.send(call).map_err(|_| SHUT_DOWN)
    }

    /// [`SpotNode::publish_nowait`] of many messages on one topic in one call: one trip to the
    /// driver and one clock reading for the whole batch, in order. Fails at once only when the
    /// node has shut down; each refusal by the node (a full high-water mark under the
    /// `WouldBlock` policy, an unknown topic) is counted in [`DriverStats::publish_errors`] and
    /// the rest of the batch is still offered.
    pub fn publish_batch_nowait(
        &self,
        topic: &str,
        payloads: impl IntoIterator<Item = Bytes>,
    ) -> Result<(), NodeError> {
        let topic = topic.to_owned();
        let payloads: Vec<Bytes> = payloads.into_iter().collect();
        let call: Call = Box::new(move |d| {
            let now = d.now();
            for payload in payloads {
                if d.node.publish(now, &topic, payload).is_err() {
                    DriverCounters::bump(&d.shared.counters.publish_errors);
                }
            }
        });
        self.inner.commands.send(call).map_err(|_| SHUT_DOWN)
    }

    /// The next message that matched a subscription without a live [`Subscription`] stream
    /// (dropped streams, or the C API's style: subscribe, drop the stream, recv). Waits as long
    /// as it takes; cancellation-safe: a dropped future loses no message.
    pub async fn recv(&self) -> Result<Message, NodeError> {
        let mut inbox = self.inner.inbox.lock().await;
        inbox.recv().await.ok_or(SHUT_DOWN)
    }

    /// [`SpotNode::recv`] within `timeout`: `Timeout` (ETIMEDOUT) if nothing came.
    pub async fn recv_timeout(&self, timeout: Duration) -> Result<Message, NodeError> {
        let received = tokio::time::timeout(timeout, self.recv()).await;
        received.map_err(|_| RecvFailure::TimedOut.node_error())?
    }

    /// A waiting message, or `WouldBlock` (EAGAIN) at once.
    pub fn try_recv(&self) -> Result<Message, NodeError> {
        let empty = RecvFailure::Empty.node_error();
        let mut inbox = self.inner.inbox.try_lock().map_err(|_| empty)?;
        inbox.try_recv().map_err(|error| match error {
            TryRecvError::Empty => RecvFailure::Empty.node_error(),
            TryRecvError::Closed => RecvFailure::Closed.node_error(),
        })
    }

    // ------------------------------------------------------------------ the explicit cluster

    /// Adds an explicit peer, connects and syncs its topics; returns once it answered:
    /// `HostUnreachable` (EHOSTUNREACH) if no connection was made by the config's sync
    /// deadline, `Timeout` (ETIMEDOUT) if it connected but did not answer, `PeerExists`
    /// (EEXIST) if added already.
    pub async fn cluster_add(&self, peer: Endpoint) -> Result<SyncReport, NodeError> {
        self.call_and_wait(move |d, answer| {
            let now = d.now();
            let op = d.node.cluster_add(now, peer)?;
            d.pending.operation(op, Answer(answer));
            Ok(())
        })
        .await
    }

    /// Removes an explicit peer (its topics and subscriptions go, and membership does not
    /// re-add it until `cluster_add` names it again): `PeerNotFound` (ENOENT) if unknown.
    pub async fn cluster_remove(&self, peer: &Endpoint) -> Result<(), NodeError> {
        let peer = peer.clone();
        self.call(move |d| {
            let now = d.now();
            d.node.cluster_remove(now, &peer)
        })
        .await?
    }

    /// Asks every peer for its topics in parallel and returns the report once all answered or
    /// `timeout` passed (`None`: wait for all; zero: ask and return at once, peers pending).
    /// `Timeout` (ETIMEDOUT) when no peer answered.
    pub async fn cluster_sync(&self, timeout: Option<Duration>) -> Result<SyncReport, NodeError> {
        self.call_and_wait(move |d, answer| {
            let now = d.now();
            let op = d.node.cluster_sync(now, timeout);
            d.pending.operation(op, Answer(answer));
            Ok(())
        })
        .await
    }

    /// The peers this node keeps connections to.
    pub async fn peers(&self) -> Result<Vec<Endpoint>, NodeError> {
        self.call(|d| d.node.peers().cloned().collect()).await
    }

    /// Sets a peer's high-water marks, in messages: `PeerNotFound` (ENOENT) if unknown,
    /// `InvalidArgument` (EINVAL) for zero.
    pub async fn set_hwm(
        &self,
        peer: &Endpoint,
        send: usize,
        receive: usize,
    ) -> Result<(), NodeError> {
        let peer = peer.clone();
        self.call(move |d| d.node.set_hwm(&peer, send, receive)).await?
    }

    // ------------------------------------------------------------------ membership

    /// Joins the cluster through seed endpoints; returns once a seed answered (or at once with
    /// no other seed): `NoSeedReachable` (EHOSTUNREACH) after the bootstrap timeout,
    /// `AlreadyJoined` (EEXIST).
    pub async fn join(&self, seeds: &[Endpoint]) -> Result<(), NodeError> {
        let seeds = seeds.to_vec();
        self.call_and_wait(move |d, answer| {
            let now = d.now();
            d.node.join(now, &seeds)?;
            d.pending.join(Answer(answer));
            Ok(())
        })
        .await
    }

    /// Leaves the cluster gracefully; returns once the leave was gossiped for the grace period.
    /// `NotJoined` (EINVAL) if not a member.
    pub async fn leave(&self) -> Result<(), NodeError> {
        self.call_and_wait(move |d, answer| {
            let now = d.now();
            d.node.leave(now)?;
            d.pending.leave(Answer(answer));
            Ok(())
        })
        .await
    }

    /// Sets one of this node's membership tags: `InvalidTag` (EINVAL) if too large.
    pub async fn update_tag(&self, key: &str, value: &str) -> Result<(), NodeError> {
        let tag = verbs::tag(key, value)?;
        self.call(move |d| {
            let now = d.now();
            d.node.update_tag(now, tag)
        })
        .await?
    }

    /// Removes one of this node's tags: `TagNotFound` (ENOENT) if it has none with `key`.
    pub async fn remove_tag(&self, key: &str) -> Result<(), NodeError> {
        let key = key.to_owned();
        self.call(move |d| {
            let now = d.now();
            d.node.remove_tag(now, &key)
        })
        .await?
    }

    /// The other members this node knows (any state), in the membership table's order.
    pub async fn members(&self) -> Result<Vec<MemberInfo>, NodeError> {
        self.call(|d| verbs::members(&d.node)).await
    }

    /// The members with tag `key` (and `value`, when given).
    pub async fn nodes_with_tag(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<NodeId>, NodeError> {
        let (key, value) = (key.to_owned(), value.map(str::to_owned));
        self.call(move |d| verbs::nodes_with_tag(&d.node, &key, value.as_deref())).await
    }

    /// A stream of every node event from now on (topics found and lost, peers, membership).
    pub async fn events(&self) -> Result<EventStream<NodeEvent>, NodeError> {
        let capacity = self.inner.shared.settings.event_capacity;
        self.call(move |d| {
            let (feed, stream) = EventStream::new(capacity);
            d.event_feeds.add_events(feed);
            stream
        })
        .await
    }

    /// A stream of membership events from now on (up, suspect, dead, left, ...).
    pub async fn membership_events(&self) -> Result<EventStream<MembershipEvent>, NodeError> {
        let capacity = self.inner.shared.settings.event_capacity;
        self.call(move |d| {
            let (feed, stream) = EventStream::new(capacity);
            d.event_feeds.add_membership(feed);
            stream
        })
        .await
    }

    // ------------------------------------------------------------------ figures

    /// The node's counters.
    pub async fn stats(&self) -> Result<NodeStats, NodeError> {
        self.call(|d| d.node.stats()).await
    }

    /// Figures for every peer, in endpoint order.
    pub async fn peer_stats(&self) -> Result<Vec<PeerStats>, NodeError> {
        self.call(|d| d.node.peer_stats()).await
    }

    /// The driver's own counters (drops at full streams, cut connections, ...).
    pub fn driver_stats(&self) -> DriverStats {
        self.inner.shared.counters.snapshot()
    }

    // ------------------------------------------------------------------ stopping

    /// Shuts the node down gracefully: leaves the cluster (waiting for the leave's grace period,
    /// bounded), closes every connection and socket, ends every stream. Every handle's calls
    /// fail with [`SHUT_DOWN`] afterwards. Returns at once if the node is already stopped.
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        let call: Call = Box::new(move |d| d.begin_shutdown(Some(done)));
        if self.inner.commands.send(call).is_ok() {
            let _ = finished.await;
        }
    }

    /// Whether the node has shut down.
    pub fn is_shut_down(&self) -> bool {
        self.inner.commands.is_closed()
    }
}
