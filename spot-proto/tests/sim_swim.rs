//! SWIM membership scenarios on the deterministic simulator (virtual time).
//!
//! Every check failure prints the seed; set `SPOT_SIM_SEED` to run these scenarios with another
//! seed (the default seeds are fixed so CI is reproducible).
#![cfg(feature = "sim")]

use core::time::Duration;

use spot_proto::Instant;
use spot_proto::sim::{Change, LinkProfile, LossModel, SimFailure, SwimCluster};
use spot_proto::swim::{MembershipEvent, SwimConfig, default_node_id};
use spot_proto::wire::spot::{MemberState, Tag};

fn seed(default: u64) -> u64 {
    std::env::var("SPOT_SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ok(result: Result<(), SimFailure>) {
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

fn converged(nodes: usize, seed: u64) -> SwimCluster {
    SwimCluster::converged(nodes, seed, LinkProfile::lan(), SwimConfig::lan())
}

fn count<F: Fn(&MembershipEvent) -> bool>(cluster: &SwimCluster, node: usize, want: F) -> usize {
    cluster.trace().iter().filter(|(_, n, e)| *n == node && want(e)).count()
}

fn join_and_converge(nodes: usize, seed: u64, settle: Duration) {
    let mut cluster = SwimCluster::joining(
        nodes,
        seed,
        LinkProfile::lan(),
        SwimConfig::lan(),
        Duration::from_millis(20),
    );
    cluster.run_for(settle);
    ok(cluster.check_converged());
    ok(cluster.check_no_false_death());
    for node in 1..nodes {
        let joined = count(&cluster, node, |e| matches!(e, MembershipEvent::Joined));
        assert_eq!(joined, 1, "member {node} reports Joined once (seed={seed})");
    }
}

#[test]
fn three_members_converge_after_join() {
    join_and_converge(3, seed(1), secs(10));
}

#[test]
fn fifty_members_converge_after_join() {
    join_and_converge(50, seed(2), secs(40));
}

#[test]
fn a_crash_is_detected_by_every_live_member() {
    let seed = seed(3);
    let mut cluster = converged(10, seed);
    cluster.run_for(secs(5));
    cluster.crash(3);
    cluster.run_for(secs(60));
    ok(cluster.check_all_see(3, MemberState::Dead));
    ok(cluster.check_no_false_death());
    let observers: std::collections::BTreeSet<usize> = cluster
        .changes_about(3)
        .into_iter()
        .filter(|(_, _, change)| *change == Change::Dead)
        .map(|(_, observer, _)| observer)
        .collect();
    assert_eq!(observers.len(), 9, "every live member reports the death (seed={seed})");
}

/// The suspicion timeout is the whole time from suspicion to death: the last-chance buddy PINGs
/// happen inside it, not after it. With the ceiling equal to the floor, the first observer
/// declares the crashed member dead exactly `suspicion_min` after it suspected it.
#[test]
fn a_crashed_member_dies_when_its_suspicion_times_out() {
    let seed = seed(11);
    let mut config = SwimConfig::lan();
    config.suspicion_max_multiplier = 1;
    let min = config.suspicion_min;
    let mut cluster = SwimCluster::converged(10, seed, LinkProfile::lan(), config);
    cluster.run_for(secs(5));
    cluster.crash(3);
    cluster.run_for(secs(30));
    let changes = cluster.changes_about(3);
    let first = |want: Change| {
        changes
            .iter()
            .filter(|(_, _, c)| *c == want)
            .map(|(at, observer, _)| (*at, *observer))
            .min()
    };
    let (suspected_at, suspecter) = first(Change::Suspect).expect("someone suspected member 3");
    let dead_at = changes
        .iter()
        .filter(|(_, observer, c)| *c == Change::Dead && *observer == suspecter)
        .map(|(at, _, _)| *at)
        .min()
        .expect("the first suspecter declared member 3 dead");
    let (first_dead_at, _) = first(Change::Dead).expect("a death");
    assert_eq!(dead_at - suspected_at, min, "dead when the timeout runs out (seed={seed})");
    assert_eq!(first_dead_at, dead_at, "the first suspecter is the first to decide (seed={seed})");
}

#[test]
fn a_falsely_suspected_member_refutes() {
    let seed = seed(4);
    let mut cluster = converged(6, seed);
    cluster.run_for(secs(5));
    // Nothing reaches member 2 (it can still send) until someone suspects it.
    cluster.sim().network().set_group(2, 1);
    cluster.sim().network().block(0, 1);
    let deadline = cluster.now() + secs(20);
    while cluster.now() < deadline
        && !cluster.changes_about(2).iter().any(|(_, _, c)| *c == Change::Suspect)
    {
        cluster.run_for(Duration::from_millis(100));
    }
    cluster.sim().network().heal();
    assert!(
        cluster.changes_about(2).iter().any(|(_, _, c)| *c == Change::Suspect),
        "member 2 was suspected (seed={seed})"
    );
    cluster.run_for(secs(30));
    let refuted = count(&cluster, 2, |e| matches!(e, MembershipEvent::Refuted { .. }));
    assert!(refuted >= 1, "member 2 refuted (seed={seed})");
    assert!(cluster.changes_about(2).iter().any(|(_, _, c)| *c == Change::Alive));
    ok(cluster.check_no_false_death());
    ok(cluster.check_converged());
    let incarnation = cluster.process(2).map(|p| p.membership().incarnation());
    assert!(incarnation >= Some(1), "refuting raised the incarnation (seed={seed})");
}

#[test]
fn a_leave_propagates_as_left() {
    let seed = seed(5);
    let mut cluster = converged(10, seed);
    cluster.run_for(secs(5));
    cluster.leave(4);
    cluster.run_for(secs(15));
    ok(cluster.check_all_see(4, MemberState::Left));
    assert_eq!(count(&cluster, 4, |e| matches!(e, MembershipEvent::Left)), 1);
    let left_reports = cluster
        .changes_about(4)
        .into_iter()
        .filter(|(_, _, change)| *change == Change::Left)
        .count();
    assert_eq!(left_reports, 9, "every other member reports Left (seed={seed})");
    let deaths = cluster.changes_about(4).into_iter().filter(|(_, _, c)| *c == Change::Dead);
    assert_eq!(deaths.count(), 0, "a leave is not a death (seed={seed})");
}

#[test]
fn a_partition_is_seen_as_deaths_across_it_and_suspected_as_a_partition() {
    let seed = seed(6);
    let mut cluster = converged(10, seed);
    cluster.run_for(secs(5));
    cluster.sim().network().partition(5..10);
    cluster.run_for(secs(50));
    for observer in 0..10 {
        let same_side = |other: usize| (observer < 5) == (other < 5);
        for subject in (0..10).filter(|&s| s != observer) {
            let seen = cluster.state_seen(observer, subject);
            let want = if same_side(subject) { MemberState::Alive } else { MemberState::Dead };
            assert_eq!(seen, Some(want), "member {observer} sees {subject} (seed={seed})");
        }
        let suspected =
            count(&cluster, observer, |e| matches!(e, MembershipEvent::PartitionSuspected { .. }));
        assert!(suspected >= 1, "member {observer} suspects a partition (seed={seed})");
    }
}

#[test]
fn a_slow_member_is_not_declared_dead() {
    let seed = seed(11);
    let mut cluster = converged(10, seed);
    // Member 4 handles each datagram 150 ms late (and one at a time), so its acks often miss
    // the 500 ms probe timeout once a few queue up: Lifeguard must not turn that into a death.
    cluster.sim().set_processing_delay(4, Duration::from_millis(150));
    cluster.run_for(secs(120));
    ok(cluster.check_no_false_death());
    ok(cluster.check_converged());
}

#[test]
fn tags_propagate_to_every_member() {
    let seed = seed(7);
    let mut cluster = converged(8, seed);
    cluster.run_for(secs(3));
    let tag = Tag::copy_from_strs("role", "db").expect("valid tag");
    let updated = cluster.act(1, |membership, now| membership.update_tag(now, tag));
    assert_eq!(updated, Some(Ok(())));
    // Gossip reaches nearly everyone within a second; push-pull (every 30 s) repairs the rest.
    cluster.run_for(secs(40));
    let id = default_node_id(&spot_proto::sim::member_endpoint(1));
    for observer in (0..8).filter(|&n| n != 1) {
        let process = cluster.process(observer).expect("running");
        let view = process.membership().member(&id).expect("member 1 known");
        assert!(view.has_tag("role", Some("db")), "member {observer} sees the tag (seed={seed})");
        assert_eq!(process.membership().nodes_with_tag("role", Some("db")), vec![id.clone()]);
        let updates = count(
            &cluster,
            observer,
            |e| matches!(e, MembershipEvent::TagsUpdated { id: about } if *about == id),
        );
        assert!(updates >= 1, "member {observer} reports TagsUpdated (seed={seed})");
    }
}

#[test]
fn five_percent_loss_at_fifty_members_gives_no_false_death_in_five_minutes() {
    let seed = seed(8);
    let link = LinkProfile::lan().with_loss(LossModel::percent(5.0));
    let mut cluster = SwimCluster::converged(50, seed, link, SwimConfig::lan());
    cluster.run_for(secs(300));
    ok(cluster.check_no_false_death());
    ok(cluster.check_converged());
    assert!(cluster.sim().stats().dropped_loss > 0, "the loss model was active");
}

#[test]
fn a_restarted_member_rejoins() {
    let seed = seed(9);
    let mut cluster = converged(10, seed);
    cluster.run_for(secs(5));
    cluster.crash(3);
    cluster.run_for(secs(60));
    ok(cluster.check_all_see(3, MemberState::Dead));
    let restarted_at = cluster.now();
    cluster.restart(3);
    cluster.run_for(secs(30));
    ok(cluster.check_converged());
    assert_eq!(count(&cluster, 3, |e| matches!(e, MembershipEvent::Joined)), 1);
    let back: std::collections::BTreeSet<usize> = cluster
        .changes_about(3)
        .into_iter()
        .filter(|(at, _, c)| *at >= restarted_at && matches!(c, Change::Up | Change::Alive))
        .map(|(_, observer, _)| observer)
        .collect();
    assert_eq!(back.len(), 9, "every other member sees it back (seed={seed})");
}

fn eventful_run(seed: u64) -> Vec<spot_proto::sim::TraceEntry> {
    let mut link = LinkProfile::lan().with_loss(LossModel::percent(3.0));
    link.duplicate = 0.01;
    link.reorder = 0.02;
    link.reorder_delay = Duration::from_millis(30);
    let mut cluster = SwimCluster::converged(12, seed, link, SwimConfig::lan());
    cluster.run_for(secs(5));
    cluster.crash(2);
    cluster.run_for(secs(40));
    cluster.leave(7);
    cluster.restart(2);
    cluster.run_for(secs(40));
    cluster.trace().to_vec()
}

#[test]
fn the_same_seed_gives_the_same_event_trace() {
    let seed = seed(10);
    let first = eventful_run(seed);
    assert!(first.len() > 30, "an eventful run ({} events)", first.len());
    assert_eq!(first, eventful_run(seed), "replay with seed={seed} diverged");
    assert_ne!(first, eventful_run(seed + 1));
}

#[test]
fn a_failed_check_names_the_seed() {
    let mut cluster = converged(4, 77);
    cluster.run_for(secs(2));
    cluster.crash(1);
    let failure = cluster
        .check_all_see(1, MemberState::Dead)
        .expect_err("nobody can have seen the crash yet");
    assert_eq!(failure.seed, 77);
    assert_eq!(failure.at, Instant::from_secs(2));
    let text = failure.to_string();
    assert!(text.contains("seed=77") && text.contains("all-see"), "{text}");
}
