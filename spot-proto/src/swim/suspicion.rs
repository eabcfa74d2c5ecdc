//! Lifeguard's dynamic suspicion timeout: it starts at `max` and shrinks on a log scale with each
//! independent confirmation, down to `min` once `expected` confirmations arrived.

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
    /// Set once the timeout passed and the last-chance buddy PINGs started; the member is
    /// declared dead when `grace_until` passes too.
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

    pub(crate) fn deadline(&self) -> Instant {
        let deadline = self.started + self.timeout();
        self.grace_until.map_or(deadline, |grace| grace.max(deadline))
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
}
