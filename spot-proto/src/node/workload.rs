//! Random pub/sub workloads on a small simulated cluster, with delivery invariant checks
//! (feature `sim`). The property tests and the `node_cluster` fuzz target share this code.
//!
//! A [`Workload`] is a list of [`Op`]s run against `nodes` Nodes that all `cluster_add` each
//! other. Every publish carries `(publisher, sequence)` in its payload, so the checker can see
//! each delivery's origin. Invariants, checked on every run:
//!
//! * **no duplicate**: a node receives each publish at most once;
//! * **no stray delivery**: a node receives only topics that one of its subscriptions (exact or
//!   pattern) matched at some point;
//! * **per-publisher order**: a node receives each publisher's messages on one topic in publish
//!   order (different topics take different paths, through their owners).
//!
//! [`Workload::check_exactly_once`] adds liveness for workloads without faults: every publish
//! made while a subscription was settled reaches that subscriber.

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet};

use bytes::{BufMut, Bytes, BytesMut};

use crate::Limits;
use crate::endpoint::Endpoint;
use crate::pubsub::GlobPattern;
use crate::rng::SpotRng;
use crate::sim::{LinkProfile, SimFailure, Simulation};
use crate::time::Instant;

use super::{Node, NodeConfig, SimNode, SimNodeEvent};

/// Topic names a workload draws from (small, so subscriptions and publishes collide).
pub const TOPICS: [&str; 6] = ["a:1", "a:2", "b:1", "b:2", "c", "a:1:x"];
/// Patterns a workload draws from.
pub const PATTERNS: [&str; 4] = ["a:*", "*:1", "b:?", "*"];

/// One step of a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Node `node` creates topic `TOPICS[topic]`.
    Create {
        /// Node index.
        node: usize,
        /// Index into [`TOPICS`].
        topic: usize,
    },
    /// Node `node` destroys topic `TOPICS[topic]`.
    Destroy {
        /// Node index.
        node: usize,
        /// Index into [`TOPICS`].
        topic: usize,
    },
    /// Node `node` subscribes to `TOPICS[topic]`.
    Subscribe {
        /// Node index.
        node: usize,
        /// Index into [`TOPICS`].
        topic: usize,
    },
    /// Node `node` unsubscribes from `TOPICS[topic]`.
    Unsubscribe {
        /// Node index.
        node: usize,
        /// Index into [`TOPICS`].
        topic: usize,
    },
    /// Node `node` subscribes to `PATTERNS[pattern]`.
    SubscribePattern {
        /// Node index.
        node: usize,
        /// Index into [`PATTERNS`].
        pattern: usize,
    },
    /// Node `node` publishes on `TOPICS[topic]`.
    Publish {
        /// Node index.
        node: usize,
        /// Index into [`TOPICS`].
        topic: usize,
    },
    /// Virtual time passes.
    Run {
        /// Milliseconds.
        ms: u64,
    },
    /// The stream links between two nodes are cut (both ways).
    Cut {
        /// One node.
        a: usize,
        /// The other.
        b: usize,
    },
    /// Every cut heals.
    Heal,
}

/// A workload: nodes, a seed for the network, and the steps.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Seeds the simulation.
    pub seed: u64,
    /// How many nodes (2..=5).
    pub nodes: usize,
    /// The steps, in order.
    pub ops: Vec<Op>,
}

/// What a run delivered: per node, `(topic, publisher, sequence)` in arrival order.
#[derive(Clone, Debug, Default)]
pub struct WorkloadReport {
    /// Deliveries per node.
    pub deliveries: Vec<Vec<(String, usize, u64)>>,
    /// Publishes that returned `Ok`, with the subscribers settled at that moment.
    pub publishes: Vec<PublishRecord>,
    /// Each node's directory at the end: topic name and owner node index.
    pub directories: Vec<BTreeMap<String, usize>>,
}

/// One successful publish, for the exactly-once check.
#[derive(Clone, Debug)]
pub struct PublishRecord {
    /// Topic.
    pub topic: String,
    /// Publisher node.
    pub publisher: usize,
    /// Its sequence at the publisher.
    pub sequence: u64,
    /// Nodes whose matching subscription had settled (existed for a full settle period with no
    /// change since) when it was published.
    pub settled_subscribers: BTreeSet<usize>,
}

/// Time after a change of subscriptions or topics before the checker counts on it.
pub const SETTLE: Duration = Duration::from_millis(200);

