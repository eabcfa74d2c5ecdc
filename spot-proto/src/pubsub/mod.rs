//! Pub/sub: topic directory, subscriptions and patterns, routing, per-peer queues.
//!
//! These are the pure data structures and decisions a [`Node`](crate) composes; nothing here
//! does I/O, owns a link or reads a clock:
//!
//! * [`pattern`] — glob patterns (`chat:*`, `room?`) compiled to a non-backtracking matcher.

pub mod pattern;

pub use pattern::GlobPattern;
