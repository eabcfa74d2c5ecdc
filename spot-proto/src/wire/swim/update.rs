//! Member updates: the gossip entries piggybacked on every datagram, and the field encodings they
//! share with the full-state blob (binary endpoints, node ids, tag blocks).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use crate::endpoint::{Endpoint, Host};
use crate::wire::spot::{MAX_NODE_ID_LEN, MemberState, NodeId, Tag, Utf8Bytes};
use crate::{DecodeError, Limits};

/// Endpoint kind byte: `tcp://*:port`.
pub(crate) const ENDPOINT_ANY: u8 = 0;
/// Endpoint kind byte: `tcp://a.b.c.d:port`.
pub(crate) const ENDPOINT_IPV4: u8 = 1;
/// Endpoint kind byte: `tcp://[v6]:port`.
pub(crate) const ENDPOINT_IPV6: u8 = 2;
/// Endpoint kind byte: `tcp://host.name:port`.
pub(crate) const ENDPOINT_NAME: u8 = 3;
/// Endpoint kind byte: `inproc://name`.
pub(crate) const ENDPOINT_INPROC: u8 = 4;

/// Bytes an endpoint takes in its binary form.
pub(crate) fn endpoint_len(endpoint: &Endpoint) -> usize {
    match endpoint {
        Endpoint::Tcp { host: Host::Any, .. } => 1 + 2,
        Endpoint::Tcp { host: Host::Ip(IpAddr::V4(_)), .. } => 1 + 4 + 2,
        Endpoint::Tcp { host: Host::Ip(IpAddr::V6(_)), .. } => 1 + 16 + 2,
        Endpoint::Tcp { host: Host::Name(name), .. } => 1 + 1 + name.len().min(255) + 2,
        Endpoint::Inproc(name) => 1 + 1 + name.len().min(255),
    }
}

/// Writes an endpoint in its binary form. A name longer than 255 bytes (only possible in a
/// hand-built, unvalidated [`Endpoint`]) is written as empty, which every receiver rejects.
pub(crate) fn put_endpoint<B: BufMut>(buf: &mut B, endpoint: &Endpoint) {
    fn put_name<B: BufMut>(buf: &mut B, name: &str) {
        if name.len() > 255 {
            buf.put_u8(0);
        } else {
            buf.put_u8(name.len() as u8);
            buf.put_slice(name.as_bytes());
        }
    }
    match endpoint {
        Endpoint::Tcp { host: Host::Any, port } => {
            buf.put_u8(ENDPOINT_ANY);
            buf.put_u16_le(*port);
        }
        Endpoint::Tcp { host: Host::Ip(IpAddr::V4(addr)), port } => {
            buf.put_u8(ENDPOINT_IPV4);
            buf.put_slice(&addr.octets());
            buf.put_u16_le(*port);
        }
        Endpoint::Tcp { host: Host::Ip(IpAddr::V6(addr)), port } => {
            buf.put_u8(ENDPOINT_IPV6);
            buf.put_slice(&addr.octets());
            buf.put_u16_le(*port);
        }
        Endpoint::Tcp { host: Host::Name(name), port } => {
            buf.put_u8(ENDPOINT_NAME);
            put_name(buf, name);
            buf.put_u16_le(*port);
        }
        Endpoint::Inproc(name) => {
            buf.put_u8(ENDPOINT_INPROC);
            put_name(buf, name);
        }
    }
}

fn read_name(reader: &mut Reader<'_>, what: &'static str) -> Result<Utf8Bytes, DecodeError> {
    let len = usize::from(reader.u8(what)?);
    if len == 0 {
        return Err(DecodeError::EmptyField { what });
    }
    Utf8Bytes::new(reader.take(len, what)?, what)
}

