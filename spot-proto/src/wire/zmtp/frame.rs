//! ZMTP frames: a flags byte, a 1-byte or 8-byte big-endian size, the body.
//!
//! Decisions, matching libzmq 4.3 (the vectors prove each):
//!
//! * **Reserved flag bits** (`0xf8`) are ignored, not rejected: libzmq delivers a data frame with
//!   flag `0x08` as a normal frame. [`FrameHeader::reserved_bits`] lets a decoder count them.
//! * **Non-minimal sizes** are accepted: a small body in the LONG form (`03 0000000000000009 ..`)
//!   decodes like the short form. Our encoder always writes the minimal form: short up to 255
//!   bytes, LONG above.
//! * **COMMAND with MORE** (`05`) is tolerated: the frame is one complete command and the MORE
//!   bit is ignored (libzmq answers such a PING). The stream decoder counts it.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::DecodeError;

/// Flag bit: another frame of this message follows.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit: the size is 8 bytes, big-endian.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit: the frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
/// Flag bits RFC 23 reserves (sent as zero, ignored on receipt).
pub const FLAGS_RESERVED: u8 = !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND);
/// The largest body the short (1-byte size) form can carry.
pub const SHORT_SIZE_MAX: usize = 255;
/// Length of a short frame header.
pub const SHORT_HEADER_LEN: usize = 2;
/// Length of a LONG frame header.
pub const LONG_HEADER_LEN: usize = 9;

/// A frame header: the flags byte and the body size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    flags: u8,
    size: u64,
}

impl FrameHeader {
    /// The minimal header for a data frame of `size` bytes, with MORE if `more`.
    pub fn data(size: usize, more: bool) -> Self {
        let mut flags = if more { FLAG_MORE } else { 0 };
        if size > SHORT_SIZE_MAX {
            flags |= FLAG_LONG;
        }
        FrameHeader { flags, size: size as u64 }
    }

    /// The minimal header for a command frame whose body is `size` bytes.
    pub fn command(size: usize) -> Self {
        let mut header = Self::data(size, false);
        header.flags |= FLAG_COMMAND;
        header
    }

    /// Parses a header from the start of `src`, or `None` if `src` is too short. Any flags byte
    /// is accepted (see the module docs); sizes are not checked against limits here.
    pub fn parse(src: &[u8]) -> Option<FrameHeader> {
        let flags = *src.first()?;
        let size = if flags & FLAG_LONG != 0 {
            let bytes: [u8; 8] = src.get(1..LONG_HEADER_LEN)?.try_into().ok()?;
            u64::from_be_bytes(bytes)
        } else {
            u64::from(*src.get(1)?)
        };
        Some(FrameHeader { flags, size })
    }

    /// The flags byte as received (reserved bits included).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The body size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// MORE: another frame of this message follows (meaningless on a command).
    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    /// COMMAND: the body is a command.
    pub fn is_command(&self) -> bool {
        self.flags & FLAG_COMMAND != 0
    }

    /// LONG: the size field is 8 bytes.
    pub fn is_long(&self) -> bool {
        self.flags & FLAG_LONG != 0
    }

    /// Reserved bits that were set (zero for a conforming peer).
    pub fn reserved_bits(&self) -> u8 {
        self.flags & FLAGS_RESERVED
    }

    /// Length of this header on the wire (2 or 9 bytes).
    pub fn len(&self) -> usize {
        if self.is_long() { LONG_HEADER_LEN } else { SHORT_HEADER_LEN }
    }

    /// Always false: a header is never empty (present for API symmetry with `len`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes this header. A LONG header writes 8 size bytes; a short one writes the low byte.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_u8(self.flags);
        if self.is_long() {
            dst.put_u64(self.size);
        } else {
            dst.put_u8(self.size as u8);
        }
    }

    /// Length of the minimal header for a body of `size` bytes.
    pub fn encoded_len_for(size: usize) -> usize {
        if size > SHORT_SIZE_MAX { LONG_HEADER_LEN } else { SHORT_HEADER_LEN }
    }
}

/// Writes one data frame (minimal header, then `body`).
pub fn encode_data_frame(body: &[u8], more: bool, dst: &mut impl BufMut) {
    FrameHeader::data(body.len(), more).encode(dst);
    dst.put_slice(body);
}

/// One frame, as cut from a stream by [`Frame::decode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header as received.
    pub header: FrameHeader,
    /// The body: a zero-copy slice of the input buffer.
    pub body: Bytes,
}

