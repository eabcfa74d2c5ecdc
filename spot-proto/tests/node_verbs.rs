//! The Node's verbs and their errors (errno of the original C API), and the ZeroMQ data plane
//! against plain ZMTP peers (a SUB served as XPUB, a DEALER speaking the base commands), all
//! sans-IO with an in-memory pipe.
#![cfg(feature = "sim")]

mod node_harness;

use bytes::{Bytes, BytesMut};
use node_harness::{Cluster, bound_node, endpoint_of, ms};
use spot_proto::NodeError;
use spot_proto::link::{Link, LinkConfig, LinkEvent};
use spot_proto::node::{ConnectionId, Node, NodeEvent, NodeOutput};
use spot_proto::wire::spot::{Envelope, SpotCommand};
use spot_proto::wire::zmtp::{Message, SocketType};
use spot_proto::{Endpoint, Errno, Instant, Limits};

fn node() -> Node {
    bound_node(1, endpoint_of(0))
}

#[test]
fn binding_the_same_endpoint_twice_is_eexist() {
    let mut n = node();
    let err = n.bind(Instant::ZERO, endpoint_of(0)).unwrap_err();
    assert_eq!(err.errno(), Errno::EEXIST);
    n.bind(Instant::ZERO, Endpoint::inproc("local").unwrap()).unwrap();
    assert_eq!(n.bound().count(), 2);
    assert_eq!(n.advertised(), Some(&endpoint_of(0)), "the first bind is advertised");
}

#[test]
fn topic_errors_carry_the_c_api_codes() {
    let mut n = node();
    let now = Instant::ZERO;
    n.topic_create(now, "a").unwrap();
    assert_eq!(n.topic_create(now, "a").unwrap_err().errno(), Errno::EEXIST);
    assert_eq!(n.topic_destroy(now, "nope").unwrap_err().errno(), Errno::ENOENT);
    assert_eq!(n.topic_create(now, "").unwrap_err().errno(), Errno::EINVAL);
    assert!(n.topic_exists("a") && n.topic_is_local("a"));
    n.topic_route(now, "far", endpoint_of(5)).unwrap();
    assert!(n.topic_exists("far") && !n.topic_is_local("far"));
    assert!(matches!(n.topic_destroy(now, "far"), Err(NodeError::TopicIsRemote(_))));
    n.topic_destroy(now, "a").unwrap();
    assert!(!n.topic_exists("a"));
    assert_eq!(
        n.publish(now, "a", Bytes::from_static(b"x")).unwrap_err().errno(),
        Errno::ENOENT,
        "publish after topic_destroy fails"
    );
}

#[test]
fn subscription_errors() {
    let mut n = node();
    let now = Instant::ZERO;
    assert_eq!(n.subscribe(now, "unknown").unwrap_err().errno(), Errno::ENOENT, "no link to ask");
    n.topic_create(now, "t").unwrap();
    n.subscribe(now, "t").unwrap();
    assert_eq!(n.subscribe(now, "t").unwrap_err().errno(), Errno::EEXIST);
    n.unsubscribe(now, "t").unwrap();
    assert_eq!(n.unsubscribe(now, "t").unwrap_err().errno(), Errno::ENOENT);
    n.subscribe_pattern(now, "t*").unwrap();
    assert_eq!(n.subscribe_pattern(now, "t*").unwrap_err().errno(), Errno::EEXIST);
    assert_eq!(n.unsubscribe_pattern(now, "x*").unwrap_err().errno(), Errno::ENOENT);
}

#[test]
fn a_local_publish_is_delivered_once_even_when_exact_and_pattern_match() {
    let mut n = node();
    let now = Instant::ZERO;
    n.topic_create(now, "chat:room1").unwrap();
    n.topic_create(now, "game:1").unwrap();
    n.subscribe(now, "chat:room1").unwrap();
    let p = n.subscribe_pattern(now, "chat:*").unwrap();
    let q = n.subscribe_pattern(now, "*room?").unwrap();
    n.publish(now, "chat:room1", Bytes::from_static(b"hi")).unwrap();
    n.publish(now, "game:1", Bytes::from_static(b"no")).unwrap();
    let d = n.recv().expect("one delivery");
    assert_eq!((d.topic.as_str(), &d.payload[..]), ("chat:room1", &b"hi"[..]));
    assert!(d.exact);
    assert_eq!(d.patterns, [p, q], "every matching subscription is named, for per-stream fan-out");
    assert!(n.recv().is_none(), "once per node, and nothing for the unsubscribed topic");
    assert_eq!(n.stats().received_messages, 1);
}

