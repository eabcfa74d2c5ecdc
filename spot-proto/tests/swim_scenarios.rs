//! Scenario tests of the SWIM membership state machine (`spot_proto::swim`) on virtual time: a
//! tiny in-test network (every datagram and push-pull arrives after a fixed delay, with a
//! per-test drop filter) drives a few `Membership`s through join, crash, false suspicion,
//! leave, tags, restart, bootstrap failure and malformed input. Deterministic and fast.
#![allow(clippy::unwrap_used)]

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::{BTreeMap, BinaryHeap};

use bytes::Bytes;
use spot_proto::swim::{
    LocalMember, MemberInfo, MemberState, Membership, MembershipEvent, PushPull, SwimConfig,
};
use spot_proto::wire::spot::{NodeId, Tag};
use spot_proto::wire::swim::{MemberUpdate, SwimDatagram, SwimMessage, UpdateKind};
use spot_proto::{Endpoint, Instant, Limits, NodeError};

const DELAY: Duration = Duration::from_millis(1);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Payload {
    Datagram(Bytes),
    PushPullRequest(Vec<u8>, bool),
    PushPullResponse(Vec<u8>, bool),
}

type DropFilter = Box<dyn FnMut(Instant, usize, usize, &Payload) -> bool>;
/// In flight: arrival time, sequence, from, to, payload, push-pull sender id.
type InFlight = Reverse<(Instant, u64, usize, usize, Payload, Vec<u8>)>;
/// Events seen: when, by which node, what.
type EventLog = Vec<(Instant, usize, MembershipEvent)>;
/// Datagrams sent: from, to, bytes.
type SentLog = Vec<(usize, usize, Bytes)>;

struct Net {
    config: SwimConfig,
    nodes: Vec<Option<Membership>>,
    endpoints: Vec<Endpoint>,
    index: BTreeMap<Endpoint, usize>,
    queue: BinaryHeap<InFlight>,
    seq: u64,
    now: Instant,
    events: EventLog,
    sent: SentLog,
    drop: DropFilter,
}

fn endpoint(i: usize) -> Endpoint {
    format!("tcp://10.0.0.{}:7000", i + 1).parse().unwrap()
}

impl Net {
    fn new(n: usize, config: SwimConfig) -> Net {
        let endpoints: Vec<Endpoint> = (0..n).map(endpoint).collect();
        let index = endpoints.iter().cloned().enumerate().map(|(i, e)| (e, i)).collect();
        let mut net = Net {
            config,
            nodes: Vec::new(),
            endpoints,
            index,
            queue: BinaryHeap::new(),
            seq: 0,
            now: Instant::from_secs(1),
            events: Vec::new(),
            sent: Vec::new(),
            drop: Box::new(|_, _, _, _| false),
        };
        for i in 0..n {
            let node = net.fresh(i, 0);
            net.nodes.push(Some(node));
        }
        net
    }

    fn fresh(&self, i: usize, life: u64) -> Membership {
        let config = self.config.clone().with_seed(1000 * life + i as u64);
        Membership::new(config, LocalMember::from_endpoint(self.endpoints[i].clone()), self.now)
    }

    fn id(&self, i: usize) -> NodeId {
        LocalMember::from_endpoint(self.endpoints[i].clone()).id
    }

    fn node(&mut self, i: usize) -> &mut Membership {
        self.nodes[i].as_mut().unwrap()
    }

    /// Every node knows every other one as alive (a converged start).
    fn converge(&mut self) {
        let roster: Vec<MemberInfo> = (0..self.nodes.len())
            .map(|i| MemberInfo {
                id: self.id(i),
                endpoint: self.endpoints[i].clone(),
                state: MemberState::Alive,
                incarnation: 0,
                tags: vec![],
            })
            .collect();
        let now = self.now;
        for i in 0..self.nodes.len() {
            self.node(i).insert_known_members(now, roster.clone());
            self.drain(i);
        }
    }

