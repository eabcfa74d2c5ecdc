//! Bounds and timings the drivers agree on (driver policy, not protocol: those are in
//! [`NodeConfig`](crate::node::NodeConfig)).

use core::time::Duration;

/// Bytes a driver asks a socket for at a time (its read buffer is reused across reads).
pub const READ_CHUNK: usize = 64 * 1024;
/// Bytes of a read handed to the node at once, so the node's receive high-water mark counts
/// what waits for the application rather than what one large read held.
pub const FEED_SLICE: usize = 8 * 1024;
/// Largest UDP datagram a driver receives.
pub const MAX_DATAGRAM: usize = 65_536;
/// How long a connection the node closed may take to write out what was queued before the
/// driver cuts it.
pub const LINGER: Duration = Duration::from_secs(10);
/// Bytes of writes in flight per connection before the node waits for the driver's writer to
/// confirm them (`NodeConfig::write_window` when the config sets none; the async drivers' value).
/// A peer that stops reading then fills the node's queue, where the send high-water mark counts
/// and drops data, instead of the driver's buffers.
pub const WRITE_WINDOW: usize = 256 << 10;
/// Time allowed beyond the membership's leave grace for the `Left` event at shutdown.
pub const LEAVE_SLACK: Duration = Duration::from_millis(500);
/// Fresh ephemeral ports tried for port 0 before giving up (see
/// [`PortSearch`](super::PortSearch)).
pub const PORT_ATTEMPTS: usize = 32;
