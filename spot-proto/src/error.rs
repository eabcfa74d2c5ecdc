//! Error types.
//!
//! * [`DecodeError`]: bytes that are not a valid frame, command or datagram. These never reach the
//!   application as an error: the link closes or the datagram is dropped, and a counter goes up.
//! * [`NodeError`]: misuse of the API (a topic that exists already, an unknown peer, ...). Every
//!   variant maps to the POSIX-style [`Errno`] the original C API returned.

use crate::endpoint::EndpointParseError;

/// Why bytes could not be decoded. Grouped by wire family; new variants may be added.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    // ---- common to every family ----
    /// The input ended before a complete item.
    #[error("truncated {what}: needed {needed} bytes, had {available}")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// Bytes the item needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A declared size is above the configured limit.
    #[error("{what} of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Declared size.
        size: u64,
        /// Configured limit.
        limit: u64,
    },
    /// Bytes remain after a complete item that must fill its container.
    #[error("{extra} trailing bytes after {what}")]
    TrailingBytes {
        /// What was decoded.
        what: &'static str,
        /// Bytes left over.
        extra: usize,
    },
    /// A field that must be UTF-8 is not.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field.
        what: &'static str,
    },
    /// A field holds a value outside its range.
    #[error("invalid {what}: {value}")]
    InvalidValue {
        /// The field.
        what: &'static str,
        /// The offending value.
        value: u64,
    },

    // ---- ZMTP (wire::zmtp, link) ----
    /// The greeting does not start with 0xFF and end its signature with a 0x7F-style byte.
    #[error("not a ZMTP greeting signature")]
    BadSignature,
    /// The peer's ZMTP major version is below 3.
    #[error("unsupported ZMTP major version {major}")]
    UnsupportedVersion {
        /// Major version the peer announced.
        major: u8,
    },
    /// The peer's security mechanism is not NULL.
    #[error("unsupported security mechanism {mechanism:?}")]
    UnsupportedMechanism {
        /// The mechanism name, lossily decoded.
        mechanism: String,
    },
    /// A command frame had the MORE flag or a malformed name.
    #[error("malformed ZMTP command: {reason}")]
    MalformedCommand {
        /// What is wrong.
        reason: &'static str,
    },
    /// A READY/metadata property list is malformed.
    #[error("malformed property list: {reason}")]
    MalformedProperties {
        /// What is wrong.
        reason: &'static str,
    },
    /// The peer's socket type is unknown or not a valid partner for ours.
    #[error("incompatible socket type {socket_type:?}")]
    IncompatibleSocketType {
        /// The peer's `Socket-Type` value, lossily decoded.
        socket_type: String,
    },
    /// A message or command arrived where the handshake allows none (e.g. data before READY).
    #[error("unexpected {what} during the handshake")]
    UnexpectedDuringHandshake {
        /// What arrived.
        what: &'static str,
    },
    /// A message has more frames than the configured limit.
    #[error("message has more than {limit} frames")]
    TooManyFrames {
        /// Configured limit.
        limit: usize,
    },
    /// A READY command carries no `Socket-Type` property (RFC 23 makes it mandatory, and a
    /// listener cannot pick its answering socket type without it).
    #[error("READY without a Socket-Type property")]
    MissingSocketType,

    // ---- SPOT commands (wire::spot) ----
    /// A SPOT message with no frames, or an empty command frame.
    #[error("empty SPOT message")]
    EmptyMessage,
    /// A SPOT command has the wrong number of frames.
    #[error("SPOT command 0x{code:02x} has {got} frames, expected {expected}")]
    FrameCount {
        /// Command code.
        code: u8,
        /// Frames expected after the command byte.
        expected: usize,
        /// Frames present after the command byte.
        got: usize,
    },
    /// The command frame of a SPOT message is not exactly one byte long.
    #[error("SPOT command frame has {len} bytes, expected 1")]
    BadCommandFrame {
        /// Length of the frame where the one-byte command code belongs.
        len: usize,
    },
    /// A field that must not be empty (topic, pattern, node id, endpoint, tag key) is empty.
    #[error("empty {what}")]
    EmptyField {
        /// The field.
        what: &'static str,
    },
    /// An endpoint carried in a SPOT command does not parse.
    #[error("invalid endpoint in a SPOT command: {0}")]
    InvalidEndpoint(#[source] EndpointParseError),

    // ---- SWIM datagrams (wire::swim) ----
    /// The datagram does not start with the SWIM magic.
    #[error("not a SWIM datagram (bad magic)")]
    BadMagic,
    /// The datagram's format version is not one we speak.
    #[error("unsupported SWIM datagram version {version}")]
    UnsupportedSwimVersion {
        /// Version byte.
        version: u8,
    },
    /// The datagram belongs to another cluster.
    #[error("datagram from another cluster")]
    ClusterMismatch,
    /// The datagram is encrypted and no matching key is configured, or authentication failed.
    #[error("cannot authenticate datagram (key id {key_id})")]
    Unauthenticated {
        /// Key id the datagram names.
        key_id: u8,
    },
}

/// The POSIX-style error codes of the original C API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Errno {
    /// Already exists.
    EEXIST,
    /// No such entry.
    ENOENT,
    /// No route to the host / peer unreachable.
    EHOSTUNREACH,
    /// Try again: the operation would block.
    EAGAIN,
    /// The deadline passed.
    ETIMEDOUT,
    /// Invalid argument.
    EINVAL,
    /// Protocol error.
    EPROTO,
    /// The endpoint has shut down.
    ESHUTDOWN,
}

