//! # spot-driver-tokio — SPOT on tokio
//!
//! An async handle, [`SpotNode`], over one sans-IO [`spot_proto::node::Node`]. One driver task
//! owns the node and every socket and makes no protocol decision: it hands bytes and time to the
//! node, drains the node's outputs (connects, writes, closes, datagrams, deliveries, events) and
//! re-arms one timer from `poll_timeout` after every batch of inputs.
//!
//! * **Endpoints**: `tcp://host:port` binds a TCP listener and a UDP socket (SWIM) on the same
//!   port number; port 0 binds TCP on a free port first, then UDP on that number, retrying a
//!   fresh port when the UDP twin is taken. `tcp://*:port` needs an advertised endpoint.
//!   `inproc://name` uses in-memory pipes and channels within this process (a registry kept by
//!   this driver; the same ZMTP bytes and SWIM datagrams flow).
//! * **Verbs**: every verb of the node, as `async` methods returning [`spot_proto::NodeError`]
//!   (with the original C API's errno). Long operations (`cluster_add`, `cluster_sync`, `join`,
//!   `leave`) await their result.
//! * **Streams**: [`SpotNode::subscribe`] and [`SpotNode::subscribe_pattern`] return a bounded
//!   [`Subscription`] stream each; a message reaches every matching subscription's stream once.
//!   [`SpotNode::events`] and [`SpotNode::membership_events`] give bounded [`EventStream`]s. A
//!   full stream drops the newest item and counts it ([`DriverStats`]); the driver never waits.
//! * **recv**: [`SpotNode::recv_timeout`] receives (cancellation-safe) what matched a
//!   subscription whose stream was dropped: the C API's "subscribe, then recv".
//! * **Stopping**: [`SpotNode::shutdown`] leaves the cluster gracefully and closes everything;
//!   dropping the last handle does the same in the background.
//!
//! Tested on Linux; the code uses only portable tokio APIs.
//!
//! # Example
//!
//! Two nodes in one process over `inproc://` (the same works with `tcp://127.0.0.1:0`):
//!
//! ```
//! use std::time::Duration;
//! use spot_driver_tokio::SpotNode;
//! use spot_proto::node::NodeConfig;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let owner = SpotNode::builder(NodeConfig::local())
//!     .bind("inproc://doc-owner".parse()?)
//!     .start()
//!     .await?;
//! let reader = SpotNode::builder(NodeConfig::local())
//!     .bind("inproc://doc-reader".parse()?)
//!     .start()
//!     .await?;
//!
//! owner.topic_create("greetings").await?;
//! reader.cluster_add(owner.advertised().expect("bound")).await?; // learns the topic
//! let mut greetings = reader.subscribe("greetings").await?;
//! reader.publish("greetings", &b"hello"[..]).await?; // to the owner, which fans out
//!
//! let message = greetings.recv_timeout(Duration::from_secs(5)).await?;
//! assert_eq!((message.topic(), &message.payload[..]), ("greetings", &b"hello"[..]));
//!
//! reader.shutdown().await;
//! owner.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bind;
mod builder;
mod clock;
mod driver;
mod error;
mod handle;
mod inproc;
mod io;
mod queue;
mod stream;

pub use builder::SpotBuilder;
pub use error::{BindError, SHUT_DOWN};
pub use handle::SpotNode;
pub use spot_proto::host::{DriverStats, Message};
pub use stream::{EventStream, Subscription};

pub use spot_proto;

/// The README's code examples (the tokio embedding and the sans-IO run loop), compiled and run
/// as doc tests of this crate, which sees both spot-proto and this driver, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
