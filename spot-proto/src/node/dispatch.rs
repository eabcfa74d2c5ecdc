//! What the node does with each message and subscription that arrives on a connection.

use bytes::Bytes;

use crate::endpoint::Endpoint;
use crate::pubsub::GlobPattern;
use crate::pubsub::RelayDecision;
use crate::wire::spot::{
    AckStatus, AckedRequest, Capabilities, DirectoryPage, Envelope, Hello, MemberInfo,
    MemberListPage, NodeId, OwnedTopics, RelayedPublish, SpotCommand, SubscribeAck, Topic,
    TopicOwner,
};
use crate::wire::zmtp::{Message, Subscription};

use super::conn::{Direction, Remote};
use super::routing::Origin;
use super::{ConnectionId, Node, NodeEvent, OUR_CAPABILITIES};
use crate::pubsub::TopicChange;

impl Node {
    /// A data message arrived on `conn`.
    pub(super) fn on_message(&mut self, conn: ConnectionId, message: Message) {
        let Some(c) = self.conns.get(&conn) else { return };
        let from = c.shared_peer_endpoint();
        match (&c.direction, &c.remote) {
            (_, Remote::Publisher) => self.on_foreign_publish(from.as_deref(), &message),
            // SUB peers send nothing but subscriptions (the link turns 0x01/0x00 into events).
            (Direction::Inbound, Remote::Subscriber) => self.stats.malformed += 1,
            _ => match SpotCommand::decode_message(message, &self.config.limits) {
                Ok(command) => match from {
                    Some(endpoint) => self.on_answer(conn, &endpoint, command),
                    None => self.on_request(conn, command),
                },
                Err(_) => self.stats.malformed += 1,
            },
        }
    }

