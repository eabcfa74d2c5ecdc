//! Validated field types carried by SPOT commands.
//!
//! Each type wraps a [`Bytes`] that was checked once, when it was made. Decoded values are slices
//! of the received frames (no copy); encoding hands the same `Bytes` back out.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{Hash, Hasher};

use bytes::Bytes;

use crate::endpoint::{MAX_HOST_NAME_LEN, MAX_INPROC_NAME_LEN};
use crate::{DecodeError, Limits};

/// Longest topic or pattern any SPOT layout can carry (its length field is a `u16`), whatever
/// [`Limits::max_topic_len`] says.
pub const MAX_TOPIC_WIRE_LEN: usize = u16::MAX as usize;

/// Longest node id any SPOT layout can carry (its length field is a `u8`), whatever
/// [`Limits::max_member_id_len`] says.
pub const MAX_NODE_ID_LEN: usize = u8::MAX as usize;

/// Longest endpoint text accepted in a SPOT command: the longest string [`crate::Endpoint`]'s parser
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

        impl AsRef<[u8]> for $name {
            /// The name's bytes (checked as UTF-8 when the value was made, not again here).
            fn as_ref(&self) -> &[u8] {
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
    fn tag_bounds() {
        assert!(Tag::copy_from_strs("", "v").is_err());
        assert!(Tag::copy_from_strs(&"k".repeat(256), "v").is_err());
        let tag = Tag::copy_from_strs("zone", "eu-1").unwrap();
        assert_eq!(tag.encoded_len(), 1 + 4 + 2 + 4);
        assert_eq!(tag.key().as_str(), "zone");
    }
}
