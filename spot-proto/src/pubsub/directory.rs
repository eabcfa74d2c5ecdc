//! The topic directory: which topics are LOCAL, and which node owns every REMOTE topic.
//!
//! The directory is fed by the user's verbs (`topic_create`, `topic_destroy`, `topic_route`) and
//! by what peers report (QUERY_RESP, DIRECTORY_RESP, TOPIC_CREATED, TOPIC_DESTROYED, an owner
//! dying, leaving or being removed). Every mutation returns the [`TopicChange`]s it caused, so the
//! node can emit events and move subscriptions; nothing here sends anything.
//!
//! # Claims and conflicts
//!
//! A peer's report is a *claim*: "node N owns topic T". The directory keeps every claim it holds
//! and resolves each topic to one location:
//!
//! 1. **LOCAL always wins locally.** A claim on a topic this node has created is kept but does
//!    not route anything (it is counted as a conflict). If the local topic is destroyed, the
//!    claim takes over and the topic becomes REMOTE.
//! 2. **An explicit route wins over learned claims.** `topic_route` states where a topic lives;
//!    reports from peers do not move it.
//! 3. **Among learned claims, the first one still standing wins.** A later claimant is counted as
//!    a conflict; when the winner withdraws (TOPIC_DESTROYED, a new QUERY_RESP without the topic,
//!    or the owner is dropped), the next claimant in arrival order takes over and the change says
//!    so (`before` and `after` are different owners).
//!
//! `topic_create` of a name that is REMOTE is refused with [`NodeError::TopicExists`] (EEXIST),
//! as in the original C API: a topic is one name cluster-wide, and a second owner would split its
//! subscribers. `topic_route` of a LOCAL topic is refused the same way.
//!
//! # Reports replace an owner's set
//!
//! QUERY_RESP and DIRECTORY_RESP list whole sets: [`TopicDirectory::apply_owner_topics`] replaces
//! everything that owner was known to have learned-claimed (explicit routes stay). The last report
//! about an owner wins, whoever relayed it. Claims naming this node itself are ignored (this node
//! knows its LOCAL topics) and counted.
//!
//! # Bounds and cost
//!
//! Lookups ([`TopicDirectory::location`], [`TopicDirectory::exists`], ...) are one hash lookup
//! (FxHash, keyed by the topic bytes). Claims from peers are bounded by
//! [`TopicDirectory::with_max_claims`] (default 1 000 000 claims, an owner record counting as one
//! claim); claims beyond it are refused and counted, so a hostile peer costs bounded memory.
//! Listing sorts (O(n log n)) so that its order is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::collections::FxHashMap;
use crate::endpoint::Endpoint;
use crate::error::NodeError;
use crate::limits::Limits;
use crate::wire::spot::{
    DirectoryPage, MAX_TOPIC_WIRE_LEN, NodeId, OwnedTopics, Topic, TopicOwner,
};

/// Validates a topic name given as text: non-empty, at most [`Limits::max_topic_len`] bytes.
/// The error is [`NodeError::InvalidTopic`] (EINVAL).
pub fn parse_topic(text: &str, limits: &Limits) -> Result<Topic, NodeError> {
    Topic::copy_from_str(text, limits).map_err(|_| NodeError::InvalidTopic(text.to_owned()))
}

/// Checks a topic name given as text without copying it: non-empty, at most
/// [`Limits::max_topic_len`] bytes (and never more than the wire's 65535). The error is
/// [`NodeError::InvalidTopic`] (EINVAL).
pub fn check_topic(text: &str, limits: &Limits) -> Result<(), NodeError> {
    let limit = limits.max_topic_len.min(MAX_TOPIC_WIRE_LEN);
    if text.is_empty() || text.len() > limit {
        return Err(NodeError::InvalidTopic(text.to_owned()));
    }
    Ok(())
}

