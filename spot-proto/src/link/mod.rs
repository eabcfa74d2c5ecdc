//! One ZMTP 3.x connection as a sans-IO state machine: greeting, NULL handshake, frames,
//! heartbeats, and the two write queues.
//!
//! A [`Link`] knows nothing of sockets or clocks. The driver feeds it what it read and the
//! time, and writes what it is told to write:
//!
//! ```
//! use bytes::BytesMut;
//! use spot_proto::link::{Link, LinkConfig, LinkEvent};
//! use spot_proto::wire::zmtp::{Message, SocketType};
//! use spot_proto::Instant;
//!
//! let now = Instant::ZERO;
//! let mut dialer = Link::new(LinkConfig::dialer(SocketType::Dealer), now);
//! let mut listener = Link::new(LinkConfig::listener(), now);
//! let _ = dialer.send(Message::single(&b"\x04"[..])); // queued until the handshake is done
//! // A driver loop, here with an in-memory "transport" in both directions.
//! for _ in 0..4 {
//!     while let Some(chunk) = dialer.poll_transmit() {
//!         listener.handle_read(now, BytesMut::from(&chunk[..]));
//!     }
//!     while let Some(chunk) = listener.poll_transmit() {
//!         dialer.handle_read(now, BytesMut::from(&chunk[..]));
//!     }
//! }
//! assert!(matches!(listener.poll_event(), Some(LinkEvent::HandshakeComplete(_))));
//! assert!(matches!(listener.poll_event(), Some(LinkEvent::Message(m)) if &m[0][..] == b"\x04"));
//! ```

mod config;
mod event;
mod outbox;
mod stats;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

pub use config::{HwmPolicy, LinkConfig, LinkRole};
pub use event::{CloseReason, LinkEvent, PeerInfo, SendError, SendOutcome};
pub use stats::LinkStats;

use crate::error::DecodeError;
use crate::time::Instant;
use crate::wire::zmtp::{
    Command, ErrorCommand, GREETING_LEN, Greeting, GreetingParser, GreetingStatus, Item, Message,
    Ping, Ready, SocketType, StreamDecoder, Subscription, SubscriptionForm, ZmtpVersion,
};
use outbox::{Control, Outbox};

/// Where a link is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting for (the rest of) the peer's greeting. Ours was queued at creation.
    Greeting,
    /// Greetings exchanged; waiting for the peer's READY.
    Handshake,
    /// Both READYs exchanged: messages flow.
    Ready,
    /// Closed; see [`Link::close_reason`].
    Closed,
}