impl Errno {
    /// The Linux numeric value.
    pub const fn raw(self) -> i32 {
        match self {
            Errno::EEXIST => 17,
            Errno::ENOENT => 2,
            Errno::EHOSTUNREACH => 113,
            Errno::EAGAIN => 11,
            Errno::ETIMEDOUT => 110,
            Errno::EINVAL => 22,
            Errno::EPROTO => 71,
            Errno::ESHUTDOWN => 108,
        }
    }

    /// The symbolic name, e.g. `"EEXIST"`.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EEXIST => "EEXIST",
            Errno::ENOENT => "ENOENT",
            Errno::EHOSTUNREACH => "EHOSTUNREACH",
            Errno::EAGAIN => "EAGAIN",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::EINVAL => "EINVAL",
            Errno::EPROTO => "EPROTO",
            Errno::ESHUTDOWN => "ESHUTDOWN",
        }
    }
}

/// Misuse of the node API. Each variant documents its [`Errno`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The topic exists already (EEXIST).
    #[error("topic {0:?} exists already")]
    TopicExists(String),
    /// No such topic (ENOENT).
    #[error("topic {0:?} not found")]
    TopicNotFound(String),
    /// The topic is owned by another node; only its owner can destroy it (EINVAL).
    #[error("topic {0:?} is remote")]
    TopicIsRemote(String),
    /// Not subscribed to this topic or pattern (ENOENT).
    #[error("not subscribed to {0:?}")]
    NotSubscribed(String),
    /// The subscription or pattern exists already (EEXIST).
    #[error("already subscribed to {0:?}")]
    AlreadySubscribed(String),
    /// The peer was added already (EEXIST).
    #[error("peer {0} exists already")]
    PeerExists(String),
    /// No such peer (ENOENT).
    #[error("peer {0} not found")]
    PeerNotFound(String),
    /// No connection to the peer could be established by the deadline (EHOSTUNREACH).
    #[error("host {0} unreachable")]
    HostUnreachable(String),
    /// The operation would block, e.g. the high-water mark is reached in no-drop mode (EAGAIN).
    #[error("operation would block")]
    WouldBlock,
    /// The deadline passed (ETIMEDOUT).
    #[error("timed out")]
    Timeout,
    /// The endpoint is bound already (EEXIST).
    #[error("endpoint {0} is bound already")]
    AlreadyBound(String),
    /// The node has joined a cluster already (EEXIST).
    #[error("already joined")]
    AlreadyJoined,
    /// The node has not joined a cluster (EINVAL).
    #[error("not joined")]
    NotJoined,
    /// No seed answered within the bootstrap timeout (EHOSTUNREACH).
    #[error("no seed answered within the bootstrap timeout")]
    NoSeedReachable,
    /// The endpoint string is invalid (EINVAL).
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(#[from] EndpointParseError),
    /// The topic name is empty, too long or not UTF-8 (EINVAL).
    #[error("invalid topic {0:?}")]
    InvalidTopic(String),
    /// A pattern is not valid glob syntax or is too long (EINVAL).
    #[error("invalid pattern {0:?}")]
    InvalidPattern(String),
    /// A tag key or value is too long or the tag set exceeds its size bound (EINVAL).
    #[error("invalid tag: {0}")]
    InvalidTag(String),
    /// No tag with this key (ENOENT).
    #[error("tag {0:?} not found")]
    TagNotFound(String),
    /// An argument is out of range (EINVAL).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The node (or its driver) has shut down (ESHUTDOWN).
    #[error("the node has shut down")]
    Shutdown,
    /// The peer broke the protocol (EPROTO).
    #[error("protocol error: {0}")]
    Protocol(#[from] DecodeError),
}

impl NodeError {
    /// The POSIX-style code of the original C API for this error.
    pub fn errno(&self) -> Errno {
        match self {
            NodeError::TopicExists(_)
            | NodeError::AlreadySubscribed(_)
            | NodeError::PeerExists(_)
            | NodeError::AlreadyBound(_)
            | NodeError::AlreadyJoined => Errno::EEXIST,
            NodeError::TopicNotFound(_)
            | NodeError::NotSubscribed(_)
            | NodeError::PeerNotFound(_)
            | NodeError::TagNotFound(_) => Errno::ENOENT,
            NodeError::HostUnreachable(_) | NodeError::NoSeedReachable => Errno::EHOSTUNREACH,
            NodeError::WouldBlock => Errno::EAGAIN,
            NodeError::Timeout => Errno::ETIMEDOUT,
            NodeError::TopicIsRemote(_)
            | NodeError::NotJoined
            | NodeError::InvalidEndpoint(_)
            | NodeError::InvalidTopic(_)
            | NodeError::InvalidPattern(_)
            | NodeError::InvalidTag(_)
            | NodeError::InvalidArgument(_) => Errno::EINVAL,
            NodeError::Protocol(_) => Errno::EPROTO,
            NodeError::Shutdown => Errno::ESHUTDOWN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping_matches_the_c_api() {
        assert_eq!(NodeError::TopicExists("t".into()).errno(), Errno::EEXIST);
        assert_eq!(NodeError::TopicNotFound("t".into()).errno(), Errno::ENOENT);
        assert_eq!(NodeError::HostUnreachable("x".into()).errno().raw(), 113);
        assert_eq!(NodeError::WouldBlock.errno().name(), "EAGAIN");
        assert_eq!(NodeError::Timeout.errno().raw(), 110);
        assert_eq!(NodeError::Protocol(DecodeError::BadMagic).errno(), Errno::EPROTO);
    }
}
