//! The user's verbs: topics, subscriptions, publish, the explicit cluster, membership.

use core::time::Duration;
use std::collections::BTreeSet;

use bytes::Bytes;

use crate::endpoint::Endpoint;
use crate::error::NodeError;
use crate::pubsub::GlobPattern;
use crate::time::Instant;
use crate::wire::spot::{Capabilities, Envelope, NodeId, SpotCommand, Tag, Topic, TopicOwner};
use crate::wire::zmtp::Message;

use super::conn::Remote;
use super::routing::Origin;
use super::{Node, Operation, OperationId, SyncReport};
use crate::pubsub::Location;

/// Whether a topic is hosted here or elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicLocation {
    /// Created on this node.
    Local,
    /// Owned by another node.
    Remote,
}

/// One entry of [`Node::list_topics`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic.
    pub topic: Topic,
    /// LOCAL or REMOTE.
    pub location: TopicLocation,
    /// The owning node.
    pub owner: NodeId,
    /// Where the owner is dialed (ours for a LOCAL topic, when bound).
    pub endpoint: Option<Endpoint>,
}

/// Per-peer figures, from [`Node::peer_stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStats {
    /// The peer's endpoint.
    pub endpoint: Endpoint,
    /// Its node id.
    pub node_id: NodeId,
    /// Whether its connection is up and past the handshake.
    pub connected: bool,
    /// Data messages waiting in our send queue to it.
    pub pending: usize,
    /// Its messages waiting in our receive queue.
    pub received_pending: usize,
    /// Messages dropped at its high-water marks.
    pub dropped: u64,
    /// Topics we subscribe to at it.
    pub subscriptions: usize,
}

impl Node {
    fn topic(&self, name: &str) -> Result<Topic, NodeError> {
        Topic::copy_from_str(name, &self.config.limits)
            .map_err(|_| NodeError::InvalidTopic(name.to_owned()))
    }

    /// Tells every SPOT node we are connected to about a topic change (extension
    /// TOPIC_CREATED / TOPIC_DESTROYED), on our connections in both directions.
    fn announce(&mut self, command: SpotCommand) {
        for c in self.conns.values_mut() {
            if !c.remote.has(Capabilities::TOPIC_EVENTS) || !c.remote.is_cluster_node() {
                continue;
            }
            let envelope = match c.direction {
                super::conn::Direction::Outbound { .. } => Envelope::Bare,
                super::conn::Direction::Inbound => Envelope::Delimited,
            };
            c.dirty = true;
            let _ = c.link.send_control(Message::from_frames(command.encode(envelope)));
        }
    }

    /// Creates a LOCAL topic. `TopicExists` (EEXIST) if it exists here or elsewhere.
    pub fn topic_create(&mut self, now: Instant, name: &str) -> Result<(), NodeError> {
        self.now = now;
        let topic = self.topic(name)?;
        self.directory.create_local(name)?;
        if let Some(endpoint) = self.advertised.clone() {
            let owner = TopicOwner { id: self.id.clone(), endpoint };
            self.announce(SpotCommand::TopicCreated { owner, topic });
        }
        self.flush();
        Ok(())
    }

    /// Destroys a LOCAL topic: `TopicNotFound` (ENOENT) if unknown, `TopicIsRemote` (EINVAL) if
    /// another node owns it. Its subscribers are dropped.
    pub fn topic_destroy(&mut self, now: Instant, name: &str) -> Result<(), NodeError> {
        self.now = now;
        let topic = self.topic(name)?;
        let change = self.directory.destroy_local(name)?;
        self.subscribers.remove_topic(&topic);
        let owner = self.id.clone();
        self.announce(SpotCommand::TopicDestroyed { owner, topic });
        // Another node's claim may take the name over.
        self.apply_changes([change]);
        self.flush();
        Ok(())
    }

