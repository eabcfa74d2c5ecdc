//! # spot-cli — the `spot` command
//!
//! The binary's commands live here as library code so that tests and benchmarks can call them:
//!
//! * [`sim`] — `spot sim`: a simulated SWIM cluster on a virtual clock (see
//!   `spot_proto::sim`), with its report as text or JSON.
//! * [`demo`] — `spot demo`: three real nodes on loopback (tokio driver) join, route
//!   publishes across the cluster, and see a killed member die.
//! * [`bench`](mod@bench) — `spot bench`: pub/sub throughput and latency between two processes over
//!   loopback, against nats-server and redis-server with `--peers` (`peers` feature).
//! * [`node`] — `spot node`: a long-running cluster member that logs membership and topic
//!   events; [`client`] — `spot pub`, `sub`, `topics`, `members` over `--connect ENDPOINT`.
//! * [`cpu`] — the process's CPU time, for the per-member-second figures.
//!
//! Exit codes of the binary: 0 success, 1 the run failed (an invariant broke), 2 usage error.
#![deny(missing_docs)]

pub mod bench;
pub mod client;
pub mod cpu;
pub mod demo;
pub mod node;
pub mod sim;

/// Exit code: the command ran and every check held.
pub const EXIT_OK: u8 = 0;
/// Exit code: the run failed or an invariant broke (the message names the seed).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the command line was not valid.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a client command could not connect to the node (`--connect`).
pub const EXIT_CONNECT: u8 = 3;

/// Prints `error: MESSAGE` on stderr (the binary's one way of reporting a failure).
pub fn print_error(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "error: {message}");
}
