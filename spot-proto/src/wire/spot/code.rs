//! The SPOT command code table and the capability bits that gate the extensions.
//!
//! The table is fixed here, before anything depends on it. Codes 0x01..=0x05 are the base commands
//! of the original SPOT; 0x06..=0x0F stay free for the original protocol to grow into; extensions
//! come in families of sixteen codes, each family with room to grow.

use core::fmt;
use core::ops::{BitAnd, BitOr};

/// Version of the SPOT extension layouts documented in `docs/PROTOCOL.md`. It is announced in the
/// `X-Spot` READY property and in HELLO; two nodes speak the lower of their two versions.
pub const PROTOCOL_VERSION: u16 = 1;

/// A known SPOT command code. Any other byte decodes as [`super::SpotCommand::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum CommandCode {
    /// 0x01 `[topic][data]`: publish to a topic's owner, or forward to a subscriber node.
    Publish = 0x01,
    /// 0x02 `[topic]`: subscribe to a topic the receiver owns.
    Subscribe = 0x02,
    /// 0x03 `[topic]`: cancel a subscription.
    Unsubscribe = 0x03,
    /// 0x04: ask for the receiver's local topics.
    Query = 0x04,
    /// 0x05 `[count][topic]...`: the receiver's local topics.
    QueryResp = 0x05,
    /// 0x10 `[hello]`: version, capabilities, node id and advertised endpoint.
    Hello = 0x10,
    /// 0x11 `[hello]`: the answer to HELLO, same layout.
    HelloAck = 0x11,
    /// 0x20 `[owner][topic]`: a topic was created on its owner.
    TopicCreated = 0x20,
    /// 0x21 `[owner id][topic]`: a topic was destroyed on its owner.
    TopicDestroyed = 0x21,
    /// 0x22 `[request id]`: ask for the directory (every known topic with its owner).
    DirectoryQuery = 0x22,
    /// 0x23 `[page]`: one page of the directory.
    DirectoryResp = 0x23,
    /// 0x30 `[pattern]`: subscribe to every topic matching a pattern, now and later.
    PatternSubscribe = 0x30,
    /// 0x31 `[pattern]`: cancel a pattern subscription.
    PatternUnsubscribe = 0x31,
    /// 0x32 `[ack][topic or pattern]`: the outcome of a (pattern) (un)subscribe.
    SubscribeAck = 0x32,
    /// 0x40 `[relay][topic][data]`: a publish forwarded between nodes, with origin, hops and
    /// sequence number.
    RelayedPublish = 0x40,
    /// 0x50 `[header][state]`: membership full-state push, asking for the peer's state back.
    PushPullReq = 0x50,
    /// 0x51 `[header][state]`: the answer to PUSH_PULL_REQ.
    PushPullResp = 0x51,
    /// 0x52 `[request id]`: ask for the member list.
    MemberListQuery = 0x52,
    /// 0x53 `[page]`: one page of the member list.
    MemberListResp = 0x53,
}

impl CommandCode {
    /// Every known code, in table order.
    pub const ALL: [CommandCode; 19] = [
        CommandCode::Publish,
        CommandCode::Subscribe,
        CommandCode::Unsubscribe,
        CommandCode::Query,
        CommandCode::QueryResp,
        CommandCode::Hello,
        CommandCode::HelloAck,
        CommandCode::TopicCreated,
        CommandCode::TopicDestroyed,
        CommandCode::DirectoryQuery,
        CommandCode::DirectoryResp,
        CommandCode::PatternSubscribe,
        CommandCode::PatternUnsubscribe,
        CommandCode::SubscribeAck,
        CommandCode::RelayedPublish,
        CommandCode::PushPullReq,
        CommandCode::PushPullResp,
        CommandCode::MemberListQuery,
        CommandCode::MemberListResp,
    ];

    /// The code for a byte, if it is known.
    pub const fn from_u8(byte: u8) -> Option<CommandCode> {
        Some(match byte {
            0x01 => CommandCode::Publish,
            0x02 => CommandCode::Subscribe,
            0x03 => CommandCode::Unsubscribe,
            0x04 => CommandCode::Query,
            0x05 => CommandCode::QueryResp,
            0x10 => CommandCode::Hello,
            0x11 => CommandCode::HelloAck,
            0x20 => CommandCode::TopicCreated,
            0x21 => CommandCode::TopicDestroyed,
            0x22 => CommandCode::DirectoryQuery,
            0x23 => CommandCode::DirectoryResp,
            0x30 => CommandCode::PatternSubscribe,
            0x31 => CommandCode::PatternUnsubscribe,
            0x32 => CommandCode::SubscribeAck,
            0x40 => CommandCode::RelayedPublish,
            0x50 => CommandCode::PushPullReq,
            0x51 => CommandCode::PushPullResp,
            0x52 => CommandCode::MemberListQuery,
            0x53 => CommandCode::MemberListResp,
            _ => return None,
        })
    }

