//! Property tests of the SWIM datagram codec (`spot_proto::wire::swim`):
//!
//! * every message kind, with any updates, survives encode -> decode;
//! * the encoder never exceeds `Limits::max_datagram_size` and reports how many updates it took;
//! * decoded node ids are slices of the received buffer (no copy);
//! * arbitrary bytes, mutated datagrams and every truncation give a typed error, never a panic;
//! * the full-state blob of PUSH_PULL round-trips.
// Test code: a failed unwrap in a generator is a failed test.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use quickcheck::{Arbitrary, Gen, QuickCheck};
use spot_proto::wire::spot::{MemberInfo, MemberState, NodeId, Tag};
use spot_proto::wire::swim::{
    FullState, FullStateKind, MemberUpdate, SwimDatagram, SwimMessage, UpdateKind,
};
use spot_proto::{Endpoint, Host, Limits};

/// Fixed, so every run checks the same cases.
const SEED: u64 = 0x5717_0001;

fn limits() -> Limits {
    Limits::default()
}

fn roomy() -> Limits {
    let mut limits = limits();
    limits.max_datagram_size = 1 << 16;
    limits
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

fn node_id(g: &mut Gen) -> NodeId {
    let mut raw: Vec<u8> = Vec::arbitrary(g);
    raw.truncate(1 + below(g, 40));
    if raw.is_empty() {
        raw.push(u8::arbitrary(g));
    }
    NodeId::new(Bytes::from(raw), &limits()).unwrap()
}

fn endpoint(g: &mut Gen) -> Endpoint {
    match below(g, 5) {
        0 => Endpoint::tcp(std::net::Ipv4Addr::from(u32::arbitrary(g)), u16::arbitrary(g)),
        1 => Endpoint::tcp(std::net::Ipv6Addr::from(u128::arbitrary(g)), u16::arbitrary(g)),
        2 => {
            let len = 1 + below(g, 20);
            let name: String = (0..len)
                .map(|_| *g.choose(b"abcdefghijklmnopqrstuvwxyz0123456789.").unwrap() as char)
                .collect::<String>()
                .split('.')
                .filter(|label| !label.is_empty())
                .collect::<Vec<_>>()
                .join(".");
            Endpoint::Tcp { host: Host::Name(format!("h{name}")), port: u16::arbitrary(g) }
        }
        3 => Endpoint::Tcp { host: Host::Any, port: u16::arbitrary(g) },
        _ => {
            let name: String = text(g, 60).chars().filter(|c| !c.is_control()).collect();
            Endpoint::inproc(if name.is_empty() { "n" } else { &name }).unwrap()
        }
    }
}

fn tags(g: &mut Gen) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut size = 0;
    for _ in 0..below(g, 4) {
        let key = text(g, 20);
        let tag =
            Tag::copy_from_strs(if key.is_empty() { "k" } else { &key }, &text(g, 40)).unwrap();
        size += tag.encoded_len();
        if size > limits().max_tags_size {
            break;
        }
        tags.push(tag);
    }
    tags
}

fn update(g: &mut Gen) -> MemberUpdate {
    let kind = match below(g, 4) {
        0 => UpdateKind::Alive { endpoint: endpoint(g), tags: tags(g) },
        1 => UpdateKind::Suspect { by: node_id(g) },
        2 => UpdateKind::Dead,
        _ => UpdateKind::Left,
    };
    MemberUpdate { id: node_id(g), incarnation: u64::arbitrary(g), kind }
}

fn message(g: &mut Gen, kind: usize) -> SwimMessage {
    match kind {
        0 => SwimMessage::Ping {
            seq: u32::arbitrary(g),
            target: Option::<()>::arbitrary(g).map(|()| node_id(g)),
            suspicion: Option::arbitrary(g),
        },
        1 => SwimMessage::Ack { seq: u32::arbitrary(g) },
        2 => SwimMessage::PingReq {
            seq: u32::arbitrary(g),
            target: node_id(g),
            target_endpoint: endpoint(g),
        },
        3 => SwimMessage::Nack { seq: u32::arbitrary(g) },
        4 => SwimMessage::PushPullRequest { join: bool::arbitrary(g) },
        _ => SwimMessage::Gossip,
    }
}

