//! Where a publish goes: the table of subscribing connections, fan-out, local delivery, and the
//! reconciliation of what we subscribe to at REMOTE topics' owners.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::collections::FxHashMap;
use crate::endpoint::Endpoint;
use crate::error::NodeError;
use crate::link::{HwmPolicy, SendOutcome};
use crate::pubsub::{GlobPattern, RelayDecision};
use crate::wire::spot::{Capabilities, Envelope, RelayedPublish, SpotCommand, Topic};
use crate::wire::zmtp::Message;

use super::conn::Remote;
use super::{ConnectionId, Delivery, Node};

/// Most subscriptions one connection may hold here (exact, pattern and prefix together): a
/// hostile peer costs bounded memory.
pub(crate) const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100_000;

/// The connections subscribed to topics at this node: SPOT nodes and clients by exact topic or
/// pattern (they sent SUBSCRIBE / PATTERN_SUBSCRIBE), ZeroMQ SUB/XSUB peers by byte prefix.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    exact: FxHashMap<Topic, Vec<ConnectionId>>,
    patterns: Vec<(GlobPattern, ConnectionId)>,
    /// ZeroMQ semantics: a prefix subscribed twice must be cancelled twice.
    prefixes: Vec<(Bytes, ConnectionId)>,
    per_connection: BTreeMap<ConnectionId, usize>,
}

impl Subscribers {
    fn admit(&mut self, conn: ConnectionId) -> bool {
        let held = self.per_connection.entry(conn).or_default();
        if *held >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
            return false;
        }
        *held += 1;
        true
    }

    fn release(&mut self, conn: ConnectionId) {
        if let Some(held) = self.per_connection.get_mut(&conn) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                self.per_connection.remove(&conn);
            }
        }
    }

    /// Adds an exact subscription; false if it was there already or the connection is full.
    pub(crate) fn add_exact(&mut self, topic: &Topic, conn: ConnectionId) -> bool {
        if self.exact.get(topic).is_some_and(|conns| conns.contains(&conn)) || !self.admit(conn) {
            return false;
        }
        self.exact.entry(topic.clone()).or_default().push(conn);
        true
    }

    /// Removes an exact subscription; false if there was none.
    pub(crate) fn remove_exact(&mut self, topic: &Topic, conn: ConnectionId) -> bool {
        let Some(conns) = self.exact.get_mut(topic) else { return false };
        let Some(at) = conns.iter().position(|c| *c == conn) else { return false };
        conns.remove(at);
        if conns.is_empty() {
            self.exact.remove(topic);
        }
        self.release(conn);
        true
    }

    /// Adds a pattern subscription; false if it was there already or the connection is full.
    pub(crate) fn add_pattern(&mut self, pattern: GlobPattern, conn: ConnectionId) -> bool {
        if self.patterns.iter().any(|(p, c)| *c == conn && p.as_str() == pattern.as_str())
            || !self.admit(conn)
        {
            return false;
        }
        self.patterns.push((pattern, conn));
        true
    }

    /// Removes a pattern subscription; false if there was none.
    pub(crate) fn remove_pattern(&mut self, pattern: &str, conn: ConnectionId) -> bool {
        let Some(at) = self.patterns.iter().position(|(p, c)| *c == conn && p.as_str() == pattern)
        else {
            return false;
        };
        self.patterns.remove(at);
        self.release(conn);
        true
    }

    /// Adds a ZeroMQ prefix subscription (duplicates count).
    pub(crate) fn add_prefix(&mut self, prefix: Bytes, conn: ConnectionId) -> bool {
        if !self.admit(conn) {
            return false;
        }
        self.prefixes.push((prefix, conn));
        true
    }

    /// Cancels one ZeroMQ prefix subscription.
    pub(crate) fn remove_prefix(&mut self, prefix: &[u8], conn: ConnectionId) -> bool {
        let Some(at) = self.prefixes.iter().position(|(p, c)| *c == conn && &p[..] == prefix)
        else {
            return false;
        };
        self.prefixes.remove(at);
        self.release(conn);
        true
    }

    /// Drops everything `conn` held; returns how many subscriptions that was.
    pub(crate) fn remove_connection(&mut self, conn: ConnectionId) -> usize {
        let Some(held) = self.per_connection.remove(&conn) else { return 0 };
        self.exact.retain(|_, conns| {
            conns.retain(|c| *c != conn);
            !conns.is_empty()
        });
        self.patterns.retain(|(_, c)| *c != conn);
        self.prefixes.retain(|(_, c)| *c != conn);
        held
    }

    /// Drops every exact subscription to `topic` (it was destroyed).
    pub(crate) fn remove_topic(&mut self, topic: &Topic) {
        if let Some(conns) = self.exact.remove(topic) {
            for conn in conns {
                self.release(conn);
            }
        }
    }

    /// The connections `topic` goes to, each once, in connection order.
    pub(crate) fn matching(&self, topic: &Topic, out: &mut Vec<ConnectionId>) {
        out.clear();
        if let Some(conns) = self.exact.get(topic) {
            out.extend_from_slice(conns);
        }
        let text = topic.as_str();
        out.extend(self.patterns.iter().filter(|(p, _)| p.matches(text)).map(|(_, c)| *c));
        let bytes = topic.as_bytes();
        out.extend(self.prefixes.iter().filter(|(p, _)| bytes.starts_with(p)).map(|(_, c)| *c));
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }

    /// Whether any connection wants `topic`.
    pub(crate) fn wants(&self, topic: &Topic) -> bool {
        self.exact.contains_key(topic)
            || self.patterns.iter().any(|(p, _)| p.matches(topic.as_str()))
            || self.prefixes.iter().any(|(p, _)| topic.as_bytes().starts_with(p))
    }
}