/// Reads an endpoint in its binary form; names are validated by [`Endpoint`]'s parser.
pub(crate) fn read_endpoint(reader: &mut Reader<'_>) -> Result<Endpoint, DecodeError> {
    let kind = reader.u8("endpoint kind")?;
    match kind {
        ENDPOINT_ANY => Ok(Endpoint::Tcp { host: Host::Any, port: reader.u16("endpoint port")? }),
        ENDPOINT_IPV4 => {
            let octets: [u8; 4] = reader.array("IPv4 address")?;
            let port = reader.u16("endpoint port")?;
            Ok(Endpoint::tcp(Ipv4Addr::from(octets), port))
        }
        ENDPOINT_IPV6 => {
            let octets: [u8; 16] = reader.array("IPv6 address")?;
            let port = reader.u16("endpoint port")?;
            Ok(Endpoint::tcp(Ipv6Addr::from(octets), port))
        }
        ENDPOINT_NAME => {
            let name = read_name(reader, "host name")?;
            let port = reader.u16("endpoint port")?;
            let text = format!("tcp://{name}:{port}");
            text.parse().map_err(DecodeError::InvalidEndpoint)
        }
        ENDPOINT_INPROC => {
            let name = read_name(reader, "inproc name")?;
            Endpoint::inproc(name.as_str()).map_err(DecodeError::InvalidEndpoint)
        }
        other => Err(DecodeError::InvalidValue { what: "endpoint kind", value: u64::from(other) }),
    }
}

/// Writes a node id: length (u8), bytes. `None` is written as length 0.
pub(crate) fn put_node_id<B: BufMut>(buf: &mut B, id: Option<&NodeId>) {
    match id {
        Some(id) => {
            let len = id.len().min(MAX_NODE_ID_LEN);
            buf.put_u8(len as u8);
            buf.put_slice(&id.as_bytes()[..len]);
        }
        None => buf.put_u8(0),
    }
}

pub(crate) fn node_id_len(id: Option<&NodeId>) -> usize {
    1 + id.map_or(0, |id| id.len().min(MAX_NODE_ID_LEN))
}

/// Reads a node id that may be absent (length 0).
pub(crate) fn read_optional_node_id(
    reader: &mut Reader<'_>,
    limits: &Limits,
) -> Result<Option<NodeId>, DecodeError> {
    let len = usize::from(reader.u8("node id length")?);
    if len == 0 {
        return Ok(None);
    }
    NodeId::new(reader.take(len, "node id")?, limits).map(Some)
}

/// Reads a node id that must be present.
pub(crate) fn read_node_id(
    reader: &mut Reader<'_>,
    limits: &Limits,
) -> Result<NodeId, DecodeError> {
    read_optional_node_id(reader, limits)?.ok_or(DecodeError::EmptyField { what: "node id" })
}

/// Bytes the tag block takes: length (u16), then every tag.
pub(crate) fn tags_len(tags: &[Tag]) -> usize {
    2 + tags.iter().map(Tag::encoded_len).sum::<usize>()
}

/// Writes a tag block. Tags past the u16 block bound are left out (far above any receiver's
/// [`Limits::max_tags_size`]).
pub(crate) fn put_tags<B: BufMut>(buf: &mut B, tags: &[Tag]) {
    let mut block_len = 0usize;
    let mut fitting = 0usize;
    for tag in tags {
        let next = block_len + tag.encoded_len();
        if next > usize::from(u16::MAX) {
            break;
        }
        block_len = next;
        fitting += 1;
    }
    buf.put_u16_le(block_len as u16);
    for tag in &tags[..fitting] {
        buf.put_u8(tag.key().len() as u8);
        buf.put_slice(tag.key().as_bytes());
        buf.put_u16_le(tag.value().len() as u16);
        buf.put_slice(tag.value().as_bytes());
    }
}

/// Reads a tag block bounded by [`Limits::max_tags_size`].
pub(crate) fn read_tags(reader: &mut Reader<'_>, limits: &Limits) -> Result<Vec<Tag>, DecodeError> {
    let block_len = usize::from(reader.u16("tag block length")?);
    if block_len > limits.max_tags_size {
        return Err(DecodeError::TooLarge {
            what: "tag block",
            size: block_len as u64,
            limit: limits.max_tags_size as u64,
        });
    }
    let block = reader.take(block_len, "tag block")?;
    let mut tags_reader = Reader::new(&block);
    let mut tags = Vec::new();
    while tags_reader.remaining() > 0 {
        let key_len = usize::from(tags_reader.u8("tag key length")?);
        let key = Utf8Bytes::new(tags_reader.take(key_len, "tag key")?, "tag key")?;
        let value_len = usize::from(tags_reader.u16("tag value length")?);
        let value = Utf8Bytes::new(tags_reader.take(value_len, "tag value")?, "tag value")?;
        tags.push(Tag::new(key, value)?);
    }
    Ok(tags)
}

