//! The indexed member table: slots in a `Vec`, indexes by node id and by endpoint, and the
//! shuffled round-robin probe order. No operation scans all members per packet.

use crate::collections::FxHashMap;
use crate::endpoint::Endpoint;
use crate::rng::SpotRng;
use crate::wire::spot::{MemberState, NodeId};

use super::member::Member;

/// Remote members (the local member is not in the table).
#[derive(Debug, Default)]
pub(crate) struct MemberTable {
    slots: Vec<Option<Member>>,
    free: Vec<usize>,
    by_id: FxHashMap<NodeId, usize>,
    by_endpoint: FxHashMap<Endpoint, usize>,
    probe_order: Vec<usize>,
    probe_pos: usize,
    counts: [usize; 4],
}

fn state_index(state: MemberState) -> usize {
    usize::from(state.as_u8())
}

impl MemberTable {
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Members per state: alive, suspect, dead, left.
    pub(crate) fn counts(&self) -> [usize; 4] {
        self.counts
    }

    /// Alive and suspect members.
    pub(crate) fn live(&self) -> usize {
        self.counts[0] + self.counts[1]
    }

    pub(crate) fn slot_of(&self, id: &NodeId) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub(crate) fn slot_at(&self, endpoint: &Endpoint) -> Option<usize> {
        self.by_endpoint.get(endpoint).copied()
    }

    pub(crate) fn get(&self, slot: usize) -> Option<&Member> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut Member> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    pub(crate) fn by_id(&self, id: &NodeId) -> Option<&Member> {
        self.slot_of(id).and_then(|slot| self.get(slot))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Member> {
        self.slots.iter().flatten()
    }

    /// Adds a member and gives it a random place in the current probe round.
    pub(crate) fn insert(&mut self, member: Member, rng: &mut SpotRng) -> usize {
        self.counts[state_index(member.state)] += 1;
        let id = member.id.clone();
        let endpoint = member.endpoint.clone();
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(member);
                slot
            }
            None => {
                self.slots.push(Some(member));
                self.slots.len() - 1
            }
        };
        self.by_id.insert(id, slot);
        self.by_endpoint.insert(endpoint, slot);
        // Push, then swap with a random entry of the rest of the round: O(1).
        self.probe_order.push(slot);
        let last = self.probe_order.len() - 1;
        let pos = self.probe_pos.min(last);
        let at = pos + rng.index(last - pos + 1);
        self.probe_order.swap(at, last);
        slot
    }

    /// Forgets a member (reaping). Its probe-order entries are skipped lazily.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<Member> {
        let member = self.slots.get_mut(slot)?.take()?;
        self.counts[state_index(member.state)] -= 1;
        self.by_id.remove(&member.id);
        if self.by_endpoint.get(&member.endpoint) == Some(&slot) {
            self.by_endpoint.remove(&member.endpoint);
        }
        self.free.push(slot);
        Some(member)
    }

    pub(crate) fn set_state(&mut self, slot: usize, state: MemberState) {
        if let Some(member) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            self.counts[state_index(member.state)] -= 1;
            self.counts[state_index(state)] += 1;
            member.state = state;
        }
    }

    pub(crate) fn set_endpoint(&mut self, slot: usize, endpoint: Endpoint) {
        let Some(member) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        if member.endpoint == endpoint {
            return;
        }
        if self.by_endpoint.get(&member.endpoint) == Some(&slot) {
            self.by_endpoint.remove(&member.endpoint);
        }
        self.by_endpoint.insert(endpoint.clone(), slot);
        member.endpoint = endpoint;
    }

    /// The next live member in shuffled round-robin order; a new round starts (reshuffled) when
    /// the current one is exhausted.
    pub(crate) fn next_probe_target(&mut self, rng: &mut SpotRng) -> Option<usize> {
        for _round in 0..2 {
            while self.probe_pos < self.probe_order.len() {
                let slot = self.probe_order[self.probe_pos];
                self.probe_pos += 1;
                if self.get(slot).is_some_and(Member::is_live) {
                    return Some(slot);
                }
            }
            self.probe_order.clear();
            self.probe_order.extend(
                self.slots
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.as_ref().is_some_and(Member::is_live))
                    .map(|(slot, _)| slot),
            );
            rng.shuffle(&mut self.probe_order);
            self.probe_pos = 0;
        }
        None
    }

    /// Up to `k` distinct random alive members (and suspect ones too, with `with_suspects`), not
    /// `exclude`, appended to `out`.
    pub(crate) fn random_members(
        &self,
        rng: &mut SpotRng,
        k: usize,
        exclude: Option<usize>,
        with_suspects: bool,
        out: &mut Vec<usize>,
    ) {
        let start = out.len();
        let wanted_state = |m: &Member| {
            m.state == MemberState::Alive || (with_suspects && m.state == MemberState::Suspect)
        };
        let eligible = |slot: usize, out: &Vec<usize>| {
            Some(slot) != exclude
                && !out[start..].contains(&slot)
                && self.get(slot).is_some_and(wanted_state)
        };
        let pool = self.counts[0] + if with_suspects { self.counts[1] } else { 0 };
        let available =
            pool - usize::from(exclude.is_some_and(|s| self.get(s).is_some_and(wanted_state)));
        let want = k.min(available);
        if want == 0 || self.slots.is_empty() {
            return;
        }
        // Random draws first (cheap while most members are alive), then a scan from a random
        // start for what the draws missed.
        for _ in 0..want * 4 {
            if out.len() - start >= want {
                return;
            }
            let slot = rng.index(self.slots.len());
            if eligible(slot, out) {
                out.push(slot);
            }
        }
        let offset = rng.index(self.slots.len());
        for i in 0..self.slots.len() {
            if out.len() - start >= want {
                return;
            }
            let slot = (offset + i) % self.slots.len();
            if eligible(slot, out) {
                out.push(slot);
            }
        }
    }
}