    fn enqueue(&mut self, from: usize, to: usize, payload: Payload, sender: Vec<u8>) {
        if (self.drop)(self.now, from, to, &payload) {
            return;
        }
        self.seq += 1;
        self.queue.push(Reverse((self.now + DELAY, self.seq, from, to, payload, sender)));
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        let Some(node) = self.nodes[i].as_mut() else { return };
        let mut out = Vec::new();
        while let Some(datagram) = node.poll_transmit() {
            out.push((datagram.to, Payload::Datagram(datagram.payload)));
        }
        let mut push_pulls = Vec::new();
        while let Some((to, message)) = node.poll_push_pull() {
            push_pulls.push((to, message));
        }
        while let Some(event) = node.poll_event() {
            self.events.push((now, i, event));
        }
        for (to, payload) in out {
            let Some(&j) = self.index.get(&to) else { continue };
            if let Payload::Datagram(bytes) = &payload {
                self.sent.push((i, j, bytes.clone()));
            }
            self.enqueue(i, j, payload, Vec::new());
        }
        for (to, message) in push_pulls {
            let Some(&j) = self.index.get(&to) else { continue };
            let payload = Payload::PushPullRequest(message.state.to_vec(), message.join);
            self.enqueue(i, j, payload, message.sender.as_bytes().to_vec());
        }
    }

    fn deliver(&mut self, from: usize, to: usize, payload: Payload, sender: Vec<u8>) {
        let now = self.now;
        let from_endpoint = self.endpoints[from].clone();
        let Some(node) = self.nodes[to].as_mut() else { return };
        let sender = NodeId::new(Bytes::from(sender), &Limits::default());
        match payload {
            Payload::Datagram(bytes) => node.handle_datagram(now, from_endpoint, bytes),
            Payload::PushPullRequest(state, join) => {
                let message = PushPull { join, sender: sender.unwrap(), state: state.into() };
                if let Some(response) = node.handle_push_pull(now, from_endpoint, message) {
                    let back = Payload::PushPullResponse(response.state.to_vec(), response.join);
                    let id = response.sender.as_bytes().to_vec();
                    self.drain(to);
                    self.enqueue(to, from, back, id);
                }
            }
            Payload::PushPullResponse(state, join) => {
                let message = PushPull { join, sender: sender.unwrap(), state: state.into() };
                assert_eq!(node.handle_push_pull(now, from_endpoint, message), None);
            }
        }
        self.drain(to);
    }

    /// Runs the network until `until` (virtual time).
    fn run_until(&mut self, until: Instant) {
        loop {
            let next_packet = self.queue.peek().map(|Reverse((at, ..))| *at);
            let next_timer = self.nodes.iter().flatten().filter_map(Membership::poll_timeout).min();
            let next = match (next_packet, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(Instant::MAX),
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = next.max(self.now);
            while let Some(Reverse((at, ..))) = self.queue.peek() {
                if *at > self.now {
                    break;
                }
                let Reverse((_, _, from, to, payload, sender)) = self.queue.pop().unwrap();
                self.deliver(from, to, payload, sender);
            }
            for i in 0..self.nodes.len() {
                let due = self.nodes[i]
                    .as_ref()
                    .and_then(Membership::poll_timeout)
                    .is_some_and(|at| at <= self.now);
                if due {
                    let now = self.now;
                    self.node(i).handle_timeout(now);
                    self.drain(i);
                }
            }
        }
    }

    fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        self.run_until(until);
    }

    fn state_seen(&self, observer: usize, member: usize) -> Option<MemberState> {
        let id = self.id(member);
        self.nodes[observer].as_ref()?.member(&id).map(|m| m.state)
    }

    fn events_of(&self, node: usize) -> Vec<&MembershipEvent> {
        self.events.iter().filter(|(_, i, _)| *i == node).map(|(_, _, e)| e).collect()
    }

    fn crash(&mut self, i: usize) {
        self.nodes[i] = None;
    }
}

