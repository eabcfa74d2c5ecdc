//! The indexed member table: slots in a `Vec`, indexes by node id and by endpoint, and the
//! shuffled round-robin probe order. No operation scans all members per packet.
//!
//! A slot is a few words ([`Member`]: a shared card and the per-table state); the indexes hold
//! 4-byte slot numbers ([`SlotIndex`]) and take the keys' hashes from the cards.

use crate::endpoint::Endpoint;
use crate::rng::SpotRng;
use crate::wire::spot::{MemberState, NodeId};

use super::index::SlotIndex;
use super::member::{Member, MemberCard, index_hash};

/// Remote members (the local member is not in the table).
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct MemberTable {
    // Hot fields first (see `Membership`'s layout).
    slots: Vec<Option<Member>>,
    probe_order: Vec<u32>,
    probe_pos: usize,
    /// A copy of `probe_order[ahead_from..ahead_from + ahead_len]`, kept in this header so that
    /// a probe reads the order's memory once per [`AHEAD`] probes, not every time (a member's
    /// order is cold again by its next probe period). Emptied whenever the order changes.
    ahead: [u32; AHEAD],
    ahead_from: usize,
    ahead_len: usize,
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
}

/// Probe-order entries copied ahead (see `MemberTable::ahead`).
const AHEAD: usize = 8;

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
        let slot = match self.index.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(member);
                slot
            }
            None => {
                self.slots.push(Some(member));
                self.slots.len() - 1
            }
        };
        self.index(slot, &card);
        // Push, then swap with a random entry of the rest of the round: O(1).
        self.probe_order.push(slot as u32);
        let last = self.probe_order.len() - 1;
        let pos = self.probe_pos.min(last);
        let at = pos + rng.index(last - pos + 1);
        self.probe_order.swap(at, last);
        self.ahead_len = 0;
        slot
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

    /// Forgets a member (reaping). Its probe-order entries are skipped lazily.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<Member> {
        let member = self.slots.get(slot)?.as_ref()?;
        let card = member.card.clone();
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
        }
    }

    /// Gives the member in `slot` a new card (a new endpoint or new tags), re-indexing its
    /// endpoint when it changed.
    pub(crate) fn set_card(&mut self, slot: usize, card: MemberCard) {
        let Some(member) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        let old = core::mem::replace(&mut member.card, card.clone());
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

    /// The next live member in shuffled round-robin order; a new round starts (reshuffled) when
    /// the current one is exhausted.
    pub(crate) fn next_probe_target(&mut self, rng: &mut SpotRng) -> Option<usize> {
        for _round in 0..2 {
            while self.probe_pos < self.probe_order.len() {
                let slot = self.order_at(self.probe_pos) as usize;
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
                    .map(|(slot, _)| slot as u32),
            );
            rng.shuffle(&mut self.probe_order);
            self.probe_pos = 0;
            self.ahead_len = 0;
        }
        None
    }

    /// `probe_order[index]` (which must exist), through the copied-ahead window.
    fn order_at(&mut self, index: usize) -> u32 {
        if !(self.ahead_from..self.ahead_from + self.ahead_len).contains(&index) {
            let window = &self.probe_order[index..(index + AHEAD).min(self.probe_order.len())];
            self.ahead[..window.len()].copy_from_slice(window);
            self.ahead_from = index;
            self.ahead_len = window.len();
        }
        self.ahead[index - self.ahead_from]
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
