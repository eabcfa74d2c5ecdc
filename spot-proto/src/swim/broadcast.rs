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

#[derive(Debug)]
struct Entry {
    id: NodeId,
    payload: Bytes,
}

/// Pending updates, each an encoded [`crate::wire::swim::MemberUpdate`].
#[derive(Debug, Default)]
pub(crate) struct BroadcastQueue {
    entries: BTreeMap<Key, Entry>,
    index: FxHashMap<NodeId, Key>,
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

    /// Queues an update about `id`, replacing any older one about the same member.
    pub(crate) fn push(&mut self, id: NodeId, payload: Bytes, priority: Priority) {
        if let Some(old) = self.index.remove(&id) {
            self.entries.remove(&old);
        }
        let key = (priority, 0, Reverse(self.next_seq));
        self.next_seq += 1;
        self.index.insert(id.clone(), key);
        self.entries.insert(key, Entry { id, payload });
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
        for key in self.taken.drain(..) {
            let Some(entry) = self.entries.remove(&key) else { continue };
            let transmits = key.1 + 1;
            if transmits >= limit {
                self.index.remove(&entry.id);
            } else {
                let new_key = (key.0, transmits, key.2);
                if let Some(indexed) = self.index.get_mut(&entry.id) {
                    *indexed = new_key;
                }
                self.entries.insert(new_key, entry);
            }
        }
    }

    /// Drops everything (after leaving).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }
}
