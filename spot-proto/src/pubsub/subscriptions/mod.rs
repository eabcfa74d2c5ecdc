//! Subscriptions and the routing decision for a publish.
//!
//! [`Subscriptions`] holds three things:
//!
//! * **local subscriptions** of this node's application: exact topics and glob patterns, each
//!   with a [`SubscriptionId`] so that a driver's per-subscription streams each get a message
//!   once;
//! * **remote subscribers**: peers (of the caller's key type `P`, e.g. a connection or node id)
//!   that sent SUBSCRIBE or PATTERN_SUBSCRIBE for topics this node serves;
//! * **upstream subscriptions**: the REMOTE topics this node has subscribed to at their owners,
//!   so that it can tell which SUBSCRIBE / UNSUBSCRIBE to send when anything changes.
//!
//! # Upstream interest
//!
//! This node wants a REMOTE topic `T` from its owner when an exact local subscription names `T`,
//! or a local pattern matches `T`, or (with [relay](Subscriptions::set_relay) on, for
//! hub-and-spoke) a remote subscriber's exact topic or pattern covers `T`. It then holds exactly
//! one upstream subscription for `T` at `T`'s current owner: the owner forwards one copy per
//! node, however many local subscriptions match. Every method that can change this returns the
//! [`UpstreamAction`]s that bring the upstream set in line: patterns follow topics learned later
//! (feed [`Subscriptions::on_topic_changes`] with the directory's changes), a topic that moves to
//! another owner is unsubscribed at the old one and subscribed at the new one, and an exact
//! subscription whose topic disappears waits (is *pending*) until the topic comes back.
//!
//! # Delivery
//!
//! [`Subscriptions::route_publish`] (a publish by this node's application) and
//! [`Subscriptions::route_received`] (a publish that came from a peer, as a request to this node
//! or as a forward from an owner) return a
//! [`PublishRoute`]: the matching local subscription ids (deliver once to the receive queue when
//! not empty, whatever the number of ids), the peers to forward one copy each to, and for a
//! publish on a REMOTE topic the owner to send it to.
//!
//! # Cost
//!
//! Exact lookups are one FxHash lookup. Patterns are kept in a list and every pattern is tried
//! against the topic, so routing costs O(exact) + O(patterns × match cost) per publish (see
//! [`super::pattern`] for the match cost); subscribing a pattern scans the directory once
//! (O(topics × match cost)). Every remote peer's subscriptions are bounded
//! ([`Subscriptions::with_max_per_peer`]).

mod outcome;
mod remote;

use std::collections::{BTreeMap, BTreeSet};

use crate::collections::FxHashMap;
use crate::error::NodeError;
use crate::wire::spot::{NodeId, Topic, TopicOwner};

use super::directory::{Location, TopicChange, TopicDirectory, check_topic, parse_topic};
use super::pattern::GlobPattern;

pub use outcome::{
    Arrival, PeerDropped, PublishRoute, RemoteInterest, RemoteSubscribed, Subscribed,
    SubscriptionId, SubscriptionStats, SubscriptionTarget, UnknownTopic, Unsubscribed,
    UpstreamAction,
};

/// The default bound on subscriptions one remote peer may hold here.
pub const DEFAULT_MAX_PER_PEER: usize = 100_000;

/// A remote pattern and the peers holding it.
#[derive(Clone, Debug)]
struct RemotePattern<P> {
    glob: GlobPattern,
    peers: BTreeSet<P>,
}

/// What one remote peer holds, for bounds and for [`Subscriptions::drop_peer`].
#[derive(Clone, Debug)]
struct PeerHoldings {
    topics: BTreeSet<Topic>,
    patterns: BTreeSet<GlobPattern>,
}

impl PeerHoldings {
    fn len(&self) -> usize {
        self.topics.len() + self.patterns.len()
    }
}

/// Local subscriptions, remote subscribers and upstream subscriptions (see the
/// [module documentation](self)). `P` identifies a remote peer.
#[derive(Clone, Debug)]
pub struct Subscriptions<P> {
    next_id: u64,
    exact: FxHashMap<Topic, SubscriptionId>,
    patterns: Vec<(GlobPattern, SubscriptionId)>,
    remote_exact: FxHashMap<Topic, BTreeSet<P>>,
    remote_patterns: Vec<RemotePattern<P>>,
    holdings: BTreeMap<P, PeerHoldings>,
    upstream: FxHashMap<Topic, TopicOwner>,
    relay: bool,
    max_per_peer: usize,
    stats: SubscriptionStats,
}