pub(crate) fn read_state(reader: &mut Reader<'_>) -> Result<MemberState, DecodeError> {
    let byte = reader.u8("member state")?;
    MemberState::from_u8(byte)
        .ok_or(DecodeError::InvalidValue { what: "member state", value: u64::from(byte) })
}

/// What a member update says about the member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateKind {
    /// The member is alive at this incarnation, reachable at `endpoint`, with these tags.
    Alive {
        /// The member's advertised endpoint.
        endpoint: Endpoint,
        /// The member's tags (the block is bounded by [`Limits::max_tags_size`]).
        tags: Vec<Tag>,
    },
    /// `by` suspects the member at this incarnation.
    Suspect {
        /// The member that first suspected it (counts independent confirmations).
        by: NodeId,
    },
    /// The member was declared dead at this incarnation.
    Dead,
    /// The member left the cluster on purpose at this incarnation.
    Left,
}

impl UpdateKind {
    /// The state this update announces.
    pub fn state(&self) -> MemberState {
        match self {
            UpdateKind::Alive { .. } => MemberState::Alive,
            UpdateKind::Suspect { .. } => MemberState::Suspect,
            UpdateKind::Dead => MemberState::Dead,
            UpdateKind::Left => MemberState::Left,
        }
    }
}

/// One gossip entry: what the sender knows about one member.
///
/// Layout: `state: u8`, `id`, `incarnation: u64`, then for ALIVE `endpoint` (binary) and the tag
/// block, for SUSPECT the suspecting member's `id`; nothing more for DEAD and LEFT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberUpdate {
    /// The member the update is about.
    pub id: NodeId,
    /// The member's incarnation the update refers to.
    pub incarnation: u64,
    /// The announced state and its data.
    pub kind: UpdateKind,
}

/// Bytes of the smallest member update: state (1), id (2), incarnation (8).
pub const MIN_UPDATE_LEN: usize = 11;

impl MemberUpdate {
    /// Bytes this update takes in a datagram.
    pub fn encoded_len(&self) -> usize {
        let head = 1 + node_id_len(Some(&self.id)) + 8;
        head + match &self.kind {
            UpdateKind::Alive { endpoint, tags } => endpoint_len(endpoint) + tags_len(tags),
            UpdateKind::Suspect { by } => node_id_len(Some(by)),
            UpdateKind::Dead | UpdateKind::Left => 0,
        }
    }

    /// Appends the update's bytes.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(self.kind.state().as_u8());
        put_node_id(buf, Some(&self.id));
        buf.put_u64_le(self.incarnation);
        match &self.kind {
            UpdateKind::Alive { endpoint, tags } => {
                put_endpoint(buf, endpoint);
                put_tags(buf, tags);
            }
            UpdateKind::Suspect { by } => put_node_id(buf, Some(by)),
            UpdateKind::Dead | UpdateKind::Left => {}
        }
    }

    /// The update's bytes, for a dissemination queue that stores encoded updates
    /// (see [`super::DatagramWriter::push_encoded`]).
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf.freeze()
    }

    /// Decodes one update from a complete buffer (the inverse of [`Self::to_bytes`]).
    pub fn decode(bytes: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let update = Self::read(&mut reader, limits)?;
        reader.finish("member update")?;
        Ok(update)
    }

    pub(crate) fn read(reader: &mut Reader<'_>, limits: &Limits) -> Result<Self, DecodeError> {
        let state = read_state(reader)?;
        let id = read_node_id(reader, limits)?;
        let incarnation = reader.u64("incarnation")?;
        let kind = match state {
            MemberState::Alive => {
                let endpoint = read_endpoint(reader)?;
                let tags = read_tags(reader, limits)?;
                UpdateKind::Alive { endpoint, tags }
            }
            MemberState::Suspect => UpdateKind::Suspect { by: read_node_id(reader, limits)? },
            MemberState::Dead => UpdateKind::Dead,
            MemberState::Left => UpdateKind::Left,
        };
        Ok(MemberUpdate { id, incarnation, kind })
    }
}
