//! [`Membership`]: the state, its constructor and the public verbs (join, leave, tags, queries,
//! output queues). Datagram handling is in `receive.rs`, probing in `probe.rs`, push-pull in
//! `push_pull.rs`.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::collections::FxHashMap;
use crate::endpoint::Endpoint;
use crate::error::NodeError;
use crate::rng::SpotRng;
use crate::time::Instant;
use crate::wire::spot::{MemberInfo, MemberState, NodeId, PushPull, Tag};
use crate::wire::swim::{Datagram, DatagramPrefix, MemberUpdate, UpdateKind};

use super::broadcast::{BroadcastQueue, Priority};
use super::config::SwimConfig;
use super::event::MembershipEvent;
use super::member::{LocalMember, MemberCard, MemberView, has_tag};
use super::probe::{Forward, Probe};
use super::stats::SwimStats;
use super::suspicion::Suspicion;
use super::table::MemberTable;
use super::timers::{Timer, Timers};

/// Capacity the event queue keeps once drained; a larger one (after seeding a roster) is freed.
const KEPT_EVENT_CAPACITY: usize = 64;

/// Where the local member is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Created, not joined.
    Idle,
    /// Pinging seeds until one answers or the bootstrap timeout passes.
    Joining { deadline: Instant },
    /// A member of the cluster.
    Joined,
    /// Gossiping our leave until the grace period ends.
    Leaving,
    /// Stopped after a graceful leave.
    Left,
}

/// The SWIM + Lifeguard membership state machine of one node (sans-IO).
///
/// Feed it datagrams ([`Self::handle_datagram`]), push-pull states ([`Self::handle_push_pull`])
/// and timeouts ([`Self::handle_timeout`]); after every input drain [`Self::poll_transmit`],
/// [`Self::poll_push_pull`] and [`Self::poll_event`] until they return `None`, then re-arm one
/// timer at [`Self::poll_timeout`].
#[derive(Debug)]
// Declaration order is the layout: what every probe, PING and ACK touches comes first, so that
// a member handling one input reads a few adjacent cache lines of this struct, not a dozen
// scattered ones (in a large simulated cluster every member is cold when its turn comes).
#[repr(C)]
pub struct Membership {
    pub(crate) probe: Option<Probe>,
    pub(crate) timers: Timers,
    pub(crate) phase: Phase,
    pub(crate) incarnation: u64,
    pub(crate) next_seq: u32,
    pub(crate) health: u32,
    pub(crate) gossip_armed: bool,
    /// The settings every probe and datagram reads, copied out of `config` (which spans five
    /// cache lines).
    pub(crate) hot: HotConfig,
    /// Our datagrams' clear header and sender id, inline: every send copies it and every
    /// received PING compares its target with our id, without reading the id's heap bytes.
    pub(crate) prefix: DatagramPrefix,
    /// The oldest queued datagram, when it is alone: a probe or an answer is one datagram, and
    /// a ring buffer of its own is one more cold allocation per input.
    pub(crate) transmit_next: Option<Datagram>,
    /// The datagrams queued after `transmit_next`.
    pub(crate) transmits: VecDeque<Datagram>,
    pub(crate) events: VecDeque<MembershipEvent>,
    pub(crate) push_pulls: VecDeque<(Endpoint, PushPull)>,
    /// Read by every send (is anything pending?).
    pub(crate) broadcasts: BroadcastQueue,
    pub(crate) table: MemberTable,
    pub(crate) stats: SwimStats,
    pub(crate) local: LocalMember,
    /// Our own ALIVE update, encoded (piggybacked when joining or answering strangers).
    pub(crate) local_alive: Bytes,
    /// Encoded ALIVE updates answering stale rumours in the datagram being handled.
    pub(crate) corrections: Vec<Bytes>,
    /// Where each update of the datagram being handled lies in it (reused between datagrams).
    pub(crate) update_spans: Vec<core::ops::Range<usize>>,
    pub(crate) last_correction: Option<Instant>,
    pub(crate) config: SwimConfig,
    pub(crate) rng: SpotRng,
    pub(crate) suspicions: FxHashMap<NodeId, Suspicion>,
    pub(crate) forwards: FxHashMap<u32, Forward>,
    pub(crate) scratch: Vec<usize>,
    pub(crate) recent_deaths: VecDeque<Instant>,
    pub(crate) partition_quiet_until: Instant,
    pub(crate) last_stranger_push_pull: Option<Instant>,
    pub(crate) join_seeds: Vec<Endpoint>,
    pub(crate) join_retries: u32,
}