impl<P: Clone + Ord> Default for Subscriptions<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Clone + Ord> Subscriptions<P> {
    /// No subscriptions; relay off.
    pub fn new() -> Self {
        Subscriptions {
            next_id: 1,
            exact: FxHashMap::default(),
            patterns: Vec::new(),
            remote_exact: FxHashMap::default(),
            remote_patterns: Vec::new(),
            holdings: BTreeMap::new(),
            upstream: FxHashMap::default(),
            relay: false,
            max_per_peer: DEFAULT_MAX_PER_PEER,
            stats: SubscriptionStats::default(),
        }
    }

    /// Sets the bound on subscriptions (exact and pattern together) one remote peer may hold.
    pub fn with_max_per_peer(mut self, max_per_peer: usize) -> Self {
        self.max_per_peer = max_per_peer;
        self
    }

    /// Turns relaying on or off: with relay on, remote subscribers' interest in REMOTE topics
    /// makes this node subscribe at the owner and forward (hub-and-spoke). Returns the upstream
    /// actions the switch causes.
    pub fn set_relay(&mut self, relay: bool, directory: &TopicDirectory) -> Vec<UpstreamAction> {
        self.relay = relay;
        self.reconcile_all(directory)
    }

    /// Whether relaying is on.
    pub fn relay(&self) -> bool {
        self.relay
    }

    /// The counters.
    pub fn stats(&self) -> SubscriptionStats {
        self.stats
    }

    // ---- local subscriptions ---------------------------------------------------------------

    /// `subscribe(topic)`. Errors: [`NodeError::InvalidTopic`]; [`NodeError::AlreadySubscribed`]
    /// (EEXIST) when subscribed already; [`NodeError::TopicNotFound`] (ENOENT) when the
    /// directory does not know the topic and `unknown` is [`UnknownTopic::Reject`].
    pub fn subscribe(
        &mut self,
        topic: &str,
        directory: &TopicDirectory,
        unknown: UnknownTopic,
    ) -> Result<Subscribed, NodeError> {
        let topic = parse_topic(topic, directory.limits())?;
        if self.exact.contains_key(topic.as_bytes().as_ref()) {
            return Err(NodeError::AlreadySubscribed(topic.as_str().to_owned()));
        }
        let known = directory.exists(topic.as_str());
        if !known && unknown == UnknownTopic::Reject {
            return Err(NodeError::TopicNotFound(topic.as_str().to_owned()));
        }
        let id = self.allocate_id();
        self.exact.insert(topic.clone(), id);
        self.stats.subscribes += 1;
        let actions = self.reconcile(&topic, directory);
        Ok(Subscribed { id, actions, pending: !known })
    }

    /// `unsubscribe(topic)`. [`NodeError::NotSubscribed`] (ENOENT) when not subscribed.
    pub fn unsubscribe(
        &mut self,
        topic: &str,
        directory: &TopicDirectory,
    ) -> Result<Unsubscribed, NodeError> {
        let topic = parse_topic(topic, directory.limits())?;
        let Some(id) = self.exact.remove(topic.as_bytes().as_ref()) else {
            return Err(NodeError::NotSubscribed(topic.as_str().to_owned()));
        };
        self.stats.unsubscribes += 1;
        let actions = self.reconcile(&topic, directory);
        Ok(Unsubscribed { id, actions })
    }

    /// `subscribe_pattern(pattern)`: matches every topic in the directory now and every topic
    /// learned later. Errors: [`NodeError::InvalidPattern`]; [`NodeError::AlreadySubscribed`]
    /// (EEXIST) for a pattern subscribed already (same text).
    pub fn subscribe_pattern(
        &mut self,
        pattern: &str,
        directory: &TopicDirectory,
    ) -> Result<Subscribed, NodeError> {
        let glob = GlobPattern::parse(pattern, directory.limits())?;
        if self.patterns.iter().any(|(p, _)| p == &glob) {
            return Err(NodeError::AlreadySubscribed(pattern.to_owned()));
        }
        let id = self.allocate_id();
        let actions = self.reconcile_matching(&glob, directory);
        self.patterns.push((glob, id));
        let actions = self.finish_reconcile(actions, directory);
        self.stats.pattern_subscribes += 1;
        Ok(Subscribed { id, actions, pending: false })
    }

