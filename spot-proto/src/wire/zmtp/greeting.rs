//! The 64-byte ZMTP 3.x greeting and its incremental parser.
//!
//! Layout (RFC 23 §"Greeting"):
//!
//! | bytes  | content                                                   |
//! |--------|-----------------------------------------------------------|
//! | 0..10  | signature: `ff`, eight padding bytes, `7f`                |
//! | 10     | major version (3)                                         |
//! | 11     | minor version (0 = ZMTP 3.0, 1 = ZMTP 3.1)                |
//! | 12..32 | mechanism name, ASCII, zero padded (`NULL`)               |
//! | 32     | as-server flag (meaningless for NULL)                     |
//! | 33..64 | zero filler                                               |
//!
//! Validation follows what the real peers do (see `shared/vectors/README.md`): in the signature
//! only byte 0 (`ff`) and the low bit of byte 9 are checked — libzmq writes its routing-id length
//! plus one into byte 8 — a major version below 3 is refused, a major above 3 is spoken as 3.x,
//! and the mechanism must be exactly `NULL` followed by zeros. The filler is ignored.

use bytes::{Buf, BufMut};

use crate::error::DecodeError;

/// Length of a complete greeting.
pub const GREETING_LEN: usize = 64;
/// Length of the signature at the start of the greeting.
pub const SIGNATURE_LEN: usize = 10;
/// Length of the zero-padded mechanism field.
pub const MECHANISM_LEN: usize = 20;
/// The only security mechanism this crate speaks.
pub const MECHANISM_NULL: &[u8] = b"NULL";

const MAJOR_POS: usize = 10;
const MINOR_POS: usize = 11;
const MECHANISM_POS: usize = 12;
const AS_SERVER_POS: usize = 32;

/// The ZMTP 3.x revision a peer speaks, derived from the version it announces.
///
/// Like libzmq, only `3.0` exactly is treated as 3.0; `3.1`, `3.2`, `4.x` ... are spoken as 3.1.
/// The difference matters for what may be sent to the peer: a 3.0 peer gets no command but
/// READY (no PING/PONG/ERROR/SUBSCRIBE/CANCEL), and its subscriptions go as data messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ZmtpVersion {
    /// ZMTP 3.0 (RFC 23): announced as major 3, minor 0. The C++ original announces this.
    V3_0,
    /// ZMTP 3.1 (RFC 37): heartbeats and the SUBSCRIBE/CANCEL commands. libzmq 4.3 announces it.
    V3_1,
}

impl ZmtpVersion {
    /// The minor version byte we announce for this revision (major is always 3).
    pub const fn minor(self) -> u8 {
        match self {
            ZmtpVersion::V3_0 => 0,
            ZmtpVersion::V3_1 => 1,
        }
    }

    /// The revision to speak with a peer that announced `major.minor` (major must be >= 3).
    pub const fn from_announced(major: u8, minor: u8) -> Self {
        if major == 3 && minor == 0 { ZmtpVersion::V3_0 } else { ZmtpVersion::V3_1 }
    }

    /// Whether commands other than READY (PING, PONG, ERROR, SUBSCRIBE, CANCEL) may be sent to a
    /// peer speaking this revision.
    pub const fn accepts_commands(self) -> bool {
        matches!(self, ZmtpVersion::V3_1)
    }
}

/// A decoded (or to-be-encoded) greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Greeting {
    major: u8,
    minor: u8,
    mechanism: [u8; MECHANISM_LEN],
    as_server: bool,
}

impl Greeting {
    /// Our greeting: major 3, the minor of `version`, mechanism NULL, as-server 0.
    pub fn null(version: ZmtpVersion) -> Self {
        let mut mechanism = [0u8; MECHANISM_LEN];
        mechanism[..MECHANISM_NULL.len()].copy_from_slice(MECHANISM_NULL);
        Greeting { major: 3, minor: version.minor(), mechanism, as_server: false }
    }

    /// The announced major version (>= 3 for any decoded greeting).
    pub fn major(&self) -> u8 {
        self.major
    }

    /// The announced minor version.
    pub fn minor(&self) -> u8 {
        self.minor
    }

    /// The revision to speak with the sender of this greeting.
    pub fn version(&self) -> ZmtpVersion {
        ZmtpVersion::from_announced(self.major, self.minor)
    }

    /// The mechanism name without its zero padding (always `NULL` for a decoded greeting).
    pub fn mechanism(&self) -> &[u8] {
        let end = self.mechanism.iter().position(|&b| b == 0).unwrap_or(MECHANISM_LEN);
        &self.mechanism[..end]
    }

    /// The as-server flag (meaningless for NULL; both real peers send 0).
    pub fn as_server(&self) -> bool {
        self.as_server
    }

