//! The dissemination queue: at most one pending update per member, piggybacked on outgoing
//! datagrams by priority (left and dead first), fewest transmissions first, newest first, until
//! each has been sent its retransmit budget.

use core::cmp::Reverse;
use std::collections::BTreeMap;

use bytes::Bytes;

use crate::collections::FxHashMap;
use crate::wire::spot::NodeId;
use crate::wire::swim::{DatagramWriter, MIN_UPDATE_LEN};

/// Priority of an update: lower is sent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Priority {
    /// A member left on purpose (or we are leaving).
    Left = 0,
    /// A member died, or we refute a suspicion or death of our own.
    Urgent = 1,
    /// A member is suspected.
    Suspect = 2,
    /// A member is alive (joined, refuted, changed tags).
    Alive = 3,
}

type Key = (Priority, u32, Reverse<u64>);

/// What [`BroadcastQueue`] indexes of a pending update by its member.
#[derive(Debug)]
struct Pending {
    priority: Priority,
    seq: u64,
    /// The encoded update (shared with its entry).
    payload: Bytes,
}

#[derive(Debug)]
struct Entry {
    id: NodeId,
    payload: Bytes,
}

/// Pending updates, each an encoded [`crate::wire::swim::MemberUpdate`].
#[derive(Debug, Default)]
pub(crate) struct BroadcastQueue {
    entries: BTreeMap<Key, Entry>,
    /// Each pending update's priority and sequence number, by member. Neither changes while the
    /// update is pending (its transmission count does), so sending an update, which happens
    /// about `limit` times per update, does not touch this map; replacing one finds its key by
    /// trying the transmission counts up to `most_transmits`.
    index: FxHashMap<NodeId, Pending>,
    /// The highest transmission count any pending update has reached.
    most_transmits: u32,
    /// The pending updates' encoded bytes in all: what a datagram needs room for to carry
    /// every one of them.
    bytes: usize,
    next_seq: u64,
    taken: Vec<Key>,
}

impl BroadcastQueue {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether some pending update was sent fewer than `transmits` times.
    pub(crate) fn has_fresh(&self, transmits: u32) -> bool {
        [Priority::Left, Priority::Urgent, Priority::Suspect, Priority::Alive].into_iter().any(
            |p| {
                let from = (p, 0, Reverse(u64::MAX));
                let to = (p, transmits, Reverse(u64::MAX));
                transmits > 0 && self.entries.range(from..to).next().is_some()
            },
        )
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The pending updates' encoded length in all (a datagram carrying all of them needs this
    /// much room for them).
    pub(crate) fn encoded_len(&self) -> usize {
        self.bytes
    }

    /// Whether the pending update about `id` is encoded exactly as `encoded`: a received update
    /// that repeats what we are still disseminating. (Every change we make to a member's record
    /// queues its new update in place of the old one, so such an update is one we applied
    /// already and applying it again changes nothing.)
    pub(crate) fn holds(&self, id: &NodeId, encoded: &[u8]) -> bool {
        !self.index.is_empty()
            && self.index.get(id).is_some_and(|pending| pending.payload.as_ref() == encoded)
    }

    /// Queues an update about `id`, replacing any older one about the same member.
    pub(crate) fn push(&mut self, id: NodeId, payload: Bytes, priority: Priority) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let pending = Pending { priority, seq, payload: payload.clone() };
        self.bytes += payload.len();
        if let Some(old) = self.index.insert(id.clone(), pending) {
            self.bytes -= old.payload.len();
            for transmits in 0..=self.most_transmits {
                if self.entries.remove(&(old.priority, transmits, Reverse(old.seq))).is_some() {
                    break;
                }
            }
        }
        self.entries.insert((priority, 0, Reverse(seq)), Entry { id, payload });
    }

    /// Piggybacks as many pending updates as fit into `writer`, skipping `skip` (an update the
    /// caller wrote already); each sent update that reached `limit` transmissions is dropped.
    pub(crate) fn fill(
        &mut self,
        writer: &mut DatagramWriter<'_>,
        limit: u32,
        skip: Option<&NodeId>,
    ) {
        if self.entries.is_empty() {
            return;
        }
        self.taken.clear();
        for (key, entry) in &self.entries {
            if skip == Some(&entry.id) {
                continue;
            }
            if writer.push_encoded(&entry.payload) {
                self.taken.push(*key);
            } else if !writer.fits(MIN_UPDATE_LEN) {
                break;
            }
        }
        let mut taken = core::mem::take(&mut self.taken);
        for key in taken.drain(..) {
            let transmits = key.1 + 1;
            if transmits >= limit {
                if let Some(entry) = self.entries.remove(&key) {
                    self.bytes -= entry.payload.len();
                    self.index.remove(&entry.id);
                }
                continue;
            }
            self.rekey(key, (key.0, transmits, key.2));
            self.most_transmits = self.most_transmits.max(transmits);
        }
        self.taken = taken;
    }

    /// Moves the update at `key` to `new_key`.
    fn rekey(&mut self, key: Key, new_key: Key) {
        if self.entries.len() == 1 {
            // Emptying the tree would free its node, and re-inserting allocate it again: the
            // lone update is copied under its new key first (its payload moved, not cloned).
            let Some(entry) = self.entries.get_mut(&key) else { return };
            let moved =
                Entry { id: entry.id.clone(), payload: core::mem::take(&mut entry.payload) };
            self.entries.insert(new_key, moved);
            self.entries.remove(&key);
        } else if let Some(entry) = self.entries.remove(&key) {
            self.entries.insert(new_key, entry);
        }
    }

    /// Drops everything (after leaving).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.most_transmits = 0;
        self.bytes = 0;
    }
}
