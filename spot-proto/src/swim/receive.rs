//! Incoming datagrams and the SWIM update rules (incarnation numbers decide; refute rumours
//! about ourselves).

use bytes::Bytes;

use crate::DecodeError;
use crate::endpoint::Endpoint;
use crate::time::Instant;
use crate::wire::spot::{MemberInfo, MemberState, NodeId};
use crate::wire::swim::{
    MemberUpdate, QuickDatagram, QuickMessage, SwimDatagram, SwimMessage, UpdateKind,
};

use super::broadcast::Priority;
use super::event::MembershipEvent;
use super::member::{Member, MemberCard};
use super::membership::{Membership, Phase};
use super::suspicion::Suspicion;
use super::timers::Timer;

/// Most stale-rumour corrections answered per received datagram.
const MAX_CORRECTIONS: usize = 16;

impl Membership {
    /// Handles one received datagram. A malformed one (or another cluster's) is dropped and
    /// counted in [`super::SwimStats::malformed_dropped`].
    pub fn handle_datagram(&mut self, now: Instant, from: Endpoint, datagram: Bytes) {
        self.stats.datagrams_in += 1;
        self.stats.bytes_in += datagram.len() as u64;
        if !self.is_active() {
            self.stats.ignored_not_joined += 1;
            return;
        }
        if let Some(quick) = QuickDatagram::peek(
            &datagram,
            self.hot.cluster_id,
            self.hot.max_datagram_size,
            self.hot.max_member_id_len,
        ) {
            return self.handle_quick(now, from, quick);
        }
        let decoded = match SwimDatagram::decode_for_cluster_with_spans(
            &datagram,
            self.config.cluster_id,
            &self.config.limits,
            &mut self.update_spans,
        ) {
            Ok(decoded) => decoded,
            Err(error) => {
                self.stats.malformed_dropped += 1;
                if error == DecodeError::ClusterMismatch {
                    self.stats.cluster_mismatch += 1;
                }
                return;
            }
        };
        if self.is_local_id(&decoded.sender) {
            return;
        }
        // Whether we know the sender matters only to a PING that names no target (a joiner,
        // which gets our ALIVE): every other message skips the lookup, the hot path's costliest
        // step in a large cluster (a cache miss or two). Health scores take their heartbeats
        // from the ACKs to our own probes alone (see `probe_acked`): a regular beat, once per
        // probe round, where the GOSSIP datagrams that come in bursts while updates are pending
        // would skew each member's mean interval.
        let sender_known = !matches!(decoded.message, SwimMessage::Ping { target: None, .. })
            || self.table.slot_of(&decoded.sender).is_some();
        self.stats.updates_received += decoded.updates.len() as u64;
        self.corrections.clear();
        for (index, update) in decoded.updates.into_iter().enumerate() {
            // Most updates arrive many times (each member sends each one about mult × log N
            // times): one that repeats our own pending update is known, and is skipped without
            // looking its member up.
            let span = self.update_spans.get(index).cloned().unwrap_or_default();
            let encoded = datagram.get(span).unwrap_or_default();
            if !self.is_local_id(&update.id) && self.broadcasts.holds(&update.id, encoded) {
                self.stats.updates_known += 1;
                continue;
            }
            self.apply_update(now, update);
        }
        let corrections = core::mem::take(&mut self.corrections);
        // An ACK carries corrections for free; a datagram of their own goes at most once per
        // gossip interval (enough: a stale node keeps spreading its rumour, and is answered).
        let can_correct =
            self.last_correction.is_none_or(|at| now - at >= self.config.gossip_interval);
        if !corrections.is_empty()
            && can_correct
            && !matches!(decoded.message, SwimMessage::Ping { .. })
        {
            self.last_correction = Some(now);
            self.stats.corrections_sent += 1;
            self.send_with(from.clone(), &SwimMessage::Gossip, false, &corrections);
        }
        match decoded.message {
            SwimMessage::Ping { seq, target, suspicion } => {
                if target.as_ref().is_some_and(|target| !self.is_local_id(target)) {
                    return self.sync_counts();
                }
                // Buddy system: a prober that suspects us gets our (refuted) ALIVE in the ACK.
                if let Some(incarnation) = suspicion
                    && incarnation >= self.incarnation
                    && self.phase != Phase::Leaving
                {
                    self.refute(now, incarnation);
                }
                let include_self = target.is_none() || !sender_known || suspicion.is_some();
                self.stats.corrections_sent += u64::from(!corrections.is_empty());
                self.send_with(from.clone(), &SwimMessage::Ack { seq }, include_self, &corrections);
                if target.is_none() && self.table.slot_of(&decoded.sender).is_none() {
                    self.push_pull_with_stranger(now, from);
                }
            }
            SwimMessage::Ack { seq } => self.on_ack(now, seq),
            SwimMessage::PingReq { seq, target, target_endpoint } => {
                self.serve_ping_req(now, from, seq, target, target_endpoint);
            }
            SwimMessage::Nack { seq } => self.probe_nacked(seq),
            SwimMessage::PushPullRequest { .. } => self.push_pull_with_stranger(now, from),
            SwimMessage::Gossip => {}
        }
        self.sync_counts();
    }

