//! Cluster scenarios for the Node on the simulator: a three-node mesh formed by membership, topic
//! announcements, a crash cleaned up, a hub with three spokes, partition and heal.
#![cfg(feature = "sim")]

mod node_harness;

use bytes::Bytes;
use node_harness::{Cluster, ms};
use spot_proto::node::{NodeEvent, TopicLocation};
use spot_proto::swim::MembershipEvent;

/// Nodes 1.. join through node 0 and the mesh converges.
#[allow(clippy::unwrap_used)]
fn joined_mesh(seed: u64, n: usize) -> Cluster {
    let mut cluster = Cluster::new(seed, n);
    let seed_endpoint = cluster.endpoint(0);
    cluster.act(0, |node, now| node.join(now, &[]).unwrap());
    for i in 1..n {
        let seeds = [seed_endpoint.clone()];
        cluster.act(i, |node, now| node.join(now, &seeds).unwrap());
    }
    cluster.run(ms(3000));
    for i in 0..n {
        let alive = cluster.node(i).membership().unwrap().members().count();
        assert_eq!(alive, n - 1, "node {i} sees every other member");
    }
    cluster
}

#[test]
fn a_three_node_mesh_formed_by_membership_routes_publishes_both_ways() {
    let mut cluster = joined_mesh(21, 3);
    cluster.act(0, |n, now| n.topic_create(now, "orders").unwrap());
    cluster.act(1, |n, now| n.topic_create(now, "prices").unwrap());
    cluster.run(ms(200));
    for i in 0..3 {
        let mut all: Vec<String> = cluster
            .node(i)
            .list_topics()
            .into_iter()
            .map(|t| t.topic.as_str().to_owned())
            .collect();
        all.sort();
        assert_eq!(all, ["orders", "prices"], "node {i}'s directory converged without polling");
    }
    cluster.act(1, |n, now| n.subscribe(now, "orders").unwrap());
    cluster.act(2, |n, now| n.subscribe(now, "orders").unwrap());
    cluster.act(0, |n, now| n.subscribe(now, "prices").unwrap());
    cluster.run(ms(100));
    cluster.act(0, |n, now| n.publish(now, "orders", Bytes::from_static(b"o1")).unwrap());
    cluster.act(2, |n, now| n.publish(now, "prices", Bytes::from_static(b"p1")).unwrap());
    cluster.run(ms(100));
    let order = vec![("orders".to_owned(), b"o1".to_vec())];
    assert_eq!(cluster.received(1), order);
    assert_eq!(cluster.received(2), order, "one publish reaches both other nodes");
    assert_eq!(cluster.received(0), [("prices".to_owned(), b"p1".to_vec())]);
}

#[test]
fn a_crashed_member_is_cleaned_up_and_restored_when_it_returns() {
    let mut cluster = joined_mesh(22, 3);
    cluster.act(2, |n, now| n.topic_create(now, "sensor").unwrap());
    cluster.run(ms(200));
    cluster.act(0, |n, now| n.subscribe(now, "sensor").unwrap());
    cluster.run(ms(100));
    assert!(cluster.node(0).topic_exists("sensor"));
    cluster.sim.crash(2);
    cluster.run(ms(30_000));
    assert!(!cluster.node(0).topic_exists("sensor"), "the dead member's topic is gone");
    assert!(
        cluster
            .events(0)
            .iter()
            .any(|e| matches!(e, NodeEvent::TopicLost { topic, .. } if topic.as_str() == "sensor"))
    );
    assert!(
        cluster
            .events(0)
            .iter()
            .any(|e| matches!(e, NodeEvent::Membership(MembershipEvent::MemberDead { .. })))
    );

    // It comes back (same endpoint, fresh state), recreates its topic, rejoins.
    let endpoint = cluster.endpoint(2);
    cluster.sim.restart(2, spot_proto::node::SimNode::new(node_harness::bound_node(99, endpoint)));
    let seeds = [cluster.endpoint(0)];
    cluster.act(2, |n, now| {
        n.topic_create(now, "sensor").unwrap();
        n.join(now, &seeds).unwrap();
    });
    cluster.run(ms(5000));
    assert!(cluster.node(0).topic_exists("sensor"), "directory restored");
    cluster.act(2, |n, now| n.publish(now, "sensor", Bytes::from_static(b"back")).unwrap());
    cluster.run(ms(100));
    assert_eq!(
        cluster.received(0),
        [("sensor".to_owned(), b"back".to_vec())],
        "subscription restored"
    );
}