impl Frame {
    /// Cuts one complete frame from the front of `src`, or returns `Ok(None)` (consuming
    /// nothing) if it has not fully arrived. A body larger than `max_size` is refused as soon as
    /// the header is readable. Most users want [`super::StreamDecoder`], which assembles
    /// messages; this is for tools and tests that look at single frames.
    pub fn decode(src: &mut BytesMut, max_size: u64) -> Result<Option<Frame>, DecodeError> {
        let Some(header) = FrameHeader::parse(src) else {
            return Ok(None);
        };
        let size = checked_size(header.size(), max_size, "ZMTP frame")?;
        if src.len() - header.len() < size {
            return Ok(None);
        }
        src.advance(header.len());
        let body = src.split_to(size).freeze();
        Ok(Some(Frame { header, body }))
    }

    /// Writes this frame with a minimal header carrying the same MORE/COMMAND bits (reserved
    /// bits are dropped).
    pub fn encode(&self, dst: &mut impl BufMut) {
        let header = if self.header.is_command() {
            FrameHeader::command(self.body.len())
        } else {
            FrameHeader::data(self.body.len(), self.header.more())
        };
        header.encode(dst);
        dst.put_slice(&self.body);
    }
}

/// `size` as a `usize`, or `TooLarge` if it exceeds `limit` (or the address space).
pub(crate) fn checked_size(
    size: u64,
    limit: u64,
    what: &'static str,
) -> Result<usize, DecodeError> {
    if size > limit {
        return Err(DecodeError::TooLarge { what, size, limit });
    }
    usize::try_from(size).map_err(|_| DecodeError::TooLarge { what, size, limit })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::test_hex::{hex, unhex};

    #[test]
    fn encoder_picks_the_short_form_up_to_255() {
        let mut v = Vec::new();
        encode_data_frame(&[0x78; 255], false, &mut v);
        assert_eq!(hex(&v[..2]), "00ff");
        assert_eq!(v.len(), 257);
        let mut v = Vec::new();
        encode_data_frame(&[0x61; 256], false, &mut v);
        assert_eq!(hex(&v[..9]), "020000000000000100");
        let mut v = Vec::new();
        encode_data_frame(&[0x41; 300], true, &mut v);
        assert_eq!(hex(&v[..9]), "03000000000000012c");
        let mut v = Vec::new();
        FrameHeader::command(6).encode(&mut v);
        assert_eq!(hex(&v), "0406");
        let mut v = Vec::new();
        FrameHeader::command(310).encode(&mut v);
        assert_eq!(hex(&v), "060000000000000136");
    }

    #[test]
    fn header_parse_needs_the_whole_size_field() {
        assert_eq!(FrameHeader::parse(&[]), None);
        assert_eq!(FrameHeader::parse(&[0x01]), None);
        assert_eq!(FrameHeader::parse(&[0x02, 0, 0, 0, 0, 0, 0, 1]), None);
        let h = FrameHeader::parse(&unhex("030000000000000009")).unwrap();
        assert!(h.more() && h.is_long() && !h.is_command());
        assert_eq!((h.size(), h.len()), (9, 9));
        let h = FrameHeader::parse(&[0x08, 0x01]).unwrap();
        assert_eq!(h.reserved_bits(), 0x08);
        assert!(!h.more());
    }

    #[test]
    fn non_minimal_long_frame_decodes_like_short() {
        let mut src = BytesMut::from(&unhex("030000000000000009696e7465726f703a74ff")[..]);
        let f = Frame::decode(&mut src, 100).unwrap().unwrap();
        assert_eq!(&f.body[..], b"interop:t");
        assert!(f.header.more());
        assert_eq!(&src[..], &[0xff]);
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(hex(&out), "0109696e7465726f703a74");
    }

    #[test]
    fn too_large_is_refused_from_the_header_alone() {
        let mut src = BytesMut::from(&unhex("02ffffffffffffffff")[..]);
        assert_eq!(
            Frame::decode(&mut src, 1 << 20),
            Err(DecodeError::TooLarge { what: "ZMTP frame", size: u64::MAX, limit: 1 << 20 })
        );
        let mut partial = BytesMut::from(&unhex("0005abcd")[..]);
        assert_eq!(Frame::decode(&mut partial, 100), Ok(None));
        assert_eq!(partial.len(), 4, "nothing consumed while incomplete");
    }
}
