//! ZMTP command frames: `[name length][name][data]` in a frame with the COMMAND flag, and the
//! [`Command`] enum that dispatches on the name.
//!
//! Names are compared case-sensitively (as libzmq does). A command whose name is not one of
//! READY, ERROR, SUBSCRIBE, CANCEL, PING, PONG decodes to [`Command::Unknown`] — carried through
//! for counting, never an error (a newer peer must not break us).

use bytes::{BufMut, Bytes};

use super::error_command::ErrorCommand;
use super::frame::FrameHeader;
use super::heartbeat::{Ping, Pong};
use super::ready::Ready;
use crate::error::DecodeError;

/// Name of the READY command.
pub const READY: &[u8] = b"READY";
/// Name of the ERROR command.
pub const ERROR: &[u8] = b"ERROR";
/// Name of the SUBSCRIBE command (ZMTP 3.1).
pub const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
/// Name of the CANCEL command (ZMTP 3.1).
pub const CANCEL: &[u8] = b"CANCEL";
/// Name of the PING command (ZMTP 3.1).
pub const PING: &[u8] = b"PING";
/// Name of the PONG command (ZMTP 3.1).
pub const PONG: &[u8] = b"PONG";

/// A decoded ZMTP command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// READY with its properties (NULL handshake).
    Ready(Ready),
    /// ERROR with its reason.
    Error(ErrorCommand),
    /// SUBSCRIBE: the data is the topic prefix (may be empty: everything).
    Subscribe(Bytes),
    /// CANCEL: the data is the topic prefix.
    Cancel(Bytes),
    /// PING (heartbeat).
    Ping(Ping),
    /// PONG (heartbeat answer).
    Pong(Pong),
    /// Any other command, kept whole.
    Unknown(UnknownCommand),
}

/// A command with a name this crate does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCommand {
    /// The command name (1..=255 bytes, not necessarily ASCII).
    pub name: Bytes,
    /// The command data after the name.
    pub data: Bytes,
}

impl Command {
    /// Decodes a command from the body of a COMMAND frame (zero-copy: payload fields are slices
    /// of `body`).
    pub fn decode(body: Bytes) -> Result<Command, DecodeError> {
        let (name_len, name_end) = split_name(&body)?;
        let data = body.slice(name_end..);
        let name = &body[1..name_end];
        debug_assert_eq!(name.len(), name_len);
        Ok(match name {
            READY => Command::Ready(Ready::decode(data)?),
            ERROR => Command::Error(ErrorCommand::decode(data)?),
            SUBSCRIBE => Command::Subscribe(data),
            CANCEL => Command::Cancel(data),
            PING => Command::Ping(Ping::decode(data)?),
            PONG => Command::Pong(Pong::decode(data)),
            _ => Command::Unknown(UnknownCommand { name: body.slice(1..name_end), data }),
        })
    }

    /// The command's name on the wire.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => READY,
            Command::Error(_) => ERROR,
            Command::Subscribe(_) => SUBSCRIBE,
            Command::Cancel(_) => CANCEL,
            Command::Ping(_) => PING,
            Command::Pong(_) => PONG,
            Command::Unknown(u) => &u.name,
        }
    }

    /// Length of the command data (after the name).
    pub fn data_len(&self) -> usize {
        match self {
            Command::Ready(r) => r.properties().encoded_len(),
            Command::Error(e) => e.data_len(),
            Command::Subscribe(p) | Command::Cancel(p) => p.len(),
            Command::Ping(p) => p.data_len(),
            Command::Pong(p) => p.context().len(),
            Command::Unknown(u) => u.data.len(),
        }
    }

    /// Bytes of the whole frame (header, name, data).
    pub fn encoded_len(&self) -> usize {
        frame_len(self.name().len(), self.data_len())
    }

    /// Writes the whole COMMAND frame (minimal header). An `Unknown` name longer than 255 bytes
    /// (impossible for a decoded one) is truncated to 255.
    pub fn encode(&self, dst: &mut impl BufMut) {
        let name = self.name();
        let name = &name[..name.len().min(255)];
        put_header(name, self.data_len(), dst);
        match self {
            Command::Ready(r) => r.properties().encode(dst),
            Command::Error(e) => e.encode_data(dst),
            Command::Subscribe(p) | Command::Cancel(p) => dst.put_slice(p),
            Command::Ping(p) => p.encode_data(dst),
            Command::Pong(p) => dst.put_slice(p.context()),
            Command::Unknown(u) => dst.put_slice(&u.data),
        }
    }

    /// The encoded frame as `Bytes`.
    pub fn to_bytes(&self) -> Bytes {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode(&mut v);
        Bytes::from(v)
    }
}