impl Workload {
    /// A workload decoded from fuzzer bytes: byte 0 picks the node count (2..=4), then each
    /// pair of bytes is one op.
    pub fn from_bytes(data: &[u8]) -> Workload {
        let nodes = 2 + usize::from(data.first().copied().unwrap_or(0) % 3);
        let ops = data.get(1..).unwrap_or(&[]).chunks(2).map(|pair| {
            let kind = pair[0];
            let arg = usize::from(pair.get(1).copied().unwrap_or(0));
            Self::op_from(kind, arg, nodes)
        });
        Workload { seed: u64::from(data.len() as u32), nodes, ops: ops.take(400).collect() }
    }

    fn op_from(kind: u8, arg: usize, nodes: usize) -> Op {
        let node = arg % nodes;
        let topic = (arg / nodes) % TOPICS.len();
        match kind % 10 {
            0 => Op::Create { node, topic },
            1 => Op::Destroy { node, topic },
            2 => Op::Subscribe { node, topic },
            3 => Op::Unsubscribe { node, topic },
            4 => Op::SubscribePattern { node, pattern: (arg / nodes) % PATTERNS.len() },
            5 | 6 => Op::Publish { node, topic },
            7 => Op::Run { ms: 1 + (arg as u64) * 4 },
            8 => Op::Cut { a: node, b: (node + 1 + arg / nodes) % nodes },
            _ => Op::Heal,
        }
    }

    /// A random fault-free workload with settled phases: topics, then subscriptions, then
    /// publishes, repeated.
    pub fn random_fault_free(seed: u64, nodes: usize, rounds: usize) -> Workload {
        let mut rng = SpotRng::from_seed(seed);
        let mut ops = Vec::new();
        for _ in 0..rounds {
            // Each topic has one possible owner, so no two nodes claim the same name.
            for _ in 0..rng.below(4) {
                let topic = rng.index(TOPICS.len());
                ops.push(Op::Create { node: topic % nodes, topic });
            }
            ops.push(Op::Run { ms: 300 });
            for _ in 0..rng.below(5) {
                let node = rng.index(nodes);
                ops.push(match rng.below(3) {
                    0 => Op::SubscribePattern { node, pattern: rng.index(PATTERNS.len()) },
                    1 => Op::Unsubscribe { node, topic: rng.index(TOPICS.len()) },
                    _ => Op::Subscribe { node, topic: rng.index(TOPICS.len()) },
                });
            }
            ops.push(Op::Run { ms: 300 });
            for _ in 0..rng.below(12) {
                let (node, topic) = (rng.index(nodes), rng.index(TOPICS.len()));
                ops.push(Op::Publish { node, topic });
            }
            ops.push(Op::Run { ms: 300 });
        }
        Workload { seed, nodes, ops }
    }

    /// Runs the workload, checking the safety invariants; returns what was delivered.
    pub fn run(&self) -> Result<WorkloadReport, SimFailure> {
        let nodes = self.nodes.clamp(2, 5);
        let mut sim = Simulation::new(self.seed, LinkProfile::lan());
        let endpoints: Vec<Endpoint> =
            (0..nodes).map(|i| Endpoint::tcp([10, 0, 1, i as u8 + 1], 7000)).collect();
        for (i, endpoint) in endpoints.iter().enumerate() {
            let mut node =
                Node::new(NodeConfig::local().with_seed(self.seed + i as u64), Instant::ZERO);
            node.bind(Instant::ZERO, endpoint.clone())
                .map_err(|e| sim.failure("bind", e.to_string()))?;
            sim.add_node(endpoint.clone(), SimNode::new(node));
        }
        for i in 0..nodes {
            for endpoint in endpoints.iter().filter(|e| **e != endpoints[i]) {
                sim.act(i, |p, now| p.node_mut().cluster_add(now, endpoint.clone()));
            }
        }
        own_groups(&mut sim, nodes);
        let mut checker = Checker::new(nodes);
        checker.run(&mut sim, Duration::from_millis(200));
        for op in &self.ops {
            checker.apply(&mut sim, op, nodes);
            if let Some(failure) = checker.failure.take() {
                return Err(sim.failure(failure.0, failure.1));
            }
        }
        checker.run(&mut sim, Duration::from_secs(2));
        if let Some((check, detail)) = checker.failure.take() {
            return Err(sim.failure(check, detail));
        }
        let ids: Vec<_> =
            (0..nodes).filter_map(|i| sim.process(i).map(|p| p.node().id().clone())).collect();
        checker.report.directories = (0..nodes)
            .map(|i| {
                let topics = sim.process(i).map(|p| p.node().list_topics()).unwrap_or_default();
                topics
                    .into_iter()
                    .filter_map(|t| {
                        let owner = ids.iter().position(|id| *id == t.owner)?;
                        Some((t.topic.as_str().to_owned(), owner))
                    })
                    .collect()
            })
            .collect();
        Ok(checker.report)
    }

