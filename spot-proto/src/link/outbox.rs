//! The write side of a link: the control and data queues, and their serialization into
//! transmit chunks (small frames coalesced, large bodies handed through zero-copy).

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::stats::LinkStats;
use crate::wire::zmtp::{
    Command, FrameHeader, Message, Subscription, SubscriptionForm, ZmtpVersion,
};

/// An item of the control queue.
#[derive(Debug)]
pub(super) enum Control {
    /// Subscribe/cancel; the form is chosen when serialized (after the peer's version is known).
    Subscription(Subscription),
    /// A command (PING, PONG, ERROR, unknown); dropped at serialization for a 3.0 peer.
    Command(Command),
    /// A data message with control priority (SPOT QUERY, membership).
    Message(Message),
}

impl Control {
    /// Bytes this item counts against the control bound.
    fn cost(&self) -> usize {
        match self {
            Control::Subscription(s) => s.encoded_len(SubscriptionForm::Command),
            Control::Command(c) => c.encoded_len(),
            Control::Message(m) => m.encoded_len(),
        }
    }
}

/// Queues and serialized output, in wire order: `chunks` first, then `sealed`, then `staged`.
#[derive(Debug)]
pub(super) struct Outbox {
    /// Serialized chunks ready to hand out, in order.
    chunks: VecDeque<Bytes>,
    /// Chunks of messages serialized at once ([`Outbox::stage_data`]) that filled up, after
    /// `chunks`: they still count as queued until handed out.
    sealed: VecDeque<SealedChunk>,
    /// Messages and payload bytes in `sealed`.
    sealed_messages: usize,
    sealed_payload: usize,
    /// Serialized bytes after `chunks` and `sealed`, still coalescing.
    staged: BytesMut,
    control: VecDeque<Control>,
    control_bytes: usize,
    control_limit: usize,
    data: VecDeque<Message>,
    data_bytes: usize,
    /// Data messages serialized straight into `staged` (not yet handed out): they count
    /// against the high-water mark like queued ones.
    staged_messages: usize,
    /// Payload bytes of `staged_messages`.
    staged_payload: usize,
    chunk_size: usize,
    zero_copy_threshold: usize,
}

impl Outbox {
    pub(super) fn new(control_limit: usize, chunk_size: usize, zero_copy_threshold: usize) -> Self {
        Outbox {
            chunks: VecDeque::new(),
            sealed: VecDeque::new(),
            sealed_messages: 0,
            sealed_payload: 0,
            staged: BytesMut::new(),
            control: VecDeque::new(),
            control_bytes: 0,
            control_limit,
            data: VecDeque::new(),
            data_bytes: 0,
            staged_messages: 0,
            staged_payload: 0,
            chunk_size: chunk_size.max(1),
            zero_copy_threshold: zero_copy_threshold.max(1),
        }
    }

    /// Room for `additional` more staged bytes, allocating a whole chunk at a time.
    fn reserve(&mut self, additional: usize) {
        if self.staged.capacity() - self.staged.len() < additional {
            self.staged.reserve(additional.max(self.chunk_size));
        }
    }

    /// Serializes handshake bytes (greeting, READY, ERROR) right away, ahead of both queues.
    pub(super) fn stage(&mut self, len: usize, write: impl FnOnce(&mut BytesMut)) {
        self.reserve(len);
        write(&mut self.staged);
    }

    /// Queues a control item unless that would pass the control bound (an item is always
    /// accepted into an empty queue). Returns the item if refused.
    #[allow(clippy::result_large_err)] // the item comes back by value, unallocated
    pub(super) fn push_control(&mut self, item: Control) -> Result<(), Control> {
        let cost = item.cost();
        if !self.control.is_empty() && self.control_bytes.saturating_add(cost) > self.control_limit
        {
            return Err(item);
        }
        self.control_bytes += cost;
        self.control.push_back(item);
        Ok(())
    }

    /// Whether a data message of `payload` bytes would pass the high-water mark.
    pub(super) fn data_full(&self, hwm: usize, hwm_bytes: usize, payload: usize) -> bool {
        let queued = self.queued_messages();
        queued >= hwm || (queued > 0 && self.queued_bytes().saturating_add(payload) > hwm_bytes)
    }

    /// Whether a data message of `payload` bytes may be serialized at once: nothing is queued
    /// ahead of it and it is small enough to be copied.
    pub(super) fn can_stage_data(&self, payload: usize) -> bool {
        self.control.is_empty() && self.data.is_empty() && payload < self.zero_copy_threshold
    }

    /// Serializes a small data message (see [`Outbox::can_stage_data`]) into the staged bytes
    /// now: no queue entry, no second pass.
    pub(super) fn stage_data(&mut self, frames: &[&Bytes], payload: usize, stats: &mut LinkStats) {
        let wire: usize =
            frames.iter().map(|f| FrameHeader::encoded_len_for(f.len()) + f.len()).sum();
        self.reserve(wire);
        for (i, body) in frames.iter().enumerate() {
            FrameHeader::data(body.len(), i + 1 < frames.len()).encode(&mut self.staged);
            self.staged.put_slice(body);
        }
        self.staged_messages += 1;
        self.staged_payload += payload;
        stats.messages_out += 1;
        stats.payload_bytes_out += payload as u64;
        if self.staged.len() >= self.chunk_size {
            // A full chunk: sealed as it is, so a chunk handed out stays about one chunk long
            // however far the sender runs ahead of the writer.
            let (messages, payload) = (self.staged_messages, self.staged_payload);
            let bytes = self.take_staged();
            self.sealed_messages += messages;
            self.sealed_payload += payload;
            self.sealed.push_back(SealedChunk { bytes, messages, payload });
        }
    }