/// Copies of the [`SwimConfig`] fields read on every probe and datagram (the configuration is
/// fixed once the membership is made).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HotConfig {
    pub(crate) cluster_id: u64,
    pub(crate) probe_interval: core::time::Duration,
    pub(crate) probe_timeout: core::time::Duration,
    /// [`crate::Limits::max_datagram_size`].
    pub(crate) max_datagram_size: usize,
    /// [`crate::Limits::max_updates_per_datagram`].
    pub(crate) max_updates: usize,
    /// [`crate::Limits::max_member_id_len`].
    pub(crate) max_member_id_len: usize,
    pub(crate) retransmit_multiplier: u32,
}

impl HotConfig {
    fn new(config: &SwimConfig) -> Self {
        HotConfig {
            cluster_id: config.cluster_id,
            probe_interval: config.probe_interval,
            probe_timeout: config.probe_timeout,
            max_datagram_size: config.limits.max_datagram_size,
            max_updates: config.limits.max_updates_per_datagram,
            max_member_id_len: config.limits.max_member_id_len,
            retransmit_multiplier: config.retransmit_multiplier,
        }
    }
}

impl Membership {
    /// A membership for `local`, not joined yet. Tags beyond [`crate::Limits::max_tags_size`] are
    /// dropped from the end until the set fits.
    pub fn new(config: SwimConfig, mut local: LocalMember, now: Instant) -> Membership {
        while LocalMember::check_tags(&local.tags, &config.limits).is_err() {
            local.tags.pop();
        }
        let rng = SpotRng::from_seed(config.seed);
        let prefix = DatagramPrefix::new(config.cluster_id, &local.id);
        let mut membership = Membership {
            prefix,
            local,
            incarnation: 0,
            local_alive: Bytes::new(),
            phase: Phase::Idle,
            rng,
            table: MemberTable::default(),
            broadcasts: BroadcastQueue::default(),
            suspicions: FxHashMap::default(),
            timers: Timers::default(),
            probe: None,
            next_seq: 0,
            forwards: FxHashMap::default(),
            health: 0,
            gossip_armed: false,
            hot: HotConfig::new(&config),
            transmit_next: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            push_pulls: VecDeque::new(),
            stats: SwimStats::default(),
            scratch: Vec::new(),
            corrections: Vec::new(),
            update_spans: Vec::new(),
            last_correction: None,
            recent_deaths: VecDeque::new(),
            partition_quiet_until: now,
            last_stranger_push_pull: None,
            join_seeds: Vec::new(),
            join_retries: 0,
            config,
        };
        membership.refresh_local_alive();
        membership
    }

    /// Seeds a known roster (for a cluster started converged, and for tests): each member is
    /// added in the state the entry gives (normally alive). The local member becomes joined
    /// without a [`MembershipEvent::Joined`] and starts probing; each new member gives a
    /// [`MembershipEvent::MemberUp`].
    pub fn insert_known_members(
        &mut self,
        now: Instant,
        members: impl IntoIterator<Item = MemberInfo>,
    ) {
        let members = members.into_iter().map(|info| {
            let card = MemberCard::new(info.id, info.endpoint, info.tags);
            (card, info.state, info.incarnation)
        });
        self.insert_known_cards(now, members);
    }

