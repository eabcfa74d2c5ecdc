//! Validated field types carried by SPOT commands, and the little-endian reader and writer that
//! every body layout is built from.
//!
//! Each type wraps a [`Bytes`] that was checked once, when it was made. Decoded values are slices
//! of the received frames (no copy); encoding hands the same `Bytes` back out.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{Hash, Hasher};

use bytes::{BufMut, Bytes, BytesMut};

use crate::endpoint::{Endpoint, MAX_HOST_NAME_LEN, MAX_INPROC_NAME_LEN};
use crate::{DecodeError, Limits};

/// Longest topic or pattern any SPOT layout can carry (its length field is a `u16`), whatever
/// [`Limits::max_topic_len`] says.
pub const MAX_TOPIC_WIRE_LEN: usize = u16::MAX as usize;

/// Longest node id any SPOT layout can carry (its length field is a `u8`), whatever
/// [`Limits::max_member_id_len`] says.
pub const MAX_NODE_ID_LEN: usize = u8::MAX as usize;

/// Longest endpoint text accepted in a SPOT command: the longest string [`Endpoint`]'s parser
/// accepts (`tcp://` + a 253-byte host name + `:65535`, or `inproc://` + a 255-byte name).
pub const MAX_ENDPOINT_TEXT_LEN: usize = {
    let tcp = "tcp://".len() + MAX_HOST_NAME_LEN + ":65535".len();
    let inproc = "inproc://".len() + MAX_INPROC_NAME_LEN;
    if tcp > inproc { tcp } else { inproc }
};

/// Longest tag key (its length field is a `u8`).
pub const MAX_TAG_KEY_LEN: usize = u8::MAX as usize;

/// Longest tag value (its length field is a `u16`).
pub const MAX_TAG_VALUE_LEN: usize = u16::MAX as usize;

// ---------------------------------------------------------------------------------------------
// Utf8Bytes
// ---------------------------------------------------------------------------------------------

/// A [`Bytes`] known to hold valid UTF-8. Cloning it is a reference-count increment.
///
/// Equality, ordering and hashing are those of the bytes, so a map keyed by it can be searched
/// with a `&[u8]` ([`Borrow<[u8]>`]).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Checks that `bytes` is UTF-8; `what` names the field in the error.
    pub fn new(bytes: Bytes, what: &'static str) -> Result<Self, DecodeError> {
        match core::str::from_utf8(&bytes) {
            Ok(_) => Ok(Utf8Bytes(bytes)),
            Err(_) => Err(DecodeError::InvalidUtf8 { what }),
        }
    }

    /// Wraps a static string (no copy).
    pub const fn from_static(text: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(text.as_bytes()))
    }

    /// Copies a string into a new buffer.
    pub fn copy_from_str(text: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(text.as_bytes()))
    }

    /// The text. The bytes were validated when this value was made; this re-checks them (a fast,
    /// length-proportional scan) because the crate forbids `unsafe`.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The raw bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Hash for Utf8Bytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_ref().hash(state);
    }
}

impl Borrow<[u8]> for Utf8Bytes {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Validates a non-empty UTF-8 name of at most `limit` bytes.
fn checked_name(bytes: Bytes, limit: usize, what: &'static str) -> Result<Utf8Bytes, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::EmptyField { what });
    }
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge { what, size: bytes.len() as u64, limit: limit as u64 });
    }
    Utf8Bytes::new(bytes, what)
}

