//! A small harness over the simulator for Node scenario tests: nodes on `tcp://10.0.0.N:7000`,
//! verbs run inside the simulation, and the events and deliveries each node reported.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use spot_proto::node::{
    Node, NodeConfig, NodeEvent, OperationId, SimNode, SimNodeEvent, TopicLocation,
};
use spot_proto::sim::{LinkProfile, Simulation};
use spot_proto::{Endpoint, Instant};

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The endpoint of node `i`.
pub fn endpoint_of(i: usize) -> Endpoint {
    Endpoint::tcp([10, 0, 0, u8::try_from(i + 1).unwrap()], 7000)
}

/// A node bound at `endpoint`, seeded.
pub fn bound_node(seed: u64, endpoint: Endpoint) -> Node {
    let mut node = Node::new(NodeConfig::local().with_seed(seed), Instant::ZERO);
    node.bind(Instant::ZERO, endpoint).unwrap();
    node
}

/// Nodes in a simulation, with what each one reported.
pub struct Cluster {
    pub sim: Simulation<SimNode>,
    pub events: Vec<Vec<NodeEvent>>,
    pub received: Vec<Vec<(String, Vec<u8>)>>,
}

impl Cluster {
    /// `n` bound nodes on a LAN-like network, seeded by `seed`.
    pub fn new(seed: u64, n: usize) -> Cluster {
        let mut sim = Simulation::new(seed, LinkProfile::lan());
        for i in 0..n {
            let endpoint = endpoint_of(i);
            sim.add_node(endpoint.clone(), SimNode::new(bound_node(seed + i as u64, endpoint)));
        }
        Cluster { sim, events: vec![Vec::new(); n], received: vec![Vec::new(); n] }
    }

    /// Node `i`'s endpoint.
    pub fn endpoint(&self, i: usize) -> Endpoint {
        self.sim.endpoint(i).clone()
    }

    /// Runs a verb on node `i` now.
    pub fn act<R>(&mut self, i: usize, verb: impl FnOnce(&mut Node, Instant) -> R) -> R {
        let result = self.sim.act(i, |p, now| verb(p.node_mut(), now)).expect("node is up");
        self.collect();
        result
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &Node {
        self.sim.process(i).expect("node is up").node()
    }

    /// Advances virtual time.
    pub fn run(&mut self, duration: Duration) {
        let mut seen = Vec::new();
        self.sim.run_for(duration, &mut |_t, node, event| seen.push((node, event)));
        self.record(seen);
    }

    fn collect(&mut self) {
        let events = self.sim.take_events().into_iter().map(|(_, node, event)| (node, event));
        self.record(events.collect());
    }

    fn record(&mut self, events: Vec<(usize, SimNodeEvent)>) {
        for (node, event) in events {
            match event {
                SimNodeEvent::Node(event) => self.events[node].push(event),
                SimNodeEvent::Received(d) => {
                    self.received[node].push((d.topic.as_str().to_owned(), d.payload.to_vec()))
                }
            }
        }
    }

    /// Events node `i` reported so far.
    pub fn events(&self, i: usize) -> &[NodeEvent] {
        &self.events[i]
    }

    /// Messages node `i` received so far.
    pub fn received(&self, i: usize) -> &[(String, Vec<u8>)] {
        &self.received[i]
    }

    /// Whether operation `op` of node `i` finished with `Ok`.
    pub fn operation_ok(&self, i: usize, op: OperationId) -> bool {
        self.events[i].iter().any(|e| {
            matches!(e, NodeEvent::OperationFinished { op: done, result: Ok(_) } if *done == op)
        })
    }

    /// The names of node `i`'s topics at `location`, sorted.
    pub fn topic_names(&self, i: usize, location: TopicLocation) -> Vec<String> {
        self.node(i)
            .list_topics()
            .into_iter()
            .filter(|t| t.location == location)
            .map(|t| t.topic.as_str().to_owned())
            .collect()
    }
}
