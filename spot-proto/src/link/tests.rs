//! Link state machine tests: two in-memory links wired together, and scripted peers.

use core::time::Duration;

use bytes::{Bytes, BytesMut};

use super::*;
use crate::wire::zmtp::test_hex::{hex, unhex};
use crate::wire::zmtp::{Pong, X_SPOT};

/// Two links and an in-memory transport between them.
struct Pair {
    dialer: Link,
    listener: Link,
    dialer_events: Vec<LinkEvent>,
    listener_events: Vec<LinkEvent>,
    /// Every byte each side wrote, for byte-level checks.
    dialer_wire: Vec<u8>,
    listener_wire: Vec<u8>,
}

impl Pair {
    fn new(dialer: LinkConfig, listener: LinkConfig) -> Pair {
        Pair {
            dialer: Link::new(dialer, Instant::ZERO),
            listener: Link::new(listener, Instant::ZERO),
            dialer_events: Vec::new(),
            listener_events: Vec::new(),
            dialer_wire: Vec::new(),
            listener_wire: Vec::new(),
        }
    }

    /// Moves bytes both ways until nothing moves; collects events.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(chunk) = self.dialer.poll_transmit() {
                self.dialer_wire.extend_from_slice(&chunk);
                self.listener.handle_read(now, BytesMut::from(&chunk[..]));
                moved = true;
            }
            while let Some(chunk) = self.listener.poll_transmit() {
                self.listener_wire.extend_from_slice(&chunk);
                self.dialer.handle_read(now, BytesMut::from(&chunk[..]));
                moved = true;
            }
            while let Some(e) = self.dialer.poll_event() {
                self.dialer_events.push(e);
            }
            while let Some(e) = self.listener.poll_event() {
                self.listener_events.push(e);
            }
            if !moved {
                return;
            }
        }
    }

    /// Fires both timers up to `now` (as a driver would), then pumps.
    fn tick(&mut self, now: Instant) {
        for link in [&mut self.dialer, &mut self.listener] {
            if link.poll_timeout().is_some_and(|t| t <= now) {
                link.handle_timeout(now);
            }
        }
        self.pump(now);
    }
}

fn peer_of(events: &[LinkEvent]) -> &PeerInfo {
    events
        .iter()
        .find_map(|e| match e {
            LinkEvent::HandshakeComplete(p) => Some(&**p),
            _ => None,
        })
        .expect("handshake complete")
}

fn messages(events: &[LinkEvent]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn subscriptions(events: &[LinkEvent]) -> Vec<(Subscription, SubscriptionForm)> {
    events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Subscription { change, form } => Some((change.clone(), *form)),
            _ => None,
        })
        .collect()
}

fn closed(events: &[LinkEvent]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        LinkEvent::Closed(r) => Some(r),
        _ => None,
    })
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

#[test]
fn dealer_dialer_meets_router_listener() {
    let dialer = LinkConfig::dialer(SocketType::Dealer)
        .with_identity("node-a")
        .with_property(X_SPOT, "1;node-a")
        .unwrap();
    let listener = LinkConfig::listener().with_property(X_SPOT, "1;node-b").unwrap();
    let mut p = Pair::new(dialer, listener);
    p.pump(Instant::ZERO);
    let seen_by_listener = peer_of(&p.listener_events);
    assert_eq!(seen_by_listener.socket_type, SocketType::Dealer);
    assert_eq!(seen_by_listener.our_socket_type, SocketType::Router);
    assert_eq!(seen_by_listener.identity().unwrap(), "node-a");
    assert_eq!(seen_by_listener.x_spot().unwrap(), "1;node-a");
    assert_eq!(seen_by_listener.version, ZmtpVersion::V3_1);
    let seen_by_dialer = peer_of(&p.dialer_events);
    assert_eq!(seen_by_dialer.socket_type, SocketType::Router);
    assert_eq!(seen_by_dialer.identity().unwrap(), "");
    assert_eq!(seen_by_dialer.x_spot().unwrap(), "1;node-b");
    // Our greeting went out whole, first.
    assert_eq!(hex(&p.dialer_wire[..64]), hex(&Greeting::null(ZmtpVersion::V3_1).to_bytes()));

    // QUERY from the DEALER, QUERY_RESP back with the ROUTER's delimiter.
    p.dialer.send_control(Message::single(&b"\x04"[..])).unwrap();
    p.pump(Instant::ZERO);
    assert_eq!(messages(&p.listener_events), vec![Message::single(&b"\x04"[..])]);
    let resp = Message::from_frames([&b"\x05"[..], &[0, 0, 0, 0]]).with_delimiter();
    assert_eq!(p.listener.send(resp.clone()), Ok(SendOutcome::Queued));
    p.pump(Instant::ZERO);
    let mut got = messages(&p.dialer_events).remove(0);
    assert_eq!(got, resp);
    assert!(got.strip_delimiter());
    assert_eq!(p.dialer.stats().messages_in, 1);
    assert_eq!(p.listener.stats().messages_out, 1);
    assert!(p.dialer.is_ready() && p.listener.is_ready());
}

