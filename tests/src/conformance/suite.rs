//! The scenarios, each a function over the driver under test. Every node binds
//! `tcp://127.0.0.1:0` unless the scenario needs a fixed port; every wait is bounded.

use std::time::{Duration, Instant};

use bytes::Bytes;
use spot_proto::{Endpoint, NodeError};

use super::{Driver, QUIET, TestNode, WAIT, config};
use crate::pattern;

/// Every peer of `node` processed what `node` sent before (QUERY answers come after the
/// earlier requests on the same connection).
pub fn barrier(node: &dyn TestNode) {
    let report = node.cluster_sync(WAIT).expect("cluster_sync answers");
    assert!(report.failed.is_empty(), "[{}] every peer answers: {report:?}", node.driver());
}

/// `owner` creates `topic`; `reader` adds `owner` as a peer (once), subscribes and waits for
/// the owner to have the subscription.
pub fn subscribed(owner: &dyn TestNode, reader: &dyn TestNode, topic: &str) {
    owner.topic_create(topic).expect("topic_create");
    add_peer(reader, owner);
    reader.subscribe(topic).expect("subscribe to a known topic");
    barrier(reader);
}

/// `node` adds `peer` explicitly (and learns its topics), unless done already.
pub fn add_peer(node: &dyn TestNode, peer: &dyn TestNode) {
    match node.cluster_add(peer.endpoint()) {
        Ok(report) => assert!(report.failed.is_empty(), "cluster_add synced: {report:?}"),
        Err(NodeError::PeerExists(_)) => {}
        Err(error) => panic!("[{}] cluster_add {}: {error}", node.driver(), peer.endpoint()),
    }
}

/// The next message of `node` is `payload` on `topic`.
pub fn expect_message(node: &dyn TestNode, topic: &str, payload: &[u8]) {
    let (got_topic, got) = node
        .recv(WAIT)
        .unwrap_or_else(|error| panic!("[{}] a message on {topic}: {error}", node.driver()));
    assert_eq!(got_topic, topic, "[{}] topic", node.driver());
    assert!(
        got[..] == payload[..],
        "[{}] payload on {topic}: got {} bytes, expected {} (first got {:?})",
        node.driver(),
        got.len(),
        payload.len(),
        &got[..got.len().min(16)]
    );
}

/// Nothing arrives at `node` within [`QUIET`].
pub fn expect_quiet(node: &dyn TestNode) {
    match node.recv(QUIET) {
        Err(NodeError::Timeout) => {}
        other => panic!("[{}] expected nothing, got {other:?}", node.driver()),
    }
}

fn shutdown(nodes: &[&dyn TestNode]) {
    for node in nodes {
        node.shutdown();
    }
}

/// One node: a LOCAL topic delivers exactly the published bytes (every byte value, zeros
/// included) to its own subscription, once.
pub fn basic_publish_receive_exact_bytes(driver: &dyn Driver) {
    let node = driver.start(1);
    node.topic_create("basic").expect("topic_create");
    node.subscribe("basic").expect("subscribe");
    let payload = pattern(777, 3);
    node.publish("basic", Bytes::from(payload.clone())).expect("publish");
    expect_message(&*node, "basic", &payload);
    node.publish("basic", Bytes::new()).expect("an empty payload is a message");
    expect_message(&*node, "basic", b"");
    expect_quiet(&*node);
    shutdown(&[&*node]);
}

/// Publishing on a destroyed topic fails with `TopicNotFound` (ENOENT).
pub fn publish_after_topic_destroy_fails(driver: &dyn Driver) {
    let node = driver.start(2);
    node.topic_create("short-lived").expect("topic_create");
    node.publish("short-lived", Bytes::from_static(b"alive")).expect("publish while it exists");
    node.topic_destroy("short-lived").expect("topic_destroy");
    match node.publish("short-lived", Bytes::from_static(b"gone")) {
        Err(NodeError::TopicNotFound(topic)) => assert_eq!(topic, "short-lived"),
        other => panic!("[{}] publish after destroy: {other:?}", node.driver()),
    }
    assert!(!node.topic_exists("short-lived").expect("topic_exists"));
    assert!(matches!(node.topic_destroy("short-lived"), Err(NodeError::TopicNotFound(_))));
    shutdown(&[&*node]);
}

