//! foca 2.0 as a simulated process: identity, codec, runtime and timers over `spot_proto::sim`.

use core::cmp::Ordering;
use core::convert::Infallible;
use core::time::Duration;
use std::collections::{BinaryHeap, VecDeque};

use bytes::{Buf, BufMut, Bytes};
use foca::{
    AccumulatingRuntime, Codec, Config, Foca, Header, Identity, Member, Message, NoCustomBroadcast,
    OwnedNotification, State, Timer,
};
use spot_proto::rng::SpotRng;
use spot_proto::sim::{Change, ClusterFactory, Output, SimProcess, StartMode, member_endpoint};
use spot_proto::{Endpoint, Instant};

/// A member identity: its simulated node index and a generation bumped on rejoin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FocaId {
    /// Node index in the simulation.
    pub index: u32,
    /// Bumped by `renew`.
    pub generation: u16,
}

impl Identity for FocaId {
    type Addr = u32;

    fn renew(&self) -> Option<Self> {
        Some(FocaId { index: self.index, generation: self.generation.wrapping_add(1) })
    }

    fn addr(&self) -> u32 {
        self.index
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.generation > adversary.generation
    }
}

/// foca's `rand` 0.10 interface over the simulation's seeded generator.
pub struct FocaRng(pub SpotRng);

impl rand_core::TryRng for FocaRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.0.next_u64() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

/// A compact binary codec (foca ships only a postcard one behind a feature).
#[derive(Clone, Copy, Debug, Default)]
pub struct FocaCodec;

