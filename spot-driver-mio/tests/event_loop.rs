//! The mio driver's own features: a SpotLoop in a caller's poll (tokens stay in the range
//! given), the C-style waits of the blocking API, and what it refuses.

use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use spot_driver_mio::{BindError, SHUT_DOWN, SpotLoop, SpotNode};
use spot_proto::node::NodeConfig;
use spot_proto::{Endpoint, NodeError};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_loop_in_the_callers_poll_serves_a_blocking_peer() {
    let mut poll = Poll::new().expect("poll");
    let mut events = Events::with_capacity(64);
    let tokens = 500..520;
    let mut spot = SpotLoop::new(NodeConfig::local().with_seed(1), poll.registry(), tokens.clone())
        .expect("loop");
    let endpoint = spot.bind(&Endpoint::localhost(0)).expect("bind");
    assert_ne!(endpoint.port(), Some(0), "the real port is reported");
    spot.topic_create("loop-topic").expect("topic_create");
    spot.subscribe("loop-topic").expect("subscribe");

    let peer = SpotNode::builder(NodeConfig::local().with_seed(2))
        .bind(Endpoint::localhost(0))
        .start()
        .expect("peer");
    let peer_thread = std::thread::spawn(move || {
        peer.cluster_add(endpoint).expect("cluster_add");
        peer.publish("loop-topic", &b"from the peer"[..]).expect("publish REMOTE");
        peer
    });

    let deadline = Instant::now() + WAIT;
    let message = loop {
        assert!(Instant::now() < deadline, "no message within {WAIT:?}");
        let timeout = spot.poll_timeout().map_or(WAIT, |t| t.min(WAIT));
        poll.poll(&mut events, Some(timeout)).expect("poll");
        for event in events.iter() {
            assert!(tokens.contains(&event.token().0), "only the loop's tokens: {event:?}");
            assert!(spot.owns(event.token()));
            spot.handle_event(event);
        }
        spot.handle_timeout();
        if let Some(message) = spot.recv() {
            break message;
        }
    };
    assert_eq!((message.topic(), &message.payload[..]), ("loop-topic", &b"from the peer"[..]));
    assert!(!spot.owns(Token(tokens.end)));
    let peer = peer_thread.join().expect("peer thread");
    peer.shutdown();
    spot.close();
}

#[test]
fn recv_waits_the_c_way() {
    let node =
        SpotNode::builder(NodeConfig::local()).bind(Endpoint::localhost(0)).start().expect("node");
    node.topic_create("waits").expect("topic_create");
    node.subscribe("waits").expect("subscribe");
    assert_eq!(node.recv(0), Err(NodeError::WouldBlock), "0 returns at once");
    let started = Instant::now();
    assert_eq!(node.recv(150), Err(NodeError::Timeout), "a positive wait times out");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(started.elapsed() < WAIT);

    let publisher = node.clone();
    let thread = std::thread::spawn(move || {
        publisher.publish("waits", &b"late"[..]).expect("publish");
    });
    let message = node.recv(-1).expect("-1 waits until a message comes");
    assert_eq!(&message.payload[..], b"late");
    thread.join().expect("publisher thread");

    let report = node.cluster_sync(0).expect("no peers: nothing to wait for");
    assert!(report.synced.is_empty() && report.failed.is_empty());
    node.shutdown();
    assert!(node.is_shut_down());
    assert_eq!(node.publish("waits", &b"x"[..]), Err(SHUT_DOWN));
    assert_eq!(node.recv(0), Err(SHUT_DOWN));
}

#[test]
fn inproc_and_exhausted_tokens_are_refused() {
    let poll = Poll::new().expect("poll");
    let mut spot = SpotLoop::new(NodeConfig::local(), poll.registry(), 0..1).expect("loop");
    let inproc = Endpoint::inproc("mio-nope").expect("a valid name");
    assert!(matches!(spot.bind(&inproc), Err(BindError::Unsupported(_))));
    assert!(matches!(spot.bind(&Endpoint::localhost(0)), Err(BindError::TokensExhausted)));
}

#[test]
fn a_full_recv_queue_drops_the_newest_and_counts_it() {
    let node = SpotNode::builder(NodeConfig::local())
        .bind(Endpoint::localhost(0))
        .inbox_capacity(2)
        .start()
        .expect("node");
    node.topic_create("full").expect("topic_create");
    node.subscribe("full").expect("subscribe");
    for payload in [&b"one"[..], b"two", b"three"] {
        node.publish("full", payload).expect("publish");
    }
    assert_eq!(&node.recv(1000).expect("first").payload[..], b"one");
    assert_eq!(&node.recv(1000).expect("second").payload[..], b"two");
    assert_eq!(node.recv(0), Err(NodeError::WouldBlock), "the third was dropped");
    assert_eq!(node.driver_stats().inbox_dropped, 1, "and counted");
    node.publish("full", &b"four"[..]).expect("publish");
    assert_eq!(&node.recv(1000).expect("room again").payload[..], b"four");
    node.shutdown();
}
