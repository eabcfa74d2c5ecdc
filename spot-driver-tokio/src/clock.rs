//! The tokio clock against spot-proto's [`Instant`], through a
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
        Clock { anchor: ClockAnchor::new(tokio::time::Instant::now().into_std()) }
    }

    /// Now, as a spot-proto instant.
    pub(crate) fn now(&self) -> Instant {
        self.anchor.instant(tokio::time::Instant::now().into_std())
    }

    /// A spot-proto instant as a tokio deadline (far in the future for [`Instant::MAX`]).
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        let now = tokio::time::Instant::now().into_std();
        tokio::time::Instant::from_std(self.anchor.deadline(at, now))
    }
}