    /// The code byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The name used in `docs/PROTOCOL.md`, e.g. `"QUERY_RESP"`.
    pub const fn name(self) -> &'static str {
        match self {
            CommandCode::Publish => "PUBLISH",
            CommandCode::Subscribe => "SUBSCRIBE",
            CommandCode::Unsubscribe => "UNSUBSCRIBE",
            CommandCode::Query => "QUERY",
            CommandCode::QueryResp => "QUERY_RESP",
            CommandCode::Hello => "HELLO",
            CommandCode::HelloAck => "HELLO_ACK",
            CommandCode::TopicCreated => "TOPIC_CREATED",
            CommandCode::TopicDestroyed => "TOPIC_DESTROYED",
            CommandCode::DirectoryQuery => "DIRECTORY_QUERY",
            CommandCode::DirectoryResp => "DIRECTORY_RESP",
            CommandCode::PatternSubscribe => "PATTERN_SUBSCRIBE",
            CommandCode::PatternUnsubscribe => "PATTERN_UNSUBSCRIBE",
            CommandCode::SubscribeAck => "SUBSCRIBE_ACK",
            CommandCode::RelayedPublish => "RELAYED_PUBLISH",
            CommandCode::PushPullReq => "PUSH_PULL_REQ",
            CommandCode::PushPullResp => "PUSH_PULL_RESP",
            CommandCode::MemberListQuery => "MEMBER_LIST_QUERY",
            CommandCode::MemberListResp => "MEMBER_LIST_RESP",
        }
    }

    /// Whether this is one of the five base commands every SPOT peer (and any ZeroMQ client)
    /// understands.
    pub const fn is_base(self) -> bool {
        (self as u8) <= 0x05
    }

    /// The capability a peer must have announced before it may be sent this command; `None` for
    /// the base commands.
    pub const fn required_capability(self) -> Option<Capabilities> {
        Some(match self {
            CommandCode::Publish
            | CommandCode::Subscribe
            | CommandCode::Unsubscribe
            | CommandCode::Query
            | CommandCode::QueryResp => return None,
            CommandCode::Hello | CommandCode::HelloAck => Capabilities::HELLO,
            CommandCode::TopicCreated | CommandCode::TopicDestroyed => Capabilities::TOPIC_EVENTS,
            CommandCode::DirectoryQuery | CommandCode::DirectoryResp => Capabilities::DIRECTORY,
            CommandCode::PatternSubscribe | CommandCode::PatternUnsubscribe => {
                Capabilities::PATTERNS
            }
            CommandCode::SubscribeAck => Capabilities::SUBSCRIBE_ACK,
            CommandCode::RelayedPublish => Capabilities::RELAY,
            CommandCode::PushPullReq | CommandCode::PushPullResp => Capabilities::PUSH_PULL,
            CommandCode::MemberListQuery | CommandCode::MemberListResp => Capabilities::MEMBER_LIST,
        })
    }
}

impl fmt::Display for CommandCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The capability bits a SPOT peer announces (in `X-Spot` and HELLO). A node sends an extension
/// command only to a peer whose announced set contains the command's capability.
///
/// Unknown bits are kept as received, so a newer peer's bits survive a round trip; intersect with
/// [`Capabilities::ALL_KNOWN`] (or with our own set) before acting on them.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capabilities(u64);