    /// Moves the sealed chunks to `chunks` (they no longer count as queued).
    fn unseal(&mut self) {
        self.chunks.extend(self.sealed.drain(..).map(|c| c.bytes));
        self.sealed_messages = 0;
        self.sealed_payload = 0;
    }

    /// The staged bytes, frozen for the driver; staged messages no longer count as queued.
    fn take_staged(&mut self) -> Bytes {
        self.staged_messages = 0;
        self.staged_payload = 0;
        self.staged.split().freeze()
    }

    pub(super) fn push_data(&mut self, msg: Message) {
        self.data_bytes += msg.payload_len();
        self.data.push_back(msg);
    }

    /// Data messages queued (or serialized and not yet handed out).
    pub(super) fn queued_messages(&self) -> usize {
        self.data.len() + self.staged_messages + self.sealed_messages
    }

    /// Payload bytes of the queued data messages.
    pub(super) fn queued_bytes(&self) -> usize {
        self.data_bytes + self.staged_payload + self.sealed_payload
    }

    /// Discards both queues (serialized bytes stay); returns how many items were discarded.
    pub(super) fn discard_queues(&mut self) -> usize {
        let n = self.control.len() + self.data.len();
        self.control.clear();
        self.data.clear();
        self.control_bytes = 0;
        self.data_bytes = 0;
        n
    }

    /// The next chunk to write. With `peer` set (handshake complete), queued items are
    /// serialized first: control before data, up to about `chunk_size` bytes per chunk.
    pub(super) fn poll(
        &mut self,
        peer: Option<ZmtpVersion>,
        stats: &mut LinkStats,
    ) -> Option<Bytes> {
        if self.chunks.is_empty()
            && let Some(sealed) = self.sealed.pop_front()
        {
            self.sealed_messages -= sealed.messages;
            self.sealed_payload -= sealed.payload;
            return Some(sealed.bytes);
        }
        if self.chunks.is_empty() {
            if let Some(version) = peer {
                self.fill(version, stats, self.chunk_size);
            }
            if self.chunks.is_empty() && !self.staged.is_empty() {
                return Some(self.take_staged());
            }
        }
        self.chunks.pop_front()
    }

    /// Serializes everything queued (used by a graceful close).
    pub(super) fn flush_all(&mut self, version: ZmtpVersion, stats: &mut LinkStats) {
        self.unseal();
        while !self.control.is_empty() || !self.data.is_empty() {
            self.fill(version, stats, usize::MAX);
        }
    }

    fn fill(&mut self, version: ZmtpVersion, stats: &mut LinkStats, target: usize) {
        while self.staged.len() < target {
            if let Some(item) = self.control.pop_front() {
                self.control_bytes -= item.cost();
                self.serialize_control(item, version, stats);
            } else if let Some(msg) = self.data.pop_front() {
                self.data_bytes -= msg.payload_len();
                stats.messages_out += 1;
                stats.payload_bytes_out += msg.payload_len() as u64;
                self.serialize_message(&msg);
            } else {
                break;
            }
            if !self.chunks.is_empty() && target != usize::MAX {
                // A large body was handed through: let the driver write it before more.
                break;
            }
        }
    }

    fn serialize_control(&mut self, item: Control, version: ZmtpVersion, stats: &mut LinkStats) {
        match item {
            Control::Subscription(sub) => {
                let form = SubscriptionForm::for_peer(version);
                self.reserve(sub.encoded_len(form));
                sub.encode(form, &mut self.staged);
                stats.subscriptions_out += 1;
                if form == SubscriptionForm::Command {
                    stats.commands_out += 1;
                }
            }
            Control::Command(command) => {
                if !version.accepts_commands() {
                    // Never send a command but READY to a 3.0 peer.
                    stats.dropped_control += 1;
                    return;
                }
                match &command {
                    Command::Ping(_) => stats.pings_sent += 1,
                    Command::Pong(_) => stats.pongs_sent += 1,
                    _ => {}
                }
                stats.commands_out += 1;
                self.reserve(command.encoded_len());
                command.encode(&mut self.staged);
            }
            Control::Message(msg) => {
                stats.messages_out += 1;
                stats.payload_bytes_out += msg.payload_len() as u64;
                self.serialize_message(&msg);
            }
        }
    }

    /// Frame headers and small bodies are copied into `staged`; a body of at least
    /// `zero_copy_threshold` bytes becomes its own chunk (after flushing `staged`).
    fn serialize_message(&mut self, msg: &Message) {
        let frames = msg.frames();
        for (i, body) in frames.iter().enumerate() {
            let header = FrameHeader::data(body.len(), i + 1 < frames.len());
            if body.len() >= self.zero_copy_threshold {
                self.reserve(header.len());
                header.encode(&mut self.staged);
                let head = self.take_staged();
                self.chunks.push_back(head);
                self.chunks.push_back(body.clone());
            } else {
                self.reserve(header.len() + body.len());
                header.encode(&mut self.staged);
                self.staged.put_slice(body);
            }
        }
    }
}

/// A full chunk of messages serialized at once, with what it holds (for the high-water mark).
#[derive(Debug)]
struct SealedChunk {
    bytes: Bytes,
    messages: usize,
    payload: usize,
}
