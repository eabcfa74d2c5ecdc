//! The driver's ends of what the application reads: a bounded stream ([`Feed`]) and a one-shot
//! answer ([`Reply`]).
//!
//! Each driver implements them over its runtime's channels (tokio's `mpsc`/`oneshot`, smol's
//! `channel`, std's `mpsc`), so routing and bookkeeping here stay runtime-agnostic.

/// What [`Feed::offer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Queued for the reader.
    Queued,
    /// The stream was full: the item was dropped (the caller counts it; drops are never silent).
    Dropped,
    /// The reader is gone.
    Closed,
}

/// The driver's end of one bounded stream: an offer never waits for the reader.
pub trait Feed<T> {
    /// Offers `item` without waiting.
    fn offer(&self, item: T) -> Offer;

    /// Whether the stream is more than half full (its reader should get a turn soon). Feeds
    /// that cannot tell say `false`.
    fn is_pressed(&self) -> bool {
        false
    }

    /// Whether the reader is gone.
    fn is_closed(&self) -> bool;

    /// Hands what was offered since the last flush to the reader. A feed may stage offers and
    /// deliver them in one hand-over (one lock, one wake-up) instead of one by one; drivers
    /// call this once after each batch of offers. Feeds that deliver at once do nothing.
    fn flush(&self) {}
}

/// The driver's end of a one-shot answer to a waiting caller. A caller that stopped waiting is
/// not an error: the answer is dropped.
pub trait Reply<T> {
    /// Sends the answer.
    fn reply(self, value: T);
}

#[cfg(test)]
pub(crate) mod testing {
    //! A feed and a reply for the tests of this module's neighbours.

    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use super::{Feed, Offer, Reply};

    /// A feed holding at most `capacity` items, which the test reads back.
    #[derive(Debug)]
    pub(crate) struct TestFeed<T> {
        pub(crate) items: Rc<RefCell<Vec<T>>>,
        pub(crate) capacity: usize,
        pub(crate) closed: Rc<Cell<bool>>,
        /// How many times the code under test flushed it.
        pub(crate) flushes: Rc<Cell<usize>>,
    }

    impl<T> TestFeed<T> {
        pub(crate) fn new(capacity: usize) -> Self {
            TestFeed {
                items: Rc::default(),
                capacity,
                closed: Rc::default(),
                flushes: Rc::default(),
            }
        }

        /// A second handle on the same items (the test keeps one, the code under test the
        /// other).
        pub(crate) fn handle(&self) -> Self {
            TestFeed {
                items: Rc::clone(&self.items),
                capacity: self.capacity,
                closed: Rc::clone(&self.closed),
                flushes: Rc::clone(&self.flushes),
            }
        }

        pub(crate) fn taken(&self) -> Vec<T> {
            std::mem::take(&mut *self.items.borrow_mut())
        }
    }

    impl<T> Feed<T> for TestFeed<T> {
        fn offer(&self, item: T) -> Offer {
            if self.closed.get() {
                return Offer::Closed;
            }
            let mut items = self.items.borrow_mut();
            if items.len() >= self.capacity {
                return Offer::Dropped;
            }
            items.push(item);
            Offer::Queued
        }

        fn is_pressed(&self) -> bool {
            self.items.borrow().len() * 2 > self.capacity
        }

        fn is_closed(&self) -> bool {
            self.closed.get()
        }

        fn flush(&self) {
            self.flushes.set(self.flushes.get() + 1);
        }
    }

    /// A reply that lands in a shared slot.
    #[derive(Debug)]
    pub(crate) struct TestReply<T>(pub(crate) Rc<RefCell<Option<T>>>);

    impl<T> TestReply<T> {
        pub(crate) fn new() -> (Self, Rc<RefCell<Option<T>>>) {
            let slot = Rc::new(RefCell::new(None));
            (TestReply(Rc::clone(&slot)), slot)
        }
    }

    impl<T> Reply<T> for TestReply<T> {
        fn reply(self, value: T) {
            *self.0.borrow_mut() = Some(value);
        }
    }
}
