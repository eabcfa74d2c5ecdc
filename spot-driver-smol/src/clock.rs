//! The system's monotonic clock against spot-proto's [`Instant`], through a
//! [`ClockAnchor`](spot_proto::host::ClockAnchor).

use spot_proto::Instant;
use spot_proto::host::ClockAnchor;

/// The anchor taken at start: spot-proto instants are nanoseconds since it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    anchor: ClockAnchor,
}

impl Clock {
    /// A clock whose origin is now.
    pub(crate) fn start() -> Self {
        Clock { anchor: ClockAnchor::new(std::time::Instant::now()) }
    }

    /// Now, as a spot-proto instant.
    pub(crate) fn now(&self) -> Instant {
        self.anchor.instant(std::time::Instant::now())
    }

    /// A spot-proto instant as a system deadline (far in the future for [`Instant::MAX`]).
    pub(crate) fn deadline(&self, at: Instant) -> std::time::Instant {
        self.anchor.deadline(at, std::time::Instant::now())
    }
}
