//! Interop with pyzmq (libzmq 4.3) XPUB and SUB sockets over loopback TCP: our `Link` dialing
//! an XPUB as XSUB (SUBSCRIBE/CANCEL reach it, its messages reach us, filtered), a DEALER that
//! finds a publisher, and a SUB dialing our listener (which answers XPUB), with our listener
//! announcing ZMTP 3.1 and 3.0.

use std::time::Duration;

use spot_proto::link::{CloseReason, LinkConfig, SendOutcome};
use spot_proto::wire::zmtp::{Message, SocketType, Subscription, SubscriptionForm, ZmtpVersion};
use spot_tests::driver::LinkDriver;
use spot_tests::pyzmq::PyZmqPeer;
use spot_tests::{hex, loopback, loopback_listener, pattern};

/// Bound on every single wait; a healthy exchange takes milliseconds.
const WAIT: Duration = Duration::from_secs(5);

/// Drives `driver` until the pyzmq peer reports `count` received messages; returns their frames.
fn peer_receives(
    driver: &mut LinkDriver,
    peer: &mut PyZmqPeer,
    count: usize,
    what: &str,
) -> Vec<Vec<Vec<u8>>> {
    peer.recv(count, 3000);
    (0..count)
        .map(|_| {
            let report = driver
                .drive_until(WAIT, what, |_| peer.try_take_any(&["recv", "timeout"]))
                .unwrap_or_else(|e| panic!("{e}"));
            spot_tests::pyzmq::frames_of(&report)
                .unwrap_or_else(|| panic!("pyzmq did not receive {what}: it reported {report}"))
        })
        .collect()
}

fn publish(driver: &mut LinkDriver, topic: &[u8], payload: &[u8]) {
    let msg = Message::from_frames([topic.to_vec(), payload.to_vec()]);
    let outcome = driver.link_mut().send(msg).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
}

fn frames_of(msg: &Message) -> Vec<Vec<u8>> {
    msg.iter().map(|f| f.to_vec()).collect()
}

#[test]
fn our_xsub_subscribes_and_cancels_at_a_pyzmq_xpub_and_receives_what_it_publishes() {
    let (mut peer, port) = PyZmqPeer::bind("xpub-bind", &[]);
    let config = LinkConfig::dialer(SocketType::XSub);
    let mut driver = LinkDriver::dial(loopback(port), config, WAIT).expect("dial pyzmq XPUB");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::XPub);
    assert_eq!(info.version, ZmtpVersion::V3_1);
    assert_eq!(info.identity(), None, "libzmq XPUB sends Socket-Type alone");

    driver.link_mut().subscribe(&b"news."[..]).expect("queued");
    driver.link_mut().subscribe(&b"sport."[..]).expect("queued");
    let seen = peer_receives(&mut driver, &mut peer, 2, "our subscriptions");
    assert_eq!(seen, [vec![b"\x01news.".to_vec()], vec![b"\x01sport.".to_vec()]]);
    // To a 3.1 peer they went as SUBSCRIBE commands (libzmq shows them as 0x01 messages).
    let subscribe = b"\x04\x0f\x09SUBSCRIBEnews.";
    assert!(driver.transcript_out().windows(subscribe.len()).any(|w| w == subscribe));

    let payload = pattern(1000, 5);
    peer.send(&[b"news.today", &payload]);
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), [b"news.today".to_vec(), payload]);

    driver.link_mut().cancel(&b"news."[..]).expect("queued");
    let seen = peer_receives(&mut driver, &mut peer, 1, "our cancel");
    assert_eq!(seen, [vec![b"\x00news.".to_vec()]]);
    let cancel = b"\x04\x0c\x06CANCELnews.";
    assert!(driver.transcript_out().windows(cancel.len()).any(|w| w == cancel));

    // The XPUB filters by what we still subscribe to; TCP keeps the order, so if "sport." is
    // the next message we get, "news." was filtered out by libzmq.
    peer.send(&[b"news.late", b"filtered"]);
    peer.send(&[b"sport.goal", b"kept"]);
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), [b"sport.goal".to_vec(), b"kept".to_vec()]);
    assert_eq!(driver.link().stats().subscriptions_out, 3);
    peer.finish(WAIT);
}