fn join_all(net: &mut Net) {
    let now = net.now;
    net.node(0).join(now, &[]).unwrap();
    net.drain(0);
    let seed = endpoint(0);
    for i in 1..net.nodes.len() {
        net.node(i).join(now, std::slice::from_ref(&seed)).unwrap();
        net.drain(i);
    }
}

fn all_see(net: &Net, member: usize, state: MemberState) -> bool {
    (0..net.nodes.len())
        .filter(|&i| i != member && net.nodes[i].is_some())
        .all(|i| net.state_seen(i, member) == Some(state))
}

fn no_false_deaths(net: &Net, crashed: &[usize]) {
    for (_, observer, event) in &net.events {
        if let MembershipEvent::MemberDead { id } = event {
            let victim = (0..net.nodes.len()).find(|&i| net.id(i) == *id).unwrap();
            assert!(crashed.contains(&victim), "node {observer} declared live node {victim} dead");
        }
    }
}

#[test]
fn three_nodes_converge_after_join() {
    let mut net = Net::new(3, SwimConfig::lan());
    join_all(&mut net);
    net.run_for(Duration::from_secs(5));
    for i in 0..3 {
        assert!(net.node(i).is_joined());
        assert!(net.events_of(i).contains(&&MembershipEvent::Joined), "node {i} never joined");
        for j in 0..3 {
            if i != j {
                assert_eq!(net.state_seen(i, j), Some(MemberState::Alive), "{i} sees {j}");
            }
        }
        assert_eq!(net.node(i).stats().alive, 2);
    }
    let now = net.now;
    assert_eq!(net.node(1).join(now, &[endpoint(0)]), Err(NodeError::AlreadyJoined));
}

#[test]
fn a_crash_is_detected_as_dead_by_all() {
    let mut net = Net::new(6, SwimConfig::lan());
    net.converge();
    net.run_for(Duration::from_secs(10));
    net.crash(5);
    let crashed_at = net.now;
    let mut detected = None;
    for _ in 0..60 {
        net.run_for(Duration::from_secs(1));
        if all_see(&net, 5, MemberState::Dead) {
            detected = Some(net.now - crashed_at);
            break;
        }
    }
    let detected = detected.expect("not every member saw the crash as dead within 60 s");
    assert!(detected <= Duration::from_secs(40), "detection took {detected:?}");
    no_false_deaths(&net, &[5]);
    for i in 0..5 {
        assert!(net.events_of(i).iter().any(|e| matches!(e, MembershipEvent::MemberDead { .. })));
        assert_eq!(net.node(i).stats().dead, 1);
    }
    // Reaped after dead_reap_after.
    net.run_for(SwimConfig::lan().dead_reap_after + Duration::from_secs(2));
    assert_eq!(net.state_seen(0, 5), None);
    assert_eq!(net.node(0).stats().total, 4);
}

fn is_ack(payload: &Payload) -> bool {
    match payload {
        Payload::Datagram(bytes) => matches!(
            SwimDatagram::decode(bytes, &Limits::default()).map(|d| d.message),
            Ok(SwimMessage::Ack { .. })
        ),
        _ => false,
    }
}

#[test]
fn a_falsely_suspected_node_refutes() {
    let mut net = Net::new(5, SwimConfig::lan());
    net.converge();
    net.run_for(Duration::from_secs(5));
    // Node 4 cannot answer probes for 3 s: its ACKs are lost. Its own pings still go out.
    let start = net.now;
    let end = start + Duration::from_secs(3);
    net.drop = Box::new(move |now, from, _, payload| {
        from == 4 && now >= start && now < end && is_ack(payload)
    });
    net.run_for(Duration::from_secs(40));
    if std::env::var("SWIM_DEBUG").is_ok() {
        for (at, i, e) in &net.events {
            println!("{at:?} node {i}: {e:?}");
        }
    }
    let suspected = net.events.iter().any(
        |(_, _, e)| matches!(e, MembershipEvent::MemberSuspect { id, .. } if *id == net.id(4)),
    );
    assert!(suspected, "nobody suspected node 4");
    assert!(net.events_of(4).iter().any(|e| matches!(e, MembershipEvent::Refuted { .. })));
    assert!(net.node(4).incarnation() >= 1);
    no_false_deaths(&net, &[]);
    for i in 0..4 {
        assert_eq!(net.state_seen(i, 4), Some(MemberState::Alive));
        let id = net.id(4);
        assert!(net.node(i).member(&id).unwrap().incarnation >= 1);
    }
}

