//! Cluster cases over loopback TCP: rebinding an endpoint, bulk and large messages, nodes
//! publishing to each other, one publish reaching two nodes, cluster_remove.

mod common;

use common::{barrier, endpoint, next, subscribed, tcp_node, within};
use spot_driver_tokio::SpotNode;

#[tokio::test]
async fn a_new_node_rebinds_the_endpoint_of_a_shut_down_one_and_receives_again() {
    let first = tcp_node(51).await;
    let reader = tcp_node(52).await;
    let owned = endpoint(&first);
    let mut sub = subscribed(&first, &reader, "phoenix").await;
    first.publish("phoenix", &b"first life"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"first life");
    first.shutdown().await;

    let second =
        within("rebind", SpotNode::builder(common::config(53)).bind(owned.clone()).start())
            .await
            .expect("the port is free again once shutdown returned");
    assert_eq!(endpoint(&second), owned);
    second.topic_create("phoenix").await.unwrap();
    // The reader's peer reconnects with backoff and restores its subscription.
    common::eventually("the reader reconnects", || reader_has_connection(&reader, &owned)).await;
    barrier(&reader).await;
    second.publish("phoenix", &b"second life"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"second life");
}

async fn reader_has_connection(reader: &SpotNode, to: &spot_proto::Endpoint) -> bool {
    let peers = reader.peer_stats().await.expect("running");
    peers.iter().any(|p| &p.endpoint == to && p.connected)
}

#[tokio::test]
async fn a_hundred_rapid_publishes_and_a_mebibyte_all_arrive() {
    let (owner, reader) = (tcp_node(54).await, tcp_node(55).await);
    let mut sub = subscribed(&owner, &reader, "bulk").await;
    for i in 0..100u32 {
        owner.publish_nowait("bulk", i.to_le_bytes().to_vec()).unwrap();
    }
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 256) as u8).collect();
    owner.publish("bulk", big.clone()).await.unwrap();
    for i in 0..100u32 {
        assert_eq!(&next(&mut sub).await.payload[..], &i.to_le_bytes()[..]);
    }
    assert_eq!(next(&mut sub).await.payload.len(), big.len());
    assert_eq!(owner.driver_stats().publish_errors, 0);
}

#[tokio::test]
async fn two_nodes_publish_to_each_other() {
    let (a, b) = (tcp_node(56).await, tcp_node(57).await);
    let mut on_b = subscribed(&a, &b, "to-b").await;
    let mut on_a = subscribed(&b, &a, "to-a").await;
    a.publish("to-b", &b"hello b"[..]).await.unwrap();
    b.publish("to-a", &b"hello a"[..]).await.unwrap();
    assert_eq!(&next(&mut on_b).await.payload[..], b"hello b");
    assert_eq!(&next(&mut on_a).await.payload[..], b"hello a");
}

#[tokio::test]
async fn one_publish_reaches_both_other_nodes() {
    let (a, b, c) = (tcp_node(58).await, tcp_node(59).await, tcp_node(60).await);
    let mut on_b = subscribed(&a, &b, "fan").await;
    within("c adds a", c.cluster_add(endpoint(&a))).await.unwrap();
    let mut on_c = c.subscribe("fan").await.unwrap();
    barrier(&c).await;
    a.publish("fan", &b"everyone"[..]).await.unwrap();
    assert_eq!(&next(&mut on_b).await.payload[..], b"everyone");
    assert_eq!(&next(&mut on_c).await.payload[..], b"everyone");
}

#[tokio::test]
async fn cluster_remove_stops_delivery() {
    let (owner, reader) = (tcp_node(61).await, tcp_node(62).await);
    let mut sub = subscribed(&owner, &reader, "gone").await;
    owner.publish("gone", &b"before"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"before");
    reader.cluster_remove(&endpoint(&owner)).await.unwrap();
    assert!(!reader.topic_exists("gone").await.unwrap(), "its topics left the directory");
    // The reader unsubscribes and closes; the owner sees the connection go.
    common::eventually("the owner sees the connection close", || async {
        owner.stats().await.unwrap().connections_closed == 1
    })
    .await;
    let forwarded = owner.stats().await.unwrap().forwarded;
    owner.publish("gone", &b"after"[..]).await.unwrap();
    assert_eq!(owner.stats().await.unwrap().forwarded, forwarded, "nobody to forward to");
    assert_eq!(sub.try_recv().unwrap_err(), spot_proto::NodeError::WouldBlock);
}
