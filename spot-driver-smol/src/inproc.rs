//! The `inproc://` name registry: per process, kept by this driver (separate from the other
//! drivers' registries).
//!
//! A node that binds `inproc://name` registers the sender of its driver's I/O channel here. A
//! dialer makes a pair of in-memory byte pipes and hands one end to the listener as an accepted
//! connection; a datagram to an inproc member goes straight into its channel. The bytes are the
//! same ZMTP streams and SWIM datagrams as over TCP and UDP.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use smol::channel::Sender;

use crate::io::IoEvent;

/// Where a bound inproc name delivers connections and datagrams.
pub(crate) type InprocListener = Sender<IoEvent>;

fn registry() -> &'static Mutex<HashMap<String, InprocListener>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, InprocListener>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// Registers `name`; `false` if a live node holds it already (a dead node's entry is reclaimed).
pub(crate) fn register(name: &str, listener: InprocListener) -> bool {
    let mut names = registry().lock().unwrap_or_else(PoisonError::into_inner);
    if names.get(name).is_some_and(|held| !held.is_closed()) {
        return false;
    }
    names.insert(name.to_owned(), listener);
    true
}

/// Removes `name` if it is still held by `listener`.
pub(crate) fn unregister(name: &str, listener: &InprocListener) {
    let mut names = registry().lock().unwrap_or_else(PoisonError::into_inner);
    if names.get(name).is_some_and(|held| held.same_channel(listener)) {
        names.remove(name);
    }
}

/// The listener bound at `name`, if any.
pub(crate) fn lookup(name: &str) -> Option<InprocListener> {
    let names = registry().lock().unwrap_or_else(PoisonError::into_inner);
    names.get(name).filter(|held| !held.is_closed()).cloned()
}