/// Validates a topic name given as bytes: UTF-8, non-empty, at most [`Limits::max_topic_len`]
/// bytes. The result shares `bytes`. The error is [`NodeError::InvalidTopic`] (EINVAL), carrying
/// the name lossily decoded.
pub fn topic_from_bytes(bytes: Bytes, limits: &Limits) -> Result<Topic, NodeError> {
    Topic::new(bytes.clone(), limits)
        .map_err(|_| NodeError::InvalidTopic(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Where a topic lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// Hosted on this node.
    Local,
    /// Hosted on another node.
    Remote(TopicOwner),
}

impl Location {
    /// The owner, for a REMOTE topic.
    pub fn owner(&self) -> Option<&TopicOwner> {
        match self {
            Location::Local => None,
            Location::Remote(owner) => Some(owner),
        }
    }

    /// Whether the topic is LOCAL.
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local)
    }
}

/// How one topic's resolved location changed. `None` means the directory does not know the
/// topic (before: it is new; after: it is gone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicChange {
    /// The topic.
    pub topic: Topic,
    /// Where it was.
    pub before: Option<Location>,
    /// Where it is now.
    pub after: Option<Location>,
}

impl TopicChange {
    /// Whether nothing changed (e.g. routing a topic again to the same owner).
    pub fn is_noop(&self) -> bool {
        self.before == self.after
    }

    /// The owner the topic was routed to before, if it was REMOTE.
    pub fn owner_before(&self) -> Option<&TopicOwner> {
        self.before.as_ref().and_then(Location::owner)
    }

    /// The owner the topic is routed to now, if it is REMOTE.
    pub fn owner_after(&self) -> Option<&TopicOwner> {
        self.after.as_ref().and_then(Location::owner)
    }

    /// Whether the topic is no longer known at all.
    pub fn is_removed(&self) -> bool {
        self.before.is_some() && self.after.is_none()
    }
}

/// One line of [`TopicDirectory::list_topics`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicEntry {
    /// The topic.
    pub topic: Topic,
    /// LOCAL, or REMOTE with its owner.
    pub location: Location,
}

/// Counters of the directory. Refused and ignored input is counted here, never silent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectoryStats {
    /// LOCAL topics created.
    pub local_created: u64,
    /// LOCAL topics destroyed.
    pub local_destroyed: u64,
    /// Explicit routes set (or moved) by `topic_route`.
    pub routes_set: u64,
    /// Topics that became REMOTE-known (were unknown, now routed to an owner).
    pub remote_added: u64,
    /// REMOTE topics forgotten (were routed to an owner, now unknown).
    pub remote_removed: u64,
    /// Topics whose resolved location moved from one place to another.
    pub moved: u64,
    /// Claims that arrived for a topic already resolved elsewhere (LOCAL, routed, or claimed
    /// first by another owner). The claim is kept as a fallback.
    pub conflicts: u64,
    /// Claims refused because the claim bound was reached.
    pub claims_refused: u64,
    /// Claims naming this node as the owner, ignored.
    pub self_claims_ignored: u64,
    /// Owners whose claims were dropped at once (dead, left, removed).
    pub owners_dropped: u64,
}

/// The claims held on one topic.
#[derive(Clone, Debug, Default)]
struct Entry {
    local: bool,
    route: Option<NodeId>,
    /// Learned claimants in arrival order; the first wins.
    learned: Vec<NodeId>,
}

impl Entry {
    fn is_empty(&self) -> bool {
        !self.local && self.route.is_none() && self.learned.is_empty()
    }

    fn resolved_owner(&self) -> Option<&NodeId> {
        self.route.as_ref().or_else(|| self.learned.first())
    }
}

/// What the directory knows of one owner.
#[derive(Clone, Debug)]
struct OwnerRecord {
    owner: TopicOwner,
    learned: BTreeSet<Topic>,
    routed: BTreeSet<Topic>,
}

/// LOCAL topics and the directory of REMOTE topics (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct TopicDirectory {
    self_id: NodeId,
    limits: Limits,
    max_claims: usize,
    claims: usize,
    entries: FxHashMap<Topic, Entry>,
    owners: BTreeMap<NodeId, OwnerRecord>,
    stats: DirectoryStats,
}