/// A datagram that does not decode.
#[derive(Debug)]
pub struct CodecError(&'static str);

impl core::fmt::Display for CodecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

impl core::error::Error for CodecError {}

const ID_LEN: usize = 6;

fn put_id(buf: &mut impl BufMut, id: &FocaId) {
    buf.put_u32(id.index);
    buf.put_u16(id.generation);
}

fn get_id(buf: &mut impl Buf) -> Result<FocaId, CodecError> {
    if buf.remaining() < ID_LEN {
        return Err(CodecError("short identity"));
    }
    Ok(FocaId { index: buf.get_u32(), generation: buf.get_u16() })
}

fn get_u8(buf: &mut impl Buf) -> Result<u8, CodecError> {
    if buf.remaining() < 1 {
        return Err(CodecError("short datagram"));
    }
    Ok(buf.get_u8())
}

impl Codec<FocaId> for FocaCodec {
    type Error = CodecError;

    fn encode_header(
        &mut self,
        header: &Header<FocaId>,
        mut buf: impl BufMut,
    ) -> Result<(), CodecError> {
        if buf.remaining_mut() < 2 * ID_LEN + 2 + 1 + ID_LEN + 1 {
            return Err(CodecError("no room for a header"));
        }
        put_id(&mut buf, &header.src);
        buf.put_u16(header.src_incarnation);
        put_id(&mut buf, &header.dst);
        match &header.message {
            Message::Ping(n) => buf.put_slice(&[0, *n]),
            Message::Ack(n) => buf.put_slice(&[1, *n]),
            Message::PingReq { target, probe_number } => {
                buf.put_u8(2);
                put_id(&mut buf, target);
                buf.put_u8(*probe_number);
            }
            Message::IndirectPing { origin, probe_number } => {
                buf.put_u8(3);
                put_id(&mut buf, origin);
                buf.put_u8(*probe_number);
            }
            Message::IndirectAck { target, probe_number } => {
                buf.put_u8(4);
                put_id(&mut buf, target);
                buf.put_u8(*probe_number);
            }
            Message::ForwardedAck { origin, probe_number } => {
                buf.put_u8(5);
                put_id(&mut buf, origin);
                buf.put_u8(*probe_number);
            }
            Message::Announce => buf.put_u8(6),
            Message::Feed => buf.put_u8(7),
            Message::Gossip => buf.put_u8(8),
            Message::Broadcast => buf.put_u8(9),
            Message::TurnUndead => buf.put_u8(10),
        }
        Ok(())
    }

    fn decode_header(&mut self, mut buf: impl Buf) -> Result<Header<FocaId>, CodecError> {
        let src = get_id(&mut buf)?;
        if buf.remaining() < 2 {
            return Err(CodecError("short header"));
        }
        let src_incarnation = buf.get_u16();
        let dst = get_id(&mut buf)?;
        let message = match get_u8(&mut buf)? {
            0 => Message::Ping(get_u8(&mut buf)?),
            1 => Message::Ack(get_u8(&mut buf)?),
            2 => Message::PingReq { target: get_id(&mut buf)?, probe_number: get_u8(&mut buf)? },
            3 => {
                Message::IndirectPing { origin: get_id(&mut buf)?, probe_number: get_u8(&mut buf)? }
            }
            4 => {
                Message::IndirectAck { target: get_id(&mut buf)?, probe_number: get_u8(&mut buf)? }
            }
            5 => {
                Message::ForwardedAck { origin: get_id(&mut buf)?, probe_number: get_u8(&mut buf)? }
            }
            6 => Message::Announce,
            7 => Message::Feed,
            8 => Message::Gossip,
            9 => Message::Broadcast,
            10 => Message::TurnUndead,
            _ => return Err(CodecError("unknown message")),
        };
        Ok(Header { src, src_incarnation, dst, message })
    }

    fn encode_member(
        &mut self,
        member: &Member<FocaId>,
        mut buf: impl BufMut,
    ) -> Result<(), CodecError> {
        if buf.remaining_mut() < ID_LEN + 3 {
            return Err(CodecError("no room for a member"));
        }
        put_id(&mut buf, member.id());
        buf.put_u16(member.incarnation());
        buf.put_u8(match member.state() {
            State::Alive => 0,
            State::Suspect => 1,
            State::Down => 2,
        });
        Ok(())
    }

    fn decode_member(&mut self, mut buf: impl Buf) -> Result<Member<FocaId>, CodecError> {
        let id = get_id(&mut buf)?;
        if buf.remaining() < 3 {
            return Err(CodecError("short member"));
        }
        let incarnation = buf.get_u16();
        let state = match buf.get_u8() {
            0 => State::Alive,
            1 => State::Suspect,
            2 => State::Down,
            _ => return Err(CodecError("unknown state")),
        };
        Ok(Member::new(id, incarnation, state))
    }
}

struct PendingTimer {
    at: Instant,
    seq: u64,
    timer: Timer<FocaId>,
}

impl PartialEq for PendingTimer {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for PendingTimer {}
impl PartialOrd for PendingTimer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PendingTimer {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// One foca member driven by the simulator.
pub struct FocaProcess {
    foca: Foca<FocaId, FocaCodec, FocaRng, NoCustomBroadcast>,
    runtime: AccumulatingRuntime<FocaId>,
    timers: BinaryHeap<PendingTimer>,
    next_seq: u64,
    outputs: VecDeque<Output>,
    events: VecDeque<OwnedNotification<FocaId>>,
    /// Datagrams foca refused (decode errors and the like).
    pub errors: u64,
}

impl FocaProcess {
    /// A member with identity `index` and `config`.
    pub fn new(index: usize, config: Config, rng: SpotRng) -> Self {
        let id = FocaId { index: index as u32, generation: 0 };
        FocaProcess {
            foca: Foca::new(id, config, FocaRng(rng), FocaCodec),
            runtime: AccumulatingRuntime::new(),
            timers: BinaryHeap::new(),
            next_seq: 0,
            outputs: VecDeque::new(),
            events: VecDeque::new(),
            errors: 0,
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some((to, data)) = self.runtime.to_send() {
            self.outputs.push_back(Output::Datagram {
                to: member_endpoint(to.index as usize),
                payload: data,
            });
        }
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.next_seq += 1;
            self.timers.push(PendingTimer { at: now + after, seq: self.next_seq, timer });
        }
        while let Some(notification) = self.runtime.to_notify() {
            self.events.push_back(notification);
        }
    }

    fn record(&mut self, result: Result<(), foca::Error>) {
        if result.is_err() {
            self.errors += 1;
        }
    }
}

impl SimProcess for FocaProcess {
    type Event = OwnedNotification<FocaId>;

    fn handle_datagram(&mut self, now: Instant, _from: &Endpoint, payload: Bytes) {
        let result = self.foca.handle_data(&payload, &mut self.runtime);
        self.record(result);
        self.drain(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        while self.timers.peek().is_some_and(|t| t.at <= now) {
            let Some(pending) = self.timers.pop() else { break };
            let result = self.foca.handle_timer(pending.timer, &mut self.runtime);
            self.record(result);
            self.drain(now);
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.timers.peek().map(|t| t.at)
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    fn poll_event(&mut self) -> Option<Self::Event> {
        self.events.pop_front()
    }
}

/// Builds foca members with one configuration.
pub struct FocaFactory {
    /// The configuration every member gets.
    pub config: Config,
}

impl FocaFactory {
    /// foca's LAN preset for `nodes` members, with the probe period, probe timeout and
    /// suspicion timeout given.
    pub fn lan(
        nodes: usize,
        probe_period: Duration,
        probe_rtt: Duration,
        suspect_to_down: Duration,
    ) -> Self {
        let size =
            core::num::NonZeroU32::new(nodes.max(1) as u32).unwrap_or(core::num::NonZeroU32::MIN);
        let mut config = Config::new_lan(size);
        config.probe_period = probe_period;
        config.probe_rtt = probe_rtt;
        config.suspect_to_down_after = suspect_to_down;
        FocaFactory { config }
    }
}

impl ClusterFactory for FocaFactory {
    type Process = FocaProcess;

    fn create(
        &mut self,
        index: usize,
        endpoints: &[Endpoint],
        start: StartMode,
        rng: SpotRng,
        now: Instant,
    ) -> FocaProcess {
        let mut process = FocaProcess::new(index, self.config.clone(), rng);
        match start {
            StartMode::Converged => {
                let others = (0..endpoints.len())
                    .filter(|&i| i != index)
                    .map(|i| Member::alive(FocaId { index: i as u32, generation: 0 }));
                let result = process.foca.apply_many(others, false, &mut process.runtime);
                process.record(result);
            }
            StartMode::Join => {
                if index != 0 {
                    let seed = FocaId { index: 0, generation: 0 };
                    let result = process.foca.announce(seed, &mut process.runtime);
                    process.record(result);
                }
            }
        }
        process.drain(now);
        process
    }

    fn classify(&self, event: &OwnedNotification<FocaId>) -> Option<(usize, Change)> {
        match event {
            OwnedNotification::MemberUp(id) => Some((id.index as usize, Change::Up)),
            OwnedNotification::MemberDown(id) => Some((id.index as usize, Change::Dead)),
            _ => None,
        }
    }
}
