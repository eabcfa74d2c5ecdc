//! Replays every captured connection against a `Link` playing the real peer's role.
//!
//! The `ours>` lines (our raw peer) are fed to the link as the bytes it reads. What the real
//! peer's application did (publish, subscribe) is repeated through the link's send verbs at the
//! same point of the timeline. Then, per connection:
//!
//! * our greeting equals the peer's (bytes 10..64, and the checked signature bytes);
//! * our READY equals the peer's byte for byte whenever we announce the same socket type;
//! * every other frame we sent equals the peer's (heartbeats aside: we answer PINGs ourselves);
//! * every PING of a 3.1 raw peer got a PONG echoing its context (equal to libzmq's PONG);
//! * the link's events are exactly what the raw peer's frames mean (messages, subscriptions in
//!   either form, PONGs), after a `HandshakeComplete` naming the raw peer's type and version;
//! * connections the peer refused are closed by the link with the typed reason in `EXPECTED`,
//!   with an ERROR frame only toward a raw peer that announced 3.1.

use bytes::{Bytes, BytesMut};
use spot_proto::link::{CloseReason, Link, LinkConfig, LinkEvent, LinkRole};
use spot_proto::wire::zmtp::{
    Command, Frame, GREETING_LEN, GreetingParser, GreetingStatus, Item, Message, SocketType,
    StreamDecoder, Subscription, SubscriptionForm, ZmtpVersion,
};
use spot_proto::{DecodeError, Instant, Limits};

use super::capture::{Conn, Event};

/// How each connection ends before our raw peer's EOF, where it does not stay open.
///
/// Deliberate differences from the real peers (everything else must match them):
/// * our listener serves every partner on one port, so a raw SUB meeting a libzmq ROUTER
///   (pyzmq-bad-partner 1), a raw DEALER meeting a PUB (pyzmq-bad-partner 2) or an XPUB
///   (serverlink-bad-partner 1) get a valid answer (XPUB, ROUTER) and the link stays open;
/// * a READY without `Socket-Type` (pyzmq-bad-partner 3, serverlink-bad-partner 3) is refused:
///   RFC 23 requires it and the listener cannot choose its answer without it.
fn expected_close(file: &str, conn: usize) -> Option<CloseReason> {
    let missing = CloseReason::Protocol(DecodeError::MissingSocketType);
    let error = CloseReason::PeerError { reason: Bytes::from_static(b"not-allowed") };
    let data_first =
        CloseReason::Protocol(DecodeError::UnexpectedDuringHandshake { what: "data message" });
    let zmtp2 = CloseReason::Protocol(DecodeError::UnsupportedVersion { major: 1 });
    let router = CloseReason::IncompatiblePeer { peer: SocketType::Router };
    match (file, conn) {
        ("pyzmq-bad-partner.txt", 3) => Some(missing),
        ("pyzmq-bad-partner.txt", 4) => Some(error),
        ("pyzmq-bad-partner.txt", 5) => Some(data_first),
        ("pyzmq-bad-partner.txt", 11) => {
            Some(CloseReason::Protocol(DecodeError::UnsupportedMechanism {
                mechanism: "PLAIN".into(),
            }))
        }
        ("pyzmq-bad-partner.txt", 12) => Some(zmtp2),
        ("pyzmq-bad-partner.txt", 14) => Some(router),
        ("serverlink-bad-partner.txt", 2) => {
            Some(CloseReason::IncompatiblePeer { peer: SocketType::Pub })
        }
        ("serverlink-bad-partner.txt", 3) => Some(missing),
        ("serverlink-bad-partner.txt", 4) => Some(error),
        ("serverlink-bad-partner.txt", 5) => Some(data_first),
        ("serverlink-bad-partner.txt", 8) => Some(zmtp2),
        ("serverlink-bad-partner.txt", 9) => Some(router),
        _ => None,
    }
}