/// Default bound on claims held from peers.
pub const DEFAULT_MAX_CLAIMS: usize = 1_000_000;

impl TopicDirectory {
    /// An empty directory for the node `self_id`; `limits` bounds topic names.
    pub fn new(self_id: NodeId, limits: Limits) -> Self {
        TopicDirectory {
            self_id,
            limits,
            max_claims: DEFAULT_MAX_CLAIMS,
            claims: 0,
            entries: FxHashMap::default(),
            owners: BTreeMap::new(),
            stats: DirectoryStats::default(),
        }
    }

    /// Sets the bound on claims learned from peers (topics claimed plus owner records).
    pub fn with_max_claims(mut self, max_claims: usize) -> Self {
        self.max_claims = max_claims;
        self
    }

    /// This node's id.
    pub fn self_id(&self) -> &NodeId {
        &self.self_id
    }

    /// The limits topic names are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The counters.
    pub fn stats(&self) -> DirectoryStats {
        self.stats
    }

    // ---- user verbs ------------------------------------------------------------------------

    /// `topic_create`: makes `topic` LOCAL. [`NodeError::InvalidTopic`] for a bad name,
    /// [`NodeError::TopicExists`] when the topic is known already (LOCAL or REMOTE).
    pub fn create_local(&mut self, topic: &str) -> Result<TopicChange, NodeError> {
        let topic = parse_topic(topic, &self.limits)?;
        if self.entries.contains_key(topic.as_bytes().as_ref()) {
            return Err(NodeError::TopicExists(topic.as_str().to_owned()));
        }
        self.stats.local_created += 1;
        Ok(self.mutate(&topic, |entry| entry.local = true))
    }

    /// `topic_destroy`: removes a LOCAL topic. [`NodeError::TopicNotFound`] when unknown,
    /// [`NodeError::TopicIsRemote`] when another node owns it. If a peer claims the topic too,
    /// it becomes REMOTE on that peer (the change says so).
    pub fn destroy_local(&mut self, topic: &str) -> Result<TopicChange, NodeError> {
        let topic = parse_topic(topic, &self.limits)?;
        match self.entries.get(topic.as_bytes().as_ref()) {
            None => Err(NodeError::TopicNotFound(topic.as_str().to_owned())),
            Some(entry) if !entry.local => Err(NodeError::TopicIsRemote(topic.as_str().to_owned())),
            Some(_) => {
                self.stats.local_destroyed += 1;
                Ok(self.mutate(&topic, |entry| entry.local = false))
            }
        }
    }

    /// `topic_route`: declares that `owner` hosts `topic`. Replaces an earlier route of the
    /// topic, and wins over learned claims. [`NodeError::TopicExists`] when the topic is LOCAL,
    /// [`NodeError::InvalidArgument`] when `owner` is this node.
    pub fn route(&mut self, topic: &str, owner: TopicOwner) -> Result<TopicChange, NodeError> {
        let topic = parse_topic(topic, &self.limits)?;
        if owner.id == self.self_id {
            return Err(NodeError::InvalidArgument("a topic cannot be routed to this node"));
        }
        if self.entries.get(topic.as_bytes().as_ref()).is_some_and(|e| e.local) {
            return Err(NodeError::TopicExists(topic.as_str().to_owned()));
        }
        let previous = self.entries.get(topic.as_bytes().as_ref()).and_then(|e| e.route.clone());
        if let Some(previous) = &previous
            && let Some(record) = self.owners.get_mut(previous)
        {
            record.routed.remove(&topic);
        }
        let id = owner.id.clone();
        if !self.owners.contains_key(&id) {
            // An owner record counts as a claim; a user's route is never refused.
            self.claims += 1;
        }
        self.upsert_owner(owner).routed.insert(topic.clone());
        self.stats.routes_set += 1;
        Ok(self.mutate(&topic, |entry| entry.route = Some(id)))
    }

