//! Helpers for the driver's tests: bounded waits, nodes on loopback and inproc.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use spot_driver_tokio::{Message, SpotNode, Subscription};
use spot_proto::Endpoint;
use spot_proto::node::NodeConfig;

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future` for at most [`WAIT`], failing the test with `what` otherwise.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {WAIT:?}: {what}"),
    }
}

/// The loopback-friendly configuration, with a short sync deadline.
pub fn config(seed: u64) -> NodeConfig {
    let mut config = NodeConfig::local().with_seed(seed);
    config.sync_deadline = Duration::from_millis(500);
    config
}

/// A node bound on `tcp://127.0.0.1:0`.
pub async fn tcp_node(seed: u64) -> SpotNode {
    let endpoint: Endpoint = "tcp://127.0.0.1:0".parse().expect("valid endpoint");
    within("start", SpotNode::builder(config(seed)).bind(endpoint).start())
        .await
        .expect("bind on loopback")
}

/// A node bound on `inproc://name`.
pub async fn inproc_node(seed: u64, name: &str) -> SpotNode {
    let endpoint = Endpoint::inproc(name).expect("valid name");
    within("start", SpotNode::builder(config(seed)).bind(endpoint).start())
        .await
        .expect("bind inproc")
}

/// The advertised endpoint of a bound node.
pub fn endpoint(node: &SpotNode) -> Endpoint {
    node.advertised().expect("a bound node advertises an endpoint")
}

/// `owner` creates `topic`, `reader` adds `owner` as a peer and subscribes, and a sync makes
/// sure the owner has the subscription before the function returns.
pub async fn subscribed(owner: &SpotNode, reader: &SpotNode, topic: &str) -> Subscription {
    within("topic_create", owner.topic_create(topic)).await.expect("topic_create");
    if !reader.peers().await.expect("peers").contains(&endpoint(owner)) {
        within("cluster_add", reader.cluster_add(endpoint(owner))).await.expect("cluster_add");
    }
    let subscription =
        within("subscribe", reader.subscribe(topic)).await.expect("subscribe to a known topic");
    barrier(reader).await;
    subscription
}

/// Waits until every peer of `node` processed what `node` sent before (the QUERY answer comes
/// after the earlier requests on the same connection).
pub async fn barrier(node: &SpotNode) {
    let report = within("cluster_sync", node.cluster_sync(Some(WAIT))).await.expect("sync");
    assert!(report.failed.is_empty(), "every peer answers: {report:?}");
}

/// The next message of a subscription, within [`WAIT`].
pub async fn next(subscription: &mut Subscription) -> Message {
    within("a message", subscription.recv()).await.expect("the subscription is live")
}

/// Waits until `node` sees every id of `expected` as an alive member, reading `events` between
/// looks (so the wait is driven by membership changes, not by polling).
pub async fn wait_alive(
    node: &SpotNode,
    events: &mut spot_driver_tokio::EventStream<spot_proto::swim::MembershipEvent>,
    expected: &[spot_proto::wire::spot::NodeId],
) {
    use spot_proto::wire::spot::MemberState;
    within("members alive", async {
        loop {
            let members = node.members().await.expect("members");
            let alive = |id: &spot_proto::wire::spot::NodeId| {
                members.iter().any(|m| &m.id == id && m.state == MemberState::Alive)
            };
            if expected.iter().all(alive) {
                return;
            }
            events.recv().await.expect("the node is running");
        }
    })
    .await;
}

/// Waits for a membership event matching `wanted`.
pub async fn wait_event(
    events: &mut spot_driver_tokio::EventStream<spot_proto::swim::MembershipEvent>,
    what: &str,
    wanted: impl Fn(&spot_proto::swim::MembershipEvent) -> bool,
) {
    within(what, async {
        loop {
            let event = events.recv().await.expect("the node is running");
            if wanted(&event) {
                return;
            }
        }
    })
    .await;
}

/// Looks at `condition` every 10 ms until it holds, for at most [`WAIT`] (for facts no event
/// announces, such as the far side of a connection having seen it close).
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, async {
        while !condition().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
