//! The three drivers behind [`super::Driver`]: tokio (on one shared multi-thread runtime),
//! smol (on its global executor) and mio (its blocking API).

use std::future::Future;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use spot_proto::node::{NodeConfig, NodeStats, SyncReport};
use spot_proto::swim::MembershipEvent;
use spot_proto::wire::spot::{MemberInfo, MemberState};
use spot_proto::{Endpoint, NodeError};

use super::{Driver, TestNode, WAIT};

/// The tokio driver.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// The smol driver.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

/// The mio driver (its blocking, C-style API).
#[derive(Clone, Copy, Debug, Default)]
pub struct Mio;

/// Nodes from several drivers: node `seed` comes from `drivers[seed % len]`, so the two or
/// three nodes of a scenario (consecutive seeds) come from different drivers.
#[derive(Clone, Copy)]
pub struct Mixed(pub &'static [&'static dyn Driver]);

impl Mixed {
    /// tokio, smol and mio in turn.
    pub const ALL: Mixed = Mixed(&[&Tokio, &Smol, &Mio]);
}

impl Driver for Mixed {
    fn name(&self) -> &'static str {
        "mixed"
    }

    fn start_with(&self, endpoint: Endpoint, config: NodeConfig) -> Box<dyn TestNode> {
        let count = u64::try_from(self.0.len()).unwrap_or(1).max(1);
        let index = usize::try_from(config.seed % count).unwrap_or(0);
        self.0[index].start_with(endpoint, config)
    }
}

/// The endpoints of the alive members in `members`.
fn alive(members: Vec<MemberInfo>) -> Vec<Endpoint> {
    members.into_iter().filter(|m| m.state == MemberState::Alive).map(|m| m.endpoint).collect()
}

/// How long a call of the suite may take; past it, the call fails with `Timeout`.
fn bounded(timeout: Duration) -> Duration {
    timeout.min(WAIT) + Duration::from_secs(2)
}

// ---------------------------------------------------------------------------------- tokio

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// Runs `future` on the shared runtime, failing with `Timeout` after `timeout`.
fn tokio_wait<T>(
    timeout: Duration,
    future: impl Future<Output = Result<T, NodeError>>,
) -> Result<T, NodeError> {
    runtime()
        .block_on(async { tokio::time::timeout(bounded(timeout), future).await })
        .unwrap_or(Err(NodeError::Timeout))
}

struct TokioNode(
    spot_driver_tokio::SpotNode,
    Mutex<spot_driver_tokio::EventStream<MembershipEvent>>,
);

impl Driver for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }

    fn start_with(&self, endpoint: Endpoint, config: NodeConfig) -> Box<dyn TestNode> {
        let start = spot_driver_tokio::SpotNode::builder(config).bind(endpoint).start();
        let node = runtime()
            .block_on(async { tokio::time::timeout(WAIT, start).await })
            .expect("tokio node starts in time")
            .expect("tokio node binds");
        let events = tokio_wait(WAIT, node.membership_events()).expect("membership events");
        Box::new(TokioNode(node, Mutex::new(events)))
    }
}

