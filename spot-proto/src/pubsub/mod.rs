//! Pub/sub: topic directory, subscriptions and patterns, routing, per-peer queues.
//!
//! These are the pure data structures and decisions the node composes; nothing here
//! does I/O, owns a link or reads a clock:
//!
//! * [`pattern`] — glob patterns (`chat:*`, `room?`) compiled to a non-backtracking matcher.
//! * [`directory`] — LOCAL topics and the owners of REMOTE topics, with conflict rules.

pub mod directory;
pub mod pattern;

pub use directory::{
    DirectoryStats, Location, TopicChange, TopicDirectory, TopicEntry, parse_topic,
    topic_from_bytes,
};
pub use pattern::GlobPattern;