    /// [`Self::insert_known_members`] with shared cards: `(card, state, incarnation)` per
    /// member. Tables that take clones of the same cards share their ids, endpoints and tags
    /// (a converged simulated cluster stores each member's strings once, not once per node).
    pub fn insert_known_cards(
        &mut self,
        now: Instant,
        members: impl IntoIterator<Item = (MemberCard, MemberState, u64)>,
    ) {
        if matches!(self.phase, Phase::Left) {
            return;
        }
        let members = members.into_iter();
        let (lower, upper) = members.size_hint();
        self.table.reserve(upper.unwrap_or(lower));
        self.events.reserve(upper.unwrap_or(lower));
        for (card, state, incarnation) in members {
            if *card.id() == self.local.id {
                continue;
            }
            if self.table.slot_of_card(&card).is_none() {
                self.insert_card(now, card, state, incarnation);
            } else {
                let info = MemberInfo {
                    id: card.id().clone(),
                    endpoint: card.endpoint().clone(),
                    state,
                    incarnation,
                    tags: card.tags().to_vec(),
                };
                self.merge_entry(now, info, None);
            }
        }
        if matches!(self.phase, Phase::Idle | Phase::Joining { .. }) {
            self.phase = Phase::Joined;
            self.start_joined_timers(now);
        }
        self.sync_counts();
    }

    /// Joins the cluster through `seeds` (our own endpoint is skipped). With no other seed we
    /// are the first member and [`MembershipEvent::Joined`] comes at once; otherwise it comes
    /// when a seed answers, or [`MembershipEvent::JoinFailed`] after the bootstrap timeout.
    pub fn join(&mut self, now: Instant, seeds: &[Endpoint]) -> Result<(), NodeError> {
        match self.phase {
            Phase::Joining { .. } | Phase::Joined | Phase::Leaving => {
                return Err(NodeError::AlreadyJoined);
            }
            Phase::Left => {
                // Rejoining after a leave: outbid our own LEFT.
                self.incarnation += 1;
                self.refresh_local_alive();
            }
            Phase::Idle => {}
        }
        self.join_seeds.clear();
        for seed in seeds {
            if *seed != self.local.endpoint && !self.join_seeds.contains(seed) {
                self.join_seeds.push(seed.clone());
            }
        }
        if self.join_seeds.is_empty() {
            self.complete_join(now);
            return Ok(());
        }
        let deadline = now + self.config.bootstrap_timeout;
        self.phase = Phase::Joining { deadline };
        self.join_retries = 0;
        self.timers.schedule(deadline, Timer::Bootstrap);
        self.contact_seeds(now, true);
        Ok(())
    }

    /// Leaves gracefully: gossips LEFT about us with top priority for `leave_grace`, then emits
    /// [`MembershipEvent::Left`] and stops.
    pub fn leave(&mut self, now: Instant) -> Result<(), NodeError> {
        match self.phase {
            Phase::Joined => {}
            Phase::Leaving => return Ok(()),
            _ => return Err(NodeError::NotJoined),
        }
        self.phase = Phase::Leaving;
        self.incarnation += 1;
        self.refresh_local_alive();
        let left = MemberUpdate {
            id: self.local.id.clone(),
            incarnation: self.incarnation,
            kind: UpdateKind::Left,
        };
        self.broadcasts.push(self.local.id.clone(), left.to_bytes(), Priority::Left);
        self.gossip_round(now);
        self.timers.schedule(now + self.config.leave_grace, Timer::LeaveGrace);
        Ok(())
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        self.transmit_next.take().or_else(|| self.transmits.pop_front())
    }

    /// Queues a datagram behind those queued already.
    pub(crate) fn queue_transmit(&mut self, datagram: Datagram) {
        if self.transmit_next.is_none() && self.transmits.is_empty() {
            self.transmit_next = Some(datagram);
        } else {
            self.transmits.push_back(datagram);
        }
    }

    /// The next application event.
    pub fn poll_event(&mut self) -> Option<MembershipEvent> {
        let event = self.events.pop_front();
        if event.is_none() && self.events.capacity() > KEPT_EVENT_CAPACITY {
            // Seeding a large roster queues one event per member: give the room back once
            // drained (a converged 10,000-member simulation would keep gigabytes otherwise).
            self.events = VecDeque::new();
        }
        event
    }