#[test]
fn leave_propagates_as_left() {
    let mut net = Net::new(4, SwimConfig::lan());
    join_all(&mut net);
    net.run_for(Duration::from_secs(5));
    let now = net.now;
    net.node(3).leave(now).unwrap();
    net.drain(3);
    net.run_for(Duration::from_secs(3));
    assert!(net.events_of(3).contains(&&MembershipEvent::Left));
    assert!(!net.node(3).is_joined());
    assert_eq!(net.node(3).poll_timeout(), None);
    assert!(all_see(&net, 3, MemberState::Left));
    for i in 0..3 {
        let id = net.id(3);
        assert!(net.events_of(i).contains(&&MembershipEvent::MemberLeft { id }));
    }
    no_false_deaths(&net, &[]);
    let now = net.now;
    assert_eq!(net.node(3).leave(now), Err(NodeError::NotJoined));
}

#[test]
fn tags_propagate() {
    let mut net = Net::new(4, SwimConfig::lan());
    join_all(&mut net);
    net.run_for(Duration::from_secs(3));
    let now = net.now;
    net.node(1).update_tag(now, Tag::copy_from_strs("role", "worker").unwrap()).unwrap();
    net.node(2).update_tag(now, Tag::copy_from_strs("role", "director").unwrap()).unwrap();
    net.node(2).update_tag(now, Tag::copy_from_strs("zone", "eu").unwrap()).unwrap();
    net.drain(1);
    net.drain(2);
    net.run_for(Duration::from_secs(3));
    let workers = vec![net.id(1)];
    for i in 0..4 {
        assert_eq!(net.node(i).nodes_with_tag("role", Some("worker")), workers, "node {i}");
        let mut roles = vec![net.id(1), net.id(2)];
        roles.sort();
        assert_eq!(net.node(i).nodes_with_tag("role", None), roles);
        let wanted = [
            Tag::copy_from_strs("role", "director").unwrap(),
            Tag::copy_from_strs("zone", "eu").unwrap(),
        ];
        assert_eq!(net.node(i).nodes_with_all_tags(&wanted), vec![net.id(2)]);
    }
    let id1 = net.id(1);
    assert!(net.events_of(0).contains(&&MembershipEvent::TagsUpdated { id: id1 }));
    let now = net.now;
    net.node(1).remove_tag(now, "role").unwrap();
    assert_eq!(net.node(1).remove_tag(now, "role"), Err(NodeError::TagNotFound("role".into())));
    net.drain(1);
    net.run_for(Duration::from_secs(3));
    assert!(net.node(0).nodes_with_tag("role", Some("worker")).is_empty());
    // The tag set is size-bounded.
    let huge = Tag::copy_from_strs("blob", &"x".repeat(600)).unwrap();
    assert!(matches!(net.node(0).update_tag(now, huge), Err(NodeError::InvalidTag(_))));
}

