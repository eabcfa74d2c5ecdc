//! The SPOT documentation's two-node example, on the deterministic simulator: A creates
//! `game:player1` and `game:score`, B creates `chat:room1` and `chat:lobby`; after cluster_add and
//! cluster_sync each lists the other's topics as REMOTE, subscribes to one, and receives what the
//! other publishes.
#![cfg(feature = "sim")]

mod node_harness;

use bytes::Bytes;
use node_harness::{Cluster, ms};
use spot_proto::node::{NodeEvent, TopicLocation};

#[test]
fn two_nodes_sync_and_exchange_publishes() {
    let mut cluster = Cluster::new(11, 2);
    let (a, b) = (0, 1);
    cluster.act(a, |n, now| {
        n.topic_create(now, "game:player1").unwrap();
        n.topic_create(now, "game:score").unwrap();
    });
    cluster.act(b, |n, now| {
        n.topic_create(now, "chat:room1").unwrap();
        n.topic_create(now, "chat:lobby").unwrap();
    });
    let eb = cluster.endpoint(b);
    let ea = cluster.endpoint(a);
    let add_a = cluster.act(a, |n, now| n.cluster_add(now, eb.clone()).unwrap());
    let add_b = cluster.act(b, |n, now| n.cluster_add(now, ea.clone()).unwrap());
    cluster.run(ms(200));
    assert!(cluster.operation_ok(a, add_a), "A's cluster_add finished Ok");
    assert!(cluster.operation_ok(b, add_b), "B's cluster_add finished Ok");

    let sync_a = cluster.act(a, |n, now| n.cluster_sync(now, Some(ms(1000))));
    cluster.run(ms(200));
    assert!(cluster.operation_ok(a, sync_a));

    assert_eq!(cluster.topic_names(a, TopicLocation::Remote), ["chat:lobby", "chat:room1"]);
    assert_eq!(cluster.topic_names(a, TopicLocation::Local), ["game:player1", "game:score"]);
    let remote_b = cluster.topic_names(b, TopicLocation::Remote);
    assert_eq!(remote_b, ["game:player1", "game:score"]);
    assert!(
        cluster
            .node(b)
            .list_topics()
            .iter()
            .all(|t| t.location == TopicLocation::Local || t.owner == *cluster.node(a).id())
    );

    cluster.act(a, |n, now| n.subscribe(now, "chat:room1").unwrap());
    cluster.act(b, |n, now| n.subscribe(now, "game:score").unwrap());
    cluster.run(ms(100));
    cluster.act(b, |n, now| n.publish(now, "chat:room1", Bytes::from_static(b"hello")).unwrap());
    cluster.act(a, |n, now| n.publish(now, "game:score", Bytes::from_static(b"42")).unwrap());
    // Not subscribed: nobody receives these.
    cluster.act(a, |n, now| n.publish(now, "game:player1", Bytes::from_static(b"x")).unwrap());
    cluster.act(b, |n, now| n.publish(now, "chat:lobby", Bytes::from_static(b"y")).unwrap());
    cluster.run(ms(100));

    assert_eq!(cluster.received(a), [("chat:room1".to_owned(), b"hello".to_vec())]);
    assert_eq!(cluster.received(b), [("game:score".to_owned(), b"42".to_vec())]);
    assert!(cluster.events(a).iter().any(
        |e| matches!(e, NodeEvent::TopicDiscovered { topic, .. } if topic.as_str() == "chat:room1")
    ));
}

#[test]
fn publishing_to_a_remote_topic_reaches_its_owner_and_back_to_a_subscribing_sender() {
    let mut cluster = Cluster::new(12, 2);
    let (a, b) = (0, 1);
    cluster.act(b, |n, now| n.topic_create(now, "news").unwrap());
    let eb = cluster.endpoint(b);
    cluster.act(a, |n, now| n.cluster_add(now, eb.clone()).unwrap());
    cluster.run(ms(100));
    cluster.act(b, |n, now| n.subscribe(now, "news").unwrap());
    cluster.act(a, |n, now| n.subscribe(now, "news").unwrap());
    cluster.run(ms(100));
    for i in 0..10u8 {
        cluster.act(a, |n, now| n.publish(now, "news", Bytes::from(vec![i])).unwrap());
    }
    cluster.run(ms(100));
    let expected: Vec<(String, Vec<u8>)> =
        (0..10u8).map(|i| ("news".to_owned(), vec![i])).collect();
    assert_eq!(cluster.received(b), expected, "the owner's subscriber gets all, in order");
    assert_eq!(cluster.received(a), expected, "the subscribing publisher gets its own, once each");
}