#[test]
fn sub_dialer_meets_xpub_listener_and_subscriptions_flow_both_forms() {
    for (listener_version, expected_form) in [
        (ZmtpVersion::V3_1, SubscriptionForm::Command),
        (ZmtpVersion::V3_0, SubscriptionForm::DataFrame),
    ] {
        let mut p = Pair::new(
            LinkConfig::dialer(SocketType::Sub),
            LinkConfig::listener().with_version(listener_version),
        );
        // Subscribed before the handshake: the form is picked once the listener's version is known.
        p.dialer.subscribe("interop:").unwrap();
        p.pump(Instant::ZERO);
        let peer = peer_of(&p.listener_events);
        assert_eq!(peer.our_socket_type, SocketType::XPub);
        assert!(peer.properties.identity().is_none());
        assert_eq!(
            subscriptions(&p.listener_events),
            vec![(Subscription::Subscribe(Bytes::from_static(b"interop:")), expected_form)]
        );
        // The listener's READY is XPUB's, byte for byte like libzmq and the C++ original.
        assert_eq!(
            hex(&p.listener_wire[64..]),
            "041a0552454144590b536f636b65742d547970650000000458505542"
        );
        let expected_sub = match expected_form {
            SubscriptionForm::Command => "041209535542534352494245696e7465726f703a",
            SubscriptionForm::DataFrame => "000901696e7465726f703a",
        };
        assert!(hex(&p.dialer_wire).ends_with(expected_sub));

        let publish = Message::from_frames([&b"interop:t"[..], b"hello"]);
        let _ = p.listener.send(publish.clone());
        p.dialer.cancel("interop:").unwrap();
        p.pump(Instant::ZERO);
        assert_eq!(messages(&p.dialer_events), vec![publish]);
        assert_eq!(subscriptions(&p.listener_events).len(), 2);
        assert_eq!(p.listener.stats().subscriptions_in, 2);
        assert_eq!(p.listener.stats().messages_in, 0, "subscriptions are not messages");
    }
}

#[test]
fn no_command_but_ready_ever_reaches_a_v30_peer() {
    // The dialer heartbeats and answers PINGs; its peer announced 3.0.
    let mut p = Pair::new(
        LinkConfig::dialer(SocketType::XSub)
            .with_heartbeat(Duration::from_millis(100), Duration::from_millis(300)),
        LinkConfig::listener().with_version(ZmtpVersion::V3_0),
    );
    p.pump(ms(0));
    assert_eq!(
        p.dialer
            .send_command(Command::Pong(Pong::new(Bytes::new())))
            .map_err(|e| matches!(e, SendError::Unsupported(_))),
        Err(true)
    );
    for t in (0..=2000).step_by(50) {
        p.tick(ms(t));
    }
    assert_eq!(p.dialer.poll_timeout(), None, "no heartbeat timer toward 3.0");
    // Only READY came in as a command at the listener.
    assert_eq!(p.listener.stats().commands_in, 1);
    assert_eq!(p.dialer.stats().pings_sent, 0);
    assert!(p.dialer.is_ready() && p.listener.is_ready());
}

