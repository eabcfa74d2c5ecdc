//! Property tests (quickcheck) for the ZMTP codec: round trips of every frame family, any split
//! of a valid stream, zero-copy decoding, and garbage that must never panic.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use bytes::{Bytes, BytesMut};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use spot_proto::Limits;
use spot_proto::wire::zmtp::{
    Command, ErrorCommand, Greeting, GreetingParser, GreetingStatus, Item, Message, Ping, Pong,
    Properties, Ready, StreamDecoder, Subscription, SubscriptionForm, UnknownCommand, ZmtpVersion,
};

/// A body length: mostly small, sometimes around and beyond the 255-byte short form.
fn body_len(g: &mut Gen) -> usize {
    match u8::arbitrary(g) % 8 {
        0 => 250 + usize::arbitrary(g) % 400,
        1 => 0,
        _ => usize::arbitrary(g) % 40,
    }
}

fn bytes_of_len(g: &mut Gen, len: usize) -> Bytes {
    Bytes::from((0..len).map(|_| u8::arbitrary(g)).collect::<Vec<u8>>())
}

fn small_bytes(g: &mut Gen, max: usize) -> Bytes {
    let len = usize::arbitrary(g) % (max + 1);
    bytes_of_len(g, len)
}

/// One thing a peer can put on the wire after the greeting.
#[derive(Clone, Debug)]
enum WireItem {
    Message(Message),
    Command(Command),
    Subscription(Subscription, SubscriptionForm),
}

impl WireItem {
    fn encode(&self, dst: &mut Vec<u8>) {
        match self {
            WireItem::Message(m) => m.encode(dst),
            WireItem::Command(c) => c.encode(dst),
            WireItem::Subscription(s, form) => s.encode(*form, dst),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            WireItem::Message(m) => m.encoded_len(),
            WireItem::Command(c) => c.encoded_len(),
            WireItem::Subscription(s, form) => s.encoded_len(*form),
        }
    }

    /// What the decoder must yield for this item.
    fn expected(&self) -> Item {
        match self {
            WireItem::Message(m) => Item::Message(m.clone()),
            WireItem::Command(c) => Item::Command(c.clone()),
            WireItem::Subscription(s, SubscriptionForm::Command) => Item::Command(s.to_command()),
            WireItem::Subscription(s, SubscriptionForm::DataFrame) => {
                let mut frame = vec![u8::from(s.is_subscribe())];
                frame.extend_from_slice(s.prefix());
                Item::Message(Message::single(Bytes::from(frame)))
            }
        }
    }
}

fn arbitrary_command(g: &mut Gen) -> Command {
    match u8::arbitrary(g) % 7 {
        0 => {
            let mut props = Properties::new();
            for _ in 0..usize::arbitrary(g) % 4 {
                let name_len = 1 + usize::arbitrary(g) % 255;
                let value_len = body_len(g);
                props.push(bytes_of_len(g, name_len), bytes_of_len(g, value_len)).unwrap();
            }
            Command::Ready(Ready::from_properties(props))
        }
        1 => Command::Error(ErrorCommand::new(small_bytes(g, 255))),
        2 => {
            let len = body_len(g);
            Command::Subscribe(bytes_of_len(g, len))
        }
        3 => {
            let len = body_len(g);
            Command::Cancel(bytes_of_len(g, len))
        }
        4 => Command::Ping(Ping::from_deciseconds(u16::arbitrary(g), small_bytes(g, 16))),
        5 => Command::Pong(Pong::new(small_bytes(g, 16))),
        _ => {
            let name_len = 1 + usize::arbitrary(g) % 20;
            let mut name = bytes_of_len(g, name_len).to_vec();
            // Keep clear of the known names by starting with a byte none of them has.
            name[0] = b'x';
            let len = body_len(g);
            Command::Unknown(UnknownCommand { name: Bytes::from(name), data: bytes_of_len(g, len) })
        }
    }
}

impl Arbitrary for WireItem {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 5 {
            0 | 1 => {
                let frames = 1 + usize::arbitrary(g) % 6;
                WireItem::Message(Message::from_frames((0..frames).map(|_| {
                    let len = body_len(g);
                    bytes_of_len(g, len)
                })))
            }
            2 | 3 => WireItem::Command(arbitrary_command(g)),
            _ => {
                let len = body_len(g);
                let prefix = bytes_of_len(g, len);
                let sub = if bool::arbitrary(g) {
                    Subscription::Subscribe(prefix)
                } else {
                    Subscription::Cancel(prefix)
                };
                let form = if bool::arbitrary(g) {
                    SubscriptionForm::Command
                } else {
                    SubscriptionForm::DataFrame
                };
                WireItem::Subscription(sub, form)
            }
        }
    }
}

