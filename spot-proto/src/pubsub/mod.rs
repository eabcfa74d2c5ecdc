//! Pub/sub: topic directory, subscriptions and patterns, routing, per-peer queues.
//!
//! These are the pure data structures and decisions the node composes; nothing here
//! does I/O, owns a link or reads a clock:
//!
//! * [`pattern`] — glob patterns (`chat:*`, `room?`) compiled to a non-backtracking matcher.
//! * [`directory`] — LOCAL topics and the owners of REMOTE topics, with conflict rules.
//! * [`paging`] — DIRECTORY_RESP answers split into pages and merged back.
//! * [`subscriptions`] — local subscriptions, remote subscribers, upstream SUBSCRIBE decisions
//!   and the routing decision for every publish.
//! * [`relay`] — loop and duplicate prevention for relayed publishes: origin, sequence, hops.
//! * [`queue`] — the receive queue and per-peer high-water-mark accounting.

pub mod directory;
pub mod paging;
pub mod pattern;
pub mod queue;
pub mod relay;
pub mod subscriptions;

pub use directory::{
    DirectoryStats, Location, TopicChange, TopicDirectory, TopicEntry, check_topic, parse_topic,
    topic_from_bytes,
};
pub use paging::{DirectoryAssembler, PageRefusal};
pub use pattern::GlobPattern;
pub use queue::{Admission, HwmGauge, HwmLimits, QueueStats, ReceiveQueue, ReceivedMessage};
pub use relay::{DedupWindow, RelayConfig, RelayDecision, RelayFilter, RelayStats, WindowVerdict};
pub use subscriptions::{
    Arrival, PeerDropped, PublishRoute, RemoteInterest, RemoteSubscribed, Subscribed,
    SubscriptionId, SubscriptionStats, SubscriptionTarget, Subscriptions, UnknownTopic,
    Unsubscribed, UpstreamAction,
};
