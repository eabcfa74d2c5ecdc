//! What a [`super::Link`] reports: events, close reasons, send results.

use core::fmt;

use bytes::Bytes;

use crate::error::{DecodeError, NodeError};
use crate::wire::zmtp::{
    Greeting, Message, Properties, SocketType, Subscription, SubscriptionForm, X_SPOT, ZmtpVersion,
};

/// Who the peer turned out to be, from its greeting and READY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's `Socket-Type`.
    pub socket_type: SocketType,
    /// The socket type we announced (the dialer's configured one, or the listener's answer).
    pub our_socket_type: SocketType,
    /// The revision spoken with the peer (3.0 only if it announced exactly 3.0).
    pub version: ZmtpVersion,
    /// The peer's greeting as received (major, minor, mechanism).
    pub greeting: Greeting,
    /// Every READY property the peer sent, in order (including unknown ones).
    pub properties: Properties,
}

impl PeerInfo {
    /// The peer's `Identity` property, if it sent one.
    pub fn identity(&self) -> Option<&Bytes> {
        self.properties.identity()
    }

    /// The peer's `X-Spot` property: present only on SPOT nodes.
    pub fn x_spot(&self) -> Option<&Bytes> {
        self.properties.get(X_SPOT)
    }
}

/// An output of [`super::Link::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// Both READYs were exchanged; data may flow.
    HandshakeComplete(Box<PeerInfo>),
    /// A data message arrived (frames are zero-copy slices of the read buffers).
    Message(Message),
    /// The peer subscribed or cancelled, in either form. The 3.0 data form is recognised only
    /// from SUB/XSUB peers; the command form from anyone.
    Subscription {
        /// The change.
        change: Subscription,
        /// How it arrived.
        form: SubscriptionForm,
    },
    /// A PONG arrived (answering our PING).
    Pong {
        /// The echoed context.
        context: Bytes,
    },
    /// The link is closed; the driver should write what `poll_transmit` still returns (it may
    /// hold a final ERROR command or flushed data), then close the transport. Always the last
    /// event.
    Closed(CloseReason),
}

/// Why a link closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// [`super::Link::close`] was called.
    Local,
    /// The transport reported end of stream or an error.
    PeerClosed {
        /// Whether it happened before the handshake completed: treat as a handshake failure
        /// (real peers close instead of sending ERROR).
        during_handshake: bool,
    },
    /// The handshake did not complete in time.
    HandshakeTimeout,
    /// Nothing arrived within the heartbeat timeout after a PING.
    HeartbeatTimeout,
    /// The peer broke the protocol: bad greeting, broken framing, data or a command other than
    /// READY/ERROR during the handshake, a READY without a (known) socket type.
    Protocol(DecodeError),
    /// The peer's socket type cannot talk to ours.
    IncompatiblePeer {
        /// The peer's socket type.
        peer: SocketType,
    },
    /// We dialed as DEALER and found a publisher (PUB/XPUB: the C++ original or a pyzmq XPUB).
    /// Redial the endpoint as XSUB (with `Socket-Type` alone) to consume its messages.
    PeerIsPublisher {
        /// The peer's socket type.
        peer: SocketType,
    },
    /// The peer sent an ERROR command.
    PeerError {
        /// Its reason.
        reason: Bytes,
    },
}

impl CloseReason {
    /// Whether the handshake failed (timeout, peer gone, refused partner, protocol error
    /// before READY). Real peers do not reconnect quickly after such a failure.
    pub fn is_handshake_failure(&self) -> bool {
        match self {
            CloseReason::PeerClosed { during_handshake } => *during_handshake,
            CloseReason::HandshakeTimeout
            | CloseReason::IncompatiblePeer { .. }
            | CloseReason::PeerIsPublisher { .. } => true,
            CloseReason::Protocol(e) => matches!(
                e,
                DecodeError::BadSignature
                    | DecodeError::UnsupportedVersion { .. }
                    | DecodeError::UnsupportedMechanism { .. }
                    | DecodeError::UnexpectedDuringHandshake { .. }
                    | DecodeError::MissingSocketType
                    | DecodeError::IncompatibleSocketType { .. }
            ),
            CloseReason::Local | CloseReason::HeartbeatTimeout | CloseReason::PeerError { .. } => {
                false
            }
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Local => f.write_str("closed locally"),
            CloseReason::PeerClosed { during_handshake } => {
                if *during_handshake {
                    f.write_str("peer closed during the handshake")
                } else {
                    f.write_str("peer closed")
                }
            }
            CloseReason::HandshakeTimeout => f.write_str("handshake timed out"),
            CloseReason::HeartbeatTimeout => f.write_str("heartbeat timed out"),
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::IncompatiblePeer { peer } => write!(f, "incompatible peer {peer}"),
            CloseReason::PeerIsPublisher { peer } => write!(f, "peer is a publisher ({peer})"),
            CloseReason::PeerError { reason } => {
                write!(f, "peer sent ERROR {:?}", String::from_utf8_lossy(reason))
            }
        }
    }
}

/// Result of a successful [`super::Link::send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum SendOutcome {
    /// The message is queued.
    Queued,
    /// The data queue was at its high-water mark and the policy is
    /// [`super::HwmPolicy::DropNewest`]: the message was dropped and counted.
    Dropped,
}

/// Why an item was not queued; it is handed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError<T> {
    /// The queue is full (data high-water mark with [`super::HwmPolicy::WouldBlock`], or the
    /// control byte bound). Try again after draining `poll_transmit`.
    WouldBlock(T),
    /// The link is closed.
    Closed(T),
    /// This item cannot go on this link: an empty message, a READY command (the handshake owns
    /// it), or a command to a peer that announced ZMTP 3.0.
    Unsupported(T),
}

impl<T> SendError<T> {
    /// The item that was not queued.
    pub fn into_inner(self) -> T {
        match self {
            SendError::WouldBlock(t) | SendError::Closed(t) | SendError::Unsupported(t) => t,
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::WouldBlock(_) => "link queue full",
            SendError::Closed(_) => "link closed",
            SendError::Unsupported(_) => "not supported on this link",
        })
    }
}

impl<T: fmt::Debug> std::error::Error for SendError<T> {}

impl<T> From<SendError<T>> for NodeError {
    fn from(e: SendError<T>) -> NodeError {
        match e {
            SendError::WouldBlock(_) => NodeError::WouldBlock,
            SendError::Closed(_) => NodeError::HostUnreachable("link closed".into()),
            SendError::Unsupported(_) => {
                NodeError::InvalidArgument("not supported on this ZMTP link")
            }
        }
    }
}
