//! [`DriverStats`]: what the driver itself dropped or refused.

/// Counters of the mio driver (every drop is counted, never silent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverStats {
    /// Datagrams that could not be sent (no socket of the family, a full socket buffer).
    pub datagrams_dropped: u64,
    /// Connections refused or not dialed because the token range was used up.
    pub connections_refused: u64,
    /// Messages dropped because the blocking API's `recv` queue was full.
    pub inbox_dropped: u64,
    /// `publish_nowait` calls the node refused.
    pub publish_errors: u64,
}
