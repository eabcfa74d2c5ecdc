//! [`SwimProcess`]: one `Membership` as a simulated process, with push-pull over streams.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::Limits;
use crate::collections::FxHashMap;
use crate::endpoint::Endpoint;
use crate::sim::{Output, SimProcess, StreamId};
use crate::swim::{Membership, MembershipEvent};
use crate::time::Instant;
use crate::wire::spot::{Envelope, PushPull, SpotCommand};
use crate::wire::zmtp::{Item, Message, StreamDecoder};

/// One end of a push-pull connection.
#[derive(Debug)]
struct PushPullLink {
    peer: Endpoint,
    decoder: StreamDecoder,
}

/// Counters of the push-pull transfers a [`SwimProcess`] made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushPullStats {
    /// Connections dialed for a push-pull exchange.
    pub dialed: u64,
    /// Connections that could not be made.
    pub connect_failed: u64,
    /// Exchanges answered as the accepting side.
    pub answered: u64,
    /// Exchanges completed as the dialing side.
    pub completed: u64,
    /// Bytes written on push-pull connections.
    pub bytes_out: u64,
    /// Messages on a push-pull connection that did not decode.
    pub malformed: u64,
}

/// A `Membership` driven by the simulator.
///
/// Datagrams go straight between the network and the state machine. A push-pull request from
/// `Membership::poll_push_pull` dials a stream to the peer and carries the exchange as SPOT
/// PUSH_PULL_REQ / PUSH_PULL_RESP commands in ZMTP frames (the link handshake is left out: the
/// stream stands for an established node-to-node connection).
// `repr(C)`: the output queue polled after every input sits right before the state machine's
// hot fields.
// Aligned, so that which cache lines the hot fields share does not depend on the allocator.
#[repr(C, align(64))]
pub struct SwimProcess {
    outputs: VecDeque<Output>,
    membership: Membership,
    limits: Limits,
    pending: FxHashMap<u64, (Endpoint, PushPull)>,
    links: FxHashMap<StreamId, PushPullLink>,
    next_token: u64,
    stats: PushPullStats,
}

impl SwimProcess {
    /// Wraps a membership state machine.
    pub fn new(membership: Membership, limits: Limits) -> Self {
        SwimProcess {
            membership,
            limits,
            pending: FxHashMap::default(),
            links: FxHashMap::default(),
            next_token: 0,
            outputs: VecDeque::new(),
            stats: PushPullStats::default(),
        }
    }

    /// The state machine.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The state machine, to give it a command (use `Simulation::act` so outputs are drained).
    pub fn membership_mut(&mut self) -> &mut Membership {
        &mut self.membership
    }

    /// Push-pull counters.
    pub fn push_pull_stats(&self) -> PushPullStats {
        self.stats
    }

    fn write_command(&mut self, stream: StreamId, command: SpotCommand) {
        let message = Message::from_frames(command.encode(Envelope::Bare));
        let mut buf = BytesMut::with_capacity(message.encoded_len());
        message.encode(&mut buf);
        self.stats.bytes_out += buf.len() as u64;
        self.outputs.push_back(Output::Write { stream, bytes: buf.freeze() });
    }

    fn handle_command(
        &mut self,
        now: Instant,
        stream: StreamId,
        peer: Endpoint,
        message: &Message,
    ) {
        match SpotCommand::decode(message.frames(), &self.limits) {
            Ok(SpotCommand::PushPullReq(request)) => {
                self.stats.answered += 1;
                if let Some(response) = self.membership.handle_push_pull(now, peer, request) {
                    self.write_command(stream, SpotCommand::PushPullResp(response));
                }
            }
            Ok(SpotCommand::PushPullResp(response)) => {
                self.stats.completed += 1;
                let _ = self.membership.handle_push_pull(now, peer, response);
                self.close(stream);
            }
            _ => {
                self.stats.malformed += 1;
                self.close(stream);
            }
        }
    }

    fn close(&mut self, stream: StreamId) {
        if self.links.remove(&stream).is_some() {
            self.outputs.push_back(Output::Close { stream });
        }
    }
}

impl SimProcess for SwimProcess {
    type Event = MembershipEvent;

    fn handle_datagram(&mut self, now: Instant, from: &Endpoint, payload: Bytes) {
        self.membership.handle_datagram(now, from.clone(), payload);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.membership.handle_timeout(now);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.membership.poll_timeout()
    }

    fn poll_output(&mut self) -> Option<Output> {
        if let Some(output) = self.outputs.pop_front() {
            return Some(output);
        }
        if let Some(datagram) = self.membership.poll_transmit() {
            return Some(Output::Datagram { to: datagram.to, payload: datagram.payload });
        }
        if let Some((to, request)) = self.membership.poll_push_pull() {
            let token = self.next_token;
            self.next_token += 1;
            self.pending.insert(token, (to.clone(), request));
            self.stats.dialed += 1;
            return Some(Output::Connect { to, token });
        }
        None
    }

    fn poll_event(&mut self) -> Option<MembershipEvent> {
        self.membership.poll_event()
    }

    fn handle_stream_accepted(&mut self, _now: Instant, stream: StreamId, from: &Endpoint) {
        let link = PushPullLink { peer: from.clone(), decoder: StreamDecoder::new(&self.limits) };
        self.links.insert(stream, link);
    }

    fn handle_stream_connected(&mut self, _now: Instant, token: u64, stream: StreamId) {
        let Some((peer, request)) = self.pending.remove(&token) else {
            self.outputs.push_back(Output::Close { stream });
            return;
        };
        let link = PushPullLink { peer, decoder: StreamDecoder::new(&self.limits) };
        self.links.insert(stream, link);
        self.write_command(stream, SpotCommand::PushPullReq(request));
    }

    fn handle_stream_connect_failed(&mut self, _now: Instant, token: u64) {
        self.stats.connect_failed += 1;
        self.pending.remove(&token);
    }

    fn handle_stream_bytes(&mut self, now: Instant, stream: StreamId, bytes: Bytes) {
        let Some(link) = self.links.get_mut(&stream) else { return };
        link.decoder.feed(BytesMut::from(bytes));
        loop {
            let Some(link) = self.links.get_mut(&stream) else { return };
            match link.decoder.decode() {
                Ok(Some(Item::Message(message))) => {
                    let peer = link.peer.clone();
                    self.handle_command(now, stream, peer, &message);
                }
                Ok(None) => return,
                Ok(Some(_)) | Err(_) => {
                    self.stats.malformed += 1;
                    self.close(stream);
                    return;
                }
            }
        }
    }

    fn handle_stream_closed(&mut self, _now: Instant, stream: StreamId) {
        self.links.remove(&stream);
    }
}