/// One ZMTP connection (sans-IO).
///
/// # Inputs
/// * [`Link::handle_read`]: bytes read from the transport, as owned `BytesMut`, split anywhere.
/// * [`Link::handle_timeout`]: the timer from [`Link::poll_timeout`] fired.
/// * [`Link::handle_transport_closed`]: the transport reported EOF or an error.
/// * Sends: [`Link::send`] (data queue, high-water mark), [`Link::send_control`],
///   [`Link::subscribe`], [`Link::cancel`], [`Link::send_command`] (control queue), and
///   [`Link::close`].
///
/// # Outputs and the drain contract
/// After **every** input or send, the driver:
/// 1. calls [`Link::poll_transmit`] until `None`, writing each chunk in order (vectored writes
///    welcome: small frames come coalesced, large bodies as their own zero-copy chunks). A
///    driver whose socket is not writable may stop early and resume when it is; queued
///    messages then stay in the link, where the high-water mark counts them;
/// 2. calls [`Link::poll_event`] until `None`;
/// 3. re-arms its single timer from [`Link::poll_timeout`] (`None`: no timer needed).
///
/// After [`LinkEvent::Closed`] (always the last event), the driver writes whatever
/// `poll_transmit` still returns (a final ERROR, or data flushed by [`Link::close`]) and closes
/// the transport. Inputs after that are ignored.
///
/// # Protocol behaviour
/// * Our 64-byte greeting is queued at creation, whole (works with libzmq, which sends its own
///   in pieces, and with the C++ original, which sends all 64 at once).
/// * Dialer: READY as soon as the peer's greeting is complete. Listener: waits for the
///   dialer's READY, then answers as ROUTER (to DEALER/ROUTER/REQ, with `Identity` and the
///   extra properties) or XPUB (to SUB/XSUB, `Socket-Type` alone).
/// * A refused READY (unknown, missing or incompatible socket type) closes the link, after an
///   ERROR command if the peer announced 3.1. Data before READY, another command before READY,
///   or ERROR instead of READY close it too.
/// * ZMTP 3.0 peers never receive a command other than READY: no PING, PONG or ERROR, and
///   subscriptions go as `0x01`/`0x00` data messages. Both subscription forms are accepted from
///   anyone (the data form from SUB/XSUB peers, where it is unambiguous).
/// * Heartbeats (if configured) go only to 3.1 peers; our PING advertises our timeout as TTL;
///   a PING from a 3.1 peer is answered with a PONG echoing its context.
/// * Malformed commands after the handshake are dropped and counted; broken framing closes.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    state: LinkState,
    greeting: GreetingParser,
    decoder: StreamDecoder,
    peer_greeting: Option<Greeting>,
    peer: Option<Box<PeerInfo>>,
    outbox: Outbox,
    events: VecDeque<LinkEvent>,
    handshake_deadline: Instant,
    heartbeat: Option<(core::time::Duration, core::time::Duration)>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    close_reason: Option<CloseReason>,
    stats: LinkStats,
}

impl Link {
    /// A new connection; our greeting is queued for transmission at once.
    pub fn new(config: LinkConfig, now: Instant) -> Link {
        let mut outbox = Outbox::new(
            config.control_queue_bytes,
            config.transmit_chunk_size,
            config.zero_copy_threshold,
        );
        let greeting = Greeting::null(config.version);
        outbox.stage(GREETING_LEN, |buf| greeting.encode(buf));
        Link {
            decoder: StreamDecoder::new(&config.limits),
            handshake_deadline: now + config.handshake_timeout,
            heartbeat: config.heartbeat(),
            config,
            state: LinkState::Greeting,
            greeting: GreetingParser::new(),
            peer_greeting: None,
            peer: None,
            outbox,
            events: VecDeque::new(),
            next_ping: None,
            pong_deadline: None,
            close_reason: None,
            stats: LinkStats::default(),
        }
    }

    // ---------------------------------------------------------------- accessors

    /// The configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Where the link is.
    pub fn state(&self) -> LinkState {
        self.state
    }

    /// Whether the handshake is complete and the link not closed.
    pub fn is_ready(&self) -> bool {
        self.state == LinkState::Ready
    }

    /// Whether the link is closed.
    pub fn is_closed(&self) -> bool {
        self.state == LinkState::Closed
    }

