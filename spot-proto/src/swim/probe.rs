//! Probing (direct, then indirect through K members), Lifeguard's local health, and every timer.

use core::time::Duration;

use crate::endpoint::Endpoint;
use crate::error::NodeError;
use crate::time::Instant;
use crate::wire::spot::{MemberState, NodeId};
use crate::wire::swim::SwimMessage;

use super::event::MembershipEvent;
use super::member::MemberCard;
use super::membership::{Membership, Phase};
use super::timers::Timer;

/// The probe of the current period.
#[derive(Clone, Debug)]
pub(crate) struct Probe {
    pub(crate) seq: u32,
    /// The target's card (a reference count, not a copy of its id).
    pub(crate) target: MemberCard,
    pub(crate) slot: usize,
    /// The target's place in the probe order (where its ACK's heartbeat goes).
    pub(crate) order_pos: usize,
    pub(crate) acked: bool,
    pub(crate) expected_nacks: u32,
    pub(crate) nacks: u32,
    /// When to probe indirectly if no ACK came; `None` once done. Kept here rather than in the
    /// timer queue, so an acknowledged probe leaves no stale wake-up behind.
    pub(crate) indirect_at: Option<Instant>,
}

/// A PING_REQ we serve as intermediary: relay the target's ACK to `requester` as `seq`.
#[derive(Clone, Debug)]
pub(crate) struct Forward {
    pub(crate) requester: Endpoint,
    pub(crate) seq: u32,
}

/// Buddy PINGs sent to a suspect over the last probe timeouts of its suspicion, before it is
/// declared dead.
pub(crate) const LAST_CHANCE_PINGS: u8 = 3;

/// Most PING_REQs served at once; more are dropped (a hostile peer costs bounded memory).
const MAX_FORWARDS: usize = 1024;

