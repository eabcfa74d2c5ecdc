//! The indexed member table: slots in a `Vec`, indexes by node id and by endpoint, and the
//! shuffled round-robin probe order. No operation scans all members per packet.
//!
//! A slot is a few words ([`Member`]: a shared card and the per-table state); the indexes hold
//! 4-byte slot numbers ([`SlotIndex`]) and take the keys' hashes from the cards.
//!
//! Each member also has one [`ProbeEntry`] in the probe order, holding what a probe and its ACK
//! need (the card, a copy of the state, the health score): a probe walks the order, which lies
//! in memory in the order it is read, and touches no slot. In a cluster too large for the cache
//! each slot is a miss by the time its member is probed again, and that read was the steady
//! state's costliest step.

use crate::endpoint::Endpoint;
use crate::rng::SpotRng;
use crate::time::Instant;
use crate::wire::spot::{MemberState, NodeId};

use super::index::SlotIndex;
use super::member::{Member, MemberCard, PhiDetector, index_hash};

/// Remote members (the local member is not in the table).
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct MemberTable {
    // Hot fields first (see `Membership`'s layout).
    slots: Vec<Option<Member>>,
    /// The probe round: one entry per member (and the entries of members removed during the
    /// round, emptied, until the next reshuffle).
    probe_order: Vec<ProbeEntry>,
    probe_pos: usize,
    counts: [usize; 4],
    /// The indexes and the free list, behind a pointer: a probe, a PING or an ACK needs none of
    /// them, and inline they would be 104 bytes among the fields every input reads.
    index: Box<TableIndex>,
}

/// The parts of [`MemberTable`] used to find, add and remove members.
#[derive(Debug, Default)]
struct TableIndex {
    by_id: SlotIndex,
    by_endpoint: SlotIndex,
    free: Vec<usize>,
    /// Each slot's entry in the probe order ([`NOT_IN_ORDER`] for an empty slot).
    order_pos: Vec<u32>,
}

/// `TableIndex::order_pos` of an empty slot.
const NOT_IN_ORDER: u32 = u32::MAX;

/// A member's place in the probe order: what probing it and taking its ACK read.
#[derive(Clone, Debug)]
pub(crate) struct ProbeEntry {
    card: MemberCard,
    /// The member's health score, over its ACKs to our probes (which arrive just after the
    /// probe read this entry).
    phi: PhiDetector,
    slot: u32,
    /// The member's state, kept equal to its slot's; `None` once the member is removed.
    state: Option<MemberState>,
}

impl ProbeEntry {
    /// The member's card (id and endpoint).
    pub(crate) fn card(&self) -> &MemberCard {
        &self.card
    }

    /// The member's slot in the table.
    pub(crate) fn slot(&self) -> usize {
        self.slot as usize
    }

    /// Whether the member is suspect (a probe then reads its incarnation from the slot).
    pub(crate) fn is_suspect(&self) -> bool {
        self.state == Some(MemberState::Suspect)
    }

    fn is_live(&self) -> bool {
        matches!(self.state, Some(MemberState::Alive | MemberState::Suspect))
    }
}

fn state_index(state: MemberState) -> usize {
    usize::from(state.as_u8())
}

/// The member in `slot` of `slots` (which the indexes guarantee is there).
fn card_at(slots: &[Option<Member>], slot: usize) -> Option<&MemberCard> {
    slots.get(slot).and_then(Option::as_ref).map(|m| &m.card)
}

fn same_id(a: &MemberCard, b: &MemberCard) -> bool {
    a.id_hash() == b.id_hash() && a.id() == b.id()
}

fn same_endpoint(a: &MemberCard, b: &MemberCard) -> bool {
    a.endpoint_hash() == b.endpoint_hash() && a.endpoint() == b.endpoint()
}

impl MemberTable {
    pub(crate) fn len(&self) -> usize {
        // Every member is counted in one state (read here rather than the index's length,
        // which sits on a colder cache line).
        let len = self.counts.iter().sum();
        debug_assert_eq!(len, self.index.by_id.len());
        len
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
        let slots = &self.slots;
        let hash = index_hash(id);
        self.index.by_id.find(hash, |slot| {
            card_at(slots, slot).is_some_and(|c| c.id_hash() == hash && c.id() == id)
        })
    }