    /// Why the link closed, once it has.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    /// The peer, once the handshake completed.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_deref()
    }

    /// The peer's greeting, once received.
    pub fn peer_greeting(&self) -> Option<&Greeting> {
        self.peer_greeting.as_ref()
    }

    /// Counters.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Data messages waiting in the data queue (what the high-water mark counts).
    pub fn queued_messages(&self) -> usize {
        self.outbox.queued_messages()
    }

    /// Payload bytes waiting in the data queue.
    pub fn queued_bytes(&self) -> usize {
        self.outbox.queued_bytes()
    }

    // ---------------------------------------------------------------- outputs

    /// The next chunk of bytes to write, in order; `None` when there is nothing to write.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let peer = match self.state {
            LinkState::Ready => self.peer.as_ref().map(|p| p.version),
            _ => None,
        };
        let chunk = self.outbox.poll(peer, &mut self.stats)?;
        self.stats.wire_bytes_out += chunk.len() as u64;
        Some(chunk)
    }

    /// The next event; `None` when there is none.
    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// When [`Link::handle_timeout`] must be called next; `None` if no timer is needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            LinkState::Closed => None,
            LinkState::Greeting | LinkState::Handshake => Some(self.handshake_deadline),
            LinkState::Ready => match (self.next_ping, self.pong_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    // ---------------------------------------------------------------- inputs

    /// Bytes read from the transport.
    pub fn handle_read(&mut self, now: Instant, data: BytesMut) {
        if self.is_closed() {
            return;
        }
        self.stats.wire_bytes_in += data.len() as u64;
        if !data.is_empty() {
            // Any traffic proves the peer alive.
            self.pong_deadline = None;
        }
        self.decoder.feed(data);
        if self.state == LinkState::Greeting {
            match self.decoder.parse_greeting(&mut self.greeting) {
                Err(error) => return self.fail(CloseReason::Protocol(error)),
                Ok(GreetingStatus::Complete(greeting)) => self.on_peer_greeting(greeting),
                Ok(_) => return,
            }
        }
        while !self.is_closed() {
            match self.decoder.decode() {
                Ok(Some(item)) => self.on_item(now, item),
                Ok(None) => break,
                Err(error) => self.fail(CloseReason::Protocol(error)),
            }
        }
        let decoded = self.decoder.stats();
        self.stats.reserved_flag_frames = decoded.reserved_flags;
        self.stats.command_with_more = decoded.command_with_more;
    }

    /// The timer fired (call at or after [`Link::poll_timeout`]; early calls are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            LinkState::Closed => {}
            LinkState::Greeting | LinkState::Handshake => {
                if now >= self.handshake_deadline {
                    self.fail(CloseReason::HandshakeTimeout);
                }
            }
            LinkState::Ready => {
                if self.pong_deadline.is_some_and(|d| now >= d) {
                    return self.fail(CloseReason::HeartbeatTimeout);
                }
                let (Some(due), Some((interval, timeout))) = (self.next_ping, self.heartbeat)
                else {
                    return;
                };
                if now < due {
                    return;
                }
                let ping = Ping::new(timeout, Bytes::new());
                if self.outbox.push_control(Control::Command(Command::Ping(ping))).is_err() {
                    self.stats.dropped_control += 1;
                }
                self.next_ping = Some(now + interval);
                if self.pong_deadline.is_none() {
                    self.pong_deadline = Some(now + timeout);
                }
            }
        }
    }

    /// The transport reported end of stream or an error.
    pub fn handle_transport_closed(&mut self, _now: Instant) {
        let during_handshake = self.state != LinkState::Ready;
        self.fail(CloseReason::PeerClosed { during_handshake });
    }

    // ---------------------------------------------------------------- sends

    /// Queues a data message (after the handshake it goes out behind all control traffic).
    /// At the high-water mark the [`HwmPolicy`] decides: drop and count, or `WouldBlock`.
    #[allow(clippy::result_large_err)] // the message comes back by value, unallocated
    pub fn send(&mut self, msg: Message) -> Result<SendOutcome, SendError<Message>> {
        if self.is_closed() {
            return Err(SendError::Closed(msg));
        }
        if msg.is_empty() {
            return Err(SendError::Unsupported(msg));
        }
        let cfg = &self.config;
        if self.outbox.data_full(cfg.data_hwm, cfg.data_hwm_bytes, msg.payload_len()) {
            return match cfg.hwm_policy {
                HwmPolicy::DropNewest => {
                    self.stats.dropped_hwm += 1;
                    Ok(SendOutcome::Dropped)
                }
                HwmPolicy::WouldBlock => Err(SendError::WouldBlock(msg)),
            };
        }
        self.outbox.push_data(msg);
        Ok(SendOutcome::Queued)
    }

    /// [`Link::send`] for a message given as its frames. A small message on a ready link with
    /// nothing queued ahead of it is serialized at once, skipping the queue; it still counts
    /// against the high-water mark until [`Link::poll_transmit`] hands it out.
    #[allow(clippy::result_large_err)] // the message comes back by value, unallocated
    pub fn send_frames(&mut self, frames: &[&Bytes]) -> Result<SendOutcome, SendError<Message>> {
        let owned = || Message::from_frames(frames.iter().copied().cloned());
        let payload: usize = frames.iter().map(|f| f.len()).sum();
        if self.state != LinkState::Ready
            || frames.is_empty()
            || !self.outbox.can_stage_data(payload)
        {
            return self.send(owned());
        }
        let cfg = &self.config;
        if self.outbox.data_full(cfg.data_hwm, cfg.data_hwm_bytes, payload) {
            return match cfg.hwm_policy {
                HwmPolicy::DropNewest => {
                    self.stats.dropped_hwm += 1;
                    Ok(SendOutcome::Dropped)
                }
                HwmPolicy::WouldBlock => Err(SendError::WouldBlock(owned())),
            };
        }
        self.outbox.stage_data(frames, payload, &mut self.stats);
        Ok(SendOutcome::Queued)
    }

    /// Queues a data message with control priority (SPOT QUERY, membership traffic): it goes
    /// out before any queued data message and does not count against the high-water mark.
    #[allow(clippy::result_large_err)] // the message comes back by value, unallocated
    pub fn send_control(&mut self, msg: Message) -> Result<(), SendError<Message>> {
        if self.is_closed() {
            return Err(SendError::Closed(msg));
        }
        if msg.is_empty() {
            return Err(SendError::Unsupported(msg));
        }
        self.outbox.push_control(Control::Message(msg)).map_err(|item| match item {
            Control::Message(m) => SendError::WouldBlock(m),
            _ => SendError::WouldBlock(Message::new()),
        })
    }

    /// Subscribes to `prefix` (empty: everything). Sent as SUBSCRIBE to a 3.1 peer and as a
    /// `0x01`+prefix data message to a 3.0 peer; queued until the handshake tells which.
    pub fn subscribe(&mut self, prefix: impl Into<Bytes>) -> Result<(), SendError<Bytes>> {
        self.queue_subscription(Subscription::Subscribe(prefix.into()))
    }

    /// Cancels a subscription to `prefix` (CANCEL, or `0x00`+prefix to a 3.0 peer).
    pub fn cancel(&mut self, prefix: impl Into<Bytes>) -> Result<(), SendError<Bytes>> {
        self.queue_subscription(Subscription::Cancel(prefix.into()))
    }

    fn queue_subscription(&mut self, sub: Subscription) -> Result<(), SendError<Bytes>> {
        if self.is_closed() {
            return Err(SendError::Closed(sub.prefix().clone()));
        }
        self.outbox.push_control(Control::Subscription(sub)).map_err(|item| match item {
            Control::Subscription(s) => SendError::WouldBlock(s.prefix().clone()),
            _ => SendError::WouldBlock(Bytes::new()),
        })
    }

    /// Queues a command on the control queue (ERROR, an extension command). READY belongs to
    /// the handshake and is refused; so is any command to a peer that announced ZMTP 3.0. A
    /// command queued before the handshake for a peer that turns out to speak 3.0 is dropped
    /// and counted.
    pub fn send_command(&mut self, command: Command) -> Result<(), SendError<Command>> {
        if self.is_closed() {
            return Err(SendError::Closed(command));
        }
        let peer_is_v30 = self.peer_greeting.is_some_and(|g| !g.version().accepts_commands());
        if matches!(command, Command::Ready(_)) || peer_is_v30 {
            return Err(SendError::Unsupported(command));
        }
        self.outbox.push_control(Control::Command(command)).map_err(|item| match item {
            Control::Command(c) => SendError::WouldBlock(c),
            _ => SendError::WouldBlock(Command::Subscribe(Bytes::new())),
        })
    }

    /// Changes the data high-water mark (messages). Messages queued beyond a lowered mark stay
    /// queued; new ones are refused or dropped until the queue is below it.
    pub fn set_data_hwm(&mut self, messages: usize) {
        self.config.data_hwm = messages.max(1);
    }

    /// Closes the link gracefully: if the handshake is complete, everything queued is
    /// serialized for `poll_transmit` first (linger); otherwise it is discarded. Emits
    /// [`LinkEvent::Closed`] with [`CloseReason::Local`].
    pub fn close(&mut self) {
        if self.is_closed() {
            return;
        }
        if let (LinkState::Ready, Some(peer)) = (self.state, &self.peer) {
            let version = peer.version;
            self.outbox.flush_all(version, &mut self.stats);
        }
        self.fail(CloseReason::Local);
    }

    // ---------------------------------------------------------------- internals

    fn fail(&mut self, reason: CloseReason) {
        if self.is_closed() {
            return;
        }
        tracing::debug!(%reason, "ZMTP link closed");
        self.state = LinkState::Closed;
        self.stats.dropped_on_close += self.outbox.discard_queues() as u64;
        self.next_ping = None;
        self.pong_deadline = None;
        self.close_reason = Some(reason.clone());
        self.events.push_back(LinkEvent::Closed(reason));
    }

    fn on_peer_greeting(&mut self, greeting: Greeting) {
        self.peer_greeting = Some(greeting);
        self.state = LinkState::Handshake;
        if let LinkRole::Dialer { socket_type } = self.config.role {
            let ready = self.our_ready(socket_type);
            self.stage_command(&Command::Ready(ready));
        }
    }

    /// Our READY as `socket_type`: `Socket-Type`, then `Identity` for DEALER/ROUTER/REQ, then
    /// the extra properties — except a listener's XPUB answer, which is `Socket-Type` alone.
    fn our_ready(&self, socket_type: SocketType) -> Ready {
        let listener_xpub =
            self.config.role == LinkRole::Listener && socket_type == SocketType::XPub;
        if listener_xpub {
            return Ready::new(socket_type);
        }
        let mut ready = if socket_type.sends_identity() {
            Ready::with_identity(socket_type, self.config.identity.clone())
        } else {
            Ready::new(socket_type)
        };
        for (name, value) in self.config.properties.iter() {
            // Validated when they entered the config's property list.
            let _ = ready.push_property(name.clone(), value.clone());
        }
        ready
    }

    fn stage_command(&mut self, command: &Command) {
        self.stats.commands_out += 1;
        self.outbox.stage(command.encoded_len(), |buf| command.encode(buf));
    }

    fn peer_version(&self) -> ZmtpVersion {
        self.peer_greeting.map_or(ZmtpVersion::V3_0, |g| g.version())
    }

    fn on_item(&mut self, now: Instant, item: Item) {
        if let Item::Command(_) | Item::InvalidCommand(_) = item {
            self.stats.commands_in += 1;
        }
        match self.state {
            LinkState::Handshake => self.on_handshake_item(now, item),
            LinkState::Ready => self.on_ready_item(item),
            LinkState::Greeting | LinkState::Closed => {}
        }
    }

    fn on_handshake_item(&mut self, now: Instant, item: Item) {
        let reason = match item {
            Item::Command(Command::Ready(ready)) => return self.on_peer_ready(now, ready),
            Item::Command(Command::Error(error)) => {
                CloseReason::PeerError { reason: error.reason().clone() }
            }
            Item::InvalidCommand(error) => CloseReason::Protocol(error),
            Item::Command(_) => CloseReason::Protocol(DecodeError::UnexpectedDuringHandshake {
                what: "command other than READY",
            }),
            Item::Message(_) => CloseReason::Protocol(DecodeError::UnexpectedDuringHandshake {
                what: "data message",
            }),
        };
        self.fail(reason);
    }

    fn on_peer_ready(&mut self, now: Instant, ready: Ready) {
        let peer_type = match ready.socket_type() {
            Ok(t) => t,
            Err(error) => return self.refuse(CloseReason::Protocol(error)),
        };
        let ours = match self.config.role {
            LinkRole::Dialer { socket_type } => Some(socket_type),
            LinkRole::Listener => listener_answer(peer_type),
        };
        let Some(ours) = ours.filter(|o| o.is_valid_partner(peer_type)) else {
            let dealer_meets_publisher = self.config.role
                == (LinkRole::Dialer { socket_type: SocketType::Dealer })
                && peer_type.is_publisher();
            return self.refuse(if dealer_meets_publisher {
                CloseReason::PeerIsPublisher { peer: peer_type }
            } else {
                CloseReason::IncompatiblePeer { peer: peer_type }
            });
        };
        if self.config.role == LinkRole::Listener {
            let answer = self.our_ready(ours);
            self.stage_command(&Command::Ready(answer));
        }
        let Some(greeting) = self.peer_greeting else {
            return;
        };
        let info = PeerInfo {
            socket_type: peer_type,
            our_socket_type: ours,
            version: greeting.version(),
            greeting,
            properties: ready.into_properties(),
        };
        self.state = LinkState::Ready;
        if info.version.accepts_commands()
            && let Some((interval, _)) = self.heartbeat
        {
            self.next_ping = Some(now + interval);
        }
        self.events.push_back(LinkEvent::HandshakeComplete(Box::new(info.clone())));
        self.peer = Some(Box::new(info));
    }

    /// Closes on a refused READY, sending ERROR first to a peer that accepts commands.
    fn refuse(&mut self, reason: CloseReason) {
        if self.peer_version().accepts_commands() {
            let text: &'static str = match &reason {
                CloseReason::Protocol(DecodeError::MissingSocketType) => "missing Socket-Type",
                _ => "incompatible socket type",
            };
            self.stage_command(&Command::Error(ErrorCommand::new(text)));
        }
        self.fail(reason);
    }

    fn on_ready_item(&mut self, item: Item) {
        let peer_is_subscriber = self.peer.as_ref().is_some_and(|p| p.socket_type.is_subscriber());
        match item {
            Item::Message(msg) => {
                if peer_is_subscriber && let Some(change) = Subscription::from_data_message(&msg) {
                    self.stats.subscriptions_in += 1;
                    let form = SubscriptionForm::DataFrame;
                    self.events.push_back(LinkEvent::Subscription { change, form });
                    return;
                }
                self.stats.messages_in += 1;
                self.stats.payload_bytes_in += msg.payload_len() as u64;
                self.events.push_back(LinkEvent::Message(msg));
            }
            Item::Command(Command::Subscribe(prefix)) => {
                self.on_subscription_command(Subscription::Subscribe(prefix))
            }
            Item::Command(Command::Cancel(prefix)) => {
                self.on_subscription_command(Subscription::Cancel(prefix))
            }
            Item::Command(Command::Ping(ping)) => {
                self.stats.pings_received += 1;
                if !self.peer_version().accepts_commands() {
                    self.stats.ignored_commands += 1;
                    return;
                }
                let pong = Control::Command(Command::Pong(ping.pong()));
                if self.outbox.push_control(pong).is_err() {
                    self.stats.dropped_control += 1;
                }
            }
            Item::Command(Command::Pong(pong)) => {
                self.stats.pongs_received += 1;
                self.events.push_back(LinkEvent::Pong { context: pong.context().clone() });
            }
            Item::Command(Command::Ready(_)) => self.stats.ignored_commands += 1,
            Item::Command(Command::Error(error)) => {
                self.fail(CloseReason::PeerError { reason: error.reason().clone() })
            }
            Item::Command(Command::Unknown(_)) => self.stats.unknown_commands += 1,
            Item::InvalidCommand(_) => self.stats.malformed_commands += 1,
        }
    }

    fn on_subscription_command(&mut self, change: Subscription) {
        self.stats.subscriptions_in += 1;
        let form = SubscriptionForm::Command;
        self.events.push_back(LinkEvent::Subscription { change, form });
    }
}

/// The socket type a listener answers with for a dialer of type `peer`.
fn listener_answer(peer: SocketType) -> Option<SocketType> {
    match peer {
        SocketType::Dealer | SocketType::Router | SocketType::Req => Some(SocketType::Router),
        SocketType::Sub | SocketType::XSub => Some(SocketType::XPub),
        _ => None,
    }
}
