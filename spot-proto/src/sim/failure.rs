//! [`SimFailure`]: an invariant that broke, with the seed that replays it.

use core::fmt;

use crate::time::Instant;

/// A broken invariant in a simulated run.
///
/// Its `Display` names the check, what was seen, the virtual time and the seed; running the same
/// scenario with that seed replays the same run, event for event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFailure {
    /// The seed of the run.
    pub seed: u64,
    /// Virtual time when the check failed.
    pub at: Instant,
    /// Which invariant broke (e.g. `"no-false-death"`).
    pub check: String,
    /// What was observed.
    pub detail: String,
}

impl SimFailure {
    /// A failure of `check` at `at` in the run seeded with `seed`.
    pub fn new(
        seed: u64,
        at: Instant,
        check: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        SimFailure { seed, at, check: check.into(), detail: detail.into() }
    }
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "simulation invariant `{}` broken at {:?}: {} (seed={}; replay: run the same \
             scenario with seed {}, e.g. SPOT_SIM_SEED={} or `spot sim --seed {}`)",
            self.check, self.at, self.detail, self.seed, self.seed, self.seed, self.seed
        )
    }
}

impl std::error::Error for SimFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_seed_and_how_to_replay() {
        let failure =
            SimFailure::new(1234, Instant::from_secs(3), "no-false-death", "n1 saw n2 dead");
        let text = failure.to_string();
        assert!(text.contains("seed=1234"), "{text}");
        assert!(text.contains("no-false-death") && text.contains("n1 saw n2 dead"), "{text}");
        assert!(text.contains("replay"), "{text}");
        assert!(text.contains("t+3.000000000s"), "{text}");
    }
}