    /// Declares `name` a REMOTE topic owned by whatever listens at `endpoint` (a SPOT node, or
    /// a foreign PUB/XPUB such as an original C++ SPOT node, which is then consumed as XSUB).
    pub fn topic_route(
        &mut self,
        now: Instant,
        name: &str,
        endpoint: Endpoint,
    ) -> Result<(), NodeError> {
        self.now = now;
        let topic = self.topic(name)?;
        if !endpoint.is_dialable() {
            return Err(NodeError::InvalidArgument("topic_route needs a dialable endpoint"));
        }
        let id = self.peer_mut(&endpoint).node_id.clone();
        let change =
            self.directory.route(topic.as_str(), TopicOwner { id, endpoint: endpoint.clone() })?;
        self.peer_mut(&endpoint).wanted.routed = true;
        self.blocked.remove(&endpoint);
        self.ensure_connection(&endpoint);
        self.apply_changes([change]);
        self.reconcile_topic(&topic);
        self.flush();
        Ok(())
    }

    /// Every known topic, LOCAL and REMOTE, in name order.
    pub fn list_topics(&self) -> Vec<TopicInfo> {
        self.directory
            .list_topics()
            .into_iter()
            .map(|entry| match entry.location {
                Location::Local => TopicInfo {
                    topic: entry.topic,
                    location: TopicLocation::Local,
                    owner: self.id.clone(),
                    endpoint: self.advertised.clone(),
                },
                Location::Remote(owner) => TopicInfo {
                    topic: entry.topic,
                    location: TopicLocation::Remote,
                    owner: owner.id,
                    endpoint: Some(owner.endpoint),
                },
            })
            .collect()
    }

    /// Whether the topic is known (LOCAL or REMOTE).
    pub fn topic_exists(&self, name: &str) -> bool {
        self.directory.exists(name)
    }

    /// Whether the topic is LOCAL.
    pub fn topic_is_local(&self, name: &str) -> bool {
        self.directory.is_local(name)
    }

    /// Subscribes to a topic by name. A REMOTE topic is subscribed at its owner; an unknown one
    /// is `TopicNotFound` (ENOENT) unless the node has peers to ask, in which case it is
    /// remembered, the peers are asked (QUERY), and it starts when the topic is found.
    /// Subscribing twice is `AlreadySubscribed` (EEXIST).
    pub fn subscribe(&mut self, now: Instant, name: &str) -> Result<(), NodeError> {
        self.now = now;
        let topic = self.topic(name)?;
        if self.local_exact.contains(&topic) {
            return Err(NodeError::AlreadySubscribed(name.to_owned()));
        }
        let known = self.directory.exists(topic.as_str());
        if !known {
            if self.peers.is_empty() {
                return Err(NodeError::TopicNotFound(name.to_owned()));
            }
            self.query_all();
        }
        self.local_exact.insert(topic.clone());
        self.stats.subscribes += 1;
        self.reconcile_topic(&topic);
        self.flush();
        Ok(())
    }

    /// Ends a subscription by name: `NotSubscribed` (ENOENT) if there is none.
    pub fn unsubscribe(&mut self, now: Instant, name: &str) -> Result<(), NodeError> {
        self.now = now;
        let topic = self.topic(name)?;
        if !self.local_exact.remove(&topic) {
            return Err(NodeError::NotSubscribed(name.to_owned()));
        }
        self.reconcile_topic(&topic);
        self.flush();
        Ok(())
    }

    /// Subscribes to every topic matching a glob pattern anywhere in the cluster, now and
    /// later (`*`: any run of characters, including `:` and none; `?`: one character; see
    /// [`GlobPattern`]). Returns the pattern's index in [`Node::patterns`], which
    /// [`super::Delivery::patterns`] refers to. A duplicate is `AlreadySubscribed` (EEXIST).
    pub fn subscribe_pattern(&mut self, now: Instant, pattern: &str) -> Result<usize, NodeError> {
        self.now = now;
        let glob = GlobPattern::parse(pattern, &self.config.limits)?;
        if self.local_patterns.iter().any(|p| p.as_str() == glob.as_str()) {
            return Err(NodeError::AlreadySubscribed(pattern.to_owned()));
        }
        self.local_patterns.push(glob);
        self.stats.subscribes += 1;
        self.reconcile_all();
        self.flush();
        Ok(self.local_patterns.len() - 1)
    }

