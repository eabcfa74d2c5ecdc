//! [`SpotCommand`]: one decoded SPOT message, and the dispatch from frames to commands and back.

use bytes::Bytes;

use super::code::{Capabilities, CommandCode};
use super::directory::{DirectoryPage, TopicOwner, decode_node_id_frame, encode_node_id_frame};
use super::fields::{NodeId, Pattern, Topic};
use super::layout::{read_u32_frame, u32_frame};
use super::membership::{MemberListPage, PushPull};
use super::relay::RelayedPublish;
use super::session::Hello;
use super::subscription::SubscribeAck;
use super::{Envelope, check_payload, split_envelope};
use crate::wire::zmtp::Message;
use crate::{DecodeError, Limits};

/// One SPOT message, decoded.
///
/// Every `Topic`, `Pattern`, `NodeId` and payload in a decoded command is a slice of the frames it
/// was decoded from: decoding copies no topic or payload bytes, and decoding a PUBLISH allocates
/// nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpotCommand {
    /// PUBLISH (0x01) `[topic][data]`.
    Publish {
        /// The topic.
        topic: Topic,
        /// The payload.
        data: Bytes,
    },
    /// SUBSCRIBE (0x02) `[topic]`.
    Subscribe {
        /// The topic.
        topic: Topic,
    },
    /// UNSUBSCRIBE (0x03) `[topic]`.
    Unsubscribe {
        /// The topic.
        topic: Topic,
    },
    /// QUERY (0x04), no frames.
    Query,
    /// QUERY_RESP (0x05) `[count: u32 LE][topic] x count`.
    QueryResp {
        /// The responder's local topics.
        topics: Vec<Topic>,
    },
    /// HELLO (0x10) `[hello]`.
    Hello(Hello),
    /// HELLO_ACK (0x11) `[hello]`.
    HelloAck(Hello),
    /// TOPIC_CREATED (0x20) `[owner][topic]`.
    TopicCreated {
        /// The topic's owner and its endpoint.
        owner: TopicOwner,
        /// The new topic.
        topic: Topic,
    },
    /// TOPIC_DESTROYED (0x21) `[owner id][topic]`.
    TopicDestroyed {
        /// The node that owned the topic.
        owner: NodeId,
        /// The topic.
        topic: Topic,
    },
    /// DIRECTORY_QUERY (0x22) `[request id: u32 LE]`.
    DirectoryQuery {
        /// Echoed in every DIRECTORY_RESP page of the answer.
        request_id: u32,
    },
    /// DIRECTORY_RESP (0x23) `[page]`.
    DirectoryResp(DirectoryPage),
    /// PATTERN_SUBSCRIBE (0x30) `[pattern]`.
    PatternSubscribe {
        /// The pattern.
        pattern: Pattern,
    },
    /// PATTERN_UNSUBSCRIBE (0x31) `[pattern]`.
    PatternUnsubscribe {
        /// The pattern.
        pattern: Pattern,
    },
    /// SUBSCRIBE_ACK (0x32) `[ack][topic or pattern]`.
    SubscribeAck(SubscribeAck),
    /// RELAYED_PUBLISH (0x40) `[relay][topic][data]`.
    RelayedPublish(RelayedPublish),
    /// PUSH_PULL_REQ (0x50) `[header][state]`.
    PushPullReq(PushPull),
    /// PUSH_PULL_RESP (0x51) `[header][state]`.
    PushPullResp(PushPull),
    /// MEMBER_LIST_QUERY (0x52) `[request id: u32 LE]`.
    MemberListQuery {
        /// Echoed in every MEMBER_LIST_RESP page of the answer.
        request_id: u32,
    },
    /// MEMBER_LIST_RESP (0x53) `[page]`.
    MemberListResp(MemberListPage),
    /// A code this version does not know, carried through so the receiver can count it and move
    /// on (it is never an error).
    Unknown {
        /// The command byte.
        code: u8,
        /// The frames after the command byte, as received.
        frames: Vec<Bytes>,
    },
}

/// One single-byte slice per possible command code, so a command frame never allocates.
static CODE_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = i as u8;
        i += 1;
    }
    table
};

fn code_frame(code: u8) -> Bytes {
    let at = usize::from(code);
    Bytes::from_static(&CODE_BYTES[at..at + 1])
}

/// The frames after the command byte, checked to be exactly `N`.
fn exactly<const N: usize>(code: CommandCode, args: &[Bytes]) -> Result<&[Bytes; N], DecodeError> {
    args.try_into().map_err(|_| DecodeError::FrameCount {
        code: code.as_u8(),
        expected: N,
        got: args.len(),
    })
}

