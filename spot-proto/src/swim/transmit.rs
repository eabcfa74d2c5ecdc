//! Building outgoing datagrams: the message, our own ALIVE when asked, then pending updates.

use bytes::{Bytes, BytesMut};

use crate::endpoint::Endpoint;
use crate::wire::spot::NodeId;
use crate::wire::swim::{Datagram, DatagramWriter, MessageBody, PingRef, SwimMessage};

use super::membership::Membership;

impl Membership {
    /// Queues one datagram to `to`.
    pub(crate) fn send(&mut self, to: Endpoint, message: &SwimMessage, include_self: bool) {
        self.send_with(to, message, include_self, &[]);
    }

    /// Queues a PING to `to` probing `target` (the same bytes as a [`SwimMessage::Ping`], without
    /// a clone of the id).
    pub(crate) fn send_ping(
        &mut self,
        to: Endpoint,
        seq: u32,
        target: &NodeId,
        suspicion: Option<u64>,
    ) {
        self.send_with(to, &PingRef { seq, target, suspicion }, false, &[]);
    }

    /// Queues one datagram to `to`, with `extra` encoded updates first (corrections meant for
    /// this receiver), then pending updates.
    pub(crate) fn send_with<M: MessageBody>(
        &mut self,
        to: Endpoint,
        message: &M,
        include_self: bool,
        extra: &[Bytes],
    ) {
        // Each datagram gets its own buffer, sized for what it will hold (at most the largest
        // datagram): the allocator hands back memory freed a moment ago (still in cache),
        // where a per-member arena would walk through cold memory and share one reference
        // count between dozens of datagrams. Sizing for the largest datagram whenever updates
        // were pending made every datagram of a busy period a 1.4 kB allocation, and the heap
        // grew and shrank with them (page faults were a fifth of the CPU after a crash).
        let mut capacity = match self.prefix.get() {
            Some(prefix) => prefix.len() + message.encoded_len() + 1,
            None => DatagramWriter::head_len_of(&self.local.id, message),
        };
        capacity += extra.iter().map(Bytes::len).sum::<usize>();
        if include_self {
            capacity += self.local_alive.len();
        }
        capacity += self.broadcasts.encoded_len();
        let capacity = capacity.min(self.hot.max_datagram_size);
        let mut buf = BytesMut::with_capacity(capacity);
        let mut writer = match self.prefix.get() {
            Some(prefix) => DatagramWriter::with_prefix(
                &mut buf,
                prefix,
                message,
                self.hot.max_datagram_size,
                self.hot.max_updates,
            ),
            None => DatagramWriter::new_with(
                &mut buf,
                self.config.cluster_id,
                &self.local.id,
                message,
                &self.config.limits,
            ),
        };
        if include_self {
            writer.push_encoded(&self.local_alive);
        }
        for update in extra {
            writer.push_encoded(update);
        }
        if !self.broadcasts.is_empty() {
            let limit = self.retransmit_limit();
            self.broadcasts.fill(&mut writer, limit, include_self.then_some(&self.local.id));
        }
        let updates = writer.finish();
        let payload = buf.freeze();
        self.stats.datagrams_out += 1;
        self.stats.bytes_out += payload.len() as u64;
        self.stats.updates_sent += updates as u64;
        self.queue_transmit(Datagram { to, payload });
    }

    /// How often each update is piggybacked: `retransmit_multiplier × ceil(log10(N + 1))`, N the
    /// live members including us; at least 1.
    pub(crate) fn retransmit_limit(&self) -> u32 {
        let n = self.table.live() as u64 + 1;
        let mut digits = 0u32;
        let mut power = 1u64;
        while power < n + 1 {
            power = power.saturating_mul(10);
            digits += 1;
        }
        self.hot.retransmit_multiplier.saturating_mul(digits).max(1)
    }
}