/// A datagram whose updates all fit the default limits.
#[derive(Clone, Debug)]
struct AnyDatagram(SwimDatagram);

impl Arbitrary for AnyDatagram {
    fn arbitrary(g: &mut Gen) -> Self {
        let kind = below(g, 6);
        let mut datagram = SwimDatagram {
            cluster_id: u64::arbitrary(g),
            sender: node_id(g),
            message: message(g, kind),
            updates: Vec::new(),
        };
        let mut buf = BytesMut::new();
        let candidates: Vec<MemberUpdate> = (0..below(g, 12)).map(|_| update(g)).collect();
        datagram.updates = candidates;
        let taken = datagram.encode(&limits(), &mut buf);
        datagram.updates.truncate(taken);
        AnyDatagram(datagram)
    }
}

fn quickcheck(tests: u64) -> QuickCheck {
    QuickCheck::new().rng(Gen::from_size_and_seed(64, SEED)).tests(tests)
}

#[test]
fn every_message_kind_round_trips() {
    fn prop(datagram: AnyDatagram) -> bool {
        let datagram = datagram.0;
        let bytes = datagram.to_bytes(&limits());
        bytes.len() <= limits().max_datagram_size
            && SwimDatagram::decode(&bytes, &limits()).as_ref() == Ok(&datagram)
            && SwimDatagram::decode_for_cluster(&bytes, datagram.cluster_id, &limits()).is_ok()
    }
    quickcheck(2000).quickcheck(prop as fn(AnyDatagram) -> bool);
}

#[test]
fn each_kind_is_generated_and_round_trips() {
    let mut g = Gen::from_size_and_seed(64, SEED);
    for kind in 0..6 {
        for _ in 0..200 {
            let datagram = SwimDatagram {
                cluster_id: 1,
                sender: node_id(&mut g),
                message: message(&mut g, kind),
                updates: vec![update(&mut g)],
            };
            let bytes = datagram.to_bytes(&limits());
            assert_eq!(SwimDatagram::decode(&bytes, &limits()).unwrap(), datagram);
        }
    }
}

#[test]
fn encoder_never_exceeds_the_size_limit_and_counts_what_it_took() {
    fn prop(datagram: AnyDatagram, extra: Vec<u8>, size: u16) -> bool {
        let mut datagram = datagram.0;
        let mut g = Gen::from_size_and_seed(64, SEED);
        datagram.updates.extend((0..extra.len()).map(|_| update(&mut g)));
        let mut tight = limits();
        tight.max_datagram_size = 200 + usize::from(size % 1200);
        let mut buf = BytesMut::new();
        let taken = datagram.encode(&tight, &mut buf);
        let base = 12 + 1 + datagram.sender.len() + datagram.message.encoded_len() + 1;
        let decoded = SwimDatagram::decode(&buf.freeze(), &roomy());
        let Ok(decoded) = decoded else { return false };
        (base > tight.max_datagram_size || decoded_len_ok(&decoded, &tight))
            && decoded.updates[..] == datagram.updates[..taken]
    }
    fn decoded_len_ok(datagram: &SwimDatagram, limits: &Limits) -> bool {
        datagram.to_bytes(&roomy()).len() <= limits.max_datagram_size
    }
    quickcheck(500).quickcheck(prop as fn(AnyDatagram, Vec<u8>, u16) -> bool);
}