    /// `[topic][payload]` from a PUB/XPUB peer we consume as XSUB.
    fn on_foreign_publish(&mut self, from: Option<&Endpoint>, message: &Message) {
        let frames = message.frames();
        let (topic, payload) = match frames {
            [topic] => (topic, Bytes::new()),
            [topic, payload] => (topic, payload.clone()),
            _ => {
                self.stats.malformed += 1;
                return;
            }
        };
        match Topic::new(topic.clone(), &self.config.limits) {
            Ok(topic) => self.on_forwarded(topic, payload, from, None),
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// A SUBSCRIBE/CANCEL (either ZMTP form) from a SUB/XSUB peer we serve as XPUB.
    pub(super) fn on_zmq_subscription(&mut self, conn: ConnectionId, change: Subscription) {
        let is_subscriber = self.conns.get(&conn).is_some_and(|c| c.remote == Remote::Subscriber);
        if !is_subscriber {
            self.stats.malformed += 1;
            return;
        }
        match change {
            Subscription::Subscribe(prefix) => {
                if !self.subscribers.add_prefix(prefix, conn) {
                    self.stats.malformed += 1;
                }
            }
            Subscription::Cancel(prefix) => {
                self.subscribers.remove_prefix(&prefix, conn);
            }
        }
        self.reconcile_all();
    }

    /// A command on a connection we dialed: answers and forwarded publishes from `endpoint`.
    fn on_answer(&mut self, conn: ConnectionId, endpoint: &Endpoint, command: SpotCommand) {
        match command {
            SpotCommand::QueryResp { topics } => {
                let owner = self.owner_of_connection(conn, endpoint);
                self.replace_owner_topics(&owner, endpoint, topics);
                self.peer_synced(endpoint);
            }
            SpotCommand::Publish { topic, data } => {
                self.on_forwarded(topic, data, Some(endpoint), None);
            }
            SpotCommand::RelayedPublish(relay) => {
                let (topic, data) = (relay.topic.clone(), relay.data.clone());
                self.on_forwarded(topic, data, Some(endpoint), Some(relay));
            }
            SpotCommand::PushPullResp(message) => {
                if let Some(membership) = self.membership.as_mut() {
                    membership.handle_push_pull(self.now, endpoint.clone(), message);
                }
            }
            SpotCommand::DirectoryResp(page) => self.apply_directory_page(page),
            SpotCommand::TopicCreated { .. } | SpotCommand::TopicDestroyed { .. } => {
                self.on_topic_notice(command);
            }
            SpotCommand::SubscribeAck(_) | SpotCommand::HelloAck(_) => {}
            SpotCommand::MemberListResp(_) => {}
            SpotCommand::Unknown { .. } => self.stats.unknown_commands += 1,
            // A request on the wrong side of the connection: not for us.
            _ => self.stats.malformed += 1,
        }
    }

    /// A command on a connection a peer dialed: requests, which we answer on it.
    fn on_request(&mut self, conn: ConnectionId, command: SpotCommand) {
        match command {
            SpotCommand::Publish { topic, data } => self.on_peer_publish(&topic, &data, None),
            SpotCommand::RelayedPublish(relay) => {
                let (topic, data) = (relay.topic.clone(), relay.data.clone());
                self.on_peer_publish(&topic, &data, Some(relay));
            }
            SpotCommand::Subscribe { topic } => {
                let status = if self.directory.exists(topic.as_str()) {
                    if self.subscribers.add_exact(&topic, conn) {
                        self.reconcile_topic(&topic);
                    }
                    AckStatus::Ok
                } else {
                    AckStatus::NotFound
                };
                self.ack(conn, AckedRequest::Subscribe(topic), status);
            }
            SpotCommand::Unsubscribe { topic } => {
                let status = if self.subscribers.remove_exact(&topic, conn) {
                    self.reconcile_topic(&topic);
                    AckStatus::Ok
                } else {
                    AckStatus::NotFound
                };
                self.ack(conn, AckedRequest::Unsubscribe(topic), status);
            }
            SpotCommand::PatternSubscribe { pattern } => {
                let status = match GlobPattern::new(pattern.clone()) {
                    Ok(glob) => {
                        if self.subscribers.add_pattern(glob, conn) {
                            self.reconcile_all();
                        }
                        AckStatus::Ok
                    }
                    Err(_) => AckStatus::Invalid,
                };
                self.ack(conn, AckedRequest::PatternSubscribe(pattern), status);
            }
            SpotCommand::PatternUnsubscribe { pattern } => {
                let status = if self.subscribers.remove_pattern(pattern.as_str(), conn) {
                    self.reconcile_all();
                    AckStatus::Ok
                } else {
                    AckStatus::NotFound
                };
                self.ack(conn, AckedRequest::PatternUnsubscribe(pattern), status);
            }
            SpotCommand::Query => {
                let topics = self.directory.local_topics();
                self.answer(conn, SpotCommand::QueryResp { topics });
            }
            SpotCommand::DirectoryQuery { request_id } => {
                for page in self.directory_pages(request_id) {
                    self.answer(conn, SpotCommand::DirectoryResp(page));
                }
            }
            SpotCommand::MemberListQuery { request_id } => {
                for page in self.member_pages(request_id) {
                    self.answer(conn, SpotCommand::MemberListResp(page));
                }
            }
            SpotCommand::PushPullReq(message) => {
                let from = self.conns.get(&conn).and_then(|c| self.endpoint_of_node(&c.remote));
                let response = match (self.membership.as_mut(), from) {
                    (Some(membership), Some(from)) => {
                        membership.handle_push_pull(self.now, from, message)
                    }
                    _ => None,
                };
                if let Some(response) = response {
                    self.answer(conn, SpotCommand::PushPullResp(response));
                }
            }
            SpotCommand::Hello(_) => {
                if let Some(endpoint) = self.advertised.clone() {
                    let hello = Hello {
                        version: crate::wire::spot::PROTOCOL_VERSION,
                        capabilities: OUR_CAPABILITIES,
                        node_id: self.id.clone(),
                        endpoint,
                    };
                    self.answer(conn, SpotCommand::HelloAck(hello));
                }
            }
            SpotCommand::TopicCreated { .. } | SpotCommand::TopicDestroyed { .. } => {
                self.on_topic_notice(command);
            }
            SpotCommand::Unknown { .. } => self.stats.unknown_commands += 1,
            // Answers on the wrong side of the connection: not for us.
            _ => self.stats.malformed += 1,
        }
    }

    /// A peer's PUBLISH (or RELAYED_PUBLISH): fan it out if we own the topic; pass it toward
    /// the owner if we know one (as a relay: with an origin header and a hop count, so two
    /// nodes that each think the other owns a topic cannot bounce it forever).
    fn on_peer_publish(&mut self, topic: &Topic, data: &Bytes, relay: Option<RelayedPublish>) {
        let mut at_hop_limit = false;
        let header = match relay {
            None => None,
            Some(header) => match self.relay.on_relayed(&header) {
                RelayDecision::Forward { hops } => Some(RelayedPublish { hops, ..header }),
                RelayDecision::Deliver => {
                    at_hop_limit = true;
                    Some(header)
                }
                RelayDecision::Duplicate | RelayDecision::OwnEcho => {
                    self.stats.dropped_relay += 1;
                    return;
                }
            },
        };
        if self.directory.is_local(&topic) {
            let _ = self.fan_out(topic, data, Origin::Owner, false);
            self.deliver_local(topic.clone(), data.clone(), None);
            return;
        }
        let Some(owner) = self.directory.owner_of(&topic).cloned() else {
            self.stats.dropped_unroutable += 1;
            return;
        };
        if at_hop_limit {
            // The hop limit is reached: it is not passed on.
            self.stats.dropped_relay += 1;
            return;
        }
        let speaks_relay = self
            .peers
            .get(&owner.endpoint)
            .and_then(|p| p.conn)
            .and_then(|conn| self.conns.get(&conn))
            .is_some_and(|c| c.remote.has(Capabilities::RELAY));
        let command = if speaks_relay {
            let header =
                header.unwrap_or_else(|| self.relay.originate(topic.clone(), data.clone()));
            SpotCommand::RelayedPublish(header)
        } else {
            SpotCommand::Publish { topic: topic.clone(), data: data.clone() }
        };
        if !self.send_data(&owner.endpoint, command) {
            self.stats.dropped_unroutable += 1;
        }
    }

    /// Sends a data command to the node at `endpoint` (our outbound connection, under its HWM);
    /// false when it had to be dropped.
    pub(super) fn send_data(&mut self, endpoint: &Endpoint, command: SpotCommand) -> bool {
        self.ensure_connection(endpoint);
        let Some(conn) = self.peers.get(endpoint).and_then(|p| p.conn) else { return false };
        let Some(c) = self.conns.get_mut(&conn) else { return false };
        c.dirty = true;
        let queued = matches!(
            c.link.send(Message::from_frames(command.encode(Envelope::Bare))),
            Ok(crate::link::SendOutcome::Queued)
        );
        if !queued {
            self.stats.dropped_send_hwm += 1;
        }
        queued
    }

    /// Sends an answer on inbound connection `conn` (ROUTER side: with the empty delimiter).
    fn answer(&mut self, conn: ConnectionId, command: SpotCommand) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.dirty = true;
            let _ = c.link.send_control(Message::from_frames(command.encode(Envelope::Delimited)));
        }
    }