#[test]
fn pings_are_answered_with_pongs_echoing_the_context_only_for_v31_peers() {
    for listener_version in [ZmtpVersion::V3_1, ZmtpVersion::V3_0] {
        let mut l = Link::new(LinkConfig::listener().with_version(listener_version), ms(0));
        let mut script = Greeting::null(ZmtpVersion::V3_1).to_bytes().to_vec();
        script.extend(unhex("04190552454144590b536f636b65742d5479706500000003535542")); // READY SUB
        script.extend(unhex("040f0450494e47001e6374782d30313233")); // PING ttl 3 s, ctx-0123
        script.extend(unhex("04050450494e47")); // truncated PING: malformed, never answered
        l.handle_read(ms(1), BytesMut::from(&script[..]));
        let mut out = Vec::new();
        while let Some(c) = l.poll_transmit() {
            out.extend_from_slice(&c);
        }
        // greeting, READY XPUB, then the PONG: the peer announced 3.1, whatever we announced.
        assert!(hex(&out).ends_with("040d04504f4e476374782d30313233"), "{}", hex(&out));
        assert_eq!(l.stats().pongs_sent, 1);
        assert_eq!(l.stats().malformed_commands, 1);
        assert!(l.is_ready());
    }
    // A 3.0 peer's PING is never answered.
    let mut l = Link::new(LinkConfig::listener(), ms(0));
    let mut script = Greeting::null(ZmtpVersion::V3_0).to_bytes().to_vec();
    script.extend(unhex("041a0552454144590b536f636b65742d547970650000000458535542"));
    script.extend(unhex("04070450494e470000"));
    l.handle_read(ms(1), BytesMut::from(&script[..]));
    let mut out = Vec::new();
    while let Some(c) = l.poll_transmit() {
        out.extend_from_slice(&c);
    }
    assert_eq!(out.len(), 64 + 28, "greeting and READY only");
    assert_eq!(l.stats().ignored_commands, 1);
}

#[test]
fn heartbeat_keeps_a_live_link_and_closes_a_silent_one() {
    let config = LinkConfig::dialer(SocketType::Dealer)
        .with_heartbeat(Duration::from_millis(100), Duration::from_secs(2));
    let mut p = Pair::new(config, LinkConfig::listener());
    p.pump(ms(0));
    assert_eq!(p.dialer.poll_timeout(), Some(ms(100)));
    for t in (0..=1000).step_by(10) {
        p.tick(ms(t));
    }
    assert!(p.dialer.is_ready());
    assert_eq!(p.dialer.stats().pings_sent, 10);
    assert_eq!(p.dialer.stats().pongs_received, 10);
    assert!(
        p.dialer_events
            .iter()
            .any(|e| matches!(e, LinkEvent::Pong { context } if context.is_empty()))
    );
    // Our PING advertises our timeout (2 s = 20 tenths): libzmq's bytes for TTL 2000 ms.
    assert!(hex(&p.dialer_wire).contains("04070450494e470014"));

    // Now the peer goes silent: the dialer pings at 1100 ms and closes 2 s later.
    let mut dialer = p.dialer;
    let mut now = ms(1000);
    let mut pinged_at = None;
    while !dialer.is_closed() {
        now = dialer.poll_timeout().expect("timer armed while open");
        dialer.handle_timeout(now);
        while dialer.poll_transmit().is_some() {}
        if pinged_at.is_none() && dialer.stats().pings_sent == 11 {
            pinged_at = Some(now);
        }
    }
    assert_eq!(pinged_at, Some(ms(1100)));
    assert_eq!(now, ms(3100));
    assert_eq!(dialer.close_reason(), Some(&CloseReason::HeartbeatTimeout));
    assert_eq!(dialer.poll_timeout(), None);
}

#[test]
fn hwm_drops_newest_and_counts_or_would_block() {
    let cfg = LinkConfig::dialer(SocketType::Dealer).with_hwm(3, 1 << 20, HwmPolicy::DropNewest);
    let mut l = Link::new(cfg, ms(0));
    let outcomes: Vec<_> = (0..5u8).map(|i| l.send(Message::single(vec![i])).unwrap()).collect();
    assert_eq!(outcomes[..3], [SendOutcome::Queued; 3]);
    assert_eq!(outcomes[3..], [SendOutcome::Dropped; 2]);
    assert_eq!(l.stats().dropped_hwm, 2);
    assert_eq!(l.queued_messages(), 3);

    let cfg = LinkConfig::dialer(SocketType::Dealer).with_hwm(2, 1 << 20, HwmPolicy::WouldBlock);
    let mut l = Link::new(cfg, ms(0));
    assert_eq!(l.send(Message::single(&b"a"[..])), Ok(SendOutcome::Queued));
    assert_eq!(l.send(Message::single(&b"b"[..])), Ok(SendOutcome::Queued));
    let back = l.send(Message::single(&b"c"[..]));
    assert_eq!(back, Err(SendError::WouldBlock(Message::single(&b"c"[..]))));
    assert_eq!(l.stats().dropped_hwm, 0);
    assert_eq!(NodeErrorOf::from(back.unwrap_err()).errno(), crate::Errno::EAGAIN);

    // The byte cap: a second message may not push queued payload beyond it.
    let cfg = LinkConfig::dialer(SocketType::Dealer).with_hwm(100, 10, HwmPolicy::WouldBlock);
    let mut l = Link::new(cfg, ms(0));
    assert!(l.send(Message::single(vec![0u8; 50])).is_ok(), "an empty queue takes anything");
    assert!(matches!(l.send(Message::single(vec![0u8; 1])), Err(SendError::WouldBlock(_))));
    assert!(matches!(l.send(Message::new()), Err(SendError::Unsupported(_))));
}

