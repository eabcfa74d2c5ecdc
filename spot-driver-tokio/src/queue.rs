//! A bounded single-producer, single-consumer queue handed over in batches.
//!
//! The driver offers items one at a time without any synchronisation: they are staged in the
//! [`Sender`]. [`Sender::flush`] (once per batch of inputs) moves them to the shared queue under
//! one lock and wakes the reader at most once. The [`Receiver`] takes everything waiting under
//! one lock and then hands items out from its own buffer. Per message this costs a push and a
//! pop; a channel that synchronises every item (tokio's `mpsc`) costs a lock or an atomic
//! read-modify-write on a cache line both cores share, and often a wake-up, per item.
//!
//! Bound: an offer is dropped (and counted) when the items handed over but not yet taken by the
//! reader, plus the items staged, reach the capacity. Items the reader took in its last batch no
//! longer count, so at most twice the capacity is held in memory.

use core::future::poll_fn;
use core::task::{Context, Poll, Waker};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use spot_proto::host::Offer;

/// What both ends share.
#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Items handed over and not yet taken by the reader.
    waiting: AtomicUsize,
    capacity: usize,
    reader_gone: AtomicBool,
    dropped: AtomicU64,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    sender_gone: bool,
    /// The reader waiting for items, if it is waiting.
    waker: Option<Waker>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code panics while holding the lock; if one did, the queue's state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A queue holding at most `capacity` items waiting for the reader (at least 1).
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State { items: VecDeque::new(), sender_gone: false, waker: None }),
        waiting: AtomicUsize::new(0),
        capacity: capacity.max(1),
        reader_gone: AtomicBool::new(false),
        dropped: AtomicU64::new(0),
    });
    let sender = Sender { shared: Arc::clone(&shared), staged: RefCell::new(Vec::new()) };
    (sender, Receiver { shared, taken: VecDeque::new() })
}

/// The driver's end: offers never wait; [`Sender::flush`] hands the staged items over.
#[derive(Debug)]
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
    staged: RefCell<Vec<T>>,
}

impl<T> Sender<T> {
    /// Stages `item` for the next flush, or drops and counts it when the queue is full.
    pub(crate) fn offer(&self, item: T) -> Offer {
        if self.shared.reader_gone.load(Ordering::Relaxed) {
            return Offer::Closed;
        }
        let mut staged = self.staged.borrow_mut();
        if self.shared.waiting.load(Ordering::Acquire) + staged.len() >= self.shared.capacity {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Offer::Dropped;
        }
        staged.push(item);
        Offer::Queued
    }

    /// Whether more than half the capacity is in use.
    pub(crate) fn is_pressed(&self) -> bool {
        let used = self.shared.waiting.load(Ordering::Relaxed) + self.staged.borrow().len();
        used * 2 > self.shared.capacity
    }