fn encode_all(items: &[WireItem]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        let before = out.len();
        item.encode(&mut out);
        assert_eq!(out.len() - before, item.encoded_len(), "encoded_len of {item:?}");
    }
    out
}

fn drain(decoder: &mut StreamDecoder, out: &mut Vec<Item>) {
    while let Some(item) = decoder.decode().expect("valid stream") {
        out.push(item);
    }
}

fn quickcheck<A: quickcheck::Testable>(prop: A) {
    QuickCheck::new().tests(150).quickcheck(prop);
}

#[test]
fn every_frame_family_round_trips() {
    fn prop(items: Vec<WireItem>) -> bool {
        let stream = encode_all(&items);
        let mut decoder = StreamDecoder::new(&Limits::default());
        decoder.feed(BytesMut::from(&stream[..]));
        let mut got = Vec::new();
        drain(&mut decoder, &mut got);
        let expected: Vec<Item> = items.iter().map(WireItem::expected).collect();
        // The 3.0 subscription form reads back as the same subscription.
        for (item, decoded) in items.iter().zip(&got) {
            if let (WireItem::Subscription(s, SubscriptionForm::DataFrame), Item::Message(m)) =
                (item, decoded)
            {
                assert_eq!(Subscription::from_data_message(m).as_ref(), Some(s));
            }
        }
        got == expected && decoder.buffered() == 0
    }
    quickcheck(prop as fn(Vec<WireItem>) -> bool);
}

#[test]
fn greeting_round_trips_in_any_chunking() {
    fn prop(v31: bool, cuts: Vec<u8>) -> bool {
        let version = if v31 { ZmtpVersion::V3_1 } else { ZmtpVersion::V3_0 };
        let ours = Greeting::null(version);
        let bytes = ours.to_bytes();
        let mut parser = GreetingParser::new();
        let mut rest = &bytes[..];
        let mut cuts = cuts.into_iter().map(|c| usize::from(c % 12));
        let mut status = GreetingStatus::AwaitingSignature;
        while !rest.is_empty() {
            let n = cuts.next().unwrap_or(64).min(rest.len());
            let mut chunk = &rest[..n];
            status = parser.parse(&mut chunk).unwrap();
            rest = &rest[n..];
        }
        status == GreetingStatus::Complete(ours) && ours.version() == version
    }
    quickcheck(prop as fn(bool, Vec<u8>) -> bool);
}

/// Splits `stream` at the given cut sizes (0 allowed) into owned pieces.
fn split_at_cuts<'a>(stream: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = stream;
    let mut cuts = cuts.iter().map(|&c| usize::from(c % 700));
    while !rest.is_empty() {
        let n = cuts.next().unwrap_or(rest.len()).min(rest.len());
        pieces.push(&rest[..n]);
        rest = &rest[n..];
    }
    pieces
}

#[test]
fn any_split_of_a_valid_stream_decodes_to_the_same_items() {
    fn prop(items: Vec<WireItem>, cuts: Vec<u16>) -> bool {
        let stream = encode_all(&items);
        let expected: Vec<Item> = items.iter().map(WireItem::expected).collect();

        // Separate allocations per read (a driver that reads into fresh buffers).
        let mut decoder = StreamDecoder::new(&Limits::default());
        let mut got = Vec::new();
        for piece in split_at_cuts(&stream, &cuts) {
            decoder.feed(BytesMut::from(piece));
            drain(&mut decoder, &mut got);
        }
        if got != expected {
            return false;
        }

        // One allocation split as it fills (a driver that reads into one buffer).
        let mut whole = BytesMut::from(&stream[..]);
        let mut decoder = StreamDecoder::new(&Limits::default());
        let mut got = Vec::new();
        for piece in split_at_cuts(&stream, &cuts) {
            decoder.feed(whole.split_to(piece.len()));
            drain(&mut decoder, &mut got);
        }
        got == expected && !decoder.is_mid_message()
    }
    quickcheck(prop as fn(Vec<WireItem>, Vec<u16>) -> bool);
}

/// Every non-empty frame body must lie inside `[base, base + len)`.
fn all_frames_inside(items: &[Item], base: usize, len: usize) -> bool {
    items.iter().all(|item| match item {
        Item::Message(m) => m.iter().filter(|f| !f.is_empty()).all(|f| {
            let start = f.as_ptr() as usize;
            start >= base && start + f.len() <= base + len
        }),
        _ => true,
    })
}

