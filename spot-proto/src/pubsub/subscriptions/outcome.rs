//! The values [`super::Subscriptions`] hands back: ids, decisions and counters.

use crate::wire::spot::{Topic, TopicOwner};

use crate::pubsub::pattern::GlobPattern;

/// Identifies one local subscription. Ids are allocated in increasing order and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(pub(super) u64);

impl SubscriptionId {
    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// What a local subscription is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionTarget {
    /// One topic.
    Exact(Topic),
    /// Every topic the pattern matches, anywhere in the cluster, now or later.
    Pattern(GlobPattern),
}

/// What [`super::Subscriptions::subscribe`] does with a topic the directory does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownTopic {
    /// Refuse with [`crate::NodeError::TopicNotFound`] (ENOENT): there is no link to ask.
    Reject,
    /// Keep the subscription pending; it takes effect when the topic appears (the caller can ask
    /// its links with QUERY).
    Await,
}

/// How a PUBLISH reached this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Sent to this node as the topic's owner (or as a relaying hub): it came on a connection
    /// the peer dialed (ROUTER side here).
    Request,
    /// Forwarded by the owner (or a hub) this node subscribed at: it came on a connection this
    /// node dialed, or from a ZeroMQ publisher this node consumes.
    Forward,
}

/// A SUBSCRIBE or UNSUBSCRIBE this node must send to a REMOTE topic's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamAction {
    /// Send SUBSCRIBE `topic` to `owner`.
    Subscribe {
        /// The topic.
        topic: Topic,
        /// Its owner.
        owner: TopicOwner,
    },
    /// Send UNSUBSCRIBE `topic` to `owner` (drop it if there is no link to the owner any more).
    Unsubscribe {
        /// The topic.
        topic: Topic,
        /// The owner it was subscribed at.
        owner: TopicOwner,
    },
}

/// The result of a local subscribe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribed {
    /// The new subscription.
    pub id: SubscriptionId,
    /// SUBSCRIBEs to send now.
    pub actions: Vec<UpstreamAction>,
    /// The topic is not known yet: the subscription takes effect when it appears.
    pub pending: bool,
}

/// The result of a local unsubscribe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribed {
    /// The subscription removed.
    pub id: SubscriptionId,
    /// UNSUBSCRIBEs to send now.
    pub actions: Vec<UpstreamAction>,
}

/// How a remote subscriber's topic relates to this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteInterest {
    /// The topic is LOCAL here: this node fans it out.
    Local,
    /// The topic is REMOTE: with relay on, this node subscribes at the owner and forwards.
    Relayed,
    /// The topic is REMOTE and relay is off: kept, but nothing arrives until relay is on or the
    /// topic becomes LOCAL.
    Remote,
    /// The topic is unknown here: kept; it takes effect if the topic appears.
    Unknown,
}

/// The result of a remote peer's SUBSCRIBE or PATTERN_SUBSCRIBE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteSubscribed {
    /// False when the peer held this subscription already (the request changed nothing).
    pub added: bool,
    /// For an exact topic, where it lives; for a pattern, [`RemoteInterest::Local`].
    pub interest: RemoteInterest,
    /// Upstream SUBSCRIBEs to send (relay only).
    pub actions: Vec<UpstreamAction>,
}

/// Everything a dropped peer held here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDropped {
    /// Exact topics it had subscribed, sorted.
    pub topics: Vec<Topic>,
    /// Patterns it had subscribed, sorted.
    pub patterns: Vec<GlobPattern>,
    /// Upstream UNSUBSCRIBEs that follow (relay only).
    pub actions: Vec<UpstreamAction>,
}

/// Where one publish goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishRoute<P> {
    /// Local subscriptions that match, in id order. Deliver the message once to the receive
    /// queue when this is not empty; each listed subscription's stream gets it once.
    pub local: Vec<SubscriptionId>,
    /// Peers to forward one copy each to, sorted.
    pub peers: Vec<P>,
    /// For a publish by this node on a REMOTE topic: the owner to send PUBLISH to (it fans
    /// out, and sends the message back if this node subscribes).
    pub owner: Option<TopicOwner>,
}

impl<P> PublishRoute<P> {
    /// Whether the message goes nowhere.
    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.peers.is_empty() && self.owner.is_none()
    }
}

/// Counters of subscriptions and routing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionStats {
    /// Local exact subscribes accepted.
    pub subscribes: u64,
    /// Local exact unsubscribes.
    pub unsubscribes: u64,
    /// Local pattern subscribes accepted.
    pub pattern_subscribes: u64,
    /// Local pattern unsubscribes.
    pub pattern_unsubscribes: u64,
    /// Remote subscriptions (exact and pattern) added.
    pub remote_subscribes: u64,
    /// Remote subscriptions removed (unsubscribes and dropped peers).
    pub remote_unsubscribes: u64,
    /// Remote subscriptions refused at the per-peer bound.
    pub remote_refused: u64,
    /// Peers dropped with everything they held.
    pub peers_dropped: u64,
    /// Upstream SUBSCRIBEs decided.
    pub upstream_subscribes: u64,
    /// Upstream UNSUBSCRIBEs decided.
    pub upstream_unsubscribes: u64,
    /// Publishes routed (by this node or received).
    pub publishes_routed: u64,
    /// Publishes that matched at least one local subscription.
    pub local_deliveries: u64,
    /// Copies decided for peers.
    pub forwarded_copies: u64,
    /// Forwarded publishes on topics the directory does not know (delivered to matching local
    /// subscriptions only).
    pub unknown_topic_publishes: u64,
    /// Publishes sent to this node as owner for a topic it does not own (and does not relay),
    /// dropped.
    pub not_owned_publishes: u64,
    /// Pattern match attempts (the cost of pattern routing).
    pub pattern_checks: u64,
}
