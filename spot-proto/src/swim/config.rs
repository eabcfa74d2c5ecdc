//! Membership configuration and its presets.

use core::time::Duration;

use crate::Limits;

/// Everything that tunes SWIM and Lifeguard. Start from a preset ([`SwimConfig::lan`],
/// [`SwimConfig::wan`], [`SwimConfig::local`]) and change fields.
#[derive(Clone, Debug, PartialEq)]
pub struct SwimConfig {
    /// The cluster's identity; datagrams of other clusters are dropped and counted
    /// (see [`crate::wire::swim::cluster_id_from_name`]).
    pub cluster_id: u64,
    /// Seed of the only randomness (probe order, member picks, jitter).
    pub seed: u64,
    /// Time between two probes (scaled by local health, Lifeguard).
    pub probe_interval: Duration,
    /// Time to wait for a direct ACK before asking others to probe (scaled by local health).
    pub probe_timeout: Duration,
    /// How many members are asked to probe indirectly (K).
    pub indirect_probes: usize,
    /// Floor of Lifeguard's dynamic suspicion timeout: a suspect with enough independent
    /// confirmations is declared dead after this long.
    pub suspicion_min: Duration,
    /// A suspicion without confirmations lasts `suspicion_max_multiplier × suspicion_min`.
    pub suspicion_max_multiplier: u32,
    /// Each update is piggybacked about `retransmit_multiplier × ceil(log10(N + 1))` times.
    pub retransmit_multiplier: u32,
    /// Upper bound of the local-health score (the probe interval and timeout are multiplied by
    /// `score + 1`, at most this value).
    pub max_local_health: u32,
    /// While updates are pending, gossip them to `gossip_fanout` members this often.
    pub gossip_interval: Duration,
    /// Members per gossip round (only while updates are pending).
    pub gossip_fanout: usize,
    /// GOSSIP rounds a member gives each update it learns (then the update rides only on
    /// probes and ACKs). Two rounds spread a death to 1,000 members in about a second; one
    /// round leaves a tail that waits for piggybacking.
    pub gossip_rounds: u32,
    /// Period of the full-state push-pull with a random member, multiplied by `ceil(N / 32)` for
    /// N members (so the cluster runs about 32 exchanges per period); `None` disables it.
    pub push_pull_interval: Option<Duration>,
    /// Dead and left members are forgotten this long after their death or leave.
    pub dead_reap_after: Duration,
    /// After [`super::Membership::leave`], keep gossiping the leave this long, then stop.
    pub leave_grace: Duration,
    /// A join fails with [`crate::NodeError::NoSeedReachable`] when no seed answered in time.
    pub bootstrap_timeout: Duration,
    /// Deaths within this window count toward a partition suspicion.
    pub partition_window: Duration,
    /// Share of members (0..=1) that must die within the window to suspect a partition.
    pub partition_fraction: f64,
    /// Fewest deaths within the window that can suspect a partition.
    pub partition_min_lost: usize,
    /// Size and count bounds (datagram size, updates per datagram, tags, ids).
    pub limits: Limits,
}

impl SwimConfig {
    /// A LAN: 1 s probes, 500 ms timeout, suspicion 4 s .. 24 s.
    pub fn lan() -> Self {
        SwimConfig {
            cluster_id: 0,
            seed: 0,
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(500),
            indirect_probes: 3,
            suspicion_min: Duration::from_secs(4),
            suspicion_max_multiplier: 6,
            retransmit_multiplier: 4,
            max_local_health: 8,
            gossip_interval: Duration::from_millis(200),
            gossip_fanout: 3,
            gossip_rounds: 2,
            push_pull_interval: Some(Duration::from_secs(30)),
            dead_reap_after: Duration::from_secs(60),
            leave_grace: Duration::from_secs(1),
            bootstrap_timeout: Duration::from_secs(30),
            partition_window: Duration::from_secs(10),
            partition_fraction: 0.3,
            partition_min_lost: 3,
            limits: Limits::default(),
        }
    }

    /// A WAN: 5 s probes, 3 s timeout, suspicion 20 s .. 120 s, slower gossip.
    pub fn wan() -> Self {
        SwimConfig {
            probe_interval: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(3),
            suspicion_min: Duration::from_secs(20),
            retransmit_multiplier: 4,
            gossip_interval: Duration::from_millis(500),
            gossip_fanout: 4,
            push_pull_interval: Some(Duration::from_secs(60)),
            dead_reap_after: Duration::from_secs(300),
            leave_grace: Duration::from_secs(5),
            partition_window: Duration::from_secs(60),
            ..SwimConfig::lan()
        }
    }

    /// One machine or loopback: 200 ms probes, 100 ms timeout, suspicion 1 s .. 6 s.
    pub fn local() -> Self {
        SwimConfig {
            probe_interval: Duration::from_millis(200),
            probe_timeout: Duration::from_millis(100),
            suspicion_min: Duration::from_secs(1),
            retransmit_multiplier: 3,
            gossip_interval: Duration::from_millis(50),
            push_pull_interval: Some(Duration::from_secs(10)),
            dead_reap_after: Duration::from_secs(15),
            leave_grace: Duration::from_millis(300),
            bootstrap_timeout: Duration::from_secs(10),
            partition_window: Duration::from_secs(3),
            ..SwimConfig::lan()
        }
    }

    /// The same configuration with another seed.
    pub fn with_seed(self, seed: u64) -> Self {
        SwimConfig { seed, ..self }
    }

    /// The same configuration for another cluster id.
    pub fn with_cluster_id(self, cluster_id: u64) -> Self {
        SwimConfig { cluster_id, ..self }
    }

    /// The suspicion timeout with no confirmation.
    pub fn suspicion_max(&self) -> Duration {
        self.suspicion_min.saturating_mul(self.suspicion_max_multiplier.max(1))
    }
}

impl Default for SwimConfig {
    /// [`SwimConfig::lan`].
    fn default() -> Self {
        SwimConfig::lan()
    }
}