    /// Acknowledges a subscription request, to peers that announced SUBSCRIBE_ACK.
    fn ack(&mut self, conn: ConnectionId, request: AckedRequest, status: AckStatus) {
        let wants_ack =
            self.conns.get(&conn).is_some_and(|c| c.remote.has(Capabilities::SUBSCRIBE_ACK));
        if wants_ack {
            self.answer(conn, SpotCommand::SubscribeAck(SubscribeAck { request, status }));
        }
    }

    /// The node id that owns what `endpoint` answers for.
    fn owner_of_connection(&self, conn: ConnectionId, endpoint: &Endpoint) -> NodeId {
        self.conns
            .get(&conn)
            .and_then(|c| c.remote.node_id().cloned())
            .or_else(|| self.peers.get(endpoint).map(|p| p.node_id.clone()))
            .unwrap_or_else(|| crate::swim::default_node_id(endpoint))
    }

    /// The advertised endpoint of the SPOT node on the other end, when known.
    fn endpoint_of_node(&self, remote: &Remote) -> Option<Endpoint> {
        let id = remote.node_id()?;
        self.peers
            .iter()
            .find(|(_, p)| &p.node_id == id)
            .map(|(e, _)| e.clone())
            .or_else(|| self.membership.as_ref()?.member(id).map(|m| m.endpoint.clone()))
    }

    /// Makes `topics` the complete set `owner` (at `endpoint`) owns, with events for what came
    /// and went, and reconciles our subscriptions.
    pub(super) fn replace_owner_topics(
        &mut self,
        owner: &NodeId,
        endpoint: &Endpoint,
        topics: Vec<Topic>,
    ) {
        let owner = TopicOwner { id: owner.clone(), endpoint: endpoint.clone() };
        let changes = self.directory.apply_owner_topics(owner, topics);
        self.apply_changes(changes);
    }

