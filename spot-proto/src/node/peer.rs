//! [`Peer`]: an endpoint this node keeps a connection to, across reconnects.

use core::time::Duration;
use std::collections::BTreeSet;

use crate::rng::SpotRng;
use crate::time::Instant;
use crate::wire::spot::{NodeId, Topic};

use super::output::ConnectionId;

/// Why the node wants a connection to a peer; a peer no reason holds is forgotten.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Wanted {
    /// cluster_add named it (kept until cluster_remove).
    pub(crate) explicit: bool,
    /// Membership sees it alive.
    pub(crate) member: bool,
    /// topic_route named it, or it owns a topic we subscribe to or publish on.
    pub(crate) routed: bool,
}

impl Wanted {
    pub(crate) fn any(self) -> bool {
        self.explicit || self.member || self.routed
    }
}

/// Where the peer's outbound connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerState {
    /// A connection exists (dialing, handshaking or ready): see [`Peer::conn`].
    Connected,
    /// Waiting to redial at `until`.
    Backoff {
        /// When to dial again.
        until: Instant,
    },
}

/// An endpoint-keyed association with another party.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) wanted: Wanted,
    pub(crate) state: PeerState,
    /// The current outbound connection.
    pub(crate) conn: Option<ConnectionId>,
    /// Failed attempts in a row (sets the backoff).
    pub(crate) failures: u32,
    /// Its node id once known (X-Spot), else the id derived from its endpoint.
    pub(crate) node_id: NodeId,
    /// It answered as a publisher: dial it as XSUB.
    pub(crate) as_subscriber: bool,
    /// Topics we subscribed to at this peer (resent after every reconnect).
    pub(crate) subscribed: BTreeSet<Topic>,
    /// Send high-water mark for its connections, in messages.
    pub(crate) send_hwm: usize,
    /// Receive high-water mark: most of its messages waiting in our receive queue.
    pub(crate) recv_hwm: usize,
    /// Its messages waiting in our receive queue now.
    pub(crate) recv_queued: usize,
    /// Data messages dropped at its high-water marks.
    pub(crate) dropped: u64,
}

impl Peer {
    pub(crate) fn new(node_id: NodeId, send_hwm: usize, recv_hwm: usize) -> Self {
        Peer {
            wanted: Wanted::default(),
            state: PeerState::Backoff { until: Instant::ZERO },
            conn: None,
            failures: 0,
            node_id,
            as_subscriber: false,
            subscribed: BTreeSet::new(),
            send_hwm,
            recv_hwm,
            recv_queued: 0,
            dropped: 0,
        }
    }

    /// The delay before the next attempt after `failures` failures: `min * 2^(failures-1)`,
    /// capped at `max`, then jittered to between half and all of it.
    pub(crate) fn backoff(
        failures: u32,
        min: Duration,
        max: Duration,
        rng: &mut SpotRng,
    ) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let base = min.saturating_mul(1 << exp).min(max);
        let half = base / 2;
        let jitter_ns = rng.below(u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1));
        half + Duration::from_nanos(jitter_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_from_min_to_max_with_jitter() {
        let mut rng = SpotRng::from_seed(1);
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(5));
        for _ in 0..100 {
            let first = Peer::backoff(1, min, max, &mut rng);
            assert!(first >= min / 2 && first <= min, "{first:?}");
            let fourth = Peer::backoff(4, min, max, &mut rng);
            assert!(fourth >= min * 4 && fourth <= min * 8, "{fourth:?}");
            let late = Peer::backoff(30, min, max, &mut rng);
            assert!(late >= max / 2 && late <= max, "{late:?}");
        }
    }
}