#[test]
fn decoded_ids_share_the_datagram_buffer() {
    let mut g = Gen::from_size_and_seed(64, SEED);
    for _ in 0..100 {
        let datagram = AnyDatagram::arbitrary(&mut g).0;
        let bytes = datagram.to_bytes(&limits());
        let decoded = SwimDatagram::decode(&bytes, &limits()).unwrap();
        let range = bytes.as_ptr_range();
        assert!(range.contains(&decoded.sender.as_bytes().as_ptr()));
        for update in &decoded.updates {
            assert!(range.contains(&update.id.as_bytes().as_ptr()));
        }
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    fn prop(raw: Vec<u8>, header: bool) -> bool {
        let mut data = raw;
        if header {
            // Start with a valid header so the fuzz reaches the body.
            let mut prefixed = b"SW\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
            prefixed.extend_from_slice(&data);
            data = prefixed;
        }
        let bytes = Bytes::from(data);
        let _ = SwimDatagram::decode(&bytes, &limits());
        let _ = FullState::decode(&bytes, &limits());
        let _ = MemberUpdate::decode(&bytes, &limits());
        true
    }
    quickcheck(5000).quickcheck(prop as fn(Vec<u8>, bool) -> bool);
}

#[test]
fn mutated_datagrams_never_panic_and_reencode_stably() {
    fn prop(datagram: AnyDatagram, flips: Vec<(u16, u8)>) -> bool {
        let mut raw = datagram.0.to_bytes(&limits()).to_vec();
        for (at, value) in flips {
            let len = raw.len();
            raw[usize::from(at) % len] = value;
        }
        match SwimDatagram::decode(&Bytes::from(raw), &limits()) {
            Ok(decoded) => {
                let again = SwimDatagram::decode(&decoded.to_bytes(&limits()), &limits());
                again.as_ref() == Ok(&decoded)
            }
            Err(_) => true,
        }
    }
    quickcheck(3000).quickcheck(prop as fn(AnyDatagram, Vec<(u16, u8)>) -> bool);
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let mut g = Gen::from_size_and_seed(64, SEED);
    for _ in 0..40 {
        let bytes = AnyDatagram::arbitrary(&mut g).0.to_bytes(&limits());
        for cut in 0..bytes.len() {
            assert!(SwimDatagram::decode(&bytes.slice(..cut), &limits()).is_err());
        }
    }
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

#[test]
fn full_state_round_trips_and_truncation_fails() {
    let mut g = Gen::from_size_and_seed(64, SEED);
    for round in 0..100 {
        let kind = if round % 2 == 0 { FullStateKind::Request } else { FullStateKind::Response };
        let state = FullState {
            kind,
            cluster_id: u64::arbitrary(&mut g),
            members: (0..below(&mut g, if round < 20 { 4 } else { 20 }))
                .map(|_| member(&mut g))
                .collect(),
        };
        let (blob, count) = state.encode(&limits());
        assert_eq!(count, state.members.len());
        assert_eq!(FullState::decode(&blob, &limits()).unwrap(), state);
        if round < 20 {
            for cut in 0..blob.len() {
                assert!(FullState::decode(&blob.slice(..cut), &limits()).is_err());
            }
        }
    }
}

#[test]
fn single_updates_round_trip() {
    fn prop(seed: u64) -> bool {
        let mut g = Gen::from_size_and_seed(64, seed);
        let update = update(&mut g);
        MemberUpdate::decode(&update.to_bytes(), &limits()).as_ref() == Ok(&update)
            && update.to_bytes().len() == update.encoded_len()
    }
    quickcheck(2000).quickcheck(prop as fn(u64) -> bool);
}

#[test]
fn fuzz_corpus_seeds_are_valid_inputs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/swim_datagram");
    let read = |name: &str| Bytes::from(std::fs::read(dir.join(name)).unwrap());
    for name in [
        "ack",
        "gossip-dead-left-ipv6-name",
        "nack",
        "ping-buddy-updates",
        "ping-join",
        "ping-req-inproc",
        "push-pull-request",
    ] {
        let datagram = SwimDatagram::decode(&read(name), &limits());
        assert!(datagram.is_ok(), "{name}: {datagram:?}");
    }
    assert!(FullState::decode(&read("full-state"), &limits()).is_ok());
    assert!(matches!(
        SwimDatagram::decode(&read("encrypted"), &limits()),
        Err(spot_proto::DecodeError::Unauthenticated { key_id: 42 })
    ));
}
