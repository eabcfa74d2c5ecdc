//! What every driver shares: the runtime-agnostic plumbing around a [`Node`](crate::node::Node).
//!
//! DESIGN.md says drivers stay thin: a driver binds sockets, moves bytes and time, and makes no
//! decision that another driver would make the same way. Whatever two drivers would otherwise
//! write twice lives here, as plain data structures and pure functions:
//!
//! * [`clock`] — [`ClockAnchor`]: `std::time::Instant` (given by the driver) ↔ [`Instant`].
//!   This module never reads a clock; the driver passes the instants it read.
//! * [`endpoint`] — socket addresses ↔ [`Endpoint`]s, where a dial or datagram goes
//!   ([`Target`]), the port rule for TCP and its UDP twin ([`PortSearch`]), which UDP socket sends
//!   ([`pick_udp_socket`]), and the advertised endpoint's port ([`advertise_with_port`]).
//! * [`feed`] — the driver's end of a bounded stream ([`Feed`], [`Offer`]) and of a one-shot
//!   answer ([`Reply`]): drivers implement them over their runtime's channels.
//! * [`route`] — [`Subscriptions`]: a delivery to every matching subscription's stream once,
//!   the rest to the `recv` queue; [`Message`], what the application reads.
//! * [`events`] — [`EventFeeds`]: node and membership events to every event stream.
//! * [`inproc`] — [`InprocNames`]: who holds an `inproc://` name in a driver's registry.
//! * [`pending`] — [`Pending`]: long operations, join and leave waiting for their events, and
//!   the graceful shutdown sequence (leave, grace period, stop).
//! * [`wait`] — the C API's error mapping for receiving ([`RecvFailure`], [`Wait`],
//!   [`SHUT_DOWN`]).
//! * [`stats`] — [`DriverStats`] and its live [`DriverCounters`].
//! * [`verbs`] — pieces of the verbs every driver has (tags, membership queries).
//! * [`settings`] — [`DriverSettings`] (stream and queue capacities, write bound, dial
//!   timeout) and [`NodeInfo`] (what handles show without asking the driver).
//!
//! The [`defaults`] are the bounds the drivers agree on.
//!
//! [`Instant`]: crate::Instant
//! [`Endpoint`]: crate::Endpoint

pub mod clock;
pub mod defaults;
pub mod endpoint;
pub mod events;
pub mod feed;
pub mod inproc;
pub mod pending;
pub mod route;
pub mod settings;
pub mod stats;
pub mod verbs;
pub mod wait;

pub use clock::ClockAnchor;
pub use endpoint::{PortSearch, Target, advertise_with_port, endpoint_of, pick_udp_socket};
pub use events::EventFeeds;
pub use feed::{Feed, Offer, Reply};
pub use inproc::InprocNames;
pub use pending::Pending;
pub use route::{Message, Routed, Subscriptions};
pub use settings::{DriverSettings, NodeInfo};
pub use stats::{DriverCounters, DriverStats};
pub use wait::{RecvFailure, SHUT_DOWN, Wait};