/// Where a message being fanned out came from.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// Published here, on one of our LOCAL topics (by our user or a peer's PUBLISH).
    Owner,
    /// Passed on by us as a relay: the copies carry this origin header (to peers that
    /// announced RELAY; others get a plain PUBLISH).
    Relayed(RelayedPublish),
}

impl Node {
    /// Whether this node wants `topic` delivered: its user subscribes (exactly or by pattern),
    /// or a connection here subscribes (then we relay).
    pub(crate) fn interested(&self, topic: &Topic) -> bool {
        self.local_exact.contains(topic)
            || self.local_patterns.iter().any(|p| p.matches(topic.as_str()))
            || self.subscribers.wants(topic)
    }

    /// Brings our subscription at a REMOTE topic's owner in line with our interest in it.
    pub(crate) fn reconcile_topic(&mut self, topic: &Topic) {
        let Some(remote) = self.directory.owner_of(&topic).cloned() else { return };
        let interested = self.interested(topic);
        let held = self.peers.get(&remote.endpoint).is_some_and(|p| p.subscribed.contains(topic));
        if interested == held {
            return;
        }
        self.ensure_connection(&remote.endpoint);
        let peer = self.peer_mut(&remote.endpoint);
        peer.wanted.routed = true;
        if interested {
            peer.subscribed.insert(topic.clone());
        } else {
            peer.subscribed.remove(topic);
        }
        let as_subscriber = peer.as_subscriber;
        let Some(conn) = peer.conn else { return };
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.dirty = true;
        let prefix = topic.as_bytes().clone();
        let _ = match (as_subscriber, interested) {
            (true, true) => c.link.subscribe(prefix).map_err(drop),
            (true, false) => c.link.cancel(prefix).map_err(drop),
            (false, true) => {
                let command = SpotCommand::Subscribe { topic: topic.clone() };
                c.link
                    .send_control(Message::from_frames(command.encode(Envelope::Bare)))
                    .map_err(drop)
            }
            (false, false) => {
                let command = SpotCommand::Unsubscribe { topic: topic.clone() };
                c.link
                    .send_control(Message::from_frames(command.encode(Envelope::Bare)))
                    .map_err(drop)
            }
        };
    }

    /// Reconciles every REMOTE topic (after a change that may touch many: a connection with
    /// patterns closed, a pattern subscription came or went).
    pub(crate) fn reconcile_all(&mut self) {
        let topics: Vec<Topic> = self
            .directory
            .list_topics()
            .into_iter()
            .filter(|entry| !entry.location.is_local())
            .map(|entry| entry.topic)
            .collect();
        for topic in topics {
            self.reconcile_topic(&topic);
        }
    }

    /// Puts a message in the receive queue if our user subscribes to its topic (once, however
    /// many subscriptions match), bounded by the receive high-water marks.
    pub(crate) fn deliver_local(&mut self, topic: Topic, payload: Bytes, from: Option<&Endpoint>) {
        let exact = self.local_exact.contains(&topic);
        let patterns: Vec<usize> = if self.local_patterns.is_empty() {
            Vec::new()
        } else {
            let name = topic.as_str();
            let matching = self.local_patterns.iter().enumerate().filter(|(_, p)| p.matches(name));
            matching.map(|(i, _)| i).collect()
        };
        if !exact && patterns.is_empty() {
            return;
        }
        if self.received.len() >= self.config.recv_queue_capacity {
            self.stats.dropped_recv_hwm += 1;
            return;
        }
        if let Some(peer) = from.and_then(|endpoint| self.peers.get_mut(endpoint)) {
            if peer.recv_queued >= peer.recv_hwm {
                peer.dropped += 1;
                self.stats.dropped_recv_hwm += 1;
                return;
            }
            peer.recv_queued += 1;
        }
        self.stats.received_messages += 1;
        self.stats.received_bytes += payload.len() as u64;
        let delivery = Delivery { topic, payload, exact, patterns };
        self.received.push_back(delivery);
        match self.received_from.back_mut() {
            Some((source, count)) if source.as_ref() == from => *count += 1,
            _ => self.received_from.push_back((from.cloned(), 1)),
        }
    }