    /// `unsubscribe_pattern(pattern)`. [`NodeError::NotSubscribed`] (ENOENT) when the pattern
    /// (same text) is not subscribed.
    pub fn unsubscribe_pattern(
        &mut self,
        pattern: &str,
        directory: &TopicDirectory,
    ) -> Result<Unsubscribed, NodeError> {
        let Some(at) = self.patterns.iter().position(|(p, _)| p.as_str() == pattern) else {
            return Err(NodeError::NotSubscribed(pattern.to_owned()));
        };
        let (glob, id) = self.patterns.remove(at);
        self.stats.pattern_unsubscribes += 1;
        let candidates = self.reconcile_matching(&glob, directory);
        Ok(Unsubscribed { id, actions: self.finish_reconcile(candidates, directory) })
    }

    /// Removes a subscription by id (exact or pattern). [`NodeError::NotSubscribed`] when no
    /// such subscription exists.
    pub fn unsubscribe_id(
        &mut self,
        id: SubscriptionId,
        directory: &TopicDirectory,
    ) -> Result<Unsubscribed, NodeError> {
        if let Some(topic) = self.exact.iter().find(|(_, v)| **v == id).map(|(t, _)| t.clone()) {
            return self.unsubscribe(topic.as_str(), directory);
        }
        if let Some(text) = self.patterns.iter().find(|(_, v)| *v == id).map(|(p, _)| p.clone()) {
            return self.unsubscribe_pattern(text.as_str(), directory);
        }
        Err(NodeError::NotSubscribed(format!("subscription {}", id.get())))
    }

    /// The exact subscription on `topic`, if any.
    pub fn exact_subscription(&self, topic: &str) -> Option<SubscriptionId> {
        self.exact.get(topic.as_bytes()).copied()
    }

    /// The local subscriptions (exact and pattern) that match `topic`, in id order.
    pub fn local_matches(&self, topic: &str) -> Vec<SubscriptionId> {
        let mut ids: Vec<SubscriptionId> = self.exact_subscription(topic).into_iter().collect();
        ids.extend(self.patterns.iter().filter(|(p, _)| p.matches(topic)).map(|(_, id)| *id));
        ids.sort();
        ids
    }

