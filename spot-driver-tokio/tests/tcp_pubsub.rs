//! Two nodes over loopback TCP: topics, subscriptions, patterns, publish, recv, cluster verbs.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{barrier, endpoint, next, subscribed, tcp_node, within};
use spot_proto::{Endpoint, Errno, NodeError};

#[tokio::test]
async fn a_publish_arrives_with_its_exact_bytes() {
    let (owner, reader) = (tcp_node(1).await, tcp_node(2).await);
    let mut sub = subscribed(&owner, &reader, "t").await;
    let payload: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    within("publish", owner.publish("t", payload.clone())).await.unwrap();
    let message = next(&mut sub).await;
    assert_eq!(message.topic(), "t");
    assert_eq!(&message.payload[..], &payload[..]);
    assert_eq!(reader.try_recv().unwrap_err(), NodeError::WouldBlock, "the stream took it");
}

#[tokio::test]
async fn ten_messages_arrive_in_order() {
    let (owner, reader) = (tcp_node(3).await, tcp_node(4).await);
    let mut sub = subscribed(&owner, &reader, "ordered").await;
    for i in 0..10u8 {
        owner.publish("ordered", vec![i; 1 + i as usize]).await.unwrap();
    }
    for i in 0..10u8 {
        assert_eq!(&next(&mut sub).await.payload[..], &vec![i; 1 + i as usize][..]);
    }
}

#[tokio::test]
async fn a_batch_publish_arrives_whole_and_in_order_and_counts_refusals() {
    let (owner, reader) = (tcp_node(40).await, tcp_node(41).await);
    let mut sub = subscribed(&owner, &reader, "batch").await;
    let payloads: Vec<Bytes> = (0..500u32).map(|i| Bytes::from(i.to_be_bytes().to_vec())).collect();
    owner.publish_batch_nowait("batch", payloads.clone()).unwrap();
    for expected in &payloads {
        assert_eq!(&next(&mut sub).await.payload, expected);
    }
    // A topic nobody created: every message of the batch is refused and counted.
    owner.publish_batch_nowait("nowhere", payloads[..3].to_vec()).unwrap();
    owner.stats().await.unwrap();
    assert_eq!(owner.driver_stats().publish_errors, 3);
}

#[tokio::test]
async fn a_publish_to_a_remote_topic_goes_through_its_owner() {
    let (owner, reader) = (tcp_node(5).await, tcp_node(6).await);
    let mut sub = subscribed(&owner, &reader, "far").await;
    let mut local = owner.subscribe("far").await.unwrap();
    within("publish", reader.publish("far", Bytes::from_static(b"from afar"))).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"from afar", "back to the publisher");
    assert_eq!(&next(&mut local).await.payload[..], b"from afar", "and to the owner");
}

#[tokio::test]
async fn a_pattern_subscription_gets_only_matching_topics_once() {
    let (owner, reader) = (tcp_node(7).await, tcp_node(8).await);
    for topic in ["chat:a", "chat:b", "game:1"] {
        owner.topic_create(topic).await.unwrap();
    }
    within("cluster_add", reader.cluster_add(endpoint(&owner))).await.unwrap();
    let mut chat = reader.subscribe_pattern("chat:*").await.unwrap();
    let mut exact = reader.subscribe("chat:b").await.unwrap();
    barrier(&reader).await;
    for topic in ["game:1", "chat:a", "game:1", "chat:b"] {
        owner.publish(topic, topic.as_bytes().to_vec()).await.unwrap();
    }
    assert_eq!(next(&mut chat).await.topic(), "chat:a");
    assert_eq!(next(&mut chat).await.topic(), "chat:b");
    assert_eq!(next(&mut exact).await.topic(), "chat:b", "each matching stream gets it once");
    assert_eq!(chat.try_recv().unwrap_err(), NodeError::WouldBlock, "no game:1, no duplicate");
    assert_eq!(exact.try_recv().unwrap_err(), NodeError::WouldBlock);
    assert_eq!(reader.try_recv().unwrap_err(), NodeError::WouldBlock);
    assert_eq!(chat.name(), "chat:*");
}

