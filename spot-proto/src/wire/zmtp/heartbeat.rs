//! ZMTP 3.1 heartbeats: PING (`[TTL: u16 BE, tenths of a second][context: 0..16 bytes]`) and
//! PONG (`[context]`, echoing the PING's).
//!
//! Decisions:
//! * A PING shorter than its 2-byte TTL is malformed ([`DecodeError::MalformedCommand`]): libzmq
//!   answers such a PING with 16 bytes of stale memory; we neither read past it nor answer it.
//! * A PING context longer than 16 bytes is accepted and truncated to 16, as libzmq does.
//! * Never send PING or PONG to a peer that announced ZMTP 3.0 (the link enforces this).

use core::time::Duration;

use bytes::{BufMut, Bytes};

use super::command::{self, PING, PONG};
use crate::error::DecodeError;

/// Longest PING context RFC 37 allows.
pub const MAX_PING_CONTEXT: usize = 16;

/// The PING command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    ttl_deciseconds: u16,
    context: Bytes,
}

impl Ping {
    /// A PING advertising `ttl` (rounded down to tenths of a second, saturating at 6553.5 s) and
    /// carrying `context` (truncated to 16 bytes).
    pub fn new(ttl: Duration, context: Bytes) -> Self {
        let deciseconds = ttl.as_millis() / 100;
        Self::from_deciseconds(u16::try_from(deciseconds).unwrap_or(u16::MAX), context)
    }

    /// A PING with a raw TTL in tenths of a second.
    pub fn from_deciseconds(ttl_deciseconds: u16, mut context: Bytes) -> Self {
        context.truncate(MAX_PING_CONTEXT);
        Ping { ttl_deciseconds, context }
    }

    /// The advertised TTL.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(u64::from(self.ttl_deciseconds) * 100)
    }

    /// The advertised TTL in tenths of a second, as on the wire.
    pub fn ttl_deciseconds(&self) -> u16 {
        self.ttl_deciseconds
    }

    /// The context (0..=16 bytes).
    pub fn context(&self) -> &Bytes {
        &self.context
    }

    /// The PONG answering this PING.
    pub fn pong(&self) -> Pong {
        Pong::new(self.context.clone())
    }

    /// Decodes from the command data.
    pub fn decode(data: Bytes) -> Result<Ping, DecodeError> {
        if data.len() < 2 {
            return Err(DecodeError::MalformedCommand {
                reason: "PING shorter than its 2-byte TTL",
            });
        }
        let ttl = u16::from_be_bytes([data[0], data[1]]);
        Ok(Self::from_deciseconds(ttl, data.slice(2..)))
    }

    pub(crate) fn data_len(&self) -> usize {
        2 + self.context.len()
    }

    pub(crate) fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_u16(self.ttl_deciseconds);
        dst.put_slice(&self.context);
    }

    /// Bytes of the whole frame.
    pub fn encoded_len(&self) -> usize {
        command::frame_len(PING.len(), self.data_len())
    }

    /// Writes the whole PING frame.
    pub fn encode(&self, dst: &mut impl BufMut) {
        command::put_header(PING, self.data_len(), dst);
        self.encode_data(dst);
    }
}

/// The PONG command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pong {
    context: Bytes,
}

impl Pong {
    /// A PONG carrying `context`.
    pub fn new(context: Bytes) -> Self {
        Pong { context }
    }

    /// The echoed context.
    pub fn context(&self) -> &Bytes {
        &self.context
    }

    /// Decodes from the command data (any data is the context).
    pub fn decode(data: Bytes) -> Pong {
        Pong { context: data }
    }

    /// Bytes of the whole frame.
    pub fn encoded_len(&self) -> usize {
        command::frame_len(PONG.len(), self.context.len())
    }

    /// Writes the whole PONG frame.
    pub fn encode(&self, dst: &mut impl BufMut) {
        command::put_header(PONG, self.context.len(), dst);
        dst.put_slice(&self.context);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::test_hex::{hex, unhex};

    fn enc_ping(p: &Ping) -> String {
        let mut v = Vec::new();
        p.encode(&mut v);
        assert_eq!(v.len(), p.encoded_len());
        hex(&v)
    }

    fn enc_pong(p: &Pong) -> String {
        let mut v = Vec::new();
        p.encode(&mut v);
        assert_eq!(v.len(), p.encoded_len());
        hex(&v)
    }

    #[test]
    fn ping_and_pong_bytes_match_the_captures() {
        // libzmq PING with HEARTBEAT_TTL=2000 ms, and with the default 0.
        assert_eq!(
            enc_ping(&Ping::new(Duration::from_secs(2), Bytes::new())),
            "04070450494e470014"
        );
        assert_eq!(enc_ping(&Ping::new(Duration::ZERO, Bytes::new())), "04070450494e470000");
        // Our PING ttl=30 with context ctx-0123, and libzmq's PONG echoing it.
        assert_eq!(
            enc_ping(&Ping::from_deciseconds(30, Bytes::from_static(b"ctx-0123"))),
            "040f0450494e47001e6374782d30313233"
        );
        assert_eq!(
            enc_pong(&Pong::new(Bytes::from_static(b"ctx-0123"))),
            "040d04504f4e476374782d30313233"
        );
        assert_eq!(enc_pong(&Pong::new(Bytes::new())), "040504504f4e47");
    }

    #[test]
    fn ping_decoding() {
        let p = Ping::decode(Bytes::from(unhex("001e6374782d30313233"))).unwrap();
        assert_eq!(p.ttl(), Duration::from_secs(3));
        assert_eq!(p.context(), &Bytes::from_static(b"ctx-0123"));
        assert_eq!(p.pong().context(), p.context());
        // The truncated PING that makes libzmq leak memory.
        assert!(matches!(Ping::decode(Bytes::new()), Err(DecodeError::MalformedCommand { .. })));
        assert!(Ping::decode(Bytes::from_static(b"\x00")).is_err());
        // Over-long context: truncated to 16 like libzmq.
        let long = Ping::decode(Bytes::from(vec![0u8; 2 + 40])).unwrap();
        assert_eq!(long.context().len(), MAX_PING_CONTEXT);
        assert_eq!(
            Ping::new(Duration::from_secs(100_000), Bytes::new()).ttl_deciseconds(),
            u16::MAX
        );
    }
}
