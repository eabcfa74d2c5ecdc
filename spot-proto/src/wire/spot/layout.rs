//! The little-endian reader and writer every SPOT body layout is built from (see
//! `docs/PROTOCOL.md`, section 1). Slices the reader hands out share the frame.

use bytes::{BufMut, Bytes, BytesMut};

use super::fields::{
    MAX_ENDPOINT_TEXT_LEN, MAX_NODE_ID_LEN, MAX_TOPIC_WIRE_LEN, NodeId, Topic, Utf8Bytes,
};
use crate::endpoint::Endpoint;
use crate::{DecodeError, Limits};

/// Reads little-endian fields from one frame; every slice it hands out shares the frame.
pub(crate) struct Reader<'a> {
    frame: &'a Bytes,
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `frame`; `what` names the frame in a trailing-bytes error.
    pub(crate) fn new(frame: &'a Bytes, what: &'static str) -> Self {
        Reader { frame, pos: 0, what }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.frame.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes as a shared slice.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<Bytes, DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(DecodeError::Truncated { what, needed: n, available });
        }
        let start = self.pos;
        self.pos += n;
        Ok(self.frame.slice(start..self.pos))
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let available = self.remaining();
        let end = self.pos.saturating_add(N);
        match self.frame.get(self.pos..end).and_then(|s| <[u8; N]>::try_from(s).ok()) {
            Some(array) => {
                self.pos = end;
                Ok(array)
            }
            None => Err(DecodeError::Truncated { what, needed: N, available }),
        }
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        self.array::<1>(what).map(|[b]| b)
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A node id: length (u8), bytes.
    pub(crate) fn node_id(&mut self, limits: &Limits) -> Result<NodeId, DecodeError> {
        let len = self.u8("node id length")?;
        NodeId::new(self.take(usize::from(len), "node id")?, limits)
    }

    /// An endpoint: length (u16), UTF-8 text that [`Endpoint`]'s parser accepts.
    pub(crate) fn endpoint(&mut self) -> Result<Endpoint, DecodeError> {
        let len = usize::from(self.u16("endpoint length")?);
        if len == 0 {
            return Err(DecodeError::EmptyField { what: "endpoint" });
        }
        if len > MAX_ENDPOINT_TEXT_LEN {
            return Err(DecodeError::TooLarge {
                what: "endpoint",
                size: len as u64,
                limit: MAX_ENDPOINT_TEXT_LEN as u64,
            });
        }
        let text = Utf8Bytes::new(self.take(len, "endpoint")?, "endpoint")?;
        text.as_str().parse().map_err(DecodeError::InvalidEndpoint)
    }

    /// A topic: length (u16), bytes.
    pub(crate) fn topic(&mut self, limits: &Limits) -> Result<Topic, DecodeError> {
        let len = self.u16("topic length")?;
        Topic::new(self.take(usize::from(len), "topic")?, limits)
    }

    /// A `u32` element count, checked against `limit` and against the bytes left (each element
    /// takes at least `min_element_len` bytes), so a hostile count cannot make us allocate.
    pub(crate) fn count(
        &mut self,
        what: &'static str,
        limit: usize,
        min_element_len: usize,
    ) -> Result<usize, DecodeError> {
        let count = self.u32(what)?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > limit {
            return Err(DecodeError::TooLarge { what, size: count as u64, limit: limit as u64 });
        }
        let needed = count.saturating_mul(min_element_len.max(1));
        if needed > self.remaining() {
            return Err(DecodeError::Truncated { what, needed, available: self.remaining() });
        }
        Ok(count)
    }

    /// Fails when bytes are left over.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { what: self.what, extra }),
        }
    }
}

/// Writes a node id: length (u8), bytes. A [`NodeId`] is never longer than 255 bytes.
pub(crate) fn put_node_id(buf: &mut BytesMut, id: &NodeId) {
    let len = id.len().min(MAX_NODE_ID_LEN);
    buf.put_u8(len as u8);
    buf.put_slice(&id.as_bytes()[..len]);
}

