//! Pub/sub benchmark of the sans-IO [`Node`] alone: an owner node publishing 16 B and 1 KiB
//! messages to one subscriber node, with the bytes moved between them in memory (no sockets,
//! no driver). It measures the protocol's own cost per message on each side:
//!
//! * `publish`: `Node::publish` on the owner, then its writes taken (`poll_output`);
//! * `receive`: the subscriber's `handle_read` of those bytes, then `Node::recv`;
//! * `end_to_end`: both, per message.
//!
//! Run: `cargo bench -p spot-proto --bench pubsub`. Results: BENCHMARKS.md.
// criterion's macros generate undocumented public items.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spot_proto::node::{ConnectionId, Node, NodeConfig, NodeOutput};
use spot_proto::{Endpoint, Instant};

/// Messages per iteration (a driver's batch).
const BATCH: usize = 256;
const TOPIC: &str = "bench";

/// The owner, the subscriber, and the connection id of their link on each side.
struct Pair {
    owner: Node,
    subscriber: Node,
    at_owner: ConnectionId,
    at_subscriber: ConnectionId,
}

impl Pair {
    fn new() -> Pair {
        let now = Instant::ZERO;
        let owner_endpoint: Endpoint = "tcp://127.0.0.1:7001".parse().expect("endpoint");
        let mut config = NodeConfig::local().with_seed(1);
        config.send_hwm = 1 << 20;
        config.recv_hwm = 1 << 20;
        let mut owner = Node::new(config.clone(), now);
        owner.bind(now, owner_endpoint.clone()).expect("bind");
        owner.topic_create(now, TOPIC).expect("topic");
        let mut subscriber = Node::new(config.with_seed(2), now);
        subscriber.bind(now, "tcp://127.0.0.1:7002".parse().expect("endpoint")).expect("bind");
        let _ = subscriber.cluster_add(now, owner_endpoint).expect("cluster_add");
        let mut at_subscriber = None;
        let mut at_owner = None;
        while let Some(output) = subscriber.poll_output() {
            if let NodeOutput::Connect { conn, .. } = output {
                at_subscriber = Some(conn);
                at_owner = Some(owner.handle_accepted(now));
            }
        }
        let (at_owner, at_subscriber) = (at_owner.expect("dialed"), at_subscriber.expect("dialed"));
        assert!(subscriber.handle_connected(now, at_subscriber));
        let mut pair = Pair { owner, subscriber, at_owner, at_subscriber };
        pair.pump();
        pair.subscriber.subscribe(now, TOPIC).expect("subscribe");
        pair.pump();
        pair
    }

    /// Moves bytes both ways until neither side writes.
    fn pump(&mut self) {
        let now = Instant::ZERO;
        loop {
            let mut moved = false;
            while let Some(output) = self.subscriber.poll_output() {
                if let NodeOutput::Write { conn, data } = output
                    && conn == self.at_subscriber
                {
                    moved = true;
                    self.owner.handle_read(now, self.at_owner, BytesMut::from(&data[..]));
                }
            }
            while let Some(output) = self.owner.poll_output() {
                if let NodeOutput::Write { conn, data } = output
                    && conn == self.at_owner
                {
                    moved = true;
                    self.subscriber.handle_read(now, self.at_subscriber, BytesMut::from(&data[..]));
                }
            }
            if !moved {
                break;
            }
        }
        while self.subscriber.recv().is_some() {}
    }

    /// Publishes `payloads` on the owner; returns the bytes it writes to the subscriber.
    fn publish(&mut self, payloads: &[Bytes]) -> Vec<Bytes> {
        let now = Instant::ZERO;
        for payload in payloads {
            self.owner.publish(now, TOPIC, payload.clone()).expect("publish");
        }
        let mut writes = Vec::new();
        while let Some(output) = self.owner.poll_output() {
            if let NodeOutput::Write { conn, data } = output {
                self.owner.handle_sent(now, conn, data.len());
                writes.push(data);
            }
        }
        writes
    }

    /// Feeds `writes` to the subscriber; returns the messages it delivered.
    fn receive(&mut self, writes: &[Bytes]) -> usize {
        let now = Instant::ZERO;
        let mut delivered = 0;
        for data in writes {
            self.subscriber.handle_read(now, self.at_subscriber, BytesMut::from(&data[..]));
            while let Some(delivery) = self.subscriber.recv() {
                black_box(&delivery);
                delivered += 1;
            }
        }
        delivered
    }
}

fn bench(c: &mut Criterion) {
    for (size, name) in [(16usize, "16B"), (1024, "1KiB")] {
        let payloads: Vec<Bytes> = (0..BATCH).map(|i| Bytes::from(vec![i as u8; size])).collect();
        let mut group = c.benchmark_group(format!("node_pubsub_{name}"));
        group.throughput(Throughput::Elements(BATCH as u64));

        let mut pair = Pair::new();
        let sample = pair.publish(&payloads);
        assert_eq!(pair.receive(&sample), BATCH, "every message is delivered");

        group.bench_function("publish", |b| b.iter(|| black_box(pair.publish(&payloads))));
        let mut pair = Pair::new();
        let writes = pair.publish(&payloads);
        group.bench_function("receive", |b| {
            b.iter(|| assert_eq!(pair.receive(black_box(&writes)), BATCH));
        });
        let mut pair = Pair::new();
        group.bench_function("end_to_end", |b| {
            b.iter(|| {
                let writes = pair.publish(&payloads);
                assert_eq!(pair.receive(&writes), BATCH);
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
