//! Push-pull: full-state exchange over a connection (SPOT extension PUSH_PULL_REQ 0x50 /
//! PUSH_PULL_RESP 0x51, whose opaque state frame is a [`FullState`] blob).

use bytes::{Bytes, BytesMut};

use crate::endpoint::Endpoint;
use crate::time::Instant;
use crate::wire::spot::{MemberInfo, MemberState, NodeId, PushPull};
use crate::wire::swim::{
    EntryRef, FULL_STATE_HEAD_LEN, FullStateKind, FullStateView, MemberUpdate, UpdateKind,
    entry_fields_len, put_entry_fields, put_head,
};

use super::membership::{Membership, Phase};
use super::timers::Timer;

/// Offset of the member count in a full-state blob.
const COUNT_OFFSET: usize = 12;

impl Membership {
    /// The next push-pull request to carry over a connection to that endpoint's node (as
    /// PUSH_PULL_REQ); its answer goes back in through [`Self::handle_push_pull`].
    pub fn poll_push_pull(&mut self) -> Option<(Endpoint, PushPull)> {
        self.push_pulls.pop_front()
    }

    /// Merges a push-pull state received from `from`. A request returns the response to send
    /// back (PUSH_PULL_RESP); a response returns `None`. A state that does not decode, or that
    /// belongs to another cluster, is dropped and counted.
    pub fn handle_push_pull(
        &mut self,
        now: Instant,
        from: Endpoint,
        message: PushPull,
    ) -> Option<PushPull> {
        let _ = from;
        if !self.is_active() {
            return None;
        }
        self.stats.push_pull_bytes_in += message.state.len() as u64;
        let state = match FullStateView::check(&message.state, &self.config.limits) {
            Ok(state) if state.cluster_id == self.config.cluster_id => state,
            _ => {
                self.stats.push_pull_malformed += 1;
                return None;
            }
        };
        let kind = state.kind;
        let mut hint = 0;
        for entry in state.entries() {
            // Most entries tell us nothing new: skip them without making a `MemberInfo`.
            if self.entry_is_stale(&entry, &mut hint) {
                continue;
            }
            if let Some(info) = state.info(&entry, &self.config.limits) {
                self.merge_entry(now, info, Some(&message.sender));
            }
        }
        if matches!(self.phase, Phase::Joining { .. }) {
            self.complete_join(now);
        }
        self.sync_counts();
        match kind {
            FullStateKind::Request => Some(PushPull {
                join: false,
                sender: self.local.id.clone(),
                state: self.full_state(FullStateKind::Response),
            }),
            FullStateKind::Response => None,
        }
    }

    /// Whether merging `entry` would change nothing (an ALIVE or LEFT no newer than what we
    /// have about a member we know): exactly the entries [`Self::merge_entry`] ignores without
    /// a trace. Anything else (ourselves, strangers, suspicions, news) is merged in full.
    /// `hint` is where to look first (the slot after the previous entry's), updated.
    fn entry_is_stale(&self, entry: &EntryRef<'_>, hint: &mut usize) -> bool {
        if self.is_local_id_bytes(entry.id) {
            return false;
        }
        let Some(slot) = self.table.slot_of_bytes_near(entry.id, *hint) else { return false };
        *hint = slot + 1;
        let Some(member) = self.table.get(slot) else { return false };
        match entry.state {
            MemberState::Alive => entry.incarnation <= member.incarnation,
            MemberState::Left => {
                member.state == MemberState::Left || entry.incarnation < member.incarnation
            }
            MemberState::Suspect | MemberState::Dead => false,
        }
    }

    /// Merges one full-state entry: ALIVE as an alive update; SUSPECT and DEAD as a suspicion
    /// by the sender (so a member we still reach can refute); LEFT as left.
    pub(crate) fn merge_entry(&mut self, now: Instant, info: MemberInfo, sender: Option<&NodeId>) {
        let kind = match info.state {
            MemberState::Alive => UpdateKind::Alive { endpoint: info.endpoint, tags: info.tags },
            MemberState::Suspect | MemberState::Dead => {
                UpdateKind::Suspect { by: sender.cloned().unwrap_or_else(|| self.local.id.clone()) }
            }
            MemberState::Left => UpdateKind::Left,
        };
        self.apply_update(now, MemberUpdate { id: info.id, incarnation: info.incarnation, kind });
    }

