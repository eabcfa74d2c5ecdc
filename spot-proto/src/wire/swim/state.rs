//! The full member-state blob carried in the PUSH_PULL extension's opaque `state` frame.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use super::update::{
    endpoint_len, node_id_len, put_endpoint, put_node_id, put_tags, read_endpoint, read_node_id,
    read_state, read_tags, tags_len,
};
use super::{SWIM_MAGIC, SWIM_VERSION};
use crate::endpoint::Endpoint;
use crate::wire::spot::{MemberInfo, MemberState, NodeId, Tag};
use crate::{DecodeError, Limits};

const KIND_REQUEST: u8 = 0x10;
const KIND_RESPONSE: u8 = 0x11;

/// Whether a full-state blob asks for the receiver's state in return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FullStateKind {
    /// Sent by the side that opened the exchange; the receiver answers with its own state.
    Request,
    /// The answer; nothing follows.
    Response,
}

/// A member's full state as push-pull carries it: the sender's whole member table (itself
/// included), each entry with its endpoint and tags whatever its state.
///
/// Layout: magic `53 57`, version `01`, kind (`10` request, `11` response), cluster id `u64`,
/// member count `u32` (checked against the bytes present), then per member `state: u8`, `id`,
/// `incarnation: u64`, `endpoint` (binary), tag block. The whole blob is at most
/// [`Limits::max_message_size`] bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullState {
    /// Request or response.
    pub kind: FullStateKind,
    /// The sender's cluster.
    pub cluster_id: u64,
    /// Every member the sender knows, itself included.
    pub members: Vec<MemberInfo>,
}

/// Smallest entry: state (1), id (2), incarnation (8), endpoint (3), tag block length (2).
const MIN_ENTRY_LEN: usize = 16;
pub(crate) const HEAD_LEN: usize = 2 + 1 + 1 + 8 + 4;

/// Bytes one member entry takes.
pub(crate) fn entry_len(member: &MemberInfo) -> usize {
    entry_fields_len(&member.id, &member.endpoint, &member.tags)
}

/// Bytes one member entry with these fields takes.
pub(crate) fn entry_fields_len(id: &NodeId, endpoint: &Endpoint, tags: &[Tag]) -> usize {
    1 + node_id_len(Some(id)) + 8 + endpoint_len(endpoint) + tags_len(tags)
}

/// Appends one member entry.
pub(crate) fn put_entry(buf: &mut BytesMut, member: &MemberInfo) {
    put_entry_fields(
        buf,
        member.state,
        &member.id,
        member.incarnation,
        &member.endpoint,
        &member.tags,
    );
}

/// Appends one member entry from its fields.
pub(crate) fn put_entry_fields(
    buf: &mut BytesMut,
    state: MemberState,
    id: &NodeId,
    incarnation: u64,
    endpoint: &Endpoint,
    tags: &[Tag],
) {
    // Most entries are short: assemble them on the stack and copy once (a handful of small
    // writes into a `BytesMut` cost more than the bytes).
    let len = entry_fields_len(id, endpoint, tags);
    if len <= STACK_ENTRY_LEN {
        let mut stack = [0u8; STACK_ENTRY_LEN];
        let mut writer = &mut stack[..];
        write_entry_fields(&mut writer, state, id, incarnation, endpoint, tags);
        // (The computed length is an upper bound: copy what was written.)
        let written = STACK_ENTRY_LEN - writer.len();
        buf.put_slice(&stack[..written]);
    } else {
        write_entry_fields(buf, state, id, incarnation, endpoint, tags);
    }
}

/// Entries up to this many bytes are assembled on the stack.
const STACK_ENTRY_LEN: usize = 128;

fn write_entry_fields<B: BufMut>(
    buf: &mut B,
    state: MemberState,
    id: &NodeId,
    incarnation: u64,
    endpoint: &Endpoint,
    tags: &[Tag],
) {
    buf.put_u8(state.as_u8());
    put_node_id(buf, Some(id));
    buf.put_u64_le(incarnation);
    put_endpoint(buf, endpoint);
    put_tags(buf, tags);
}

impl FullState {
    /// Encodes the blob. Members are taken in order while the blob stays within
    /// [`Limits::max_message_size`]; returns the bytes and how many members they hold.
    pub fn encode(&self, limits: &Limits) -> (Bytes, usize) {
        let max = usize::try_from(limits.max_message_size).unwrap_or(usize::MAX);
        let mut total = HEAD_LEN;
        let mut fitting = 0usize;
        for member in &self.members {
            let next = total + entry_len(member);
            if next > max || fitting == u32::MAX as usize {
                break;
            }
            total = next;
            fitting += 1;
        }
        let mut buf = BytesMut::with_capacity(total);
        put_head(&mut buf, self.kind, self.cluster_id, fitting);
        for member in &self.members[..fitting] {
            put_entry(&mut buf, member);
        }
        (buf.freeze(), fitting)
    }

    /// Decodes a blob; every violation is a typed [`DecodeError`].
    pub fn decode(blob: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        if blob.len() as u64 > limits.max_message_size {
            return Err(DecodeError::TooLarge {
                what: "SWIM full state",
                size: blob.len() as u64,
                limit: limits.max_message_size,
            });
        }
        let mut reader = Reader::new(blob);
        let magic: [u8; 2] = reader.array("SWIM magic")?;
        if magic != SWIM_MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = reader.u8("SWIM version")?;
        if version != SWIM_VERSION {
            return Err(DecodeError::UnsupportedSwimVersion { version });
        }
        let kind = match reader.u8("full state kind")? {
            KIND_REQUEST => FullStateKind::Request,
            KIND_RESPONSE => FullStateKind::Response,
            other => {
                return Err(DecodeError::InvalidValue {
                    what: "full state kind",
                    value: u64::from(other),
                });
            }
        };
        let cluster_id = reader.u64("cluster id")?;
        let count = usize::try_from(reader.u32("member count")?).unwrap_or(usize::MAX);
        let needed = count.saturating_mul(MIN_ENTRY_LEN);
        if needed > reader.remaining() {
            return Err(DecodeError::Truncated {
                what: "full state members",
                needed,
                available: reader.remaining(),
            });
        }
        let mut members = Vec::with_capacity(count);
        for _ in 0..count {
            let state = read_state(&mut reader)?;
            let id = read_node_id(&mut reader, limits)?;
            let incarnation = reader.u64("incarnation")?;
            let endpoint = read_endpoint(&mut reader)?;
            let tags = read_tags(&mut reader, limits)?;
            members.push(MemberInfo { id, endpoint, state, incarnation, tags });
        }
        reader.finish("SWIM full state")?;
        Ok(FullState { kind, cluster_id, members })
    }
}

/// Writes the blob's head for `count` members that the caller appends with [`put_entry`].
pub(crate) fn put_head(buf: &mut BytesMut, kind: FullStateKind, cluster_id: u64, count: usize) {
    buf.put_slice(&SWIM_MAGIC);
    buf.put_u8(SWIM_VERSION);
    buf.put_u8(match kind {
        FullStateKind::Request => KIND_REQUEST,
        FullStateKind::Response => KIND_RESPONSE,
    });
    buf.put_u64_le(cluster_id);
    buf.put_u32_le(u32::try_from(count).unwrap_or(u32::MAX));
}
