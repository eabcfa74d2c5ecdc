//! # spot-cli — the `spot` command
//!
//! The binary's commands live here as library code so that tests and benchmarks can call them:
//!
//! * [`sim`] — `spot sim`: a simulated SWIM cluster on a virtual clock (see
//!   `spot_proto::sim`), with its report as text or JSON.
//! * [`demo`] — `spot demo`: three real nodes on loopback (tokio driver) join, route
//!   publishes across the cluster, and see a killed member die.
//! * [`cpu`] — the process's CPU time, for the per-member-second figures.
//!
//! Exit codes of the binary: 0 success, 1 the run failed (an invariant broke), 2 usage error.
#![deny(missing_docs)]

pub mod cpu;
pub mod demo;
pub mod sim;

/// Exit code: the command ran and every check held.
pub const EXIT_OK: u8 = 0;
/// Exit code: the run failed or an invariant broke (the message names the seed).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the command line was not valid.
pub const EXIT_USAGE: u8 = 2;