type NodeErrorOf = crate::NodeError;

#[test]
fn control_drains_before_data() {
    let mut p = Pair::new(LinkConfig::dialer(SocketType::Dealer), LinkConfig::listener());
    p.pump(ms(0));
    let data = Message::from_frames([&b"\x01"[..], b"topic", b"data"]);
    for _ in 0..3 {
        let _ = p.dialer.send(data.clone());
    }
    // Queued after the data, sent before it.
    p.dialer.send_control(Message::single(&b"\x04"[..])).unwrap();
    p.dialer.subscribe("x").unwrap();
    p.pump(ms(0));
    let order: Vec<&str> = p
        .listener_events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Message(m) if m.len() == 1 => Some("control"),
            LinkEvent::Message(_) => Some("data"),
            LinkEvent::Subscription { .. } => Some("subscription"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["control", "subscription", "data", "data", "data"]);
}

#[test]
fn small_frames_coalesce_and_large_bodies_pass_through_without_copy() {
    let mut p = Pair::new(LinkConfig::dialer(SocketType::Dealer), LinkConfig::listener());
    p.pump(ms(0));
    for i in 0..100u8 {
        let _ = p.dialer.send(Message::from_frames([vec![b't'], vec![i; 16]]));
    }
    let chunk = p.dialer.poll_transmit().unwrap();
    assert_eq!(chunk.len(), 100 * (2 + 1 + 2 + 16), "one coalesced chunk");
    assert!(p.dialer.poll_transmit().is_none());

    let big = Bytes::from(vec![7u8; 100_000]);
    let _ = p.dialer.send(Message::from_frames([Bytes::from_static(b"topic"), big.clone()]));
    let head = p.dialer.poll_transmit().unwrap();
    assert_eq!(hex(&head), "0105746f7069630200000000000186a0");
    let body = p.dialer.poll_transmit().unwrap();
    assert_eq!(body.as_ptr(), big.as_ptr(), "the body itself, not a copy");
    assert!(p.dialer.poll_transmit().is_none());
}

#[test]
fn dealer_meeting_a_publisher_is_told_to_redial_as_xsub() {
    for (peer_version, expect_error) in [(ZmtpVersion::V3_1, true), (ZmtpVersion::V3_0, false)] {
        let mut l = Link::new(LinkConfig::dialer(SocketType::Dealer), ms(0));
        let mut script = Greeting::null(peer_version).to_bytes().to_vec();
        script.extend(unhex("041a0552454144590b536f636b65742d547970650000000458505542"));
        l.handle_read(ms(0), BytesMut::from(&script[..]));
        assert_eq!(
            l.close_reason(),
            Some(&CloseReason::PeerIsPublisher { peer: SocketType::XPub })
        );
        assert!(l.close_reason().unwrap().is_handshake_failure());
        let mut out = Vec::new();
        while let Some(c) = l.poll_transmit() {
            out.extend_from_slice(&c);
        }
        let error = "041f054552524f5218696e636f6d70617469626c6520736f636b65742074797065";
        assert_eq!(hex(&out).ends_with(error), expect_error, "{}", hex(&out));
        assert!(matches!(l.poll_event(), Some(LinkEvent::Closed(_))));
        assert!(l.poll_event().is_none());
    }
}

