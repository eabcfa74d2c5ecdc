//! RELAYED_PUBLISH: a publish forwarded between nodes, with its origin, hop count and sequence.

use bytes::{BufMut, Bytes, BytesMut};

use super::fields::{NodeId, Topic};
use super::layout::{Reader, put_node_id};
use crate::{DecodeError, Limits};

/// RELAYED_PUBLISH (0x40): `[relay][topic][data]`.
///
/// The relay frame (little-endian) is `hops: u8`, `sequence: u64`, `origin length: u8`,
/// `origin`. The topic and data frames are those of PUBLISH. The fixed fields come first so the
/// frame decodes in constant time; decoding never copies the topic or the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayedPublish {
    /// The node where the message was first published.
    pub origin: NodeId,
    /// How many times it was forwarded before this hop (0 when the origin sends it).
    pub hops: u8,
    /// The origin's sequence number for this message (per origin; lets a receiver drop
    /// duplicates and see gaps).
    pub sequence: u64,
    /// The topic.
    pub topic: Topic,
    /// The payload, as published.
    pub data: Bytes,
}

impl RelayedPublish {
    pub(crate) fn encode_header(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(1 + 8 + 1 + self.origin.len());
        buf.put_u8(self.hops);
        buf.put_u64_le(self.sequence);
        put_node_id(&mut buf, &self.origin);
        buf.freeze()
    }

    pub(crate) fn decode_frames(
        header: &Bytes,
        topic: &Bytes,
        data: &Bytes,
        limits: &Limits,
    ) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(header, "RELAYED_PUBLISH header");
        let hops = reader.u8("RELAYED_PUBLISH hops")?;
        let sequence = reader.u64("RELAYED_PUBLISH sequence")?;
        let origin = reader.node_id(limits)?;
        reader.finish()?;
        let topic = Topic::new(topic.clone(), limits)?;
        super::check_payload(data, "RELAYED_PUBLISH data", limits)?;
        Ok(RelayedPublish { origin, hops, sequence, topic, data: data.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_header_exact_bytes() {
        let limits = Limits::default();
        let relayed = RelayedPublish {
            origin: NodeId::copy_from_str("o", &limits).unwrap(),
            hops: 2,
            sequence: 0x0102_0304_0506_0708,
            topic: Topic::copy_from_str("t", &limits).unwrap(),
            data: Bytes::from_static(b"payload"),
        };
        let header = relayed.encode_header();
        assert_eq!(&header[..], b"\x02\x08\x07\x06\x05\x04\x03\x02\x01\x01o");
        let decoded = RelayedPublish::decode_frames(
            &header,
            relayed.topic.as_bytes(),
            &relayed.data,
            &limits,
        )
        .unwrap();
        assert_eq!(decoded, relayed);
    }
}
