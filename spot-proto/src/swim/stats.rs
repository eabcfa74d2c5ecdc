//! Membership counters.

/// Counters of one [`super::Membership`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
// The counters every datagram touches come first (`repr(C)`: one or two cache lines).
#[repr(C)]
pub struct SwimStats {
    /// Remote members in the table (every state).
    pub total: usize,
    /// Remote members alive.
    pub alive: usize,
    /// Remote members suspected.
    pub suspect: usize,
    /// Remote members dead (not yet reaped).
    pub dead: usize,
    /// Remote members that left (not yet reaped).
    pub left: usize,
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Bytes of datagrams received.
    pub bytes_in: u64,
    /// Bytes of datagrams sent.
    pub bytes_out: u64,
    /// Direct probes sent.
    pub probes: u64,
    /// Member updates piggybacked on sent datagrams.
    pub updates_sent: u64,
    /// Member updates received.
    pub updates_received: u64,
    /// Of those, updates that repeated one we were still disseminating (skipped: applied
    /// already).
    pub updates_known: u64,
    /// Datagrams that answered a stale rumour with newer knowledge.
    pub corrections_sent: u64,
    /// Datagrams dropped because they did not decode (including other clusters' datagrams and
    /// unauthenticated ones).
    pub malformed_dropped: u64,
    /// Of those, datagrams of another cluster.
    pub cluster_mismatch: u64,
    /// Datagrams ignored because we were not joined.
    pub ignored_not_joined: u64,
    /// Bytes of push-pull state we produced (requests and responses).
    pub push_pull_bytes_out: u64,
    /// Bytes of push-pull state we received.
    pub push_pull_bytes_in: u64,
    /// Push-pull exchanges started.
    pub push_pulls_started: u64,
    /// Push-pull states dropped because they did not decode.
    pub push_pull_malformed: u64,
    /// Probes that got no ACK in their period.
    pub probes_failed: u64,
    /// PING_REQs sent.
    pub indirect_probes: u64,
    /// NACKs received.
    pub nacks_received: u64,
    /// GOSSIP datagrams sent.
    pub gossip_datagrams: u64,
    /// Suspicions we started ourselves.
    pub suspicions_started: u64,
    /// Times we refuted a rumour about ourselves.
    pub refutations: u64,
}