impl SpotCommand {
    /// Decodes one SPOT message from its frames, with or without one leading empty delimiter
    /// frame.
    ///
    /// * An unknown command code gives [`SpotCommand::Unknown`], not an error.
    /// * A message of a known code that breaks its layout or a bound of `limits` gives a typed
    ///   [`DecodeError`] (the caller counts it and drops the message; the connection stays).
    /// * No message, or an empty command frame, gives [`DecodeError::EmptyMessage`]; a command
    ///   frame longer than one byte gives [`DecodeError::BadCommandFrame`].
    ///
    /// Cost: PUBLISH and the other single-topic commands decode in time proportional to the topic
    /// length (UTF-8 check), independent of the payload size, without allocating. List-carrying
    /// answers allocate one `Vec` per list, sized by the validated count.
    pub fn decode(frames: &[Bytes], limits: &Limits) -> Result<SpotCommand, DecodeError> {
        let (_, frames) = split_envelope(frames);
        let Some((command, args)) = frames.split_first() else {
            return Err(DecodeError::EmptyMessage);
        };
        let code = match command.as_ref() {
            [] => return Err(DecodeError::EmptyMessage),
            [code] => *code,
            _ => return Err(DecodeError::BadCommandFrame { len: command.len() }),
        };
        match CommandCode::from_u8(code) {
            Some(known) => decode_known(known, args, limits),
            None => Ok(SpotCommand::Unknown { code, frames: args.to_vec() }),
        }
    }

    /// [`SpotCommand::decode`] of a whole message, taking its frames: a PUBLISH keeps its topic
    /// and payload frames as they are (no reference-count traffic, the hot path of every
    /// subscriber); every other command decodes as [`SpotCommand::decode`] does, with the same
    /// validation and errors.
    pub fn decode_message(
        mut message: Message,
        limits: &Limits,
    ) -> Result<SpotCommand, DecodeError> {
        let frames = message.frames_mut();
        let start = usize::from(frames.first().is_some_and(Bytes::is_empty));
        if let [command, topic, data] = &mut frames[start..]
            && command.as_ref() == [CommandCode::Publish as u8]
        {
            check_payload(data, "PUBLISH data", limits)?;
            let topic = Topic::new(core::mem::take(topic), limits)?;
            return Ok(SpotCommand::Publish { topic, data: core::mem::take(data) });
        }
        SpotCommand::decode(message.frames(), limits)
    }

    /// Appends this command's frames to `out`, preceded by an empty delimiter frame when
    /// `envelope` is [`Envelope::Delimited`] (ROUTER to DEALER).
    ///
    /// Topic and payload frames are the command's own `Bytes` (no copy); the command frame is a
    /// static byte. Encoding cannot fail: every field was validated when it was made. Lists longer
    /// than a receiver's [`Limits`] still encode; the receiver rejects them, so senders page long
    /// answers (DIRECTORY_RESP, MEMBER_LIST_RESP) to their peers' limits.
    pub fn encode_into(&self, envelope: Envelope, out: &mut Vec<Bytes>) {
        if envelope == Envelope::Delimited {
            out.push(Bytes::new());
        }
        out.push(code_frame(self.code()));
        match self {
            SpotCommand::Publish { topic, data } => {
                out.extend([topic.as_bytes().clone(), data.clone()]);
            }
            SpotCommand::Subscribe { topic } | SpotCommand::Unsubscribe { topic } => {
                out.push(topic.as_bytes().clone());
            }
            SpotCommand::Query => {}
            SpotCommand::QueryResp { topics } => {
                let count = u32::try_from(topics.len()).unwrap_or(u32::MAX);
                out.push(u32_frame(count));
                out.extend(topics.iter().take(count as usize).map(|t| t.as_bytes().clone()));
            }
            SpotCommand::Hello(hello) | SpotCommand::HelloAck(hello) => {
                out.push(hello.encode_frame());
            }
            SpotCommand::TopicCreated { owner, topic } => {
                out.extend([owner.encode_frame(), topic.as_bytes().clone()]);
            }
            SpotCommand::TopicDestroyed { owner, topic } => {
                out.extend([encode_node_id_frame(owner), topic.as_bytes().clone()]);
            }
            SpotCommand::DirectoryQuery { request_id }
            | SpotCommand::MemberListQuery { request_id } => {
                out.push(u32_frame(*request_id));
            }
            SpotCommand::DirectoryResp(page) => out.push(page.encode_frame()),
            SpotCommand::PatternSubscribe { pattern }
            | SpotCommand::PatternUnsubscribe { pattern } => {
                out.push(pattern.as_bytes().clone());
            }
            SpotCommand::SubscribeAck(ack) => out.extend(ack.encode_frames()),
            SpotCommand::RelayedPublish(relayed) => {
                out.extend([
                    relayed.encode_header(),
                    relayed.topic.as_bytes().clone(),
                    relayed.data.clone(),
                ]);
            }
            SpotCommand::PushPullReq(push) | SpotCommand::PushPullResp(push) => {
                out.extend([push.encode_header(), push.state.clone()]);
            }
            SpotCommand::MemberListResp(page) => out.push(page.encode_frame()),
            SpotCommand::Unknown { frames, .. } => out.extend(frames.iter().cloned()),
        }
    }