    /// Ends a pattern subscription: `NotSubscribed` (ENOENT) if there is none. Later patterns
    /// move down one index.
    pub fn unsubscribe_pattern(&mut self, now: Instant, pattern: &str) -> Result<(), NodeError> {
        self.now = now;
        let Some(at) = self.local_patterns.iter().position(|p| p.as_str() == pattern) else {
            return Err(NodeError::NotSubscribed(pattern.to_owned()));
        };
        self.local_patterns.remove(at);
        self.reconcile_all();
        self.flush();
        Ok(())
    }

    /// The user's pattern subscriptions, in the order made.
    pub fn patterns(&self) -> &[GlobPattern] {
        &self.local_patterns
    }

    /// The user's exact subscriptions.
    pub fn subscriptions(&self) -> impl Iterator<Item = &Topic> {
        self.local_exact.iter()
    }

    /// Publishes on a topic. LOCAL: to the local receive queue (if subscribed) and once to
    /// every subscribing connection. REMOTE: to the owner, which fans it out. Unknown:
    /// `TopicNotFound` (ENOENT). With [`crate::link::HwmPolicy::WouldBlock`], a full queue gives
    /// `WouldBlock` (EAGAIN) and sends nothing; otherwise drops are counted.
    pub fn publish(&mut self, now: Instant, name: &str, payload: Bytes) -> Result<(), NodeError> {
        self.now = now;
        // Publishers mostly repeat one topic: reuse its validated name instead of copying it.
        let topic = match &self.last_published {
            Some(topic) if topic.as_bytes()[..] == *name.as_bytes() => topic.clone(),
            _ => {
                let topic = self.topic(name)?;
                self.last_published = Some(topic.clone());
                topic
            }
        };
        self.publish_topic(&topic, payload)
    }

    /// [`Node::publish`] with a topic already validated.
    pub fn publish_topic(&mut self, topic: &Topic, payload: Bytes) -> Result<(), NodeError> {
        if self.directory.is_local(&topic) {
            // Fan-out only queues bytes on links (taken at the next poll_output) and delivery
            // only fills the receive queue: nothing here needs a flush.
            self.fan_out(topic, &payload, Origin::Owner, true)?;
            self.deliver_local(topic.clone(), payload, None);
            self.stats.publishes += 1;
            return Ok(());
        }
        let result = if let Some(remote) = self.directory.owner_of(&topic).cloned() {
            self.publish_remote(topic, payload, &remote.endpoint)
        } else {
            return Err(NodeError::TopicNotFound(topic.as_str().to_owned()));
        };
        if result.is_ok() {
            self.stats.publishes += 1;
        }
        self.flush();
        result
    }

    fn publish_remote(
        &mut self,
        topic: &Topic,
        payload: Bytes,
        endpoint: &Endpoint,
    ) -> Result<(), NodeError> {
        self.ensure_connection(endpoint);
        let conn = self.peers.get(endpoint).and_then(|p| p.conn);
        let Some(c) = conn.and_then(|conn| self.conns.get_mut(&conn)) else {
            self.stats.dropped_unroutable += 1;
            return Ok(());
        };
        if c.remote == Remote::Publisher {
            // A foreign publisher does not take publishes.
            self.stats.dropped_unroutable += 1;
            return Ok(());
        }
        c.dirty = true;
        let command = SpotCommand::Publish { topic: topic.clone(), data: payload };
        match c.link.send(Message::from_frames(command.encode(Envelope::Bare))) {
            Ok(crate::link::SendOutcome::Queued) => Ok(()),
            Ok(_) => {
                self.stats.dropped_send_hwm += 1;
                Ok(())
            }
            Err(crate::link::SendError::WouldBlock(_)) => Err(NodeError::WouldBlock),
            Err(_) => {
                self.stats.dropped_unroutable += 1;
                Ok(())
            }
        }
    }

