//! Exact-byte tests of the SPOT command layer, including the captured libzmq bytes from
//! `shared/vectors/README.md` ("SPOT over DEALER/ROUTER").

use bytes::Bytes;

use super::*;
use crate::wire::spot::{
    AckStatus, AckedRequest, Capabilities, CommandCode, Envelope, Hello, NodeId, Pattern, PushPull,
    RelayedPublish, SubscribeAck, TopicOwner,
};

fn limits() -> Limits {
    Limits::default()
}

fn topic(name: &str) -> Topic {
    Topic::copy_from_str(name, &limits()).unwrap()
}

fn frames(list: &[&[u8]]) -> Vec<Bytes> {
    list.iter().map(|f| Bytes::copy_from_slice(f)).collect()
}

fn hex(text: &str) -> Vec<u8> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Splits short-form ZMTP data frames (flags, one-byte size, body): enough for the captures.
fn zmtp_short_frames(wire: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut rest = wire;
    while let [flags, size, tail @ ..] = rest {
        assert_eq!(flags & !0x01, 0, "only short data frames in this capture");
        let size = usize::from(*size);
        out.push(Bytes::copy_from_slice(&tail[..size]));
        rest = &tail[size..];
    }
    assert!(rest.is_empty());
    out
}

/// Frames as short-form ZMTP data frames, MORE on all but the last.
fn zmtp_short_wire(frames: &[Bytes]) -> Vec<u8> {
    let mut wire = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        wire.push(u8::from(i + 1 < frames.len()));
        wire.push(u8::try_from(frame.len()).unwrap());
        wire.extend_from_slice(frame);
    }
    wire
}

#[test]
fn base_commands_exact_frames() {
    let cases: Vec<(SpotCommand, Vec<Bytes>)> = vec![
        (
            SpotCommand::Publish { topic: topic("game:score"), data: Bytes::from_static(b"42") },
            frames(&[b"\x01", b"game:score", b"42"]),
        ),
        (SpotCommand::Subscribe { topic: topic("chat:1") }, frames(&[b"\x02", b"chat:1"])),
        (SpotCommand::Unsubscribe { topic: topic("chat:1") }, frames(&[b"\x03", b"chat:1"])),
        (SpotCommand::Query, frames(&[b"\x04"])),
        (SpotCommand::QueryResp { topics: vec![] }, frames(&[b"\x05", b"\x00\x00\x00\x00"])),
        (
            SpotCommand::QueryResp { topics: vec![topic("a"), topic("bc")] },
            frames(&[b"\x05", b"\x02\x00\x00\x00", b"a", b"bc"]),
        ),
    ];
    for (command, expected) in cases {
        assert_eq!(command.encode(Envelope::Bare), expected, "{}", command.name());
        assert_eq!(SpotCommand::decode(&expected, &limits()).unwrap(), command);
        let mut delimited = vec![Bytes::new()];
        delimited.extend(expected.iter().cloned());
        assert_eq!(command.encode(Envelope::Delimited), delimited);
        assert_eq!(SpotCommand::decode(&delimited, &limits()).unwrap(), command);
    }
}

#[test]
fn captured_query_from_a_libzmq_dealer() {
    // DEALER -> ROUTER QUERY, as pyzmq sent it: one frame, flags 00, size 01, body 04.
    let wire = hex("000104");
    let frames = zmtp_short_frames(&wire);
    assert_eq!(SpotCommand::decode(&frames, &limits()).unwrap(), SpotCommand::Query);
    assert_eq!(zmtp_short_wire(&SpotCommand::Query.encode(Envelope::Bare)), wire);
}