#[test]
fn a_pattern_follows_topics_created_later_and_only_matching_ones() {
    let mut n = node();
    let now = Instant::ZERO;
    n.subscribe_pattern(now, "log:?:*").unwrap();
    for topic in ["log:a:x", "log:bb:x", "log:c:", "other"] {
        n.topic_create(now, topic).unwrap();
        n.publish(now, topic, Bytes::from_static(b"m")).unwrap();
    }
    let got: Vec<String> =
        std::iter::from_fn(|| n.recv()).map(|d| d.topic.as_str().to_owned()).collect();
    assert_eq!(got, ["log:a:x", "log:c:"]);
}

#[test]
fn ten_messages_arrive_in_order_and_a_1_mib_message_intact() {
    let mut cluster = Cluster::new(3, 2);
    cluster.act(1, |n, now| n.topic_create(now, "bulk").unwrap());
    let owner = cluster.endpoint(1);
    cluster.act(0, |n, now| n.cluster_add(now, owner.clone()).unwrap());
    cluster.run(ms(100));
    cluster.act(0, |n, now| n.subscribe(now, "bulk").unwrap());
    cluster.run(ms(100));
    for i in 0..10u8 {
        cluster.act(1, |n, now| n.publish(now, "bulk", Bytes::from(vec![i; 3])).unwrap());
    }
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let payload = Bytes::from(big.clone());
    cluster.act(1, |n, now| n.publish(now, "bulk", payload).unwrap());
    cluster.run(ms(500));
    let got = cluster.received(0);
    assert_eq!(got.len(), 11);
    for (i, (_, payload)) in got.iter().take(10).enumerate() {
        assert_eq!(payload, &vec![i as u8; 3]);
    }
    assert_eq!(got[10].1, big, "1 MiB, byte for byte");
}

#[test]
fn cluster_verbs_report_their_errors() {
    let mut cluster = Cluster::new(4, 2);
    let other = cluster.endpoint(1);
    let nobody = Endpoint::tcp([10, 0, 0, 99], 7000);
    let empty = cluster.act(0, |n, now| n.cluster_sync(now, Some(ms(500))));
    assert!(cluster.operation_ok(0, empty), "an empty cluster syncs at once");
    cluster.act(0, |n, now| n.cluster_add(now, other.clone()).unwrap());
    let again = cluster.act(0, |n, now| n.cluster_add(now, other.clone()));
    assert_eq!(again.unwrap_err().errno(), Errno::EEXIST);
    let lost = cluster.act(0, |n, now| n.cluster_add(now, nobody.clone()).unwrap());
    cluster.run(ms(1500));
    let failed = cluster.events(0).iter().find_map(|e| match e {
        NodeEvent::OperationFinished { op, result: Err(error) } if *op == lost => {
            Some(error.clone())
        }
        _ => None,
    });
    assert_eq!(failed.map(|e| e.errno()), Some(Errno::EHOSTUNREACH));
    let sync = cluster.act(0, |n, now| n.cluster_sync(now, Some(ms(500))));
    cluster.run(ms(600));
    let report = cluster.events(0).iter().find_map(|e| match e {
        NodeEvent::OperationFinished { op, result: Ok(report) } if *op == sync => {
            Some(report.clone())
        }
        _ => None,
    });
    let report = report.expect("one peer synced, so the sync succeeds");
    assert_eq!(report.synced, std::slice::from_ref(&other));
    assert_eq!(report.failed.len(), 1, "the unreachable one is listed as failed");
    let quick = cluster.act(0, |n, now| n.cluster_sync(now, Some(ms(0))));
    assert!(cluster.operation_ok(0, quick), "timeout 0 sends and returns");
    cluster.act(0, |n, now| n.cluster_remove(now, &other).unwrap());
    let missing = cluster.act(0, |n, now| n.cluster_remove(now, &other));
    assert_eq!(missing.unwrap_err().errno(), Errno::ENOENT);
}