    /// Sends a message on `topic` to every subscribing connection, once each. With the
    /// `WouldBlock` policy and a local publish, nothing is sent if any target is full.
    pub(crate) fn fan_out(
        &mut self,
        topic: &Topic,
        data: &Bytes,
        origin: Origin,
        blocking_check: bool,
    ) -> Result<(), NodeError> {
        // A reused buffer: no allocation per publish.
        let mut targets = std::mem::take(&mut self.fan_out_scratch);
        targets.clear();
        self.subscribers.matching(topic, &mut targets);
        if targets.is_empty() {
            self.fan_out_scratch = targets;
            return Ok(());
        }
        if blocking_check && self.config.hwm_policy == HwmPolicy::WouldBlock {
            let full = targets
                .iter()
                .filter_map(|conn| self.conns.get(conn))
                .any(|c| c.link.queued_messages() >= c.link.config().data_hwm);
            if full {
                self.fan_out_scratch = targets;
                return Err(NodeError::WouldBlock);
            }
        }
        let relay_header = match origin {
            Origin::Owner => None,
            Origin::Relayed(header) => Some(header),
        };
        for &conn in &targets {
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            let sent = match (&c.remote, &relay_header) {
                (Remote::Subscriber, _) => c.link.send_frames(&[topic.as_bytes(), data]),
                (remote, Some(header)) if remote.has(Capabilities::RELAY) => {
                    let command = SpotCommand::RelayedPublish(RelayedPublish {
                        topic: topic.clone(),
                        data: data.clone(),
                        ..header.clone()
                    });
                    c.link.send(Message::from_frames(command.encode(Envelope::Delimited)))
                }
                _ => {
                    let (frames, n) = SpotCommand::publish_frames(topic, data, Envelope::Delimited);
                    c.link.send_frames(&frames[..n])
                }
            };
            // Sending data raises no link event: the connection only has bytes to write.
            if c.connected && !c.write_queued {
                c.write_queued = true;
                self.writable.push_back(conn);
            }
            match sent {
                Ok(SendOutcome::Queued) => self.stats.forwarded += 1,
                Ok(_) | Err(_) => self.stats.dropped_send_hwm += 1,
            }
        }
        self.fan_out_scratch = targets;
        Ok(())
    }

    /// A message on `topic` reached this node as a subscriber (from its owner or a relay):
    /// deliver it locally and pass it on to connections that subscribe through us.
    pub(crate) fn on_forwarded(
        &mut self,
        topic: Topic,
        data: Bytes,
        from: Option<&Endpoint>,
        relay: Option<RelayedPublish>,
    ) {
        // One path per topic: only the node our directory names for it may send it to us. A
        // copy by any other path (a stale owner, a relay we no longer use, a prefix match from a
        // foreign publisher) would be a duplicate or a stray, so it is dropped and counted.
        let on_path = match (self.directory.owner_of(&topic), from) {
            (Some(remote), Some(from)) => &remote.endpoint == from,
            _ => false,
        };
        if !on_path {
            self.stats.dropped_off_path += 1;
            return;
        }
        let header = match relay {
            // First relay hop: we become the origin of the relayed copies (only when someone
            // subscribes through us: a sequence number is spent per relayed message).
            None if !self.subscribers.wants(&topic) => {
                self.deliver_local(topic, data, from);
                return;
            }
            None => self.relay.originate(topic.clone(), data.clone()),
            Some(header) => match self.relay.on_relayed(&header) {
                RelayDecision::Forward { hops } => RelayedPublish { hops, ..header },
                RelayDecision::Deliver => {
                    self.deliver_local(topic, data, from);
                    return;
                }
                RelayDecision::Duplicate | RelayDecision::OwnEcho => {
                    self.stats.dropped_relay += 1;
                    return;
                }
            },
        };
        if self.subscribers.wants(&topic) {
            let _ = self.fan_out(&topic, &data, Origin::Relayed(header), false);
        }
        self.deliver_local(topic, data, from);
    }
}