impl TestNode for TokioNode {
    fn driver(&self) -> &'static str {
        "tokio"
    }
    fn endpoint(&self) -> Endpoint {
        self.0.advertised().expect("a bound node advertises")
    }
    fn topic_create(&self, topic: &str) -> Result<(), NodeError> {
        tokio_wait(WAIT, self.0.topic_create(topic))
    }
    fn topic_destroy(&self, topic: &str) -> Result<(), NodeError> {
        tokio_wait(WAIT, self.0.topic_destroy(topic))
    }
    fn topic_exists(&self, topic: &str) -> Result<bool, NodeError> {
        tokio_wait(WAIT, self.0.topic_exists(topic))
    }
    fn subscribe(&self, topic: &str) -> Result<(), NodeError> {
        // Dropping the stream keeps the subscription; its messages go to `recv`.
        tokio_wait(WAIT, async { self.0.subscribe(topic).await.map(drop) })
    }
    fn subscribe_pattern(&self, pattern: &str) -> Result<(), NodeError> {
        tokio_wait(WAIT, async { self.0.subscribe_pattern(pattern).await.map(drop) })
    }
    fn unsubscribe(&self, topic: &str) -> Result<(), NodeError> {
        tokio_wait(WAIT, self.0.unsubscribe(topic))
    }
    fn publish(&self, topic: &str, payload: Bytes) -> Result<(), NodeError> {
        tokio_wait(WAIT, self.0.publish(topic, payload))
    }
    fn recv(&self, timeout: Duration) -> Result<(String, Bytes), NodeError> {
        let message = tokio_wait(timeout, self.0.recv_timeout(timeout))?;
        Ok((message.topic().to_owned(), message.payload))
    }
    fn cluster_add(&self, peer: Endpoint) -> Result<SyncReport, NodeError> {
        tokio_wait(WAIT, self.0.cluster_add(peer))
    }
    fn cluster_remove(&self, peer: &Endpoint) -> Result<(), NodeError> {
        tokio_wait(WAIT, self.0.cluster_remove(peer))
    }
    fn cluster_sync(&self, timeout: Duration) -> Result<SyncReport, NodeError> {
        tokio_wait(timeout, self.0.cluster_sync(Some(timeout)))
    }
    fn join(&self, seeds: &[Endpoint]) -> Result<(), NodeError> {
        tokio_wait(WAIT, self.0.join(seeds))
    }
    fn alive_members(&self) -> Result<Vec<Endpoint>, NodeError> {
        tokio_wait(WAIT, self.0.members()).map(alive)
    }
    fn stats(&self) -> Result<NodeStats, NodeError> {
        tokio_wait(WAIT, self.0.stats())
    }
    fn wait_membership_event(&self, timeout: Duration) -> bool {
        let mut events = self.1.lock().unwrap_or_else(PoisonError::into_inner);
        tokio_wait(timeout, events.recv_timeout(timeout)).is_ok_and(|event| event.is_some())
    }
    fn shutdown(&self) {
        let _ = tokio_wait(WAIT, async {
            self.0.shutdown().await;
            Ok(())
        });
    }
}

// ---------------------------------------------------------------------------------- smol

/// Runs `future` on the calling thread, failing with `Timeout` after `timeout`.
fn smol_wait<T>(
    timeout: Duration,
    future: impl Future<Output = Result<T, NodeError>>,
) -> Result<T, NodeError> {
    smol::block_on(smol::future::or(future, async {
        smol::Timer::after(bounded(timeout)).await;
        Err(NodeError::Timeout)
    }))
}

struct SmolNode(spot_driver_smol::SpotNode, Mutex<spot_driver_smol::EventStream<MembershipEvent>>);

impl Driver for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }

    fn start_with(&self, endpoint: Endpoint, config: NodeConfig) -> Box<dyn TestNode> {
        let start = spot_driver_smol::SpotNode::builder(config).bind(endpoint).start();
        let node = smol::block_on(smol::future::or(async { Some(start.await) }, async {
            smol::Timer::after(WAIT).await;
            None
        }))
        .expect("smol node starts in time")
        .expect("smol node binds");
        let events = smol_wait(WAIT, node.membership_events()).expect("membership events");
        Box::new(SmolNode(node, Mutex::new(events)))
    }
}

impl TestNode for SmolNode {
    fn driver(&self) -> &'static str {
        "smol"
    }
    fn endpoint(&self) -> Endpoint {
        self.0.advertised().expect("a bound node advertises")
    }
    fn topic_create(&self, topic: &str) -> Result<(), NodeError> {
        smol_wait(WAIT, self.0.topic_create(topic))
    }
    fn topic_destroy(&self, topic: &str) -> Result<(), NodeError> {
        smol_wait(WAIT, self.0.topic_destroy(topic))
    }
    fn topic_exists(&self, topic: &str) -> Result<bool, NodeError> {
        smol_wait(WAIT, self.0.topic_exists(topic))
    }
    fn subscribe(&self, topic: &str) -> Result<(), NodeError> {
        smol_wait(WAIT, async { self.0.subscribe(topic).await.map(drop) })
    }
    fn subscribe_pattern(&self, pattern: &str) -> Result<(), NodeError> {
        smol_wait(WAIT, async { self.0.subscribe_pattern(pattern).await.map(drop) })
    }
    fn unsubscribe(&self, topic: &str) -> Result<(), NodeError> {
        smol_wait(WAIT, self.0.unsubscribe(topic))
    }
    fn publish(&self, topic: &str, payload: Bytes) -> Result<(), NodeError> {
        smol_wait(WAIT, self.0.publish(topic, payload))
    }
    fn recv(&self, timeout: Duration) -> Result<(String, Bytes), NodeError> {
        let message = smol_wait(timeout, self.0.recv_timeout(timeout))?;
        Ok((message.topic().to_owned(), message.payload))
    }
    fn cluster_add(&self, peer: Endpoint) -> Result<SyncReport, NodeError> {
        smol_wait(WAIT, self.0.cluster_add(peer))
    }
    fn cluster_remove(&self, peer: &Endpoint) -> Result<(), NodeError> {
        smol_wait(WAIT, self.0.cluster_remove(peer))
    }
    fn cluster_sync(&self, timeout: Duration) -> Result<SyncReport, NodeError> {
        smol_wait(timeout, self.0.cluster_sync(Some(timeout)))
    }
    fn join(&self, seeds: &[Endpoint]) -> Result<(), NodeError> {
        smol_wait(WAIT, self.0.join(seeds))
    }
    fn alive_members(&self) -> Result<Vec<Endpoint>, NodeError> {
        smol_wait(WAIT, self.0.members()).map(alive)
    }
    fn stats(&self) -> Result<NodeStats, NodeError> {
        smol_wait(WAIT, self.0.stats())
    }
    fn wait_membership_event(&self, timeout: Duration) -> bool {
        let mut events = self.1.lock().unwrap_or_else(PoisonError::into_inner);
        smol_wait(timeout, events.recv_timeout(timeout)).is_ok_and(|event| event.is_some())
    }
    fn shutdown(&self) {
        let _ = smol_wait(WAIT, async {
            self.0.shutdown().await;
            Ok(())
        });
    }
}