#[test]
fn cluster_remove_stops_delivery_and_cluster_add_restores_it() {
    let mut cluster = Cluster::new(5, 2);
    cluster.act(1, |n, now| n.topic_create(now, "t").unwrap());
    let owner = cluster.endpoint(1);
    cluster.act(0, |n, now| n.cluster_add(now, owner.clone()).unwrap());
    cluster.run(ms(100));
    cluster.act(0, |n, now| n.subscribe(now, "t").unwrap());
    cluster.run(ms(100));
    cluster.act(1, |n, now| n.publish(now, "t", Bytes::from_static(b"1")).unwrap());
    cluster.run(ms(100));
    cluster.act(0, |n, now| n.cluster_remove(now, &owner).unwrap());
    cluster.run(ms(100));
    assert!(!cluster.node(0).topic_exists("t"), "its topics are dropped");
    cluster.act(1, |n, now| n.publish(now, "t", Bytes::from_static(b"2")).unwrap());
    cluster.run(ms(100));
    assert_eq!(cluster.received(0), [("t".to_owned(), b"1".to_vec())]);
    assert_eq!(cluster.node(1).stats().forwarded, 1, "the owner dropped the removed subscriber");
    cluster.act(0, |n, now| n.cluster_add(now, owner.clone()).unwrap());
    cluster.run(ms(100));
    cluster.act(1, |n, now| n.publish(now, "t", Bytes::from_static(b"3")).unwrap());
    cluster.run(ms(100));
    assert_eq!(
        cluster.received(0).last(),
        Some(&("t".to_owned(), b"3".to_vec())),
        "the subscription came back"
    );
}

/// A plain ZMTP peer (a `Link` in the dialer role) wired to a node's listener in memory.
struct Plain {
    link: Link,
    conn: ConnectionId,
}

impl Plain {
    fn connect(node: &mut Node, socket_type: SocketType) -> Plain {
        let conn = node.handle_accepted(Instant::ZERO);
        Plain { link: Link::new(LinkConfig::dialer(socket_type), Instant::ZERO), conn }
    }

    /// Moves bytes both ways until quiet; returns what the peer received.
    fn pump(&mut self, node: &mut Node) -> Vec<LinkEvent> {
        let now = Instant::ZERO;
        let mut events = Vec::new();
        for _ in 0..8 {
            while let Some(chunk) = self.link.poll_transmit() {
                node.handle_read(now, self.conn, BytesMut::from(&chunk[..]));
            }
            while let Some(output) = node.poll_output() {
                if let NodeOutput::Write { conn, data } = output
                    && conn == self.conn
                {
                    self.link.handle_read(now, BytesMut::from(&data[..]));
                    node.handle_sent(now, conn, data.len());
                }
            }
            while let Some(event) = self.link.poll_event() {
                events.push(event);
            }
        }
        events
    }
}

