//! The one probe message every datagram carries.

use bytes::BufMut;

use super::reader::Reader;
use super::update::{endpoint_len, node_id_len, put_endpoint, put_node_id, read_endpoint};
use super::update::{read_node_id, read_optional_node_id};
use crate::endpoint::Endpoint;
use crate::wire::spot::NodeId;
use crate::{DecodeError, Limits};

/// Message kind byte: PING.
pub const KIND_PING: u8 = 1;
/// Message kind byte: ACK.
pub const KIND_ACK: u8 = 2;
/// Message kind byte: PING_REQ.
pub const KIND_PING_REQ: u8 = 3;
/// Message kind byte: NACK.
pub const KIND_NACK: u8 = 4;
/// Message kind byte: PUSH_PULL_REQUEST.
pub const KIND_PUSH_PULL_REQUEST: u8 = 5;
/// Message kind byte: GOSSIP (updates only, no answer expected).
pub const KIND_GOSSIP: u8 = 6;

const PING_FLAG_SUSPICION: u8 = 0x01;
const PUSH_PULL_FLAG_JOIN: u8 = 0x01;

/// The probe message of a datagram (exactly one per datagram).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwimMessage {
    /// Are you alive? Answered by an ACK with the same `seq`.
    Ping {
        /// Sequence number the ACK echoes.
        seq: u32,
        /// The member the sender means to probe; `None` (while joining) means whoever listens at
        /// the endpoint. A node whose id differs does not answer.
        target: Option<NodeId>,
        /// Lifeguard's buddy system: the sender suspects the target at this incarnation, so the
        /// target can refute at once.
        suspicion: Option<u64>,
    },
    /// The answer to a PING (or, relayed by an intermediary, to a PING_REQ).
    Ack {
        /// The PING's or PING_REQ's sequence number.
        seq: u32,
    },
    /// Indirect probe: please PING `target` at `target_endpoint` and relay its ACK (or send a
    /// NACK when it does not answer in time).
    PingReq {
        /// Sequence number the relayed ACK or the NACK echoes.
        seq: u32,
        /// The member to probe.
        target: NodeId,
        /// Where the member listens.
        target_endpoint: Endpoint,
    },
    /// The intermediary of a PING_REQ did not hear from the target in time.
    Nack {
        /// The PING_REQ's sequence number.
        seq: u32,
    },
    /// Please open a connection to me and exchange full state (SPOT extension PUSH_PULL).
    PushPullRequest {
        /// The sender is joining and wants the whole state at once.
        join: bool,
    },
    /// Member updates only; no answer expected.
    Gossip,
}