/// Ten messages from one publisher over TCP arrive in publish order.
pub fn ten_messages_arrive_in_order(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(3), driver.start(4));
    subscribed(&*owner, &*reader, "ordered");
    for i in 0..10u8 {
        owner.publish("ordered", Bytes::from(vec![i; 1 + usize::from(i)])).expect("publish");
    }
    for i in 0..10u8 {
        expect_message(&*reader, "ordered", &vec![i; 1 + usize::from(i)]);
    }
    expect_quiet(&*reader);
    shutdown(&[&*reader, &*owner]);
}

/// `chat:*` receives `chat:` topics, LOCAL and REMOTE, and nothing else.
pub fn pattern_subscription_receives_only_matching_topics(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(5), driver.start(6));
    for topic in ["chat:rust", "chat:go", "news:rust"] {
        owner.topic_create(topic).expect("topic_create");
    }
    reader.topic_create("chat:local").expect("topic_create");
    add_peer(&*reader, &*owner);
    reader.subscribe_pattern("chat:*").expect("subscribe_pattern");
    barrier(&*reader);
    owner.publish("news:rust", Bytes::from_static(b"not for you")).expect("publish");
    owner.publish("chat:rust", Bytes::from_static(b"one")).expect("publish");
    reader.publish("chat:local", Bytes::from_static(b"two")).expect("publish");
    owner.publish("chat:go", Bytes::from_static(b"three")).expect("publish");
    let mut got = Vec::new();
    for _ in 0..3 {
        let (topic, payload) = reader.recv(WAIT).expect("a matching message");
        got.push((topic, payload.to_vec()));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            ("chat:go".to_owned(), b"three".to_vec()),
            ("chat:local".to_owned(), b"two".to_vec()),
            ("chat:rust".to_owned(), b"one".to_vec()),
        ]
    );
    expect_quiet(&*reader);
    shutdown(&[&*reader, &*owner]);
}

/// Unsubscribing one topic stops it and leaves the other subscriptions alone.
pub fn selective_unsubscribe(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(7), driver.start(8));
    subscribed(&*owner, &*reader, "keep");
    subscribed(&*owner, &*reader, "drop");
    reader.unsubscribe("drop").expect("unsubscribe");
    assert!(matches!(reader.unsubscribe("drop"), Err(NodeError::NotSubscribed(_))));
    barrier(&*reader);
    owner.publish("drop", Bytes::from_static(b"unwanted")).expect("publish");
    owner.publish("keep", Bytes::from_static(b"wanted")).expect("publish");
    expect_message(&*reader, "keep", b"wanted");
    expect_quiet(&*reader);
    shutdown(&[&*reader, &*owner]);
}

/// A 1 MiB message crosses TCP intact (many reads and writes on the way).
pub fn one_mebibyte_message(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(9), driver.start(10));
    subscribed(&*owner, &*reader, "big");
    let payload = pattern(1 << 20, 11);
    owner.publish("big", Bytes::from(payload.clone())).expect("publish 1 MiB");
    expect_message(&*reader, "big", &payload);
    shutdown(&[&*reader, &*owner]);
}

/// 100 publishes in a row over TCP all arrive, in order.
pub fn hundred_rapid_publishes_all_received(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(12), driver.start(13));
    subscribed(&*owner, &*reader, "rapid");
    for i in 0..100u32 {
        owner.publish("rapid", Bytes::from(i.to_be_bytes().to_vec())).expect("publish");
    }
    for i in 0..100u32 {
        expect_message(&*reader, "rapid", &i.to_be_bytes());
    }
    expect_quiet(&*reader);
    shutdown(&[&*reader, &*owner]);
}