#[test]
fn captured_query_resp_through_a_libzmq_router() {
    let wire = hex("0100 010105 010402000000 0109696e7465726f703a74 000470793a74");
    let frames = zmtp_short_frames(&wire);
    let decoded = SpotCommand::decode(&frames, &limits()).unwrap();
    let expected = SpotCommand::QueryResp { topics: vec![topic("interop:t"), topic("py:t")] };
    assert_eq!(decoded, expected);
    assert_eq!(split_envelope(&frames).0, Envelope::Delimited);
    assert_eq!(zmtp_short_wire(&expected.encode(Envelope::Delimited)), wire);
}

#[test]
fn query_resp_count_must_match_and_stay_bounded() {
    let short = frames(&[b"\x05", b"\x03\x00\x00\x00", b"a", b"b"]);
    assert_eq!(
        SpotCommand::decode(&short, &limits()).unwrap_err(),
        DecodeError::FrameCount { code: 5, expected: 4, got: 3 }
    );
    let long = frames(&[b"\x05", b"\x01\x00\x00\x00", b"a", b"b"]);
    assert_eq!(
        SpotCommand::decode(&long, &limits()).unwrap_err(),
        DecodeError::FrameCount { code: 5, expected: 2, got: 3 }
    );
    let mut tight = limits();
    tight.max_topics_per_query_resp = 1;
    let two = frames(&[b"\x05", b"\x02\x00\x00\x00", b"a", b"b"]);
    assert!(matches!(
        SpotCommand::decode(&two, &tight),
        Err(DecodeError::TooLarge { what: "QUERY_RESP count", size: 2, limit: 1 })
    ));
    let no_count = frames(&[b"\x05"]);
    assert_eq!(
        SpotCommand::decode(&no_count, &limits()).unwrap_err(),
        DecodeError::FrameCount { code: 5, expected: 1, got: 0 }
    );
    let three_byte_count = frames(&[b"\x05", b"\x00\x00\x00"]);
    assert!(matches!(
        SpotCommand::decode(&three_byte_count, &limits()),
        Err(DecodeError::Truncated { what: "QUERY_RESP count", needed: 4, available: 3 })
    ));
    let bad_topic = frames(&[b"\x05", b"\x01\x00\x00\x00", b"\xc3"]);
    assert_eq!(
        SpotCommand::decode(&bad_topic, &limits()).unwrap_err(),
        DecodeError::InvalidUtf8 { what: "topic" }
    );
}

#[test]
fn malformed_known_commands_are_typed_errors() {
    let l = limits();
    let cases: Vec<(Vec<Bytes>, DecodeError)> = vec![
        (vec![], DecodeError::EmptyMessage),
        (frames(&[b""]), DecodeError::EmptyMessage),
        (frames(&[b"", b""]), DecodeError::EmptyMessage),
        (frames(&[b"\x01\x02", b"t", b"d"]), DecodeError::BadCommandFrame { len: 2 }),
        (frames(&[b"\x01", b"t"]), DecodeError::FrameCount { code: 1, expected: 2, got: 1 }),
        (
            frames(&[b"\x01", b"t", b"d", b"e"]),
            DecodeError::FrameCount { code: 1, expected: 2, got: 3 },
        ),
        (frames(&[b"\x01", b"", b"d"]), DecodeError::EmptyField { what: "topic" }),
        (frames(&[b"\x02", b"\xff"]), DecodeError::InvalidUtf8 { what: "topic" }),
        (frames(&[b"\x03"]), DecodeError::FrameCount { code: 3, expected: 1, got: 0 }),
        (frames(&[b"\x04", b"x"]), DecodeError::FrameCount { code: 4, expected: 0, got: 1 }),
        (
            frames(&[b"\x22", b"\x01\x00"]),
            DecodeError::Truncated { what: "DIRECTORY_QUERY", needed: 4, available: 2 },
        ),
        (
            frames(&[b"\x52", b"\x01\x00\x00\x00\x00"]),
            DecodeError::TrailingBytes { what: "MEMBER_LIST_QUERY", extra: 1 },
        ),
        (frames(&[b"\x30", b""]), DecodeError::EmptyField { what: "pattern" }),
    ];
    for (input, expected) in cases {
        assert_eq!(SpotCommand::decode(&input, &l).unwrap_err(), expected, "{input:?}");
    }
    let mut small = limits();
    small.max_topic_len = 3;
    small.max_message_size = 4;
    assert!(matches!(
        SpotCommand::decode(&frames(&[b"\x01", b"long", b"d"]), &small),
        Err(DecodeError::TooLarge { what: "topic", size: 4, limit: 3 })
    ));
    assert!(matches!(
        SpotCommand::decode(&frames(&[b"\x01", b"t", b"12345"]), &small),
        Err(DecodeError::TooLarge { what: "PUBLISH data", size: 5, limit: 4 })
    ));
}