    /// Our whole state as a blob: ourselves first, then every member, within
    /// [`crate::Limits::max_message_size`].
    pub(crate) fn full_state(&mut self, kind: FullStateKind) -> Bytes {
        let max = usize::try_from(self.config.limits.max_message_size).unwrap_or(usize::MAX);
        let estimate = FULL_STATE_HEAD_LEN + (self.table.len() + 1) * 48;
        let mut buf = BytesMut::with_capacity(estimate.min(max));
        put_head(&mut buf, kind, self.config.cluster_id, 0);
        let own_state =
            if self.phase == Phase::Leaving { MemberState::Left } else { MemberState::Alive };
        let mut count = 0u32;
        if buf.len() + entry_fields_len(&self.local.id, &self.local.endpoint, &self.local.tags)
            <= max
        {
            put_entry_fields(
                &mut buf,
                own_state,
                &self.local.id,
                self.incarnation,
                &self.local.endpoint,
                &self.local.tags,
            );
            count += 1;
        }
        for member in self.table.iter() {
            if buf.len() + entry_fields_len(member.id(), member.endpoint(), member.tags()) > max {
                break;
            }
            put_entry_fields(
                &mut buf,
                member.state,
                member.id(),
                member.incarnation,
                member.endpoint(),
                member.tags(),
            );
            count += 1;
        }
        buf[COUNT_OFFSET..COUNT_OFFSET + 4].copy_from_slice(&count.to_le_bytes());
        self.stats.push_pull_bytes_out += buf.len() as u64;
        buf.freeze()
    }

    /// Queues a push-pull request to `to`.
    pub(crate) fn start_push_pull(&mut self, to: Endpoint, join: bool) {
        let state = self.full_state(FullStateKind::Request);
        self.stats.push_pulls_started += 1;
        self.push_pulls.push_back((to, PushPull { join, sender: self.local.id.clone(), state }));
    }

    /// A member we do not know talks to us (or asks for a push-pull): exchange full state with
    /// it, at most once per probe interval.
    pub(crate) fn push_pull_with_stranger(&mut self, now: Instant, from: Endpoint) {
        if self.phase != Phase::Joined {
            return;
        }
        let recent =
            self.last_stranger_push_pull.is_some_and(|at| now - at < self.config.probe_interval);
        if !recent {
            self.last_stranger_push_pull = Some(now);
            self.start_push_pull(from, false);
        }
    }

    /// The periodic push-pull with one random alive member. The period grows linearly beyond
    /// 32 members (`interval × ceil(N / 32)`), so the whole cluster runs about 32 exchanges per
    /// interval whatever its size, and the CPU and bytes it costs per member stay flat.
    pub(crate) fn push_pull_tick(&mut self, now: Instant) {
        if self.phase != Phase::Joined {
            return;
        }
        let mut picked = core::mem::take(&mut self.scratch);
        picked.clear();
        self.table.random_members(&mut self.rng, 1, None, false, &mut picked);
        if let Some(endpoint) =
            picked.first().and_then(|&s| self.table.get(s)).map(|m| m.endpoint().clone())
        {
            self.start_push_pull(endpoint, false);
        }
        self.scratch = picked;
        if let Some(period) = self.push_pull_period() {
            self.timers.schedule(now + period, Timer::PushPull);
        }
    }

    /// The push-pull period for the current cluster size (see [`Self::push_pull_tick`]).
    pub(crate) fn push_pull_period(&self) -> Option<core::time::Duration> {
        let interval = self.config.push_pull_interval?;
        let n = self.table.live() + 1;
        let scale = u32::try_from(n.div_ceil(32)).unwrap_or(u32::MAX).max(1);
        Some(interval.saturating_mul(scale))
    }
}