impl SwimMessage {
    /// The kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            SwimMessage::Ping { .. } => KIND_PING,
            SwimMessage::Ack { .. } => KIND_ACK,
            SwimMessage::PingReq { .. } => KIND_PING_REQ,
            SwimMessage::Nack { .. } => KIND_NACK,
            SwimMessage::PushPullRequest { .. } => KIND_PUSH_PULL_REQUEST,
            SwimMessage::Gossip => KIND_GOSSIP,
        }
    }

    /// Bytes the message takes, kind byte included.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            SwimMessage::Ping { target, suspicion, .. } => {
                ping_body_len(target.as_ref(), *suspicion)
            }
            SwimMessage::Ack { .. } | SwimMessage::Nack { .. } => 4,
            SwimMessage::PingReq { target, target_endpoint, .. } => {
                4 + node_id_len(Some(target)) + endpoint_len(target_endpoint)
            }
            SwimMessage::PushPullRequest { .. } => 1,
            SwimMessage::Gossip => 0,
        }
    }

    pub(crate) fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_u8(self.kind());
        match self {
            SwimMessage::Ping { seq, target, suspicion } => {
                put_ping_body(buf, *seq, target.as_ref(), *suspicion);
            }
            SwimMessage::Ack { seq } | SwimMessage::Nack { seq } => buf.put_u32_le(*seq),
            SwimMessage::PingReq { seq, target, target_endpoint } => {
                buf.put_u32_le(*seq);
                put_node_id(buf, Some(target));
                put_endpoint(buf, target_endpoint);
            }
            SwimMessage::PushPullRequest { join } => {
                buf.put_u8(if *join { PUSH_PULL_FLAG_JOIN } else { 0 });
            }
            SwimMessage::Gossip => {}
        }
    }

    pub(crate) fn read(reader: &mut Reader<'_>, limits: &Limits) -> Result<Self, DecodeError> {
        let kind = reader.u8("message kind")?;
        Ok(match kind {
            KIND_PING => {
                let seq = reader.u32("PING sequence")?;
                let target = read_optional_node_id(reader, limits)?;
                let flags = reader.u8("PING flags")?;
                if flags & !PING_FLAG_SUSPICION != 0 {
                    return Err(DecodeError::InvalidValue {
                        what: "PING flags",
                        value: u64::from(flags),
                    });
                }
                let suspicion = if flags & PING_FLAG_SUSPICION != 0 {
                    Some(reader.u64("PING suspicion incarnation")?)
                } else {
                    None
                };
                SwimMessage::Ping { seq, target, suspicion }
            }
            KIND_ACK => SwimMessage::Ack { seq: reader.u32("ACK sequence")? },
            KIND_NACK => SwimMessage::Nack { seq: reader.u32("NACK sequence")? },
            KIND_PING_REQ => {
                let seq = reader.u32("PING_REQ sequence")?;
                let target = read_node_id(reader, limits)?;
                let target_endpoint = read_endpoint(reader)?;
                SwimMessage::PingReq { seq, target, target_endpoint }
            }
            KIND_PUSH_PULL_REQUEST => {
                let flags = reader.u8("PUSH_PULL_REQUEST flags")?;
                if flags & !PUSH_PULL_FLAG_JOIN != 0 {
                    return Err(DecodeError::InvalidValue {
                        what: "PUSH_PULL_REQUEST flags",
                        value: u64::from(flags),
                    });
                }
                SwimMessage::PushPullRequest { join: flags & PUSH_PULL_FLAG_JOIN != 0 }
            }
            KIND_GOSSIP => SwimMessage::Gossip,
            other => {
                return Err(DecodeError::InvalidValue {
                    what: "message kind",
                    value: u64::from(other),
                });
            }
        })
    }
}

/// Bytes of a PING's body (after the kind byte).
fn ping_body_len(target: Option<&NodeId>, suspicion: Option<u64>) -> usize {
    4 + node_id_len(target) + 1 + if suspicion.is_some() { 8 } else { 0 }
}

/// Writes a PING's body (after the kind byte).
fn put_ping_body<B: BufMut>(
    buf: &mut B,
    seq: u32,
    target: Option<&NodeId>,
    suspicion: Option<u64>,
) {
    buf.put_u32_le(seq);
    put_node_id(buf, target);
    match suspicion {
        Some(incarnation) => {
            buf.put_u8(PING_FLAG_SUSPICION);
            buf.put_u64_le(incarnation);
        }
        None => buf.put_u8(0),
    }
}

/// A probe message as [`super::DatagramWriter`] writes it: a [`SwimMessage`], or a
/// [`PingRef`] that borrows its target's id instead of owning a clone.
pub(crate) trait MessageBody {
    /// Bytes the message takes, kind byte included.
    fn encoded_len(&self) -> usize;
    /// Writes the message, kind byte included.
    fn encode<B: BufMut>(&self, buf: &mut B);
}

impl MessageBody for SwimMessage {
    fn encoded_len(&self) -> usize {
        SwimMessage::encoded_len(self)
    }

    fn encode<B: BufMut>(&self, buf: &mut B) {
        SwimMessage::encode(self, buf);
    }
}

/// A PING naming its target by reference: the same bytes as [`SwimMessage::Ping`] with
/// `target: Some(target.clone())`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PingRef<'a> {
    /// Sequence number the ACK echoes.
    pub(crate) seq: u32,
    /// The member probed.
    pub(crate) target: &'a NodeId,
    /// The incarnation at which we suspect it (buddy system).
    pub(crate) suspicion: Option<u64>,
}

impl MessageBody for PingRef<'_> {
    fn encoded_len(&self) -> usize {
        1 + ping_body_len(Some(self.target), self.suspicion)
    }

    fn encode<B: BufMut>(&self, buf: &mut B) {
        buf.put_u8(KIND_PING);
        put_ping_body(buf, self.seq, Some(self.target), self.suspicion);
    }
}