/// The link standing in for the real peer of `conn`.
fn config_for(conn: &Conn, peer_items: &[Item]) -> LinkConfig {
    let pyzmq = conn.file.starts_with("pyzmq");
    let version = if pyzmq { ZmtpVersion::V3_1 } else { ZmtpVersion::V3_0 };
    let dialer = match (conn.file.as_str(), conn.number) {
        ("pyzmq-dealer.txt", _) => Some(SocketType::Dealer),
        ("pyzmq-sub.txt", _) | ("pyzmq-bad-partner.txt", 14) => Some(SocketType::Sub),
        ("serverlink-xsub-to-listener.txt", _) | ("serverlink-bad-partner.txt", 9) => {
            Some(SocketType::XSub)
        }
        _ => None,
    };
    let config = match dialer {
        Some(t) => LinkConfig::dialer(t),
        None => LinkConfig::listener(),
    };
    // Announce the same Identity as the real peer did.
    let identity = peer_items.iter().find_map(|item| match item {
        Item::Command(Command::Ready(r)) => r.properties().identity().cloned(),
        _ => None,
    });
    config.with_version(version).with_identity(identity.unwrap_or_default())
}

/// Decodes a post-greeting byte stream into items (panics on broken framing).
fn items_of(stream: &[u8], id: &str) -> Vec<Item> {
    let mut decoder = StreamDecoder::new(&Limits::default());
    decoder.feed(BytesMut::from(stream));
    let mut items = Vec::new();
    while let Some(item) = decoder.decode().unwrap_or_else(|e| panic!("{id}: {e}")) {
        items.push(item);
    }
    items
}

/// The raw peer's greeting version and post-greeting items (empty if its greeting is bad).
fn raw_side(conn: &Conn, id: &str) -> (Option<ZmtpVersion>, Vec<Item>) {
    let mut stream = BytesMut::from(&conn.ours_stream()[..]);
    let mut parser = GreetingParser::new();
    match parser.parse(&mut stream) {
        Ok(GreetingStatus::Complete(g)) => (Some(g.version()), items_of(&stream, id)),
        _ => (None, Vec::new()),
    }
}

fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::new();
    match item {
        Item::Message(m) => m.encode(&mut out),
        Item::Command(c) => c.encode(&mut out),
        Item::InvalidCommand(e) => panic!("invalid command {e}"),
    }
    out
}

fn is_heartbeat_or_ready(item: &Item) -> bool {
    matches!(item, Item::Command(Command::Ready(_) | Command::Ping(_) | Command::Pong(_)))
}

fn pongs(items: &[Item]) -> Vec<Vec<u8>> {
    items.iter().filter(|i| matches!(i, Item::Command(Command::Pong(_)))).map(encode_item).collect()
}

struct Replay {
    link: Link,
    tx: Vec<u8>,
    events: Vec<LinkEvent>,
}

impl Replay {
    fn drain(&mut self) {
        while let Some(chunk) = self.link.poll_transmit() {
            self.tx.extend_from_slice(&chunk);
        }
        while let Some(event) = self.link.poll_event() {
            self.events.push(event);
        }
    }

    /// Repeats through the link what the real peer's application did to produce `item`.
    fn repeat(&mut self, item: &Item) {
        if self.link.is_closed() {
            // The real peer went on where our link refused (see `expected_close`).
            return;
        }
        let subscriber_dialer = matches!(
            self.link.config().role,
            LinkRole::Dialer { socket_type } if socket_type.is_subscriber()
        );
        let change = match item {
            Item::Command(c) => Subscription::from_command(c),
            Item::Message(m) if subscriber_dialer => Subscription::from_data_message(m),
            _ => None,
        };
        match (change, item) {
            (Some(Subscription::Subscribe(p)), _) => self.link.subscribe(p).expect("subscribe"),
            (Some(Subscription::Cancel(p)), _) => self.link.cancel(p).expect("cancel"),
            (None, Item::Message(m)) => {
                let outcome = self.link.send(m.clone()).expect("send");
                assert_eq!(outcome, spot_proto::link::SendOutcome::Queued);
            }
            _ => {} // READY, PING, PONG: the link does these itself
        }
    }
}