    /// This command's frames in a new `Vec` (see [`Self::encode_into`]).
    pub fn encode(&self, envelope: Envelope) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(4);
        self.encode_into(envelope, &mut out);
        out
    }

    /// The frames of `PUBLISH topic data` in `envelope`, without building the command: the
    /// first `n` of the returned array, where `n` is the second value (3 bare, 4 delimited).
    /// The same frames as [`SpotCommand::encode`] of a [`SpotCommand::Publish`].
    /// Borrowed, so that a message serialized at once costs no reference count.
    pub fn publish_frames<'a>(
        topic: &'a Topic,
        data: &'a Bytes,
        envelope: Envelope,
    ) -> ([&'a Bytes; 4], usize) {
        static EMPTY: Bytes = Bytes::new();
        static PUBLISH: Bytes = Bytes::from_static(&[CommandCode::Publish.as_u8()]);
        let topic = topic.as_bytes();
        match envelope {
            Envelope::Delimited => ([&EMPTY, &PUBLISH, topic, data], 4),
            Envelope::Bare => ([&PUBLISH, topic, data, &EMPTY], 3),
        }
    }

    /// The command byte.
    pub fn code(&self) -> u8 {
        match self {
            SpotCommand::Unknown { code, .. } => *code,
            // Every other variant has a known code.
            known => known.command_code().map_or(0, CommandCode::as_u8),
        }
    }

    /// The known code, or `None` for [`SpotCommand::Unknown`].
    pub fn command_code(&self) -> Option<CommandCode> {
        Some(match self {
            SpotCommand::Publish { .. } => CommandCode::Publish,
            SpotCommand::Subscribe { .. } => CommandCode::Subscribe,
            SpotCommand::Unsubscribe { .. } => CommandCode::Unsubscribe,
            SpotCommand::Query => CommandCode::Query,
            SpotCommand::QueryResp { .. } => CommandCode::QueryResp,
            SpotCommand::Hello(_) => CommandCode::Hello,
            SpotCommand::HelloAck(_) => CommandCode::HelloAck,
            SpotCommand::TopicCreated { .. } => CommandCode::TopicCreated,
            SpotCommand::TopicDestroyed { .. } => CommandCode::TopicDestroyed,
            SpotCommand::DirectoryQuery { .. } => CommandCode::DirectoryQuery,
            SpotCommand::DirectoryResp(_) => CommandCode::DirectoryResp,
            SpotCommand::PatternSubscribe { .. } => CommandCode::PatternSubscribe,
            SpotCommand::PatternUnsubscribe { .. } => CommandCode::PatternUnsubscribe,
            SpotCommand::SubscribeAck(_) => CommandCode::SubscribeAck,
            SpotCommand::RelayedPublish(_) => CommandCode::RelayedPublish,
            SpotCommand::PushPullReq(_) => CommandCode::PushPullReq,
            SpotCommand::PushPullResp(_) => CommandCode::PushPullResp,
            SpotCommand::MemberListQuery { .. } => CommandCode::MemberListQuery,
            SpotCommand::MemberListResp(_) => CommandCode::MemberListResp,
            SpotCommand::Unknown { .. } => return None,
        })
    }

    /// The command's name from `docs/PROTOCOL.md`, or `"UNKNOWN"`.
    pub fn name(&self) -> &'static str {
        self.command_code().map_or("UNKNOWN", CommandCode::name)
    }

    /// Whether this command may be sent to a peer that announced `peer` capabilities: base
    /// commands always, extensions only with their capability bit, unknown codes never.
    pub fn may_send_to(&self, peer: Capabilities) -> bool {
        match self.command_code() {
            Some(code) => code.required_capability().is_none_or(|cap| peer.contains(cap)),
            None => false,
        }
    }
}