    /// Writes the 64 bytes of this greeting. The signature is `ff 00*8 7f`.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_slice(&self.to_bytes());
    }

    /// The 64 bytes of this greeting.
    pub fn to_bytes(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xff;
        out[SIGNATURE_LEN - 1] = 0x7f;
        out[MAJOR_POS] = self.major;
        out[MINOR_POS] = self.minor;
        out[MECHANISM_POS..AS_SERVER_POS].copy_from_slice(&self.mechanism);
        out[AS_SERVER_POS] = u8::from(self.as_server);
        out
    }

    /// Decodes a complete greeting from exactly its 64 bytes (more or fewer is an error).
    pub fn decode(bytes: &[u8]) -> Result<Greeting, DecodeError> {
        if bytes.len() != GREETING_LEN {
            return Err(DecodeError::Truncated {
                what: "ZMTP greeting",
                needed: GREETING_LEN,
                available: bytes.len(),
            });
        }
        let mut parser = GreetingParser::new();
        let mut src = bytes;
        match parser.parse(&mut src)? {
            GreetingStatus::Complete(greeting) => Ok(greeting),
            // Unreachable with 64 bytes, but never panic on input.
            _ => Err(DecodeError::Truncated {
                what: "ZMTP greeting",
                needed: GREETING_LEN,
                available: bytes.len(),
            }),
        }
    }
}

/// How far the peer's greeting has arrived. Each state is reported as soon as it is known, so a
/// link could send its own greeting in pieces the way libzmq does (10-byte signature, then the
/// major byte, then the rest). `spot-proto` links send all 64 bytes at once, which works with
/// every peer, but the milestones are exposed for drivers and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GreetingStatus {
    /// Fewer than the 10 signature bytes so far (those present are valid).
    AwaitingSignature,
    /// The 10-byte signature is complete and valid; the major version has not arrived.
    SignatureReceived,
    /// The major version (>= 3) is known; the remaining greeting bytes have not all arrived.
    MajorReceived {
        /// The announced major version.
        major: u8,
    },
    /// All 64 bytes arrived and are valid.
    Complete(Greeting),
}

/// Incremental greeting parser: accepts the greeting in any chunking (10/54, 10/1/53, 64, byte
/// by byte) and consumes exactly the greeting's bytes from its input, leaving what follows.
///
/// Errors are reported at the first byte that proves the greeting invalid (byte 0 for a bad
/// signature, byte 10 for a major below 3, byte 32 for a mechanism other than NULL). After an
/// error the parser keeps returning it.
#[derive(Clone, Debug)]
pub struct GreetingParser {
    bytes: [u8; GREETING_LEN],
    len: usize,
    error: Option<DecodeError>,
}

impl Default for GreetingParser {
    fn default() -> Self {
        Self::new()
    }
}

impl GreetingParser {
    /// A parser that has seen nothing yet.
    pub fn new() -> Self {
        GreetingParser { bytes: [0; GREETING_LEN], len: 0, error: None }
    }

    /// Bytes of the greeting received so far (0..=64).
    pub fn received(&self) -> usize {
        self.len
    }

    /// Whether all 64 bytes were received and validated.
    pub fn is_complete(&self) -> bool {
        self.len == GREETING_LEN && self.error.is_none()
    }