#[test]
fn a_hub_relays_to_spokes_that_have_no_link_to_the_owner() {
    // Node 0 is the hub; 1, 2, 3 are spokes. Node 1 owns "feed"; spokes 2 and 3 only reach the
    // hub (their links to node 1 are cut), and learn the directory from it.
    let mut cluster = Cluster::new(23, 4);
    for node in 0..4 {
        cluster.sim.network().set_group(node, node as usize);
    }
    cluster.sim.network().block_both(1, 2);
    cluster.sim.network().block_both(1, 3);
    cluster.act(1, |n, now| n.topic_create(now, "feed").unwrap());
    let hub = cluster.endpoint(0);
    let owner = cluster.endpoint(1);
    cluster.act(0, |n, now| n.cluster_add(now, owner.clone()).unwrap());
    cluster.run(ms(100));
    for spoke in [2, 3] {
        cluster.act(spoke, |n, now| n.cluster_add(now, hub.clone()).unwrap());
        cluster.act(spoke, |n, now| n.topic_route(now, "feed", hub.clone()).unwrap());
        cluster.act(spoke, |n, now| n.subscribe(now, "feed").unwrap());
    }
    cluster.run(ms(200));
    for i in 0..5u8 {
        cluster.act(1, |n, now| n.publish(now, "feed", Bytes::from(vec![i])).unwrap());
    }
    cluster.run(ms(200));
    let expected: Vec<(String, Vec<u8>)> = (0..5u8).map(|i| ("feed".to_owned(), vec![i])).collect();
    assert_eq!(cluster.received(2), expected);
    assert_eq!(cluster.received(3), expected);
    assert!(cluster.received(0).is_empty(), "the hub itself does not subscribe");
    assert_eq!(cluster.topic_names(2, TopicLocation::Remote), ["feed"]);
}

#[test]
fn partition_then_heal_restores_directory_and_subscriptions() {
    let mut cluster = joined_mesh(24, 3);
    cluster.act(2, |n, now| n.topic_create(now, "alerts").unwrap());
    cluster.run(ms(200));
    cluster.act(0, |n, now| n.subscribe(now, "alerts").unwrap());
    cluster.run(ms(100));
    cluster.sim.network().partition([2]);
    cluster.run(ms(30_000));
    assert!(!cluster.node(0).topic_exists("alerts"), "cut off: its topic is dropped");
    cluster.sim.network().heal();
    cluster.run(ms(30_000));
    assert!(cluster.node(0).topic_exists("alerts"), "healed: the directory is back");
    cluster.act(2, |n, now| n.publish(now, "alerts", Bytes::from_static(b"a")).unwrap());
    cluster.run(ms(100));
    assert_eq!(cluster.received(0), [("alerts".to_owned(), b"a".to_vec())]);
}

#[test]
fn two_nodes_that_each_route_a_topic_to_the_other_do_not_bounce_a_publish_forever() {
    let mut cluster = Cluster::new(25, 2);
    let (ea, eb) = (cluster.endpoint(0), cluster.endpoint(1));
    cluster.act(0, |n, now| n.topic_route(now, "loop", eb.clone()).unwrap());
    cluster.act(1, |n, now| n.topic_route(now, "loop", ea.clone()).unwrap());
    cluster.run(ms(200));
    cluster.act(0, |n, now| n.publish(now, "loop", Bytes::from_static(b"x")).unwrap());
    cluster.run(ms(1000));
    let dropped = cluster.node(0).stats().dropped_relay + cluster.node(1).stats().dropped_relay;
    assert!(dropped >= 1, "the copy that came back was recognised and dropped");
    // Nothing keeps circulating: a second run moves no data.
    let before = cluster.sim.stats().stream_bytes_sent;
    cluster.run(ms(1000));
    let after = cluster.sim.stats().stream_bytes_sent;
    assert!(
        after - before < 200,
        "only heartbeats flow, not the publish: {} bytes",
        after - before
    );
}