#[test]
fn a_restarted_node_rejoins_with_a_higher_incarnation() {
    let mut net = Net::new(4, SwimConfig::lan());
    join_all(&mut net);
    net.run_for(Duration::from_secs(5));
    net.crash(3);
    net.run_for(Duration::from_secs(40));
    assert!(all_see(&net, 3, MemberState::Dead));
    // Same endpoint, fresh state: the same node id, incarnation 0.
    let restarted = net.fresh(3, 1);
    assert_eq!(restarted.local().id, net.id(3));
    net.nodes[3] = Some(restarted);
    let now = net.now;
    net.node(3).join(now, &[endpoint(0)]).unwrap();
    net.drain(3);
    net.run_for(Duration::from_secs(10));
    assert!(net.node(3).incarnation() >= 1, "the restarted node did not refute its death");
    assert!(all_see(&net, 3, MemberState::Alive));
    for i in 0..3 {
        let id = net.id(3);
        assert!(
            net.events_of(i).iter().any(
                |e| matches!(e, MembershipEvent::MemberAlive { id: alive, .. } if *alive == id)
            )
        );
        assert_eq!(net.state_seen(3, i), Some(MemberState::Alive));
    }
    no_false_deaths(&net, &[3]);
}

#[test]
fn bootstrap_timeout_gives_join_failed() {
    let mut net = Net::new(2, SwimConfig::lan());
    net.crash(1);
    let now = net.now;
    net.node(0).join(now, &[endpoint(1)]).unwrap();
    net.drain(0);
    assert_eq!(net.node(0).join(now, &[endpoint(1)]), Err(NodeError::AlreadyJoined));
    net.run_for(Duration::from_secs(29));
    assert!(net.events_of(0).is_empty());
    net.run_for(Duration::from_secs(2));
    assert_eq!(
        net.events_of(0),
        vec![&MembershipEvent::JoinFailed { reason: NodeError::NoSeedReachable }]
    );
    assert!(!net.node(0).is_joined());
    assert_eq!(NodeError::NoSeedReachable.errno().name(), "EHOSTUNREACH");
    // Pinged the seed once per probe interval meanwhile.
    let pings = net.sent.iter().filter(|(from, to, _)| *from == 0 && *to == 1).count();
    assert!((25..=35).contains(&pings), "{pings} join pings");
    // It may try again.
    let now = net.now;
    assert!(net.node(0).join(now, &[]).is_ok());
    assert!(net.node(0).is_joined());
    assert_eq!(net.node(0).leave(now), Ok(()));
}

#[test]
fn leave_before_join_is_not_joined() {
    let mut net = Net::new(1, SwimConfig::lan());
    let now = net.now;
    assert_eq!(net.node(0).leave(now), Err(NodeError::NotJoined));
}

#[test]
fn malformed_datagrams_are_dropped_and_counted() {
    let mut net = Net::new(2, SwimConfig::lan());
    net.converge();
    let now = net.now;
    let from = endpoint(1);
    let node = net.node(0);
    node.handle_datagram(now, from.clone(), Bytes::from_static(b"garbage"));
    node.handle_datagram(now, from.clone(), Bytes::new());
    let foreign = SwimDatagram {
        cluster_id: 99,
        sender: NodeId::copy_from_str("x", &Limits::default()).unwrap(),
        message: SwimMessage::Gossip,
        updates: vec![],
    };
    node.handle_datagram(now, from, foreign.to_bytes(&Limits::default()));
    assert_eq!(node.stats().malformed_dropped, 3);
    assert_eq!(node.stats().cluster_mismatch, 1);
    assert_eq!(node.stats().datagrams_in, 3);
    assert!(node.poll_transmit().is_none(), "nothing answers garbage");
    assert_eq!(node.stats().alive, 1);
    // Push-pull garbage too.
    let bad = PushPull {
        join: false,
        sender: NodeId::copy_from_str("x", &Limits::default()).unwrap(),
        state: Bytes::from_static(b"nope"),
    };
    assert_eq!(node.handle_push_pull(now, endpoint(1), bad), None);
    assert_eq!(node.stats().push_pull_malformed, 1);
}

fn trace(seed_offset: u64) -> (EventLog, SentLog) {
    let config = SwimConfig::lan().with_seed(seed_offset);
    let mut net = Net::new(5, config);
    join_all(&mut net);
    net.run_for(Duration::from_secs(5));
    net.crash(4);
    net.run_for(Duration::from_secs(30));
    (net.events, net.sent)
}

