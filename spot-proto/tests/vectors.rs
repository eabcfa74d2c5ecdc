//! The ZMTP codec and link against byte captures of the real peers (`shared/vectors/`: the C++
//! ServerLink SPOT and pyzmq/libzmq). A missing capture directory fails these tests.
//!
//! * Codec: every recorded greeting parses in its recorded chunks and byte by byte; every frame a
//!   peer sent decodes, and our encoder rebuilds it byte for byte from its meaning (READY of each
//!   socket type, both subscription forms, PING/PONG, `[topic][payload]` including LONG).
//! * Link: the `ours>` lines are replayed as a scripted peer against a `Link` playing the real
//!   peer's role (see `vectors/replay.rs`).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

#[path = "vectors/capture.rs"]
mod capture;
#[path = "vectors/replay.rs"]
mod replay;

use std::collections::BTreeSet;

use bytes::{Bytes, BytesMut};
use capture::{Conn, Event, load_all};
use spot_proto::wire::zmtp::{
    Command, Frame, GreetingParser, GreetingStatus, Item, Message, Ping, Pong, Ready, SocketType,
    StreamDecoder, Subscription, SubscriptionForm,
};
use spot_proto::{DecodeError, Limits};

fn all_conns() -> Vec<Conn> {
    load_all().into_iter().flat_map(|(_, conns)| conns).collect()
}

fn is_serverlink(conn: &Conn) -> bool {
    conn.file.starts_with("serverlink")
}

#[test]
fn capture_files_are_all_present_and_parse() {
    let files = load_all();
    let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "pyzmq-bad-partner.txt",
        "pyzmq-dealer.txt",
        "pyzmq-pub.txt",
        "pyzmq-router.txt",
        "pyzmq-sub.txt",
        "pyzmq-xpub.txt",
        "serverlink-bad-partner.txt",
        "serverlink-xpub-to-xsub30.txt",
        "serverlink-xpub-to-xsub31.txt",
        "serverlink-xsub-to-listener.txt",
    ] {
        assert!(names.contains(expected), "missing capture {expected}");
    }
    for (name, conns) in &files {
        assert!(!conns.is_empty(), "{name} has no connections");
        for (i, conn) in conns.iter().enumerate() {
            assert_eq!(conn.number, i + 1, "{name}: connections numbered in order");
        }
    }
}

/// Feeds greeting reads to a parser; returns the final status.
fn parse_greeting(reads: &[Vec<u8>], id: &str) -> GreetingStatus {
    let mut parser = GreetingParser::new();
    let mut status = GreetingStatus::AwaitingSignature;
    let mut total = 0;
    for read in reads {
        let mut buf = BytesMut::from(&read[..]);
        status =
            parser.parse(&mut buf).unwrap_or_else(|e| panic!("{id}: peer greeting rejected: {e}"));
        assert!(buf.is_empty(), "{id}: greeting read not fully consumed");
        total += read.len();
        let expected_kind = match total {
            0..=9 => "awaiting",
            10 => "signature",
            11..=63 => "major",
            _ => "complete",
        };
        let kind = match status {
            GreetingStatus::AwaitingSignature => "awaiting",
            GreetingStatus::SignatureReceived => "signature",
            GreetingStatus::MajorReceived { major } => {
                assert_eq!(major, 3, "{id}");
                "major"
            }
            GreetingStatus::Complete(_) => "complete",
        };
        assert_eq!(kind, expected_kind, "{id}: status after {total} bytes");
    }
    status
}

#[test]
fn peer_greetings_parse_in_recorded_chunks_and_byte_by_byte() {
    let mut complete = 0;
    for conn in all_conns() {
        let id = conn.id();
        let (reads, _) = conn.peer_greeting_reads_and_frames();
        if reads.is_empty() {
            continue;
        }
        let recorded = parse_greeting(&reads, &id);
        let bytes: Vec<Vec<u8>> = reads.concat().into_iter().map(|b| vec![b]).collect();
        let byte_by_byte = parse_greeting(&bytes, &id);
        assert_eq!(recorded, byte_by_byte, "{id}");
        if let GreetingStatus::Complete(g) = recorded {
            complete += 1;
            assert_eq!(g.major(), 3, "{id}");
            let expected_minor = if is_serverlink(&conn) { 0 } else { 1 };
            assert_eq!(g.minor(), expected_minor, "{id}: announced minor");
            assert_eq!(g.mechanism(), b"NULL", "{id}");
        }
    }
    assert!(complete >= 40, "only {complete} complete peer greetings found");
}