    /// An ACK, by either path: it completes a join, answers our probe, or is passed on to the
    /// member that asked us to probe for it.
    fn on_ack(&mut self, now: Instant, seq: u32) {
        if matches!(self.phase, Phase::Joining { .. }) {
            self.complete_join(now);
        }
        if !self.probe_acked(now, seq)
            && let Some(forward) = self.forwards.remove(&seq)
        {
            self.send(forward.requester, &SwimMessage::Ack { seq: forward.seq }, false);
        }
    }

    /// [`Self::handle_datagram`] for a plain PING, ACK or NACK (no update, no suspicion, a
    /// named target), read in place: the same steps as the general path takes for it, without
    /// making node ids out of the datagram's bytes.
    fn handle_quick(&mut self, now: Instant, from: Endpoint, quick: QuickDatagram<'_>) {
        if self.is_local_id_bytes(quick.sender) {
            return;
        }
        match quick.message {
            QuickMessage::Ping { seq, target } => {
                if !self.is_local_id_bytes(target) {
                    return;
                }
                self.send(from, &SwimMessage::Ack { seq }, false);
            }
            QuickMessage::Ack { seq } => self.on_ack(now, seq),
            QuickMessage::Nack { seq } => self.probe_nacked(seq),
        }
        // None of this changes the table, and every input that does syncs the counts at its
        // end: they are in sync already (the general path's `sync_counts` is a no-op here).
        debug_assert_eq!(
            [self.stats.alive, self.stats.suspect, self.stats.dead, self.stats.left],
            self.table.counts()
        );
    }

    /// Applies one update about any member (ourselves included).
    pub(crate) fn apply_update(&mut self, now: Instant, update: MemberUpdate) {
        if self.is_local_id(&update.id) {
            return self.apply_about_self(now, &update);
        }
        let slot = self.table.slot_of(&update.id);
        match (&update.kind, slot) {
            (UpdateKind::Alive { endpoint, tags }, None) => {
                let info = MemberInfo {
                    id: update.id.clone(),
                    endpoint: endpoint.clone(),
                    state: MemberState::Alive,
                    incarnation: update.incarnation,
                    tags: tags.clone(),
                };
                self.insert_member(now, info);
                self.rebroadcast(now, update);
            }
            (UpdateKind::Alive { .. }, Some(slot)) => self.apply_alive(now, slot, update),
            (UpdateKind::Suspect { by }, Some(slot)) => {
                let by = by.clone();
                self.apply_suspect(now, slot, update.incarnation, by);
            }
            (UpdateKind::Dead, Some(slot)) => {
                let Some(member) = self.table.get_mut(slot) else { return };
                if member.is_live() && update.incarnation >= member.incarnation {
                    self.declare_dead(now, slot, update.incarnation);
                } else if member.state == MemberState::Alive {
                    self.repeat_alive(now, slot);
                } else if member.state == MemberState::Dead
                    && update.incarnation > member.incarnation
                {
                    member.incarnation = update.incarnation;
                }
            }
            (UpdateKind::Left, Some(slot)) => {
                let Some(member) = self.table.get(slot) else { return };
                if member.state != MemberState::Left && update.incarnation >= member.incarnation {
                    self.mark_gone(now, slot, update.incarnation, MemberState::Left);
                }
            }
            // Rumours about members we never saw alive carry no endpoint: nothing to do.
            (_, None) => {}
        }
    }

