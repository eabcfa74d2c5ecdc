//! The ERROR command: `[reason length: u8][reason]`.
//!
//! Neither real peer ever sends ERROR; a link sends it only to a 3.1 peer before closing on a
//! failed READY (never to a 3.0 peer: the C++ original aborts on any unexpected command).

use bytes::{BufMut, Bytes};

use super::command::{self, ERROR};
use crate::error::DecodeError;

/// Longest reason the 1-byte length allows.
pub const MAX_REASON_LEN: usize = 255;

/// The ERROR command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorCommand {
    reason: Bytes,
}

impl ErrorCommand {
    /// An ERROR with `reason`, truncated to 255 bytes (at a UTF-8 character boundary when the
    /// reason is UTF-8).
    pub fn new(reason: impl Into<Bytes>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON_LEN {
            let mut end = MAX_REASON_LEN;
            if let Ok(text) = core::str::from_utf8(&reason) {
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
            }
            reason.truncate(end);
        }
        ErrorCommand { reason }
    }

    /// The reason bytes (usually ASCII).
    pub fn reason(&self) -> &Bytes {
        &self.reason
    }

    /// Decodes from the command data: the reason must fill it exactly.
    pub fn decode(mut data: Bytes) -> Result<ErrorCommand, DecodeError> {
        let Some(&len) = data.first() else {
            return Err(DecodeError::Truncated {
                what: "ZMTP ERROR reason length",
                needed: 1,
                available: 0,
            });
        };
        let len = usize::from(len);
        if data.len() < 1 + len {
            return Err(DecodeError::Truncated {
                what: "ZMTP ERROR reason",
                needed: 1 + len,
                available: data.len(),
            });
        }
        if data.len() > 1 + len {
            return Err(DecodeError::TrailingBytes {
                what: "ZMTP ERROR reason",
                extra: data.len() - 1 - len,
            });
        }
        let reason = data.split_off(1);
        Ok(ErrorCommand { reason })
    }

    pub(crate) fn data_len(&self) -> usize {
        1 + self.reason.len()
    }

    pub(crate) fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_u8(self.reason.len() as u8);
        dst.put_slice(&self.reason);
    }

    /// Bytes of the whole frame.
    pub fn encoded_len(&self) -> usize {
        command::frame_len(ERROR.len(), self.data_len())
    }

    /// Writes the whole ERROR frame.
    pub fn encode(&self, dst: &mut impl BufMut) {
        command::put_header(ERROR, self.data_len(), dst);
        self.encode_data(dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::test_hex::{hex, unhex};

    #[test]
    fn error_bytes_match_the_capture() {
        let e = ErrorCommand::new("not-allowed");
        let mut v = Vec::new();
        e.encode(&mut v);
        assert_eq!(hex(&v), "0412054552524f520b6e6f742d616c6c6f776564");
        assert_eq!(v.len(), e.encoded_len());
        let back = ErrorCommand::decode(Bytes::from(unhex("0b6e6f742d616c6c6f776564"))).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn reason_is_bounded_and_exact() {
        let long = "é".repeat(200); // 400 bytes
        let e = ErrorCommand::new(long);
        assert!(e.reason().len() <= MAX_REASON_LEN);
        assert!(core::str::from_utf8(e.reason()).is_ok());
        assert!(ErrorCommand::decode(Bytes::new()).is_err());
        assert!(ErrorCommand::decode(Bytes::from_static(b"\x05abc")).is_err());
        assert!(matches!(
            ErrorCommand::decode(Bytes::from_static(b"\x01abc")),
            Err(DecodeError::TrailingBytes { extra: 2, .. })
        ));
    }
}