    /// Sends QUERY to every peer (no operation waits for the answers).
    fn query_all(&mut self) {
        let endpoints: Vec<Endpoint> = self.peers.keys().cloned().collect();
        for endpoint in endpoints {
            self.send_request(&endpoint, SpotCommand::Query);
        }
    }

    /// Adds an explicit peer, connects, and syncs with QUERY under
    /// [`super::NodeConfig::sync_deadline`]. Returns at once; the result arrives as
    /// [`super::NodeEvent::OperationFinished`]: `Ok` once it answered, `HostUnreachable` if no
    /// connection was made by the deadline, `Timeout` if it connected but did not answer.
    /// `PeerExists` (EEXIST) if it was added already.
    pub fn cluster_add(
        &mut self,
        now: Instant,
        endpoint: Endpoint,
    ) -> Result<OperationId, NodeError> {
        self.now = now;
        if !endpoint.is_dialable() {
            return Err(NodeError::InvalidArgument("cluster_add needs a dialable endpoint"));
        }
        if Some(&endpoint) == self.advertised.as_ref() {
            return Err(NodeError::InvalidArgument("cluster_add of this node's own endpoint"));
        }
        if self.peers.get(&endpoint).is_some_and(|p| p.wanted.explicit) {
            return Err(NodeError::PeerExists(endpoint.to_string()));
        }
        self.blocked.remove(&endpoint);
        self.peer_mut(&endpoint).wanted.explicit = true;
        let fresh = self.peers.get(&endpoint).is_some_and(|p| p.conn.is_none());
        if fresh {
            self.peer_mut(&endpoint).failures = 0;
            self.dial(&endpoint); // a fresh connection sends QUERY first
        } else {
            self.send_request(&endpoint, SpotCommand::Query);
        }
        let op = self.next_operation_id();
        let deadline = Some(now + self.config.sync_deadline);
        let waiting = BTreeSet::from([endpoint]);
        self.ops.insert(
            op,
            Operation { waiting, report: SyncReport::default(), deadline, single: true },
        );
        self.flush();
        Ok(op)
    }

    /// Removes an explicit peer: closes its connection, drops its REMOTE topics and the
    /// subscriptions it held here, and keeps membership from re-adding it until
    /// [`Node::cluster_add`] names it again. `PeerNotFound` (ENOENT) if unknown.
    pub fn cluster_remove(&mut self, now: Instant, endpoint: &Endpoint) -> Result<(), NodeError> {
        self.now = now;
        let Some(peer) = self.peers.get_mut(endpoint) else {
            return Err(NodeError::PeerNotFound(endpoint.to_string()));
        };
        peer.wanted = super::peer::Wanted::default();
        let node_id = peer.node_id.clone();
        self.blocked.insert(endpoint.clone());
        // Its routes were recorded under the id derived from its endpoint, its claims under the
        // id it announced: drop both.
        self.drop_owner(&crate::swim::default_node_id(endpoint));
        self.drop_owner(&node_id);
        self.drop_inbound_from(&node_id);
        self.close_peer_if_unwanted(endpoint);
        for op in self.ops.values_mut() {
            if op.waiting.remove(endpoint) {
                op.report
                    .failed
                    .push((endpoint.clone(), NodeError::PeerNotFound(endpoint.to_string())));
            }
        }
        self.flush();
        Ok(())
    }

    /// The peers this node keeps connections to.
    pub fn peers(&self) -> impl Iterator<Item = &Endpoint> {
        self.peers.iter().filter(|(_, p)| p.wanted.any()).map(|(e, _)| e)
    }