// ---------------------------------------------------------------------------------- mio

struct MioNode(spot_driver_mio::SpotNode, Mutex<spot_driver_mio::EventReceiver<MembershipEvent>>);

/// Milliseconds for the mio driver's C-style waits (at least 1: 0 would mean "at once").
fn millis(timeout: Duration) -> i64 {
    i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl Driver for Mio {
    fn name(&self) -> &'static str {
        "mio"
    }

    fn start_with(&self, endpoint: Endpoint, config: NodeConfig) -> Box<dyn TestNode> {
        let node = spot_driver_mio::SpotNode::builder(config)
            .bind(endpoint)
            .start()
            .expect("mio node binds");
        let events = node.membership_events().expect("membership events");
        Box::new(MioNode(node, Mutex::new(events)))
    }
}

impl TestNode for MioNode {
    fn driver(&self) -> &'static str {
        "mio"
    }
    fn endpoint(&self) -> Endpoint {
        self.0.advertised().expect("a bound node advertises")
    }
    fn topic_create(&self, topic: &str) -> Result<(), NodeError> {
        self.0.topic_create(topic)
    }
    fn topic_destroy(&self, topic: &str) -> Result<(), NodeError> {
        self.0.topic_destroy(topic)
    }
    fn topic_exists(&self, topic: &str) -> Result<bool, NodeError> {
        self.0.topic_exists(topic)
    }
    fn subscribe(&self, topic: &str) -> Result<(), NodeError> {
        self.0.subscribe(topic)
    }
    fn subscribe_pattern(&self, pattern: &str) -> Result<(), NodeError> {
        self.0.subscribe_pattern(pattern)
    }
    fn unsubscribe(&self, topic: &str) -> Result<(), NodeError> {
        self.0.unsubscribe(topic)
    }
    fn publish(&self, topic: &str, payload: Bytes) -> Result<(), NodeError> {
        self.0.publish(topic, payload)
    }
    fn recv(&self, timeout: Duration) -> Result<(String, Bytes), NodeError> {
        let message = self.0.recv(millis(timeout))?;
        Ok((message.topic().to_owned(), message.payload))
    }
    fn cluster_add(&self, peer: Endpoint) -> Result<SyncReport, NodeError> {
        self.0.cluster_add(peer)
    }
    fn cluster_remove(&self, peer: &Endpoint) -> Result<(), NodeError> {
        self.0.cluster_remove(peer)
    }
    fn cluster_sync(&self, timeout: Duration) -> Result<SyncReport, NodeError> {
        self.0.cluster_sync(millis(timeout))
    }
    fn join(&self, seeds: &[Endpoint]) -> Result<(), NodeError> {
        self.0.join(seeds)
    }
    fn alive_members(&self) -> Result<Vec<Endpoint>, NodeError> {
        self.0.members().map(alive)
    }
    fn stats(&self) -> Result<NodeStats, NodeError> {
        self.0.stats()
    }
    fn wait_membership_event(&self, timeout: Duration) -> bool {
        let events = self.1.lock().unwrap_or_else(PoisonError::into_inner);
        events.recv(millis(timeout)).is_ok()
    }
    fn shutdown(&self) {
        self.0.shutdown();
    }
}
