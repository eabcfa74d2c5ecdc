//! Deterministic simulator: virtual clock, seeded network faults.
