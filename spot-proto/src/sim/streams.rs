//! Ordered, reliable byte streams between simulated nodes (TCP-like connections).
//!
//! A stream never loses or reorders bytes: each chunk arrives no earlier than the chunk written
//! before it in the same direction. Partitions and crashes break streams instead of dropping
//! bytes, as a real connection would reset.

use crate::time::Instant;

/// One end of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StreamEnd {
    /// The end that dialed.
    Dialer,
    /// The end that accepted.
    Acceptor,
}

impl StreamEnd {
    pub(super) fn other(self) -> StreamEnd {
        match self {
            StreamEnd::Dialer => StreamEnd::Acceptor,
            StreamEnd::Acceptor => StreamEnd::Dialer,
        }
    }

    fn index(self) -> usize {
        match self {
            StreamEnd::Dialer => 0,
            StreamEnd::Acceptor => 1,
        }
    }
}

#[derive(Clone, Debug)]
struct Stream {
    nodes: [u32; 2],
    epochs: [u32; 2],
    /// The latest arrival scheduled at each end, to keep chunks in order.
    last_arrival: [Instant; 2],
    open: bool,
}

/// Every stream of a simulation, indexed by stream id.
#[derive(Debug, Default)]
pub(super) struct StreamTable {
    streams: Vec<Stream>,
    open_count: usize,
}

impl StreamTable {
    pub(super) fn open(
        &mut self,
        dialer: u32,
        dialer_epoch: u32,
        acceptor: u32,
        acceptor_epoch: u32,
    ) -> u32 {
        let id = self.streams.len() as u32;
        self.streams.push(Stream {
            nodes: [dialer, acceptor],
            epochs: [dialer_epoch, acceptor_epoch],
            last_arrival: [Instant::ZERO; 2],
            open: true,
        });
        self.open_count += 1;
        id
    }

    pub(super) fn node(&self, stream: u32, end: StreamEnd) -> u32 {
        self.streams[stream as usize].nodes[end.index()]
    }

    /// The node and node epoch owning `end` of `stream`.
    pub(super) fn owner(&self, stream: u32, end: StreamEnd) -> (u32, u32) {
        let s = &self.streams[stream as usize];
        (s.nodes[end.index()], s.epochs[end.index()])
    }

    /// Which end `node` holds, if it is part of `stream`.
    pub(super) fn end_of(&self, stream: u32, node: u32) -> Option<StreamEnd> {
        let s = self.streams.get(stream as usize)?;
        if s.nodes[0] == node {
            Some(StreamEnd::Dialer)
        } else if s.nodes[1] == node {
            Some(StreamEnd::Acceptor)
        } else {
            None
        }
    }

    pub(super) fn is_open(&self, stream: u32) -> bool {
        self.streams.get(stream as usize).is_some_and(|s| s.open)
    }

    /// Marks `stream` closed; `false` if it already was.
    pub(super) fn close(&mut self, stream: u32) -> bool {
        match self.streams.get_mut(stream as usize) {
            Some(s) if s.open => {
                s.open = false;
                self.open_count -= 1;
                true
            }
            _ => false,
        }
    }

    /// The arrival time of the next chunk at `end`: `earliest`, but never before the previous one.
    pub(super) fn arrival(&mut self, stream: u32, end: StreamEnd, earliest: Instant) -> Instant {
        let slot = &mut self.streams[stream as usize].last_arrival[end.index()];
        *slot = (*slot).max(earliest);
        *slot
    }

    /// Closes every open stream of `node` (it crashed); returns each with the peer's end.
    pub(super) fn break_node(&mut self, node: u32) -> Vec<(u32, StreamEnd)> {
        if self.open_count == 0 {
            return Vec::new();
        }
        let mut broken = Vec::new();
        for (id, s) in self.streams.iter_mut().enumerate() {
            if !s.open {
                continue;
            }
            let end = if s.nodes[0] == node {
                StreamEnd::Acceptor
            } else if s.nodes[1] == node {
                StreamEnd::Dialer
            } else {
                continue;
            };
            s.open = false;
            self.open_count -= 1;
            broken.push((id as u32, end));
        }
        broken
    }
}
