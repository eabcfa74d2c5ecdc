//! `inproc://` endpoints: the same protocol over in-memory pipes and channels.

mod common;

use common::{endpoint, inproc_node, next, subscribed, wait_alive, within};
use spot_driver_tokio::{BindError, SpotNode};
use spot_proto::Endpoint;

#[tokio::test]
async fn two_inproc_nodes_publish_and_subscribe() {
    let owner = inproc_node(41, "inproc-test-owner").await;
    let reader = inproc_node(42, "inproc-test-reader").await;
    assert_eq!(endpoint(&owner), Endpoint::inproc("inproc-test-owner").unwrap());
    let mut sub = subscribed(&owner, &reader, "pipe").await;
    for i in 0..10u8 {
        owner.publish("pipe", vec![i; 1000]).await.unwrap();
    }
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    reader.publish("pipe", big.clone()).await.unwrap();
    for i in 0..10u8 {
        assert_eq!(&next(&mut sub).await.payload[..], &vec![i; 1000][..]);
    }
    assert_eq!(&next(&mut sub).await.payload[..], &big[..], "1 MiB through the owner");
}

#[tokio::test]
async fn inproc_nodes_join_by_membership() {
    let a = inproc_node(43, "inproc-test-seed").await;
    let b = inproc_node(44, "inproc-test-joiner").await;
    let mut a_seen = a.membership_events().await.unwrap();
    let mut b_seen = b.membership_events().await.unwrap();
    within("a joins", a.join(&[])).await.unwrap();
    within("b joins", b.join(&[endpoint(&a)])).await.unwrap();
    wait_alive(&a, &mut a_seen, &[b.node_id()]).await;
    wait_alive(&b, &mut b_seen, &[a.node_id()]).await;
}

#[tokio::test]
async fn an_inproc_name_is_held_until_its_node_shuts_down() {
    let first = inproc_node(45, "inproc-test-held").await;
    let taken = SpotNode::builder(common::config(46))
        .bind(Endpoint::inproc("inproc-test-held").unwrap())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(taken, BindError::InprocNameTaken(ref name) if name == "inproc-test-held"));
    first.shutdown().await;
    let second = inproc_node(47, "inproc-test-held").await;
    assert_eq!(second.local_endpoints(), [Endpoint::inproc("inproc-test-held").unwrap()]);
}

#[tokio::test]
async fn dialing_an_unknown_inproc_name_is_host_unreachable() {
    let node = inproc_node(48, "inproc-test-lonely").await;
    let nobody = Endpoint::inproc("inproc-test-nobody").unwrap();
    let error = within("cluster_add", node.cluster_add(nobody)).await.unwrap_err();
    assert_eq!(error.errno(), spot_proto::Errno::EHOSTUNREACH, "{error}");
}

#[tokio::test]
async fn a_node_started_unbound_binds_later_and_advertises_its_first_endpoint() {
    let node = SpotNode::builder(common::config(49)).start().await.unwrap();
    assert_eq!(node.advertised(), None);
    assert!(node.local_endpoints().is_empty());
    node.topic_create("early").await.unwrap();
    let bound = node.bind(Endpoint::inproc("inproc-test-late").unwrap()).await.unwrap();
    assert_eq!(node.advertised(), Some(bound.clone()));
    assert_eq!(node.node_id().as_str(), Some("inproc://inproc-test-late"));
    let again = node.bind(bound).await.unwrap_err();
    assert!(matches!(again, BindError::InprocNameTaken(_)), "{again}");
    let tcp = node.bind("tcp://127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_ne!(tcp.port(), Some(0));
    assert_eq!(node.local_endpoints().len(), 2);
    let reader = inproc_node(50, "inproc-test-late-reader").await;
    let mut sub = subscribed(&node, &reader, "late").await;
    node.publish("late", &b"bound late"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"bound late");
}
