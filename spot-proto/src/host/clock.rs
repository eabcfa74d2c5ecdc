//! [`ClockAnchor`]: conversion between the system's monotonic clock and spot-proto's
//! [`Instant`].
//!
//! A driver takes one `std::time::Instant` at start as the anchor; spot-proto instants are the
//! nanoseconds since it. Every conversion gets the system instant from the caller: this module
//! never reads a clock (`std::time::Instant::now` stays forbidden in spot-proto). The type is
//! named here only as a value handed in and out.
#![allow(clippy::disallowed_types)]

use core::time::Duration;
use std::time::Instant as StdInstant;

use crate::Instant;

/// A deadline far enough away to mean "never" without overflowing a runtime's clock.
pub const NEVER: Duration = Duration::from_secs(86_400 * 365);

/// The system instant that is spot-proto's origin ([`Instant::ZERO`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockAnchor {
    base: StdInstant,
}

impl ClockAnchor {
    /// An anchor at `base` (a driver passes the system's "now" at start).
    pub fn new(base: StdInstant) -> Self {
        ClockAnchor { base }
    }

    /// The system instant of [`Instant::ZERO`].
    pub fn base(&self) -> StdInstant {
        self.base
    }

    /// `at` on spot-proto's clock: the time since the anchor, saturating ([`Instant::ZERO`]
    /// before the anchor, [`Instant::MAX`] some 584 years after it).
    pub fn instant(&self, at: StdInstant) -> Instant {
        let since = at.saturating_duration_since(self.base);
        Instant::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }

    /// A spot-proto instant as a system deadline, given the system's `now`: never later than
    /// `now + NEVER` (so [`Instant::MAX`] is a deadline a runtime's timer accepts).
    pub fn deadline(&self, at: Instant, now: StdInstant) -> StdInstant {
        let latest = now.checked_add(NEVER).unwrap_or(now);
        self.base.checked_add(at.since_origin()).map_or(latest, |t| t.min(latest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some system instant to anchor at. `std::time::Instant` has no constructor but `now`, so
    /// the tests read the clock once; what they check depends only on offsets from it.
    #[allow(clippy::disallowed_methods)]
    fn base() -> StdInstant {
        StdInstant::now()
    }

    #[test]
    fn instants_are_offsets_from_the_anchor() {
        let base = base();
        let anchor = ClockAnchor::new(base);
        assert_eq!(anchor.base(), base);
        assert_eq!(anchor.instant(base), Instant::ZERO);
        assert_eq!(anchor.instant(base + Duration::from_millis(1500)), Instant::from_millis(1500));
    }

    #[test]
    fn before_the_anchor_is_zero() {
        let base = base() + Duration::from_secs(10);
        let anchor = ClockAnchor::new(base);
        assert_eq!(anchor.instant(base - Duration::from_secs(3)), Instant::ZERO);
    }

    #[test]
    fn deadlines_round_trip_and_cap_at_never() {
        let base = base();
        let anchor = ClockAnchor::new(base);
        let now = base + Duration::from_secs(1);
        let at = Instant::from_secs(5);
        assert_eq!(anchor.deadline(at, now), base + Duration::from_secs(5));
        assert_eq!(anchor.instant(anchor.deadline(at, now)), at);
        assert_eq!(anchor.deadline(Instant::MAX, now), now + NEVER);
        // A deadline in the past stays in the past (the driver fires at once).
        assert_eq!(anchor.deadline(Instant::ZERO, now), base);
    }
}
