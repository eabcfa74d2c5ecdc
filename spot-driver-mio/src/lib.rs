//! # spot-driver-mio — SPOT in your own mio event loop
//!
//! Two ways to run a sans-IO [`spot_proto::node::Node`] on mio:
//!
//! * [`SpotLoop`], for people with their own event loop: it registers its sockets (the TCP
//!   listener, the UDP socket on the same port number, every connection) in the caller's
//!   [`mio::Poll`] under a token range the caller chooses. The caller hands it the events of
//!   that range ([`SpotLoop::handle_event`]), bounds its poll timeout by
//!   [`SpotLoop::next_deadline`] and calls [`SpotLoop::handle_timeout`]; messages come from
//!   [`SpotLoop::recv`] and events from [`SpotLoop::poll_event`].
//! * [`SpotNode`], a blocking API in the style of the original C API: a background thread runs
//!   a [`SpotLoop`] on its own `Poll` (woken by readiness, the node's timer, and a
//!   [`mio::Waker`] for calls; never sleep-and-retry); `recv(timeout_ms)` and
//!   `cluster_sync(timeout_ms)` take milliseconds, `0` returning at once with `WouldBlock` and
//!   `-1` waiting forever.
//!
//! The driver makes no protocol decision: bytes and time go to the node, its outputs are
//! drained after every input, and one deadline is reported. It sets the node's write window
//! (when the config has none) and confirms written bytes, so a peer that does not read fills
//! the node's queue, where the high-water mark applies.
//!
//! Only `tcp://` endpoints: `inproc://` needs in-memory streams that a plain `mio::Poll` cannot
//! wait on ([`BindError::Unsupported`]; the tokio and smol drivers have inproc). Tested on
//! Linux; the code uses only portable mio APIs.
//!
//! # Example
//!
//! ```
//! use spot_driver_mio::SpotNode;
//! use spot_proto::node::NodeConfig;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let owner = SpotNode::builder(NodeConfig::local()).bind("tcp://127.0.0.1:0".parse()?).start()?;
//! let reader = SpotNode::builder(NodeConfig::local()).bind("tcp://127.0.0.1:0".parse()?).start()?;
//! owner.topic_create("greetings")?;
//! reader.cluster_add(owner.advertised().expect("bound"))?; // learns the topic
//! reader.subscribe("greetings")?;
//! reader.cluster_sync(5000)?; // the owner has the subscription once this returns
//! owner.publish("greetings", &b"hello"[..])?;
//! let message = reader.recv(5000)?;
//! assert_eq!((message.topic(), &message.payload[..]), ("greetings", &b"hello"[..]));
//! assert_eq!(reader.recv(0), Err(spot_proto::NodeError::WouldBlock));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bind;
mod blocking;
mod clock;
mod error;
mod event_loop;
mod stats;

pub use blocking::{EventReceiver, SpotBuilder, SpotNode};
pub use error::{BindError, SHUT_DOWN};
pub use event_loop::SpotLoop;
pub use spot_proto::host::Message;
pub use stats::DriverStats;

pub use mio;
pub use spot_proto;