    /// Runs the workload and also checks that every publish reached every subscriber that was
    /// settled when it was published (for workloads without [`Op::Cut`]).
    pub fn check_exactly_once(&self) -> Result<WorkloadReport, SimFailure> {
        let report = self.run()?;
        for record in &report.publishes {
            for &node in &record.settled_subscribers {
                let got = report.deliveries[node].iter().any(|(t, p, s)| {
                    *t == record.topic && *p == record.publisher && *s == record.sequence
                });
                if !got {
                    return Err(SimFailure::new(
                        self.seed,
                        Instant::ZERO,
                        "exactly-once",
                        format!(
                            "node {node} missed {}#{} on {} (workload {:?})",
                            record.publisher, record.sequence, record.topic, self.ops
                        ),
                    ));
                }
            }
        }
        Ok(report)
    }
}

/// Tracks subscriptions, sequences and deliveries while a workload runs.
struct Checker {
    report: WorkloadReport,
    sequences: Vec<u64>,
    /// Exact subscriptions and patterns per node, with when each last changed.
    exact: Vec<BTreeMap<String, Instant>>,
    patterns: Vec<Vec<(GlobPattern, Instant)>>,
    /// Everything each node ever subscribed to (for the stray-delivery check).
    ever_exact: Vec<BTreeSet<String>>,
    ever_patterns: Vec<Vec<GlobPattern>>,
    /// When each topic last changed (created or destroyed), by name.
    topic_changed: BTreeMap<String, Instant>,
    /// Highest sequence seen per (receiver, publisher, topic): a topic's path is fixed (through
    /// its owner), so order holds per publisher and topic.
    last_seen: BTreeMap<(usize, usize, String), u64>,
    seen: BTreeSet<(usize, usize, u64)>,
    cut: bool,
    failure: Option<(&'static str, String)>,
}

impl Checker {
    fn new(nodes: usize) -> Self {
        Checker {
            report: WorkloadReport {
                deliveries: vec![Vec::new(); nodes],
                ..WorkloadReport::default()
            },
            sequences: vec![0; nodes],
            exact: vec![BTreeMap::new(); nodes],
            patterns: vec![Vec::new(); nodes],
            ever_exact: vec![BTreeSet::new(); nodes],
            ever_patterns: vec![Vec::new(); nodes],
            topic_changed: BTreeMap::new(),
            last_seen: BTreeMap::new(),
            seen: BTreeSet::new(),
            cut: false,
            failure: None,
        }
    }

    fn run(&mut self, sim: &mut Simulation<SimNode>, duration: Duration) {
        let mut events = Vec::new();
        sim.run_for(duration, &mut |_t, node, event| events.push((node, event)));
        for (node, event) in events {
            self.observe(node, event);
        }
    }

    fn act<R>(
        &mut self,
        sim: &mut Simulation<SimNode>,
        node: usize,
        verb: impl FnOnce(&mut Node, Instant) -> R,
    ) -> Option<R> {
        let result = sim.act(node, |p, now| verb(p.node_mut(), now));
        for (_, node, event) in sim.take_events() {
            self.observe(node, event);
        }
        result
    }

    fn observe(&mut self, node: usize, event: SimNodeEvent) {
        let SimNodeEvent::Received(delivery) = event else { return };
        let topic = delivery.topic.as_str().to_owned();
        let Some((publisher, sequence)) = decode_payload(&delivery.payload) else {
            self.failure =
                Some(("payload", format!("node {node} got a foreign payload on {topic}")));
            return;
        };
        if !self.seen.insert((node, publisher, sequence)) {
            self.failure = Some((
                "no-duplicate",
                format!("node {node} got {publisher}#{sequence} twice on {topic}"),
            ));
        }
        let subscribed = self.ever_exact[node].contains(&topic)
            || self.ever_patterns[node].iter().any(|p| p.matches(&topic));
        if !subscribed {
            self.failure =
                Some(("no-stray-delivery", format!("node {node} never subscribed to {topic}")));
        }
        let last = self.last_seen.entry((node, publisher, topic.clone())).or_insert(0);
        if sequence <= *last {
            self.failure = Some((
                "per-publisher-order",
                format!("node {node} got {publisher}#{sequence} after #{last}"),
            ));
        }
        *last = sequence;
        self.report.deliveries[node].push((topic, publisher, sequence));
    }