    /// When [`Self::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let indirect = self.probe.as_ref().and_then(|probe| probe.indirect_at);
        match (self.timers.next_deadline(), indirect) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Every remote member we know (the local member is [`Self::local`]).
    pub fn members(&self) -> impl Iterator<Item = MemberView<'_>> {
        self.table.iter().map(super::member::Member::view)
    }

    /// One remote member.
    pub fn member(&self, id: &NodeId) -> Option<MemberView<'_>> {
        self.table.by_id(id).map(super::member::Member::view)
    }

    /// The remote member advertising `endpoint`, if any.
    pub fn member_at(&self, endpoint: &Endpoint) -> Option<MemberView<'_>> {
        self.table.slot_at(endpoint).and_then(|slot| self.table.get(slot)).map(|m| m.view())
    }

    /// Who we are.
    pub fn local(&self) -> &LocalMember {
        &self.local
    }

    /// Our current incarnation.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// Counters.
    pub fn stats(&self) -> &SwimStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &SwimConfig {
        &self.config
    }

    /// Whether we are a member (joined, or leaving but not gone yet).
    pub fn is_joined(&self) -> bool {
        matches!(self.phase, Phase::Joined | Phase::Leaving)
    }

    /// Lifeguard's local-health score: 0 is healthy; probes are spaced and timed out
    /// `score + 1` times the configured values.
    pub fn local_health(&self) -> u32 {
        self.health
    }

    /// Updates pending in the dissemination queue (0 in steady state).
    pub fn pending_updates(&self) -> usize {
        self.broadcasts.len()
    }

    /// Sets one of our tags (replacing the value of an existing key) and gossips it.
    pub fn update_tag(&mut self, now: Instant, tag: Tag) -> Result<(), NodeError> {
        let mut tags = self.local.tags.clone();
        match tags.iter_mut().find(|t| t.key() == tag.key()) {
            Some(existing) => *existing = tag,
            None => tags.push(tag),
        }
        LocalMember::check_tags(&tags, &self.config.limits)?;
        self.local.tags = tags;
        self.announce_local_change(now);
        Ok(())
    }

    /// Removes one of our tags and gossips the change.
    pub fn remove_tag(&mut self, now: Instant, key: &str) -> Result<(), NodeError> {
        let before = self.local.tags.len();
        self.local.tags.retain(|t| t.key().as_str() != key);
        if self.local.tags.len() == before {
            return Err(NodeError::TagNotFound(key.to_owned()));
        }
        self.announce_local_change(now);
        Ok(())
    }

    /// Alive members (the local one included, unless it is leaving) with tag `key`, with value
    /// `value` when given, in node-id order.
    pub fn nodes_with_tag(&self, key: &str, value: Option<&str>) -> Vec<NodeId> {
        self.nodes_matching(|tags| has_tag(tags, key, value))
    }

    /// Alive members (the local one included, unless it is leaving) that have every tag of
    /// `tags` (key and value), in node-id order.
    pub fn nodes_with_all_tags(&self, tags: &[Tag]) -> Vec<NodeId> {
        self.nodes_matching(|have| {
            tags.iter().all(|want| has_tag(have, want.key().as_str(), Some(want.value().as_str())))
        })
    }

    fn nodes_matching(&self, matches: impl Fn(&[Tag]) -> bool) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self
            .table
            .iter()
            .filter(|m| m.state == MemberState::Alive && matches(m.tags()))
            .map(|m| m.id().clone())
            .collect();
        if self.phase != Phase::Leaving && self.phase != Phase::Left && matches(&self.local.tags) {
            ids.push(self.local.id.clone());
        }
        ids.sort();
        ids
    }

    /// The phi-accrual suspicion level of a member, over the arrival times of its ACKs to our
    /// own probes (one per probe round, a regular beat): 0 just after one, about 1 after one
    /// mean interval of silence, growing linearly. `None` for an unknown member.
    pub fn phi(&self, id: &NodeId, now: Instant) -> Option<f64> {
        let slot = self.table.slot_of(id)?;
        self.table.phi_of(slot).map(|phi| phi.phi(now))
    }

    // ---- internals shared by the other files ----

    /// Re-encodes our ALIVE update after a change of incarnation or tags.
    pub(crate) fn refresh_local_alive(&mut self) {
        self.local_alive = self.local_update().to_bytes();
    }

    pub(crate) fn local_update(&self) -> MemberUpdate {
        MemberUpdate {
            id: self.local.id.clone(),
            incarnation: self.incarnation,
            kind: UpdateKind::Alive {
                endpoint: self.local.endpoint.clone(),
                tags: self.local.tags.clone(),
            },
        }
    }

    fn announce_local_change(&mut self, now: Instant) {
        self.incarnation += 1;
        self.refresh_local_alive();
        if self.is_joined() {
            self.broadcasts.push(self.local.id.clone(), self.local_alive.clone(), Priority::Alive);
            self.gossip_armed_check(now);
        }
        self.events.push_back(MembershipEvent::TagsUpdated { id: self.local.id.clone() });
    }

    pub(crate) fn complete_join(&mut self, now: Instant) {
        if self.is_joined() {
            return;
        }
        self.phase = Phase::Joined;
        self.events.push_back(MembershipEvent::Joined);
        self.start_joined_timers(now);
        // Tell the cluster we are here.
        self.broadcasts.push(self.local.id.clone(), self.local_alive.clone(), Priority::Alive);
        self.gossip_armed_check(now);
    }

    fn start_joined_timers(&mut self, now: Instant) {
        let jitter = self.jitter(self.config.probe_interval);
        self.timers.schedule(now + jitter, Timer::ProbeTick);
        if let Some(period) = self.push_pull_period() {
            // Spread the first exchanges of nodes that start together over a whole period.
            let first = self.jitter(period);
            self.timers.schedule(now + first, Timer::PushPull);
        }
    }

    /// A uniform random duration below `span`.
    pub(crate) fn jitter(&mut self, span: core::time::Duration) -> core::time::Duration {
        let nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        core::time::Duration::from_nanos(self.rng.below(nanos))
    }

    /// Copies the table's counts into the stats.
    pub(crate) fn sync_counts(&mut self) {
        let [alive, suspect, dead, left] = self.table.counts();
        self.stats.alive = alive;
        self.stats.suspect = suspect;
        self.stats.dead = dead;
        self.stats.left = left;
        self.stats.total = self.table.len();
    }

    /// Arms the gossip timer when updates are pending and it is not armed.
    pub(crate) fn gossip_armed_check(&mut self, now: Instant) {
        if !self.gossip_armed && self.has_fresh_updates() && self.is_joined() {
            self.gossip_armed = true;
            self.timers.schedule(now + self.config.gossip_interval, Timer::Gossip);
        }
    }

    /// Whether an update is young enough for GOSSIP rounds: sent fewer than
    /// `gossip_rounds × gossip_fanout` times. Older ones ride on probes and ACKs until their
    /// budget is spent, so a busy period costs a few GOSSIP datagrams per update, not one per
    /// transmit.
    pub(crate) fn has_fresh_updates(&self) -> bool {
        let fanout = u32::try_from(self.config.gossip_fanout.max(1)).unwrap_or(u32::MAX);
        self.broadcasts.has_fresh(fanout.saturating_mul(self.config.gossip_rounds.max(1)))
    }

    /// Whether `id` is our node id.
    pub(crate) fn is_local_id(&self, id: &NodeId) -> bool {
        self.prefix.is_sender(id).unwrap_or_else(|| *id == self.local.id)
    }

    /// Whether `id` (a node id's bytes) is our node id.
    pub(crate) fn is_local_id_bytes(&self, id: &[u8]) -> bool {
        self.prefix.is_sender_bytes(id).unwrap_or_else(|| id == self.local.id.as_bytes().as_ref())
    }

    /// Joining, joined or leaving: we take part in the protocol.
    pub(crate) fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Joining { .. } | Phase::Joined | Phase::Leaving)
    }
}