    /// Acts on what changed in the directory: events, our subscriptions moved from a topic's old
    /// owner to its new one (or dropped with it).
    pub(super) fn apply_changes(&mut self, changes: impl IntoIterator<Item = TopicChange>) {
        for change in changes {
            if change.is_noop() {
                continue;
            }
            let topic = change.topic.clone();
            if let Some(before) = change.owner_before()
                && change.owner_after() != Some(before)
            {
                self.drop_subscription_at(&before.endpoint, &topic);
                self.events.push_back(NodeEvent::TopicLost {
                    topic: topic.clone(),
                    owner: before.id.clone(),
                });
            }
            if let Some(after) = change.owner_after()
                && change.owner_before() != Some(after)
            {
                self.events.push_back(NodeEvent::TopicDiscovered {
                    topic: topic.clone(),
                    owner: after.id.clone(),
                });
            }
            if change.after.as_ref().is_some_and(|l| l.is_local()) && change.before.is_some() {
                // A REMOTE topic became ours: nothing to subscribe to elsewhere.
                continue;
            }
            self.reconcile_topic(&topic);
        }
    }

    /// Stops our subscription to `topic` at `endpoint`, telling it when the link is up (it may
    /// still hold it as a relay).
    fn drop_subscription_at(&mut self, endpoint: &Endpoint, topic: &Topic) {
        let Some(peer) = self.peers.get_mut(endpoint) else { return };
        if !peer.subscribed.remove(topic) || peer.as_subscriber {
            return;
        }
        if let Some(c) = peer.conn.and_then(|conn| self.conns.get_mut(&conn)) {
            let unsubscribe = SpotCommand::Unsubscribe { topic: topic.clone() };
            c.dirty = true;
            let _ = c.link.send_control(Message::from_frames(unsubscribe.encode(Envelope::Bare)));
        }
    }

    /// Drops every topic `owner` had (other claimants may take some over).
    pub(super) fn drop_owner(&mut self, owner: &NodeId) {
        let changes = self.directory.drop_owner(owner);
        self.apply_changes(changes);
    }

    /// TOPIC_CREATED / TOPIC_DESTROYED from any node.
    fn on_topic_notice(&mut self, command: SpotCommand) {
        let change = match command {
            SpotCommand::TopicCreated { owner, topic }
                if !self.blocked.contains(&owner.endpoint) =>
            {
                self.directory.apply_topic_created(owner, topic)
            }
            SpotCommand::TopicDestroyed { owner, topic } => {
                self.directory.apply_topic_destroyed(&owner, &topic)
            }
            _ => None,
        };
        self.apply_changes(change);
    }

    /// Merges one DIRECTORY_RESP page (each owner's list is what that page says it has).
    fn apply_directory_page(&mut self, page: DirectoryPage) {
        let owners: Vec<OwnedTopics> = page
            .owners
            .into_iter()
            .filter(|owned| !self.blocked.contains(&owned.owner.endpoint))
            .collect();
        let changes = self.directory.apply_directory(owners);
        self.apply_changes(changes);
    }

    /// Our directory (LOCAL and REMOTE topics with owners), in pages within the limits.
    fn directory_pages(&self, request_id: u32) -> Vec<DirectoryPage> {
        let Some(endpoint) = &self.advertised else {
            return vec![DirectoryPage { request_id, last: true, owners: Vec::new() }];
        };
        let per_page = self.config.limits.max_topics_per_query_resp;
        self.directory.directory_pages(request_id, endpoint, per_page)
    }

    /// Our membership table, in pages within the limits: this node first (while it is a
    /// member), then every remote member it knows.
    fn member_pages(&self, request_id: u32) -> Vec<MemberListPage> {
        let mut members: Vec<MemberInfo> = Vec::new();
        if let Some(membership) = self.membership.as_ref() {
            let local = membership.local();
            let us = MemberInfo {
                id: local.id.clone(),
                endpoint: local.endpoint.clone(),
                state: crate::wire::spot::MemberState::Alive,
                incarnation: membership.incarnation(),
                tags: local.tags.clone(),
            };
            members.extend(membership.is_joined().then_some(us));
            members.extend(membership.members().map(|member| member.to_info()));
        }
        let per_page = self.config.limits.max_members_per_resp.max(1);
        let mut pages: Vec<MemberListPage> = members
            .chunks(per_page)
            .map(|chunk| MemberListPage { request_id, last: false, members: chunk.to_vec() })
            .collect();
        if pages.is_empty() {
            pages.push(MemberListPage { request_id, last: false, members: Vec::new() });
        }
        if let Some(last) = pages.last_mut() {
            last.last = true;
        }
        pages
    }
}