    /// Removes the explicit route of `topic` (learned claims, if any, take over).
    /// [`NodeError::TopicNotFound`] when the topic has no explicit route.
    pub fn unroute(&mut self, topic: &str) -> Result<TopicChange, NodeError> {
        let topic = parse_topic(topic, &self.limits)?;
        let Some(id) = self.entries.get(topic.as_bytes().as_ref()).and_then(|e| e.route.clone())
        else {
            return Err(NodeError::TopicNotFound(topic.as_str().to_owned()));
        };
        if let Some(record) = self.owners.get_mut(&id) {
            record.routed.remove(&topic);
        }
        Ok(self.mutate(&topic, |entry| entry.route = None))
    }

    // ---- peer reports ----------------------------------------------------------------------

    /// QUERY_RESP (or one owner of a DIRECTORY_RESP): `owner` hosts exactly `topics`. Replaces
    /// the owner's learned claims and updates its endpoint. Returns the changes in topic order.
    pub fn apply_owner_topics(
        &mut self,
        owner: TopicOwner,
        topics: impl IntoIterator<Item = Topic>,
    ) -> Vec<TopicChange> {
        if owner.id == self.self_id {
            self.stats.self_claims_ignored += 1;
            return Vec::new();
        }
        let id = owner.id.clone();
        if !self.owners.contains_key(&id) && !self.reserve_claim() {
            return Vec::new();
        }
        let new: BTreeSet<Topic> = topics.into_iter().collect();
        let old = core::mem::take(&mut self.upsert_owner(owner).learned);
        let mut changes = Vec::new();
        for topic in old.difference(&new) {
            self.claims = self.claims.saturating_sub(1);
            changes.push(self.withdraw_learned(topic, &id));
        }
        let mut kept = BTreeSet::new();
        for topic in new {
            if old.contains(&topic) {
                kept.insert(topic);
            } else if self.reserve_claim() {
                changes.push(self.add_learned(&topic, &id));
                kept.insert(topic);
            }
        }
        if let Some(record) = self.owners.get_mut(&id) {
            record.learned = kept;
        }
        finish(changes)
    }

    /// A merged DIRECTORY_RESP answer: applies [`Self::apply_owner_topics`] for every owner
    /// (an owner listed twice has its lists joined). Returns the changes in topic order.
    pub fn apply_directory(&mut self, owners: Vec<OwnedTopics>) -> Vec<TopicChange> {
        let mut merged: BTreeMap<NodeId, (TopicOwner, Vec<Topic>)> = BTreeMap::new();
        for entry in owners {
            let slot = merged
                .entry(entry.owner.id.clone())
                .or_insert_with(|| (entry.owner.clone(), Vec::new()));
            slot.0 = entry.owner;
            slot.1.extend(entry.topics);
        }
        let mut changes = Vec::new();
        for (_, (owner, topics)) in merged {
            changes.extend(self.apply_owner_topics(owner, topics));
        }
        finish(changes)
    }

    /// TOPIC_CREATED: `owner` now hosts `topic` (its endpoint is updated too). `None` when
    /// nothing changed for routing (a duplicate notice, a conflicting claim, a refused claim).
    pub fn apply_topic_created(&mut self, owner: TopicOwner, topic: Topic) -> Option<TopicChange> {
        if owner.id == self.self_id {
            self.stats.self_claims_ignored += 1;
            return None;
        }
        let id = owner.id.clone();
        if !self.owners.contains_key(&id) && !self.reserve_claim() {
            return None;
        }
        if self.upsert_owner(owner).learned.contains(&topic) || !self.reserve_claim() {
            return None;
        }
        if let Some(record) = self.owners.get_mut(&id) {
            record.learned.insert(topic.clone());
        }
        Some(self.add_learned(&topic, &id)).filter(|c| !c.is_noop())
    }

    /// TOPIC_DESTROYED: `owner` no longer hosts `topic`. `None` when nothing changed for routing.
    pub fn apply_topic_destroyed(&mut self, owner: &NodeId, topic: &Topic) -> Option<TopicChange> {
        let record = self.owners.get_mut(owner)?;
        if !record.learned.remove(topic) {
            return None;
        }
        self.claims = self.claims.saturating_sub(1);
        Some(self.withdraw_learned(topic, owner)).filter(|c| !c.is_noop())
    }

