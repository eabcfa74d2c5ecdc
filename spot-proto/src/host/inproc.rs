//! [`InprocNames`]: the `inproc://` name registry's rules, over whatever a driver registers
//! (the sender of its I/O channel).
//!
//! DESIGN.md: inproc names are kept per process and per driver. Each driver holds one
//! `InprocNames` behind its own process-wide lock; this type decides who holds a name: a live
//! listener keeps it, a dead one's entry is reclaimed by the next bind, and a listener only
//! frees a name it still holds.

use std::collections::BTreeMap;

/// Bound inproc names and their listeners.
#[derive(Debug)]
pub struct InprocNames<L> {
    names: BTreeMap<String, L>,
}

impl<L> Default for InprocNames<L> {
    fn default() -> Self {
        InprocNames { names: BTreeMap::new() }
    }
}

impl<L: Clone> InprocNames<L> {
    /// No name bound.
    pub const fn new() -> Self {
        InprocNames { names: BTreeMap::new() }
    }

    /// Binds `name` to `listener`; `false` if a live listener (`is_live`) holds it already.
    pub fn register(&mut self, name: &str, listener: L, is_live: impl Fn(&L) -> bool) -> bool {
        if self.names.get(name).is_some_and(is_live) {
            return false;
        }
        self.names.insert(name.to_owned(), listener);
        true
    }

    /// Frees `name` if the listener holding it is `listener` (`is_same`).
    pub fn unregister(&mut self, name: &str, is_same: impl Fn(&L) -> bool) {
        if self.names.get(name).is_some_and(is_same) {
            self.names.remove(name);
        }
    }

    /// The live listener bound at `name`, if any.
    pub fn lookup(&self, name: &str, is_live: impl Fn(&L) -> bool) -> Option<L> {
        self.names.get(name).filter(|held| is_live(held)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener: (id, live).
    type Listener = (u32, bool);

    fn live(listener: &Listener) -> bool {
        listener.1
    }

    #[test]
    fn a_live_listener_keeps_its_name() {
        let mut names = InprocNames::new();
        assert!(names.register("a", (1, true), live));
        assert!(!names.register("a", (2, true), live));
        assert_eq!(names.lookup("a", live), Some((1, true)));
        assert_eq!(names.lookup("b", live), None);
    }

    #[test]
    fn a_dead_listeners_name_is_reclaimed() {
        let mut names = InprocNames::new();
        assert!(names.register("a", (1, false), live));
        assert_eq!(names.lookup("a", live), None, "a dead listener is not found");
        assert!(names.register("a", (2, true), live));
        assert_eq!(names.lookup("a", live), Some((2, true)));
    }

    #[test]
    fn only_the_holder_frees_a_name() {
        let mut names = InprocNames::default();
        names.register("a", (1, true), live);
        names.unregister("a", |held| held.0 == 9);
        assert_eq!(names.lookup("a", live), Some((1, true)));
        names.unregister("a", |held| held.0 == 1);
        assert_eq!(names.lookup("a", live), None);
    }
}
