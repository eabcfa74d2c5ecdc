//! Interop with pyzmq (libzmq 4.3) DEALER and ROUTER sockets over loopback TCP: handshakes in
//! both directions, byte-exact multipart messages in both directions, SPOT QUERY/QUERY_RESP,
//! refused partners and heartbeats. Our side is spot-proto's `Link`, driven by
//! `spot_tests::driver::LinkDriver` over a blocking `TcpStream`; their side is
//! `tests/peers/zmq_peer.py`.

use std::time::Duration;

use spot_proto::Limits;
use spot_proto::link::{CloseReason, LinkConfig, LinkEvent, SendOutcome};
use spot_proto::wire::spot::{Envelope, SpotCommand, Topic, split_envelope};
use spot_proto::wire::zmtp::{Message, SocketType, ZmtpVersion};
use spot_tests::driver::LinkDriver;
use spot_tests::pyzmq::PyZmqPeer;
use spot_tests::{hex, loopback, loopback_listener, pattern, unhex};

/// Bound on every single wait; a healthy exchange takes milliseconds.
const WAIT: Duration = Duration::from_secs(5);

fn frames_of(msg: &Message) -> Vec<Vec<u8>> {
    msg.iter().map(|f| f.to_vec()).collect()
}

/// Frames that exercise every size form: empty, 255 bytes (the largest short frame), 256 bytes
/// (the smallest LONG frame), 70 000 bytes (LONG, spans several TCP reads, and is handed to the
/// driver as its own zero-copy chunk), and every byte value.
fn awkward_frames(seed: u8) -> Vec<Vec<u8>> {
    vec![
        b"head".to_vec(),
        Vec::new(),
        pattern(255, seed),
        pattern(256, seed.wrapping_add(1)),
        pattern(70_000, seed.wrapping_add(2)),
        (0..=255).collect(),
    ]
}

fn message_of(frames: &[Vec<u8>]) -> Message {
    Message::from_frames(frames.iter().cloned())
}

fn as_slices(frames: &[Vec<u8>]) -> Vec<&[u8]> {
    frames.iter().map(Vec::as_slice).collect()
}

/// Drives `driver` until the pyzmq peer reports a received message, and returns its frames.
fn peer_receives(driver: &mut LinkDriver, peer: &mut PyZmqPeer, what: &str) -> Vec<Vec<u8>> {
    peer.recv(1, 3000);
    let report = driver
        .drive_until(WAIT, what, |_| peer.try_take_any(&["recv", "timeout"]))
        .unwrap_or_else(|e| panic!("{e}"));
    spot_tests::pyzmq::frames_of(&report)
        .unwrap_or_else(|| panic!("pyzmq did not receive {what}: it reported {report}"))
}

#[test]
fn our_dealer_dials_a_pyzmq_router_and_multipart_travels_both_ways_exactly() {
    let (mut peer, port) = PyZmqPeer::bind("router-bind", &["--monitor"]);
    let config = LinkConfig::dialer(SocketType::Dealer).with_identity(&b"spot-dealer-1"[..]);
    let mut driver = LinkDriver::dial(loopback(port), config, WAIT).expect("dial pyzmq ROUTER");

    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Router);
    assert_eq!(info.our_socket_type, SocketType::Dealer);
    assert_eq!(info.version, ZmtpVersion::V3_1, "libzmq 4.3 announces ZMTP 3.1");
    assert_eq!(
        info.identity().map(|i| i.to_vec()),
        Some(Vec::new()),
        "libzmq ROUTER: empty Identity"
    );

    // Ours to theirs: the ROUTER sees our Identity as the routing id, then our frames.
    let ours = awkward_frames(7);
    let outcome = driver.link_mut().send(message_of(&ours)).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
    let got = peer_receives(&mut driver, &mut peer, "our multipart message");
    assert_eq!(got[0], b"spot-dealer-1", "libzmq must route by the Identity we sent");
    assert_eq!(&got[1..], &ours[..], "frames must arrive byte for byte");

    // Theirs to ours: the reply goes back through the routing id.
    let theirs = vec![Vec::new(), pattern(300, 9), vec![0x00], pattern(120_000, 3)];
    let hexes: Vec<String> = theirs.iter().map(|f| hex(f)).collect();
    peer.order(serde_json::json!({ "reply": hexes }));
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), theirs);
    assert!(driver.chunks_in() >= 2, "the 120 kB reply arrives in several reads");

    let events = peer.take_events();
    assert!(events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"), "libzmq events: {events:?}");
    assert!(driver.link().is_ready());
    peer.finish(WAIT);
}