/// Re-encodes a decoded item from its meaning, with our typed constructors.
fn reencode(item: &Item, peer_is_subscriber: bool, id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    match item {
        Item::Message(m) => {
            if peer_is_subscriber && let Some(sub) = Subscription::from_data_message(m) {
                sub.encode(SubscriptionForm::DataFrame, &mut out);
                return out;
            }
            Message::from_frames(m.iter().cloned()).encode(&mut out);
        }
        Item::Command(Command::Ready(r)) => {
            let socket_type = r.socket_type().unwrap_or_else(|e| panic!("{id}: {e}"));
            let identity = r.properties().identity();
            assert_eq!(
                identity.is_some(),
                socket_type.sends_identity(),
                "{id}: Identity property presence for {socket_type}"
            );
            let ready = match identity {
                Some(identity) => Ready::with_identity(socket_type, identity.clone()),
                None => Ready::new(socket_type),
            };
            assert_eq!(ready.properties().len(), r.properties().len(), "{id}");
            ready.encode(&mut out);
        }
        Item::Command(c @ (Command::Subscribe(_) | Command::Cancel(_))) => {
            let sub = Subscription::from_command(c).expect("subscription command");
            sub.encode(SubscriptionForm::Command, &mut out);
        }
        Item::Command(Command::Ping(p)) => {
            Ping::from_deciseconds(p.ttl_deciseconds(), p.context().clone()).encode(&mut out);
        }
        Item::Command(Command::Pong(p)) => Pong::new(p.context().clone()).encode(&mut out),
        other => panic!("{id}: a real peer sent {other:?}"),
    }
    out
}

#[derive(Default)]
struct Coverage {
    ready_types: BTreeSet<&'static str>,
    command_subscriptions: usize,
    data_subscriptions: usize,
    long_frames: usize,
    pings: usize,
    pongs: usize,
    messages: usize,
}

#[test]
fn every_peer_frame_decodes_and_our_encoder_rebuilds_it_byte_for_byte() {
    let mut seen = Coverage::default();
    for conn in all_conns() {
        let id = conn.id();
        let (_, frame_lines) = conn.peer_greeting_reads_and_frames();
        // Each post-greeting line is exactly one frame.
        for line in &frame_lines {
            let mut buf = BytesMut::from(&line[..]);
            let frame = Frame::decode(&mut buf, u64::MAX)
                .unwrap_or_else(|e| panic!("{id}: {e}"))
                .unwrap_or_else(|| panic!("{id}: incomplete frame line"));
            assert!(buf.is_empty(), "{id}: a frame line holds more than one frame");
            assert_eq!(frame.header.reserved_bits(), 0, "{id}");
            if frame.header.is_long() {
                seen.long_frames += 1;
            }
        }
        let stream = frame_lines.concat();
        let mut peer_is_subscriber = false;
        // Recorded chunks (one line each), then byte by byte: the same items.
        let mut by_line = Vec::new();
        let mut decoder = StreamDecoder::new(&Limits::default());
        for line in &frame_lines {
            decoder.feed(BytesMut::from(&line[..]));
            while let Some(item) = decoder.decode().unwrap_or_else(|e| panic!("{id}: {e}")) {
                by_line.push(item);
            }
        }
        assert_eq!(decoder.stats().frames, frame_lines.len() as u64, "{id}");
        assert!(!decoder.is_mid_message(), "{id}: a message was left open");
        let mut by_byte = Vec::new();
        let mut decoder = StreamDecoder::new(&Limits::default());
        for b in &stream {
            decoder.feed(BytesMut::from(&[*b][..]));
            while let Some(item) = decoder.decode().unwrap_or_else(|e| panic!("{id}: {e}")) {
                by_byte.push(item);
            }
        }
        assert_eq!(by_line, by_byte, "{id}");

        // Our encoder, fed the meaning of each item, reproduces the peer's bytes.
        let mut rebuilt = Vec::new();
        for item in &by_line {
            if let Item::Command(Command::Ready(r)) = item {
                let t = r.socket_type().unwrap_or_else(|e| panic!("{id}: {e}"));
                seen.ready_types.insert(t.as_str());
                peer_is_subscriber = t.is_subscriber();
            }
            match item {
                Item::Command(Command::Subscribe(_) | Command::Cancel(_)) => {
                    seen.command_subscriptions += 1
                }
                Item::Command(Command::Ping(_)) => seen.pings += 1,
                Item::Command(Command::Pong(_)) => seen.pongs += 1,
                Item::Message(m) => {
                    if peer_is_subscriber && Subscription::from_data_message(m).is_some() {
                        seen.data_subscriptions += 1;
                    } else {
                        seen.messages += 1;
                    }
                }
                _ => {}
            }
            rebuilt.extend(reencode(item, peer_is_subscriber, &id));
        }
        assert_eq!(rebuilt, stream, "{id}: re-encoded stream differs");
    }
    let types: Vec<&str> = seen.ready_types.iter().copied().collect();
    assert_eq!(types, ["DEALER", "PUB", "ROUTER", "SUB", "XPUB", "XSUB"]);
    assert!(seen.command_subscriptions >= 6, "{}", seen.command_subscriptions);
    assert!(seen.data_subscriptions >= 5, "{}", seen.data_subscriptions);
    assert!(seen.long_frames >= 6, "{}", seen.long_frames);
    assert!(seen.pings >= 20 && seen.pongs >= 4);
    assert!(seen.messages >= 40, "{}", seen.messages);
}

