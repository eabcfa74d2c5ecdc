//! SWIM datagrams (UDP, on the same port number as the node's TCP listener), format version 1.
//!
//! A datagram is a clear header, exactly one probe message ([`SwimMessage`]) and as many member
//! updates ([`MemberUpdate`]) as fit [`Limits::max_datagram_size`]:
//!
//! | bytes | field | notes |
//! |---|---|---|
//! | 2 | magic | `53 57` (`"SW"`) |
//! | 1 | version | `01` ([`SWIM_VERSION`]) |
//! | 1 | flags | bit 0 ENCRYPTED; other bits zero |
//! | 8 | cluster id | `u64` LE ([`cluster_id_from_name`]) |
//! | 1 + 12 + 16 | key id, nonce, tag | only when ENCRYPTED; the rest is then ciphertext |
//! | 1 + n | sender | node id (1..=255 bytes) |
//! | 1 + … | message | kind byte and body ([`SwimMessage`]) |
//! | 1 | update count | ≤ [`Limits::max_updates_per_datagram`] |
//! | … | updates | [`MemberUpdate`] × count |
//!
//! The full-state blob carried in the PUSH_PULL extension's opaque `state` frame is
//! [`FullState`]. `docs/SWIM.md` specifies every byte, with a worked example.
//!
//! Decoding borrows nothing and copies little: node ids and tags are slices of the received
//! [`Bytes`]; only host and inproc names become `String`s (inside [`Endpoint`]).
//! Encryption is not implemented yet: the header has room for it, and a datagram with the
//! ENCRYPTED flag decodes to [`DecodeError::Unauthenticated`] because no key is configured.

mod message;
mod quick;
mod reader;
mod state;
mod update;

#[cfg(test)]
mod tests;

use bytes::{BufMut, Bytes, BytesMut};

pub use message::{
    KIND_ACK, KIND_GOSSIP, KIND_NACK, KIND_PING, KIND_PING_REQ, KIND_PUSH_PULL_REQUEST, SwimMessage,
};
pub(crate) use message::{MessageBody, PingRef};
pub(crate) use quick::{QuickDatagram, QuickMessage};
pub(crate) use state::{EntryRef, FullStateView};
pub use state::{FullState, FullStateKind};
pub(crate) use state::{
    HEAD_LEN as FULL_STATE_HEAD_LEN, entry_fields_len, put_entry_fields, put_head,
};
pub use update::{MIN_UPDATE_LEN, MemberUpdate, UpdateKind};

use reader::Reader;
use update::{node_id_len, put_node_id, read_node_id};

use crate::endpoint::Endpoint;
use crate::wire::spot::NodeId;
use crate::{DecodeError, Limits};

/// The first two bytes of every SWIM datagram.
pub const SWIM_MAGIC: [u8; 2] = *b"SW";
/// The datagram format version this crate speaks.
pub const SWIM_VERSION: u8 = 1;
/// Header flag: the datagram is encrypted (key id, nonce and tag follow the cluster id).
pub const FLAG_ENCRYPTED: u8 = 0x01;
/// Length of the nonce of an encrypted datagram.
pub const NONCE_LEN: usize = 12;
/// Length of the authentication tag of an encrypted datagram.
pub const AUTH_TAG_LEN: usize = 16;
/// Bytes of the clear header before the sender: magic, version, flags, cluster id.
pub const CLEAR_HEADER_LEN: usize = 12;

/// The cluster id of a cluster name: 64-bit FNV-1a of its UTF-8 bytes (stable forever).
pub fn cluster_id_from_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A decoded SWIM datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwimDatagram {
    /// The sender's cluster.
    pub cluster_id: u64,
    /// The sending member's node id.
    pub sender: NodeId,
    /// The probe message.
    pub message: SwimMessage,
    /// The piggybacked member updates.
    pub updates: Vec<MemberUpdate>,
}

fn max_updates(limits: &Limits) -> usize {
    limits.max_updates_per_datagram.min(usize::from(u8::MAX))
}

impl SwimDatagram {
    /// Decodes a datagram of any cluster. Every violation is a typed [`DecodeError`]; the update
    /// count is checked against the bytes present before anything is allocated.
    pub fn decode(datagram: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        Self::decode_inner(datagram, None, limits, None)
    }

