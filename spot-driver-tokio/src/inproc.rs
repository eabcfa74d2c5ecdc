//! The `inproc://` name registry: per process, kept by this driver.
//!
//! A node that binds `inproc://name` registers the sender of its driver's I/O channel here. A
//! dialer creates an in-memory duplex pipe and hands one end to the listener as an accepted
//! connection; a datagram to an inproc member goes straight into its channel. The bytes are the
//! same ZMTP streams and SWIM datagrams as over TCP and UDP.

use std::sync::{Mutex, PoisonError};

use spot_proto::host::InprocNames;
use tokio::sync::mpsc;

use crate::io::IoEvent;

/// Where a bound inproc name delivers connections and datagrams.
pub(crate) type InprocListener = mpsc::Sender<IoEvent>;

/// This driver's names, for the whole process.
static REGISTRY: Mutex<InprocNames<InprocListener>> = Mutex::new(InprocNames::new());

fn is_live(listener: &InprocListener) -> bool {
    !listener.is_closed()
}

/// Registers `name`; `false` if a live node holds it already (a dead node's entry is reclaimed).
pub(crate) fn register(name: &str, listener: InprocListener) -> bool {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner).register(name, listener, is_live)
}

/// Removes `name` if it is still held by `listener`.
pub(crate) fn unregister(name: &str, listener: &InprocListener) {
    let mut names = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    names.unregister(name, |held| held.same_channel(listener));
}

/// The listener bound at `name`, if any.
pub(crate) fn lookup(name: &str) -> Option<InprocListener> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner).lookup(name, is_live)
}