#[tokio::test]
async fn unsubscribe_ends_the_stream_and_stops_delivery() {
    let (owner, reader) = (tcp_node(9).await, tcp_node(10).await);
    let mut sub = subscribed(&owner, &reader, "t").await;
    let mut marker = subscribed(&owner, &reader, "marker").await;
    owner.publish("t", &b"one"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"one");
    reader.unsubscribe("t").await.unwrap();
    barrier(&reader).await;
    owner.publish("t", &b"two"[..]).await.unwrap();
    owner.publish("marker", &b"after"[..]).await.unwrap();
    assert_eq!(&next(&mut marker).await.payload[..], b"after");
    assert!(within("end of stream", sub.recv()).await.is_none(), "the stream ended, empty");
    assert_eq!(reader.try_recv().unwrap_err(), NodeError::WouldBlock, "nothing elsewhere");
    assert_eq!(reader.unsubscribe("t").await.unwrap_err().errno(), Errno::ENOENT);
}

#[tokio::test]
async fn a_dropped_stream_hands_its_messages_to_recv() {
    let (owner, reader) = (tcp_node(11).await, tcp_node(12).await);
    drop(subscribed(&owner, &reader, "c-style").await);
    owner.publish("c-style", &b"via recv"[..]).await.unwrap();
    let message = within("recv", reader.recv_timeout(Duration::from_secs(5))).await.unwrap();
    assert_eq!((message.topic(), &message.payload[..]), ("c-style", &b"via recv"[..]));
}

