//! The systems measured: SPOT (two tokio-driver nodes), and with the `peers` feature NATS
//! (async-nats) and Redis pub/sub (redis crate). A [`Publisher`] lives in the `spot bench`
//! process, a [`Subscriber`] in the `spot bench-peer` process.

use std::time::Duration;

use bytes::Bytes;
use spot_driver_tokio::{SpotNode, Subscription};
use spot_proto::Endpoint;
use spot_proto::node::NodeConfig;

use super::sample::Header;

/// A system under measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum System {
    /// SPOT: a publisher node owning the topic, a subscriber node in the other process.
    Spot,
    /// nats-server, through async-nats.
    Nats,
    /// redis-server pub/sub, through the redis crate.
    Redis,
}

impl System {
    /// The name used in the JSON and on the control pipe.
    pub fn name(self) -> &'static str {
        match self {
            System::Spot => "spot",
            System::Nats => "nats",
            System::Redis => "redis",
        }
    }

    /// The system named `name`.
    pub fn from_name(name: &str) -> Option<System> {
        match name {
            "spot" => Some(System::Spot),
            "nats" => Some(System::Nats),
            "redis" => Some(System::Redis),
            _ => None,
        }
    }
}

/// The config of both SPOT nodes: nothing is dropped at the high-water marks (the bench counts
/// delivered messages; the peers are measured with every message delivered too).
pub fn spot_config(seed: u64) -> NodeConfig {
    let mut config = NodeConfig::local().with_seed(seed);
    config.send_hwm = 1 << 24;
    // A 1 KiB throughput run queues up to its whole 300 MB when the publisher outruns the
    // subscriber; the default 64 MiB byte mark would drop the rest.
    config.send_hwm_bytes = 1 << 30;
    config.recv_hwm = 1 << 24;
    config.recv_queue_capacity = 1 << 24;
    config
}

/// Starts a SPOT node on a loopback ephemeral port.
pub async fn start_spot(seed: u64) -> Result<SpotNode, String> {
    SpotNode::builder(spot_config(seed))
        .bind(Endpoint::localhost(0))
        .stream_capacity(1 << 22)
        .start()
        .await
        .map_err(|e| format!("cannot start a SPOT node: {e}"))
}

/// The publishing end of one run.
pub enum Publisher {
    /// The owner node publishes on its LOCAL topic.
    Spot {
        /// The owner node (kept for the whole bench).
        node: SpotNode,
        /// The run's topic.
        topic: String,
    },
    /// A NATS client publishing on a subject.
    #[cfg(feature = "peers")]
    Nats {
        /// The client.
        client: async_nats::Client,
        /// The run's subject.
        subject: async_nats::Subject,
    },
    /// A Redis connection publishing on a channel.
    #[cfg(feature = "peers")]
    Redis {
        /// The connection.
        conn: redis::aio::MultiplexedConnection,
        /// The run's channel.
        channel: String,
    },
}

impl Publisher {
    /// A NATS publisher for `subject` on the server at `addr` (`host:port`).
    #[cfg(feature = "peers")]
    pub async fn nats(addr: &str, subject: &str) -> Result<Publisher, String> {
        let client = nats_connect(addr).await?;
        Ok(Publisher::Nats { client, subject: subject.to_owned().into() })
    }

    /// A Redis publisher for `channel` on the server at `addr` (`host:port`).
    #[cfg(feature = "peers")]
    pub async fn redis(addr: &str, channel: &str) -> Result<Publisher, String> {
        let client = redis::Client::open(format!("redis://{addr}/"))
            .map_err(|e| format!("redis client: {e}"))?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| format!("cannot connect to redis at {addr}: {e}"))?;
        Ok(Publisher::Redis { conn, channel: channel.to_owned() })
    }

    /// Publishes one message and waits as little as the system allows (latency runs).
    pub async fn send_one(&mut self, payload: Bytes) -> Result<(), String> {
        match self {
            Publisher::Spot { node, topic } => {
                node.publish_nowait(topic, payload).map_err(|e| format!("spot publish: {e}"))
            }
            #[cfg(feature = "peers")]
            Publisher::Nats { client, subject } => client
                .publish(subject.clone(), payload)
                .await
                .map_err(|e| format!("nats publish: {e}")),
            #[cfg(feature = "peers")]
            Publisher::Redis { conn, channel } => {
                let _: i64 = redis::cmd("PUBLISH")
                    .arg(&*channel)
                    .arg(&payload[..])
                    .query_async(conn)
                    .await
                    .map_err(|e| format!("redis publish: {e}"))?;
                Ok(())
            }
        }
    }

    /// Publishes a burst (throughput runs): SPOT hands it to its driver in one
    /// `publish_batch_nowait` call and ends with a round trip to the driver; NATS hands each to
    /// the client's writer; Redis pipelines the burst as one request.
    pub async fn send_burst(&mut self, payloads: Vec<Bytes>) -> Result<(), String> {
        match self {
            Publisher::Spot { node, topic } => {
                node.publish_batch_nowait(topic, payloads)
                    .map_err(|e| format!("spot publish: {e}"))?;
                // A round trip per burst keeps the driver's command queue short.
                node.stats().await.map(|_| ()).map_err(|e| format!("spot stats: {e}"))
            }
            #[cfg(feature = "peers")]
            Publisher::Nats { client, subject } => {
                for payload in payloads {
                    client
                        .publish(subject.clone(), payload)
                        .await
                        .map_err(|e| format!("nats publish: {e}"))?;
                }
                Ok(())
            }
            #[cfg(feature = "peers")]
            Publisher::Redis { conn, channel } => {
                let mut pipe = redis::pipe();
                for payload in &payloads {
                    pipe.cmd("PUBLISH").arg(&*channel).arg(&payload[..]).ignore();
                }
                pipe.query_async::<()>(conn).await.map_err(|e| format!("redis publish: {e}"))
            }
        }
    }

    /// Waits until what was published has left this process's buffers.
    pub async fn flush(&mut self) -> Result<(), String> {
        match self {
            Publisher::Spot { node, .. } => {
                node.stats().await.map(|_| ()).map_err(|e| format!("spot stats: {e}"))
            }
            #[cfg(feature = "peers")]
            Publisher::Nats { client, .. } => {
                client.flush().await.map_err(|e| format!("nats flush: {e}"))
            }
            #[cfg(feature = "peers")]
            Publisher::Redis { .. } => Ok(()),
        }
    }
}