#[test]
fn handshake_violations_close_with_typed_reasons() {
    let greeting = Greeting::null(ZmtpVersion::V3_1).to_bytes().to_vec();
    let cases: [(&str, CloseReason); 5] = [
        (
            "000104",
            CloseReason::Protocol(DecodeError::UnexpectedDuringHandshake { what: "data message" }),
        ),
        (
            "0412054552524f520b6e6f742d616c6c6f776564",
            CloseReason::PeerError { reason: Bytes::from_static(b"not-allowed") },
        ),
        (
            "0413055245414459084964656e7469747900000000",
            CloseReason::Protocol(DecodeError::MissingSocketType),
        ),
        (
            "04190552454144590b536f636b65742d5479706500000003505542",
            CloseReason::IncompatiblePeer { peer: SocketType::Pub },
        ),
        (
            "04070450494e470000",
            CloseReason::Protocol(DecodeError::UnexpectedDuringHandshake {
                what: "command other than READY",
            }),
        ),
    ];
    for (frame, reason) in cases {
        let mut l = Link::new(LinkConfig::listener(), ms(0));
        let mut script = greeting.clone();
        script.extend(unhex(frame));
        l.handle_read(ms(0), BytesMut::from(&script[..]));
        assert_eq!(l.close_reason(), Some(&reason), "{frame}");
        // Nothing more is processed after the close.
        l.handle_read(ms(0), BytesMut::from(&unhex("000104")[..]));
        assert!(matches!(l.poll_event(), Some(LinkEvent::Closed(r)) if r == reason));
        assert!(l.poll_event().is_none());
    }
    // A bad greeting closes before any frame.
    let mut l = Link::new(LinkConfig::listener(), ms(0));
    l.handle_read(ms(0), BytesMut::from(&unhex("ff00000000000000007f01")[..]));
    assert_eq!(
        l.close_reason(),
        Some(&CloseReason::Protocol(DecodeError::UnsupportedVersion { major: 1 }))
    );
}

#[test]
fn handshake_timeout_and_peer_close() {
    let mut l = Link::new(
        LinkConfig::dialer(SocketType::Dealer).with_handshake_timeout(Duration::from_secs(5)),
        ms(1000),
    );
    assert_eq!(l.poll_timeout(), Some(ms(6000)));
    l.handle_timeout(ms(5999));
    assert!(!l.is_closed());
    l.handle_timeout(ms(6000));
    assert_eq!(l.close_reason(), Some(&CloseReason::HandshakeTimeout));

    let mut l = Link::new(LinkConfig::listener(), ms(0));
    l.handle_read(ms(0), BytesMut::from(&Greeting::null(ZmtpVersion::V3_1).to_bytes()[..]));
    l.handle_transport_closed(ms(1));
    let reason = l.close_reason().unwrap();
    assert_eq!(reason, &CloseReason::PeerClosed { during_handshake: true });
    assert!(reason.is_handshake_failure());
}

#[test]
fn close_flushes_queued_data_then_reports_local() {
    let mut p = Pair::new(LinkConfig::dialer(SocketType::Dealer), LinkConfig::listener());
    p.pump(ms(0));
    for i in 0..3u8 {
        let _ = p.dialer.send(Message::single(vec![i]));
    }
    p.dialer.close();
    assert!(matches!(p.dialer.send(Message::single(vec![9])), Err(SendError::Closed(_))));
    p.pump(ms(0));
    assert_eq!(messages(&p.listener_events).len(), 3);
    assert_eq!(closed(&p.dialer_events), Some(&CloseReason::Local));
    assert_eq!(p.dialer.stats().dropped_on_close, 0);

    // Before the handshake, queued data is discarded and counted.
    let mut l = Link::new(LinkConfig::dialer(SocketType::Dealer), ms(0));
    let _ = l.send(Message::single(vec![1]));
    l.close();
    assert_eq!(l.stats().dropped_on_close, 1);
    assert_eq!(l.poll_transmit().map(|c| c.len()), Some(64), "only our greeting");
}

#[test]
fn tolerated_oddities_after_the_handshake() {
    let mut l = Link::new(LinkConfig::listener(), ms(0));
    let mut script = Greeting::null(ZmtpVersion::V3_1).to_bytes().to_vec();
    script.extend(unhex(
        "04290552454144590b536f636b65742d54797065000000064445414c4552084964656e7469747900000000",
    ));
    script.extend(unhex("04070548454c4c4f78")); // unknown HELLO
    script.extend(unhex("080104")); // reserved flag bit
    script.extend(unhex(
        "04290552454144590b536f636b65742d54797065000000064445414c4552084964656e7469747900000000",
    )); // second READY
    script.extend(unhex("000104"));
    for b in script {
        l.handle_read(ms(0), BytesMut::from(&[b][..]));
    }
    let s = l.stats();
    assert_eq!((s.unknown_commands, s.reserved_flag_frames, s.ignored_commands), (1, 1, 1));
    assert_eq!(s.messages_in, 2);
    assert!(l.is_ready());
}