    fn apply_alive(&mut self, now: Instant, slot: usize, update: MemberUpdate) {
        let UpdateKind::Alive { endpoint, tags } = &update.kind else { return };
        let Some(member) = self.table.get_mut(slot) else { return };
        if update.incarnation <= member.incarnation {
            return;
        }
        let previous = member.state;
        let tags_changed = member.tags() != tags.as_slice();
        let endpoint_changed = member.endpoint() != endpoint;
        member.incarnation = update.incarnation;
        if previous != MemberState::Alive {
            member.since = now;
        }
        let id = member.id().clone();
        if tags_changed || endpoint_changed {
            let card = MemberCard::new(id.clone(), endpoint.clone(), tags.clone());
            self.table.set_card(slot, card);
        }
        if previous != MemberState::Alive {
            self.table.set_state(slot, MemberState::Alive);
            self.suspicions.remove(&id);
        }
        match previous {
            MemberState::Suspect | MemberState::Dead => {
                self.events.push_back(MembershipEvent::MemberAlive {
                    id: id.clone(),
                    incarnation: update.incarnation,
                })
            }
            MemberState::Left => self.events.push_back(MembershipEvent::MemberUp {
                id: id.clone(),
                endpoint: endpoint.clone(),
            }),
            MemberState::Alive => {}
        }
        if tags_changed {
            self.events.push_back(MembershipEvent::TagsUpdated { id });
        }
        self.rebroadcast(now, update);
    }

    /// `by` suspects the member in `slot` at `incarnation`: start a suspicion, or count an
    /// independent confirmation of the running one.
    pub(crate) fn apply_suspect(
        &mut self,
        now: Instant,
        slot: usize,
        incarnation: u64,
        by: NodeId,
    ) {
        let expected =
            (self.config.indirect_probes as u32).min(self.table.live().saturating_sub(2) as u32);
        let Some(member) = self.table.get_mut(slot) else { return };
        let id = member.id().clone();
        let fresh = match member.state {
            MemberState::Alive => incarnation >= member.incarnation,
            MemberState::Suspect => incarnation > member.incarnation,
            MemberState::Dead | MemberState::Left => return,
        };
        if member.state == MemberState::Alive && !fresh {
            // A stale suspicion (the member refuted it already) is still going round: gossip
            // the refutation again, so those who missed it do not time the member out.
            return self.repeat_alive(now, slot);
        }
        if fresh {
            member.incarnation = incarnation;
            member.since = now;
            self.table.set_state(slot, MemberState::Suspect);
            let suspicion = Suspicion::new(
                now,
                incarnation,
                by.clone(),
                self.config.suspicion_min,
                self.config.suspicion_max(),
                expected,
            );
            self.timers.schedule(
                suspicion.next_due(super::probe::LAST_CHANCE_PINGS, self.config.probe_timeout),
                Timer::Suspicion(id.clone()),
            );
            self.suspicions.insert(id.clone(), suspicion);
            self.events.push_back(MembershipEvent::MemberSuspect { id: id.clone(), incarnation });
        } else if member.state == MemberState::Suspect && incarnation == member.incarnation {
            let Some(suspicion) = self.suspicions.get_mut(&id) else { return };
            if !suspicion.confirm(&by) {
                return;
            }
            self.timers.schedule(
                suspicion.next_due(super::probe::LAST_CHANCE_PINGS, self.config.probe_timeout),
                Timer::Suspicion(id.clone()),
            );
        } else {
            return;
        }
        let update = MemberUpdate { id, incarnation, kind: UpdateKind::Suspect { by } };
        self.rebroadcast(now, update);
    }

    pub(crate) fn declare_dead(&mut self, now: Instant, slot: usize, incarnation: u64) {
        self.mark_gone(now, slot, incarnation, MemberState::Dead);
    }

    /// Marks a member dead or left, schedules its reaping and gossips it.
    fn mark_gone(&mut self, now: Instant, slot: usize, incarnation: u64, state: MemberState) {
        let Some(member) = self.table.get_mut(slot) else { return };
        member.incarnation = member.incarnation.max(incarnation);
        member.since = now;
        let id = member.id().clone();
        let incarnation = member.incarnation;
        self.table.set_state(slot, state);
        self.suspicions.remove(&id);
        self.timers.schedule(now + self.config.dead_reap_after, Timer::Reap(id.clone()));
        let kind = if state == MemberState::Left {
            self.events.push_back(MembershipEvent::MemberLeft { id: id.clone() });
            UpdateKind::Left
        } else {
            self.events.push_back(MembershipEvent::MemberDead { id: id.clone() });
            self.note_death(now);
            UpdateKind::Dead
        };
        self.rebroadcast(now, MemberUpdate { id, incarnation, kind });
    }

    /// Partition suspicion: a large share of members died within `partition_window`.
    fn note_death(&mut self, now: Instant) {
        let window_start = now - self.config.partition_window;
        self.recent_deaths.push_back(now);
        while self.recent_deaths.front().is_some_and(|&t| t < window_start) {
            self.recent_deaths.pop_front();
        }
        let lost = self.recent_deaths.len();
        let of = self.table.live() + lost;
        let share = lost as f64 / of.max(1) as f64;
        if lost >= self.config.partition_min_lost
            && share >= self.config.partition_fraction
            && now >= self.partition_quiet_until
        {
            self.partition_quiet_until = now + self.config.partition_window;
            self.events.push_back(MembershipEvent::PartitionSuspected { lost, of });
        }
    }