#[test]
fn a_pyzmq_dealer_dials_our_listener_which_answers_router() {
    let (listener, addr) = loopback_listener().expect("bind");
    let identity = hex(b"py-dealer");
    let mut peer =
        PyZmqPeer::connect("dealer-connect", addr.port(), &["--identity", &identity, "--monitor"]);
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("pyzmq dials us");

    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Dealer);
    assert_eq!(info.our_socket_type, SocketType::Router, "a listener answers ROUTER to a DEALER");
    assert_eq!(info.version, ZmtpVersion::V3_1);
    assert_eq!(info.identity().map(|i| i.to_vec()), Some(b"py-dealer".to_vec()));
    // Our READY, as libzmq's ROUTER would send it: Socket-Type ROUTER, then an empty Identity.
    let our_ready =
        b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x00";
    assert!(
        driver.transcript_out().windows(our_ready.len()).any(|w| w == our_ready),
        "our READY: {}",
        hex(driver.transcript_out())
    );

    let theirs = awkward_frames(21);
    peer.send(&as_slices(&theirs));
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), theirs, "a DEALER's frames arrive unchanged (no envelope)");

    let ours = vec![Vec::new(), b"to the dealer".to_vec(), pattern(5000, 1)];
    let outcome = driver.link_mut().send(message_of(&ours)).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
    assert_eq!(peer_receives(&mut driver, &mut peer, "our message"), ours);

    let events = peer.take_events();
    assert!(events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"), "libzmq events: {events:?}");
    peer.finish(WAIT);
}

#[test]
fn a_pyzmq_router_dials_our_listener_and_routes_by_our_identity() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = PyZmqPeer::connect("router-connect", addr.port(), &[]);
    let config = LinkConfig::listener().with_identity(&b"spot-listener"[..]);
    let mut driver = LinkDriver::accept(&listener, config, WAIT).expect("pyzmq dials us");

    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Router);
    assert_eq!(info.our_socket_type, SocketType::Router, "a listener answers ROUTER to a ROUTER");

    let ours = vec![b"hello".to_vec(), pattern(256, 4)];
    let outcome = driver.link_mut().send(message_of(&ours)).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
    let got = peer_receives(&mut driver, &mut peer, "our message");
    assert_eq!(got[0], b"spot-listener", "libzmq names us by the Identity we announced");
    assert_eq!(&got[1..], &ours[..]);

    let hexes = [hex(b""), hex(b"back")];
    peer.order(serde_json::json!({ "reply": hexes }));
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), vec![Vec::new(), b"back".to_vec()]);
    peer.finish(WAIT);
}

#[test]
fn a_pyzmq_req_dials_our_listener_and_gets_its_reply() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = PyZmqPeer::connect("req-connect", addr.port(), &[]);
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("pyzmq dials us");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Req);
    assert_eq!(info.our_socket_type, SocketType::Router, "a listener answers ROUTER to a REQ");

    peer.send(&[b"question"]);
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), vec![Vec::new(), b"question".to_vec()], "REQ adds the delimiter");
    let reply = vec![Vec::new(), b"answer".to_vec()];
    let outcome = driver.link_mut().send(message_of(&reply)).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
    let got = peer_receives(&mut driver, &mut peer, "our reply");
    assert_eq!(got, vec![b"answer".to_vec()], "REQ strips the delimiter");
    peer.finish(WAIT);
}

#[test]
fn closing_our_link_flushes_what_was_queued_before_the_close() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = PyZmqPeer::connect("dealer-connect", addr.port(), &["--monitor"]);
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("pyzmq dials us");
    driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    let last = vec![b"last words".to_vec(), pattern(20_000, 5)];
    let outcome = driver.link_mut().send(message_of(&last)).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
    driver.link_mut().close();
    assert_eq!(driver.wait_closed(WAIT).unwrap_or_else(|e| panic!("{e}")), CloseReason::Local);
    assert!(!driver.transport_open());

    peer.recv(1, 3000);
    assert_eq!(peer.take_message(WAIT), last, "libzmq got the message queued before the close");
    let mut events = Vec::new();
    while !events.iter().any(|e| e == "DISCONNECTED") {
        let event = peer.take("event", WAIT);
        events.extend(event.get("event").and_then(|e| e.as_str()).map(str::to_owned));
    }
}