impl Membership {
    /// Runs every timer that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Bounded, so a zero interval in the configuration cannot spin forever: what is left
        // stays due and poll_timeout asks for another call at once.
        if let Some(probe) = &self.probe
            && probe.indirect_at.is_some_and(|at| at <= now)
        {
            let seq = probe.seq;
            self.probe_indirect(now, seq);
        }
        let mut budget = self.timers.len() + 16;
        while budget > 0 {
            budget -= 1;
            let Some(timer) = self.timers.pop_due(now) else { break };
            self.run_timer(now, timer);
        }
        self.sync_counts();
    }

    fn run_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::ProbeTick => self.probe_tick(now),
            Timer::ForwardTimeout(seq) => {
                if let Some(forward) = self.forwards.remove(&seq) {
                    self.send(forward.requester, &SwimMessage::Nack { seq: forward.seq }, false);
                }
            }
            Timer::Suspicion(id) => self.suspicion_timeout(now, &id),
            Timer::Reap(id) => self.reap(now, &id),
            Timer::Gossip => {
                self.gossip_armed = false;
                if self.is_joined() && self.has_fresh_updates() {
                    self.gossip_round(now);
                }
                self.gossip_armed_check(now);
            }
            Timer::PushPull => self.push_pull_tick(now),
            Timer::JoinRetry => {
                if matches!(self.phase, Phase::Joining { .. }) {
                    self.join_retries += 1;
                    self.contact_seeds(now, self.join_retries.is_multiple_of(5));
                }
            }
            Timer::Bootstrap => {
                if let Phase::Joining { deadline } = self.phase
                    && now >= deadline
                {
                    self.phase = Phase::Idle;
                    self.events.push_back(MembershipEvent::JoinFailed {
                        reason: NodeError::NoSeedReachable,
                    });
                }
            }
            Timer::LeaveGrace => {
                if self.phase == Phase::Leaving {
                    self.phase = Phase::Left;
                    self.timers.clear();
                    self.broadcasts.clear();
                    self.probe = None;
                    self.forwards.clear();
                    self.suspicions.clear();
                    self.gossip_armed = false;
                    self.events.push_back(MembershipEvent::Left);
                }
            }
        }
    }

    /// `duration × (local health + 1)`.
    pub(crate) fn scaled(&self, duration: Duration) -> Duration {
        duration.saturating_mul(self.health + 1)
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        self.next_seq = self.next_seq.wrapping_add(1);
        self.next_seq
    }

    pub(crate) fn raise_health(&mut self, by: u32) {
        let ceiling = self.config.max_local_health.saturating_sub(1);
        self.health = self.health.saturating_add(by).min(ceiling);
    }

    fn probe_tick(&mut self, now: Instant) {
        if !self.is_joined() {
            return;
        }
        self.settle_probe(now);
        if let Some(order_pos) = self.table.next_probe_target(&mut self.rng)
            && let Some(entry) = self.table.probe_entry(order_pos)
        {
            // The entry has all a probe needs; only a suspect's incarnation is in its slot.
            let target = entry.card().clone();
            let slot = entry.slot();
            let endpoint = target.endpoint().clone();
            let suspicion = if entry.is_suspect() {
                self.table.get(slot).map(|member| member.incarnation)
            } else {
                None
            };
            let seq = self.next_seq();
            self.send_ping(endpoint, seq, target.id(), suspicion);
            let timeout = self.scaled(self.hot.probe_timeout);
            self.probe = Some(Probe {
                seq,
                target,
                slot,
                order_pos,
                acked: false,
                expected_nacks: 0,
                nacks: 0,
                indirect_at: Some(now + timeout),
            });
            self.stats.probes += 1;
        }
        let interval = self.scaled(self.hot.probe_interval);
        self.timers.schedule(now + interval, Timer::ProbeTick);
    }

    /// Ends the previous period's probe: without an ACK its target becomes suspect, and local
    /// health worsens by the NACKs we expected and did not get (by 1 without helpers).
    fn settle_probe(&mut self, now: Instant) {
        let Some(probe) = self.probe.take() else { return };
        if probe.acked {
            return;
        }
        self.stats.probes_failed += 1;
        let missed = if probe.expected_nacks == 0 {
            1
        } else {
            probe.expected_nacks.saturating_sub(probe.nacks)
        };
        self.raise_health(missed);
        let Some(member) = self.table.get(probe.slot) else { return };
        if !member.card.same_id(&probe.target) || !member.is_live() {
            return;
        }
        let incarnation = member.incarnation;
        let me = self.local.id.clone();
        self.stats.suspicions_started += u64::from(member.state == MemberState::Alive);
        self.apply_suspect(now, probe.slot, incarnation, me);
    }

    /// The direct ACK is late: ask K random alive members to probe the target.
    fn probe_indirect(&mut self, _now: Instant, seq: u32) {
        let Some(probe) = self.probe.as_mut() else { return };
        if probe.seq != seq || probe.acked {
            return;
        }
        probe.indirect_at = None;
        let slot = probe.slot;
        let Some(member) = self.table.get(slot) else { return };
        let target = member.id().clone();
        let target_endpoint = member.endpoint().clone();
        let mut helpers = core::mem::take(&mut self.scratch);
        helpers.clear();
        self.table.random_members(
            &mut self.rng,
            self.config.indirect_probes,
            Some(slot),
            false,
            &mut helpers,
        );
        // Ask the target again directly too (the first PING or its ACK may just have been lost):
        // each independent path makes a false suspicion under loss less likely.
        let suspicion = (member.state == MemberState::Suspect).then_some(member.incarnation);
        let retry = SwimMessage::Ping { seq, target: Some(target.clone()), suspicion };
        self.send(target_endpoint.clone(), &retry, false);
        let message = SwimMessage::PingReq { seq, target, target_endpoint };
        for &helper in &helpers {
            if let Some(endpoint) = self.table.get(helper).map(|m| m.endpoint().clone()) {
                self.send(endpoint, &message, false);
            }
        }
        let count = helpers.len() as u32;
        self.scratch = helpers;
        self.stats.indirect_probes += u64::from(count);
        if let Some(probe) = self.probe.as_mut() {
            probe.expected_nacks = count;
        }
    }

    /// An ACK for `seq` arrived (directly or relayed).
    pub(crate) fn probe_acked(&mut self, now: Instant, seq: u32) -> bool {
        match self.probe.as_mut() {
            Some(probe) if probe.seq == seq => {
                if !probe.acked {
                    probe.acked = true;
                    probe.indirect_at = None;
                    let (slot, order_pos) = (probe.slot, probe.order_pos);
                    self.health = self.health.saturating_sub(1);
                    self.table.heartbeat(order_pos, slot, now);
                }
                true
            }
            _ => false,
        }
    }

    pub(crate) fn probe_nacked(&mut self, seq: u32) {
        if let Some(probe) = self.probe.as_mut()
            && probe.seq == seq
        {
            probe.nacks += 1;
            self.stats.nacks_received += 1;
        }
    }

    /// Serves a PING_REQ: ping the target, relay its ACK or NACK in time.
    pub(crate) fn serve_ping_req(
        &mut self,
        now: Instant,
        requester: Endpoint,
        seq: u32,
        target: NodeId,
        target_endpoint: Endpoint,
    ) {
        if self.is_local_id(&target) {
            self.send(requester, &SwimMessage::Ack { seq }, false);
            return;
        }
        if self.forwards.len() >= MAX_FORWARDS {
            return;
        }
        let our_seq = self.next_seq();
        self.forwards.insert(our_seq, Forward { requester, seq });
        self.send(
            target_endpoint,
            &SwimMessage::Ping { seq: our_seq, target: Some(target), suspicion: None },
            false,
        );
        // NACK a little before the requester's period ends.
        let wait = self.config.probe_timeout.mul_f64(0.8);
        self.timers.schedule(now + wait, Timer::ForwardTimeout(our_seq));
    }

    fn suspicion_timeout(&mut self, now: Instant, id: &NodeId) {
        let probe_timeout = self.config.probe_timeout;
        let Some(suspicion) = self.suspicions.get_mut(id) else { return };
        let due = suspicion.next_due(LAST_CHANCE_PINGS, probe_timeout);
        if due > now {
            return;
        }
        let incarnation = suspicion.incarnation;
        if suspicion.grace_pings < LAST_CHANCE_PINGS {
            // Last chance, over the end of the timeout: buddy PINGs whose ACK carries the
            // member's refutation if the gossip missed us. Dead only if nothing comes back.
            suspicion.grace_pings += 1;
            suspicion.grace_until =
                Some(now + suspicion.ping_spacing(LAST_CHANCE_PINGS, probe_timeout));
            let next = suspicion.next_due(LAST_CHANCE_PINGS, probe_timeout);
            self.timers.schedule(next, Timer::Suspicion(id.clone()));
            if let Some(endpoint) = self.table.by_id(id).map(|m| m.endpoint().clone()) {
                let seq = self.next_seq();
                let ping = SwimMessage::Ping {
                    seq,
                    target: Some(id.clone()),
                    suspicion: Some(incarnation),
                };
                self.send(endpoint, &ping, false);
            }
            return;
        }
        self.suspicions.remove(id);
        let Some(slot) = self.table.slot_of(id) else { return };
        let Some(member) = self.table.get(slot) else { return };
        if member.state == MemberState::Suspect && member.incarnation == incarnation {
            self.declare_dead(now, slot, incarnation);
        }
    }

    fn reap(&mut self, now: Instant, id: &NodeId) {
        let Some(slot) = self.table.slot_of(id) else { return };
        let Some(member) = self.table.get(slot) else { return };
        let gone = matches!(member.state, MemberState::Dead | MemberState::Left);
        if gone && now - member.since >= self.config.dead_reap_after {
            self.table.remove(slot);
            self.suspicions.remove(id);
            self.events.push_back(MembershipEvent::MemberReaped { id: id.clone() });
        }
    }

    /// Sends pending updates to `gossip_fanout` random alive members.
    pub(crate) fn gossip_round(&mut self, _now: Instant) {
        let mut targets = core::mem::take(&mut self.scratch);
        targets.clear();
        // Suspects too: a member suspected by mistake must keep hearing the news to refute it.
        self.table.random_members(
            &mut self.rng,
            self.config.gossip_fanout,
            None,
            true,
            &mut targets,
        );
        for &slot in &targets {
            if self.broadcasts.is_empty() {
                break;
            }
            if let Some(endpoint) = self.table.get(slot).map(|m| m.endpoint().clone()) {
                self.send(endpoint, &SwimMessage::Gossip, false);
                self.stats.gossip_datagrams += 1;
            }
        }
        self.scratch = targets;
    }

    /// Pings every seed (with our ALIVE), and asks them for a push-pull when `with_push_pull`.
    pub(crate) fn contact_seeds(&mut self, now: Instant, with_push_pull: bool) {
        let seeds = core::mem::take(&mut self.join_seeds);
        for seed in &seeds {
            let seq = self.next_seq();
            self.send(
                seed.clone(),
                &SwimMessage::Ping { seq, target: None, suspicion: None },
                true,
            );
            if with_push_pull {
                self.start_push_pull(seed.clone(), true);
            }
        }
        self.join_seeds = seeds;
        self.timers.schedule(now + self.config.probe_interval, Timer::JoinRetry);
    }
}
