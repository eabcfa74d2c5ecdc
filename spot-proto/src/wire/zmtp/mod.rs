//! ZMTP 3.x framing (RFC 23 "ZMTP 3.0", RFC 37 "ZMTP 3.1"), as pure functions over `bytes`.
//!
//! One file per frame family, each with a validating decode and an encode into `BufMut`:
//!
//! | family | types | file |
//! |---|---|---|
//! | greeting (64 bytes) | [`Greeting`], [`GreetingParser`], [`GreetingStatus`], [`ZmtpVersion`] | `greeting.rs` |
//! | frame header | [`FrameHeader`], [`Frame`], [`encode_data_frame`], `FLAG_*` | `frame.rs` |
//! | data message | [`Message`] (multipart, inline up to 4 frames) | `message.rs` |
//! | command dispatch | [`Command`], [`UnknownCommand`] | `command.rs` |
//! | READY | [`Ready`], [`Properties`], [`SocketType`] | `ready.rs`, `socket_type.rs` |
//! | ERROR | [`ErrorCommand`] | `error_command.rs` |
//! | SUBSCRIBE / CANCEL and the 3.0 data form | [`Subscription`], [`SubscriptionForm`] | `subscription.rs` |
//! | PING / PONG | [`Ping`], [`Pong`] | `heartbeat.rs` |
//! | stream decoder | [`StreamDecoder`], [`Item`], [`DecoderStats`] | `decoder.rs` |
//!
//! Reading a connection: a [`GreetingParser`] consumes the peer's 64-byte greeting (in any
//! chunking), then a [`StreamDecoder`] turns the rest of the byte stream into [`Item`]s —
//! whole multipart [`Message`]s whose frames are zero-copy slices of the read buffers, and
//! [`Command`]s. Writing: every type has `encode(&self, dst: &mut impl BufMut)` and
//! `encoded_len()`, always with the minimal size form (short up to 255 bytes).
//!
//! What is tolerated, as libzmq 4.3 does (see `shared/vectors/README.md`): reserved flag bits,
//! non-minimal LONG sizes, COMMAND with MORE, unknown commands (decoded as
//! [`Command::Unknown`]), a greeting signature whose padding bytes are not zero, major versions
//! above 3. What is refused, with a typed [`crate::DecodeError`]: a signature without `ff` ..
//! `x1`, a major version below 3, a mechanism other than NULL, a PING without its TTL, sizes
//! beyond [`crate::Limits`].
//!
//! The connection state machine built on this codec is [`crate::link`].

mod command;
mod decoder;
mod error_command;
mod frame;
mod greeting;
mod heartbeat;
mod message;
mod ready;
mod socket_type;
mod subscription;

pub use command::{CANCEL, Command, ERROR, PING, PONG, READY, SUBSCRIBE, UnknownCommand};
pub use decoder::{DecoderStats, Item, StreamDecoder};
pub use error_command::{ErrorCommand, MAX_REASON_LEN};
pub use frame::{
    FLAG_COMMAND, FLAG_LONG, FLAG_MORE, FLAGS_RESERVED, Frame, FrameHeader, LONG_HEADER_LEN,
    SHORT_HEADER_LEN, SHORT_SIZE_MAX, encode_data_frame,
};
pub use greeting::{
    GREETING_LEN, Greeting, GreetingParser, GreetingStatus, MECHANISM_LEN, MECHANISM_NULL,
    SIGNATURE_LEN, ZmtpVersion,
};
pub use heartbeat::{MAX_PING_CONTEXT, Ping, Pong};
pub use message::{INLINE_FRAMES, IntoFrames, Message};
pub use ready::{IDENTITY, InvalidProperty, Properties, Ready, SOCKET_TYPE, X_SPOT};
pub use socket_type::SocketType;
pub use subscription::{DATA_CANCEL, DATA_SUBSCRIBE, Subscription, SubscriptionForm};

#[cfg(test)]
pub(crate) mod test_hex {
    //! Hex helpers for byte-exact tests.

    /// Lowercase hex of `bytes`.
    pub(crate) fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Bytes of a hex string (test input only).
    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }
}