impl Capabilities {
    /// The sender is a cluster member with a SWIM identity. A client (such as the `spot` CLI)
    /// leaves it clear and may still announce the query extensions it uses.
    pub const CLUSTER_NODE: Capabilities = Capabilities(1 << 0);
    /// HELLO and HELLO_ACK (0x10, 0x11).
    pub const HELLO: Capabilities = Capabilities(1 << 1);
    /// TOPIC_CREATED and TOPIC_DESTROYED (0x20, 0x21).
    pub const TOPIC_EVENTS: Capabilities = Capabilities(1 << 2);
    /// DIRECTORY_QUERY and DIRECTORY_RESP (0x22, 0x23).
    pub const DIRECTORY: Capabilities = Capabilities(1 << 3);
    /// PATTERN_SUBSCRIBE and PATTERN_UNSUBSCRIBE (0x30, 0x31).
    pub const PATTERNS: Capabilities = Capabilities(1 << 4);
    /// SUBSCRIBE_ACK (0x32).
    pub const SUBSCRIBE_ACK: Capabilities = Capabilities(1 << 5);
    /// RELAYED_PUBLISH (0x40).
    pub const RELAY: Capabilities = Capabilities(1 << 6);
    /// PUSH_PULL_REQ and PUSH_PULL_RESP (0x50, 0x51).
    pub const PUSH_PULL: Capabilities = Capabilities(1 << 7);
    /// MEMBER_LIST_QUERY and MEMBER_LIST_RESP (0x52, 0x53).
    pub const MEMBER_LIST: Capabilities = Capabilities(1 << 8);

    /// Every bit this version defines.
    pub const ALL_KNOWN: Capabilities = Capabilities((1 << 9) - 1);

    /// No capability: a plain ZeroMQ peer, or a SPOT peer that announced none.
    pub const fn empty() -> Self {
        Capabilities(0)
    }

    /// From raw bits (unknown bits are kept).
    pub const fn from_bits(bits: u64) -> Self {
        Capabilities(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// Bits set in both.
    pub const fn intersection(self, other: Capabilities) -> Self {
        Capabilities(self.0 & other.0)
    }

    /// Bits set in either.
    pub const fn union(self, other: Capabilities) -> Self {
        Capabilities(self.0 | other.0)
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the known bits that are set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const NAMED: [(Capabilities, &str); 9] = [
            (Capabilities::CLUSTER_NODE, "cluster-node"),
            (Capabilities::HELLO, "hello"),
            (Capabilities::TOPIC_EVENTS, "topic-events"),
            (Capabilities::DIRECTORY, "directory"),
            (Capabilities::PATTERNS, "patterns"),
            (Capabilities::SUBSCRIBE_ACK, "subscribe-ack"),
            (Capabilities::RELAY, "relay"),
            (Capabilities::PUSH_PULL, "push-pull"),
            (Capabilities::MEMBER_LIST, "member-list"),
        ];
        NAMED.into_iter().filter(move |(bit, _)| self.contains(*bit)).map(|(_, name)| name)
    }
}

impl BitOr for Capabilities {
    type Output = Capabilities;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitAnd for Capabilities {
    type Output = Capabilities;
    fn bitand(self, rhs: Self) -> Self {
        self.intersection(rhs)
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Capabilities(0x{:x}", self.0)?;
        for name in self.names() {
            write!(f, " {name}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_bytes_are_none() {
        for code in CommandCode::ALL {
            assert_eq!(CommandCode::from_u8(code.as_u8()), Some(code));
        }
        let known = (0..=255u8).filter(|b| CommandCode::from_u8(*b).is_some()).count();
        assert_eq!(known, CommandCode::ALL.len());
        for free in [0x00, 0x06, 0x0f, 0x12, 0x24, 0x33, 0x41, 0x54, 0x60, 0xff] {
            assert_eq!(CommandCode::from_u8(free), None, "0x{free:02x} must stay free");
        }
    }

    #[test]
    fn base_commands_need_no_capability_and_every_extension_needs_one() {
        for code in CommandCode::ALL {
            assert_eq!(code.is_base(), code.required_capability().is_none(), "{code}");
            if let Some(cap) = code.required_capability() {
                assert!(Capabilities::ALL_KNOWN.contains(cap));
                assert_eq!(cap.bits().count_ones(), 1);
            }
        }
    }

    #[test]
    fn capability_set_algebra() {
        let ours = Capabilities::CLUSTER_NODE | Capabilities::DIRECTORY | Capabilities::RELAY;
        let theirs = Capabilities::from_bits(Capabilities::DIRECTORY.bits() | 1 << 40);
        let shared = ours & theirs;
        assert!(shared.contains(Capabilities::DIRECTORY));
        assert!(!shared.contains(Capabilities::RELAY));
        assert_eq!(shared, Capabilities::DIRECTORY);
        assert_eq!(theirs.bits() >> 40, 1, "unknown bits are kept");
        assert_eq!(ours.names().collect::<Vec<_>>(), ["cluster-node", "directory", "relay"]);
        assert!(Capabilities::empty().is_empty());
        assert_eq!(Capabilities::ALL_KNOWN.names().count(), 9);
    }
}
