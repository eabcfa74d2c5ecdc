//! Deterministic hash collections.
//!
//! `std::collections::HashMap` seeds its hasher from the OS, so its iteration order changes from
//! run to run. Where iteration order can reach an output, spot-proto uses these aliases (a fixed
//! FxHash hasher) or a `BTreeMap`, so that the same seed and inputs give the same outputs.
#![allow(clippy::disallowed_types)]

/// A `HashMap` with a fixed, deterministic hasher.
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;
/// A `HashSet` with a fixed, deterministic hasher.
pub type FxHashSet<K> = std::collections::HashSet<K, rustc_hash::FxBuildHasher>;