/// A REMOTE topic: the reader learns it from the owner over TCP, receives the owner's
/// publishes, and its own publishes go through the owner and back.
pub fn remote_topic_over_tcp(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(14), driver.start(15));
    owner.topic_create("remote").expect("topic_create");
    assert!(!reader.topic_exists("remote").expect("topic_exists"), "not known before the add");
    add_peer(&*reader, &*owner);
    assert!(reader.topic_exists("remote").expect("topic_exists"), "learned from the owner");
    assert!(
        matches!(reader.topic_create("remote"), Err(NodeError::TopicExists(_))),
        "a REMOTE topic cannot be created again"
    );
    reader.subscribe("remote").expect("subscribe");
    barrier(&*reader);
    owner.publish("remote", Bytes::from_static(b"from the owner")).expect("publish");
    expect_message(&*reader, "remote", b"from the owner");
    reader.publish("remote", Bytes::from_static(b"via the owner")).expect("publish REMOTE");
    expect_message(&*reader, "remote", b"via the owner");
    shutdown(&[&*reader, &*owner]);
}

/// Two nodes each own a topic, subscribe to the other's and publish to each other.
pub fn two_nodes_publish_to_each_other(driver: &dyn Driver) {
    let (a, b) = (driver.start(16), driver.start(17));
    subscribed(&*a, &*b, "from-a");
    subscribed(&*b, &*a, "from-b");
    a.publish("from-a", Bytes::from_static(b"hello b")).expect("publish");
    b.publish("from-b", Bytes::from_static(b"hello a")).expect("publish");
    expect_message(&*b, "from-a", b"hello b");
    expect_message(&*a, "from-b", b"hello a");
    expect_quiet(&*a);
    expect_quiet(&*b);
    shutdown(&[&*a, &*b]);
}

/// Three nodes: one publish on the owner's topic reaches both other nodes, once each.
pub fn three_node_cluster_one_publish_reaches_both(driver: &dyn Driver) {
    let (owner, left, right) = (driver.start(18), driver.start(19), driver.start(20));
    subscribed(&*owner, &*left, "fanout");
    add_peer(&*right, &*owner);
    right.subscribe("fanout").expect("subscribe");
    barrier(&*right);
    owner.publish("fanout", Bytes::from_static(b"to both")).expect("publish");
    expect_message(&*left, "fanout", b"to both");
    expect_message(&*right, "fanout", b"to both");
    // A publish by one subscriber goes through the owner to the other (and back to itself).
    left.publish("fanout", Bytes::from_static(b"from left")).expect("publish REMOTE");
    expect_message(&*right, "fanout", b"from left");
    expect_message(&*left, "fanout", b"from left");
    expect_quiet(&*right);
    shutdown(&[&*left, &*right, &*owner]);
}

/// cluster_add learns the peer's topics; a topic created later is found by cluster_sync.
pub fn cluster_add_and_sync_discover_topics(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(21), driver.start(22));
    owner.topic_create("early").expect("topic_create");
    let report = reader.cluster_add(owner.endpoint()).expect("cluster_add");
    assert_eq!(report.synced, vec![owner.endpoint()], "the add synced with the owner");
    assert!(reader.topic_exists("early").expect("topic_exists"));
    assert!(
        matches!(reader.cluster_add(owner.endpoint()), Err(NodeError::PeerExists(_))),
        "adding twice is EEXIST"
    );
    owner.topic_create("late").expect("topic_create");
    let report = reader.cluster_sync(WAIT).expect("cluster_sync");
    assert_eq!(report.synced, vec![owner.endpoint()], "the sync asked the owner");
    assert!(reader.topic_exists("late").expect("topic_exists"), "found by the sync");
    shutdown(&[&*reader, &*owner]);
}

