//! READY (NULL mechanism handshake) and its property list.
//!
//! Property: `[name length: u8][name][value length: u32 BE][value]`. Properties are encoded in
//! insertion order; the link puts `Socket-Type` first, then `Identity`, then extras such as
//! `X-Spot`, the order both real peers use. Names are looked up ASCII case-insensitively.

use bytes::{Buf, BufMut, Bytes};

use super::command::{self, READY};
use super::socket_type::SocketType;
use crate::error::DecodeError;

/// The mandatory property naming the sender's socket type.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// The property carrying a DEALER/ROUTER routing identity (may be empty).
pub const IDENTITY: &str = "Identity";
/// The property by which SPOT nodes recognise each other (node id and protocol version).
pub const X_SPOT: &str = "X-Spot";

/// A property name or value that cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid READY property: {reason}")]
pub struct InvalidProperty {
    /// What is wrong.
    pub reason: &'static str,
}

/// An ordered list of READY properties. Values are zero-copy `Bytes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(Bytes, Bytes)>,
}

impl Properties {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a property. The name must be 1..=255 bytes and the value at most `u32::MAX`.
    pub fn push(
        &mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<(), InvalidProperty> {
        let name = name.into();
        let value = value.into();
        if name.is_empty() || name.len() > 255 {
            return Err(InvalidProperty { reason: "name must be 1 to 255 bytes" });
        }
        if u32::try_from(value.len()).is_err() {
            return Err(InvalidProperty { reason: "value longer than 4 GiB" });
        }
        self.entries.push((name, value));
        Ok(())
    }

    /// The value of the first property called `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.entries.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
    }

    /// Iterates over `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.entries.iter().map(|(n, v)| (n, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `Socket-Type` property, parsed: `MissingSocketType` if absent,
    /// `IncompatibleSocketType` if it names no known type.
    pub fn socket_type(&self) -> Result<SocketType, DecodeError> {
        let value = self.get(SOCKET_TYPE).ok_or(DecodeError::MissingSocketType)?;
        SocketType::from_name(value).ok_or_else(|| DecodeError::IncompatibleSocketType {
            socket_type: String::from_utf8_lossy(value).into_owned(),
        })
    }

    /// The `Identity` property, if present.
    pub fn identity(&self) -> Option<&Bytes> {
        self.get(IDENTITY)
    }

    /// Decodes a property list that fills `data` exactly (zero-copy).
    pub fn decode(data: Bytes) -> Result<Properties, DecodeError> {
        let mut rest = data;
        let mut entries = Vec::new();
        while !rest.is_empty() {
            let name_len = usize::from(rest[0]);
            if name_len == 0 {
                return Err(DecodeError::MalformedProperties { reason: "empty property name" });
            }
            if rest.len() < 1 + name_len + 4 {
                return Err(DecodeError::MalformedProperties {
                    reason: "property name or value length truncated",
                });
            }
            rest.advance(1);
            let name = rest.split_to(name_len);
            let value_len = rest.get_u32();
            let value_len = usize::try_from(value_len).unwrap_or(usize::MAX);
            if rest.len() < value_len {
                return Err(DecodeError::MalformedProperties {
                    reason: "property value truncated",
                });
            }
            let value = rest.split_to(value_len);
            entries.push((name, value));
        }
        Ok(Properties { entries })
    }

    /// Bytes of the encoded list.
    pub fn encoded_len(&self) -> usize {
        self.entries.iter().map(|(n, v)| 1 + n.len() + 4 + v.len()).sum()
    }

    /// Writes the encoded list.
    pub fn encode(&self, dst: &mut impl BufMut) {
        for (name, value) in &self.entries {
            // Lengths were validated by `push`; `decode` can only produce valid ones.
            dst.put_u8(name.len() as u8);
            dst.put_slice(name);
            dst.put_u32(value.len() as u32);
            dst.put_slice(value);
        }
    }
}

/// The READY command: the sender's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    properties: Properties,
}

impl Ready {
    /// READY with `Socket-Type` only (what PUB, SUB, XPUB and XSUB send).
    pub fn new(socket_type: SocketType) -> Self {
        let mut properties = Properties::new();
        // A static, short name: cannot fail.
        let _ = properties.push(SOCKET_TYPE, socket_type.as_str());
        Ready { properties }
    }

    /// READY with `Socket-Type` then `Identity` (what DEALER and ROUTER send; `identity` may be
    /// empty).
    pub fn with_identity(socket_type: SocketType, identity: Bytes) -> Self {
        let mut ready = Ready::new(socket_type);
        let _ = ready.properties.push(IDENTITY, identity);
        ready
    }

    /// READY carrying exactly `properties` (in their order).
    pub fn from_properties(properties: Properties) -> Self {
        Ready { properties }
    }