#[tokio::test]
async fn recv_times_out_with_etimedout_and_try_recv_would_block() {
    let node = tcp_node(13).await;
    let started = std::time::Instant::now();
    let error = node.recv_timeout(Duration::from_millis(50)).await.unwrap_err();
    assert_eq!(error, NodeError::Timeout);
    assert_eq!(error.errno(), Errno::ETIMEDOUT);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(node.try_recv().unwrap_err().errno(), Errno::EAGAIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_recv_future_loses_no_message() {
    let node = tcp_node(14).await;
    node.topic_create("local").await.unwrap();
    drop(node.subscribe("local").await.unwrap());
    let publisher = node.clone();
    let publishing = tokio::spawn(async move {
        for i in 0..200u32 {
            publisher.publish("local", i.to_be_bytes().to_vec()).await.unwrap();
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
    });
    let mut got = Vec::new();
    let mut cancelled = 0;
    within("200 messages", async {
        while got.len() < 200 {
            // Most of these waits are cut short: the dropped futures must lose nothing.
            match tokio::time::timeout(Duration::from_micros(100), node.recv()).await {
                Ok(message) => got.push(message.unwrap()),
                Err(_) => cancelled += 1,
            }
        }
    })
    .await;
    within("publisher", publishing).await.unwrap();
    let numbers: Vec<u32> =
        got.iter().map(|m| u32::from_be_bytes(m.payload[..].try_into().unwrap())).collect();
    assert_eq!(numbers, (0..200).collect::<Vec<_>>());
    assert!(cancelled > 0, "some recv futures were dropped while waiting");
    assert_eq!(node.try_recv().unwrap_err(), NodeError::WouldBlock);
}

#[tokio::test]
async fn cluster_sync_reports_synced_and_failed_peers() {
    let (a, b, c) = (tcp_node(15).await, tcp_node(16).await, tcp_node(17).await);
    let empty = within("sync", a.cluster_sync(Some(Duration::from_secs(1)))).await.unwrap();
    assert!(empty.synced.is_empty() && empty.failed.is_empty(), "no peers: empty success");
    b.topic_create("on-b").await.unwrap();
    c.topic_create("on-c").await.unwrap();
    within("add b", a.cluster_add(endpoint(&b))).await.unwrap();
    within("add c", a.cluster_add(endpoint(&c))).await.unwrap();
    let report = within("sync", a.cluster_sync(Some(Duration::from_secs(5)))).await.unwrap();
    let mut synced = report.synced.clone();
    synced.sort();
    let mut expected = vec![endpoint(&b), endpoint(&c)];
    expected.sort();
    assert_eq!(synced, expected);
    assert!(report.failed.is_empty());
    let topics: Vec<String> =
        a.list_topics().await.unwrap().iter().map(|t| t.topic.as_str().to_owned()).collect();
    assert_eq!(topics, ["on-b", "on-c"]);
    assert!(a.topic_exists("on-c").await.unwrap());

    c.shutdown().await;
    let report = within("sync", a.cluster_sync(Some(Duration::from_millis(300)))).await.unwrap();
    assert_eq!(report.synced, [endpoint(&b)]);
    assert_eq!(report.failed.len(), 1, "c is gone: {report:?}");
    assert_eq!(report.failed[0].0, endpoint(&c));
}

#[tokio::test]
async fn cluster_add_of_a_closed_port_is_host_unreachable() {
    let node = tcp_node(18).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error =
        within("cluster_add", node.cluster_add(Endpoint::localhost(closed))).await.unwrap_err();
    assert_eq!(error.errno(), Errno::EHOSTUNREACH, "{error}");
    let again = node.cluster_add(Endpoint::localhost(closed)).await.unwrap_err();
    assert_eq!(again.errno(), Errno::EEXIST, "the peer stays added");
    node.cluster_remove(&Endpoint::localhost(closed)).await.unwrap();
    let gone = node.cluster_remove(&Endpoint::localhost(closed)).await.unwrap_err();
    assert_eq!(gone.errno(), Errno::ENOENT);
}

#[tokio::test]
async fn topic_verbs_carry_the_c_api_codes() {
    let node = tcp_node(19).await;
    node.topic_create("a").await.unwrap();
    assert_eq!(node.topic_create("a").await.unwrap_err().errno(), Errno::EEXIST);
    assert_eq!(node.topic_create("").await.unwrap_err().errno(), Errno::EINVAL);
    node.topic_destroy("a").await.unwrap();
    assert_eq!(node.publish("a", &b"x"[..]).await.unwrap_err().errno(), Errno::ENOENT);
    assert_eq!(node.subscribe("a").await.unwrap_err().errno(), Errno::ENOENT);
    assert_eq!(node.topic_destroy("a").await.unwrap_err().errno(), Errno::ENOENT);
    let peer = Endpoint::localhost(9);
    assert_eq!(node.set_hwm(&peer, 10, 10).await.unwrap_err().errno(), Errno::ENOENT);
}

#[tokio::test]
async fn tcp_and_udp_share_one_port_number() {
    let node = tcp_node(20).await;
    let port = endpoint(&node).port().expect("a TCP endpoint");
    assert_ne!(port, 0);
    assert_eq!(node.local_endpoints(), [endpoint(&node)]);
    let udp = std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap_err();
    assert_eq!(udp.kind(), std::io::ErrorKind::AddrInUse, "our SWIM socket holds the UDP port");
    assert_eq!(node.node_id().as_str(), Some(endpoint(&node).to_string().as_str()));
}

#[tokio::test]
async fn after_shutdown_every_call_fails() {
    let node = tcp_node(21).await;
    let clone = node.clone();
    node.shutdown().await;
    assert!(clone.is_shut_down());
    assert_eq!(clone.topic_create("x").await.unwrap_err(), spot_driver_tokio::SHUT_DOWN);
    assert_eq!(
        clone.recv_timeout(Duration::from_secs(1)).await.unwrap_err().errno(),
        Errno::ESHUTDOWN
    );
    assert_eq!(clone.publish_nowait("x", &b""[..]).unwrap_err(), spot_driver_tokio::SHUT_DOWN);
    clone.shutdown().await;
}

#[tokio::test]
async fn pattern_streams_keep_their_messages_after_an_earlier_pattern_goes() {
    let (owner, reader) = (tcp_node(22).await, tcp_node(23).await);
    for topic in ["a:1", "b:1"] {
        owner.topic_create(topic).await.unwrap();
    }
    within("cluster_add", reader.cluster_add(endpoint(&owner))).await.unwrap();
    let mut first = reader.subscribe_pattern("a:*").await.unwrap();
    let mut second = reader.subscribe_pattern("b:*").await.unwrap();
    let mut third = reader.subscribe_pattern("*:1").await.unwrap();
    reader.unsubscribe_pattern("a:*").await.unwrap();
    assert!(within("end", first.recv()).await.is_none(), "the removed pattern's stream ends");
    barrier(&reader).await;
    owner.publish("b:1", &b"b"[..]).await.unwrap();
    owner.publish("a:1", &b"a"[..]).await.unwrap();
    assert_eq!(next(&mut second).await.topic(), "b:1");
    assert_eq!(next(&mut third).await.topic(), "b:1");
    assert_eq!(next(&mut third).await.topic(), "a:1");
    assert_eq!(second.try_recv().unwrap_err(), NodeError::WouldBlock, "a:1 is not b:*");
    assert_eq!(reader.unsubscribe_pattern("a:*").await.unwrap_err().errno(), Errno::ENOENT);
}

#[tokio::test]
async fn a_connection_whose_writes_pile_up_is_cut_and_counted() {
    let owner = tcp_node(24).await;
    let stingy = spot_driver_tokio::SpotNode::builder(common::config(25))
        .bind("tcp://127.0.0.1:0".parse().unwrap())
        .max_pending_write(1)
        .start()
        .await
        .unwrap();
    let error = within("cluster_add", stingy.cluster_add(endpoint(&owner))).await.unwrap_err();
    assert_eq!(error.errno(), Errno::EHOSTUNREACH, "every attempt is cut at its greeting");
    assert!(stingy.driver_stats().slow_connections_cut >= 1);
}

#[tokio::test]
async fn a_wildcard_bind_advertises_the_configured_host_with_the_real_port() {
    let node = spot_driver_tokio::SpotNode::builder(common::config(26))
        .bind("tcp://*:0".parse().unwrap())
        .advertise("tcp://127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let advertised = endpoint(&node);
    let bound = node.local_endpoints();
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].to_string(), format!("tcp://*:{}", advertised.port().unwrap()));
    assert_eq!(advertised, Endpoint::localhost(bound[0].port().unwrap()));
    let reader = tcp_node(27).await;
    let mut sub = subscribed(&node, &reader, "wild").await;
    node.publish("wild", &b"through *"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"through *");
}

#[tokio::test]
async fn ipv6_loopback_works_when_the_host_has_it() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: nothing to test");
        return;
    }
    let start = |seed| {
        spot_driver_tokio::SpotNode::builder(common::config(seed))
            .bind("tcp://[::1]:0".parse().unwrap())
            .start()
    };
    let (a, b) = (start(28).await.unwrap(), start(29).await.unwrap());
    assert!(endpoint(&a).to_string().starts_with("tcp://[::1]:"));
    let mut a_seen = a.membership_events().await.unwrap();
    within("a joins", a.join(&[])).await.unwrap();
    within("b joins", b.join(&[endpoint(&a)])).await.unwrap();
    common::wait_alive(&a, &mut a_seen, &[b.node_id()]).await;
    let mut sub = subscribed(&a, &b, "six").await;
    a.publish("six", &b"v6"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"v6");
}

