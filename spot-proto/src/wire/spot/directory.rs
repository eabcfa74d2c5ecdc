//! The topic directory family: TOPIC_CREATED, TOPIC_DESTROYED, DIRECTORY_QUERY, DIRECTORY_RESP.

use bytes::{BufMut, Bytes, BytesMut};

use super::fields::{NodeId, Topic};
use super::layout::{Reader, put_count, put_endpoint, put_node_id, put_topic};
use crate::endpoint::Endpoint;
use crate::{DecodeError, Limits};

/// The node that owns a topic, and where to dial it.
///
/// Layout: `node id length: u8`, `node id`, `endpoint length: u16`, `endpoint` (UTF-8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicOwner {
    /// The owner's node id.
    pub id: NodeId,
    /// The owner's advertised endpoint.
    pub endpoint: Endpoint,
}

impl TopicOwner {
    pub(crate) fn put(&self, buf: &mut BytesMut) {
        put_node_id(buf, &self.id);
        put_endpoint(buf, &self.endpoint);
    }

    pub(crate) fn read(reader: &mut Reader<'_>, limits: &Limits) -> Result<Self, DecodeError> {
        let id = reader.node_id(limits)?;
        let endpoint = reader.endpoint()?;
        Ok(TopicOwner { id, endpoint })
    }

    /// The owner as a frame of its own (TOPIC_CREATED's first frame).
    pub(crate) fn encode_frame(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(1 + self.id.len() + 2 + 32);
        self.put(&mut buf);
        buf.freeze()
    }

    pub(crate) fn decode_frame(frame: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(frame, "topic owner");
        let owner = TopicOwner::read(&mut reader, limits)?;
        reader.finish()?;
        Ok(owner)
    }
}

/// A node id alone in a frame (TOPIC_DESTROYED's first frame): `length: u8`, `node id`.
pub(crate) fn encode_node_id_frame(id: &NodeId) -> Bytes {
    let mut buf = BytesMut::with_capacity(1 + id.len());
    put_node_id(&mut buf, id);
    buf.freeze()
}

pub(crate) fn decode_node_id_frame(frame: &Bytes, limits: &Limits) -> Result<NodeId, DecodeError> {
    let mut reader = Reader::new(frame, "node id frame");
    let id = reader.node_id(limits)?;
    reader.finish()?;
    Ok(id)
}

/// One owner's entries in a directory page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedTopics {
    /// Who owns the topics.
    pub owner: TopicOwner,
    /// The topics it owns (may be empty: the owner is known and owns nothing now).
    pub topics: Vec<Topic>,
}

/// One page of a DIRECTORY_RESP: topics grouped by owner.
///
/// A responder may split a large directory into several pages with the same `request_id`; all
/// but the final page have `last == false`. A receiver merges pages until `last`.
///
/// Layout (one frame, little-endian): `request id: u32`, `flags: u8` (bit 0 = LAST, other bits
/// zero), `owner count: u32`, then per owner: the [`TopicOwner`] layout, `topic count: u32`, and
/// per topic `length: u16`, `topic`. Owners ≤ [`Limits::max_topics_per_query_resp`], topics in
/// the whole page ≤ [`Limits::max_topics_per_query_resp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryPage {
    /// Echo of the DIRECTORY_QUERY's request id.
    pub request_id: u32,
    /// Whether this is the final page of the answer.
    pub last: bool,
    /// The entries, grouped by owner.
    pub owners: Vec<OwnedTopics>,
}

const FLAG_LAST: u8 = 0x01;
/// Smallest owner entry: id (1 + 1), endpoint (2 + 1), topic count (4).
const MIN_OWNER_LEN: usize = 9;
/// Smallest topic entry: length (2) + one byte.
const MIN_TOPIC_LEN: usize = 3;

pub(crate) fn read_page_flags(
    reader: &mut Reader<'_>,
    what: &'static str,
) -> Result<bool, DecodeError> {
    let flags = reader.u8(what)?;
    if flags & !FLAG_LAST != 0 {
        return Err(DecodeError::InvalidValue { what, value: u64::from(flags) });
    }
    Ok(flags & FLAG_LAST != 0)
}

pub(crate) fn page_flags(last: bool) -> u8 {
    if last { FLAG_LAST } else { 0 }
}

impl DirectoryPage {
    /// The number of topics in this page.
    pub fn topic_count(&self) -> usize {
        self.owners.iter().map(|o| o.topics.len()).sum()
    }