    /// Decodes a datagram and checks that it belongs to `cluster_id`
    /// ([`DecodeError::ClusterMismatch`] otherwise).
    pub fn decode_for_cluster(
        datagram: &Bytes,
        cluster_id: u64,
        limits: &Limits,
    ) -> Result<Self, DecodeError> {
        Self::decode_inner(datagram, Some(cluster_id), limits, None)
    }

    /// [`Self::decode_for_cluster`], also giving where each update's encoding lies in the
    /// datagram: `spans[i]` is the byte range of `updates[i]` (`spans` is cleared first).
    pub(crate) fn decode_for_cluster_with_spans(
        datagram: &Bytes,
        cluster_id: u64,
        limits: &Limits,
        spans: &mut Vec<core::ops::Range<usize>>,
    ) -> Result<Self, DecodeError> {
        spans.clear();
        Self::decode_inner(datagram, Some(cluster_id), limits, Some(spans))
    }

    fn decode_inner(
        datagram: &Bytes,
        expected_cluster: Option<u64>,
        limits: &Limits,
        mut spans: Option<&mut Vec<core::ops::Range<usize>>>,
    ) -> Result<Self, DecodeError> {
        if datagram.len() > limits.max_datagram_size {
            return Err(DecodeError::TooLarge {
                what: "SWIM datagram",
                size: datagram.len() as u64,
                limit: limits.max_datagram_size as u64,
            });
        }
        let mut reader = Reader::new(datagram);
        read_magic_and_version(&mut reader)?;
        let flags = reader.u8("SWIM flags")?;
        if flags & !FLAG_ENCRYPTED != 0 {
            return Err(DecodeError::InvalidValue { what: "SWIM flags", value: u64::from(flags) });
        }
        let cluster_id = reader.u64("cluster id")?;
        if expected_cluster.is_some_and(|expected| expected != cluster_id) {
            return Err(DecodeError::ClusterMismatch);
        }
        if flags & FLAG_ENCRYPTED != 0 {
            let key_id = reader.u8("key id")?;
            reader.take(NONCE_LEN, "nonce")?;
            reader.take(AUTH_TAG_LEN, "authentication tag")?;
            // No key is ever configured in this version: nothing can be authenticated.
            return Err(DecodeError::Unauthenticated { key_id });
        }
        let sender = read_node_id(&mut reader, limits)?;
        let message = SwimMessage::read(&mut reader, limits)?;
        let count = usize::from(reader.u8("update count")?);
        let limit = max_updates(limits);
        if count > limit {
            return Err(DecodeError::TooLarge {
                what: "updates per datagram",
                size: count as u64,
                limit: limit as u64,
            });
        }
        let needed = count * MIN_UPDATE_LEN;
        if needed > reader.remaining() {
            return Err(DecodeError::Truncated {
                what: "member updates",
                needed,
                available: reader.remaining(),
            });
        }
        let mut updates = Vec::with_capacity(count);
        for _ in 0..count {
            let start = reader.pos();
            updates.push(MemberUpdate::read(&mut reader, limits)?);
            if let Some(spans) = spans.as_deref_mut() {
                spans.push(start..reader.pos());
            }
        }
        reader.finish("SWIM datagram")?;
        Ok(SwimDatagram { cluster_id, sender, message, updates })
    }

    /// Encodes the datagram into `buf`, with as many of its updates as fit
    /// [`Limits::max_datagram_size`] and [`Limits::max_updates_per_datagram`], taken in order
    /// (the first that does not fit ends the list). Returns how many updates it took.
    pub fn encode(&self, limits: &Limits, buf: &mut BytesMut) -> usize {
        let mut writer =
            DatagramWriter::new(buf, self.cluster_id, &self.sender, &self.message, limits);
        for update in &self.updates {
            if !writer.push(update) {
                break;
            }
        }
        writer.finish()
    }

    /// Encodes the datagram into a new buffer (all updates that fit; see [`Self::encode`]).
    pub fn to_bytes(&self, limits: &Limits) -> Bytes {
        let mut buf = BytesMut::with_capacity(limits.max_datagram_size.min(64 << 10));
        self.encode(limits, &mut buf);
        buf.freeze()
    }
}