    /// Consumes greeting bytes from the front of `src` (at most the missing ones) and reports
    /// progress. Once complete, further calls consume nothing and return `Complete` again.
    pub fn parse(&mut self, src: &mut impl Buf) -> Result<GreetingStatus, DecodeError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let start = self.len;
        let take = (GREETING_LEN - start).min(src.remaining());
        src.copy_to_slice(&mut self.bytes[start..start + take]);
        self.len = start + take;
        if let Err(error) = self.validate(start) {
            self.error = Some(error.clone());
            return Err(error);
        }
        Ok(self.status())
    }

    /// Checks every milestone that the bytes from `start` to `self.len` completed.
    fn validate(&self, start: usize) -> Result<(), DecodeError> {
        let crossed = |pos: usize| start <= pos && pos < self.len;
        if crossed(0) && self.bytes[0] != 0xff {
            return Err(DecodeError::BadSignature);
        }
        if crossed(SIGNATURE_LEN - 1) && self.bytes[SIGNATURE_LEN - 1] & 0x01 == 0 {
            return Err(DecodeError::BadSignature);
        }
        if crossed(MAJOR_POS) && self.bytes[MAJOR_POS] < 3 {
            return Err(DecodeError::UnsupportedVersion { major: self.bytes[MAJOR_POS] });
        }
        if crossed(AS_SERVER_POS - 1) {
            let mechanism = &self.bytes[MECHANISM_POS..AS_SERVER_POS];
            let (name, padding) = mechanism.split_at(MECHANISM_NULL.len());
            if name != MECHANISM_NULL || padding.iter().any(|&b| b != 0) {
                let end = mechanism.iter().position(|&b| b == 0).unwrap_or(MECHANISM_LEN);
                return Err(DecodeError::UnsupportedMechanism {
                    mechanism: String::from_utf8_lossy(&mechanism[..end]).into_owned(),
                });
            }
        }
        Ok(())
    }

    fn status(&self) -> GreetingStatus {
        if self.len == GREETING_LEN {
            let mut mechanism = [0u8; MECHANISM_LEN];
            mechanism.copy_from_slice(&self.bytes[MECHANISM_POS..AS_SERVER_POS]);
            GreetingStatus::Complete(Greeting {
                major: self.bytes[MAJOR_POS],
                minor: self.bytes[MINOR_POS],
                mechanism,
                as_server: self.bytes[AS_SERVER_POS] & 0x01 != 0,
            })
        } else if self.len > MAJOR_POS {
            GreetingStatus::MajorReceived { major: self.bytes[MAJOR_POS] }
        } else if self.len >= SIGNATURE_LEN {
            GreetingStatus::SignatureReceived
        } else {
            GreetingStatus::AwaitingSignature
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::test_hex::{hex, unhex};

    const SERVERLINK: &str = "ff00000000000000017f03004e554c4c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    const LIBZMQ_ROUTING_ID: &str = "ff00000000000000097f03014e554c4c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn our_greeting_bytes_are_exact() {
        assert_eq!(
            hex(&Greeting::null(ZmtpVersion::V3_1).to_bytes()),
            "ff00000000000000007f03014e554c4c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        );
        let mut v = Vec::new();
        Greeting::null(ZmtpVersion::V3_0).encode(&mut v);
        assert_eq!(&v[10..12], &[3, 0]);
        assert_eq!(v.len(), GREETING_LEN);
    }

    #[test]
    fn peers_greetings_decode() {
        let g = Greeting::decode(&unhex(SERVERLINK)).unwrap();
        assert_eq!((g.major(), g.minor(), g.version()), (3, 0, ZmtpVersion::V3_0));
        assert_eq!(g.mechanism(), b"NULL");
        assert!(!g.as_server());
        let g = Greeting::decode(&unhex(LIBZMQ_ROUTING_ID)).unwrap();
        assert_eq!(g.version(), ZmtpVersion::V3_1);
    }

    #[test]
    fn milestones_are_reported_as_soon_as_known() {
        let bytes = unhex(SERVERLINK);
        let mut p = GreetingParser::new();
        let mut src = &bytes[..9];
        assert_eq!(p.parse(&mut src).unwrap(), GreetingStatus::AwaitingSignature);
        let mut src = &bytes[9..10];
        assert_eq!(p.parse(&mut src).unwrap(), GreetingStatus::SignatureReceived);
        let mut src = &bytes[10..11];
        assert_eq!(p.parse(&mut src).unwrap(), GreetingStatus::MajorReceived { major: 3 });
        // The rest plus trailing bytes: only the greeting is consumed.
        let mut rest = bytes[11..].to_vec();
        rest.extend_from_slice(&[0x04, 0x00]);
        let mut src = &rest[..];
        assert!(matches!(p.parse(&mut src).unwrap(), GreetingStatus::Complete(_)));
        assert_eq!(src, &[0x04, 0x00]);
        assert!(p.is_complete());
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let bytes = unhex(LIBZMQ_ROUTING_ID);
        let mut p = GreetingParser::new();
        let mut last = None;
        for b in &bytes {
            let mut src = &[*b][..];
            last = Some(p.parse(&mut src).unwrap());
        }
        assert_eq!(last, Some(GreetingStatus::Complete(Greeting::decode(&bytes).unwrap())));
    }

    #[test]
    fn bad_signature_is_reported_at_byte_zero() {
        let mut p = GreetingParser::new();
        let mut src = &[0x00u8][..];
        assert_eq!(p.parse(&mut src), Err(DecodeError::BadSignature));
        let mut src = &[0xffu8][..];
        assert_eq!(p.parse(&mut src), Err(DecodeError::BadSignature), "sticky");
        // Low bit of byte 9 clear.
        let mut bytes = unhex(SERVERLINK);
        bytes[9] = 0x7e;
        assert_eq!(Greeting::decode(&bytes), Err(DecodeError::BadSignature));
        // Padding bytes 1..9 are ignored, as both peers do.
        let mut bytes = unhex(SERVERLINK);
        bytes[3] = 0x55;
        assert!(Greeting::decode(&bytes).is_ok());
    }

    #[test]
    fn versions_below_three_are_refused_and_four_is_spoken_as_three_one() {
        let mut bytes = unhex(SERVERLINK);
        bytes[10] = 1; // ZMTP 2.0 revision byte
        let mut p = GreetingParser::new();
        let mut src = &bytes[..11];
        assert_eq!(p.parse(&mut src), Err(DecodeError::UnsupportedVersion { major: 1 }));
        bytes[10] = 4;
        let g = Greeting::decode(&bytes).unwrap();
        assert_eq!((g.major(), g.version()), (4, ZmtpVersion::V3_1));
    }

    #[test]
    fn mechanism_must_be_null() {
        let plain = "ff00000000000000007f0301504c41494e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        assert_eq!(
            Greeting::decode(&unhex(plain)),
            Err(DecodeError::UnsupportedMechanism { mechanism: "PLAIN".into() })
        );
        let mut bytes = unhex(SERVERLINK);
        bytes[20] = b'x'; // garbage in the padding
        assert!(matches!(Greeting::decode(&bytes), Err(DecodeError::UnsupportedMechanism { .. })));
    }
}