#[test]
fn our_raw_peers_streams_decode_except_the_deliberately_bad_greetings() {
    let mut refused = Vec::new();
    for conn in all_conns() {
        let id = conn.id();
        let mut parser = GreetingParser::new();
        let mut decoder = StreamDecoder::new(&Limits::default());
        let mut greeting_error = None;
        let mut items = 0;
        for event in &conn.events {
            let Event::Ours(bytes) = event else { continue };
            decoder.feed(BytesMut::from(&bytes[..]));
            if !parser.is_complete() {
                match decoder.parse_greeting(&mut parser) {
                    Ok(_) => {}
                    Err(e) => {
                        greeting_error = Some(e);
                        break;
                    }
                }
            }
            if parser.is_complete() {
                while let Some(_item) = decoder.decode().unwrap_or_else(|e| panic!("{id}: {e}")) {
                    items += 1;
                }
            }
        }
        if let Some(error) = greeting_error {
            refused.push((conn.file.clone(), conn.number, error));
        } else if parser.is_complete() {
            assert!(!decoder.is_mid_message(), "{id}");
            assert!(items >= 1 || conn.ours_stream().len() == 64, "{id}");
        }
    }
    let v1 = DecodeError::UnsupportedVersion { major: 1 };
    let plain = DecodeError::UnsupportedMechanism { mechanism: "PLAIN".into() };
    assert_eq!(
        refused,
        vec![
            ("pyzmq-bad-partner.txt".to_owned(), 11, plain),
            ("pyzmq-bad-partner.txt".to_owned(), 12, v1.clone()),
            ("serverlink-bad-partner.txt".to_owned(), 8, v1),
        ]
    );
}

#[test]
fn query_resp_through_a_libzmq_router_keeps_its_delimiter() {
    // pyzmq-router conn 1: [''][05][u32 LE 2]['interop:t']['py:t'] as the DEALER receives it.
    let conn = all_conns()
        .into_iter()
        .find(|c| c.file == "pyzmq-router.txt" && c.number == 1)
        .expect("pyzmq-router conn 1");
    let (_, frames) = conn.peer_greeting_reads_and_frames();
    let mut decoder = StreamDecoder::new(&Limits::default());
    decoder.feed(BytesMut::from(&frames.concat()[..]));
    let mut messages = Vec::new();
    while let Some(item) = decoder.decode().unwrap() {
        if let Item::Message(m) = item {
            messages.push(m);
        }
    }
    let mut resp = messages[0].clone();
    assert!(resp.strip_delimiter());
    assert_eq!(
        resp,
        Message::from_frames([
            Bytes::from_static(b"\x05"),
            Bytes::from_static(&[2, 0, 0, 0]),
            Bytes::from_static(b"interop:t"),
            Bytes::from_static(b"py:t"),
        ])
    );
    assert_eq!(messages[1].len(), 4);
    assert_eq!(messages[1][3].len(), 300, "the LONG PUBLISH payload");
    let router = Ready::with_identity(SocketType::Router, Bytes::new());
    assert_eq!(router.encoded_len(), frames[0].len());
}

#[test]
fn link_replays_every_capture() {
    replay::replay_all(&all_conns());
}