    /// Appends a property after those present.
    pub fn push_property(
        &mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<(), InvalidProperty> {
        self.properties.push(name, value)
    }

    /// The properties.
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// Consumes the command, returning its properties.
    pub fn into_properties(self) -> Properties {
        self.properties
    }

    /// The parsed `Socket-Type` (see [`Properties::socket_type`]).
    pub fn socket_type(&self) -> Result<SocketType, DecodeError> {
        self.properties.socket_type()
    }

    /// Decodes READY from its command data.
    pub fn decode(data: Bytes) -> Result<Ready, DecodeError> {
        Ok(Ready { properties: Properties::decode(data)? })
    }

    /// Bytes of the whole frame.
    pub fn encoded_len(&self) -> usize {
        command::frame_len(READY.len(), self.properties.encoded_len())
    }

    /// Writes the whole READY frame.
    pub fn encode(&self, dst: &mut impl BufMut) {
        command::put_header(READY, self.properties.encoded_len(), dst);
        self.properties.encode(dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::Command;
    use crate::wire::zmtp::test_hex::{hex, unhex};

    fn encode(ready: &Ready) -> String {
        let mut v = Vec::new();
        ready.encode(&mut v);
        assert_eq!(v.len(), ready.encoded_len());
        hex(&v)
    }

    #[test]
    fn ready_bytes_match_the_peers() {
        use SocketType::*;
        assert_eq!(
            encode(&Ready::new(XPub)),
            "041a0552454144590b536f636b65742d547970650000000458505542"
        );
        assert_eq!(
            encode(&Ready::new(XSub)),
            "041a0552454144590b536f636b65742d547970650000000458535542"
        );
        assert_eq!(
            encode(&Ready::new(Pub)),
            "04190552454144590b536f636b65742d5479706500000003505542"
        );
        assert_eq!(
            encode(&Ready::new(Sub)),
            "04190552454144590b536f636b65742d5479706500000003535542"
        );
        assert_eq!(
            encode(&Ready::with_identity(Router, Bytes::new())),
            "04290552454144590b536f636b65742d5479706500000006524f55544552084964656e7469747900000000"
        );
        assert_eq!(
            encode(&Ready::with_identity(Dealer, Bytes::new())),
            "04290552454144590b536f636b65742d54797065000000064445414c4552084964656e7469747900000000"
        );
        assert_eq!(
            encode(&Ready::with_identity(Dealer, Bytes::from_static(b"dealer-A"))),
            "04310552454144590b536f636b65742d54797065000000064445414c4552084964656e74697479000000086465616c65722d41"
        );
    }

    #[test]
    fn decoded_ready_exposes_type_identity_and_extras() {
        let mut ready = Ready::with_identity(SocketType::Dealer, Bytes::from_static(b"n1"));
        ready.push_property(X_SPOT, "1;node-1").unwrap();
        let bytes = Command::Ready(ready.clone()).to_bytes();
        let Command::Ready(back) = Command::decode(bytes.slice(2..)).unwrap() else { panic!() };
        assert_eq!(back, ready);
        assert_eq!(back.socket_type(), Ok(SocketType::Dealer));
        assert_eq!(back.properties().identity().unwrap(), "n1");
        assert_eq!(back.properties().get("x-spot").unwrap(), "1;node-1");
        assert_eq!(back.properties().len(), 3);
    }

    #[test]
    fn missing_or_unknown_socket_type() {
        // READY with only Identity (pyzmq-bad-partner conn 3) and with nothing (ServerLink conn 3).
        let only_identity =
            Command::decode(Bytes::from(unhex("055245414459084964656e7469747900000000"))).unwrap();
        let Command::Ready(r) = only_identity else { panic!() };
        assert_eq!(r.socket_type(), Err(DecodeError::MissingSocketType));
        let empty = Ready::decode(Bytes::new()).unwrap();
        assert!(empty.properties().is_empty());
        let mut weird = Properties::new();
        weird.push(SOCKET_TYPE, "STREAM").unwrap();
        assert_eq!(
            weird.socket_type(),
            Err(DecodeError::IncompatibleSocketType { socket_type: "STREAM".into() })
        );
    }

    #[test]
    fn malformed_property_lists() {
        for bad in ["00", "0b536f636b65742d54797065000000", "01410000000541"] {
            assert!(
                matches!(
                    Properties::decode(Bytes::from(unhex(bad))),
                    Err(DecodeError::MalformedProperties { .. })
                ),
                "{bad}"
            );
        }
        let mut p = Properties::new();
        assert!(p.push("", "x").is_err());
        assert!(p.push(vec![b'a'; 256], "x").is_err());
        assert!(p.push(vec![b'a'; 255], "x").is_ok());
    }
}