    /// Whether the reader is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.reader_gone.load(Ordering::Relaxed)
    }

    /// Hands the staged items to the reader and wakes it if it waits.
    pub(crate) fn flush(&self) {
        let mut staged = self.staged.borrow_mut();
        if staged.is_empty() {
            return;
        }
        let waker = {
            let mut state = self.shared.lock();
            self.shared.waiting.fetch_add(staged.len(), Ordering::Release);
            state.items.extend(staged.drain(..));
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Items dropped because the queue was full.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.flush();
        let waker = {
            let mut state = self.shared.lock();
            state.sender_gone = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Why [`Receiver::try_recv`] returned nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TryRecvError {
    /// Nothing is waiting now.
    Empty,
    /// Nothing is waiting and the sender is gone.
    Closed,
}

/// The reader's end.
#[derive(Debug)]
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The batch taken last, handed out front first.
    taken: VecDeque<T>,
}

impl<T> Receiver<T> {
    /// The next item; `Ready(None)` once the sender is gone and everything was read.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.take(Some(cx.waker())) {
            Ok(item) => Poll::Ready(Some(item)),
            Err(TryRecvError::Closed) => Poll::Ready(None),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }

    /// The next item, waiting as long as it takes. Cancellation-safe: items only move into
    /// this receiver's own buffer, so a dropped future loses none.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.take(None)
    }

    /// Items dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Hands out the next item, taking a new batch when the last one is used up; registers
    /// `waker` when nothing is waiting.
    fn take(&mut self, waker: Option<&Waker>) -> Result<T, TryRecvError> {
        if let Some(item) = self.taken.pop_front() {
            return Ok(item);
        }
        let mut state = self.shared.lock();
        if state.items.is_empty() {
            if state.sender_gone {
                return Err(TryRecvError::Closed);
            }
            if let Some(waker) = waker {
                match &mut state.waker {
                    Some(known) if known.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
            }
            return Err(TryRecvError::Empty);
        }
        core::mem::swap(&mut state.items, &mut self.taken);
        self.shared.waiting.fetch_sub(self.taken.len(), Ordering::Release);
        drop(state);
        self.taken.pop_front().ok_or(TryRecvError::Empty)
    }
}

// Nothing in a receiver is ever pinned in place: its items are moved out by value.
impl<T> Unpin for Receiver<T> {}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.reader_gone.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn items_reach_the_reader_only_after_a_flush_and_in_order() {
        let (sender, mut receiver) = channel(16);
        assert_eq!(sender.offer(1), Offer::Queued);
        assert_eq!(sender.offer(2), Offer::Queued);
        assert_eq!(receiver.try_recv(), Err(TryRecvError::Empty));
        sender.flush();
        assert_eq!(sender.offer(3), Offer::Queued);
        sender.flush();
        assert_eq!(receiver.try_recv(), Ok(1));
        assert_eq!(receiver.try_recv(), Ok(2));
        assert_eq!(receiver.try_recv(), Ok(3));
        assert_eq!(receiver.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn a_full_queue_drops_the_newest_and_counts_it_until_the_reader_takes_a_batch() {
        let (sender, mut receiver) = channel(3);
        for i in 0..3 {
            assert_eq!(sender.offer(i), Offer::Queued);
        }
        assert!(sender.is_pressed());
        assert_eq!(sender.offer(99), Offer::Dropped);
        sender.flush();
        assert_eq!(sender.offer(98), Offer::Dropped);
        assert_eq!(sender.dropped(), 2);
        assert_eq!(receiver.dropped(), 2);
        assert_eq!(receiver.try_recv(), Ok(0));
        // The reader took the batch: room again.
        assert_eq!(sender.offer(3), Offer::Queued);
        sender.flush();
        let rest: Vec<_> = core::iter::from_fn(|| receiver.try_recv().ok()).collect();
        assert_eq!(rest, vec![1, 2, 3]);
    }

    #[test]
    fn one_flush_wakes_a_waiting_reader_once() {
        let (sender, mut receiver) = channel(64);
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        assert_eq!(receiver.poll_recv(&mut cx), Poll::Pending);
        for i in 0..10 {
            sender.offer(i);
        }
        assert_eq!(counter.0.load(Ordering::Relaxed), 0, "offers alone wake nobody");
        sender.flush();
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        for i in 0..10 {
            assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(Some(i)));
        }
        // Nobody waits now, so a flush wakes nobody.
        sender.offer(10);
        sender.flush();
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_dropped_sender_hands_over_what_it_staged_then_ends_the_stream() {
        let (sender, mut receiver) = channel(8);
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        assert_eq!(receiver.poll_recv(&mut cx), Poll::Pending);
        sender.offer("last");
        drop(sender);
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(Some("last")));
        assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(None));
        assert_eq!(receiver.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn a_dropped_reader_closes_the_sender() {
        let (sender, receiver) = channel(8);
        assert!(!sender.is_closed());
        drop(receiver);
        assert!(sender.is_closed());
        assert_eq!(sender.offer(1), Offer::Closed);
    }

    #[test]
    fn items_cross_threads_in_order_with_nothing_lost() {
        let (sender, mut receiver) = channel(1 << 20);
        let writer = std::thread::spawn(move || {
            for batch in 0..100u32 {
                for i in 0..100 {
                    assert_eq!(sender.offer(batch * 100 + i), Offer::Queued);
                }
                sender.flush();
            }
        });
        let mut next = 0;
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            while let Some(item) = receiver.recv().await {
                assert_eq!(item, next);
                next += 1;
            }
        });
        writer.join().expect("writer");
        assert_eq!(next, 10_000);
    }
}
