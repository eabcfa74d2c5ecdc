//! Lifeguard's dynamic suspicion timeout: it starts at `max` and shrinks on a log scale with each
//! independent confirmation, down to `min` once `expected` confirmations arrived.
//!
//! The last-chance buddy PINGs are spread over the end of the timeout (one per probe timeout),
//! not appended after it, so a suspect is declared dead when its timeout runs out: the configured
//! suspicion timeout is the whole time from suspicion to death. Only when a confirmation shrinks
//! the timeout below what the remaining PINGs need does death wait for the last PING's answer.

use core::time::Duration;

use crate::time::Instant;
use crate::wire::spot::NodeId;

/// One running suspicion of a member.
#[derive(Clone, Debug)]
pub(crate) struct Suspicion {
    pub(crate) incarnation: u64,
    started: Instant,
    min: Duration,
    max: Duration,
    expected: u32,
    /// Everyone who suspected the member at this incarnation, the first suspecter included.
    suspecters: Vec<NodeId>,
    /// One probe timeout after the latest last-chance buddy PING: the member is not declared
    /// dead before this passes, so the PING's ACK has time to come back.
    pub(crate) grace_until: Option<Instant>,
    /// Last-chance buddy PINGs sent so far.
    pub(crate) grace_pings: u8,
}

impl Suspicion {
    pub(crate) fn new(
        now: Instant,
        incarnation: u64,
        by: NodeId,
        min: Duration,
        max: Duration,
        expected: u32,
    ) -> Self {
        Suspicion {
            incarnation,
            started: now,
            min,
            max: max.max(min),
            expected,
            suspecters: vec![by],
            grace_until: None,
            grace_pings: 0,
        }
    }

    /// Independent confirmations beyond the first suspicion.
    pub(crate) fn confirmations(&self) -> u32 {
        (self.suspecters.len() as u32).saturating_sub(1)
    }

    /// Records that `by` suspects the member too; returns whether it was a new confirmation
    /// (which shortens the timeout and is worth gossiping).
    pub(crate) fn confirm(&mut self, by: &NodeId) -> bool {
        if self.confirmations() >= self.expected || self.suspecters.contains(by) {
            return false;
        }
        self.suspecters.push(by.clone());
        true
    }

    /// The current timeout: `max - (max - min) × ln(c + 1) / ln(k + 1)`, at least `min`.
    pub(crate) fn timeout(&self) -> Duration {
        if self.expected == 0 {
            return self.min;
        }
        let c = f64::from(self.confirmations());
        let k = f64::from(self.expected);
        let fraction = ((c + 1.0).ln() / (k + 1.0).ln()).clamp(0.0, 1.0);
        let span = (self.max - self.min).as_secs_f64();
        let timeout = self.max.as_secs_f64() - span * fraction;
        Duration::from_secs_f64(timeout.max(self.min.as_secs_f64()))
    }

    /// When the timeout runs out (confirmations may still move it earlier).
    pub(crate) fn deadline(&self) -> Instant {
        self.started + self.timeout()
    }

    /// When this suspicion next needs attention, with `pings` last-chance PINGs spaced by
    /// `probe_timeout`: the next PING is due so that the last one goes out one spacing before
    /// the deadline; once all went out, the member is declared dead at the deadline (and never
    /// before one spacing after the last PING).
    pub(crate) fn next_due(&self, pings: u8, probe_timeout: Duration) -> Instant {
        let deadline = self.deadline();
        let earliest = self.grace_until.unwrap_or(self.started);
        if self.grace_pings >= pings {
            return deadline.max(earliest);
        }
        let remaining = u32::from(pings - self.grace_pings);
        let ideal = deadline.saturating_sub(self.ping_spacing(pings, probe_timeout) * remaining);
        ideal.max(earliest)
    }

    /// The spacing of the last-chance PINGs for `pings` PINGs and `probe_timeout`.
    pub(crate) fn ping_spacing(&self, pings: u8, probe_timeout: Duration) -> Duration {
        probe_timeout.min(self.timeout() / u32::from(pings.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn id(text: &str) -> NodeId {
        NodeId::copy_from_str(text, &Limits::default()).unwrap()
    }

    #[test]
    fn timeout_shrinks_on_a_log_scale_with_confirmations() {
        let min = Duration::from_secs(4);
        let max = Duration::from_secs(24);
        let mut s = Suspicion::new(Instant::ZERO, 1, id("a"), min, max, 3);
        assert_eq!(s.timeout(), max);
        assert!(s.confirm(&id("b")));
        assert!(!s.confirm(&id("b")), "the same confirmer counts once");
        assert!(!s.confirm(&id("a")), "the first suspecter is no confirmation");
        // ln 2 / ln 4 = 0.5: halfway.
        assert!((s.timeout().as_secs_f64() - 14.0).abs() < 1e-6);
        assert!(s.confirm(&id("c")));
        let two = s.timeout();
        assert!(two < Duration::from_secs(14) && two > min);
        assert!(s.confirm(&id("d")));
        assert_eq!(s.timeout(), min);
        assert!(!s.confirm(&id("e")), "no more than expected confirmations are kept");
        assert_eq!(s.deadline(), Instant::ZERO + min);
    }

    #[test]
    fn no_expected_confirmations_means_the_floor() {
        let s = Suspicion::new(
            Instant::from_secs(1),
            0,
            id("a"),
            Duration::from_secs(2),
            Duration::from_secs(9),
            0,
        );
        assert_eq!(s.deadline(), Instant::from_secs(3));
    }

    #[test]
    fn last_chance_pings_fit_inside_the_timeout() {
        let min = Duration::from_secs(4);
        let pt = Duration::from_millis(500);
        let mut s = Suspicion::new(Instant::ZERO, 1, id("a"), min, min, 0);
        // Three PINGs at 2.5, 3.0 and 3.5 s; death at 4.0 s, the timeout.
        for (sent, at_ms) in [2_500u64, 3_000, 3_500].into_iter().enumerate() {
            assert_eq!(s.grace_pings as usize, sent);
            let due = s.next_due(3, pt);
            assert_eq!(due, Instant::ZERO + Duration::from_millis(at_ms));
            s.grace_pings += 1;
            s.grace_until = Some(due + s.ping_spacing(3, pt));
        }
        assert_eq!(s.next_due(3, pt), Instant::ZERO + min, "dead when the timeout runs out");
    }

    #[test]
    fn a_shrunk_timeout_still_waits_one_spacing_after_each_ping() {
        let pt = Duration::from_millis(500);
        let mut s = Suspicion::new(
            Instant::ZERO,
            1,
            id("a"),
            Duration::from_secs(4),
            Duration::from_secs(24),
            1,
        );
        // First PING due at 24 - 1.5 s.
        assert_eq!(s.next_due(3, pt), Instant::ZERO + Duration::from_millis(22_500));
        s.grace_pings = 1;
        s.grace_until = Some(Instant::ZERO + Duration::from_millis(23_000));
        // A confirmation drops the timeout to 4 s, long past: the remaining PINGs still go out
        // one spacing apart, and death waits for the last one's answer.
        assert!(s.confirm(&id("b")));
        assert_eq!(s.timeout(), Duration::from_secs(4));
        for at_ms in [23_000u64, 23_500] {
            let due = s.next_due(3, pt);
            assert_eq!(due, Instant::ZERO + Duration::from_millis(at_ms));
            s.grace_pings += 1;
            s.grace_until = Some(due + s.ping_spacing(3, pt));
        }
        assert_eq!(s.next_due(3, pt), Instant::ZERO + Duration::from_millis(24_000));
    }
}