    /// [`Self::slot_of`] for a node id's bytes.
    pub(crate) fn slot_of_bytes(&self, id: &[u8]) -> Option<usize> {
        let slots = &self.slots;
        // A `NodeId` hashes as its bytes do.
        let hash = index_hash(id);
        self.index.by_id.find(hash, |slot| {
            card_at(slots, slot).is_some_and(|c| c.id_hash() == hash && c.id().as_bytes() == id)
        })
    }

    /// [`Self::slot_of_bytes`], trying `hint` first: a full state lists its sender's table in
    /// slot order, and tables filled in the same order (a roster, members joining through the
    /// same seeds) line up, so the slot after the previous entry's is most often the next
    /// entry's, read without the index.
    pub(crate) fn slot_of_bytes_near(&self, id: &[u8], hint: usize) -> Option<usize> {
        let hinted = card_at(&self.slots, hint).is_some_and(|c| c.id().as_bytes() == id);
        if hinted { Some(hint) } else { self.slot_of_bytes(id) }
    }

    /// The slot of the member with the id of `card` (using the card's cached hash).
    pub(crate) fn slot_of_card(&self, card: &MemberCard) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .by_id
            .find(card.id_hash(), |slot| card_at(slots, slot).is_some_and(|c| same_id(c, card)))
    }

    pub(crate) fn slot_at(&self, endpoint: &Endpoint) -> Option<usize> {
        let slots = &self.slots;
        let hash = index_hash(endpoint);
        self.index.by_endpoint.find(hash, |slot| {
            card_at(slots, slot)
                .is_some_and(|c| c.endpoint_hash() == hash && c.endpoint() == endpoint)
        })
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

    /// Room for `additional` more members without reallocating.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let reusable = self.index.free.len().min(additional);
        let fresh = additional - reusable;
        self.slots.reserve(fresh);
        self.index.order_pos.reserve(fresh);
        self.probe_order.reserve(additional);
        let slots = &self.slots;
        self.index
            .by_id
            .reserve(additional, |slot| card_at(slots, slot).map_or(0, MemberCard::id_hash));
        self.index
            .by_endpoint
            .reserve(additional, |slot| card_at(slots, slot).map_or(0, MemberCard::endpoint_hash));
    }

    /// Adds a member and gives it a random place in the current probe round.
    pub(crate) fn insert(&mut self, member: Member, rng: &mut SpotRng) -> usize {
        self.counts[state_index(member.state)] += 1;
        let card = member.card.clone();
        let state = member.state;
        let slot = match self.index.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(member);
                slot
            }
            None => {
                self.slots.push(Some(member));
                self.index.order_pos.push(NOT_IN_ORDER);
                self.slots.len() - 1
            }
        };
        self.index(slot, &card);
        // Push, then swap with a random entry of the rest of the round: O(1).
        let entry =
            ProbeEntry { card, phi: PhiDetector::default(), slot: slot as u32, state: Some(state) };
        self.probe_order.push(entry);
        let last = self.probe_order.len() - 1;
        let pos = self.probe_pos.min(last);
        let at = pos + rng.index(last - pos + 1);
        self.probe_order.swap(at, last);
        self.placed(at);
        self.placed(last);
        slot
    }

    /// Records where the probe-order entry at `pos` is (after a move).
    fn placed(&mut self, pos: usize) {
        if let Some(entry) = self.probe_order.get(pos)
            && entry.state.is_some()
            && let Some(at) = self.index.order_pos.get_mut(entry.slot())
        {
            *at = pos as u32;
        }
    }

    /// The probe-order entry of the member in `slot`.
    fn entry_of(&self, slot: usize) -> Option<&ProbeEntry> {
        let pos = *self.index.order_pos.get(slot)?;
        self.probe_order.get(pos as usize).filter(|entry| entry.slot() == slot)
    }

    fn entry_of_mut(&mut self, slot: usize) -> Option<&mut ProbeEntry> {
        let pos = *self.index.order_pos.get(slot)?;
        self.probe_order.get_mut(pos as usize).filter(|entry| entry.slot() == slot)
    }

    /// The probe-order entry at `pos` (from [`Self::next_probe_target`]).
    pub(crate) fn probe_entry(&self, pos: usize) -> Option<&ProbeEntry> {
        self.probe_order.get(pos).filter(|entry| entry.state.is_some())
    }

    /// The health score of the member in `slot`.
    pub(crate) fn phi_of(&self, slot: usize) -> Option<&PhiDetector> {
        self.entry_of(slot).map(|entry| &entry.phi)
    }

    /// An ACK from the member in `slot`, probed through the entry at `pos`, arrived: a beat of
    /// its health score (read through `pos`, which the probe just read, when it still holds the
    /// member).
    pub(crate) fn heartbeat(&mut self, pos: usize, slot: usize, now: Instant) {
        let entry = match self.probe_order.get_mut(pos) {
            Some(entry) if entry.slot() == slot && entry.state.is_some() => Some(entry),
            _ => self.entry_of_mut(slot),
        };
        if let Some(entry) = entry {
            entry.phi.heartbeat(now);
        }
    }

    /// Indexes the member in `slot` by id and by endpoint (an endpoint another member had
    /// moves to this one).
    fn index(&mut self, slot: usize, card: &MemberCard) {
        let slots = &self.slots;
        self.index.by_id.insert(
            card.id_hash(),
            slot,
            |other| other != slot && card_at(slots, other).is_some_and(|c| same_id(c, card)),
            |other| card_at(slots, other).map_or(0, MemberCard::id_hash),
        );
        self.index.by_endpoint.insert(
            card.endpoint_hash(),
            slot,
            |other| other != slot && card_at(slots, other).is_some_and(|c| same_endpoint(c, card)),
            |other| card_at(slots, other).map_or(0, MemberCard::endpoint_hash),
        );
    }

    /// Forgets a member (reaping). Its probe-order entry is emptied, and dropped at the next
    /// reshuffle.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<Member> {
        let member = self.slots.get(slot)?.as_ref()?;
        let card = member.card.clone();
        if let Some(entry) = self.entry_of_mut(slot) {
            entry.state = None;
        }
        self.index.order_pos[slot] = NOT_IN_ORDER;
        // Unindex while the slot still holds its card (growing reads the cards' hashes).
        self.index.by_id.remove(card.id_hash(), slot);
        self.index.by_endpoint.remove(card.endpoint_hash(), slot);
        let member = self.slots[slot].take()?;
        self.counts[state_index(member.state)] -= 1;
        self.index.free.push(slot);
        Some(member)
    }

    pub(crate) fn set_state(&mut self, slot: usize, state: MemberState) {
        if let Some(member) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            self.counts[state_index(member.state)] -= 1;
            self.counts[state_index(state)] += 1;
            member.state = state;
            if let Some(entry) = self.entry_of_mut(slot) {
                entry.state = Some(state);
            }
        }
    }

    /// Gives the member in `slot` a new card (a new endpoint or new tags), re-indexing its
    /// endpoint when it changed.
    pub(crate) fn set_card(&mut self, slot: usize, card: MemberCard) {
        let Some(member) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        let old = core::mem::replace(&mut member.card, card.clone());
        if let Some(entry) = self.entry_of_mut(slot) {
            entry.card = card.clone();
        }
        if old.endpoint() == card.endpoint() {
            return;
        }
        self.index.by_endpoint.remove(old.endpoint_hash(), slot);
        let slots = &self.slots;
        self.index.by_endpoint.insert(
            card.endpoint_hash(),
            slot,
            |other| other != slot && card_at(slots, other).is_some_and(|c| same_endpoint(c, &card)),
            |other| card_at(slots, other).map_or(0, MemberCard::endpoint_hash),
        );
    }

    /// The probe-order position of the next live member in shuffled round-robin order (see
    /// [`Self::probe_entry`]); a new round starts (reshuffled) when the current one is
    /// exhausted.
    pub(crate) fn next_probe_target(&mut self, rng: &mut SpotRng) -> Option<usize> {
        for _round in 0..2 {
            while let Some(entry) = self.probe_order.get(self.probe_pos) {
                let pos = self.probe_pos;
                self.probe_pos += 1;
                if entry.is_live() {
                    return Some(pos);
                }
            }
            self.reshuffle(rng);
        }
        None
    }

    /// Starts a round: the live members, in slot order, shuffled; then the others (kept for
    /// their health scores, skipped by probes); removed members' entries are dropped.
    fn reshuffle(&mut self, rng: &mut SpotRng) {
        self.probe_order.retain(|entry| entry.state.is_some());
        self.probe_order.sort_unstable_by_key(|entry| (!entry.is_live(), entry.slot));
        let live = self.probe_order.iter().take_while(|entry| entry.is_live()).count();
        rng.shuffle(&mut self.probe_order[..live]);
        for (pos, entry) in self.probe_order.iter().enumerate() {
            self.index.order_pos[entry.slot()] = pos as u32;
        }
        self.probe_pos = 0;
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