/// cluster_remove forgets the peer's topics and stops delivery from it.
pub fn cluster_remove_stops_delivery(driver: &dyn Driver) {
    let (owner, reader) = (driver.start(23), driver.start(24));
    subscribed(&*owner, &*reader, "removed");
    owner.publish("removed", Bytes::from_static(b"before")).expect("publish");
    expect_message(&*reader, "removed", b"before");
    reader.cluster_remove(&owner.endpoint()).expect("cluster_remove");
    assert!(!reader.topic_exists("removed").expect("topic_exists"), "its topics are gone");
    assert!(matches!(reader.cluster_remove(&owner.endpoint()), Err(NodeError::PeerNotFound(_))));
    // The owner learns of the closed connection; its publishes reach nobody now.
    owner.publish("removed", Bytes::from_static(b"after")).expect("publish LOCAL");
    expect_quiet(&*reader);
    shutdown(&[&*reader, &*owner]);
}

/// A node is destroyed; a new one binds the same endpoint, and the reader (which kept the
/// owner as its peer) reconnects and receives from the new node.
pub fn destroyed_node_rebinds_same_endpoint(driver: &dyn Driver) {
    let (first, reader) = (driver.start(25), driver.start(26));
    subscribed(&*first, &*reader, "reborn");
    first.publish("reborn", Bytes::from_static(b"first life")).expect("publish");
    expect_message(&*reader, "reborn", b"first life");
    let endpoint = first.endpoint();
    first.shutdown();
    drop(first);

    let second = driver.start_with(endpoint.clone(), config(27));
    assert_eq!(second.endpoint(), endpoint, "the same endpoint again");
    second.topic_create("reborn").expect("topic_create on the new node");
    // The reader redials with backoff; wait (bounded) until a sync reaches the new node.
    let deadline = Instant::now() + WAIT;
    loop {
        let report = reader.cluster_sync(Duration::from_secs(1));
        if report.as_ref().is_ok_and(|r| r.synced.contains(&endpoint)) {
            break;
        }
        assert!(Instant::now() < deadline, "the reader never reached the new node: {report:?}");
    }
    match reader.subscribe("reborn") {
        Ok(()) | Err(NodeError::AlreadySubscribed(_)) => {}
        Err(error) => panic!("[{}] subscribe again: {error}", reader.driver()),
    }
    barrier(&*reader);
    second.publish("reborn", Bytes::from_static(b"second life")).expect("publish");
    expect_message(&*reader, "reborn", b"second life");
    expect_quiet(&*reader);
    shutdown(&[&*reader, &*second]);
}

/// A ZeroMQ SUB client of `at` (a spot-proto link over a blocking socket): it completes the
/// handshake, subscribes to everything, and is then never read again.
fn stalled_subscriber(at: &Endpoint) -> std::net::TcpStream {
    use std::io::{Read, Write};

    use spot_proto::link::{Link, LinkConfig, LinkEvent};
    use spot_proto::wire::zmtp::SocketType;

    let port = at.port().expect("a tcp endpoint");
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    socket.set_read_timeout(Some(WAIT)).expect("read timeout");
    let mut link = Link::new(LinkConfig::dialer(SocketType::Sub), spot_proto::Instant::ZERO);
    link.subscribe(Bytes::new()).expect("subscribe to everything");
    let mut buffer = [0u8; 4096];
    while !link.is_ready() {
        while let Some(chunk) = link.poll_transmit() {
            socket.write_all(&chunk).expect("write");
        }
        let read = socket.read(&mut buffer).expect("the node answers the handshake");
        assert!(read > 0, "the node closed the handshake");
        link.handle_read(spot_proto::Instant::ZERO, bytes::BytesMut::from(&buffer[..read]));
        while let Some(event) = link.poll_event() {
            assert!(!matches!(event, LinkEvent::Closed(_)), "{event:?}");
        }
    }
    while let Some(chunk) = link.poll_transmit() {
        socket.write_all(&chunk).expect("write the subscription");
    }
    socket
}