#[test]
fn a_pyzmq_dealer_query_is_answered_with_the_exact_query_resp_frames() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = PyZmqPeer::connect("dealer-connect", addr.port(), &[]);
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("pyzmq dials us");
    driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    let limits = Limits::default();

    let answers: [&[&str]; 3] = [&["interop:t", "py:t"], &[], &["caf\u{e9}/\u{1f600}"]];
    // A bare QUERY (as a DEALER sends it), then the REQ-style one with a delimiter first.
    let queries: [&[&[u8]]; 3] = [&[b"\x04"], &[b"", b"\x04"], &[b"\x04"]];
    for (query, topics) in queries.iter().zip(answers) {
        peer.send(query);
        let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(SpotCommand::decode(msg.frames(), &limits), Ok(SpotCommand::Query));

        let topics: Vec<Topic> =
            topics.iter().map(|t| Topic::copy_from_str(t, &limits).expect("valid topic")).collect();
        let resp = SpotCommand::QueryResp { topics: topics.clone() };
        let outcome = driver
            .link_mut()
            .send(Message::from(resp.encode(Envelope::Delimited)))
            .expect("queued");
        assert_eq!(outcome, SendOutcome::Queued);

        // What the pyzmq DEALER application receives: the delimiter, 0x05, the count (u32 LE),
        // then one frame per topic.
        let mut expected =
            vec![Vec::new(), vec![0x05], (topics.len() as u32).to_le_bytes().to_vec()];
        expected.extend(topics.iter().map(|t| t.as_str().as_bytes().to_vec()));
        assert_eq!(peer_receives(&mut driver, &mut peer, "QUERY_RESP"), expected);
    }
    // The first answer on the wire is byte for byte what a libzmq ROUTER sends (the capture
    // in shared/vectors/README.md).
    let wire = unhex("01000101050104020000000109696e7465726f703a74000470793a74").expect("hex");
    let out = driver.transcript_out();
    assert!(out.windows(wire.len()).any(|w| w == wire), "QUERY_RESP on the wire: {}", hex(out));
    peer.finish(WAIT);
}

#[test]
fn our_dealer_query_to_a_pyzmq_router_decodes_its_query_resp() {
    let (mut peer, port) = PyZmqPeer::bind("router-bind", &[]);
    let config = LinkConfig::dialer(SocketType::Dealer);
    let mut driver = LinkDriver::dial(loopback(port), config, WAIT).expect("dial pyzmq ROUTER");
    // Queued before the handshake completes; it goes out right after our READY.
    let query = SpotCommand::Query.encode(Envelope::Bare);
    driver.link_mut().send_control(Message::from(query)).expect("queued");
    driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    let got = peer_receives(&mut driver, &mut peer, "our QUERY");
    assert_eq!(got.len(), 2, "routing id + [0x04]: {got:?}");
    assert_eq!(got[0].len(), 5, "libzmq invents a 5-byte routing id for an anonymous DEALER");
    assert_eq!(got[0][0], 0);
    assert_eq!(got[1], vec![0x04]);

    let reply = [hex(b""), hex(b"\x05"), hex(&2u32.to_le_bytes()), hex(b"a/b"), hex(b"c")];
    peer.order(serde_json::json!({ "reply": reply }));
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    let (envelope, _) = split_envelope(msg.frames());
    assert_eq!(envelope, Envelope::Delimited);
    let limits = Limits::default();
    let Ok(SpotCommand::QueryResp { topics }) = SpotCommand::decode(msg.frames(), &limits) else {
        panic!("not a QUERY_RESP: {msg:?}");
    };
    let names: Vec<&str> = topics.iter().map(Topic::as_str).collect();
    assert_eq!(names, ["a/b", "c"]);
    peer.finish(WAIT);
}

#[test]
fn a_pyzmq_pub_dialing_our_listener_is_refused_with_error() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = PyZmqPeer::connect("pub-connect", addr.port(), &["--monitor"]);
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("pyzmq dials us");
    let reason = driver.wait_closed(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reason, CloseReason::IncompatiblePeer { peer: SocketType::Pub });
    assert!(reason.is_handshake_failure());
    // libzmq announced 3.1, so it gets an ERROR command (and never our READY) before the close.
    let out = driver.transcript_out();
    assert!(out.windows(6).any(|w| w == b"\x05ERROR"), "ERROR sent: {}", hex(out));
    assert!(!out.windows(6).any(|w| w == b"\x05READY"), "no READY sent: {}", hex(out));
    assert!(!driver.transport_open());
    // libzmq reports the end of that connection (it shows an ERROR as a plain DISCONNECTED),
    // and never a completed handshake.
    let mut events = Vec::new();
    while !events.iter().any(|e| e == "DISCONNECTED") {
        let event = peer.take("event", WAIT);
        events.extend(event.get("event").and_then(|e| e.as_str()).map(str::to_owned));
    }
    assert!(!events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"), "libzmq events: {events:?}");
}

