//! Conversion between the system's monotonic clock and spot-proto's virtual [`Instant`].

use core::time::Duration;

use spot_proto::Instant;

/// A base taken at start: spot-proto instants are nanoseconds since it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    base: std::time::Instant,
}

/// A deadline far enough away to mean "never".
const NEVER: Duration = Duration::from_secs(86_400 * 365);

impl Clock {
    /// A clock whose origin is now.
    pub(crate) fn start() -> Self {
        Clock { base: std::time::Instant::now() }
    }

    /// Now, as a spot-proto instant.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// A spot-proto instant as a system deadline (far in the future for [`Instant::MAX`]).
    pub(crate) fn deadline(&self, at: Instant) -> std::time::Instant {
        let latest = std::time::Instant::now() + NEVER;
        self.base.checked_add(at.since_origin()).map_or(latest, |t| t.min(latest))
    }
}