#[test]
fn unknown_codes_are_carried_not_rejected() {
    for code in [0x00u8, 0x06, 0x0f, 0x12, 0x60, 0xff] {
        let input = frames(&[&[code], b"x", b""]);
        let decoded = SpotCommand::decode(&input, &limits()).unwrap();
        assert_eq!(
            decoded,
            SpotCommand::Unknown { code, frames: frames(&[b"x", b""]) },
            "0x{code:02x}"
        );
        assert_eq!(decoded.code(), code);
        assert_eq!(decoded.name(), "UNKNOWN");
        assert_eq!(decoded.encode(Envelope::Bare), input);
        assert!(!decoded.may_send_to(Capabilities::from_bits(u64::MAX)));
    }
}

#[test]
fn publish_decodes_without_copying() {
    let payload = Bytes::from(vec![7u8; 1 << 20]);
    let input =
        vec![Bytes::new(), Bytes::from_static(b"\x01"), Bytes::from_static(b"t"), payload.clone()];
    let SpotCommand::Publish { topic, data } = SpotCommand::decode(&input, &limits()).unwrap()
    else {
        panic!("not a PUBLISH");
    };
    assert_eq!(data.as_ptr(), payload.as_ptr());
    assert_eq!(topic.as_bytes().as_ptr(), input[2].as_ptr());
    let out = SpotCommand::Publish { topic, data }.encode(Envelope::Bare);
    assert_eq!(out[2].as_ptr(), payload.as_ptr(), "encoding hands the same payload back");
}

#[test]
fn extensions_need_their_capability() {
    let l = limits();
    let id = NodeId::copy_from_str("n", &l).unwrap();
    let commands = [
        (SpotCommand::Publish { topic: topic("t"), data: Bytes::new() }, None),
        (SpotCommand::Query, None),
        (
            SpotCommand::Hello(Hello {
                version: 1,
                capabilities: Capabilities::ALL_KNOWN,
                node_id: id.clone(),
                endpoint: "tcp://127.0.0.1:1".parse().unwrap(),
            }),
            Some(Capabilities::HELLO),
        ),
        (
            SpotCommand::PatternSubscribe { pattern: Pattern::copy_from_str("a*", &l).unwrap() },
            Some(Capabilities::PATTERNS),
        ),
        (SpotCommand::MemberListQuery { request_id: 1 }, Some(Capabilities::MEMBER_LIST)),
    ];
    for (command, needed) in commands {
        assert!(command.may_send_to(Capabilities::ALL_KNOWN));
        match needed {
            None => assert!(command.may_send_to(Capabilities::empty()), "{}", command.name()),
            Some(cap) => {
                assert!(!command.may_send_to(Capabilities::empty()));
                assert!(command.may_send_to(cap));
                assert_eq!(
                    command.command_code().and_then(CommandCode::required_capability),
                    Some(cap)
                );
            }
        }
    }
}

