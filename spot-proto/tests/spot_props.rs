//! Property tests of the SPOT command layer (`spot_proto::wire::spot`):
//!
//! * every command survives encode -> decode, with and without the ROUTER delimiter;
//! * decoded topics, patterns, node ids and payloads are slices of the input frames (no copy);
//! * arbitrary and mutated frame lists never panic, and always give a command or a typed error;
//! * whatever decodes re-encodes to something that decodes to the same command;
//! * the `X-Spot` property value round-trips and never panics on arbitrary bytes.
// Test code: a failed unwrap in a generator is a failed test.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use quickcheck::{Arbitrary, Gen, QuickCheck};
use spot_proto::wire::spot::{
    AckStatus, AckedRequest, Capabilities, CommandCode, DirectoryPage, Envelope, Hello, MemberInfo,
    MemberListPage, MemberState, NodeId, OwnedTopics, Pattern, PushPull, RelayedPublish,
    SpotAnnouncement, SpotCommand, SubscribeAck, Tag, Topic, TopicOwner, split_envelope,
};
use spot_proto::{DecodeError, Endpoint, Host, Limits};

fn limits() -> Limits {
    Limits::default()
}

fn below(g: &mut Gen, n: usize) -> usize {
    usize::arbitrary(g) % n.max(1)
}

fn text(g: &mut Gen, max_bytes: usize) -> String {
    let mut s = String::new();
    for c in String::arbitrary(g).chars() {
        if s.len() + c.len_utf8() > max_bytes {
            break;
        }
        s.push(c);
    }
    s
}

fn nonempty_text(g: &mut Gen, max_bytes: usize) -> String {
    let s = text(g, max_bytes);
    if s.is_empty() { "x".to_owned() } else { s }
}

fn topic(g: &mut Gen) -> Topic {
    Topic::copy_from_str(&nonempty_text(g, 40), &limits()).unwrap()
}

fn pattern(g: &mut Gen) -> Pattern {
    Pattern::copy_from_str(&format!("{}*", text(g, 20)), &limits()).unwrap()
}

fn node_id(g: &mut Gen) -> NodeId {
    let mut raw: Vec<u8> = Vec::arbitrary(g);
    raw.truncate(1 + below(g, 255));
    if raw.is_empty() {
        raw.push(u8::arbitrary(g));
    }
    NodeId::new(Bytes::from(raw), &limits()).unwrap()
}

fn endpoint(g: &mut Gen) -> Endpoint {
    match below(g, 4) {
        0 => Endpoint::tcp(std::net::Ipv4Addr::from(u32::arbitrary(g)), u16::arbitrary(g)),
        1 => Endpoint::tcp(std::net::Ipv6Addr::from(u128::arbitrary(g)), u16::arbitrary(g)),
        2 => {
            let labels = 1 + below(g, 3);
            let name: Vec<String> = (0..labels)
                .map(|_| {
                    let len = 1 + below(g, 10);
                    (0..len)
                        .map(|_| {
                            *g.choose(b"abcdefghijklmnopqrstuvwxyz0123456789").unwrap() as char
                        })
                        .collect()
                })
                .collect();
            // A leading letter keeps names like "1.2.3.4" (an address) out.
            Endpoint::Tcp {
                host: Host::Name(format!("h{}", name.join("."))),
                port: u16::arbitrary(g),
            }
        }
        _ => {
            let name: String = nonempty_text(g, 60).chars().filter(|c| !c.is_control()).collect();
            Endpoint::inproc(if name.is_empty() { "n" } else { &name }).unwrap()
        }
    }
}

fn owner(g: &mut Gen) -> TopicOwner {
    TopicOwner { id: node_id(g), endpoint: endpoint(g) }
}

fn data(g: &mut Gen) -> Bytes {
    Bytes::from(Vec::<u8>::arbitrary(g))
}

