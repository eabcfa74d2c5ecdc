//! What the simulator runs: any sans-IO state machine that speaks datagrams and byte streams.
//!
//! A [`SimProcess`] is driven exactly like a driver drives a real node: each input is a
//! `handle_*` call carrying `now`; after it the simulator drains [`SimProcess::poll_output`] and
//! [`SimProcess::poll_event`] until `None`, then re-arms one timer from
//! [`SimProcess::poll_timeout`]. The SWIM harness implements it over
//! `Membership`; the pub/sub `Node` can implement it the same way.

use bytes::Bytes;

use crate::endpoint::Endpoint;
use crate::time::Instant;

/// A simulated byte stream (one connection), unique within a simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u32);

/// Something a process asks the network to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send one datagram (UDP-like: may be lost, duplicated or reordered).
    Datagram {
        /// Destination endpoint.
        to: Endpoint,
        /// The datagram.
        payload: Bytes,
    },
    /// Open a stream to `to`. The answer is [`SimProcess::handle_stream_connected`] or
    /// [`SimProcess::handle_stream_connect_failed`] with the same `token`.
    Connect {
        /// The endpoint to dial.
        to: Endpoint,
        /// The caller's tag for this attempt.
        token: u64,
    },
    /// Write bytes on an open stream; they arrive in order, without loss, while the stream lives.
    Write {
        /// The stream.
        stream: StreamId,
        /// The bytes.
        bytes: Bytes,
    },
    /// Close a stream; the peer sees it closed after the bytes already written.
    Close {
        /// The stream.
        stream: StreamId,
    },
}

/// A deterministic, sans-IO process the simulator can run.
///
/// Only the datagram and timer methods are required; the stream methods default to ignoring
/// their input, for processes that never open streams.
pub trait SimProcess {
    /// Application events the process reports (e.g. membership changes).
    type Event;

    /// A datagram arrived from `from`.
    fn handle_datagram(&mut self, now: Instant, from: &Endpoint, payload: Bytes);

    /// The deadline from [`SimProcess::poll_timeout`] passed (it may be called a little late,
    /// never early).
    fn handle_timeout(&mut self, now: Instant);

    /// The next instant the process wants [`SimProcess::handle_timeout`] called, if any.
    fn poll_timeout(&mut self) -> Option<Instant>;

    /// The next network action, until `None`.
    fn poll_output(&mut self) -> Option<Output>;

    /// The next application event, until `None`.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// A peer opened `stream` to this process from `from`.
    fn handle_stream_accepted(&mut self, now: Instant, stream: StreamId, from: &Endpoint) {
        let _ = (now, stream, from);
    }

    /// The connection attempt `token` succeeded as `stream`.
    fn handle_stream_connected(&mut self, now: Instant, token: u64, stream: StreamId) {
        let _ = (now, token, stream);
    }

    /// The connection attempt `token` failed (no listener, node down, or partitioned).
    fn handle_stream_connect_failed(&mut self, now: Instant, token: u64) {
        let _ = (now, token);
    }

    /// Bytes arrived on `stream`, in order.
    fn handle_stream_bytes(&mut self, now: Instant, stream: StreamId, bytes: Bytes) {
        let _ = (now, stream, bytes);
    }

    /// `stream` closed (by the peer, a crash or a partition).
    fn handle_stream_closed(&mut self, now: Instant, stream: StreamId) {
        let _ = (now, stream);
    }
}

/// Receives every application event a simulation's processes report, with its time and node.
pub trait Observer<E> {
    /// `node` reported `event` at `now`.
    fn on_event(&mut self, now: Instant, node: usize, event: E);
}

/// An observer that drops every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct IgnoreEvents;

impl<E> Observer<E> for IgnoreEvents {
    fn on_event(&mut self, _now: Instant, _node: usize, _event: E) {}
}

impl<E, F: FnMut(Instant, usize, E)> Observer<E> for F {
    fn on_event(&mut self, now: Instant, node: usize, event: E) {
        self(now, node, event);
    }
}
