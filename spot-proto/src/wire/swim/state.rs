//! The full member-state blob carried in the PUSH_PULL extension's opaque `state` frame.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use super::update::{
    ENDPOINT_ANY, ENDPOINT_INPROC, ENDPOINT_IPV4, ENDPOINT_IPV6, ENDPOINT_NAME, endpoint_len,
    node_id_len, put_endpoint, put_node_id, put_tags, read_endpoint, read_node_id, read_state,
    read_tags, tags_len,
};
use super::{SWIM_MAGIC, SWIM_VERSION, read_magic_and_version};
use crate::endpoint::Endpoint;
use crate::wire::spot::{MAX_NODE_ID_LEN, MemberInfo, MemberState, NodeId, Tag};
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
        let (kind, cluster_id, count, mut reader) = read_head(blob, limits)?;
        let mut members = Vec::with_capacity(count);
        for _ in 0..count {
            members.push(read_entry(&mut reader, limits)?);
        }
        reader.finish("SWIM full state")?;
        Ok(FullState { kind, cluster_id, members })
    }
}

/// Checks the head of a blob; returns its kind, cluster id, member count and a reader at the
/// first entry.
fn read_head<'a>(
    blob: &'a Bytes,
    limits: &Limits,
) -> Result<(FullStateKind, u64, usize, Reader<'a>), DecodeError> {
    if blob.len() as u64 > limits.max_message_size {
        return Err(DecodeError::TooLarge {
            what: "SWIM full state",
            size: blob.len() as u64,
            limit: limits.max_message_size,
        });
    }
    let mut reader = Reader::new(blob);
    read_magic_and_version(&mut reader)?;
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
    Ok((kind, cluster_id, count, reader))
}

/// Reads one member entry.
fn read_entry(reader: &mut Reader<'_>, limits: &Limits) -> Result<MemberInfo, DecodeError> {
    let state = read_state(reader)?;
    let id = read_node_id(reader, limits)?;
    let incarnation = reader.u64("incarnation")?;
    let endpoint = read_endpoint(reader)?;
    let tags = read_tags(reader, limits)?;
    Ok(MemberInfo { id, endpoint, state, incarnation, tags })
}

/// The fields of a member entry that decide whether it says anything new, borrowed from the
/// blob, and where the entry starts (for [`FullStateView::info`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryRef<'a> {
    /// The announced state.
    pub(crate) state: MemberState,
    /// The member's node id bytes (a valid node id).
    pub(crate) id: &'a [u8],
    /// The member's incarnation.
    pub(crate) incarnation: u64,
    start: usize,
}

/// A full-state blob checked in place: [`FullState::decode`] accepts it, and its entries can be
/// walked without making a [`MemberInfo`] of each (a push-pull merge skips most of them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FullStateView<'a> {
    /// Request or response.
    pub(crate) kind: FullStateKind,
    /// The sender's cluster.
    pub(crate) cluster_id: u64,
    blob: &'a Bytes,
    first: usize,
    count: usize,
}

impl<'a> FullStateView<'a> {
    /// Checks `blob` as [`FullState::decode`] does (the same blobs are accepted), without
    /// building its members.
    pub(crate) fn check(blob: &'a Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let (kind, cluster_id, count, mut reader) = read_head(blob, limits)?;
        let first = reader.pos();
        let id_limit = limits.max_member_id_len.min(MAX_NODE_ID_LEN);
        for _ in 0..count {
            read_state(&mut reader)?;
            let id_len = usize::from(reader.u8("node id length")?);
            if id_len == 0 {
                return Err(DecodeError::EmptyField { what: "node id" });
            }
            if id_len > id_limit {
                return Err(DecodeError::TooLarge {
                    what: "node id",
                    size: id_len as u64,
                    limit: id_limit as u64,
                });
            }
            reader.take_slice(id_len, "node id")?;
            reader.u64("incarnation")?;
            read_endpoint(&mut reader)?;
            // An empty tag block (the usual case) needs no reading beyond its length.
            let tags_at = reader.pos();
            if reader.u16("tag block length")? != 0 {
                reader = Reader::at(blob, tags_at);
                read_tags(&mut reader, limits)?;
            }
        }
        reader.finish("SWIM full state")?;
        Ok(FullStateView { kind, cluster_id, blob, first, count })
    }

    /// The entries, in order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = EntryRef<'a>> + use<'a> {
        let mut reader = Reader::at(self.blob, self.first);
        (0..self.count).filter_map(move |_| {
            let start = reader.pos();
            let state = read_state(&mut reader).ok()?;
            let id_len = usize::from(reader.u8("node id length").ok()?);
            let id = reader.take_slice(id_len, "node id").ok()?;
            let incarnation = reader.u64("incarnation").ok()?;
            skip_endpoint_and_tags(&mut reader)?;
            Some(EntryRef { state, id, incarnation, start })
        })
    }

    /// The whole entry, as [`FullState::decode`] gives it.
    pub(crate) fn info(&self, entry: &EntryRef<'_>, limits: &Limits) -> Option<MemberInfo> {
        read_entry(&mut Reader::at(self.blob, entry.start), limits).ok()
    }
}

/// Steps over a checked entry's endpoint and tag block.
fn skip_endpoint_and_tags(reader: &mut Reader<'_>) -> Option<()> {
    let endpoint_len = match reader.u8("endpoint kind").ok()? {
        ENDPOINT_ANY => 2,
        ENDPOINT_IPV4 => 4 + 2,
        ENDPOINT_IPV6 => 16 + 2,
        ENDPOINT_NAME => usize::from(reader.u8("host name").ok()?) + 2,
        ENDPOINT_INPROC => usize::from(reader.u8("inproc name").ok()?),
        _ => return None,
    };
    reader.take_slice(endpoint_len, "endpoint").ok()?;
    let tags_len = usize::from(reader.u16("tag block length").ok()?);
    reader.take_slice(tags_len, "tag block").ok()?;
    Some(())
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
