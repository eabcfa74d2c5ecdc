//! [`SlotIndex`]: a hash index from a key kept in the member table's slots (a node id, an
//! endpoint) to the slot, in 4 bytes per bucket. The key itself is not stored: a lookup compares
//! the candidate slots' keys through a closure, and the keys' hashes come from the members'
//! cards, so growing never rehashes a string.

/// An empty bucket.
const EMPTY: u32 = 0;
/// A bucket whose entry was removed (the probe sequence goes on past it).
const TOMBSTONE: u32 = u32::MAX;

/// Open addressing with linear probing; a bucket holds `slot + 1`, or [`EMPTY`] /
/// [`TOMBSTONE`]. Each key has at most one bucket.
#[derive(Debug, Default)]
pub(crate) struct SlotIndex {
    buckets: Vec<u32>,
    len: usize,
    /// Buckets not empty (entries and tombstones).
    used: usize,
}

impl SlotIndex {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn start(&self, hash: u64) -> usize {
        let bits = self.buckets.len().trailing_zeros();
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The slot whose key matches (`is_key(slot)`), among those with this hash.
    pub(crate) fn find(&self, hash: u64, is_key: impl Fn(usize) -> bool) -> Option<usize> {
        self.bucket_of(hash, is_key).map(|bucket| self.buckets[bucket] as usize - 1)
    }

    fn bucket_of(&self, hash: u64, is_key: impl Fn(usize) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() - 1;
        let mut bucket = self.start(hash);
        loop {
            match self.buckets[bucket] {
                EMPTY => return None,
                TOMBSTONE => {}
                entry if is_key(entry as usize - 1) => return Some(bucket),
                _ => {}
            }
            bucket = (bucket + 1) & mask;
        }
    }

    /// Maps the key of `slot` (hash `hash`) to `slot`, replacing the slot an equal key had
    /// (`is_key` tells whether another slot holds an equal key). `hash_of` gives the hash of
    /// any indexed slot's key, for growing.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        slot: usize,
        is_key: impl Fn(usize) -> bool,
        hash_of: impl Fn(usize) -> u64,
    ) {
        if (self.used + 1) * 4 > self.buckets.len() * 3 {
            self.grow(self.len + 1, &hash_of);
        }
        let mask = self.buckets.len() - 1;
        let mut bucket = self.start(hash);
        let mut reusable = None;
        loop {
            match self.buckets[bucket] {
                EMPTY => break,
                TOMBSTONE => {
                    reusable.get_or_insert(bucket);
                }
                entry if is_key(entry as usize - 1) => {
                    self.buckets[bucket] = slot as u32 + 1;
                    return;
                }
                _ => {}
            }
            bucket = (bucket + 1) & mask;
        }
        match reusable {
            Some(tombstone) => bucket = tombstone,
            None => self.used += 1,
        }
        self.buckets[bucket] = slot as u32 + 1;
        self.len += 1;
    }

    /// Forgets the entry of `slot` (its key's hash is `hash`), if it is indexed.
    pub(crate) fn remove(&mut self, hash: u64, slot: usize) {
        if let Some(bucket) = self.bucket_of(hash, |s| s == slot) {
            self.buckets[bucket] = TOMBSTONE;
            self.len -= 1;
        }
    }

    /// Room for `additional` more entries without growing.
    pub(crate) fn reserve(&mut self, additional: usize, hash_of: impl Fn(usize) -> u64) {
        if (self.used + additional) * 4 > self.buckets.len() * 3 {
            self.grow(self.len + additional, &hash_of);
        }
    }

    /// Rebuilds with room for `entries` (at most 3/4 full: linear probing's chains stay a few
    /// buckets long), dropping tombstones.
    fn grow(&mut self, entries: usize, hash_of: &impl Fn(usize) -> u64) {
        let wanted = (entries.max(self.len) * 4).div_ceil(3).max(8).next_power_of_two();
        let old = core::mem::replace(&mut self.buckets, vec![EMPTY; wanted]);
        let mask = wanted - 1;
        for entry in old {
            if matches!(entry, EMPTY | TOMBSTONE) {
                continue;
            }
            let mut bucket = self.start(hash_of(entry as usize - 1));
            while self.buckets[bucket] != EMPTY {
                bucket = (bucket + 1) & mask;
            }
            self.buckets[bucket] = entry;
        }
        self.used = self.len;
    }
}
