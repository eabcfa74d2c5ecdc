//! Bytes on the wire, as pure functions over `bytes` buffers.
//!
//! * [`zmtp`]: ZMTP 3.x — greeting, frames, commands (READY, ERROR, SUBSCRIBE, CANCEL, PING,
//!   PONG) and an incremental stream decoder.
//! * [`spot`]: the SPOT commands carried in ZMTP messages (PUBLISH .. QUERY_RESP and extensions).
//! * [`swim`]: SWIM membership datagrams (UDP).
//!
//! Decoding takes owned `BytesMut`/`Bytes` and hands out zero-copy `Bytes` slices; every
//! violation is a typed [`crate::DecodeError`].

pub mod spot;
pub mod swim;
pub mod zmtp;