fn messages(events: &[LinkEvent]) -> Vec<Vec<Bytes>> {
    events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Message(m) => Some(m.frames().to_vec()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_zeromq_sub_is_served_as_xpub_with_prefix_subscriptions() {
    let mut n = node();
    let now = Instant::ZERO;
    n.topic_create(now, "game:score").unwrap();
    n.topic_create(now, "chat:lobby").unwrap();
    let mut sub = Plain::connect(&mut n, SocketType::Sub);
    sub.link.subscribe(Bytes::from_static(b"game:")).unwrap();
    let events = sub.pump(&mut n);
    assert!(
        matches!(&events[0], LinkEvent::HandshakeComplete(info) if info.socket_type == SocketType::XPub)
    );
    n.publish(now, "game:score", Bytes::from_static(b"42")).unwrap();
    n.publish(now, "chat:lobby", Bytes::from_static(b"no")).unwrap();
    let got = messages(&sub.pump(&mut n));
    assert_eq!(got, [vec![Bytes::from_static(b"game:score"), Bytes::from_static(b"42")]]);
    sub.link.cancel(Bytes::from_static(b"game:")).unwrap();
    sub.pump(&mut n);
    n.publish(now, "game:score", Bytes::from_static(b"43")).unwrap();
    assert!(messages(&sub.pump(&mut n)).is_empty(), "cancelled");
}

#[test]
fn a_zeromq_dealer_gets_query_resp_and_can_subscribe_and_publish() {
    let mut n = node();
    let now = Instant::ZERO;
    n.topic_create(now, "a").unwrap();
    n.topic_create(now, "b").unwrap();
    let mut dealer = Plain::connect(&mut n, SocketType::Dealer);
    let send = |d: &mut Plain, c: SpotCommand| {
        let _queued = d.link.send(Message::from_frames(c.encode(Envelope::Bare))).unwrap();
    };
    send(&mut dealer, SpotCommand::Query);
    let got = messages(&dealer.pump(&mut n));
    let want: Vec<Bytes> = ["", "\x05", "\x02\x00\x00\x00", "a", "b"]
        .iter()
        .map(|f| Bytes::copy_from_slice(f.as_bytes()))
        .collect();
    assert_eq!(got, [want], "the exact QUERY_RESP frames, behind the ROUTER's empty delimiter");
    let limits = Limits::default();
    let topic = spot_proto::wire::spot::Topic::copy_from_str("a", &limits).unwrap();
    send(&mut dealer, SpotCommand::Subscribe { topic: topic.clone() });
    send(&mut dealer, SpotCommand::Publish { topic, data: Bytes::from_static(b"x") });
    let got = messages(&dealer.pump(&mut n));
    let forwarded: Vec<Bytes> =
        ["", "\x01", "a", "x"].iter().map(|f| Bytes::copy_from_slice(f.as_bytes())).collect();
    assert_eq!(got, [forwarded], "its own publish comes back once, as it subscribes");
}

/// Connects, writes and closes the node asked for.
type Drained = (Vec<(ConnectionId, Endpoint)>, Vec<(ConnectionId, Bytes)>, Vec<ConnectionId>);

/// What the node asked to do, split by kind.
fn drain(node: &mut Node) -> Drained {
    let (mut connects, mut writes, mut closes) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(output) = node.poll_output() {
        match output {
            NodeOutput::Connect { conn, to } => connects.push((conn, to)),
            NodeOutput::Write { conn, data } => writes.push((conn, data)),
            NodeOutput::Close { conn } => closes.push(conn),
            NodeOutput::Datagram { .. } => {}
        }
    }
    (connects, writes, closes)
}

/// The bytes a ZMTP 3.0 XPUB (such as the original C++ SPOT) sends first: greeting and READY.
fn xpub_hello() -> BytesMut {
    use spot_proto::wire::zmtp::{Command, Greeting, Ready, ZmtpVersion};
    let mut bytes = BytesMut::new();
    Greeting::null(ZmtpVersion::V3_0).encode(&mut bytes);
    Command::Ready(Ready::new(SocketType::XPub)).encode(&mut bytes);
    bytes
}

#[test]
fn a_routed_foreign_publisher_is_redialed_as_xsub_and_consumed() {
    let mut n = node();
    let now = Instant::ZERO;
    let publisher = Endpoint::tcp([10, 0, 9, 9], 5556);
    n.topic_route(now, "quotes", publisher.clone()).unwrap();
    n.subscribe(now, "quotes").unwrap();
    let (connects, _, _) = drain(&mut n);
    let (first, to) = connects[0].clone();
    assert_eq!(to, publisher);
    n.handle_connected(now, first);
    n.handle_read(now, first, xpub_hello());
    let (connects, _, closes) = drain(&mut n);
    assert_eq!(closes, [first], "a DEALER cannot talk to a publisher: that link closes");
    let (second, to) = connects.first().cloned().expect("redialed at once, as XSUB");
    assert_eq!(to, publisher);
    n.handle_connected(now, second);
    n.handle_read(now, second, xpub_hello());
    let (_, writes, _) = drain(&mut n);
    let sent: Vec<u8> =
        writes.iter().filter(|(c, _)| *c == second).flat_map(|(_, d)| d.to_vec()).collect();
    // Our XSUB READY carries Socket-Type alone, and the subscription goes as a 3.0 data frame.
    assert!(sent.windows(4).any(|w| w == b"XSUB"), "XSUB READY");
    assert!(!sent.windows(6).any(|w| w == b"X-Spot"), "no X-Spot toward a foreign publisher");
    assert!(sent.windows(7).any(|w| w == b"\x01quotes"), "0x01 subscription (3.0 form)");
    let mut message = BytesMut::new();
    Message::from_frames([&b"quotes"[..], b"42.1"]).encode(&mut message);
    Message::from_frames([&b"quotes-other"[..], b"no"]).encode(&mut message);
    n.handle_read(now, second, message);
    let d = n.recv().expect("the publisher's message");
    assert_eq!((d.topic.as_str(), &d.payload[..]), ("quotes", &b"42.1"[..]));
    assert!(n.recv().is_none(), "a prefix match on another topic is not delivered");
    assert_eq!(n.stats().dropped_off_path, 1, "and it is counted");
}

#[test]
fn a_slow_subscriber_does_not_hold_up_a_fast_one_and_control_still_reaches_it() {
    let mut cluster = Cluster::new(6, 3);
    cluster.act(0, |n, now| n.topic_create(now, "fast").unwrap());
    let owner = cluster.endpoint(0);
    for i in [1, 2] {
        cluster.act(i, |n, now| n.cluster_add(now, owner.clone()).unwrap());
    }
    cluster.run(ms(100));
    for i in [1, 2] {
        cluster.act(i, |n, now| n.subscribe(now, "fast").unwrap());
    }
    cluster.run(ms(100));
    // Node 2 can only take its receive queue's worth before its user drains it: set a tiny
    // receive HWM toward the owner, and make it slow.
    cluster.act(2, |n, _| n.set_hwm(&owner, 1000, 10).unwrap());
    cluster.sim.set_processing_delay(2, ms(5));
    for i in 0..200u32 {
        cluster.act(0, |n, now| {
            n.publish(now, "fast", Bytes::from(i.to_le_bytes().to_vec())).unwrap()
        });
    }
    cluster.run(ms(3000));
    assert_eq!(cluster.received(1).len(), 200, "the fast subscriber gets everything");
    // SimNode drains the receive queue as events, so node 2's queue never holds 10 at once
    // unless it is slow to be polled; what it got is in order and without duplicates.
    let got: Vec<u32> = cluster
        .received(2)
        .iter()
        .map(|(_, p)| u32::from_le_bytes(p[..4].try_into().unwrap()))
        .collect();
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, no duplicate");
    // Control still flows to the slow node: a new topic's announcement reaches it.
    cluster.act(0, |n, now| n.topic_create(now, "later").unwrap());
    cluster.run(ms(2000));
    assert!(cluster.node(2).topic_exists("later"));
}

#[test]
fn the_send_hwm_drops_and_counts_or_refuses_with_wouldblock() {
    use spot_proto::link::HwmPolicy;
    let limits_node = |policy: HwmPolicy| {
        let mut config = spot_proto::node::NodeConfig::local().with_seed(9);
        config.send_hwm = 5;
        config.hwm_policy = policy;
        config.write_window = Some(64);
        let mut n = Node::new(config, Instant::ZERO);
        n.bind(Instant::ZERO, endpoint_of(0)).unwrap();
        n.topic_create(Instant::ZERO, "t").unwrap();
        n
    };
    for policy in [HwmPolicy::DropNewest, HwmPolicy::WouldBlock] {
        let mut n = limits_node(policy);
        let mut sub = Plain::connect(&mut n, SocketType::Sub);
        sub.link.subscribe(Bytes::from_static(b"t")).unwrap();
        sub.pump(&mut n);
        // The subscriber stops reading (no more `handle_sent`): once 64 bytes are in flight,
        // publishes pile up in the node's queue to it, where the high-water mark applies.
        let mut refused = 0;
        for i in 0..20u8 {
            match n.publish(Instant::ZERO, "t", Bytes::from(vec![i])) {
                Ok(()) => {}
                Err(e) => {
                    assert_eq!(e.errno(), Errno::EAGAIN);
                    refused += 1;
                }
            }
        }
        match policy {
            HwmPolicy::DropNewest => {
                assert_eq!(refused, 0);
                assert!(n.stats().dropped_send_hwm > 0, "drops are counted");
            }
            _ => {
                assert!(refused > 0, "the publisher is told to back off");
                assert_eq!(n.stats().dropped_send_hwm, 0, "nothing is dropped");
            }
        }
    }
}

#[test]
fn a_dial_given_up_before_it_connected_is_closed_and_refused_when_it_connects() {
    let mut n = node();
    let now = Instant::ZERO;
    let peer = endpoint_of(7);
    n.cluster_add(now, peer.clone()).unwrap();
    let (connects, _, _) = drain(&mut n);
    let (conn, _) = connects[0].clone();
    n.cluster_remove(now, &peer).unwrap();
    let (_, writes, closes) = drain(&mut n);
    assert_eq!(closes, [conn], "the driver is told to drop the pending attempt");
    assert!(writes.is_empty(), "nothing is written before the connection is up");
    assert!(!n.handle_connected(now, conn), "a late connect is refused: close the socket");
    assert_eq!(NodeError::Shutdown.errno(), Errno::ESHUTDOWN);
}