    /// Every local subscription, in id order.
    pub fn list(&self) -> Vec<(SubscriptionId, SubscriptionTarget)> {
        let mut out: Vec<(SubscriptionId, SubscriptionTarget)> = self
            .exact
            .iter()
            .map(|(t, id)| (*id, SubscriptionTarget::Exact(t.clone())))
            .chain(
                self.patterns.iter().map(|(p, id)| (*id, SubscriptionTarget::Pattern(p.clone()))),
            )
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// Exact subscriptions whose topic the directory does not know (waiting for it), sorted.
    pub fn pending(&self, directory: &TopicDirectory) -> Vec<Topic> {
        let mut out: Vec<Topic> =
            self.exact.keys().filter(|t| !directory.exists(t.as_str())).cloned().collect();
        out.sort();
        out
    }

    // ---- upstream ----------------------------------------------------------------------------

    /// Brings upstream subscriptions in line with directory changes (new REMOTE topics matched
    /// by patterns or awaited by pending subscriptions, topics moved or gone). Actions are in
    /// the changes' order.
    pub fn on_topic_changes(
        &mut self,
        changes: &[TopicChange],
        directory: &TopicDirectory,
    ) -> Vec<UpstreamAction> {
        let mut actions = Vec::new();
        for change in changes {
            actions.extend(self.reconcile(&change.topic, directory));
        }
        actions
    }

    /// Which local patterns match `topic` (e.g. a topic just learned), in id order, and the
    /// owner to SUBSCRIBE at if it is REMOTE.
    pub fn patterns_matching(
        &self,
        topic: &str,
        directory: &TopicDirectory,
    ) -> (Vec<SubscriptionId>, Option<TopicOwner>) {
        let ids: Vec<SubscriptionId> =
            self.patterns.iter().filter(|(p, _)| p.matches(topic)).map(|(_, id)| *id).collect();
        let owner = if ids.is_empty() { None } else { directory.owner_of(topic).cloned() };
        (ids, owner)
    }

    /// Recomputes every upstream subscription from scratch (after an owner's endpoint changed,
    /// or to repair). Actions are sorted by topic.
    pub fn reconcile_all(&mut self, directory: &TopicDirectory) -> Vec<UpstreamAction> {
        let mut topics: BTreeSet<Topic> = self.upstream.keys().cloned().collect();
        topics.extend(self.exact.keys().cloned());
        if self.relay {
            topics.extend(self.remote_exact.keys().cloned());
        }
        if !self.patterns.is_empty() || (self.relay && !self.remote_patterns.is_empty()) {
            topics.extend(directory.list_topics().into_iter().map(|e| e.topic));
        }
        topics.iter().flat_map(|t| self.reconcile(t, directory)).collect()
    }

    /// The owner this node is subscribed at for `topic`, if any.
    pub fn upstream_owner(&self, topic: &str) -> Option<&TopicOwner> {
        self.upstream.get(topic.as_bytes())
    }

    /// The topics this node is subscribed to at `owner` (to resend SUBSCRIBEs after a
    /// reconnect), sorted.
    pub fn upstream_topics_of(&self, owner: &NodeId) -> Vec<Topic> {
        let mut out: Vec<Topic> =
            self.upstream.iter().filter(|(_, o)| &o.id == owner).map(|(t, _)| t.clone()).collect();
        out.sort();
        out
    }

    // ---- routing -------------------------------------------------------------------------------

    /// A publish by this node's application. LOCAL topic: the matching local subscriptions and
    /// every subscribed peer. REMOTE topic: the owner only (local subscribers get the message
    /// when the owner sends it back). Errors: [`NodeError::InvalidTopic`];
    /// [`NodeError::TopicNotFound`] (ENOENT) for a topic the directory does not know.
    pub fn route_publish(
        &mut self,
        topic: &str,
        directory: &TopicDirectory,
    ) -> Result<PublishRoute<P>, NodeError> {
        check_topic(topic, directory.limits())?;
        let route = match directory.location(topic) {
            None => return Err(NodeError::TopicNotFound(topic.to_owned())),
            Some(Location::Local) => PublishRoute {
                local: self.count_matches(topic),
                peers: self.count_peers(topic, None),
                owner: None,
            },
            Some(Location::Remote(owner)) => {
                PublishRoute { local: Vec::new(), peers: Vec::new(), owner: Some(owner) }
            }
        };
        Ok(self.account(route))
    }

    /// A PUBLISH that arrived from `from`; `arrival` says which kind (the connection it came on
    /// tells: a request comes on a connection the peer dialed, a forward on one this node
    /// dialed).
    ///
    /// | arrival | topic here | decision |
    /// |---|---|---|
    /// | request | LOCAL | local subscriptions, and every subscribed peer (`from` too if it subscribes) |
    /// | request | REMOTE, relay on | to the owner only (it fans out; the copy coming back is relayed) |
    /// | request | REMOTE, relay off, or unknown | nothing (counted as not owned) |
    /// | forward | REMOTE or unknown | local subscriptions; with relay on and the topic REMOTE, every subscribed peer except `from` |
    /// | forward | LOCAL | local subscriptions only (another node claims our topic; never fanned out, so two claimants cannot loop) |
    ///
    /// An unknown topic on a forward (e.g. a ZeroMQ publisher's feed) is counted.
    pub fn route_received(
        &mut self,
        topic: &Topic,
        from: &P,
        arrival: Arrival,
        directory: &TopicDirectory,
    ) -> PublishRoute<P> {
        let text = topic.as_str();
        let location = directory.location(text);
        let route = match (arrival, location) {
            (Arrival::Request, Some(Location::Local)) => PublishRoute {
                local: self.count_matches(text),
                peers: self.count_peers(text, None),
                owner: None,
            },
            (Arrival::Request, Some(Location::Remote(owner))) if self.relay => {
                PublishRoute { local: Vec::new(), peers: Vec::new(), owner: Some(owner) }
            }
            (Arrival::Request, _) => {
                self.stats.not_owned_publishes += 1;
                PublishRoute { local: Vec::new(), peers: Vec::new(), owner: None }
            }
            (Arrival::Forward, location) => {
                let peers = match location {
                    Some(Location::Remote(_)) if self.relay => self.count_peers(text, Some(from)),
                    None => {
                        self.stats.unknown_topic_publishes += 1;
                        Vec::new()
                    }
                    _ => Vec::new(),
                };
                PublishRoute { local: self.count_matches(text), peers, owner: None }
            }
        };
        self.account(route)
    }

    // ---- internals -----------------------------------------------------------------------------

    fn allocate_id(&mut self) -> SubscriptionId {
        let id = SubscriptionId(self.next_id);
        self.next_id += 1;
        id
    }

    fn holding(&mut self, peer: P) -> &mut PeerHoldings {
        self.holdings
            .entry(peer)
            .or_insert_with(|| PeerHoldings { topics: BTreeSet::new(), patterns: BTreeSet::new() })
    }

    fn prune_holding(&mut self, peer: &P) {
        if self.holdings.get(peer).is_some_and(|h| h.len() == 0) {
            self.holdings.remove(peer);
        }
    }

    fn forget_remote_exact(&mut self, peer: &P, topic: &Topic) {
        if let Some(peers) = self.remote_exact.get_mut(topic.as_bytes().as_ref()) {
            peers.remove(peer);
            if peers.is_empty() {
                self.remote_exact.remove(topic.as_bytes().as_ref());
            }
        }
    }

    fn forget_remote_pattern(&mut self, peer: &P, glob: &GlobPattern) {
        if let Some(at) = self.remote_patterns.iter().position(|r| &r.glob == glob) {
            let entry = &mut self.remote_patterns[at];
            entry.peers.remove(peer);
            if entry.peers.is_empty() {
                self.remote_patterns.remove(at);
            }
        }
    }

    fn interest_in(&self, topic: &Topic, directory: &TopicDirectory) -> RemoteInterest {
        match directory.location(topic.as_str()) {
            Some(Location::Local) => RemoteInterest::Local,
            Some(Location::Remote(_)) if self.relay => RemoteInterest::Relayed,
            Some(Location::Remote(_)) => RemoteInterest::Remote,
            None => RemoteInterest::Unknown,
        }
    }

    /// Whether this node wants `topic` from its owner (see the module documentation).
    fn wants_upstream(&self, topic: &str) -> bool {
        self.exact.contains_key(topic.as_bytes())
            || self.patterns.iter().any(|(p, _)| p.matches(topic))
            || (self.relay
                && (self.remote_exact.contains_key(topic.as_bytes())
                    || self.remote_patterns.iter().any(|r| r.glob.matches(topic))))
    }

    /// Brings the upstream subscription of one topic in line: no action, a subscribe, an
    /// unsubscribe, or both (unsubscribe at the old owner first) when the owner changed.
    fn reconcile(&mut self, topic: &Topic, directory: &TopicDirectory) -> Vec<UpstreamAction> {
        let desired = match directory.location(topic.as_str()) {
            Some(Location::Remote(owner)) if self.wants_upstream(topic.as_str()) => Some(owner),
            _ => None,
        };
        let current = self.upstream.get(topic.as_bytes().as_ref());
        if current == desired.as_ref() {
            return Vec::new();
        }
        let mut actions = Vec::new();
        if let Some(old) = self.upstream.remove(topic.as_bytes().as_ref()) {
            self.stats.upstream_unsubscribes += 1;
            actions.push(UpstreamAction::Unsubscribe { topic: topic.clone(), owner: old });
        }
        if let Some(new) = desired {
            self.stats.upstream_subscribes += 1;
            self.upstream.insert(topic.clone(), new.clone());
            actions.push(UpstreamAction::Subscribe { topic: topic.clone(), owner: new });
        }
        actions
    }

    /// The topics a pattern change can affect: directory topics it matches and upstream topics
    /// it matches.
    fn reconcile_matching(
        &self,
        glob: &GlobPattern,
        directory: &TopicDirectory,
    ) -> BTreeSet<Topic> {
        let mut topics: BTreeSet<Topic> =
            self.upstream.keys().filter(|t| glob.matches(t.as_str())).cloned().collect();
        topics.extend(
            directory
                .list_topics()
                .into_iter()
                .filter(|e| !e.location.is_local() && glob.matches(e.topic.as_str()))
                .map(|e| e.topic),
        );
        topics
    }

    fn finish_reconcile(
        &mut self,
        topics: BTreeSet<Topic>,
        directory: &TopicDirectory,
    ) -> Vec<UpstreamAction> {
        topics.iter().flat_map(|t| self.reconcile(t, directory)).collect()
    }

    fn count_matches(&mut self, topic: &str) -> Vec<SubscriptionId> {
        self.stats.pattern_checks += self.patterns.len() as u64;
        self.local_matches(topic)
    }

    fn count_peers(&mut self, topic: &str, except: Option<&P>) -> Vec<P> {
        self.stats.pattern_checks += self.remote_patterns.len() as u64;
        let mut peers = self.remote_subscribers(topic);
        if let Some(except) = except {
            peers.retain(|p| p != except);
        }
        peers
    }

    fn account(&mut self, route: PublishRoute<P>) -> PublishRoute<P> {
        self.stats.publishes_routed += 1;
        if !route.local.is_empty() {
            self.stats.local_deliveries += 1;
        }
        self.stats.forwarded_copies += route.peers.len() as u64;
        route
    }
}