#[test]
fn frames_sent_at_once_keep_order_and_count_against_the_hwm_until_handed_out() {
    let dialer = LinkConfig::dialer(SocketType::Dealer).with_hwm(2, 1 << 20, HwmPolicy::DropNewest);
    let mut p = Pair::new(dialer, LinkConfig::listener());
    p.pump(ms(0));
    let frames = |i: u8| [Bytes::from_static(b"t"), Bytes::from(vec![i; 8])];
    let send = |l: &mut Link, f: [Bytes; 2]| l.send_frames(&[&f[0], &f[1]]).map_err(|_| ());
    assert_eq!(send(&mut p.dialer, frames(0)), Ok(SendOutcome::Queued));
    assert_eq!(send(&mut p.dialer, frames(1)), Ok(SendOutcome::Queued));
    assert_eq!(p.dialer.queued_messages(), 2, "serialized but not handed out: still queued");
    assert_eq!(send(&mut p.dialer, frames(2)), Ok(SendOutcome::Dropped));
    assert_eq!(p.dialer.stats().dropped_hwm, 1);
    // A queued message goes first: later frames wait behind it in the queue.
    let chunk = p.dialer.poll_transmit().expect("the staged messages");
    assert_eq!(chunk.len(), 2 * (2 + 1 + 2 + 8), "both in one chunk");
    assert_eq!(p.dialer.queued_messages(), 0, "handed out: room again");
    p.listener.handle_read(ms(0), BytesMut::from(&chunk[..]));
    assert_eq!(p.dialer.send(Message::from_frames(frames(3))), Ok(SendOutcome::Queued));
    assert_eq!(send(&mut p.dialer, frames(4)), Ok(SendOutcome::Queued));
    p.pump(ms(0));
    let got: Vec<u8> = messages(&p.listener_events).iter().map(|m| m[1][0]).collect();
    assert_eq!(got, [0, 1, 3, 4]);
}

#[test]
fn frames_sent_before_the_handshake_wait_in_the_queue() {
    let mut p = Pair::new(LinkConfig::dialer(SocketType::Dealer), LinkConfig::listener());
    assert_eq!(p.dialer.send_frames(&[&Bytes::from_static(b"early")]), Ok(SendOutcome::Queued));
    assert_eq!(p.dialer.queued_messages(), 1);
    p.pump(ms(0));
    let got = messages(&p.listener_events);
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0][0][..], b"early");
}

#[test]
fn a_sender_far_ahead_of_the_writer_gets_chunks_of_about_one_transmit_chunk() {
    let dialer =
        LinkConfig::dialer(SocketType::Dealer).with_hwm(1 << 20, 1 << 30, HwmPolicy::DropNewest);
    let chunk_size = dialer.transmit_chunk_size;
    let mut p = Pair::new(dialer, LinkConfig::listener());
    p.pump(ms(0));
    let topic = Bytes::from_static(b"t");
    const COUNT: u32 = 5_000;
    for i in 0..COUNT {
        let body = Bytes::from(vec![(i % 251) as u8; 1000]);
        assert_eq!(p.dialer.send_frames(&[&topic, &body]), Ok(SendOutcome::Queued));
    }
    assert_eq!(p.dialer.queued_messages(), COUNT as usize, "all count until handed out");
    let mut total = 0;
    while let Some(chunk) = p.dialer.poll_transmit() {
        assert!(chunk.len() <= chunk_size + 1024, "a {}-byte chunk", chunk.len());
        total += chunk.len();
        p.listener.handle_read(ms(0), BytesMut::from(&chunk[..]));
    }
    assert_eq!(p.dialer.queued_messages(), 0);
    assert_eq!(total, COUNT as usize * (2 + 1 + 9 + 1000));
    let mut got = 0u32;
    while let Some(event) = p.listener.poll_event() {
        if let LinkEvent::Message(m) = event {
            assert_eq!(m[1][0], (got % 251) as u8, "in order");
            got += 1;
        }
    }
    assert_eq!(got, COUNT);
}
