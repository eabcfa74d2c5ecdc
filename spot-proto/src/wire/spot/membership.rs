//! The membership family: PUSH_PULL_REQ / PUSH_PULL_RESP (SWIM full-state transfer over a
//! connection) and MEMBER_LIST_QUERY / MEMBER_LIST_RESP.

use bytes::{BufMut, Bytes, BytesMut};

use super::directory::{page_flags, read_page_flags};
use super::fields::{NodeId, Tag, Utf8Bytes};
use super::layout::{Reader, put_count, put_endpoint, put_node_id};
use crate::endpoint::Endpoint;
use crate::{DecodeError, Limits};

const FLAG_JOIN: u8 = 0x01;

/// The body of PUSH_PULL_REQ (0x50) and PUSH_PULL_RESP (0x51): `[header][state]`.
///
/// The header frame is `flags: u8` (bit 0 = JOIN: the sender is joining and wants the whole
/// state at once; other bits zero), `sender length: u8`, `sender`. The state frame is opaque
/// here: it is what the SWIM codec (`wire::swim`) produced, bounded by
/// [`Limits::max_message_size`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushPull {
    /// The sender is joining the cluster.
    pub join: bool,
    /// The sender's node id.
    pub sender: NodeId,
    /// The SWIM full-state payload (not interpreted here).
    pub state: Bytes,
}

impl PushPull {
    pub(crate) fn encode_header(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(2 + self.sender.len());
        buf.put_u8(if self.join { FLAG_JOIN } else { 0 });
        put_node_id(&mut buf, &self.sender);
        buf.freeze()
    }

    pub(crate) fn decode_frames(
        header: &Bytes,
        state: &Bytes,
        limits: &Limits,
    ) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(header, "PUSH_PULL header");
        let flags = reader.u8("PUSH_PULL flags")?;
        if flags & !FLAG_JOIN != 0 {
            return Err(DecodeError::InvalidValue {
                what: "PUSH_PULL flags",
                value: u64::from(flags),
            });
        }
        let sender = reader.node_id(limits)?;
        reader.finish()?;
        super::check_payload(state, "PUSH_PULL state", limits)?;
        Ok(PushPull { join: flags & FLAG_JOIN != 0, sender, state: state.clone() })
    }
}

/// A member's state as a member list reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberState {
    /// 0: alive.
    Alive,
    /// 1: suspected of having failed.
    Suspect,
    /// 2: declared dead.
    Dead,
    /// 3: left the cluster on purpose.
    Left,
}

impl MemberState {
    /// The state byte.
    pub const fn as_u8(self) -> u8 {
        match self {
            MemberState::Alive => 0,
            MemberState::Suspect => 1,
            MemberState::Dead => 2,
            MemberState::Left => 3,
        }
    }

    /// The state for a byte, if it is one.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(MemberState::Alive),
            1 => Some(MemberState::Suspect),
            2 => Some(MemberState::Dead),
            3 => Some(MemberState::Left),
            _ => None,
        }
    }

    /// Lowercase name, e.g. `"suspect"`.
    pub const fn name(self) -> &'static str {
        match self {
            MemberState::Alive => "alive",
            MemberState::Suspect => "suspect",
            MemberState::Dead => "dead",
            MemberState::Left => "left",
        }
    }
}

/// One member in a MEMBER_LIST_RESP page.
///
/// Layout: `id length: u8`, `id`, `endpoint length: u16`, `endpoint`, `state: u8`
/// ([`MemberState`]), `incarnation: u64`, `tag block length: u16`, then tags until the block
/// ends, each `key length: u8` (≥ 1), `key`, `value length: u16`, `value` (UTF-8). The tag block
/// is at most [`Limits::max_tags_size`] bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// The member's node id.
    pub id: NodeId,
    /// The member's advertised endpoint.
    pub endpoint: Endpoint,
    /// Its state as the responder sees it.
    pub state: MemberState,
    /// Its incarnation number.
    pub incarnation: u64,
    /// Its tags, in the order the responder keeps them.
    pub tags: Vec<Tag>,
}

/// Smallest member entry: id (2), endpoint (3), state (1), incarnation (8), tag block length (2).
const MIN_MEMBER_LEN: usize = 16;

impl MemberInfo {
    fn put(&self, buf: &mut BytesMut) {
        put_node_id(buf, &self.id);
        put_endpoint(buf, &self.endpoint);
        buf.put_u8(self.state.as_u8());
        buf.put_u64_le(self.incarnation);
        // The block length is a u16: tags past 65535 bytes are left out (far above any
        // receiver's max_tags_size).
        let mut block_len = 0usize;
        let mut fitting = 0usize;
        for tag in &self.tags {
            let next = block_len + tag.encoded_len();
            if next > usize::from(u16::MAX) {
                break;
            }
            block_len = next;
            fitting += 1;
        }
        buf.put_u16_le(block_len as u16);
        for tag in self.tags.iter().take(fitting) {
            buf.put_u8(tag.key().len() as u8);
            buf.put_slice(tag.key().as_bytes());
            buf.put_u16_le(tag.value().len() as u16);
            buf.put_slice(tag.value().as_bytes());
        }
    }

