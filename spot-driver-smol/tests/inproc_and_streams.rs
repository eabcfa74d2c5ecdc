//! The smol driver's own features beyond the conformance suite: inproc endpoints, streams per
//! subscription, the recv queue, and errors after shutdown.

use std::time::Duration;

use spot_driver_smol::{SHUT_DOWN, SpotNode};
use spot_proto::node::NodeConfig;
use spot_proto::{Endpoint, NodeError};

const WAIT: Duration = Duration::from_secs(10);

async fn inproc_node(name: &str, seed: u64) -> SpotNode {
    let endpoint = Endpoint::inproc(name).expect("a valid name");
    SpotNode::builder(NodeConfig::local().with_seed(seed))
        .bind(endpoint)
        .start()
        .await
        .expect("bind inproc")
}

#[test]
fn inproc_nodes_exchange_messages_and_streams_get_each_once() {
    smol::block_on(async {
        let owner = inproc_node("smol-owner", 1).await;
        let reader = inproc_node("smol-reader", 2).await;
        owner.topic_create("chat:a").await.expect("topic_create");
        reader.cluster_add(owner.advertised().expect("bound")).await.expect("cluster_add");
        let mut exact = reader.subscribe("chat:a").await.expect("subscribe");
        let mut pattern = reader.subscribe_pattern("chat:*").await.expect("subscribe_pattern");
        reader.cluster_sync(Some(WAIT)).await.expect("sync");

        owner.publish("chat:a", &b"over a pipe"[..]).await.expect("publish");
        let from_exact = exact.recv_timeout(WAIT).await.expect("exact stream");
        let from_pattern = pattern.recv_timeout(WAIT).await.expect("pattern stream");
        assert_eq!(&from_exact.payload[..], b"over a pipe");
        assert_eq!(from_exact, from_pattern);
        assert_eq!(exact.try_recv(), Err(NodeError::WouldBlock), "once per stream");
        assert_eq!(reader.try_recv(), Err(NodeError::WouldBlock), "not in the recv queue");

        // Dropped streams: the messages go to recv instead.
        drop(exact);
        drop(pattern);
        owner.publish("chat:a", &b"to recv"[..]).await.expect("publish");
        let message = reader.recv_timeout(WAIT).await.expect("recv");
        assert_eq!((message.topic(), &message.payload[..]), ("chat:a", &b"to recv"[..]));
        assert_eq!(
            reader.recv_timeout(Duration::from_millis(100)).await,
            Err(NodeError::Timeout),
            "once, not per subscription"
        );

        reader.shutdown().await;
        owner.shutdown().await;
        assert!(owner.is_shut_down());
        assert_eq!(owner.topic_create("late").await, Err(SHUT_DOWN));
    });
}

#[test]
fn an_inproc_name_is_taken_until_its_node_stops() {
    smol::block_on(async {
        let first = inproc_node("smol-taken", 3).await;
        let endpoint = Endpoint::inproc("smol-taken").expect("a valid name");
        let second = SpotNode::builder(NodeConfig::local()).bind(endpoint.clone()).start().await;
        assert!(
            matches!(second, Err(spot_driver_smol::BindError::InprocNameTaken(_))),
            "{second:?}"
        );
        first.shutdown().await;
        let third = SpotNode::builder(NodeConfig::local()).bind(endpoint).start().await;
        assert!(third.is_ok(), "the name is free again: {third:?}");
    });
}
