//! Deterministic simulator (feature `sim`): many sans-IO processes in one thread on a virtual
//! clock, joined by a seeded network model.
//!
//! * [`Simulation`] — the world: nodes, an event queue keyed by `(time, sequence)`, scripted
//!   actions ([`Simulation::at`]), crash and restart, slow nodes.
//! * [`NetworkModel`] — per-link latency and jitter, uniform and bursty (Gilbert–Elliott) loss,
//!   duplication, reordering, symmetric and one-way partitions.
//! * [`SimProcess`] — what runs on a node: datagrams, ordered byte streams, one timer, events.
//! * [`SimFailure`] — an invariant that broke, printing the seed that replays it.
//! * [`SwimProcess`], [`SwimFactory`], [`SwimCluster`] — spot-proto's SWIM `Membership` on the
//!   simulator: one member as a process, members for the standard scenario, and a cluster for
//!   scenario tests with traces and invariant checks.
//! * [`run_membership_scenario`] — the standard membership scenario (start, steady state, kill,
//!   detection) for any SWIM implementation behind a [`ClusterFactory`].
//!
//! One seed drives everything: the network draws from a generator forked from it, and processes
//! get their own forks through [`Simulation::rng`]. Nothing reads a clock or the OS, so the same
//! seed and scenario give the same run, event for event.
//!
//! ```
//! use bytes::Bytes;
//! use spot_proto::sim::{LinkProfile, Output, SimProcess, Simulation};
//! use spot_proto::{Endpoint, Instant};
//!
//! /// Answers every datagram with the same bytes.
//! #[derive(Default)]
//! struct Echo(Vec<Output>, Vec<Bytes>);
//!
//! impl SimProcess for Echo {
//!     type Event = Bytes;
//!     fn handle_datagram(&mut self, _now: Instant, from: &Endpoint, payload: Bytes) {
//!         self.1.push(payload.clone());
//!         self.0.push(Output::Datagram { to: from.clone(), payload });
//!     }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//!     fn poll_timeout(&mut self) -> Option<Instant> { None }
//!     fn poll_output(&mut self) -> Option<Output> { self.0.pop() }
//!     fn poll_event(&mut self) -> Option<Bytes> { self.1.pop() }
//! }
//!
//! let mut sim = Simulation::new(7, LinkProfile::lan());
//! let a = sim.add_node(Endpoint::localhost(1), Echo::default());
//! let _b = sim.add_node(Endpoint::localhost(2), Echo::default());
//! sim.act(a, |p, _| p.0.push(Output::Datagram {
//!     to: Endpoint::localhost(2),
//!     payload: Bytes::from_static(b"hi"),
//! }));
//! let mut seen = 0;
//! sim.run_for(core::time::Duration::from_millis(10), &mut |_t, _n, _e| seen += 1);
//! assert!(seen > 2, "the two echoes bounce until the run ends");
//! ```

mod cluster;
mod failure;
mod network;
mod process;
mod queue;
mod streams;
mod swim;
mod world;

pub use cluster::{
    Change, ClusterFactory, SIM_PORT, ScenarioConfig, ScenarioPhase, ScenarioReport, StartMode,
    member_endpoint, member_index, run_membership_scenario, run_membership_scenario_with,
};
pub use failure::SimFailure;
pub use network::{DropReason, Fate, LinkProfile, LossModel, MAX_GROUPS, NetworkModel};
pub use process::{IgnoreEvents, Observer, Output, SimProcess, StreamId};
pub use queue::EventQueue;
pub use swim::{PushPullStats, SwimCluster, SwimFactory, SwimProcess, TraceEntry};
pub use world::{NetworkStats, Script, Simulation};