    fn read(reader: &mut Reader<'_>, limits: &Limits) -> Result<Self, DecodeError> {
        let id = reader.node_id(limits)?;
        let endpoint = reader.endpoint()?;
        let state_byte = reader.u8("member state")?;
        let state = MemberState::from_u8(state_byte).ok_or(DecodeError::InvalidValue {
            what: "member state",
            value: u64::from(state_byte),
        })?;
        let incarnation = reader.u64("member incarnation")?;
        let block_len = usize::from(reader.u16("tag block length")?);
        if block_len > limits.max_tags_size {
            return Err(DecodeError::TooLarge {
                what: "tag block",
                size: block_len as u64,
                limit: limits.max_tags_size as u64,
            });
        }
        let block = reader.take(block_len, "tag block")?;
        let mut tags_reader = Reader::new(&block, "tag block");
        let mut tags = Vec::new();
        while tags_reader.remaining() > 0 {
            let key_len = usize::from(tags_reader.u8("tag key length")?);
            let key = Utf8Bytes::new(tags_reader.take(key_len, "tag key")?, "tag key")?;
            let value_len = usize::from(tags_reader.u16("tag value length")?);
            let value = Utf8Bytes::new(tags_reader.take(value_len, "tag value")?, "tag value")?;
            tags.push(Tag::new(key, value)?);
        }
        Ok(MemberInfo { id, endpoint, state, incarnation, tags })
    }
}

/// One page of a MEMBER_LIST_RESP (0x53).
///
/// Layout (one frame, little-endian): `request id: u32`, `flags: u8` (bit 0 = LAST, other bits
/// zero), `member count: u32` (≤ [`Limits::max_members_per_resp`]), then each member in the
/// [`MemberInfo`] layout. Pages with the same request id are merged until LAST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberListPage {
    /// Echo of the MEMBER_LIST_QUERY's request id.
    pub request_id: u32,
    /// Whether this is the final page of the answer.
    pub last: bool,
    /// The members.
    pub members: Vec<MemberInfo>,
}

impl MemberListPage {
    pub(crate) fn encode_frame(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(9 + self.members.len() * 64);
        buf.put_u32_le(self.request_id);
        buf.put_u8(page_flags(self.last));
        let count = put_count(&mut buf, self.members.len());
        for member in self.members.iter().take(count) {
            member.put(&mut buf);
        }
        buf.freeze()
    }

    pub(crate) fn decode_frame(frame: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(frame, "MEMBER_LIST_RESP");
        let request_id = reader.u32("MEMBER_LIST_RESP request id")?;
        let last = read_page_flags(&mut reader, "MEMBER_LIST_RESP flags")?;
        let count = reader.count(
            "MEMBER_LIST_RESP member count",
            limits.max_members_per_resp,
            MIN_MEMBER_LEN,
        )?;
        let mut members = Vec::with_capacity(count);
        for _ in 0..count {
            members.push(MemberInfo::read(&mut reader, limits)?);
        }
        reader.finish()?;
        Ok(MemberListPage { request_id, last, members })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(tags: Vec<Tag>) -> MemberInfo {
        MemberInfo {
            id: NodeId::copy_from_str("m", &Limits::default()).unwrap(),
            endpoint: "tcp://10.0.0.1:5555".parse().unwrap(),
            state: MemberState::Suspect,
            incarnation: 3,
            tags,
        }
    }

    #[test]
    fn member_list_exact_bytes() {
        let page = MemberListPage {
            request_id: 1,
            last: true,
            members: vec![member(vec![Tag::copy_from_strs("dc", "eu").unwrap()])],
        };
        let frame = page.encode_frame();
        let expected: &[u8] = b"\x01\x00\x00\x00\x01\x01\x00\x00\x00\
\x01m\x13\x00tcp://10.0.0.1:5555\x01\x03\x00\x00\x00\x00\x00\x00\x00\
\x07\x00\x02dc\x02\x00eu";
        assert_eq!(&frame[..], expected);
        assert_eq!(MemberListPage::decode_frame(&frame, &Limits::default()).unwrap(), page);
    }

    #[test]
    fn member_state_bytes() {
        for value in 0..=255u8 {
            match MemberState::from_u8(value) {
                Some(state) => assert_eq!(state.as_u8(), value),
                None => assert!(value > 3),
            }
        }
        assert_eq!(MemberState::Left.name(), "left");
    }

    #[test]
    fn tag_block_is_bounded_by_limits() {
        let tags = vec![Tag::copy_from_strs("k", &"v".repeat(600)).unwrap()];
        let page = MemberListPage { request_id: 0, last: true, members: vec![member(tags)] };
        let frame = page.encode_frame();
        assert!(matches!(
            MemberListPage::decode_frame(&frame, &Limits::default()),
            Err(DecodeError::TooLarge { what: "tag block", size: 604, limit: 512 })
        ));
        let roomy = Limits { max_tags_size: 1024, ..Limits::default() };
        assert_eq!(MemberListPage::decode_frame(&frame, &roomy).unwrap(), page);
    }

    #[test]
    fn oversized_tag_sets_are_cut_at_the_u16_block_bound() {
        let big = Tag::copy_from_strs("k", &"v".repeat(40_000)).unwrap();
        let page = MemberListPage {
            request_id: 0,
            last: true,
            members: vec![member(vec![big.clone(), big.clone()])],
        };
        let roomy = Limits { max_tags_size: usize::from(u16::MAX), ..Limits::default() };
        let decoded = MemberListPage::decode_frame(&page.encode_frame(), &roomy).unwrap();
        assert_eq!(decoded.members[0].tags, vec![big]);
    }

    #[test]
    fn push_pull_header_bytes_and_flags() {
        let limits = Limits::default();
        let push = PushPull {
            join: true,
            sender: NodeId::copy_from_str("s", &limits).unwrap(),
            state: Bytes::from_static(b"swim-state"),
        };
        let header = push.encode_header();
        assert_eq!(&header[..], b"\x01\x01s");
        assert_eq!(PushPull::decode_frames(&header, &push.state, &limits).unwrap(), push);
        let bad = Bytes::from_static(b"\x03\x01s");
        assert_eq!(
            PushPull::decode_frames(&bad, &push.state, &limits).unwrap_err(),
            DecodeError::InvalidValue { what: "PUSH_PULL flags", value: 3 }
        );
    }
}