#[test]
fn the_same_seed_gives_an_identical_trace() {
    let (events_a, sent_a) = trace(0);
    let (events_b, sent_b) = trace(0);
    assert!(events_a.len() > 10);
    assert_eq!(events_a, events_b);
    assert_eq!(sent_a, sent_b);
}

#[test]
fn steady_state_sends_about_two_datagrams_per_member_per_period() {
    let mut net = Net::new(10, SwimConfig::lan());
    net.converge();
    net.run_for(Duration::from_secs(20));
    let before = net.sent.len();
    let periods = 60;
    net.run_for(SwimConfig::lan().probe_interval * periods);
    let per_member_per_period = (net.sent.len() - before) as f64 / (10.0 * f64::from(periods));
    assert!(
        (1.8..=2.2).contains(&per_member_per_period),
        "{per_member_per_period} datagrams per member per period"
    );
    for i in 0..10 {
        assert_eq!(net.node(i).pending_updates(), 0);
        assert_eq!(net.node(i).local_health(), 0);
        let id = net.id((i + 1) % 10);
        let now = net.now;
        let phi = net.node(i).phi(&id, now).unwrap();
        assert!(phi < 8.0, "phi {phi} for a healthy member");
    }
}

#[test]
fn losing_a_large_share_at_once_suspects_a_partition() {
    let mut net = Net::new(10, SwimConfig::lan());
    net.converge();
    net.run_for(Duration::from_secs(5));
    for i in 6..10 {
        net.crash(i);
    }
    net.run_for(Duration::from_secs(40));
    for i in 0..6 {
        let partition = net.events_of(i).into_iter().find_map(|e| match e {
            MembershipEvent::PartitionSuspected { lost, of } => Some((*lost, *of)),
            _ => None,
        });
        let (lost, of) = partition.unwrap_or_else(|| panic!("node {i} suspected no partition"));
        assert!((3..=4).contains(&lost) && of == 9, "node {i}: lost {lost} of {of}");
    }
    no_false_deaths(&net, &[6, 7, 8, 9]);
    // A single crash in a healthy cluster is no partition.
    let mut calm = Net::new(10, SwimConfig::lan());
    calm.converge();
    calm.crash(9);
    calm.run_for(Duration::from_secs(40));
    assert!(all_see(&calm, 9, MemberState::Dead));
    assert!(
        !calm
            .events
            .iter()
            .any(|(_, _, e)| matches!(e, MembershipEvent::PartitionSuspected { .. }))
    );
}

#[test]
fn a_push_pull_request_datagram_starts_a_full_state_exchange() {
    let mut net = Net::new(2, SwimConfig::lan());
    net.converge();
    let request = SwimDatagram {
        cluster_id: 0,
        sender: net.id(1),
        message: SwimMessage::PushPullRequest { join: false },
        updates: vec![],
    };
    let now = net.now;
    net.node(0).handle_datagram(now, endpoint(1), request.to_bytes(&Limits::default()));
    let (to, push_pull) = net.node(0).poll_push_pull().expect("a push-pull toward the sender");
    assert_eq!(to, endpoint(1));
    assert_eq!(push_pull.sender, net.id(0));
    // The receiver answers a request with its own state and merges ours.
    let response = net.node(1).handle_push_pull(now, endpoint(0), push_pull).unwrap();
    assert_eq!(response.sender, net.id(1));
    assert_eq!(net.node(0).handle_push_pull(now, endpoint(1), response), None);
    assert!(net.node(0).stats().push_pull_bytes_out > 0);
    assert!(net.node(1).stats().push_pull_bytes_in > 0);
}

/// A GOSSIP datagram from node `from` (of `net`) carrying `updates`.
fn gossip_from(net: &Net, from: usize, updates: Vec<MemberUpdate>) -> Bytes {
    let datagram =
        SwimDatagram { cluster_id: 0, sender: net.id(from), message: SwimMessage::Gossip, updates };
    datagram.to_bytes(&Limits::default())
}