#[test]
fn decoded_payloads_point_into_the_read_buffer() {
    fn prop(items: Vec<WireItem>, cuts: Vec<u16>) -> TestResult {
        let stream = encode_all(&items);
        if stream.is_empty() {
            return TestResult::discard();
        }
        // One read buffer holding the whole stream.
        let buf = BytesMut::from(&stream[..]);
        let (base, len) = (buf.as_ptr() as usize, buf.len());
        let mut decoder = StreamDecoder::new(&Limits::default());
        decoder.feed(buf);
        let mut got = Vec::new();
        drain(&mut decoder, &mut got);
        if !all_frames_inside(&got, base, len) {
            return TestResult::failed();
        }

        // Contiguous pieces of one allocation: still no copy, whatever the split.
        let mut whole = BytesMut::from(&stream[..]);
        let (base, len) = (whole.as_ptr() as usize, whole.len());
        let mut decoder = StreamDecoder::new(&Limits::default());
        let mut got = Vec::new();
        for piece in split_at_cuts(&stream, &cuts) {
            decoder.feed(whole.split_to(piece.len()));
            drain(&mut decoder, &mut got);
        }
        TestResult::from_bool(all_frames_inside(&got, base, len))
    }
    quickcheck(prop as fn(Vec<WireItem>, Vec<u16>) -> TestResult);
}

#[test]
fn with_separate_read_buffers_only_straddling_frames_are_copied() {
    fn prop(items: Vec<WireItem>, cuts: Vec<u16>) -> TestResult {
        let stream = encode_all(&items);
        if stream.is_empty() {
            return TestResult::discard();
        }
        // Where each data frame's header and body sit in the stream.
        let mut spans = Vec::new();
        let mut rest = BytesMut::from(&stream[..]);
        let mut offset = 0;
        while let Some(frame) = spot_proto::wire::zmtp::Frame::decode(&mut rest, u64::MAX).unwrap()
        {
            let header_len = frame.header.len();
            if !frame.header.is_command() {
                spans.push((offset, offset + header_len, frame.body.len()));
            }
            offset += header_len + frame.body.len();
        }
        // Separate allocations, one per read.
        let pieces: Vec<BytesMut> =
            split_at_cuts(&stream, &cuts).into_iter().map(BytesMut::from).collect();
        let mut starts = Vec::new();
        let mut at = 0;
        for p in &pieces {
            starts.push((at, p.len(), p.as_ptr() as usize));
            at += p.len();
        }
        let mut decoder = StreamDecoder::new(&Limits::default());
        let mut got = Vec::new();
        for piece in pieces {
            decoder.feed(piece);
            drain(&mut decoder, &mut got);
        }
        let bodies: Vec<Bytes> = got
            .into_iter()
            .filter_map(|i| match i {
                Item::Message(m) => Some(m),
                _ => None,
            })
            .flat_map(Message::into_iter)
            .collect();
        if bodies.len() != spans.len() {
            return TestResult::failed();
        }
        for (body, (frame_start, body_start, len)) in bodies.iter().zip(spans) {
            let inside =
                starts.iter().find(|(s, n, _)| *s <= frame_start && body_start + len <= s + n);
            if let (Some((piece_start, _, base)), true) = (inside, len > 0)
                && body.as_ptr() as usize != base + (body_start - piece_start)
            {
                return TestResult::failed();
            }
        }
        TestResult::passed()
    }
    quickcheck(prop as fn(Vec<WireItem>, Vec<u16>) -> TestResult);
}

#[test]
fn a_large_payload_is_not_copied() {
    // 1 MiB payload in one read: the decoded frame is the very same memory.
    let payload = vec![0xabu8; 1 << 20];
    let msg = Message::from_frames([Bytes::from_static(b"topic"), Bytes::from(payload)]);
    let mut wire = Vec::new();
    msg.encode(&mut wire);
    let buf = BytesMut::from(&wire[..]);
    let base = buf.as_ptr() as usize;
    let mut decoder = StreamDecoder::new(&Limits::default());
    decoder.feed(buf);
    let Some(Item::Message(got)) = decoder.decode().unwrap() else { panic!("no message") };
    assert_eq!(got, msg);
    assert_eq!(got[1].as_ptr() as usize, base + 2 + 5 + 9);
}

fn small_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_frame_size = 1 << 12;
    limits.max_message_size = 1 << 13;
    limits.max_frames_per_message = 8;
    limits.max_command_size = 1 << 10;
    limits
}

#[test]
fn garbage_never_panics() {
    fn prop(garbage: Vec<u8>, cuts: Vec<u16>, with_greeting: bool) -> bool {
        let mut stream = Vec::new();
        if with_greeting {
            stream.extend_from_slice(&Greeting::null(ZmtpVersion::V3_1).to_bytes());
        }
        stream.extend_from_slice(&garbage);
        let mut parser = GreetingParser::new();
        let mut decoder = StreamDecoder::new(&small_limits());
        for piece in split_at_cuts(&stream, &cuts) {
            decoder.feed(BytesMut::from(piece));
            if !parser.is_complete() {
                if decoder.parse_greeting(&mut parser).is_err() {
                    return true;
                }
                if !parser.is_complete() {
                    continue;
                }
            }
            loop {
                match decoder.decode() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => return decoder.decode().is_err(),
                }
            }
        }
        // Single-item decoders on raw garbage as well.
        let bytes = Bytes::from(garbage);
        let _ = Command::decode(bytes.clone());
        let _ = Properties::decode(bytes.clone());
        let _ = Ping::decode(bytes.clone());
        let _ = ErrorCommand::decode(bytes.clone());
        let _ = Greeting::decode(&bytes);
        true
    }
    quickcheck(prop as fn(Vec<u8>, Vec<u16>, bool) -> bool);
}