    /// Every (topic, owner) pair in this page.
    pub fn entries(&self) -> impl Iterator<Item = (&Topic, &TopicOwner)> {
        self.owners.iter().flat_map(|o| o.topics.iter().map(move |t| (t, &o.owner)))
    }

    pub(crate) fn encode_frame(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(9 + self.owners.len() * 48 + self.topic_count() * 24);
        buf.put_u32_le(self.request_id);
        buf.put_u8(page_flags(self.last));
        let owners = put_count(&mut buf, self.owners.len());
        for entry in self.owners.iter().take(owners) {
            entry.owner.put(&mut buf);
            let topics = put_count(&mut buf, entry.topics.len());
            for topic in entry.topics.iter().take(topics) {
                put_topic(&mut buf, topic);
            }
        }
        buf.freeze()
    }

    pub(crate) fn decode_frame(frame: &Bytes, limits: &Limits) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(frame, "DIRECTORY_RESP");
        let request_id = reader.u32("DIRECTORY_RESP request id")?;
        let last = read_page_flags(&mut reader, "DIRECTORY_RESP flags")?;
        let limit = limits.max_topics_per_query_resp;
        let owner_count = reader.count("DIRECTORY_RESP owner count", limit, MIN_OWNER_LEN)?;
        let mut owners = Vec::with_capacity(owner_count);
        let mut topics_so_far = 0usize;
        for _ in 0..owner_count {
            let owner = TopicOwner::read(&mut reader, limits)?;
            let left = limit.saturating_sub(topics_so_far);
            let count = reader.count("DIRECTORY_RESP topic count", left, MIN_TOPIC_LEN)?;
            topics_so_far += count;
            let mut topics = Vec::with_capacity(count);
            for _ in 0..count {
                topics.push(reader.topic(limits)?);
            }
            owners.push(OwnedTopics { owner, topics });
        }
        reader.finish()?;
        Ok(DirectoryPage { request_id, last, owners })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: &str, endpoint: &str) -> TopicOwner {
        TopicOwner {
            id: NodeId::copy_from_str(id, &Limits::default()).unwrap(),
            endpoint: endpoint.parse().unwrap(),
        }
    }

    fn topic(name: &str) -> Topic {
        Topic::copy_from_str(name, &Limits::default()).unwrap()
    }

    #[test]
    fn directory_page_exact_bytes() {
        let page = DirectoryPage {
            request_id: 7,
            last: true,
            owners: vec![OwnedTopics {
                owner: owner("a", "inproc://a"),
                topics: vec![topic("t1"), topic("t2")],
            }],
        };
        let frame = page.encode_frame();
        let expected: &[u8] = b"\x07\x00\x00\x00\x01\x01\x00\x00\x00\x01a\x0a\x00inproc://a\
\x02\x00\x00\x00\x02\x00t1\x02\x00t2";
        assert_eq!(&frame[..], expected);
        let decoded = DirectoryPage::decode_frame(&frame, &Limits::default()).unwrap();
        assert_eq!(decoded, page);
        let pairs: Vec<_> =
            decoded.entries().map(|(t, o)| (t.as_str(), o.id.to_string())).collect();
        assert_eq!(pairs, [("t1", "a".to_owned()), ("t2", "a".to_owned())]);
    }

    #[test]
    fn topic_total_is_bounded_across_owners() {
        let mut limits = Limits { max_topics_per_query_resp: 2, ..Limits::default() };
        let page = DirectoryPage {
            request_id: 1,
            last: false,
            owners: vec![
                OwnedTopics { owner: owner("a", "inproc://a"), topics: vec![topic("x")] },
                OwnedTopics {
                    owner: owner("b", "inproc://b"),
                    topics: vec![topic("y"), topic("z")],
                },
            ],
        };
        let frame = page.encode_frame();
        assert!(matches!(
            DirectoryPage::decode_frame(&frame, &limits),
            Err(DecodeError::TooLarge { what: "DIRECTORY_RESP topic count", size: 2, limit: 1 })
        ));
        limits.max_topics_per_query_resp = 3;
        assert_eq!(DirectoryPage::decode_frame(&frame, &limits).unwrap(), page);
    }

    #[test]
    fn unknown_page_flags_are_malformed() {
        let frame = Bytes::from_static(b"\x00\x00\x00\x00\x02\x00\x00\x00\x00");
        assert_eq!(
            DirectoryPage::decode_frame(&frame, &Limits::default()).unwrap_err(),
            DecodeError::InvalidValue { what: "DIRECTORY_RESP flags", value: 2 }
        );
    }
}