fn tags(g: &mut Gen) -> Vec<Tag> {
    (0..below(g, 4))
        .map(|_| Tag::copy_from_strs(&nonempty_text(g, 30), &text(g, 60)).unwrap())
        .collect()
}

fn hello(g: &mut Gen) -> Hello {
    Hello {
        version: 1 + below(g, 5) as u16,
        capabilities: Capabilities::from_bits(u64::arbitrary(g)),
        node_id: node_id(g),
        endpoint: endpoint(g),
    }
}

fn push_pull(g: &mut Gen) -> PushPull {
    PushPull { join: bool::arbitrary(g), sender: node_id(g), state: data(g) }
}

fn member(g: &mut Gen) -> MemberInfo {
    let state = *g
        .choose(&[MemberState::Alive, MemberState::Suspect, MemberState::Dead, MemberState::Left])
        .unwrap();
    MemberInfo {
        id: node_id(g),
        endpoint: endpoint(g),
        state,
        incarnation: u64::arbitrary(g),
        tags: tags(g),
    }
}

/// A valid command of any kind, including unknown codes.
#[derive(Clone, Debug)]
struct AnyCommand(SpotCommand);

impl Arbitrary for AnyCommand {
    fn arbitrary(g: &mut Gen) -> Self {
        let command = match below(g, 20) {
            0 => SpotCommand::Publish { topic: topic(g), data: data(g) },
            1 => SpotCommand::Subscribe { topic: topic(g) },
            2 => SpotCommand::Unsubscribe { topic: topic(g) },
            3 => SpotCommand::Query,
            4 => SpotCommand::QueryResp { topics: (0..below(g, 12)).map(|_| topic(g)).collect() },
            5 => SpotCommand::Hello(hello(g)),
            6 => SpotCommand::HelloAck(hello(g)),
            7 => SpotCommand::TopicCreated { owner: owner(g), topic: topic(g) },
            8 => SpotCommand::TopicDestroyed { owner: node_id(g), topic: topic(g) },
            9 => SpotCommand::DirectoryQuery { request_id: u32::arbitrary(g) },
            10 => SpotCommand::DirectoryResp(DirectoryPage {
                request_id: u32::arbitrary(g),
                last: bool::arbitrary(g),
                owners: (0..below(g, 4))
                    .map(|_| OwnedTopics {
                        owner: owner(g),
                        topics: (0..below(g, 6)).map(|_| topic(g)).collect(),
                    })
                    .collect(),
            }),
            11 => SpotCommand::PatternSubscribe { pattern: pattern(g) },
            12 => SpotCommand::PatternUnsubscribe { pattern: pattern(g) },
            13 => {
                let request = match below(g, 4) {
                    0 => AckedRequest::Subscribe(topic(g)),
                    1 => AckedRequest::Unsubscribe(topic(g)),
                    2 => AckedRequest::PatternSubscribe(pattern(g)),
                    _ => AckedRequest::PatternUnsubscribe(pattern(g)),
                };
                SpotCommand::SubscribeAck(SubscribeAck {
                    request,
                    status: AckStatus::from_u8(u8::arbitrary(g)),
                })
            }
            14 => SpotCommand::RelayedPublish(RelayedPublish {
                origin: node_id(g),
                hops: u8::arbitrary(g),
                sequence: u64::arbitrary(g),
                topic: topic(g),
                data: data(g),
            }),
            15 => SpotCommand::PushPullReq(push_pull(g)),
            16 => SpotCommand::PushPullResp(push_pull(g)),
            17 => SpotCommand::MemberListQuery { request_id: u32::arbitrary(g) },
            18 => SpotCommand::MemberListResp(MemberListPage {
                request_id: u32::arbitrary(g),
                last: bool::arbitrary(g),
                members: (0..below(g, 5)).map(|_| member(g)).collect(),
            }),
            _ => {
                let code = loop {
                    let code = u8::arbitrary(g);
                    if CommandCode::from_u8(code).is_none() {
                        break code;
                    }
                };
                let frames = (0..below(g, 4)).map(|_| data(g)).collect();
                SpotCommand::Unknown { code, frames }
            }
        };
        AnyCommand(command)
    }
}