#[tokio::test(flavor = "current_thread")]
async fn a_burst_on_one_thread_fills_no_stream_past_its_bound() {
    let mut config = common::config(30);
    config.send_hwm = 1 << 20;
    config.recv_hwm = 1 << 20;
    let start = |config| {
        spot_driver_tokio::SpotNode::builder(config)
            .bind("tcp://127.0.0.1:0".parse().unwrap())
            .stream_capacity(2048)
            .start()
    };
    let owner = start(config.clone()).await.unwrap();
    let reader = start(config.with_seed(31)).await.unwrap();
    let mut sub = subscribed(&owner, &reader, "burst").await;
    const COUNT: u32 = 20_000;
    // The reader is a task of the same thread as both drivers.
    let reading = tokio::spawn(async move {
        let mut got = Vec::with_capacity(COUNT as usize);
        while got.len() < COUNT as usize {
            let message = sub.recv().await.expect("live");
            got.push(u32::from_be_bytes(message.payload[..].try_into().unwrap()));
        }
        (got, sub.dropped())
    });
    for i in 0..COUNT {
        owner.publish_nowait("burst", i.to_be_bytes().to_vec()).unwrap();
        if i % 2000 == 1999 {
            owner.stats().await.unwrap();
        }
    }
    let reading = tokio::time::timeout(common::WAIT, reading).await;
    let Ok(reading) = reading else {
        panic!(
            "burst incomplete: reader {:?} {:?} {:?}, owner {:?} {:?}",
            reader.stats().await,
            reader.driver_stats(),
            reader.peer_stats().await,
            owner.stats().await,
            owner.peer_stats().await
        );
    };
    let (got, dropped) = reading.unwrap();
    assert_eq!(dropped, 0, "the driver let the reader run before its stream filled");
    assert_eq!(got, (0..COUNT).collect::<Vec<_>>());
    assert_eq!(reader.driver_stats().stream_dropped, 0);
}
