//! # spot-proto — the sans-IO core of SPOT
//!
//! SPOT is a clustered, location-transparent topic pub/sub system. This crate holds all of its
//! protocol logic as pure state machines: it encodes and decodes every frame (ZMTP 3.x, the SPOT
//! commands, SWIM datagrams) and advances membership and pub/sub state from inputs and timestamps.
//!
//! It never reads a clock, sleeps, spawns, touches a socket or draws OS randomness:
//!
//! * every input carries `now` ([`Instant`], nanoseconds from an origin the caller picks);
//! * inputs are `handle_*` calls, outputs are `poll_*` calls drained until they return `None`;
//! * after any input, drain every output, then re-arm one timer from `poll_timeout`;
//! * randomness comes from a seed in the configuration ([`rng::SpotRng`]), so the same seed and the
//!   same inputs give the same outputs, byte for byte.
//!
//! Module map:
//!
//! * [`wire`] — bytes on the wire, pure functions: [`wire::zmtp`], [`wire::spot`], [`wire::swim`].
//! * [`link`] — one ZMTP connection: greeting, handshake, frames, heartbeats, write queues.
//! * [`swim`] — membership (SWIM + Lifeguard).
//! * [`node`] — [`node::Node`]: links, membership and pub/sub composed; the public verbs.
//! * [`pubsub`] — topic directory, subscriptions, patterns, routing, per-peer queues.
//! * `sim` (feature `sim`) — deterministic simulator on a virtual clock.
//! * [`host`] — what the drivers share: stream routing, waiters, shutdown, clock and endpoint
//!   conversions (pure; the drivers bring the runtime).
//! * [`time`], [`endpoint`], [`error`], [`limits`] — the vocabulary shared by everything else.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod collections;
pub mod endpoint;
pub mod error;
pub mod host;
pub mod limits;
pub mod link;
pub mod node;
pub mod pubsub;
pub mod rng;
pub mod swim;
pub mod time;
pub mod wire;

#[cfg(feature = "sim")]
pub mod sim;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use endpoint::{Endpoint, Host};
pub use error::{DecodeError, Errno, NodeError};
pub use limits::Limits;
pub use time::Instant;