#[test]
fn our_dealer_finding_a_pyzmq_xpub_is_told_to_redial_as_xsub() {
    let (mut peer, port) = PyZmqPeer::bind("xpub-bind", &[]);
    let dealer = LinkConfig::dialer(SocketType::Dealer);
    let mut driver = LinkDriver::dial(loopback(port), dealer, WAIT).expect("dial pyzmq XPUB");
    let reason = driver.wait_closed(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reason, CloseReason::PeerIsPublisher { peer: SocketType::XPub });

    let xsub = LinkConfig::dialer(SocketType::XSub);
    let mut driver = LinkDriver::dial(loopback(port), xsub, WAIT).expect("redial as XSUB");
    // Subscribed before the handshake: held until libzmq's greeting says 3.1 (command form).
    driver.link_mut().subscribe(&b""[..]).expect("queued");
    driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    let seen = peer_receives(&mut driver, &mut peer, 1, "our subscribe-all");
    assert_eq!(seen, [vec![b"\x01".to_vec()]]);
    peer.send(&[b"any", b"thing"]);
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), [b"any".to_vec(), b"thing".to_vec()]);
    peer.finish(WAIT);
}

/// A pyzmq SUB dials our listener (announcing `version`), subscribes, receives what matches,
/// and cancels. Returns the subscription form we saw.
fn pyzmq_sub_round_trip(version: ZmtpVersion) -> SubscriptionForm {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = PyZmqPeer::connect("sub-connect", addr.port(), &["--monitor"]);
    let config = LinkConfig::listener().with_version(version);
    let mut driver = LinkDriver::accept(&listener, config, WAIT).expect("pyzmq dials us");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Sub);
    assert_eq!(info.our_socket_type, SocketType::XPub, "a listener answers XPUB to a SUB");
    let our_ready = b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04XPUB";
    assert!(
        driver.transcript_out().windows(our_ready.len()).any(|w| w == our_ready),
        "our XPUB READY is Socket-Type alone: {}",
        hex(driver.transcript_out())
    );

    peer.order(serde_json::json!({ "subscribe": hex(b"chat.") }));
    let (change, form) = driver.wait_subscription(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(change, Subscription::Subscribe(b"chat."[..].into()));

    // A SUB filters too, so the non-matching message is dropped by libzmq, not delivered.
    publish(&mut driver, b"other", b"dropped by the SUB");
    let payload = pattern(300, 8);
    publish(&mut driver, b"chat.room", &payload);
    let got = peer_receives(&mut driver, &mut peer, 1, "our publish");
    assert_eq!(got, [vec![b"chat.room".to_vec(), payload]]);

    peer.order(serde_json::json!({ "unsubscribe": hex(b"chat.") }));
    let (change, cancel_form) = driver.wait_subscription(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(change, Subscription::Cancel(b"chat."[..].into()));
    assert_eq!(cancel_form, form, "libzmq uses one form per peer");
    assert_eq!(driver.link().stats().messages_in, 0, "subscriptions are not data messages");
    let events = peer.take_events();
    assert!(events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"), "libzmq events: {events:?}");
    peer.finish(WAIT);
    form
}

#[test]
fn a_pyzmq_sub_dials_our_listener_which_answers_xpub_and_publishes_to_it() {
    let form = pyzmq_sub_round_trip(ZmtpVersion::V3_1);
    assert_eq!(form, SubscriptionForm::Command, "libzmq sends SUBSCRIBE to a 3.1 peer");
}

#[test]
fn a_pyzmq_sub_sends_data_frame_subscriptions_to_our_zmtp_3_0_listener() {
    let form = pyzmq_sub_round_trip(ZmtpVersion::V3_0);
    assert_eq!(form, SubscriptionForm::DataFrame, "libzmq sends 0x01/0x00 to a 3.0 peer");
}

#[test]
fn a_pyzmq_sub_subscribing_to_everything_receives_every_topic() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = PyZmqPeer::connect("sub-connect", addr.port(), &[]);
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("pyzmq dials us");
    driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    peer.order(serde_json::json!({ "subscribe": "" }));
    let (change, _) = driver.wait_subscription(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(change, Subscription::Subscribe(Default::default()));

    let topics: [&[u8]; 3] = [b"a", b"", b"\xff\x00binary"];
    for (i, topic) in topics.iter().enumerate() {
        publish(&mut driver, topic, &pattern(i * 100, i as u8));
    }
    let got = peer_receives(&mut driver, &mut peer, 3, "three publishes");
    for (i, (frames, topic)) in got.iter().zip(topics).enumerate() {
        assert_eq!(frames, &[topic.to_vec(), pattern(i * 100, i as u8)]);
    }
    peer.finish(WAIT);
}
