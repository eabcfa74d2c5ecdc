//! The event queue, ordered by `(time, sequence)`.
//!
//! Events due at the same instant come out in the order they were scheduled, so a run depends
//! only on its seed and its inputs, never on how the heap happens to break ties.

use core::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Instant;

struct Entry<E> {
    at: Instant,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest entry first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Width of one wheel slot: 2^20 ns (about 1 ms).
const SLOT_BITS: u32 = 20;
/// Slots in the wheel: 1024 (a horizon of about 1.07 s, a LAN probe period); later events wait in
/// a heap. A short wheel reuses its slots' buffers often enough to find them in cache.
const WHEEL_SLOTS: u64 = 1024;

fn slot_of(at: Instant) -> u64 {
    at.as_nanos() >> SLOT_BITS
}

/// A deterministic priority queue of timed events: earliest time first, ties in the order they
/// were pushed.
///
/// It is a calendar queue (a timing wheel of about 1 ms slots) in front of a binary heap for
/// events more than a few seconds ahead. Pushing and popping cost O(1) for the near events a
/// network simulation is made of; the order is exactly that of a heap keyed by
/// `(time, sequence)`.
pub struct EventQueue<E> {
    /// Unsorted slots; slot `s` lives at index `s % WHEEL_SLOTS`.
    wheel: Vec<Vec<Entry<E>>>,
    /// The slot being drained, sorted latest first (so `pop` takes from the end).
    current: Vec<Entry<E>>,
    /// The absolute slot number of `current`.
    current_slot: u64,
    /// Entries held in `wheel`.
    in_wheel: usize,
    /// Events at slots beyond the wheel's horizon.
    far: BinaryHeap<Entry<E>>,
    len: usize,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            wheel: (0..WHEEL_SLOTS).map(|_| Vec::new()).collect(),
            current: Vec::new(),
            current_slot: 0,
            in_wheel: 0,
            far: BinaryHeap::new(),
            len: 0,
            next_seq: 0,
        }
    }

    /// Schedules `event` at `at`; among equal times, earlier calls come out first.
    pub fn push(&mut self, at: Instant, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let entry = Entry { at, seq, event };
        let slot = slot_of(at);
        if slot <= self.current_slot {
            // `current` is sorted latest first: everything later than the new entry comes
            // before it.
            let key = (at, seq);
            let index = self.current.partition_point(|e| (e.at, e.seq) > key);
            self.current.insert(index, entry);
        } else if slot < self.current_slot + WHEEL_SLOTS {
            self.wheel[(slot % WHEEL_SLOTS) as usize].push(entry);
            self.in_wheel += 1;
        } else {
            self.far.push(entry);
        }
    }

    /// Makes `current` hold the earliest events, if there are any.
    fn settle(&mut self) {
        while self.current.is_empty() && self.len > 0 {
            if self.in_wheel == 0 {
                // Only far events: jump straight to the first one's slot.
                let Some(first) = self.far.peek() else { return };
                self.current_slot = slot_of(first.at).max(self.current_slot + 1) - 1;
            }
            self.current_slot += 1;
            let index = (self.current_slot % WHEEL_SLOTS) as usize;
            core::mem::swap(&mut self.current, &mut self.wheel[index]);
            self.in_wheel -= self.current.len();
            while self.far.peek().is_some_and(|e| slot_of(e.at) <= self.current_slot) {
                if let Some(entry) = self.far.pop() {
                    self.current.push(entry);
                }
            }
            if self.current.len() > 1 {
                self.current.sort_unstable_by_key(|e| core::cmp::Reverse((e.at, e.seq)));
            }
        }
    }

    /// The time of the earliest event.
    pub fn peek_time(&mut self) -> Option<Instant> {
        self.settle();
        self.current.last().map(|entry| entry.at)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        self.settle();
        let entry = self.current.pop()?;
        self.len -= 1;
        Some((entry.at, entry.event))
    }

    /// Removes and returns the earliest event if it is due at or before `deadline`.
    pub fn pop_until(&mut self, deadline: Instant) -> Option<(Instant, E)> {
        if self.peek_time()? > deadline {
            return None;
        }
        self.pop()
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Events scheduled since the queue was made.
    pub fn scheduled(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_ties_in_insertion_order() {
        let mut q = EventQueue::new();
        q.push(Instant::from_millis(5), "late");
        q.push(Instant::from_millis(1), "first");
        q.push(Instant::from_millis(1), "second");
        q.push(Instant::from_millis(3), "middle");
        q.push(Instant::from_millis(1), "third");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["first", "second", "third", "middle", "late"]);
    }

    #[test]
    fn pop_until_respects_the_deadline() {
        let mut q = EventQueue::new();
        q.push(Instant::from_millis(10), 1);
        assert_eq!(q.pop_until(Instant::from_millis(9)), None);
        assert_eq!(q.pop_until(Instant::from_millis(10)), Some((Instant::from_millis(10), 1)));
        assert!(q.is_empty());
        assert_eq!(q.scheduled(), 1);
    }

    #[test]
    fn same_order_as_a_heap_keyed_by_time_and_sequence() {
        use crate::rng::SpotRng;
        let mut rng = SpotRng::from_seed(5);
        let mut queue = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut now = 0u64;
        let mut popped = 0;
        for (seq, round) in (0..20_000u64).enumerate() {
            let seq = seq as u64;
            // Mostly near events (sub-slot to a few ms), some far (seconds to a minute), some
            // at exactly `now`.
            let delay = match rng.below(10) {
                0 => 0,
                1 => rng.below(60_000_000_000),
                2..=4 => rng.below(1 << SLOT_BITS),
                _ => rng.below(5_000_000),
            };
            let at = Instant::from_nanos(now + delay);
            queue.push(at, round);
            reference.push(Entry { at, seq, event: round });
            if rng.below(3) != 0 {
                let expected = reference.pop().map(|e| (e.at, e.event));
                let got = queue.pop();
                assert_eq!(got, expected, "round {round}");
                if let Some((at, _)) = got {
                    now = at.as_nanos();
                }
                popped += 1;
            }
            assert_eq!(queue.len(), reference.len());
        }
        while let Some(expected) = reference.pop() {
            assert_eq!(queue.pop(), Some((expected.at, expected.event)));
        }
        assert!(queue.is_empty() && queue.pop().is_none());
        assert!(popped > 10_000);
    }
}