    fn settled_subscribers(&self, topic: &str, now: Instant) -> BTreeSet<usize> {
        let topic_settled = self
            .topic_changed
            .get(topic)
            .is_none_or(|t| now.saturating_duration_since(*t) >= SETTLE);
        if !topic_settled || self.cut {
            return BTreeSet::new();
        }
        (0..self.exact.len())
            .filter(|&n| {
                let exact = self.exact[n]
                    .get(topic)
                    .is_some_and(|t| now.saturating_duration_since(*t) >= SETTLE);
                let pattern = self.patterns[n]
                    .iter()
                    .any(|(p, t)| p.matches(topic) && now.saturating_duration_since(*t) >= SETTLE);
                exact || pattern
            })
            .collect()
    }

    fn apply(&mut self, sim: &mut Simulation<SimNode>, op: &Op, nodes: usize) {
        let now = sim.now();
        match *op {
            Op::Create { node, topic } => {
                if self.act(sim, node % nodes, |n, now| n.topic_create(now, TOPICS[topic]))
                    == Some(Ok(()))
                {
                    self.topic_changed.insert(TOPICS[topic].to_owned(), now);
                }
            }
            Op::Destroy { node, topic } => {
                if self.act(sim, node % nodes, |n, now| n.topic_destroy(now, TOPICS[topic]))
                    == Some(Ok(()))
                {
                    self.topic_changed.insert(TOPICS[topic].to_owned(), now);
                }
            }
            Op::Subscribe { node, topic } => {
                let node = node % nodes;
                if self.act(sim, node, |n, now| n.subscribe(now, TOPICS[topic])) == Some(Ok(())) {
                    self.exact[node].insert(TOPICS[topic].to_owned(), now);
                    self.ever_exact[node].insert(TOPICS[topic].to_owned());
                }
            }
            Op::Unsubscribe { node, topic } => {
                let node = node % nodes;
                if self.act(sim, node, |n, now| n.unsubscribe(now, TOPICS[topic])) == Some(Ok(())) {
                    self.exact[node].remove(TOPICS[topic]);
                }
            }
            Op::SubscribePattern { node, pattern } => {
                let node = node % nodes;
                if let Some(Ok(_)) =
                    self.act(sim, node, |n, now| n.subscribe_pattern(now, PATTERNS[pattern]))
                {
                    let glob = GlobPattern::parse(PATTERNS[pattern], &Limits::default())
                        .expect("the fixed patterns are valid");
                    self.patterns[node].push((glob.clone(), now));
                    self.ever_patterns[node].push(glob);
                }
            }
            Op::Publish { node, topic } => {
                let node = node % nodes;
                let sequence = self.sequences[node] + 1;
                let payload = encode_payload(node, sequence);
                if self.act(sim, node, |n, now| n.publish(now, TOPICS[topic], payload))
                    == Some(Ok(()))
                {
                    self.sequences[node] = sequence;
                    let settled_subscribers = self.settled_subscribers(TOPICS[topic], now);
                    self.report.publishes.push(PublishRecord {
                        topic: TOPICS[topic].to_owned(),
                        publisher: node,
                        sequence,
                        settled_subscribers,
                    });
                }
            }
            Op::Run { ms } => self.run(sim, Duration::from_millis(ms)),
            Op::Cut { a, b } => {
                let (a, b) = (a % nodes, b % nodes);
                if a != b {
                    self.cut = true;
                    sim.network().block_both(a, b);
                }
            }
            Op::Heal => {
                sim.network().heal();
                own_groups(sim, nodes);
            }
        }
    }
}

/// Puts node `i` in partition group `i`, so [`Op::Cut`] can block one pair of nodes.
fn own_groups(sim: &mut Simulation<SimNode>, nodes: usize) {
    for i in 0..nodes {
        sim.network().set_group(i as u32, i);
    }
}

/// `publisher: u32 LE, sequence: u64 LE`.
fn encode_payload(publisher: usize, sequence: u64) -> Bytes {
    let mut buf = BytesMut::with_capacity(12);
    buf.put_u32_le(publisher as u32);
    buf.put_u64_le(sequence);
    buf.freeze()
}

fn decode_payload(payload: &[u8]) -> Option<(usize, u64)> {
    let publisher = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?);
    let sequence = u64::from_le_bytes(payload.get(4..12)?.try_into().ok()?);
    Some((publisher as usize, sequence))
}