#[cfg(feature = "peers")]
async fn nats_connect(addr: &str) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::new()
        .subscription_capacity(1 << 20)
        .client_capacity(1 << 16)
        .connection_timeout(Duration::from_secs(5))
        .connect(addr)
        .await
        .map_err(|e| format!("cannot connect to nats at {addr}: {e}"))
}

/// The receiving end of one run.
pub enum Subscriber {
    /// A SPOT subscription stream on the subscriber node.
    Spot(Subscription),
    /// A NATS subscription.
    #[cfg(feature = "peers")]
    Nats(async_nats::Subscriber),
    /// A Redis pub/sub stream.
    #[cfg(feature = "peers")]
    Redis(redis::aio::PubSubStream),
}

impl Subscriber {
    /// A SPOT subscription to `topic` owned by the node at `owner`, through `node` (which
    /// adds the owner as a peer the first time).
    pub async fn spot(
        node: &SpotNode,
        owner: &str,
        topic: &str,
        added: &mut Vec<String>,
    ) -> Result<Subscriber, String> {
        if !added.iter().any(|a| a == owner) {
            let endpoint: Endpoint =
                owner.parse().map_err(|e| format!("bad owner endpoint {owner:?}: {e}"))?;
            node.cluster_add(endpoint).await.map_err(|e| format!("cluster_add {owner}: {e}"))?;
            added.push(owner.to_owned());
        } else {
            node.cluster_sync(Some(Duration::from_secs(2)))
                .await
                .map_err(|e| format!("cluster_sync: {e}"))?;
        }
        node.subscribe(topic).await.map(Subscriber::Spot).map_err(|e| format!("subscribe: {e}"))
    }

    /// A NATS subscription to `subject` at `addr`.
    #[cfg(feature = "peers")]
    pub async fn nats(addr: &str, subject: &str) -> Result<Subscriber, String> {
        let client = nats_connect(addr).await?;
        let sub = client
            .subscribe(subject.to_owned())
            .await
            .map_err(|e| format!("nats subscribe: {e}"))?;
        client.flush().await.map_err(|e| format!("nats flush: {e}"))?;
        Ok(Subscriber::Nats(sub))
    }

    /// A Redis subscription to `channel` at `addr`.
    #[cfg(feature = "peers")]
    pub async fn redis(addr: &str, channel: &str) -> Result<Subscriber, String> {
        let client = redis::Client::open(format!("redis://{addr}/"))
            .map_err(|e| format!("redis client: {e}"))?;
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| format!("cannot connect to redis at {addr}: {e}"))?;
        pubsub.subscribe(channel).await.map_err(|e| format!("redis subscribe: {e}"))?;
        Ok(Subscriber::Redis(pubsub.into_on_message()))
    }

    /// The next message's header (`Some(None)` for a payload too short to carry one), or
    /// `None` when the subscription ended.
    pub async fn next(&mut self) -> Option<Option<Header>> {
        match self {
            Subscriber::Spot(s) => s.recv().await.map(|m| Header::parse(&m.payload)),
            #[cfg(feature = "peers")]
            Subscriber::Nats(s) => {
                futures_util::StreamExt::next(s).await.map(|m| Header::parse(&m.payload))
            }
            #[cfg(feature = "peers")]
            Subscriber::Redis(s) => {
                futures_util::StreamExt::next(s).await.map(|m| Header::parse(m.get_payload_bytes()))
            }
        }
    }

    /// Messages the subscription itself dropped (SPOT's stream counter; 0 for the peers, whose
    /// clients do not count).
    pub fn dropped(&self) -> u64 {
        match self {
            Subscriber::Spot(s) => s.dropped(),
            #[cfg(feature = "peers")]
            _ => 0,
        }
    }
}