fn decode_known(
    code: CommandCode,
    args: &[Bytes],
    limits: &Limits,
) -> Result<SpotCommand, DecodeError> {
    Ok(match code {
        CommandCode::Publish => {
            let [topic, data] = exactly(code, args)?;
            check_payload(data, "PUBLISH data", limits)?;
            SpotCommand::Publish { topic: Topic::new(topic.clone(), limits)?, data: data.clone() }
        }
        CommandCode::Subscribe => {
            let [topic] = exactly(code, args)?;
            SpotCommand::Subscribe { topic: Topic::new(topic.clone(), limits)? }
        }
        CommandCode::Unsubscribe => {
            let [topic] = exactly(code, args)?;
            SpotCommand::Unsubscribe { topic: Topic::new(topic.clone(), limits)? }
        }
        CommandCode::Query => {
            let [] = exactly(code, args)?;
            SpotCommand::Query
        }
        CommandCode::QueryResp => decode_query_resp(args, limits)?,
        CommandCode::Hello | CommandCode::HelloAck => {
            let [body] = exactly(code, args)?;
            let hello = Hello::decode_frame(body, limits)?;
            if code == CommandCode::Hello {
                SpotCommand::Hello(hello)
            } else {
                SpotCommand::HelloAck(hello)
            }
        }
        CommandCode::TopicCreated => {
            let [owner, topic] = exactly(code, args)?;
            SpotCommand::TopicCreated {
                owner: TopicOwner::decode_frame(owner, limits)?,
                topic: Topic::new(topic.clone(), limits)?,
            }
        }
        CommandCode::TopicDestroyed => {
            let [owner, topic] = exactly(code, args)?;
            SpotCommand::TopicDestroyed {
                owner: decode_node_id_frame(owner, limits)?,
                topic: Topic::new(topic.clone(), limits)?,
            }
        }
        CommandCode::DirectoryQuery => {
            let [id] = exactly(code, args)?;
            SpotCommand::DirectoryQuery { request_id: read_u32_frame(id, "DIRECTORY_QUERY")? }
        }
        CommandCode::DirectoryResp => {
            let [page] = exactly(code, args)?;
            SpotCommand::DirectoryResp(DirectoryPage::decode_frame(page, limits)?)
        }
        CommandCode::PatternSubscribe => {
            let [pattern] = exactly(code, args)?;
            SpotCommand::PatternSubscribe { pattern: Pattern::new(pattern.clone(), limits)? }
        }
        CommandCode::PatternUnsubscribe => {
            let [pattern] = exactly(code, args)?;
            SpotCommand::PatternUnsubscribe { pattern: Pattern::new(pattern.clone(), limits)? }
        }
        CommandCode::SubscribeAck => {
            let [ack, subject] = exactly(code, args)?;
            SpotCommand::SubscribeAck(SubscribeAck::decode_frames(ack, subject, limits)?)
        }
        CommandCode::RelayedPublish => {
            let [header, topic, data] = exactly(code, args)?;
            SpotCommand::RelayedPublish(RelayedPublish::decode_frames(header, topic, data, limits)?)
        }
        CommandCode::PushPullReq | CommandCode::PushPullResp => {
            let [header, state] = exactly(code, args)?;
            let push = PushPull::decode_frames(header, state, limits)?;
            if code == CommandCode::PushPullReq {
                SpotCommand::PushPullReq(push)
            } else {
                SpotCommand::PushPullResp(push)
            }
        }
        CommandCode::MemberListQuery => {
            let [id] = exactly(code, args)?;
            SpotCommand::MemberListQuery { request_id: read_u32_frame(id, "MEMBER_LIST_QUERY")? }
        }
        CommandCode::MemberListResp => {
            let [page] = exactly(code, args)?;
            SpotCommand::MemberListResp(MemberListPage::decode_frame(page, limits)?)
        }
    })
}

/// QUERY_RESP: `[count: u32 LE][topic] x count`; the count must match the topic frames.
fn decode_query_resp(args: &[Bytes], limits: &Limits) -> Result<SpotCommand, DecodeError> {
    let code = CommandCode::QueryResp.as_u8();
    let Some((count, topics)) = args.split_first() else {
        return Err(DecodeError::FrameCount { code, expected: 1, got: 0 });
    };
    let count = read_u32_frame(count, "QUERY_RESP count")?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > limits.max_topics_per_query_resp {
        return Err(DecodeError::TooLarge {
            what: "QUERY_RESP count",
            size: count as u64,
            limit: limits.max_topics_per_query_resp as u64,
        });
    }
    if topics.len() != count {
        return Err(DecodeError::FrameCount {
            code,
            expected: count.saturating_add(1),
            got: args.len(),
        });
    }
    let topics = topics
        .iter()
        .map(|frame| Topic::new(frame.clone(), limits))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SpotCommand::QueryResp { topics })
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