/// Every byte view a decoded command holds that must be a slice of the input.
fn views(command: &SpotCommand) -> Vec<Bytes> {
    let topic = |t: &Topic| t.as_bytes().clone();
    let id = |n: &NodeId| n.as_bytes().clone();
    match command {
        SpotCommand::Publish { topic: t, data } => vec![topic(t), data.clone()],
        SpotCommand::Subscribe { topic: t } | SpotCommand::Unsubscribe { topic: t } => {
            vec![topic(t)]
        }
        SpotCommand::Query
        | SpotCommand::DirectoryQuery { .. }
        | SpotCommand::MemberListQuery { .. } => vec![],
        SpotCommand::QueryResp { topics } => topics.iter().map(topic).collect(),
        SpotCommand::Hello(h) | SpotCommand::HelloAck(h) => vec![id(&h.node_id)],
        SpotCommand::TopicCreated { owner, topic: t } => vec![id(&owner.id), topic(t)],
        SpotCommand::TopicDestroyed { owner, topic: t } => vec![id(owner), topic(t)],
        SpotCommand::DirectoryResp(page) => page
            .owners
            .iter()
            .flat_map(|o| std::iter::once(id(&o.owner.id)).chain(o.topics.iter().map(topic)))
            .collect(),
        SpotCommand::PatternSubscribe { pattern } | SpotCommand::PatternUnsubscribe { pattern } => {
            vec![pattern.as_bytes().clone()]
        }
        SpotCommand::SubscribeAck(ack) => match &ack.request {
            AckedRequest::Subscribe(t) | AckedRequest::Unsubscribe(t) => vec![topic(t)],
            AckedRequest::PatternSubscribe(p) | AckedRequest::PatternUnsubscribe(p) => {
                vec![p.as_bytes().clone()]
            }
        },
        SpotCommand::RelayedPublish(r) => vec![id(&r.origin), topic(&r.topic), r.data.clone()],
        SpotCommand::PushPullReq(p) | SpotCommand::PushPullResp(p) => {
            vec![id(&p.sender), p.state.clone()]
        }
        SpotCommand::MemberListResp(page) => page
            .members
            .iter()
            .flat_map(|m| {
                std::iter::once(id(&m.id)).chain(
                    m.tags
                        .iter()
                        .flat_map(|t| [t.key().as_bytes().clone(), t.value().as_bytes().clone()]),
                )
            })
            .collect(),
        SpotCommand::Unknown { frames, .. } => frames.clone(),
        other => panic!("views() does not cover {}", other.name()),
    }
}

/// Whether `view` lies inside one of `frames` (empty views point anywhere and are skipped).
fn inside(view: &Bytes, frames: &[Bytes]) -> bool {
    if view.is_empty() {
        return true;
    }
    let start = view.as_ptr() as usize;
    let end = start + view.len();
    frames.iter().any(|f| {
        let f_start = f.as_ptr() as usize;
        f_start <= start && end <= f_start + f.len()
    })
}

/// Fresh copies of the frames, so pointers cannot alias the command the frames came from.
fn fresh(frames: &[Bytes]) -> Vec<Bytes> {
    frames.iter().map(|f| Bytes::copy_from_slice(f)).collect()
}

fn with_delimiter(frames: &[Bytes]) -> Vec<Bytes> {
    std::iter::once(Bytes::new()).chain(frames.iter().cloned()).collect()
}

#[test]
fn every_command_round_trips_with_and_without_the_delimiter() {
    fn prop(command: AnyCommand) -> bool {
        let command = command.0;
        let bare = command.encode(Envelope::Bare);
        let delimited = command.encode(Envelope::Delimited);
        delimited == with_delimiter(&bare)
            && split_envelope(&delimited).0 == Envelope::Delimited
            && (bare.first().is_some_and(|f| f.len() == 1 && f[0] == command.code()))
            && SpotCommand::decode(&bare, &limits()).as_ref() == Ok(&command)
            && SpotCommand::decode(&delimited, &limits()).as_ref() == Ok(&command)
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(AnyCommand) -> bool);
}

