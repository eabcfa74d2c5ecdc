//! [`DriverStats`]: what the driver itself dropped or cut. The node's own counters are
//! [`spot_proto::node::NodeStats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the driver (every drop is counted, never silent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverStats {
    /// Messages dropped because a subscription stream was full.
    pub stream_dropped: u64,
    /// Messages dropped because the `recv` queue was full.
    pub inbox_dropped: u64,
    /// Events dropped because an event stream was full.
    pub events_dropped: u64,
    /// Datagrams that could not be sent (no socket of the family, a full socket buffer, an
    /// unknown inproc name).
    pub datagrams_dropped: u64,
    /// Connections cut because their peer did not read: more than the write-queue bound
    /// waited to be written.
    pub slow_connections_cut: u64,
    /// `publish_nowait` calls the node refused (unknown topic, would block).
    pub publish_errors: u64,
}

/// The live counters, shared by the driver task and the handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) stream_dropped: AtomicU64,
    pub(crate) inbox_dropped: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) datagrams_dropped: AtomicU64,
    pub(crate) slow_connections_cut: AtomicU64,
    pub(crate) publish_errors: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self) -> DriverStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DriverStats {
            stream_dropped: load(&self.stream_dropped),
            inbox_dropped: load(&self.inbox_dropped),
            events_dropped: load(&self.events_dropped),
            datagrams_dropped: load(&self.datagrams_dropped),
            slow_connections_cut: load(&self.slow_connections_cut),
            publish_errors: load(&self.publish_errors),
        }
    }
}
