//! The test driver itself (`spot_tests::driver::LinkDriver`): two of our Links over real
//! loopback TCP, and every way a wait can end (found, timeout, peer gone, protocol error)
//! ends in bounded time with a message that says what happened.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use spot_proto::link::{CloseReason, LinkConfig, LinkEvent, SendOutcome};
use spot_proto::wire::zmtp::{Message, SocketType};
use spot_tests::driver::LinkDriver;
use spot_tests::{loopback_listener, pattern};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn two_links_handshake_and_exchange_a_large_message_over_loopback_tcp() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut dialer =
        LinkDriver::dial(addr, LinkConfig::dialer(SocketType::Dealer), WAIT).expect("dial");
    let mut accepted = LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("accept");

    // One thread drives both ends: each wait on one side steps the other too.
    let info = accepted
        .drive_until(WAIT, "the listener's handshake", |a| {
            dialer.step(Duration::from_millis(1));
            a.link().peer().cloned()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Dealer);
    assert_eq!(info.our_socket_type, SocketType::Router);
    let info = dialer.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Router);

    // Small enough for the loopback socket buffers, as both ends share this thread.
    let big = pattern(60_000, 1);
    let msg = Message::from_frames([b"topic".to_vec(), big.clone()]);
    assert_eq!(dialer.link_mut().send(msg).expect("queued"), SendOutcome::Queued);
    let got = accepted
        .drive_until(WAIT, "the 60 kB message", |a| {
            dialer.step(Duration::from_millis(1));
            a.take_map(|e| match e {
                LinkEvent::Message(m) => Some(m.clone()),
                _ => None,
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&got[0][..], b"topic");
    assert_eq!(&got[1][..], &big[..]);
}

#[test]
fn a_wait_for_what_never_comes_times_out_with_a_clear_message() {
    let (listener, addr) = loopback_listener().expect("bind");
    let _silent = TcpStream::connect(addr).expect("connect");
    let mut driver = LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("accept");
    let start = Instant::now();
    let error = driver.wait_handshake(Duration::from_millis(200)).expect_err("no greeting comes");
    assert!(start.elapsed() < Duration::from_secs(2), "bounded: {:?}", start.elapsed());
    let text = error.to_string();
    assert!(text.contains("timed out") && text.contains("the ZMTP handshake"), "{text}");
    assert!(
        text.contains("first bytes out: ff00000000000000007f0301"),
        "our greeting shown: {text}"
    );
}

#[test]
fn a_peer_that_goes_away_ends_the_wait_at_once() {
    let (listener, addr) = loopback_listener().expect("bind");
    let gone = TcpStream::connect(addr).expect("connect");
    let mut driver = LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("accept");
    drop(gone);
    let start = Instant::now();
    let error = driver.wait_message(WAIT).expect_err("the peer left");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "not the full timeout: {:?}",
        start.elapsed()
    );
    assert_eq!(error.close_reason, Some(CloseReason::PeerClosed { during_handshake: true }));
    assert!(
        error.to_string().contains("link closed (peer closed during the handshake)"),
        "{error}"
    );
    assert!(!driver.transport_open());
}

#[test]
fn garbage_from_the_peer_closes_the_link_with_a_protocol_error() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut rogue = TcpStream::connect(addr).expect("connect");
    let mut driver = LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("accept");
    rogue.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("write");
    let reason = driver.wait_closed(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(reason, CloseReason::Protocol(_)), "{reason:?}");
    assert!(reason.is_handshake_failure());
}