    /// Rumours about ourselves: a suspicion, death or leave at our incarnation or later (or a
    /// newer ALIVE from a previous life of ours) is refuted with a higher incarnation.
    fn apply_about_self(&mut self, now: Instant, update: &MemberUpdate) {
        if matches!(self.phase, Phase::Leaving | Phase::Left) {
            return;
        }
        let alive = matches!(update.kind, UpdateKind::Alive { .. });
        if update.incarnation > self.incarnation
            || (!alive && update.incarnation == self.incarnation)
        {
            self.refute(now, update.incarnation);
            // Tell the accuser at once: it is the one member sure to time us out otherwise.
            if let UpdateKind::Suspect { by } = &update.kind
                && let Some(endpoint) = self.table.by_id(by).map(|m| m.endpoint().clone())
            {
                let alive = [self.local_alive.clone()];
                self.send_with(endpoint, &SwimMessage::Gossip, false, &alive);
            }
        } else if !alive && self.corrections.len() < MAX_CORRECTIONS {
            // A stale rumour about us: answer its sender with our current incarnation.
            self.corrections.push(self.local_alive.clone());
        }
    }

    pub(crate) fn refute(&mut self, now: Instant, heard: u64) {
        self.incarnation = heard.max(self.incarnation) + 1;
        self.refresh_local_alive();
        self.broadcasts.push(self.local.id.clone(), self.local_alive.clone(), Priority::Urgent);
        self.raise_health(1);
        self.stats.refutations += 1;
        self.events.push_back(MembershipEvent::Refuted { incarnation: self.incarnation });
        self.gossip_armed_check(now);
    }

    /// The sender of the datagram being handled spreads a stale rumour about the member in
    /// `slot` (which refuted it already): answer it directly with what we know, so it does not
    /// time the member out. Random gossip alone misses a given node now and then.
    fn repeat_alive(&mut self, _now: Instant, slot: usize) {
        let Some(member) = self.table.get(slot) else { return };
        if self.corrections.len() >= MAX_CORRECTIONS {
            return;
        }
        let update = MemberUpdate {
            id: member.id().clone(),
            incarnation: member.incarnation,
            kind: UpdateKind::Alive {
                endpoint: member.endpoint().clone(),
                tags: member.tags().to_vec(),
            },
        };
        self.corrections.push(update.to_bytes());
    }

    /// Queues an accepted update for dissemination.
    pub(crate) fn rebroadcast(&mut self, now: Instant, update: MemberUpdate) {
        let priority = match update.kind {
            UpdateKind::Left => Priority::Left,
            UpdateKind::Dead => Priority::Urgent,
            UpdateKind::Suspect { .. } => Priority::Suspect,
            UpdateKind::Alive { .. } => Priority::Alive,
        };
        let payload = update.to_bytes();
        self.broadcasts.push(update.id, payload, priority);
        self.gossip_armed_check(now);
    }

    /// Adds a member we did not know, in the state `info` gives.
    pub(crate) fn insert_member(&mut self, now: Instant, info: MemberInfo) {
        let card = MemberCard::new(info.id, info.endpoint, info.tags);
        self.insert_card(now, card, info.state, info.incarnation);
    }

    /// Adds a member we did not know, with its (possibly shared) card.
    pub(crate) fn insert_card(
        &mut self,
        now: Instant,
        card: MemberCard,
        state: MemberState,
        incarnation: u64,
    ) {
        let id = card.id().clone();
        let endpoint = card.endpoint().clone();
        let member = Member::new(card, state, incarnation, now);
        let slot = self.table.insert(member, &mut self.rng);
        match state {
            MemberState::Alive => self.events.push_back(MembershipEvent::MemberUp { id, endpoint }),
            MemberState::Suspect => {
                self.events.push_back(MembershipEvent::MemberUp { id, endpoint });
                // Known only as suspect: start our own suspicion so it is refuted or dies.
                self.table.set_state(slot, MemberState::Alive);
                let me = self.local.id.clone();
                self.apply_suspect(now, slot, incarnation, me);
            }
            MemberState::Dead | MemberState::Left => {
                self.timers.schedule(now + self.config.dead_reap_after, Timer::Reap(id));
            }
        }
    }
}