/// A SUB client that stops reading fills its connection's queue in the node, where the send
/// high-water mark drops and counts data; the connection is not cut, and the node and its
/// other subscribers go on.
pub fn stalled_subscriber_meets_the_send_hwm(driver: &dyn Driver) {
    let mut owner_config = config(28);
    owner_config.send_hwm = 100;
    let owner = driver.start_with(super::loopback_any(), owner_config);
    let reader = driver.start(29);
    owner.topic_create("flood").expect("topic_create");
    let stalled = stalled_subscriber(&owner.endpoint());
    let payload = Bytes::from(vec![7u8; 1024]);
    // Publish in batches until the stalled queue overflows (bounded: at most 60 000 messages,
    // far beyond the socket buffers and the write window).
    let mut published = 0;
    while owner.stats().expect("stats").dropped_send_hwm == 0 {
        assert!(published < 60_000, "[{}] no HWM drop after {published} messages", owner.driver());
        for _ in 0..500 {
            owner.publish("flood", payload.clone()).expect("publish never blocks (drop policy)");
        }
        published += 500;
    }
    let stats = owner.stats().expect("stats");
    assert_eq!(stats.connections_closed, 0, "the HWM applies, not a cut: {stats:?}");
    subscribed(&*owner, &*reader, "after");
    owner.publish("after", Bytes::from_static(b"still serving")).expect("publish");
    expect_message(&*reader, "after", b"still serving");
    drop(stalled);
    shutdown(&[&*reader, &*owner]);
}

/// Waits (bounded, woken by membership events) until `node` sees every endpoint of
/// `expected` alive.
pub fn wait_alive(node: &dyn TestNode, expected: &[Endpoint]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let alive = node.alive_members().expect("members");
        if expected.iter().all(|endpoint| alive.contains(endpoint)) {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "[{}] sees {alive:?} alive, expected {expected:?}", node.driver());
        node.wait_membership_event(left);
    }
}

/// One cluster over loopback TCP whose nodes come from different drivers: they join one SWIM
/// membership through the first node (UDP on the TCP port numbers) and all see each other
/// alive; every node owns a topic and subscribes to the others'; one publish from each reaches
/// every other node.
pub fn mixed_cluster(drivers: &[&dyn Driver]) {
    let nodes: Vec<Box<dyn TestNode>> =
        drivers.iter().zip(40..).map(|(driver, seed)| driver.start(seed)).collect();
    let endpoints: Vec<Endpoint> = nodes.iter().map(|node| node.endpoint()).collect();
    nodes[0].join(&[]).expect("the first node starts the cluster");
    for node in &nodes[1..] {
        node.join(&endpoints[..1]).expect("join through the first node");
    }
    for node in &nodes {
        let others: Vec<Endpoint> =
            endpoints.iter().filter(|e| **e != node.endpoint()).cloned().collect();
        wait_alive(&**node, &others);
    }
    let topic = |node: &dyn TestNode| format!("from-{}", node.driver());
    for node in &nodes {
        node.topic_create(&topic(&**node)).expect("topic_create");
    }
    for node in &nodes {
        for other in nodes.iter().filter(|other| other.endpoint() != node.endpoint()) {
            add_peer(&**node, &**other);
            node.subscribe(&topic(&**other)).expect("subscribe to the other driver's topic");
        }
        barrier(&**node);
    }
    for node in &nodes {
        let payload = format!("hello from {}", node.driver());
        node.publish(&topic(&**node), Bytes::from(payload.clone())).expect("publish");
        for other in nodes.iter().filter(|other| other.endpoint() != node.endpoint()) {
            expect_message(&**other, &topic(&**node), payload.as_bytes());
        }
    }
    for node in &nodes {
        expect_quiet(&**node);
    }
    for node in &nodes {
        node.shutdown();
    }
}