    /// Forgets everything `owner` claimed or was routed (it died, left or was removed). Returns
    /// every resolved change, in topic order: topics gone, or taken over by another claimant.
    pub fn drop_owner(&mut self, owner: &NodeId) -> Vec<TopicChange> {
        let Some(record) = self.owners.get(owner) else {
            return Vec::new();
        };
        let topics: BTreeSet<Topic> =
            record.learned.iter().chain(record.routed.iter()).cloned().collect();
        self.stats.owners_dropped += 1;
        self.claims = self.claims.saturating_sub(1 + record.learned.len());
        let mut changes = Vec::new();
        // The record stays until every change is computed, so `before` still names the owner.
        for topic in &topics {
            changes.push(self.mutate(topic, |entry| {
                entry.learned.retain(|id| id != owner);
                if entry.route.as_ref() == Some(owner) {
                    entry.route = None;
                }
            }));
        }
        self.owners.remove(owner);
        finish(changes)
    }

    // ---- lookups ---------------------------------------------------------------------------

    /// Where `topic` lives, if known.
    pub fn location(&self, topic: &str) -> Option<Location> {
        let entry = self.entries.get(topic.as_bytes())?;
        self.resolve(entry)
    }

    /// Whether `topic` is known (LOCAL or REMOTE).
    pub fn exists(&self, topic: &str) -> bool {
        self.entries.contains_key(topic.as_bytes())
    }

    /// Whether `topic` (a name or a validated [`Topic`]) is LOCAL.
    pub fn is_local<T: AsRef<[u8]> + ?Sized>(&self, topic: &T) -> bool {
        self.entries.get(topic.as_ref()).is_some_and(|e| e.local)
    }

    /// The owner of a REMOTE topic (`None` for LOCAL and unknown topics); `topic` is a name or
    /// a validated [`Topic`] (looked up by its bytes, not re-checked).
    pub fn owner_of<T: AsRef<[u8]> + ?Sized>(&self, topic: &T) -> Option<&TopicOwner> {
        let entry = self.entries.get(topic.as_ref())?;
        if entry.local {
            return None;
        }
        entry.resolved_owner().and_then(|id| self.owners.get(id)).map(|r| &r.owner)
    }

    /// Every claimant of `topic`: the explicit route first (if any), then learned claimants in
    /// arrival order (the first one listed wins unless the topic is LOCAL). For diagnostics.
    pub fn claimants(&self, topic: &str) -> Vec<&NodeId> {
        match self.entries.get(topic.as_bytes()) {
            Some(entry) => entry.route.iter().chain(entry.learned.iter()).collect(),
            None => Vec::new(),
        }
    }

    /// Every known topic with its location, sorted by topic.
    pub fn list_topics(&self) -> Vec<TopicEntry> {
        let mut out: Vec<TopicEntry> = self
            .entries
            .iter()
            .filter_map(|(topic, entry)| {
                self.resolve(entry).map(|location| TopicEntry { topic: topic.clone(), location })
            })
            .collect();
        out.sort_by(|a, b| a.topic.cmp(&b.topic));
        out
    }

    /// The LOCAL topics, sorted (a QUERY_RESP's content).
    pub fn local_topics(&self) -> Vec<Topic> {
        let mut out: Vec<Topic> =
            self.entries.iter().filter(|(_, e)| e.local).map(|(t, _)| t.clone()).collect();
        out.sort();
        out
    }

    /// The topics currently routed to `owner`, sorted.
    pub fn topics_routed_to(&self, owner: &NodeId) -> Vec<Topic> {
        let Some(record) = self.owners.get(owner) else {
            return Vec::new();
        };
        record
            .learned
            .iter()
            .chain(record.routed.iter())
            .filter(|t| self.owner_of(t.as_str()).is_some_and(|o| &o.id == owner))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect()
    }