#[test]
fn extension_frames_exact_bytes() {
    let l = limits();
    let id = NodeId::copy_from_str("n", &l).unwrap();
    let owner = TopicOwner { id: id.clone(), endpoint: "inproc://n".parse().unwrap() };
    let cases: Vec<(SpotCommand, Vec<Bytes>)> = vec![
        (
            SpotCommand::TopicCreated { owner, topic: topic("t") },
            frames(&[b"\x20", b"\x01n\x0a\x00inproc://n", b"t"]),
        ),
        (
            SpotCommand::TopicDestroyed { owner: id.clone(), topic: topic("t") },
            frames(&[b"\x21", b"\x01n", b"t"]),
        ),
        (
            SpotCommand::DirectoryQuery { request_id: 0x0102_0304 },
            frames(&[b"\x22", b"\x04\x03\x02\x01"]),
        ),
        (
            SpotCommand::PatternUnsubscribe { pattern: Pattern::copy_from_str("x:*", &l).unwrap() },
            frames(&[b"\x31", b"x:*"]),
        ),
        (
            SpotCommand::SubscribeAck(SubscribeAck {
                request: AckedRequest::Subscribe(topic("t")),
                status: AckStatus::NotFound,
            }),
            frames(&[b"\x32", b"\x02\x01", b"t"]),
        ),
        (
            SpotCommand::RelayedPublish(RelayedPublish {
                origin: id.clone(),
                hops: 1,
                sequence: 9,
                topic: topic("t"),
                data: Bytes::from_static(b"d"),
            }),
            frames(&[b"\x40", b"\x01\x09\x00\x00\x00\x00\x00\x00\x00\x01n", b"t", b"d"]),
        ),
        (
            SpotCommand::PushPullResp(PushPull { join: false, sender: id, state: Bytes::new() }),
            frames(&[b"\x51", b"\x00\x01n", b""]),
        ),
    ];
    for (command, expected) in cases {
        assert_eq!(command.encode(Envelope::Bare), expected, "{}", command.name());
        assert_eq!(SpotCommand::decode(&expected, &l).unwrap(), command);
    }
}

#[test]
fn publish_frames_match_the_encoded_publish_command() {
    let (t, data) = (topic("game:score"), Bytes::from_static(b"42"));
    let command = SpotCommand::Publish { topic: t.clone(), data: data.clone() };
    for envelope in [Envelope::Bare, Envelope::Delimited] {
        let (frames, n) = SpotCommand::publish_frames(&t, &data, envelope);
        let frames: Vec<Bytes> = frames[..n].iter().map(|f| (*f).clone()).collect();
        assert_eq!(frames, command.encode(envelope), "{envelope:?}");
    }
}

#[test]
fn decode_message_agrees_with_decode_and_takes_the_publish_frames_as_they_are() {
    use crate::wire::zmtp::Message;

    let mut small = limits();
    small.max_message_size = 4;
    let cases: Vec<Vec<Bytes>> = vec![
        frames(&[&[0x01], b"game:score", b"42"]),
        frames(&[b"", &[0x01], b"game:score", b"42"]),
        frames(&[&[0x01], b"game:score", b"too long"]),
        frames(&[&[0x01], b"\xff\xfe", b"42"]),
        frames(&[&[0x01], b"game:score"]),
        frames(&[&[0x02], b"game:score"]),
        frames(&[&[0x04]]),
        frames(&[b""]),
        frames(&[&[0x01, 0x01], b"t", b"d"]),
        frames(&[&[0x7e], b"anything"]),
    ];
    for case in cases {
        for limits in [limits(), small.clone()] {
            let expected = SpotCommand::decode(&case, &limits);
            let got = SpotCommand::decode_message(Message::from(case.clone()), &limits);
            assert_eq!(got, expected, "{case:?}");
        }
    }
    let data = Bytes::from_static(b"payload");
    let message =
        Message::from(vec![Bytes::from_static(&[0x01]), Bytes::from_static(b"t"), data.clone()]);
    match SpotCommand::decode_message(message, &limits()) {
        Ok(SpotCommand::Publish { data: taken, .. }) => {
            assert_eq!(taken.as_ptr(), data.as_ptr(), "the payload frame itself")
        }
        other => panic!("not a publish: {other:?}"),
    }
}