#[test]
fn a_repeated_update_is_known_and_skipped_but_a_stale_one_is_still_corrected() {
    let mut net = Net::new(3, SwimConfig::lan());
    net.converge();
    let now = net.now;
    let dead = MemberUpdate { id: net.id(2), incarnation: 0, kind: UpdateKind::Dead };
    let rumour = gossip_from(&net, 1, vec![dead]);
    let node = net.node(0);
    node.handle_datagram(now, endpoint(1), rumour.clone());
    assert!(
        core::iter::from_fn(|| node.poll_event())
            .any(|e| matches!(e, MembershipEvent::MemberDead { .. })),
        "the first copy is applied"
    );
    assert_eq!(node.stats().dead, 1);
    assert_eq!((node.stats().updates_received, node.stats().updates_known), (1, 0));
    while node.poll_transmit().is_some() {}

    // The same update again, from another member: it is what node 0 is gossiping itself.
    node.handle_datagram(now, endpoint(2), rumour.clone());
    assert_eq!((node.stats().updates_received, node.stats().updates_known), (2, 1));
    assert!(node.poll_event().is_none(), "a known update changes nothing");
    assert!(node.poll_transmit().is_none(), "and answers nothing");

    // Member 2 refutes with a higher incarnation: a different update, applied.
    let alive = MemberUpdate {
        id: net.id(2),
        incarnation: 1,
        kind: UpdateKind::Alive { endpoint: endpoint(2), tags: vec![] },
    };
    let refutation = gossip_from(&net, 2, vec![alive]);
    let node = net.node(0);
    node.handle_datagram(now, endpoint(2), refutation);
    assert_eq!(node.stats().updates_known, 1);
    assert_eq!((node.stats().alive, node.stats().dead), (2, 0));
    while node.poll_event().is_some() {}

    // The old death rumour is now stale, not known: its sender is told the member is alive.
    let later = now + Duration::from_secs(5);
    node.handle_datagram(later, endpoint(1), rumour);
    assert_eq!((node.stats().updates_received, node.stats().updates_known), (4, 1));
    let correction = node.poll_transmit().expect("a correction for the stale rumour");
    assert_eq!(correction.to, endpoint(1));
    let decoded = SwimDatagram::decode(&correction.payload, &Limits::default()).unwrap();
    assert!(
        decoded.updates.iter().any(|u| u.id == net.id(2)
            && u.incarnation == 1
            && matches!(u.kind, UpdateKind::Alive { .. })),
        "the correction carries the refutation: {decoded:?}"
    );
}

#[test]
fn health_scores_beat_on_probe_acks_and_not_on_gossip_bursts() {
    let mut net = Net::new(3, SwimConfig::lan());
    net.converge();
    // A few probe rounds: member 1 has answered node 0's probes several times.
    net.run_for(SwimConfig::lan().probe_interval * 12);
    let member = net.id(1);
    let now = net.now;
    let later = now + Duration::from_millis(10);
    let before = net.node(0).phi(&member, later).unwrap();
    assert!(before > 0.0, "some time has passed since the last ACK");
    // A burst of GOSSIP from member 1 (as while updates are pending) is no heartbeat: the
    // score, a function of the beats seen and the time, is what it was without the burst.
    for burst in 0..5 {
        let gossip = gossip_from(&net, 1, vec![]);
        net.node(0).handle_datagram(now + Duration::from_millis(burst), endpoint(1), gossip);
    }
    assert_eq!(net.node(0).phi(&member, later).unwrap(), before);
    // Silence raises it; member 1's next ACKs to node 0's probes bring it back down.
    let silent = net.node(0).phi(&member, now + Duration::from_secs(30)).unwrap();
    assert!(silent > 1.0, "{silent}");
    net.run_for(SwimConfig::lan().probe_interval * 3);
    let now = net.now;
    assert!(net.node(0).phi(&member, now).unwrap() < 1.0);
}
