//! Properties of cluster pub/sub over random topologies and operation sequences (simulator,
//! virtual time). Each case prints its seed on failure; the same seed replays it.
#![cfg(feature = "sim")]

use spot_proto::node::workload::{Op, Workload};

/// With no faults, every publish reaches every settled subscriber exactly once, in
/// per-publisher order, and nothing reaches a non-subscriber.
#[test]
fn without_faults_every_publish_reaches_every_subscriber_exactly_once_in_order() {
    let mut publishes = 0;
    let mut deliveries = 0;
    for seed in 0..40 {
        let nodes = 2 + (seed as usize % 4);
        let workload = Workload::random_fault_free(seed, nodes, 3);
        let report = workload.check_exactly_once().unwrap_or_else(|failure| panic!("{failure}"));
        publishes += report.publishes.len();
        deliveries += report.deliveries.iter().map(Vec::len).sum::<usize>();
    }
    assert!(
        publishes > 200 && deliveries > 200,
        "the workloads exercised delivery: {publishes} publishes, {deliveries} deliveries"
    );
}

/// Under cuts (connections reset, links blocked) and heals there are still no duplicates, no
/// delivery to a non-subscriber, and per-publisher order holds.
#[test]
fn under_cuts_and_heals_no_duplicate_no_stray_delivery_and_order_holds() {
    for seed in 0..40u64 {
        let mut rng = spot_proto::rng::SpotRng::from_seed(seed);
        let nodes = 3;
        let mut workload = Workload::random_fault_free(seed, nodes, 3);
        // Sprinkle cuts and heals between the steps.
        let mut ops = Vec::new();
        for op in workload.ops.drain(..) {
            if rng.chance(0.15) {
                let a = rng.index(nodes);
                ops.push(Op::Cut { a, b: (a + 1) % nodes });
            }
            if rng.chance(0.1) {
                ops.push(Op::Heal);
            }
            ops.push(op);
        }
        workload.ops = ops;
        workload.run().unwrap_or_else(|failure| panic!("{failure}"));
    }
}

/// After a heal, directories converge within a stated bound: 6 s, the reconnect backoff's
/// ceiling (5 s, jittered down to half) plus a sync round trip.
#[test]
fn directories_converge_within_the_bound_after_heal() {
    use spot_proto::node::workload::TOPICS;
    for seed in 0..10u64 {
        // Cut every link first, so the topic announcements cannot get through.
        let mut ops = vec![Op::Cut { a: 0, b: 1 }, Op::Cut { a: 1, b: 2 }, Op::Cut { a: 0, b: 2 }];
        for (i, _) in TOPICS.iter().enumerate() {
            ops.push(Op::Create { node: i % 3, topic: i });
        }
        // The run ends with 2 s of quiet: 4 s + 2 s after the heal is the bound under test.
        ops.extend([Op::Run { ms: 3_000 }, Op::Heal, Op::Run { ms: 4_000 }]);
        let workload = Workload { seed, nodes: 3, ops };
        let report = workload.run().unwrap_or_else(|failure| panic!("{failure}"));
        let expected: std::collections::BTreeMap<String, usize> =
            TOPICS.iter().enumerate().map(|(i, t)| (t.to_string(), i % 3)).collect();
        for (node, directory) in report.directories.iter().enumerate() {
            assert_eq!(directory, &expected, "seed {seed}: node {node}'s directory after heal");
        }
    }
}
