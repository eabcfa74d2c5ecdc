//! [`LinkConfig`]: how one ZMTP connection behaves.

use core::time::Duration;

use bytes::Bytes;

use crate::limits::Limits;
use crate::wire::zmtp::{InvalidProperty, Properties, SocketType, ZmtpVersion};

/// Which end of the connection we are, and what we announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRole {
    /// We connected. We send READY as soon as the peer's greeting is complete, announcing
    /// `socket_type` (DEALER to a SPOT node, XSUB to a publisher).
    Dialer {
        /// Our socket type.
        socket_type: SocketType,
    },
    /// We accepted. We wait for the dialer's READY and answer as ROUTER to DEALER, ROUTER and
    /// REQ, and as XPUB to SUB and XSUB; any other peer is refused.
    Listener,
}

/// What [`super::Link::send`] does when the data queue is at its high-water mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HwmPolicy {
    /// Drop the new message and count it (ZeroMQ PUB/XPUB behaviour); `send` returns
    /// `Ok(SendOutcome::Dropped)`.
    #[default]
    DropNewest,
    /// Refuse the message: `send` returns `Err(SendError::WouldBlock(message))` (EAGAIN).
    WouldBlock,
}

/// Configuration of one [`super::Link`].
///
/// Build it with [`LinkConfig::dialer`] or [`LinkConfig::listener`] and the `with_*` methods;
/// fields are public for reading and tuning.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LinkConfig {
    /// Dialer (with our socket type) or listener.
    pub role: LinkRole,
    /// The ZMTP revision we announce in our greeting (default 3.1).
    pub version: ZmtpVersion,
    /// Our `Identity` READY property, sent when we are DEALER, ROUTER or REQ (default empty,
    /// which makes a libzmq ROUTER invent a routing id). At most 255 bytes by convention.
    pub identity: Bytes,
    /// Extra READY properties (e.g. [`crate::wire::zmtp::X_SPOT`]), sent after `Socket-Type`
    /// and `Identity` by a dialer, and by a listener answering as ROUTER. A listener answering
    /// as XPUB sends `Socket-Type` alone, byte for byte like libzmq and the C++ original.
    pub properties: Properties,
    /// Interval between our PINGs; `None` (the default) or zero disables heartbeats. PINGs go
    /// only to peers that announced ZMTP 3.1 or later.
    pub heartbeat_interval: Option<Duration>,
    /// How long after a PING with no incoming traffic the link closes; also the TTL our PING
    /// advertises. `None` means the interval (libzmq's default).
    pub heartbeat_timeout: Option<Duration>,
    /// Time from creation to a completed handshake (default 30 s, libzmq's).
    pub handshake_timeout: Duration,
    /// Data high-water mark in messages (default 1000, ZeroMQ's).
    pub data_hwm: usize,
    /// Safety cap on the payload bytes of queued data messages (default 64 MiB). A message is
    /// always accepted into an empty queue, whatever its size.
    pub data_hwm_bytes: usize,
    /// What happens at the high-water mark.
    pub hwm_policy: HwmPolicy,
    /// Bound on queued control traffic in bytes (default 16 MiB); beyond it control sends
    /// return `WouldBlock` and automatic PONGs are dropped and counted.
    pub control_queue_bytes: usize,
    /// Decoder limits (frame, message, frames per message, command sizes).
    pub limits: Limits,
    /// Target size of a coalesced transmit chunk (default 64 KiB).
    pub transmit_chunk_size: usize,
    /// Frame bodies of at least this many bytes are handed to the driver as their own zero-copy
    /// chunk instead of being copied into a coalesced chunk (default 4 KiB).
    pub zero_copy_threshold: usize,
}

impl LinkConfig {
    fn with_role(role: LinkRole) -> Self {
        LinkConfig {
            role,
            version: ZmtpVersion::V3_1,
            identity: Bytes::new(),
            properties: Properties::new(),
            heartbeat_interval: None,
            heartbeat_timeout: None,
            handshake_timeout: Duration::from_secs(30),
            data_hwm: 1000,
            data_hwm_bytes: 64 << 20,
            hwm_policy: HwmPolicy::DropNewest,
            control_queue_bytes: 16 << 20,
            limits: Limits::default(),
            transmit_chunk_size: 64 << 10,
            zero_copy_threshold: 4 << 10,
        }
    }

    /// A dialer announcing `socket_type`.
    pub fn dialer(socket_type: SocketType) -> Self {
        Self::with_role(LinkRole::Dialer { socket_type })
    }

    /// A listener (answers as ROUTER or XPUB depending on the dialer).
    pub fn listener() -> Self {
        Self::with_role(LinkRole::Listener)
    }

    /// Announce `version` in our greeting.
    pub fn with_version(mut self, version: ZmtpVersion) -> Self {
        self.version = version;
        self
    }

    /// Send `identity` as our `Identity` property (DEALER/ROUTER/REQ).
    pub fn with_identity(mut self, identity: impl Into<Bytes>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Add an extra READY property (e.g. `X-Spot`).
    pub fn with_property(
        mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<Self, InvalidProperty> {
        self.properties.push(name, value)?;
        Ok(self)
    }

    /// Ping every `interval`; close when nothing arrives within `timeout` after a PING.
    pub fn with_heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = Some(interval);
        self.heartbeat_timeout = Some(timeout);
        self
    }

    /// Close if the handshake is not complete `timeout` after creation.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Data high-water mark: `messages`, capped at `bytes` of payload, with `policy`.
    pub fn with_hwm(mut self, messages: usize, bytes: usize, policy: HwmPolicy) -> Self {
        self.data_hwm = messages;
        self.data_hwm_bytes = bytes;
        self.hwm_policy = policy;
        self
    }

    /// Decoder limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The effective heartbeat (interval, timeout), or `None` when disabled.
    pub fn heartbeat(&self) -> Option<(Duration, Duration)> {
        let interval = self.heartbeat_interval.filter(|i| !i.is_zero())?;
        Some((interval, self.heartbeat_timeout.unwrap_or(interval)))
    }
}
