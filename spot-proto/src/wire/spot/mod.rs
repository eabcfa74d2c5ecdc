//! SPOT commands: the messages SPOT nodes (and SPOT clients) exchange inside ZMTP multipart
//! messages on DEALER/ROUTER links. Pure functions over a list of frames; no ZMTP framing here.
//!
//! Every message's first payload frame is a one-byte command code. A ROUTER's message to a DEALER
//! carries one empty delimiter frame first; [`SpotCommand::decode`] accepts a message with or
//! without it, and [`SpotCommand::encode_into`] adds it for [`Envelope::Delimited`].
//!
//! | code | command | frames after the command byte |
//! |------|---------|-------------------------------|
//! | 0x01 | PUBLISH | `[topic][data]` |
//! | 0x02 | SUBSCRIBE | `[topic]` |
//! | 0x03 | UNSUBSCRIBE | `[topic]` |
//! | 0x04 | QUERY | none |
//! | 0x05 | QUERY_RESP | `[count: u32 LE][topic] x count` |
//! | 0x06..=0x0F | reserved for the base protocol | decoded as `Unknown` |
//! | 0x10, 0x11 | HELLO, HELLO_ACK | `[hello]` ([`Hello`]) |
//! | 0x20, 0x21 | TOPIC_CREATED, TOPIC_DESTROYED | `[owner][topic]`, `[owner id][topic]` |
//! | 0x22, 0x23 | DIRECTORY_QUERY, DIRECTORY_RESP | `[request id]`, `[page]` ([`DirectoryPage`]) |
//! | 0x30, 0x31 | PATTERN_SUBSCRIBE, PATTERN_UNSUBSCRIBE | `[pattern]` |
//! | 0x32 | SUBSCRIBE_ACK | `[ack][topic or pattern]` ([`SubscribeAck`]) |
//! | 0x40 | RELAYED_PUBLISH | `[relay][topic][data]` ([`RelayedPublish`]) |
//! | 0x50, 0x51 | PUSH_PULL_REQ, PUSH_PULL_RESP | `[header][state]` ([`PushPull`]) |
//! | 0x52, 0x53 | MEMBER_LIST_QUERY, MEMBER_LIST_RESP | `[request id]`, `[page]` ([`MemberListPage`]) |
//!
//! Extensions (0x10 and up) go only to peers whose `X-Spot` READY property
//! ([`SpotAnnouncement`]) announced the matching [`Capabilities`] bit; see
//! [`SpotCommand::may_send_to`]. Unknown codes decode to [`SpotCommand::Unknown`] (count and
//! ignore); a malformed message of a known code is a typed [`crate::DecodeError`] (count and
//! drop). The full specification, with every byte layout, is `docs/PROTOCOL.md`.
//!
//! Zero copy: topics, patterns, node ids and payloads in decoded commands are slices of the input
//! frames, and encoding hands the same `Bytes` back out.

mod code;
mod command;
mod directory;
mod fields;
mod layout;
mod membership;
mod relay;
mod session;
mod subscription;

use bytes::Bytes;

pub use code::{Capabilities, CommandCode, PROTOCOL_VERSION};
pub use command::SpotCommand;
pub use directory::{DirectoryPage, OwnedTopics, TopicOwner};
pub use fields::{
    MAX_ENDPOINT_TEXT_LEN, MAX_NODE_ID_LEN, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, MAX_TOPIC_WIRE_LEN,
    NodeId, Pattern, Tag, Topic, Utf8Bytes,
};
pub use membership::{MemberInfo, MemberListPage, MemberState, PushPull};
pub use relay::RelayedPublish;
pub use session::{Hello, SpotAnnouncement, X_SPOT_PROPERTY};
pub use subscription::{AckStatus, AckedRequest, SubscribeAck};

use crate::{DecodeError, Limits};

/// Whether a message carries the empty delimiter frame before its command frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Envelope {
    /// No delimiter: DEALER to ROUTER (and DEALER to DEALER).
    Bare,
    /// One empty frame first: ROUTER to DEALER.
    Delimited,
}

/// Splits off one leading empty delimiter frame, if there is one.
pub fn split_envelope(frames: &[Bytes]) -> (Envelope, &[Bytes]) {
    match frames.split_first() {
        Some((first, rest)) if first.is_empty() => (Envelope::Delimited, rest),
        _ => (Envelope::Bare, frames),
    }
}

/// A payload (PUBLISH data, relayed data, push-pull state) may not exceed
/// [`Limits::max_message_size`].
pub(crate) fn check_payload(
    payload: &Bytes,
    what: &'static str,
    limits: &Limits,
) -> Result<(), DecodeError> {
    let size = payload.len() as u64;
    if size > limits.max_message_size {
        return Err(DecodeError::TooLarge { what, size, limit: limits.max_message_size });
    }
    Ok(())
}