/// A pyzmq DEALER with heartbeats dials our listener (announcing `version`); returns the
/// link's stats after 900 ms of driving and a message round trip.
fn libzmq_heartbeats_against_our_listener(version: ZmtpVersion) -> spot_proto::link::LinkStats {
    let (listener, addr) = loopback_listener().expect("bind");
    // libzmq pings every 40 ms and drops the link 400 ms after a PING if nothing came back; we
    // send nothing but PONGs, so only they keep the link through 900 ms.
    let mut peer = PyZmqPeer::connect("dealer-connect", addr.port(), &["--heartbeat-ms", "40"]);
    let config = LinkConfig::listener().with_version(version);
    let mut driver = LinkDriver::accept(&listener, config, WAIT).expect("pyzmq dials us");
    driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    driver.drive_for(Duration::from_millis(900)).unwrap_or_else(|e| panic!("{e}"));

    assert!(driver.link().is_ready(), "closed: {:?}", driver.link().close_reason());
    // The link survived several of libzmq's timeouts: a message still goes through.
    peer.send(&[b"still here"]);
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&msg[0][..], b"still here");
    peer.finish(WAIT);
    *driver.link().stats()
}

#[test]
fn libzmq_pings_are_answered_so_it_keeps_the_link() {
    let stats = libzmq_heartbeats_against_our_listener(ZmtpVersion::V3_1);
    assert!(stats.pings_received >= 5, "libzmq pinged {} times", stats.pings_received);
    assert!(stats.pongs_sent >= stats.pings_received.saturating_sub(1), "{stats:?}");
}

#[test]
fn libzmq_pings_our_zmtp_3_0_listener_too_and_gets_pongs_because_it_speaks_3_1() {
    // We announce 3.0; libzmq still pings us. The PONG rule follows the receiver's (libzmq's)
    // announcement, 3.1, so we answer and libzmq keeps the link.
    let stats = libzmq_heartbeats_against_our_listener(ZmtpVersion::V3_0);
    assert!(stats.pings_received >= 5, "libzmq pinged {} times", stats.pings_received);
    assert!(stats.pongs_sent >= stats.pings_received.saturating_sub(1), "{stats:?}");
}

#[test]
fn our_dealer_dials_a_pyzmq_dealer() {
    let (mut peer, port) = PyZmqPeer::bind("dealer-bind", &[]);
    let config = LinkConfig::dialer(SocketType::Dealer);
    let mut driver = LinkDriver::dial(loopback(port), config, WAIT).expect("dial pyzmq DEALER");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Dealer, "DEALER-DEALER is a valid pair");

    let ours = vec![b"peer to peer".to_vec(), pattern(1000, 2)];
    let outcome = driver.link_mut().send(message_of(&ours)).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
    assert_eq!(peer_receives(&mut driver, &mut peer, "our message"), ours, "no envelope added");
    peer.send(&[b"", b"back"]);
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), vec![Vec::new(), b"back".to_vec()]);
    peer.finish(WAIT);
}

#[test]
fn our_pings_are_answered_by_libzmq() {
    let (peer, port) = PyZmqPeer::bind("router-bind", &[]);
    let config = LinkConfig::dialer(SocketType::Dealer)
        .with_heartbeat(Duration::from_millis(40), Duration::from_millis(400));
    let mut driver = LinkDriver::dial(loopback(port), config, WAIT).expect("dial pyzmq ROUTER");
    driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    driver.drive_for(Duration::from_millis(500)).unwrap_or_else(|e| panic!("{e}"));

    assert!(driver.link().is_ready(), "closed: {:?}", driver.link().close_reason());
    let stats = *driver.link().stats();
    assert!(stats.pings_sent >= 5, "{stats:?}");
    assert!(stats.pongs_received >= 5, "libzmq answered {} PINGs", stats.pongs_received);
    let pongs = driver.take_inbox();
    assert!(
        pongs.iter().all(|e| matches!(e, LinkEvent::Pong { context } if context.is_empty())),
        "our PINGs carry no context, so libzmq's PONGs echo none: {pongs:?}"
    );
    // Our PING advertises our timeout (400 ms = 4 deciseconds) as its TTL.
    let ping = b"\x04\x07\x04PING\x00\x04";
    assert!(driver.transcript_out().windows(ping.len()).any(|w| w == ping));
    peer.finish(WAIT);
}
