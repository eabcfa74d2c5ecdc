//! Membership over loopback: nodes joined through seeds find each other and each other's
//! topics; a shut-down or dropped node is seen leaving.

mod common;

use common::{barrier, endpoint, next, tcp_node, wait_alive, wait_event, within};
use spot_proto::node::NodeEvent;
use spot_proto::swim::MembershipEvent;
use spot_proto::{Errno, NodeError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_joined_through_a_seed_see_each_other_and_their_topics() {
    let (a, b, c) = (tcp_node(31).await, tcp_node(32).await, tcp_node(33).await);
    let mut seen = [
        a.membership_events().await.unwrap(),
        b.membership_events().await.unwrap(),
        c.membership_events().await.unwrap(),
    ];
    let mut c_events = c.events().await.unwrap();
    a.topic_create("mesh").await.unwrap();
    within("a joins alone", a.join(&[])).await.unwrap();
    assert_eq!(a.join(&[]).await.unwrap_err(), NodeError::AlreadyJoined);
    within("b joins", b.join(&[endpoint(&a)])).await.unwrap();
    within("c joins", c.join(&[endpoint(&a)])).await.unwrap();
    let ids = [a.node_id(), b.node_id(), c.node_id()];
    for (i, node) in [&a, &b, &c].into_iter().enumerate() {
        let others: Vec<_> = ids.iter().filter(|id| **id != ids[i]).cloned().collect();
        wait_alive(node, &mut seen[i], &others).await;
        assert_eq!(node.members().await.unwrap().len(), 2, "the others, not itself");
    }

    // Membership connected c to a, and a's topics came with it.
    within("c discovers a's topic", async {
        while !c.topic_exists("mesh").await.unwrap() {
            let event = c_events.recv().await.expect("running");
            if let NodeEvent::TopicDiscovered { topic, .. } = event {
                assert_eq!(topic.as_str(), "mesh");
            }
        }
    })
    .await;
    let mut sub = c.subscribe("mesh").await.unwrap();
    barrier(&c).await;
    a.publish("mesh", &b"to every member"[..]).await.unwrap();
    assert_eq!(&next(&mut sub).await.payload[..], b"to every member");

    b.update_tag("role", "edge").await.unwrap();
    assert_eq!(b.remove_tag("none").await.unwrap_err().errno(), Errno::ENOENT);
    let b_id = b.node_id();
    wait_event(
        &mut seen[0],
        "b's tags reach a",
        |e| matches!(e, MembershipEvent::TagsUpdated { id } if *id == b_id),
    )
    .await;
    assert_eq!(a.nodes_with_tag("role", Some("edge")).await.unwrap(), [b.node_id()]);
}

#[tokio::test]
async fn shutdown_leaves_and_the_others_see_it() {
    let (a, b) = (tcp_node(34).await, tcp_node(35).await);
    let mut a_seen = a.membership_events().await.unwrap();
    within("a joins", a.join(&[])).await.unwrap();
    within("b joins", b.join(&[endpoint(&a)])).await.unwrap();
    wait_alive(&a, &mut a_seen, &[b.node_id()]).await;
    let b_id = b.node_id();
    within("b shuts down", b.shutdown()).await;
    wait_event(
        &mut a_seen,
        "a sees b leave",
        |e| matches!(e, MembershipEvent::MemberLeft { id } if *id == b_id),
    )
    .await;
    assert_eq!(a.leave().await, Ok(()));
    assert_eq!(a.leave().await.unwrap_err().errno(), Errno::EINVAL, "not joined any more");
}

#[tokio::test]
async fn dropping_the_last_handle_leaves_gracefully() {
    let (a, b) = (tcp_node(36).await, tcp_node(37).await);
    let mut a_seen = a.membership_events().await.unwrap();
    within("a joins", a.join(&[])).await.unwrap();
    within("b joins", b.join(&[endpoint(&a)])).await.unwrap();
    wait_alive(&a, &mut a_seen, &[b.node_id()]).await;
    let b_id = b.node_id();
    let clone = b.clone();
    drop(b);
    assert!(!clone.is_shut_down(), "a clone keeps the node running");
    drop(clone);
    wait_event(
        &mut a_seen,
        "a sees b leave",
        |e| matches!(e, MembershipEvent::MemberLeft { id } if *id == b_id),
    )
    .await;
}
