use bytes::{Bytes, BytesMut};

use super::*;
use crate::wire::spot::{MemberInfo, MemberState, Tag};

fn limits() -> Limits {
    Limits::default()
}

fn id(text: &str) -> NodeId {
    NodeId::copy_from_str(text, &limits()).unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.split_whitespace().collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

/// The worked example of docs/SWIM.md, section 5.
fn worked_example() -> SwimDatagram {
    SwimDatagram {
        cluster_id: 7,
        sender: id("a"),
        message: SwimMessage::Ping { seq: 1, target: Some(id("b")), suspicion: Some(3) },
        updates: vec![
            MemberUpdate {
                id: id("a"),
                incarnation: 5,
                kind: UpdateKind::Alive {
                    endpoint: "tcp://10.0.0.1:5555".parse().unwrap(),
                    tags: vec![Tag::copy_from_strs("zone", "eu").unwrap()],
                },
            },
            MemberUpdate { id: id("b"), incarnation: 3, kind: UpdateKind::Suspect { by: id("a") } },
        ],
    }
}

const WORKED_EXAMPLE_HEX: &str = "
    53 57 01 00 07 00 00 00 00 00 00 00
    01 61
    01 01 00 00 00 01 62 01 03 00 00 00 00 00 00 00
    02
    00 01 61 05 00 00 00 00 00 00 00 01 0a 00 00 01 b3 15 09 00 04 7a 6f 6e 65 02 00 65 75
    01 01 62 03 00 00 00 00 00 00 00 01 61
";

#[test]
fn worked_example_bytes_are_pinned() {
    let datagram = worked_example();
    let bytes = datagram.to_bytes(&limits());
    assert_eq!(&bytes[..], &hex(WORKED_EXAMPLE_HEX)[..]);
    assert_eq!(bytes.len(), 73);
    assert_eq!(SwimDatagram::decode(&bytes, &limits()).unwrap(), datagram);
}

#[test]
fn ack_bytes_are_pinned() {
    let ack = SwimDatagram {
        cluster_id: 7,
        sender: id("b"),
        message: SwimMessage::Ack { seq: 1 },
        updates: vec![],
    };
    let bytes = ack.to_bytes(&limits());
    assert_eq!(&bytes[..], &hex("53 57 01 00 07 00 00 00 00 00 00 00 01 62 02 01 00 00 00 00")[..]);
}

#[test]
fn every_message_kind_has_pinned_body_bytes() {
    let cases: Vec<(SwimMessage, &str)> = vec![
        (SwimMessage::Ping { seq: 2, target: None, suspicion: None }, "01 02 00 00 00 00 00"),
        (SwimMessage::Nack { seq: 0x0a0b0c0d }, "04 0d 0c 0b 0a"),
        (
            SwimMessage::PingReq {
                seq: 9,
                target: id("c"),
                target_endpoint: "inproc://n1".parse().unwrap(),
            },
            "03 09 00 00 00 01 63 04 02 6e 31",
        ),
        (SwimMessage::PushPullRequest { join: true }, "05 01"),
        (SwimMessage::Gossip, "06"),
    ];
    for (message, body) in cases {
        let datagram = SwimDatagram { cluster_id: 0, sender: id("a"), message, updates: vec![] };
        let bytes = datagram.to_bytes(&limits());
        let expected =
            [hex("53 57 01 00 00 00 00 00 00 00 00 00 01 61"), hex(body), vec![0]].concat();
        assert_eq!(&bytes[..], &expected[..], "{:?}", datagram.message);
        assert_eq!(SwimDatagram::decode(&bytes, &limits()).unwrap(), datagram);
        assert_eq!(bytes.len(), CLEAR_HEADER_LEN + 2 + datagram.message.encoded_len() + 1);
    }
}

#[test]
fn endpoint_forms_have_pinned_bytes() {
    let cases = [
        ("tcp://*:1", "00 01 00"),
        ("tcp://[::1]:2", "02 00000000000000000000000000000001 02 00"),
        ("tcp://h.example:3", "03 09 682e6578616d706c65 03 00"),
    ];
    for (text, expected) in cases {
        let update = MemberUpdate {
            id: id("m"),
            incarnation: 0,
            kind: UpdateKind::Alive { endpoint: text.parse().unwrap(), tags: vec![] },
        };
        let bytes = update.to_bytes();
        let body = &bytes[1 + 2 + 8..bytes.len() - 2];
        assert_eq!(body, &hex(expected)[..], "{text}");
        assert_eq!(MemberUpdate::decode(&bytes, &limits()).unwrap(), update);
    }
}

#[test]
fn header_violations_are_typed_errors() {
    let good = worked_example().to_bytes(&limits());
    let mutate = |at: usize, value: u8| {
        let mut bytes = good.to_vec();
        bytes[at] = value;
        SwimDatagram::decode(&Bytes::from(bytes), &limits()).unwrap_err()
    };
    assert_eq!(mutate(0, b'X'), DecodeError::BadMagic);
    assert_eq!(mutate(2, 2), DecodeError::UnsupportedSwimVersion { version: 2 });
    assert_eq!(mutate(3, 0x80), DecodeError::InvalidValue { what: "SWIM flags", value: 0x80 });
    assert_eq!(
        SwimDatagram::decode_for_cluster(&good, 8, &limits()).unwrap_err(),
        DecodeError::ClusterMismatch
    );
    assert!(SwimDatagram::decode_for_cluster(&good, 7, &limits()).is_ok());
    assert_eq!(mutate(14, 9), DecodeError::InvalidValue { what: "message kind", value: 9 });
    let mut long = good.to_vec();
    long.push(0);
    assert_eq!(
        SwimDatagram::decode(&Bytes::from(long), &limits()).unwrap_err(),
        DecodeError::TrailingBytes { what: "SWIM datagram", extra: 1 }
    );
}

#[test]
fn encrypted_datagrams_without_a_key_are_unauthenticated() {
    let mut bytes = hex("53 57 01 01 07 00 00 00 00 00 00 00 2a");
    bytes.extend_from_slice(&[0u8; NONCE_LEN + AUTH_TAG_LEN]);
    bytes.extend_from_slice(b"ciphertext");
    let bytes = Bytes::from(bytes);
    assert_eq!(
        SwimDatagram::decode(&bytes, &limits()).unwrap_err(),
        DecodeError::Unauthenticated { key_id: 42 }
    );
    // A cut-off encryption header is truncation, not an authentication failure.
    assert!(matches!(
        SwimDatagram::decode(&bytes.slice(..20), &limits()),
        Err(DecodeError::Truncated { what: "nonce", .. })
    ));
    // The cluster check comes first: a foreign cluster's datagram is a mismatch.
    assert_eq!(
        SwimDatagram::decode_for_cluster(&bytes, 1, &limits()).unwrap_err(),
        DecodeError::ClusterMismatch
    );
}

#[test]
fn hostile_update_counts_are_refused_before_allocation() {
    let mut bytes = hex("53 57 01 00 00 00 00 00 00 00 00 00 01 61 06 40");
    bytes.extend_from_slice(&[0u8; 12]);
    assert!(matches!(
        SwimDatagram::decode(&Bytes::from(bytes.clone()), &limits()),
        Err(DecodeError::Truncated { what: "member updates", needed: 704, available: 12 })
    ));
    bytes[15] = 65;
    assert!(matches!(
        SwimDatagram::decode(&Bytes::from(bytes), &limits()),
        Err(DecodeError::TooLarge { what: "updates per datagram", size: 65, limit: 64 })
    ));
}

#[test]
fn oversized_datagrams_are_refused() {
    let big = Bytes::from(vec![0u8; 1401]);
    assert!(matches!(
        SwimDatagram::decode(&big, &limits()),
        Err(DecodeError::TooLarge { what: "SWIM datagram", .. })
    ));
}

#[test]
fn writer_packs_updates_until_the_size_limit() {
    let limits = limits();
    let updates: Vec<MemberUpdate> = (0..100)
        .map(|i| MemberUpdate {
            id: id(&format!("tcp://10.0.0.{i}:5555")),
            incarnation: i,
            kind: UpdateKind::Dead,
        })
        .collect();
    let datagram = SwimDatagram {
        cluster_id: 1,
        sender: id("s"),
        message: SwimMessage::Gossip,
        updates: updates.clone(),
    };
    let mut buf = BytesMut::new();
    let taken = datagram.encode(&limits, &mut buf);
    assert!(buf.len() <= limits.max_datagram_size);
    assert!(taken < 100 && taken > 10, "took {taken}");
    assert!(buf.len() + updates[taken].encoded_len() > limits.max_datagram_size);
    let decoded = SwimDatagram::decode(&buf.freeze(), &limits).unwrap();
    assert_eq!(decoded.updates, updates[..taken]);

    let few = Limits { max_updates_per_datagram: 3, ..Limits::default() };
    assert_eq!(datagram.encode(&few, &mut BytesMut::new()), 3);
}

#[test]
fn cluster_ids_are_stable() {
    assert_eq!(cluster_id_from_name(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(cluster_id_from_name("a"), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(cluster_id_from_name("prod"), cluster_id_from_name("test"));
}

#[test]
fn full_state_round_trips_and_is_bounded() {
    let members = vec![
        MemberInfo {
            id: id("a"),
            endpoint: "tcp://10.0.0.1:5555".parse().unwrap(),
            state: MemberState::Alive,
            incarnation: 1,
            tags: vec![Tag::copy_from_strs("role", "worker").unwrap()],
        },
        MemberInfo {
            id: id("b"),
            endpoint: "inproc://b".parse().unwrap(),
            state: MemberState::Dead,
            incarnation: 4,
            tags: vec![],
        },
    ];
    let state = FullState { kind: FullStateKind::Response, cluster_id: 3, members };
    let (blob, count) = state.encode(&limits());
    assert_eq!(count, 2);
    assert_eq!(&blob[..16], &hex("53 57 01 11 03 00 00 00 00 00 00 00 02 00 00 00")[..]);
    assert_eq!(FullState::decode(&blob, &limits()).unwrap(), state);

    let small = Limits { max_message_size: 50, ..Limits::default() };
    let (cut, count) = state.encode(&small);
    assert_eq!(count, 1);
    assert!(cut.len() <= 50);
    assert_eq!(
        FullState::decode(&blob, &small).unwrap_err(),
        DecodeError::TooLarge { what: "SWIM full state", size: blob.len() as u64, limit: 50 }
    );
    let mut hostile = blob[..16].to_vec();
    hostile[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        FullState::decode(&Bytes::from(hostile), &limits()),
        Err(DecodeError::Truncated { what: "full state members", .. })
    ));
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let bytes = worked_example().to_bytes(&limits());
    for cut in 0..bytes.len() {
        assert!(SwimDatagram::decode(&bytes.slice(..cut), &limits()).is_err(), "cut at {cut}");
    }
}

#[test]
fn long_entries_and_headers_encode_like_short_ones() {
    // Entries and datagram headers up to 128 bytes are assembled on the stack, longer ones
    // written directly: both must round-trip and have the length they announce.
    let long_value = "v".repeat(300);
    let members = vec![
        MemberInfo {
            id: id("short"),
            endpoint: "tcp://10.0.0.1:5555".parse().unwrap(),
            state: MemberState::Alive,
            incarnation: 9,
            tags: vec![],
        },
        MemberInfo {
            id: id(&"n".repeat(200)),
            endpoint: "tcp://long.example:1".parse().unwrap(),
            state: MemberState::Suspect,
            incarnation: 2,
            tags: vec![Tag::copy_from_strs("k", &long_value).unwrap()],
        },
    ];
    let state = FullState { kind: FullStateKind::Request, cluster_id: 5, members };
    let (blob, count) = state.encode(&limits());
    assert_eq!(count, 2);
    let entries: usize = state.members.iter().map(super::state::entry_len).sum();
    assert_eq!(blob.len(), super::state::HEAD_LEN + entries);
    assert_eq!(FullState::decode(&blob, &limits()).unwrap(), state);

    let long_sender = id(&"s".repeat(200));
    let message = SwimMessage::PingReq {
        seq: 3,
        target: id(&"t".repeat(100)),
        target_endpoint: "tcp://10.0.0.2:7".parse().unwrap(),
    };
    for sender in [id("x"), long_sender] {
        let datagram =
            SwimDatagram { cluster_id: 1, sender, message: message.clone(), updates: vec![] };
        let bytes = datagram.to_bytes(&limits());
        assert_eq!(SwimDatagram::decode(&bytes, &limits()).unwrap(), datagram);
    }
}

#[test]
fn a_prebuilt_prefix_writes_the_same_datagram_and_recognises_the_sender() {
    let limits = limits();
    let sender = id("tcp://127.0.0.1:7946");
    let prefix = DatagramPrefix::new(7, &sender);
    let encoded_prefix = prefix.get().expect("a short id fits the inline prefix");
    let update = MemberUpdate { id: id("b"), incarnation: 3, kind: UpdateKind::Dead };
    let messages = [
        SwimMessage::Ping { seq: 1, target: Some(id("tcp://127.0.0.2:7946")), suspicion: Some(4) },
        SwimMessage::Ack { seq: 9 },
        SwimMessage::Gossip,
        SwimMessage::PushPullRequest { join: true },
    ];
    for message in &messages {
        let mut by_fields = BytesMut::new();
        let mut writer = DatagramWriter::new(&mut by_fields, 7, &sender, message, &limits);
        assert!(writer.push(&update));
        writer.finish();
        let mut by_prefix = BytesMut::new();
        let mut writer = DatagramWriter::with_prefix(
            &mut by_prefix,
            encoded_prefix,
            message,
            limits.max_datagram_size,
            limits.max_updates_per_datagram,
        );
        assert!(writer.push(&update));
        writer.finish();
        assert_eq!(by_prefix, by_fields, "{message:?}");
        // A PING by reference writes the same bytes as the owned one.
        if let SwimMessage::Ping { seq, target: Some(target), suspicion } = message {
            let mut by_ref = BytesMut::new();
            let ping = PingRef { seq: *seq, target, suspicion: *suspicion };
            let mut writer = DatagramWriter::new_with(&mut by_ref, 7, &sender, &ping, &limits);
            assert!(writer.push(&update));
            writer.finish();
            assert_eq!(by_ref, by_fields);
        }
    }
    assert_eq!(prefix.is_sender(&sender), Some(true));
    assert_eq!(prefix.is_sender(&id("tcp://127.0.0.1:7947")), Some(false));
    assert_eq!(prefix.is_sender(&id("tcp")), Some(false));
    // An id too long to keep inline: no prefix, and the caller compares ids itself.
    let long = id(&"x".repeat(60));
    assert_eq!(DatagramPrefix::new(7, &long).get(), None);
    assert_eq!(DatagramPrefix::new(7, &long).is_sender(&long), None);
}

/// What the quick reader sees, in the full decoder's terms (`None` when it declines).
fn quick_as_full(bytes: &[u8], cluster_id: u64, limits: &Limits) -> Option<(Vec<u8>, SwimMessage)> {
    let quick =
        QuickDatagram::peek(bytes, cluster_id, limits.max_datagram_size, limits.max_member_id_len)?;
    let message = match quick.message {
        QuickMessage::Ping { seq, target } => SwimMessage::Ping {
            seq,
            target: Some(NodeId::new(Bytes::copy_from_slice(target), limits).unwrap()),
            suspicion: None,
        },
        QuickMessage::Ack { seq } => SwimMessage::Ack { seq },
        QuickMessage::Nack { seq } => SwimMessage::Nack { seq },
    };
    Some((quick.sender.to_vec(), message))
}

#[test]
fn quick_reader_takes_plain_probes_and_agrees_with_the_decoder() {
    let limits = limits();
    let dead = MemberUpdate { id: id("c"), incarnation: 1, kind: UpdateKind::Dead };
    let messages = [
        SwimMessage::Ping { seq: 9, target: Some(id("target")), suspicion: None },
        SwimMessage::Ping { seq: 9, target: Some(id("target")), suspicion: Some(4) },
        SwimMessage::Ping { seq: 9, target: None, suspicion: None },
        SwimMessage::Ack { seq: 0xdead_beef },
        SwimMessage::Nack { seq: 3 },
        SwimMessage::Gossip,
        SwimMessage::PushPullRequest { join: true },
    ];
    let mut taken = 0;
    for message in &messages {
        for updates in [vec![], vec![dead.clone()]] {
            let datagram = SwimDatagram {
                cluster_id: 7,
                sender: id("sender"),
                message: message.clone(),
                updates,
            };
            let bytes = datagram.to_bytes(&limits);
            let plain = datagram.updates.is_empty()
                && matches!(
                    message,
                    SwimMessage::Ping { target: Some(_), suspicion: None, .. }
                        | SwimMessage::Ack { .. }
                        | SwimMessage::Nack { .. }
                );
            let quick = quick_as_full(&bytes, 7, &limits);
            assert_eq!(quick.is_some(), plain, "{datagram:?}");
            if let Some((sender, message)) = quick {
                taken += 1;
                assert_eq!(sender, b"sender");
                assert_eq!(message, datagram.message);
            }
            assert!(quick_as_full(&bytes, 8, &limits).is_none(), "another cluster");
            // Every truncation, extension and single-byte change: whatever the quick reader
            // takes, the decoder takes the same way.
            let mut variants: Vec<Vec<u8>> =
                (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
            variants.push([&bytes[..], &[0]].concat());
            for at in 0..bytes.len() {
                for value in [0u8, 1, 2, 0x80, 0xff, bytes[at].wrapping_add(1)] {
                    let mut changed = bytes.to_vec();
                    changed[at] = value;
                    variants.push(changed);
                }
            }
            for variant in variants {
                let Some((sender, message)) = quick_as_full(&variant, 7, &limits) else { continue };
                let full =
                    SwimDatagram::decode_for_cluster(&Bytes::from(variant.clone()), 7, &limits)
                        .unwrap_or_else(|e| {
                            panic!("quick took what the decoder rejects ({e}): {variant:?}")
                        });
                assert_eq!(full.sender.as_bytes().as_ref(), &sender[..]);
                assert_eq!(full.message, message);
                assert!(full.updates.is_empty());
            }
        }
    }
    assert_eq!(taken, 3);
    // Limits apply: an id longer than allowed, or a datagram larger than allowed, is declined.
    let ping = SwimDatagram {
        cluster_id: 7,
        sender: id("sender"),
        message: SwimMessage::Ack { seq: 1 },
        updates: vec![],
    }
    .to_bytes(&limits);
    let short_ids = Limits { max_member_id_len: 3, ..Limits::default() };
    assert!(quick_as_full(&ping, 7, &short_ids).is_none());
    let small = Limits { max_datagram_size: ping.len() - 1, ..Limits::default() };
    assert!(quick_as_full(&ping, 7, &small).is_none());
}

/// The entries of a checked view, each made whole, in the decoder's terms.
fn view_members(blob: &Bytes, limits: &Limits) -> Option<(FullStateKind, u64, Vec<MemberInfo>)> {
    let view = FullStateView::check(blob, limits).ok()?;
    let members = view
        .entries()
        .map(|entry| {
            let info = view.info(&entry, limits).expect("a checked entry reads");
            assert_eq!(entry.id, info.id.as_bytes().as_ref());
            assert_eq!((entry.state, entry.incarnation), (info.state, info.incarnation));
            info
        })
        .collect();
    Some((view.kind, view.cluster_id, members))
}

#[test]
fn full_state_view_accepts_what_the_decoder_accepts() {
    let limits = limits();
    let members = vec![
        MemberInfo {
            id: id("alpha"),
            endpoint: "tcp://10.0.0.1:5555".parse().unwrap(),
            state: MemberState::Alive,
            incarnation: 1,
            tags: vec![Tag::copy_from_strs("role", "worker").unwrap()],
        },
        MemberInfo {
            id: id("b"),
            endpoint: "inproc://b".parse().unwrap(),
            state: MemberState::Dead,
            incarnation: 4,
            tags: vec![],
        },
        MemberInfo {
            id: id("c"),
            endpoint: "tcp://[::1]:7".parse().unwrap(),
            state: MemberState::Suspect,
            incarnation: 9,
            tags: vec![],
        },
        MemberInfo {
            id: id("d"),
            endpoint: "tcp://host.example:80".parse().unwrap(),
            state: MemberState::Left,
            incarnation: 2,
            tags: vec![],
        },
        MemberInfo {
            id: id("e"),
            endpoint: "tcp://*:99".parse().unwrap(),
            state: MemberState::Alive,
            incarnation: 0,
            tags: vec![],
        },
    ];
    let state = FullState { kind: FullStateKind::Request, cluster_id: 5, members };
    let (blob, _) = state.encode(&limits);
    assert_eq!(
        view_members(&blob, &limits),
        Some((state.kind, state.cluster_id, state.members.clone()))
    );
    let mut variants: Vec<Vec<u8>> = (0..blob.len()).map(|n| blob[..n].to_vec()).collect();
    variants.push([&blob[..], &[0]].concat());
    for at in 0..blob.len() {
        for value in [0u8, 1, 2, 3, 4, 5, 0x7f, 0xff, blob[at].wrapping_add(1)] {
            let mut changed = blob.to_vec();
            changed[at] = value;
            variants.push(changed);
        }
    }
    let mut accepted = 0;
    for variant in variants {
        let variant = Bytes::from(variant);
        let decoded = FullState::decode(&variant, &limits).ok();
        let viewed = view_members(&variant, &limits);
        assert_eq!(
            viewed,
            decoded.map(|s| (s.kind, s.cluster_id, s.members)),
            "{:?}",
            &variant[..]
        );
        accepted += usize::from(viewed.is_some());
    }
    assert!(accepted > 50, "accepted {accepted}");
}

#[test]
fn update_spans_cover_exactly_each_update_encoding() {
    let limits = limits();
    let sender = NodeId::copy_from_str("sender", &limits).unwrap();
    let updates = vec![
        MemberUpdate {
            id: NodeId::copy_from_str("a", &limits).unwrap(),
            incarnation: 3,
            kind: UpdateKind::Alive { endpoint: Endpoint::localhost(9), tags: vec![] },
        },
        MemberUpdate {
            id: NodeId::copy_from_str("bb", &limits).unwrap(),
            incarnation: 7,
            kind: UpdateKind::Suspect { by: sender.clone() },
        },
        MemberUpdate {
            id: NodeId::copy_from_str("ccc", &limits).unwrap(),
            incarnation: 1,
            kind: UpdateKind::Dead,
        },
    ];
    let datagram = SwimDatagram {
        cluster_id: 7,
        sender,
        message: SwimMessage::Ping { seq: 4, target: None, suspicion: None },
        updates: updates.clone(),
    }
    .to_bytes(&limits);
    let mut spans = Vec::from([0..1, 1..2]);
    let decoded =
        SwimDatagram::decode_for_cluster_with_spans(&datagram, 7, &limits, &mut spans).unwrap();
    assert_eq!(decoded.updates, updates);
    assert_eq!(spans.len(), 3, "the stale span was cleared");
    for (update, span) in updates.iter().zip(&spans) {
        assert_eq!(&datagram[span.clone()], &update.to_bytes()[..]);
    }
    assert_eq!(spans[2].end, datagram.len());
}
