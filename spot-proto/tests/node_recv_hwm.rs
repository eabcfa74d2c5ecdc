//! The high-water marks between nodes. The receive high-water mark counts each peer's messages waiting in the node's receive queue,
//! with messages from several peers interleaved in it: a full peer is dropped and counted while
//! the others still get in, and taking its messages makes room for it again.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use spot_proto::node::{ConnectionId, Node, NodeConfig, NodeOutput};
use spot_proto::{Endpoint, Instant};

/// Nodes joined by in-memory byte pipes: each `Connect` is accepted by the node bound at its
/// endpoint, and every write is read by the other end at once.
struct Net {
    nodes: Vec<Node>,
    endpoints: Vec<Endpoint>,
    /// (node, connection) -> the other end.
    pipes: BTreeMap<(usize, ConnectionId), (usize, ConnectionId)>,
}

impl Net {
    fn new(count: usize) -> Net {
        Net::with_config(count, NodeConfig::local())
    }

    fn with_config(count: usize, config: NodeConfig) -> Net {
        let now = Instant::ZERO;
        let mut net = Net { nodes: Vec::new(), endpoints: Vec::new(), pipes: BTreeMap::new() };
        for i in 0..count {
            let endpoint: Endpoint =
                format!("tcp://127.0.0.1:{}", 7100 + i).parse().expect("an endpoint");
            let mut node = Node::new(config.clone().with_seed(i as u64 + 1), now);
            node.bind(now, endpoint.clone()).expect("bound");
            net.nodes.push(node);
            net.endpoints.push(endpoint);
        }
        net
    }

    /// Moves every output until no node has anything to say.
    fn pump(&mut self) {
        let now = Instant::ZERO;
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                while let Some(output) = self.nodes[i].poll_output() {
                    moved = true;
                    match output {
                        NodeOutput::Connect { conn, to } => {
                            let j =
                                self.endpoints.iter().position(|e| *e == to).expect("a bound node");
                            let accepted = self.nodes[j].handle_accepted(now);
                            self.pipes.insert((i, conn), (j, accepted));
                            self.pipes.insert((j, accepted), (i, conn));
                            assert!(self.nodes[i].handle_connected(now, conn));
                        }
                        NodeOutput::Write { conn, data } => {
                            self.nodes[i].handle_sent(now, conn, data.len());
                            let (j, other) = self.pipes[&(i, conn)];
                            self.nodes[j].handle_read(now, other, BytesMut::from(&data[..]));
                        }
                        _ => {}
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn publish(&mut self, node: usize, topic: &str, payload: &'static [u8]) {
        let payload = Bytes::from_static(payload);
        self.nodes[node].publish(Instant::ZERO, topic, payload).expect("published");
    }

    /// (received pending, dropped) of the subscriber's peer at `endpoint`.
    fn peer(&self, subscriber: usize, endpoint: &Endpoint) -> (usize, u64) {
        let stats = self.nodes[subscriber].peer_stats();
        let peer = stats.iter().find(|p| p.endpoint == *endpoint).expect("a peer");
        (peer.received_pending, peer.dropped)
    }
}

#[test]
fn each_peer_is_held_to_its_own_receive_hwm_in_a_shared_queue() {
    let (a, b, s) = (0, 1, 2);
    let mut net = Net::new(3);
    let now = Instant::ZERO;
    net.nodes[a].topic_create(now, "a").unwrap();
    net.nodes[b].topic_create(now, "b").unwrap();
    let (ea, eb) = (net.endpoints[a].clone(), net.endpoints[b].clone());
    net.nodes[s].cluster_add(now, ea.clone()).unwrap();
    net.nodes[s].cluster_add(now, eb.clone()).unwrap();
    net.pump();
    net.nodes[s].subscribe(now, "a").unwrap();
    net.nodes[s].subscribe(now, "b").unwrap();
    net.pump();
    net.nodes[s].set_hwm(&ea, 1000, 2).unwrap();

    // Interleaved: a1 b1 a2 a3 (dropped: A is at 2) b2 a4 (dropped).
    net.publish(a, "a", b"a1");
    net.pump();
    net.publish(b, "b", b"b1");
    net.pump();
    net.publish(a, "a", b"a2");
    net.publish(a, "a", b"a3");
    net.pump();
    net.publish(b, "b", b"b2");
    net.pump();
    net.publish(a, "a", b"a4");
    net.pump();
    assert_eq!(net.nodes[s].pending_received(), 4);
    assert_eq!(net.peer(s, &ea), (2, 2));
    assert_eq!(net.peer(s, &eb), (2, 0));

    // Taking a1 and b1 makes room for one more from A.
    let first: Vec<_> = (0..2).map(|_| net.nodes[s].recv().unwrap().payload).collect();
    assert_eq!(first, [&b"a1"[..], &b"b1"[..]]);
    assert_eq!(net.peer(s, &ea), (1, 2));
    assert_eq!(net.peer(s, &eb), (1, 0));
    net.publish(a, "a", b"a5");
    net.publish(a, "a", b"a6");
    net.pump();
    let rest: Vec<_> = std::iter::from_fn(|| net.nodes[s].recv()).map(|d| d.payload).collect();
    assert_eq!(rest, [&b"a2"[..], &b"b2"[..], &b"a5"[..]]);
    assert_eq!(net.peer(s, &ea), (0, 3));
    assert_eq!(net.peer(s, &eb), (0, 0));
}

#[test]
fn the_send_hwm_in_bytes_drops_what_does_not_fit_and_counts_it() {
    let mut config = NodeConfig::local();
    config.send_hwm_bytes = 1000;
    let (owner, s) = (0, 1);
    let mut net = Net::with_config(2, config);
    let now = Instant::ZERO;
    net.nodes[owner].topic_create(now, "t").expect("created");
    let endpoint = net.endpoints[owner].clone();
    net.nodes[s].cluster_add(now, endpoint).expect("added");
    net.pump();
    net.nodes[s].subscribe(now, "t").expect("subscribed");
    net.pump();
    // Ten 300-byte messages before the writes are taken: three fit under 1000 bytes.
    let payload = Bytes::from(vec![7u8; 300]);
    for _ in 0..10 {
        net.nodes[owner].publish(now, "t", payload.clone()).expect("published");
    }
    net.pump();
    assert_eq!(net.nodes[owner].stats().dropped_send_hwm, 7);
    assert_eq!(net.nodes[s].pending_received(), 3);
}