#[test]
fn decoded_fields_are_slices_of_the_input_frames() {
    fn prop(command: AnyCommand) -> bool {
        let input = fresh(&command.0.encode(Envelope::Delimited));
        let decoded = SpotCommand::decode(&input, &limits()).unwrap();
        views(&decoded).iter().all(|view| inside(view, &input))
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(AnyCommand) -> bool);
}

/// The outcome of decoding anything: a command that re-encodes to itself, or a typed error.
fn decodes_to_command_or_typed_error(frames: &[Bytes]) -> bool {
    match SpotCommand::decode(frames, &limits()) {
        Ok(command) => {
            let again = SpotCommand::decode(&command.encode(Envelope::Bare), &limits());
            again.as_ref() == Ok(&command)
        }
        Err(error) => !error.to_string().is_empty(),
    }
}

#[test]
fn arbitrary_frame_lists_never_panic() {
    fn prop(frames: Vec<Vec<u8>>, code: u8, use_code: bool) -> bool {
        let mut frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
        if use_code {
            // Steer half the cases past the command-frame check into a command's own decoder.
            let known = CommandCode::ALL[usize::from(code) % CommandCode::ALL.len()];
            frames.insert(0, Bytes::copy_from_slice(&[known.as_u8()]));
        }
        decodes_to_command_or_typed_error(&frames)
    }
    QuickCheck::new().quickcheck(prop as fn(Vec<Vec<u8>>, u8, bool) -> bool);
}

/// A small damage to a valid encoding.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit { frame: usize, bit: usize },
    Truncate { frame: usize, keep: usize },
    Extend { frame: usize, byte: u8 },
    DropFrame { frame: usize },
    DuplicateFrame { frame: usize },
}

impl Arbitrary for Mutation {
    fn arbitrary(g: &mut Gen) -> Self {
        let frame = usize::arbitrary(g);
        match below(g, 5) {
            0 => Mutation::FlipBit { frame, bit: usize::arbitrary(g) },
            1 => Mutation::Truncate { frame, keep: usize::arbitrary(g) },
            2 => Mutation::Extend { frame, byte: u8::arbitrary(g) },
            3 => Mutation::DropFrame { frame },
            _ => Mutation::DuplicateFrame { frame },
        }
    }
}

fn mutate(frames: &mut Vec<Bytes>, mutation: &[Mutation]) {
    for m in mutation {
        if frames.is_empty() {
            return;
        }
        let n = frames.len();
        match *m {
            Mutation::FlipBit { frame, bit } => {
                let mut bytes = frames[frame % n].to_vec();
                if !bytes.is_empty() {
                    let bit = bit % (bytes.len() * 8);
                    bytes[bit / 8] ^= 1 << (bit % 8);
                }
                frames[frame % n] = Bytes::from(bytes);
            }
            Mutation::Truncate { frame, keep } => {
                let f = &frames[frame % n];
                frames[frame % n] = f.slice(..keep % (f.len() + 1));
            }
            Mutation::Extend { frame, byte } => {
                let mut bytes = frames[frame % n].to_vec();
                bytes.push(byte);
                frames[frame % n] = Bytes::from(bytes);
            }
            Mutation::DropFrame { frame } => {
                frames.remove(frame % n);
            }
            Mutation::DuplicateFrame { frame } => {
                let copy = frames[frame % n].clone();
                frames.insert(frame % n, copy);
            }
        }
    }
}

#[test]
fn mutated_commands_never_panic_and_stay_consistent() {
    fn prop(command: AnyCommand, mutations: Vec<Mutation>) -> bool {
        let mut frames = command.0.encode(Envelope::Bare);
        mutate(&mut frames, &mutations);
        decodes_to_command_or_typed_error(&frames)
    }
    QuickCheck::new().quickcheck(prop as fn(AnyCommand, Vec<Mutation>) -> bool);
}