// ---------------------------------------------------------------------------------------------
// Topic and Pattern
// ---------------------------------------------------------------------------------------------

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Utf8Bytes);

        impl $name {
            /// Validates `bytes`: not empty, UTF-8, at most `limits.max_topic_len` bytes (and never
            /// more than [`MAX_TOPIC_WIRE_LEN`]). The result shares `bytes` (no copy).
            pub fn new(bytes: Bytes, limits: &Limits) -> Result<Self, DecodeError> {
                let limit = limits.max_topic_len.min(MAX_TOPIC_WIRE_LEN);
                checked_name(bytes, limit, $what).map($name)
            }

            /// Validates and copies a string (see [`Self::new`]).
            pub fn copy_from_str(text: &str, limits: &Limits) -> Result<Self, DecodeError> {
                Self::new(Bytes::copy_from_slice(text.as_bytes()), limits)
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The name's bytes (a slice of the frame it was decoded from).
            pub fn as_bytes(&self) -> &Bytes {
                self.0.as_bytes()
            }

            /// The name's bytes, by value.
            pub fn into_bytes(self) -> Bytes {
                self.0.into_bytes()
            }

            /// Length in bytes (never zero).
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Always false: the name is never empty. Present for API symmetry.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl Borrow<[u8]> for $name {
            fn borrow(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

name_type!(
    /// A topic name: non-empty UTF-8, bounded by [`Limits::max_topic_len`].
    ///
    /// Decoding a command stores the topic as a slice of the received frame, so the PUBLISH path
    /// never copies or allocates it.
    Topic,
    "topic"
);

name_type!(
    /// A pattern of a pattern subscription (e.g. `chat:*`): non-empty UTF-8, bounded by
    /// [`Limits::max_topic_len`]. The wire does not interpret the glob syntax; the pub/sub layer
    /// does.
    Pattern,
    "pattern"
);

// ---------------------------------------------------------------------------------------------
// NodeId
// ---------------------------------------------------------------------------------------------

/// A node's identity as SPOT commands carry it: the SWIM member id bytes, 1 to 255 bytes long and
/// bounded by [`Limits::max_member_id_len`]. Opaque on the wire; usually the UTF-8 text of the
/// node's advertised endpoint.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(Bytes);

impl NodeId {
    /// Validates `bytes`: not empty, at most `limits.max_member_id_len` bytes (and never more than
    /// [`MAX_NODE_ID_LEN`]). The result shares `bytes`.
    pub fn new(bytes: Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let limit = limits.max_member_id_len.min(MAX_NODE_ID_LEN);
        if bytes.is_empty() {
            return Err(DecodeError::EmptyField { what: "node id" });
        }
        if bytes.len() > limit {
            return Err(DecodeError::TooLarge {
                what: "node id",
                size: bytes.len() as u64,
                limit: limit as u64,
            });
        }
        Ok(NodeId(bytes))
    }

    /// Validates and copies a string (see [`Self::new`]).
    pub fn copy_from_str(text: &str, limits: &Limits) -> Result<Self, DecodeError> {
        Self::new(Bytes::copy_from_slice(text.as_bytes()), limits)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The id as text, when it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.0).ok()
    }

    /// Length in bytes (1 to 255).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: an id is never empty. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Borrow<[u8]> for NodeId {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// UTF-8 ids print as text; others print as `0x` and lowercase hex.
impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => f.write_str(text),
            None => {
                f.write_str("0x")?;
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

// ---------------------------------------------------------------------------------------------
// Tag
// ---------------------------------------------------------------------------------------------

/// One member tag: a non-empty UTF-8 key of at most 255 bytes and a UTF-8 value of at most
/// 65535 bytes. The whole tag set of a member is also bounded by [`Limits::max_tags_size`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    key: Utf8Bytes,
    value: Utf8Bytes,
}

impl Tag {
    /// Validates a key and a value.
    pub fn new(key: Utf8Bytes, value: Utf8Bytes) -> Result<Self, DecodeError> {
        if key.is_empty() {
            return Err(DecodeError::EmptyField { what: "tag key" });
        }
        if key.len() > MAX_TAG_KEY_LEN {
            return Err(DecodeError::TooLarge {
                what: "tag key",
                size: key.len() as u64,
                limit: MAX_TAG_KEY_LEN as u64,
            });
        }
        if value.len() > MAX_TAG_VALUE_LEN {
            return Err(DecodeError::TooLarge {
                what: "tag value",
                size: value.len() as u64,
                limit: MAX_TAG_VALUE_LEN as u64,
            });
        }
        Ok(Tag { key, value })
    }

    /// Validates and copies a key and a value.
    pub fn copy_from_strs(key: &str, value: &str) -> Result<Self, DecodeError> {
        Tag::new(Utf8Bytes::copy_from_str(key), Utf8Bytes::copy_from_str(value))
    }

    /// The key.
    pub fn key(&self) -> &Utf8Bytes {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &Utf8Bytes {
        &self.value
    }

    /// Bytes this tag takes in a tag block: key length (1), key, value length (2), value.
    pub fn encoded_len(&self) -> usize {
        1 + self.key.len() + 2 + self.value.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Reader and writer
// ---------------------------------------------------------------------------------------------

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

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn topic_validation() {
        let l = limits();
        assert_eq!(Topic::copy_from_str("chat:1", &l).unwrap().as_str(), "chat:1");
        assert_eq!(
            Topic::new(Bytes::new(), &l).unwrap_err(),
            DecodeError::EmptyField { what: "topic" }
        );
        assert_eq!(
            Topic::new(Bytes::from_static(b"\xff\xfe"), &l).unwrap_err(),
            DecodeError::InvalidUtf8 { what: "topic" }
        );
        let long = "x".repeat(l.max_topic_len + 1);
        assert!(matches!(
            Topic::copy_from_str(&long, &l),
            Err(DecodeError::TooLarge { what: "topic", .. })
        ));
        let exact = "x".repeat(l.max_topic_len);
        assert!(Topic::copy_from_str(&exact, &l).is_ok());
        let huge = Limits { max_topic_len: usize::MAX, ..Limits::default() };
        let over_wire = "y".repeat(MAX_TOPIC_WIRE_LEN + 1);
        assert!(Topic::copy_from_str(&over_wire, &huge).is_err(), "u16 cap holds");
    }

    #[test]
    fn node_id_validation_and_display() {
        let l = limits();
        let id = NodeId::copy_from_str("tcp://10.0.0.1:5555", &l).unwrap();
        assert_eq!(id.to_string(), "tcp://10.0.0.1:5555");
        let raw = NodeId::new(Bytes::from_static(&[0xff, 0x01]), &l).unwrap();
        assert_eq!(raw.to_string(), "0xff01");
        assert!(NodeId::new(Bytes::new(), &l).is_err());
        assert!(NodeId::new(Bytes::from(vec![b'a'; 256]), &l).is_err());
        let small = Limits { max_member_id_len: 4, ..Limits::default() };
        assert!(NodeId::copy_from_str("abcde", &small).is_err());
    }

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

    #[test]
    fn tag_bounds() {
        assert!(Tag::copy_from_strs("", "v").is_err());
        assert!(Tag::copy_from_strs(&"k".repeat(256), "v").is_err());
        let tag = Tag::copy_from_strs("zone", "eu-1").unwrap();
        assert_eq!(tag.encoded_len(), 1 + 4 + 2 + 4);
        assert_eq!(tag.key().as_str(), "zone");
    }
}
