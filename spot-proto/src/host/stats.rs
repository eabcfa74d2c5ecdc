//! [`DriverStats`]: what a driver itself dropped or cut (the node's own counters are
//! [`NodeStats`](crate::node::NodeStats)), and the live [`DriverCounters`] a driver's task and
//! its handles share.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a driver (every drop is counted, never silent).
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

/// The live counters behind [`DriverStats`], updated without locks.
#[derive(Debug, Default)]
pub struct DriverCounters {
    /// See [`DriverStats::stream_dropped`].
    pub stream_dropped: AtomicU64,
    /// See [`DriverStats::inbox_dropped`].
    pub inbox_dropped: AtomicU64,
    /// See [`DriverStats::events_dropped`].
    pub events_dropped: AtomicU64,
    /// See [`DriverStats::datagrams_dropped`].
    pub datagrams_dropped: AtomicU64,
    /// See [`DriverStats::slow_connections_cut`].
    pub slow_connections_cut: AtomicU64,
    /// See [`DriverStats::publish_errors`].
    pub publish_errors: AtomicU64,
}

impl DriverCounters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        Self::add(counter, 1);
    }

    /// Adds `n` to `counter` (nothing for zero).
    pub fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A snapshot.
    pub fn snapshot(&self) -> DriverStats {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_snapshot_what_was_added() {
        let counters = DriverCounters::default();
        DriverCounters::bump(&counters.stream_dropped);
        DriverCounters::add(&counters.events_dropped, 3);
        DriverCounters::add(&counters.inbox_dropped, 0);
        DriverCounters::bump(&counters.slow_connections_cut);
        let stats = counters.snapshot();
        assert_eq!((stats.stream_dropped, stats.events_dropped, stats.inbox_dropped), (1, 3, 0));
        assert_eq!(stats.slow_connections_cut, 1);
        assert_eq!(
            stats,
            DriverStats {
                stream_dropped: 1,
                events_dropped: 3,
                slow_connections_cut: 1,
                ..DriverStats::default()
            }
        );
    }
}