/// Replays one connection; returns whether our READY was compared with the peer's.
fn replay(conn: &Conn) -> bool {
    let id = conn.id();
    let (peer_reads, peer_lines) = conn.peer_greeting_reads_and_frames();
    let peer_greeting: Vec<u8> = peer_reads.concat();
    let peer_items = items_of(&peer_lines.concat(), &id);
    let (raw_version, raw_items) = raw_side(conn, &id);
    let mut r = Replay {
        link: Link::new(config_for(conn, &peer_items), Instant::ZERO),
        tx: Vec::new(),
        events: Vec::new(),
    };
    r.drain();

    // The timeline, one millisecond per line.
    let mut pending = Message::new();
    let mut close_before_eof = None;
    let mut saw_eof = false;
    let mut line = 0;
    for (step, event) in conn.events.iter().enumerate() {
        let now = Instant::from_millis(step as u64 + 1);
        match event {
            Event::Ours(bytes) => r.link.handle_read(now, BytesMut::from(&bytes[..])),
            Event::OursEof => {
                close_before_eof = r.link.close_reason().cloned();
                saw_eof = true;
                r.link.handle_transport_closed(now);
            }
            Event::Peer(bytes) if line >= peer_reads.len() => {
                let mut buf = BytesMut::from(&bytes[..]);
                let frame = Frame::decode(&mut buf, u64::MAX).unwrap().unwrap();
                if frame.header.is_command() {
                    let command = Command::decode(frame.body).unwrap();
                    r.repeat(&Item::Command(command));
                } else {
                    pending.push(frame.body);
                    if !frame.header.more() {
                        r.repeat(&Item::Message(core::mem::take(&mut pending)));
                    }
                }
                line += 1;
            }
            Event::Peer(_) => line += 1,
            Event::PeerEof | Event::PeerRst => {}
        }
        r.drain();
    }
    if !saw_eof {
        close_before_eof = r.link.close_reason().cloned();
    }

    // Our greeting against the peer's.
    assert!(r.tx.len() >= GREETING_LEN, "{id}: our greeting was not sent");
    if peer_greeting.len() == GREETING_LEN {
        assert_eq!(r.tx[0], 0xff, "{id}");
        assert_eq!(r.tx[9] & 1, 1, "{id}");
        assert_eq!(&r.tx[10..64], &peer_greeting[10..64], "{id}: greeting");
    }
    let our_items = items_of(&r.tx[GREETING_LEN..], &id);

    let expected = expected_close(&conn.file, conn.number);
    assert_eq!(close_before_eof, expected, "{id}: how the link ended");
    if let Some(reason) = expected {
        check_refusal(&r, &our_items, raw_version, &reason, &id);
        return false;
    }

    // Handshake: the raw peer as we saw it.
    let raw_ready = match raw_items.first() {
        Some(Item::Command(Command::Ready(ready))) => ready.clone(),
        other => panic!("{id}: raw peer began with {other:?}"),
    };
    let Some(LinkEvent::HandshakeComplete(info)) = r.events.first() else {
        panic!("{id}: no handshake: {:?}", r.events)
    };
    assert_eq!(Ok(info.socket_type), raw_ready.socket_type(), "{id}");
    assert_eq!(Some(info.version), raw_version, "{id}");

    // READY: byte for byte when we announce the same type as the real peer.
    let our_ready = &our_items[0];
    let (Item::Command(Command::Ready(ours)), Some(Item::Command(Command::Ready(theirs)))) =
        (our_ready, peer_items.first())
    else {
        panic!("{id}: READY missing")
    };
    let same_type = ours.socket_type() == theirs.socket_type();
    if same_type {
        assert_eq!(encode_item(our_ready), encode_item(&peer_items[0]), "{id}: READY");
    }

    // Every other frame, heartbeats aside, byte for byte.
    let ours_rest: Vec<Vec<u8>> =
        our_items.iter().filter(|i| !is_heartbeat_or_ready(i)).map(encode_item).collect();
    let peer_rest: Vec<Vec<u8>> =
        peer_items.iter().filter(|i| !is_heartbeat_or_ready(i)).map(encode_item).collect();
    assert_eq!(ours_rest, peer_rest, "{id}: frames after READY");

    check_pongs(&our_items, &peer_items, &raw_items, raw_version, &id);
    check_events(&r, &raw_items[1..], info.socket_type, saw_eof, &id);
    same_type
}