/// Writes an endpoint: length (u16), text. An endpoint whose text is longer than any parseable
/// endpoint (only possible for a hand-built, unvalidated [`Endpoint`]) is written as empty, which
/// every receiver rejects as malformed.
pub(crate) fn put_endpoint(buf: &mut BytesMut, endpoint: &Endpoint) {
    let text = endpoint.to_string();
    if text.len() > MAX_ENDPOINT_TEXT_LEN {
        buf.put_u16_le(0);
    } else {
        buf.put_u16_le(text.len() as u16);
        buf.put_slice(text.as_bytes());
    }
}

/// Writes a topic: length (u16), bytes. A [`Topic`] is never longer than 65535 bytes.
pub(crate) fn put_topic(buf: &mut BytesMut, topic: &Topic) {
    let len = topic.len().min(MAX_TOPIC_WIRE_LEN);
    buf.put_u16_le(len as u16);
    buf.put_slice(&topic.as_bytes()[..len]);
}

/// Writes a `u32` count and returns it: lists longer than `u32::MAX` entries (more than any
/// receiver accepts) are cut to that many.
pub(crate) fn put_count(buf: &mut BytesMut, len: usize) -> usize {
    let count = u32::try_from(len).unwrap_or(u32::MAX);
    buf.put_u32_le(count);
    count as usize
}

/// One frame holding a single `u32`, little-endian.
pub(crate) fn u32_frame(value: u32) -> Bytes {
    Bytes::copy_from_slice(&value.to_le_bytes())
}

/// Checks that a frame is exactly a little-endian `u32`.
pub(crate) fn read_u32_frame(frame: &Bytes, what: &'static str) -> Result<u32, DecodeError> {
    let mut reader = Reader::new(frame, what);
    let value = reader.u32(what)?;
    reader.finish()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::MAX_HOST_NAME_LEN;

    #[test]
    fn reader_reports_truncation_and_trailing_bytes() {
        let frame = Bytes::from_static(&[1, 2, 3]);
        let mut r = Reader::new(&frame, "test frame");
        assert_eq!(r.u16("a").unwrap(), 0x0201);
        assert_eq!(
            r.u32("b").unwrap_err(),
            DecodeError::Truncated { what: "b", needed: 4, available: 1 }
        );
        assert_eq!(
            r.finish().unwrap_err(),
            DecodeError::TrailingBytes { what: "test frame", extra: 1 }
        );
    }
    #[test]
    fn hostile_count_is_refused_before_allocation() {
        let frame = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0, 0]);
        let mut r = Reader::new(&frame, "list");
        assert!(matches!(r.count("entries", usize::MAX, 1), Err(DecodeError::Truncated { .. })));
        let mut r = Reader::new(&frame, "list");
        assert!(matches!(r.count("entries", 10, 1), Err(DecodeError::TooLarge { .. })));
    }
    #[test]
    fn endpoint_round_trip_and_errors() {
        let mut buf = BytesMut::new();
        let e: Endpoint = "tcp://node-a.example:7000".parse().unwrap();
        put_endpoint(&mut buf, &e);
        let frame = buf.freeze();
        assert_eq!(&frame[..2], &[25, 0]);
        let mut r = Reader::new(&frame, "endpoint");
        assert_eq!(r.endpoint().unwrap(), e);
        r.finish().unwrap();

        let bad = Bytes::from_static(b"\x05\x00udp:/");
        assert!(matches!(Reader::new(&bad, "e").endpoint(), Err(DecodeError::InvalidEndpoint(_))));
        let long = Endpoint::Inproc("n".repeat(MAX_ENDPOINT_TEXT_LEN));
        let mut buf = BytesMut::new();
        put_endpoint(&mut buf, &long);
        let frame = buf.freeze();
        assert_eq!(
            Reader::new(&frame, "e").endpoint().unwrap_err(),
            DecodeError::EmptyField { what: "endpoint" }
        );
    }
    #[test]
    fn max_endpoint_text_len_covers_the_longest_parseable_endpoint() {
        let host =
            format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
        assert_eq!(host.len(), MAX_HOST_NAME_LEN);
        let text = format!("tcp://{host}:65535");
        assert!(text.parse::<Endpoint>().is_ok());
        assert_eq!(text.len(), MAX_ENDPOINT_TEXT_LEN);
    }
}