/// Writes one datagram into a [`BytesMut`]: the header and message at once, then updates one by
/// one while they fit the size and count limits.
///
/// ```
/// # use bytes::BytesMut;
/// # use spot_proto::Limits;
/// # use spot_proto::wire::spot::NodeId;
/// # use spot_proto::wire::swim::{DatagramWriter, MemberUpdate, SwimMessage, UpdateKind};
/// let limits = Limits::default();
/// let me = NodeId::copy_from_str("a", &limits).unwrap();
/// let dead = MemberUpdate { id: NodeId::copy_from_str("b", &limits).unwrap(), incarnation: 2, kind: UpdateKind::Dead };
/// let mut buf = BytesMut::new();
/// let mut writer = DatagramWriter::new(&mut buf, 7, &me, &SwimMessage::Ack { seq: 1 }, &limits);
/// assert!(writer.push(&dead));
/// assert_eq!(writer.finish(), 1);
/// ```
pub struct DatagramWriter<'b> {
    buf: &'b mut BytesMut,
    start: usize,
    count_pos: usize,
    count: usize,
    max_len: usize,
    max_count: usize,
}

/// Datagram headers up to this many bytes are assembled on the stack.
const STACK_HEAD_LEN: usize = 128;

/// The clear header, the sender, the message and a zero update count.
fn write_head<B: BufMut, M: MessageBody>(
    buf: &mut B,
    cluster_id: u64,
    sender: &NodeId,
    message: &M,
) {
    buf.put_slice(&SWIM_MAGIC);
    buf.put_u8(SWIM_VERSION);
    buf.put_u8(0);
    buf.put_u64_le(cluster_id);
    put_node_id(buf, Some(sender));
    message.encode(buf);
    buf.put_u8(0);
}

/// The clear header and the sender of one member's datagrams, kept inline (no heap pointer to
/// follow), for [`DatagramWriter::with_prefix`]. Empty when it does not fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DatagramPrefix {
    len: u8,
    bytes: [u8; Self::CAPACITY],
}

impl DatagramPrefix {
    const CAPACITY: usize = 63;

    /// The prefix of `sender`'s datagrams in `cluster_id` (empty if the id is too long).
    pub(crate) fn new(cluster_id: u64, sender: &NodeId) -> Self {
        let mut bytes = [0u8; Self::CAPACITY];
        let len = CLEAR_HEADER_LEN + node_id_len(Some(sender));
        if len > Self::CAPACITY {
            return DatagramPrefix { len: 0, bytes };
        }
        let mut writer = &mut bytes[..];
        writer.put_slice(&SWIM_MAGIC);
        writer.put_u8(SWIM_VERSION);
        writer.put_u8(0);
        writer.put_u64_le(cluster_id);
        put_node_id(&mut writer, Some(sender));
        DatagramPrefix { len: len as u8, bytes }
    }

    /// The encoded prefix, `None` if it did not fit.
    pub(crate) fn get(&self) -> Option<&[u8]> {
        (self.len > 0).then(|| &self.bytes[..usize::from(self.len)])
    }

    /// Whether `id` is the sender's id (`None` if the prefix did not fit: compare the ids).
    pub(crate) fn is_sender(&self, id: &NodeId) -> Option<bool> {
        self.is_sender_bytes(id.as_bytes())
    }

    /// [`Self::is_sender`] for a node id's bytes.
    pub(crate) fn is_sender_bytes(&self, id: &[u8]) -> Option<bool> {
        self.get().map(|prefix| &prefix[CLEAR_HEADER_LEN + 1..] == id)
    }
}

impl<'b> DatagramWriter<'b> {
    /// An upper bound of the bytes [`Self::new`] writes (header, sender, message, update count),
    /// to size a buffer before any update is added.
    pub fn head_len(sender: &NodeId, message: &SwimMessage) -> usize {
        Self::head_len_of(sender, message)
    }

    pub(crate) fn head_len_of<M: MessageBody>(sender: &NodeId, message: &M) -> usize {
        CLEAR_HEADER_LEN + node_id_len(Some(sender)) + message.encoded_len() + 1
    }

    /// Writes the header and the message; updates follow with [`Self::push`].
    pub fn new(
        buf: &'b mut BytesMut,
        cluster_id: u64,
        sender: &NodeId,
        message: &SwimMessage,
        limits: &Limits,
    ) -> Self {
        Self::new_with(buf, cluster_id, sender, message, limits)
    }