    /// The known owners, sorted by id (including owners that currently win no topic).
    pub fn owners(&self) -> impl Iterator<Item = &TopicOwner> {
        self.owners.values().map(|r| &r.owner)
    }

    /// Number of known topics.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no topic is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The DIRECTORY_RESP answer to `request_id`: this node's LOCAL topics under its own id and
    /// `self_endpoint` first, then every other owner (sorted by id) with the topics resolved to
    /// it. Pages carry at most `max_per_page` entries (topics, and owners listed without topics),
    /// at least one; only the final page has `last`. There is always at least one page.
    pub fn directory_pages(
        &self,
        request_id: u32,
        self_endpoint: &Endpoint,
        max_per_page: usize,
    ) -> Vec<DirectoryPage> {
        let max_per_page = max_per_page.max(1);
        let mut groups = vec![(
            TopicOwner { id: self.self_id.clone(), endpoint: self_endpoint.clone() },
            self.local_topics(),
        )];
        for record in self.owners.values() {
            let topics = self.topics_routed_to(&record.owner.id);
            if !topics.is_empty() {
                groups.push((record.owner.clone(), topics));
            }
        }
        super::paging::paginate(request_id, groups, max_per_page)
    }

    // ---- internals -------------------------------------------------------------------------

    fn resolve(&self, entry: &Entry) -> Option<Location> {
        if entry.local {
            return Some(Location::Local);
        }
        let id = entry.resolved_owner()?;
        self.owners.get(id).map(|r| Location::Remote(r.owner.clone()))
    }

    fn reserve_claim(&mut self) -> bool {
        if self.claims >= self.max_claims {
            self.stats.claims_refused += 1;
            return false;
        }
        self.claims += 1;
        true
    }

    fn upsert_owner(&mut self, owner: TopicOwner) -> &mut OwnerRecord {
        let record = self.owners.entry(owner.id.clone()).or_insert_with(|| OwnerRecord {
            owner: owner.clone(),
            learned: BTreeSet::new(),
            routed: BTreeSet::new(),
        });
        record.owner.endpoint = owner.endpoint;
        record
    }

    fn add_learned(&mut self, topic: &Topic, id: &NodeId) -> TopicChange {
        let change = self.mutate(topic, |entry| {
            if !entry.learned.contains(id) {
                entry.learned.push(id.clone());
            }
        });
        if change.owner_after().map(|o| &o.id) != Some(id) {
            self.stats.conflicts += 1;
        }
        change
    }

    fn withdraw_learned(&mut self, topic: &Topic, id: &NodeId) -> TopicChange {
        self.mutate(topic, |entry| entry.learned.retain(|claimant| claimant != id))
    }

    /// Applies `edit` to the topic's entry (created if missing, removed when left empty) and
    /// reports how its resolved location changed; updates the add/remove/move counters.
    fn mutate(&mut self, topic: &Topic, edit: impl FnOnce(&mut Entry)) -> TopicChange {
        let before = self.entries.get(topic.as_bytes().as_ref()).and_then(|e| self.resolve(e));
        let entry = self.entries.entry(topic.clone()).or_default();
        edit(entry);
        let after = if entry.is_empty() {
            self.entries.remove(topic.as_bytes().as_ref());
            None
        } else {
            let entry = self.entries.get(topic.as_bytes().as_ref());
            entry.and_then(|e| self.resolve(e))
        };
        match (&before, &after) {
            (None, Some(Location::Remote(_))) => self.stats.remote_added += 1,
            (Some(Location::Remote(_)), None) => self.stats.remote_removed += 1,
            (Some(a), Some(b)) if a != b => self.stats.moved += 1,
            _ => {}
        }
        TopicChange { topic: topic.clone(), before, after }
    }
}

/// Drops no-op changes and sorts by topic.
fn finish(mut changes: Vec<TopicChange>) -> Vec<TopicChange> {
    changes.retain(|c| !c.is_noop());
    changes.sort_by(|a, b| a.topic.cmp(&b.topic));
    changes
}