#[test]
fn garbage_commands_never_panic() {
    // Command frames with arbitrary bodies: every outcome is a typed value, never a panic.
    fn prop(name: Vec<u8>, data: Vec<u8>) -> bool {
        let mut body = vec![name.len().min(255) as u8];
        body.extend_from_slice(&name[..name.len().min(255)]);
        body.extend_from_slice(&data);
        let mut frame = Vec::new();
        spot_proto::wire::zmtp::FrameHeader::command(body.len()).encode(&mut frame);
        frame.extend_from_slice(&body);
        let mut decoder = StreamDecoder::new(&Limits::default());
        decoder.feed(BytesMut::from(&frame[..]));
        matches!(decoder.decode(), Ok(Some(Item::Command(_))) | Ok(Some(Item::InvalidCommand(_))))
    }
    quickcheck(prop as fn(Vec<u8>, Vec<u8>) -> bool);
}

mod link_props {
    use super::*;
    use spot_proto::Instant;
    use spot_proto::link::{Link, LinkConfig, LinkEvent};
    use spot_proto::wire::zmtp::SocketType;

    /// Feeds `stream` to a fresh link in the given pieces; returns its events and whether the
    /// drain contract held (transmit and events terminate, `Closed` comes last).
    fn run(config: LinkConfig, stream: &[u8], cuts: &[u16]) -> (Vec<LinkEvent>, bool) {
        let mut link = Link::new(config, Instant::ZERO);
        let mut events = Vec::new();
        for (i, piece) in split_at_cuts(stream, cuts).into_iter().enumerate() {
            let now = Instant::from_millis(i as u64);
            link.handle_read(now, BytesMut::from(piece));
            link.handle_timeout(now);
            let mut chunks = 0;
            while link.poll_transmit().is_some() {
                chunks += 1;
                if chunks > 100_000 {
                    return (events, false);
                }
            }
            while let Some(e) = link.poll_event() {
                events.push(e);
            }
        }
        let closed_positions: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, LinkEvent::Closed(_)))
            .map(|(i, _)| i)
            .collect();
        let contract = match closed_positions[..] {
            [] => !link.is_closed(),
            [i] => i + 1 == events.len() && link.is_closed() && link.poll_timeout().is_none(),
            _ => false,
        };
        (events, contract)
    }

    fn dealer_script(items: &[WireItem]) -> Vec<u8> {
        let mut stream = Greeting::null(ZmtpVersion::V3_1).to_bytes().to_vec();
        Ready::with_identity(SocketType::Dealer, Bytes::new()).encode(&mut stream);
        stream.extend(encode_all(items));
        stream
    }

    #[test]
    fn any_split_of_a_peer_stream_gives_the_link_the_same_events() {
        fn prop(items: Vec<WireItem>, cuts: Vec<u16>) -> bool {
            let stream = dealer_script(&items);
            let (whole, ok_whole) = run(LinkConfig::listener(), &stream, &[]);
            let (split, ok_split) = run(LinkConfig::listener(), &stream, &cuts);
            ok_whole && ok_split && whole == split && !whole.is_empty()
        }
        quickcheck(prop as fn(Vec<WireItem>, Vec<u16>) -> bool);
    }

    #[test]
    fn garbage_never_panics_a_link() {
        fn prop(garbage: Vec<u8>, cuts: Vec<u16>, prefix: u8, dialer: bool) -> bool {
            // No prefix, a valid greeting, or a greeting and a READY before the garbage.
            let mut stream = Vec::new();
            if prefix % 3 >= 1 {
                stream.extend(Greeting::null(ZmtpVersion::V3_1).to_bytes());
            }
            if prefix % 3 == 2 {
                let peer = if dialer { SocketType::Router } else { SocketType::Dealer };
                Ready::with_identity(peer, Bytes::new()).encode(&mut stream);
            }
            stream.extend_from_slice(&garbage);
            let config = if dialer {
                LinkConfig::dialer(SocketType::Dealer)
            } else {
                LinkConfig::listener()
            };
            run(config.with_limits(small_limits()), &stream, &cuts).1
        }
        quickcheck(prop as fn(Vec<u8>, Vec<u16>, u8, bool) -> bool);
    }
}