    /// QUERYs every peer in parallel under one deadline. The result
    /// ([`super::NodeEvent::OperationFinished`]) lists synced and failed peers and is `Ok` when
    /// at least one synced. No peers: `Ok` at once. `Some(0)`: sends and finishes at once with
    /// every peer pending. `None`: waits for every peer.
    pub fn cluster_sync(&mut self, now: Instant, timeout: Option<Duration>) -> OperationId {
        self.now = now;
        let op = self.next_operation_id();
        let endpoints: BTreeSet<Endpoint> = self.peers().cloned().collect();
        for endpoint in &endpoints {
            self.send_request(endpoint, SpotCommand::Query);
        }
        let mut operation = Operation {
            waiting: endpoints,
            report: SyncReport::default(),
            deadline: timeout.map(|t| now + t),
            single: false,
        };
        if operation.waiting.is_empty() || timeout == Some(Duration::ZERO) {
            operation.report.pending = std::mem::take(&mut operation.waiting).into_iter().collect();
            self.events.push_back(super::NodeEvent::OperationFinished {
                op,
                result: Ok(operation.report),
            });
        } else {
            self.ops.insert(op, operation);
        }
        self.flush();
        op
    }

    /// Sets a peer's high-water marks, in messages: `send` bounds our queue toward it (data
    /// beyond it is dropped and counted, or refused under [`crate::link::HwmPolicy::WouldBlock`]); `receive`
    /// bounds its messages waiting in our receive queue. `PeerNotFound` (ENOENT) if unknown.
    pub fn set_hwm(
        &mut self,
        endpoint: &Endpoint,
        send: usize,
        receive: usize,
    ) -> Result<(), NodeError> {
        if send == 0 || receive == 0 {
            return Err(NodeError::InvalidArgument("high-water marks are at least 1"));
        }
        let Some(peer) = self.peers.get_mut(endpoint) else {
            return Err(NodeError::PeerNotFound(endpoint.to_string()));
        };
        peer.send_hwm = send;
        peer.recv_hwm = receive;
        if let Some(c) = peer.conn.and_then(|conn| self.conns.get_mut(&conn)) {
            c.link.set_data_hwm(send);
        }
        Ok(())
    }

    /// Figures for every peer, in endpoint order.
    pub fn peer_stats(&self) -> Vec<PeerStats> {
        self.peers
            .iter()
            .map(|(endpoint, p)| {
                let conn = p.conn.and_then(|c| self.conns.get(&c));
                PeerStats {
                    endpoint: endpoint.clone(),
                    node_id: p.node_id.clone(),
                    connected: conn.is_some_and(|c| c.link.is_ready()),
                    pending: conn.map_or(0, |c| c.link.queued_messages()),
                    received_pending: p.recv_queued,
                    dropped: p.dropped,
                    subscriptions: p.subscribed.len(),
                }
            })
            .collect()
    }

    /// Joins a cluster through seed endpoints (membership). Needs a bound, advertised endpoint.
    pub fn join(&mut self, now: Instant, seeds: &[Endpoint]) -> Result<(), NodeError> {
        self.now = now;
        let membership =
            self.membership.as_mut().ok_or(NodeError::InvalidArgument("bind before join"))?;
        membership.join(now, seeds)?;
        self.flush();
        Ok(())
    }

    /// Leaves the cluster gracefully (membership announces Left, then stops).
    pub fn leave(&mut self, now: Instant) -> Result<(), NodeError> {
        self.now = now;
        let membership = self.membership.as_mut().ok_or(NodeError::NotJoined)?;
        membership.leave(now)?;
        self.flush();
        Ok(())
    }

    /// Sets one of this node's membership tags.
    pub fn update_tag(&mut self, now: Instant, tag: Tag) -> Result<(), NodeError> {
        self.now = now;
        let membership =
            self.membership.as_mut().ok_or(NodeError::InvalidArgument("bind first"))?;
        membership.update_tag(now, tag)?;
        self.flush();
        Ok(())
    }

    /// Removes one of this node's membership tags.
    pub fn remove_tag(&mut self, now: Instant, key: &str) -> Result<(), NodeError> {
        self.now = now;
        let membership =
            self.membership.as_mut().ok_or(NodeError::InvalidArgument("bind first"))?;
        membership.remove_tag(now, key)?;
        self.flush();
        Ok(())
    }
}