#[test]
fn x_spot_round_trips_and_tolerates_garbage() {
    fn round_trip(id_seed: Vec<u8>, bits: u64, version: u16, tail: Vec<u8>) -> bool {
        let mut raw = id_seed;
        raw.truncate(255);
        if raw.is_empty() {
            raw.push(b'n');
        }
        let announcement = SpotAnnouncement {
            version: version.max(1),
            node_id: NodeId::new(Bytes::from(raw), &limits()).unwrap(),
            capabilities: Capabilities::from_bits(bits),
        };
        let mut value = announcement.encode().to_vec();
        let exact = SpotAnnouncement::decode(&Bytes::from(value.clone()), &limits());
        value.extend_from_slice(&tail);
        let extended = SpotAnnouncement::decode(&Bytes::from(value), &limits());
        exact.as_ref() == Ok(&announcement) && extended.as_ref() == Ok(&announcement)
    }
    fn garbage(value: Vec<u8>) -> bool {
        match SpotAnnouncement::decode(&Bytes::from(value), &limits()) {
            Ok(a) => a.version >= 1 && !a.node_id.is_empty(),
            Err(e) => matches!(
                e,
                DecodeError::Truncated { .. }
                    | DecodeError::EmptyField { .. }
                    | DecodeError::InvalidValue { .. }
                    | DecodeError::TooLarge { .. }
            ),
        }
    }
    QuickCheck::new().quickcheck(round_trip as fn(Vec<u8>, u64, u16, Vec<u8>) -> bool);
    QuickCheck::new().quickcheck(garbage as fn(Vec<u8>) -> bool);
}

// ---- the PUBLISH hot path allocates nothing ----

/// Counts heap allocations made by the current thread (other test threads do not interfere).
mod counting_allocator {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) struct Counting;

    // The only unsafe code in this test crate: a pass-through to the system allocator that
    // bumps a thread-local counter.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
            // SAFETY: forwards the caller's layout unchanged.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `System.alloc` with this layout (see `alloc`).
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// Allocations made by this thread while `f` runs.
    pub(crate) fn allocations_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
        let before = ALLOCATIONS.with(Cell::get);
        let out = f();
        (ALLOCATIONS.with(Cell::get) - before, out)
    }
}

#[global_allocator]
static ALLOCATOR: counting_allocator::Counting = counting_allocator::Counting;

#[test]
fn decoding_a_publish_allocates_nothing_whatever_the_payload_size() {
    let limits = limits();
    for payload_len in [0usize, 16, 1 << 10, 1 << 20] {
        // Frames as a ZMTP decoder hands them out: slices of one shared read buffer.
        let mut wire = vec![0x01u8];
        wire.extend_from_slice(b"game:score");
        wire.extend(std::iter::repeat_n(0xab, payload_len));
        let buffer = Bytes::from(wire);
        let frames = [Bytes::new(), buffer.slice(0..1), buffer.slice(1..11), buffer.slice(11..)];
        let (allocations, decoded) =
            counting_allocator::allocations_during(|| SpotCommand::decode(&frames, &limits));
        let Ok(SpotCommand::Publish { topic, data }) = decoded else {
            panic!("not a PUBLISH: {decoded:?}");
        };
        assert_eq!(allocations, 0, "payload of {payload_len} bytes");
        assert_eq!(topic.as_str(), "game:score");
        assert_eq!(data.len(), payload_len);

        let mut out = Vec::with_capacity(4);
        let command = SpotCommand::Publish { topic, data };
        let (allocations, ()) = counting_allocator::allocations_during(|| {
            command.encode_into(Envelope::Delimited, &mut out)
        });
        assert_eq!(allocations, 0, "encoding a PUBLISH into a reused Vec");
        assert_eq!(out.len(), 4);
    }
}
