//! Who a SPOT peer is: the `X-Spot` READY property and the HELLO / HELLO_ACK body.

use bytes::{BufMut, Bytes, BytesMut};

use super::code::{Capabilities, PROTOCOL_VERSION};
use super::fields::NodeId;
use super::layout::{Reader, put_endpoint, put_node_id};
use crate::endpoint::Endpoint;
use crate::{DecodeError, Limits};

/// Name of the ZMTP READY property by which SPOT nodes (and SPOT-aware clients) recognise each
/// other. A peer without it is a plain ZeroMQ peer and is sent base commands only.
pub const X_SPOT_PROPERTY: &str = "X-Spot";

fn check_version(version: u16) -> Result<u16, DecodeError> {
    if version == 0 {
        return Err(DecodeError::InvalidValue { what: "SPOT protocol version", value: 0 });
    }
    Ok(version)
}

/// The value of the `X-Spot` READY property: protocol version, node id, capability bits.
///
/// Layout (little-endian): `version: u16`, `capabilities: u64`, `node id length: u8`,
/// `node id`. Bytes after the node id are ignored: later versions append fields there, and an
/// older node must still recognise a newer one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpotAnnouncement {
    /// Highest SPOT protocol version the sender speaks (at least 1).
    pub version: u16,
    /// The sender's node id (a client such as the CLI uses an id of its own).
    pub node_id: NodeId,
    /// What the sender understands; see [`Capabilities`].
    pub capabilities: Capabilities,
}

impl SpotAnnouncement {
    /// An announcement of this crate's [`PROTOCOL_VERSION`].
    pub fn new(node_id: NodeId, capabilities: Capabilities) -> Self {
        SpotAnnouncement { version: PROTOCOL_VERSION, node_id, capabilities }
    }

    /// The property value.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(2 + 8 + 1 + self.node_id.len());
        buf.put_u16_le(self.version);
        buf.put_u64_le(self.capabilities.bits());
        put_node_id(&mut buf, &self.node_id);
        buf.freeze()
    }

    /// Parses a property value. The node id shares `value`'s buffer.
    pub fn decode(value: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(value, "X-Spot property");
        let version = check_version(reader.u16("X-Spot version")?)?;
        let capabilities = Capabilities::from_bits(reader.u64("X-Spot capabilities")?);
        let node_id = reader.node_id(limits)?;
        // Trailing bytes are fields of a later version: ignored on purpose.
        Ok(SpotAnnouncement { version, node_id, capabilities })
    }

    /// The version two peers speak: the lower of the two announced versions.
    pub fn negotiated_version(&self, ours: u16) -> u16 {
        self.version.min(ours)
    }
}

/// The body of HELLO (0x10) and HELLO_ACK (0x11): a node introduces itself on a connection and
/// names the endpoint it can be dialed at.
///
/// Layout (one frame, little-endian): `version: u16`, `capabilities: u64`, `node id length: u8`,
/// `node id`, `endpoint length: u16`, `endpoint` (UTF-8 text in `tcp://host:port` or
/// `inproc://name` form). Nothing may follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Highest SPOT protocol version the sender speaks (at least 1).
    pub version: u16,
    /// What the sender understands.
    pub capabilities: Capabilities,
    /// The sender's node id.
    pub node_id: NodeId,
    /// The endpoint the sender advertises (where others dial it).
    pub endpoint: Endpoint,
}

impl Hello {
    pub(crate) fn encode_frame(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(2 + 8 + 1 + self.node_id.len() + 2 + 32);
        buf.put_u16_le(self.version);
        buf.put_u64_le(self.capabilities.bits());
        put_node_id(&mut buf, &self.node_id);
        put_endpoint(&mut buf, &self.endpoint);
        buf.freeze()
    }

    pub(crate) fn decode_frame(frame: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(frame, "HELLO");
        let version = check_version(reader.u16("HELLO version")?)?;
        let capabilities = Capabilities::from_bits(reader.u64("HELLO capabilities")?);
        let node_id = reader.node_id(limits)?;
        let endpoint = reader.endpoint()?;
        reader.finish()?;
        Ok(Hello { version, capabilities, node_id, endpoint })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> NodeId {
        NodeId::copy_from_str(text, &Limits::default()).unwrap()
    }

    #[test]
    fn x_spot_exact_bytes() {
        let announcement = SpotAnnouncement::new(
            id("n1"),
            Capabilities::CLUSTER_NODE | Capabilities::DIRECTORY | Capabilities::MEMBER_LIST,
        );
        let value = announcement.encode();
        assert_eq!(&value[..], b"\x01\x00\x09\x01\x00\x00\x00\x00\x00\x00\x02n1");
        assert_eq!(SpotAnnouncement::decode(&value, &Limits::default()).unwrap(), announcement);
    }

    #[test]
    fn x_spot_ignores_appended_fields_but_not_truncation() {
        let limits = Limits::default();
        let announcement = SpotAnnouncement::new(id("node-b"), Capabilities::ALL_KNOWN);
        let mut longer = BytesMut::from(&announcement.encode()[..]);
        longer.put_slice(b"future fields");
        let longer = longer.freeze();
        assert_eq!(SpotAnnouncement::decode(&longer, &limits).unwrap(), announcement);

        let whole = announcement.encode();
        for cut in 0..whole.len() {
            assert!(
                matches!(
                    SpotAnnouncement::decode(&whole.slice(..cut), &limits),
                    Err(DecodeError::Truncated { .. } | DecodeError::EmptyField { .. })
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn x_spot_rejects_version_zero_and_negotiates_the_lower_version() {
        let value = Bytes::from_static(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01a");
        assert_eq!(
            SpotAnnouncement::decode(&value, &Limits::default()).unwrap_err(),
            DecodeError::InvalidValue { what: "SPOT protocol version", value: 0 }
        );
        let mut newer = SpotAnnouncement::new(id("a"), Capabilities::empty());
        newer.version = 7;
        assert_eq!(newer.negotiated_version(PROTOCOL_VERSION), PROTOCOL_VERSION);
    }

    #[test]
    fn hello_exact_bytes() {
        let hello = Hello {
            version: 1,
            capabilities: Capabilities::HELLO,
            node_id: id("a"),
            endpoint: "inproc://x".parse().unwrap(),
        };
        let frame = hello.encode_frame();
        assert_eq!(&frame[..], b"\x01\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01a\x0a\x00inproc://x");
        assert_eq!(Hello::decode_frame(&frame, &Limits::default()).unwrap(), hello);
        let mut longer = BytesMut::from(&frame[..]);
        longer.put_u8(0);
        assert_eq!(
            Hello::decode_frame(&longer.freeze(), &Limits::default()).unwrap_err(),
            DecodeError::TrailingBytes { what: "HELLO", extra: 1 }
        );
    }
}
