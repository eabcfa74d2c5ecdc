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
//!
//! # How a node drives it
//!
//! Every verb returns what to do; the node turns decisions into SPOT commands on its links.
//!
//! ```
//! use spot_proto::Limits;
//! use spot_proto::pubsub::{Subscriptions, TopicDirectory, UnknownTopic, UpstreamAction};
//! use spot_proto::wire::spot::{NodeId, Topic, TopicOwner};
//!
//! let limits = Limits::default();
//! let b = TopicOwner {
//!     id: NodeId::copy_from_str("b", &limits).unwrap(),
//!     endpoint: "tcp://10.0.0.2:5555".parse().unwrap(),
//! };
//! let me = NodeId::copy_from_str("a", &limits).unwrap();
//! let mut directory = TopicDirectory::new(me, limits.clone());
//! let mut subs: Subscriptions<u64> = Subscriptions::new(); // peers keyed by a connection number
//!
//! directory.create_local("game:score").unwrap();
//! // A pattern subscription before the topic is known...
//! subs.subscribe_pattern("chat:*", &directory).unwrap();
//! // ...B's QUERY_RESP arrives: the directory says what changed, the subscriptions what to send.
//! let room = Topic::copy_from_str("chat:room1", &limits).unwrap();
//! let changes = directory.apply_owner_topics(b.clone(), [room]);
//! let actions = subs.on_topic_changes(&changes, &directory);
//! assert!(matches!(&actions[..], [UpstreamAction::Subscribe { topic, owner }]
//!     if topic.as_str() == "chat:room1" && owner == &b));
//!
//! // A peer (connection 7) subscribes to our LOCAL topic; a local publish fans out to it.
//! let topic = Topic::copy_from_str("game:score", &limits).unwrap();
//! subs.add_remote_subscriber(7, topic, &directory).unwrap();
//! let mine = subs.subscribe("game:score", &directory, UnknownTopic::Reject).unwrap().id;
//! let route = subs.route_publish("game:score", &directory).unwrap();
//! assert_eq!((route.local, route.peers), (vec![mine], vec![7]));
//! ```

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
