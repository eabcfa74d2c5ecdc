//! [`SimNode`]: a [`Node`] as a process of the deterministic simulator (feature `sim`).

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use crate::endpoint::Endpoint;
use crate::sim::{Output, SimProcess, StreamId};
use crate::time::Instant;

use super::{ConnectionId, Delivery, Node, NodeEvent, NodeOutput};

/// What a simulated node reports: its events and the messages it received, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum SimNodeEvent {
    /// A [`NodeEvent`].
    Node(NodeEvent),
    /// A message from [`Node::recv`].
    Received(Delivery),
}

/// A [`Node`] driven by the simulator: maps the simulator's streams to the node's connections,
/// and drains the receive queue into events, so observers see every delivery.
#[derive(Debug)]
pub struct SimNode {
    node: Node,
    stream_of: BTreeMap<ConnectionId, StreamId>,
    conn_of: BTreeMap<StreamId, ConnectionId>,
    /// Streams that connected after the node gave up on them, to close.
    refused: Vec<StreamId>,
}

impl SimNode {
    /// Wraps a node.
    pub fn new(node: Node) -> Self {
        SimNode { node, stream_of: BTreeMap::new(), conn_of: BTreeMap::new(), refused: Vec::new() }
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node, for verbs (call them inside `Simulation::act`, which drains outputs after).
    pub fn node_mut(&mut self) -> &mut Node {
        &mut self.node
    }

    fn forget(&mut self, conn: ConnectionId) -> Option<StreamId> {
        let stream = self.stream_of.remove(&conn)?;
        self.conn_of.remove(&stream);
        Some(stream)
    }
}

impl SimProcess for SimNode {
    type Event = SimNodeEvent;

    fn handle_datagram(&mut self, now: Instant, from: &Endpoint, payload: Bytes) {
        self.node.handle_datagram(now, from.clone(), payload);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.node.handle_timeout(now);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.node.poll_timeout()
    }

    fn poll_output(&mut self) -> Option<Output> {
        if let Some(stream) = self.refused.pop() {
            return Some(Output::Close { stream });
        }
        loop {
            let output = self.node.poll_output()?;
            return Some(match output {
                NodeOutput::Connect { conn, to } => Output::Connect { to, token: conn.0 },
                NodeOutput::Write { conn, data } => match self.stream_of.get(&conn) {
                    Some(stream) => Output::Write { stream: *stream, bytes: data },
                    None => continue,
                },
                NodeOutput::Close { conn } => match self.forget(conn) {
                    Some(stream) => Output::Close { stream },
                    None => continue,
                },
                NodeOutput::Datagram { to, payload } => Output::Datagram { to, payload },
            });
        }
    }

    fn poll_event(&mut self) -> Option<SimNodeEvent> {
        if let Some(event) = self.node.poll_event() {
            return Some(SimNodeEvent::Node(event));
        }
        self.node.recv().map(SimNodeEvent::Received)
    }

    fn handle_stream_accepted(&mut self, now: Instant, stream: StreamId, _from: &Endpoint) {
        let conn = self.node.handle_accepted(now);
        self.stream_of.insert(conn, stream);
        self.conn_of.insert(stream, conn);
    }

    fn handle_stream_connected(&mut self, now: Instant, token: u64, stream: StreamId) {
        let conn = ConnectionId(token);
        self.stream_of.insert(conn, stream);
        self.conn_of.insert(stream, conn);
        if !self.node.handle_connected(now, conn) {
            self.forget(conn);
            self.refused.push(stream);
        }
    }

    fn handle_stream_connect_failed(&mut self, now: Instant, token: u64) {
        self.node.handle_connect_failed(now, ConnectionId(token));
    }

    fn handle_stream_bytes(&mut self, now: Instant, stream: StreamId, bytes: Bytes) {
        if let Some(conn) = self.conn_of.get(&stream).copied() {
            self.node.handle_read(now, conn, BytesMut::from(bytes));
        }
    }

    fn handle_stream_closed(&mut self, now: Instant, stream: StreamId) {
        if let Some(conn) = self.conn_of.remove(&stream) {
            self.stream_of.remove(&conn);
            self.node.handle_closed(now, conn);
        }
    }
}
