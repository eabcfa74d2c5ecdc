//! A borrowed look at the datagrams of a quiet cluster: a PING that names its target, an ACK or
//! a NACK, with no member update. Such a datagram is read in place (no `Bytes` slice, no
//! reference count, no allocation); anything else, malformed datagrams included, is left to
//! [`super::SwimDatagram::decode_for_cluster`], which accepts exactly what this accepts and more.

use super::message::{KIND_ACK, KIND_NACK, KIND_PING};
use super::{CLEAR_HEADER_LEN, SWIM_MAGIC, SWIM_VERSION};

use crate::wire::spot::MAX_NODE_ID_LEN;

/// The probe message of a [`QuickDatagram`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QuickMessage<'a> {
    /// A PING naming its target, without a suspicion.
    Ping {
        /// Sequence number the ACK echoes.
        seq: u32,
        /// The target's node id bytes.
        target: &'a [u8],
    },
    /// An ACK.
    Ack {
        /// The PING's sequence number.
        seq: u32,
    },
    /// A NACK.
    Nack {
        /// The PING_REQ's sequence number.
        seq: u32,
    },
}

/// A datagram of the common kinds, borrowed from the received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QuickDatagram<'a> {
    /// The sender's node id bytes (a valid node id).
    pub(crate) sender: &'a [u8],
    /// The message.
    pub(crate) message: QuickMessage<'a>,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes(field.try_into().ok()?))
}

impl<'a> QuickDatagram<'a> {
    /// Reads `datagram` if it is a valid datagram of cluster `cluster_id` holding a PING with a
    /// target and no suspicion, an ACK or a NACK, and no update; `None` otherwise (decode it
    /// fully then: it may be another kind, or malformed).
    /// (`max_datagram_size` and `max_member_id_len` are those of [`crate::Limits`].)
    pub(crate) fn peek(
        datagram: &'a [u8],
        cluster_id: u64,
        max_datagram_size: usize,
        max_member_id_len: usize,
    ) -> Option<Self> {
        if datagram.len() > max_datagram_size || datagram.len() < CLEAR_HEADER_LEN + 2 {
            return None;
        }
        let (head, rest) = datagram.split_at(CLEAR_HEADER_LEN);
        // Magic, version, flags 0 (not encrypted), then our cluster id.
        let mut expected = [0u8; CLEAR_HEADER_LEN];
        expected[..2].copy_from_slice(&SWIM_MAGIC);
        expected[2] = SWIM_VERSION;
        expected[4..].copy_from_slice(&cluster_id.to_le_bytes());
        if head != expected {
            return None;
        }
        let id_limit = max_member_id_len.min(MAX_NODE_ID_LEN);
        let valid_id = |len: usize| (1..=id_limit).contains(&len);
        let sender_len = usize::from(rest[0]);
        if !valid_id(sender_len) {
            return None;
        }
        let sender = rest.get(1..1 + sender_len)?;
        let body = &rest[1 + sender_len..];
        let (message, used) = match *body.first()? {
            KIND_PING => {
                let seq = u32_at(body, 1)?;
                let target_len = usize::from(*body.get(5)?);
                if !valid_id(target_len) {
                    return None;
                }
                let target = body.get(6..6 + target_len)?;
                // PING flags: no suspicion.
                if *body.get(6 + target_len)? != 0 {
                    return None;
                }
                (QuickMessage::Ping { seq, target }, 7 + target_len)
            }
            KIND_ACK => (QuickMessage::Ack { seq: u32_at(body, 1)? }, 5),
            KIND_NACK => (QuickMessage::Nack { seq: u32_at(body, 1)? }, 5),
            _ => return None,
        };
        // Then an update count of zero, and nothing after it.
        if body.len() != used + 1 || body[used] != 0 {
            return None;
        }
        Some(QuickDatagram { sender, message })
    }
}