/// Validates the name field of a command body; returns (name length, end of the name).
fn split_name(body: &[u8]) -> Result<(usize, usize), DecodeError> {
    let Some(&name_len) = body.first() else {
        return Err(DecodeError::MalformedCommand { reason: "empty command frame" });
    };
    let name_len = usize::from(name_len);
    if name_len == 0 {
        return Err(DecodeError::MalformedCommand { reason: "empty command name" });
    }
    if body.len() < 1 + name_len {
        return Err(DecodeError::Truncated {
            what: "ZMTP command name",
            needed: 1 + name_len,
            available: body.len(),
        });
    }
    Ok((name_len, 1 + name_len))
}

/// Length of a command frame with a `name_len`-byte name and `data_len` bytes of data.
pub(crate) fn frame_len(name_len: usize, data_len: usize) -> usize {
    let body = 1 + name_len + data_len;
    FrameHeader::encoded_len_for(body) + body
}

/// Writes a command frame's header and name; the caller writes `data_len` bytes of data next.
/// `name` must be at most 255 bytes.
pub(crate) fn put_header(name: &[u8], data_len: usize, dst: &mut impl BufMut) {
    FrameHeader::command(1 + name.len() + data_len).encode(dst);
    dst.put_u8(name.len() as u8);
    dst.put_slice(name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::test_hex::{hex, unhex};

    fn body_of(frame_hex: &str) -> Bytes {
        let bytes = unhex(frame_hex);
        let header = FrameHeader::parse(&bytes).unwrap();
        Bytes::from(bytes).slice(header.len()..)
    }

    #[test]
    fn subscribe_and_cancel_bytes_are_exact() {
        let sub = Command::Subscribe(Bytes::from_static(b"interop:"));
        assert_eq!(hex(&sub.to_bytes()), "041209535542534352494245696e7465726f703a");
        let cancel = Command::Cancel(Bytes::from_static(b"interop:"));
        assert_eq!(hex(&cancel.to_bytes()), "040f0643414e43454c696e7465726f703a");
        let all = Command::Subscribe(Bytes::new());
        assert_eq!(hex(&all.to_bytes()), "040a09535542534352494245");
        let sub = Command::Subscribe(Bytes::from_static(b"py:t"));
        assert_eq!(hex(&sub.to_bytes()), "040e0953554253435249424570793a74");
        assert_eq!(
            Command::decode(body_of("040b0643414e43454c70793a74")).unwrap(),
            Command::Cancel(Bytes::from_static(b"py:t"))
        );
    }

    #[test]
    fn long_form_subscribe_decodes() {
        let mut frame = unhex("060000000000000136");
        frame.push(9);
        frame.extend_from_slice(b"SUBSCRIBE");
        frame.extend_from_slice(&[b'z'; 300]);
        let cmd = Command::decode(body_of(&hex(&frame))).unwrap();
        let Command::Subscribe(prefix) = &cmd else { panic!("{cmd:?}") };
        assert_eq!(prefix.len(), 300);
        assert_eq!(cmd.to_bytes(), Bytes::from(frame), "re-encodes as LONG");
    }

    #[test]
    fn unknown_commands_are_carried_through() {
        let cmd = Command::decode(body_of("04070548454c4c4f78")).unwrap();
        assert_eq!(
            cmd,
            Command::Unknown(UnknownCommand {
                name: Bytes::from_static(b"HELLO"),
                data: Bytes::from_static(b"x"),
            })
        );
        assert_eq!(hex(&cmd.to_bytes()), "04070548454c4c4f78");
        // Names are case-sensitive.
        assert!(matches!(
            Command::decode(Bytes::from_static(b"\x04ping\x00\x00")).unwrap(),
            Command::Unknown(_)
        ));
    }

    #[test]
    fn malformed_names_are_errors() {
        assert!(matches!(Command::decode(Bytes::new()), Err(DecodeError::MalformedCommand { .. })));
        assert!(matches!(
            Command::decode(Bytes::from_static(b"\x00")),
            Err(DecodeError::MalformedCommand { .. })
        ));
        assert_eq!(
            Command::decode(Bytes::from_static(b"\x05REA")),
            Err(DecodeError::Truncated { what: "ZMTP command name", needed: 6, available: 4 })
        );
    }
}