/// A refused connection: READY (dialer, once the raw greeting was complete), then ERROR only
/// for a refused READY from a raw peer that announced 3.1.
fn check_refusal(
    r: &Replay,
    ours: &[Item],
    raw_version: Option<ZmtpVersion>,
    reason: &CloseReason,
    id: &str,
) {
    let mut expected = Vec::new();
    if matches!(r.link.config().role, LinkRole::Dialer { .. }) && raw_version.is_some() {
        expected.push("READY");
    }
    let refused_ready = matches!(
        reason,
        CloseReason::IncompatiblePeer { .. }
            | CloseReason::PeerIsPublisher { .. }
            | CloseReason::Protocol(DecodeError::MissingSocketType)
    );
    if refused_ready && raw_version == Some(ZmtpVersion::V3_1) {
        expected.push("ERROR");
    }
    let names: Vec<String> = ours
        .iter()
        .map(|i| match i {
            Item::Command(c) => String::from_utf8_lossy(c.name()).into_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(names, expected, "{id}: what the refusing link sent");
    assert!(reason.is_handshake_failure() || matches!(reason, CloseReason::PeerError { .. }));
    assert!(matches!(r.events.last(), Some(LinkEvent::Closed(c)) if c == reason), "{id}");
}

fn check_pongs(
    ours: &[Item],
    peer: &[Item],
    raw: &[Item],
    raw_version: Option<ZmtpVersion>,
    id: &str,
) {
    let answers_expected = raw_version == Some(ZmtpVersion::V3_1);
    let expected: Vec<Vec<u8>> = raw
        .iter()
        .filter_map(|i| match i {
            Item::Command(Command::Ping(p)) if answers_expected => {
                Some(encode_item(&Item::Command(Command::Pong(p.pong()))))
            }
            _ => None,
        })
        .collect();
    assert_eq!(pongs(ours), expected, "{id}: our PONGs");
    let raw_sent_bad_ping = raw.iter().any(|i| matches!(i, Item::InvalidCommand(_)));
    let peer_pongs = pongs(peer);
    // libzmq also answers a raw peer that announced 3.0; we never send it a command.
    if answers_expected && !peer_pongs.is_empty() && !raw_sent_bad_ping {
        assert_eq!(pongs(ours), peer_pongs, "{id}: PONGs equal the peer's");
    }
}

fn check_events(r: &Replay, raw: &[Item], raw_type: SocketType, eof: bool, id: &str) {
    let mut expected = Vec::new();
    for item in raw {
        let event = match item {
            Item::Message(m) => match Subscription::from_data_message(m) {
                Some(change) if raw_type.is_subscriber() => {
                    LinkEvent::Subscription { change, form: SubscriptionForm::DataFrame }
                }
                _ => LinkEvent::Message(m.clone()),
            },
            Item::Command(c) => match (Subscription::from_command(c), c) {
                (Some(change), _) => {
                    LinkEvent::Subscription { change, form: SubscriptionForm::Command }
                }
                (None, Command::Pong(p)) => LinkEvent::Pong { context: p.context().clone() },
                _ => continue,
            },
            Item::InvalidCommand(_) => continue,
        };
        expected.push(event);
    }
    if eof {
        expected.push(LinkEvent::Closed(CloseReason::PeerClosed { during_handshake: false }));
    }
    assert_eq!(&r.events[1..], &expected[..], "{id}: link events");
}

/// Replays every connection and checks that the comparisons were not vacuous.
pub(crate) fn replay_all(conns: &[Conn]) {
    let mut ready_compared = 0;
    for conn in conns {
        if replay(conn) {
            ready_compared += 1;
        }
    }
    assert!(ready_compared >= 20, "only {ready_compared} READYs compared byte for byte");
}