    /// [`Self::new`] for any [`MessageBody`].
    pub(crate) fn new_with<M: MessageBody>(
        buf: &'b mut BytesMut,
        cluster_id: u64,
        sender: &NodeId,
        message: &M,
        limits: &Limits,
    ) -> Self {
        let start = buf.len();
        let head_len = Self::head_len_of(sender, message);
        if head_len <= STACK_HEAD_LEN {
            // The usual case: assemble the header on the stack and copy it once.
            // (The computed length is an upper bound: copy what was written.)
            let mut stack = [0u8; STACK_HEAD_LEN];
            let mut writer = &mut stack[..];
            write_head(&mut writer, cluster_id, sender, message);
            let written = STACK_HEAD_LEN - writer.len();
            buf.put_slice(&stack[..written]);
        } else {
            buf.reserve(head_len);
            write_head(buf, cluster_id, sender, message);
        }
        DatagramWriter::after_head(buf, start, limits)
    }

    /// The writer once the head (ending in the update count byte) is in `buf` from `start`.
    fn after_head(buf: &'b mut BytesMut, start: usize, limits: &Limits) -> Self {
        Self::after_head_bounded(buf, start, limits.max_datagram_size, max_updates(limits))
    }

    fn after_head_bounded(
        buf: &'b mut BytesMut,
        start: usize,
        max_len: usize,
        max_count: usize,
    ) -> Self {
        let count_pos = buf.len() - 1;
        DatagramWriter { buf, start, count_pos, count: 0, max_len, max_count }
    }

    /// [`Self::new`] with the header and sender already encoded (the same bytes), and the
    /// limits' [`Limits::max_datagram_size`] and [`Limits::max_updates_per_datagram`] given.
    pub(crate) fn with_prefix<M: MessageBody>(
        buf: &'b mut BytesMut,
        prefix: &[u8],
        message: &M,
        max_datagram_size: usize,
        max_updates_per_datagram: usize,
    ) -> Self {
        let start = buf.len();
        let head_len = prefix.len() + message.encoded_len() + 1;
        let mut stack = [0u8; STACK_HEAD_LEN];
        if head_len <= STACK_HEAD_LEN {
            stack[..prefix.len()].copy_from_slice(prefix);
            let mut writer = &mut stack[prefix.len()..];
            message.encode(&mut writer);
            writer.put_u8(0);
            let written = STACK_HEAD_LEN - writer.len();
            buf.put_slice(&stack[..written]);
        } else {
            buf.reserve(head_len);
            buf.put_slice(prefix);
            message.encode(buf);
            buf.put_u8(0);
        }
        DatagramWriter::after_head_bounded(
            buf,
            start,
            max_datagram_size,
            max_updates_per_datagram.min(usize::from(u8::MAX)),
        )
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether nothing was written (never: the header is written at once).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an update of `encoded_len` bytes still fits.
    pub fn fits(&self, encoded_len: usize) -> bool {
        self.count < self.max_count && self.len() + encoded_len <= self.max_len
    }

    /// Appends an update if it fits; returns whether it did.
    pub fn push(&mut self, update: &MemberUpdate) -> bool {
        if !self.fits(update.encoded_len()) {
            return false;
        }
        update.encode(self.buf);
        self.count += 1;
        true
    }

    /// Appends an update already encoded by [`MemberUpdate::encode`] or
    /// [`MemberUpdate::to_bytes`], if it fits; returns whether it did.
    pub fn push_encoded(&mut self, encoded: &[u8]) -> bool {
        if !self.fits(encoded.len()) {
            return false;
        }
        self.buf.put_slice(encoded);
        self.count += 1;
        true
    }

    /// Updates written so far.
    pub fn update_count(&self) -> usize {
        self.count
    }

    /// Completes the datagram; returns how many updates it holds.
    pub fn finish(self) -> usize {
        self.buf[self.count_pos] = self.count as u8;
        self.count
    }
}

/// Where a datagram goes: a member's advertised endpoint (the driver sends UDP to the same port
/// number) and the encoded bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The receiver's advertised endpoint.
    pub to: Endpoint,
    /// The encoded datagram.
    pub payload: Bytes,
}

/// Reads the magic and version that open every SWIM datagram and full-state blob.
fn read_magic_and_version(reader: &mut Reader<'_>) -> Result<(), DecodeError> {
    let magic: [u8; 2] = reader.array("SWIM magic")?;
    if magic != SWIM_MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = reader.u8("SWIM version")?;
    if version != SWIM_VERSION {
        return Err(DecodeError::UnsupportedSwimVersion { version });
    }
    Ok(())
}
