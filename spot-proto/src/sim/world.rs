//! [`Simulation`]: many processes on one virtual clock, joined by the network model.

use core::time::Duration;

use bytes::Bytes;

use super::failure::SimFailure;
use super::network::{DropReason, Fate, LinkProfile, NetworkModel};
use super::process::{Observer, Output, SimProcess, StreamId};
use super::queue::EventQueue;
use super::streams::{StreamEnd, StreamTable};
use crate::collections::FxHashMap;
use crate::endpoint::Endpoint;
use crate::rng::SpotRng;
use crate::time::Instant;

/// A scripted action: runs at its time with the whole simulation in hand.
pub type Script<P> = Box<dyn FnOnce(&mut Simulation<P>)>;

pub(super) enum Event {
    /// `payload` is the datagram's index in [`Payloads`].
    Datagram {
        to: u32,
        from: u32,
        payload: u32,
    },
    Timer {
        node: u32,
        epoch: u32,
    },
    Accept {
        stream: u32,
    },
    Connected {
        stream: u32,
        token: u64,
    },
    ConnectFailed {
        node: u32,
        epoch: u32,
        token: u64,
    },
    /// `bytes` is the chunk's index in [`Payloads`].
    StreamBytes {
        stream: u32,
        end: StreamEnd,
        bytes: u32,
    },
    StreamClosed {
        stream: u32,
        end: StreamEnd,
    },
    Script(u32),
    /// An input held back by a slow node's processing delay.
    Deferred(Box<Event>),
}

/// The bytes of datagrams and stream chunks in flight, kept out of the event queue so that its
/// entries are 40 bytes, not 64 (a freed place is reused first, while it is in cache).
#[derive(Default)]
struct Payloads {
    slots: Vec<Bytes>,
    free: Vec<u32>,
}

impl Payloads {
    fn put(&mut self, bytes: Bytes) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = bytes;
                index
            }
            None => {
                self.slots.push(bytes);
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn take(&mut self, index: u32) -> Bytes {
        self.free.push(index);
        core::mem::take(&mut self.slots[index as usize])
    }
}

// `repr(C)` and aligned: what every event reads (process, epoch, timer) is one cache line per
// node; the endpoint and a slow node's delay are kept apart ([`Simulation::endpoints`],
// [`Simulation::delays`]).
#[repr(C, align(64))]
struct SimNode<P> {
    /// Boxed, so that the node table stays one cache line per node: the clock fields are read
    /// on every event, the process only when it gets an input.
    process: Option<Box<P>>,
    /// Bumped at every crash, so timers and streams of an earlier life are ignored.
    epoch: u32,
    /// Whether the node has a processing delay (see [`NodeDelay`]).
    slow: bool,
    /// The instant of the one valid timer entry in the queue.
    timer_at: Option<Instant>,
    /// What the process's `poll_timeout` returned after its last input. Only inputs change a
    /// process's deadline, so a timer entry that fires early (the deadline moved later since it
    /// was armed) is re-armed from here without waking the process.
    wants: Option<Instant>,
}

const _: () = assert!(core::mem::size_of::<SimNode<()>>() == 64);

/// A slow node's processing delay, and until when it is busy.
#[derive(Clone, Copy, Debug, Default)]
struct NodeDelay {
    processing_delay: Duration,
    busy_until: Instant,
}

/// Counters kept by the network, for every node together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkStats {
    /// Datagrams handed to the network.
    pub datagrams_sent: u64,
    /// Bytes in those datagrams.
    pub datagram_bytes_sent: u64,
    /// Datagrams handed to a process (a duplicate counts twice).
    pub datagrams_delivered: u64,
    /// Datagrams lost by the loss model.
    pub dropped_loss: u64,
    /// Datagrams dropped by a partition.
    pub dropped_partition: u64,
    /// Datagrams to an unknown endpoint or a crashed node.
    pub dropped_unreachable: u64,
    /// Extra copies made by duplication.
    pub duplicated: u64,
    /// Streams opened.
    pub streams_opened: u64,
    /// Connection attempts that failed.
    pub connects_failed: u64,
    /// Bytes written on streams.
    pub stream_bytes_sent: u64,
    /// Events taken off the queue (deliveries, timers, scripts).
    pub events: u64,
}

/// A deterministic simulation of processes `P` on a virtual clock.
///
/// One seed drives everything: the network's decisions come from a generator forked from it,
/// and [`Simulation::rng`] hands out more forks for the processes and the scenario. Events due at
/// the same instant run in the order they were scheduled.
pub struct Simulation<P: SimProcess> {
    seed: u64,
    now: Instant,
    rng: SpotRng,
    queue: EventQueue<Event>,
    payloads: Payloads,
    nodes: Vec<SimNode<P>>,
    /// Each node's endpoint, by node index.
    endpoints: Vec<Endpoint>,
    /// Each node's processing delay, by node index.
    delays: Vec<NodeDelay>,
    by_endpoint: FxHashMap<Endpoint, u32>,
    /// Every node `i` listens on [`super::member_endpoint`]`(i)`: a member endpoint is then
    /// looked up by arithmetic alone, without reading the node.
    dense: bool,
    network: NetworkModel,
    streams: StreamTable,
    scripts: Vec<Option<Script<P>>>,
    events: Vec<(Instant, u32, P::Event)>,
    outputs: Vec<Output>,
    stats: NetworkStats,
}

impl<P: SimProcess> Simulation<P> {
    /// An empty simulation whose links all behave like `link`.
    pub fn new(seed: u64, link: LinkProfile) -> Self {
        let mut rng = SpotRng::from_seed(seed);
        let network = NetworkModel::new(0, link, rng.fork());
        Simulation {
            seed,
            now: Instant::ZERO,
            rng,
            queue: EventQueue::new(),
            payloads: Payloads::default(),
            nodes: Vec::new(),
            endpoints: Vec::new(),
            delays: Vec::new(),
            by_endpoint: FxHashMap::default(),
            dense: true,
            network,
            streams: StreamTable::default(),
            scripts: Vec::new(),
            events: Vec::new(),
            outputs: Vec::new(),
            stats: NetworkStats::default(),
        }
    }

    /// The seed this run replays from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The scenario's own generator (fork it for each process: `sim.rng().fork()`).
    pub fn rng(&mut self) -> &mut SpotRng {
        &mut self.rng
    }

    /// The network model (loss, links, partitions), to change mid-run.
    pub fn network(&mut self) -> &mut NetworkModel {
        &mut self.network
    }

    /// The network's counters so far.
    pub fn stats(&self) -> NetworkStats {
        self.stats
    }

    /// Nodes added (crashed ones included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node was added.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// A failure report carrying this run's seed and time.
    pub fn failure(&self, check: impl Into<String>, detail: impl Into<String>) -> SimFailure {
        SimFailure::new(self.seed, self.now, check, detail)
    }

    /// Adds a process listening on `endpoint`; returns its node index. Its first timer is armed
    /// and its first outputs are sent at once.
    pub fn add_node(&mut self, endpoint: Endpoint, process: P) -> usize {
        let index = self.nodes.len();
        let id = index as u32;
        self.by_endpoint.insert(endpoint.clone(), id);
        self.dense &= endpoint == super::member_endpoint(index);
        self.nodes.push(SimNode {
            process: Some(Box::new(process)),
            epoch: 0,
            slow: false,
            timer_at: None,
            wants: None,
        });
        self.endpoints.push(endpoint);
        self.delays.push(NodeDelay::default());
        self.network.grow(self.nodes.len());
        self.after_input(id);
        index
    }

    /// The node listening on `endpoint`.
    pub fn node_of(&self, endpoint: &Endpoint) -> Option<usize> {
        self.by_endpoint.get(endpoint).map(|&i| i as usize)
    }

    /// The endpoint of node `node`.
    pub fn endpoint(&self, node: usize) -> &Endpoint {
        &self.endpoints[node]
    }

    /// Whether node `node` is running (not crashed).
    pub fn is_up(&self, node: usize) -> bool {
        self.nodes.get(node).is_some_and(|n| n.process.is_some())
    }

    /// The process of a running node.
    pub fn process(&self, node: usize) -> Option<&P> {
        self.nodes.get(node)?.process.as_deref()
    }

    /// Every running node's index and process.
    pub fn processes(&self) -> impl Iterator<Item = (usize, &P)> {
        self.nodes.iter().enumerate().filter_map(|(i, n)| n.process.as_deref().map(|p| (i, p)))
    }

    /// Gives a running node an input from outside the network (a user command), then drains its
    /// outputs and re-arms its timer. Returns `None` if the node is down.
    pub fn act<R>(&mut self, node: usize, input: impl FnOnce(&mut P, Instant) -> R) -> Option<R> {
        let now = self.now;
        let result = input(self.nodes.get_mut(node)?.process.as_deref_mut()?, now);
        self.after_input(node as u32);
        Some(result)
    }

    /// Crashes `node`: its process is dropped, datagrams to it are lost, its streams close.
    pub fn crash(&mut self, node: usize) {
        let Some(slot) = self.nodes.get_mut(node) else { return };
        if slot.process.take().is_none() {
            return;
        }
        slot.epoch += 1;
        slot.timer_at = None;
        slot.wants = None;
        self.delays[node].busy_until = Instant::ZERO;
        let id = node as u32;
        for (stream, peer_end) in self.streams.break_node(id) {
            let peer = self.streams.node(stream, peer_end);
            let delay = self.network.stream_delay(id, peer);
            let at = self.streams.arrival(stream, peer_end, self.now + delay);
            self.queue.push(at, Event::StreamClosed { stream, end: peer_end });
        }
    }

    /// Restarts a crashed `node` with a fresh process on the same endpoint.
    pub fn restart(&mut self, node: usize, process: P) {
        let Some(slot) = self.nodes.get_mut(node) else { return };
        if slot.process.is_some() {
            return;
        }
        slot.process = Some(Box::new(process));
        self.after_input(node as u32);
    }

    /// Makes `node` slow: each datagram or stream chunk it receives waits for the ones before it
    /// and then `delay` more before it is handled (zero makes it normal again).
    pub fn set_processing_delay(&mut self, node: usize, delay: Duration) {
        if let (Some(slot), Some(slow)) = (self.nodes.get_mut(node), self.delays.get_mut(node)) {
            slot.slow = !delay.is_zero();
            slow.processing_delay = delay;
        }
    }

    /// Runs `script` when the virtual clock reaches `at` (scenario scripting).
    pub fn at(&mut self, at: Instant, script: impl FnOnce(&mut Simulation<P>) + 'static) {
        let index = self.scripts.len() as u32;
        self.scripts.push(Some(Box::new(script)));
        self.queue.push(at.max(self.now), Event::Script(index));
    }

    /// Takes the application events reported since the last call (or the last run).
    pub fn take_events(&mut self) -> Vec<(Instant, usize, P::Event)> {
        self.events.drain(..).map(|(t, n, e)| (t, n as usize, e)).collect()
    }

    /// Runs every event due up to `deadline`, then sets the clock to `deadline`. Application
    /// events go to `observer` as they happen.
    pub fn run_until(&mut self, deadline: Instant, observer: &mut impl Observer<P::Event>) {
        self.flush_events(observer);
        while let Some((at, event)) = self.queue.pop_until(deadline) {
            self.now = at;
            self.stats.events += 1;
            self.dispatch(event);
            self.flush_events(observer);
        }
        self.now = self.now.max(deadline);
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration, observer: &mut impl Observer<P::Event>) {
        let deadline = self.now + duration;
        self.run_until(deadline, observer);
    }

    fn flush_events(&mut self, observer: &mut impl Observer<P::Event>) {
        for (at, node, event) in self.events.drain(..) {
            observer.on_event(at, node as usize, event);
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Timer { node, epoch } => self.fire_timer(node, epoch),
            Event::Script(index) => {
                if let Some(script) = self.scripts.get_mut(index as usize).and_then(Option::take) {
                    script(self);
                }
            }
            Event::Deferred(inner) => self.deliver(*inner),
            other => {
                let Some(node) = self.target(&other) else { return };
                if !self.nodes[node as usize].slow {
                    self.deliver(other);
                } else {
                    let slow = &mut self.delays[node as usize];
                    let at = slow.busy_until.max(self.now) + slow.processing_delay;
                    slow.busy_until = at;
                    self.queue.push(at, Event::Deferred(Box::new(other)));
                }
            }
        }
    }

    /// The node an input event is for.
    fn target(&self, event: &Event) -> Option<u32> {
        match *event {
            Event::Datagram { to, .. } => Some(to),
            Event::ConnectFailed { node, .. } => Some(node),
            Event::Accept { stream } => Some(self.streams.node(stream, StreamEnd::Acceptor)),
            Event::Connected { stream, .. } => Some(self.streams.node(stream, StreamEnd::Dialer)),
            Event::StreamBytes { stream, end, .. } | Event::StreamClosed { stream, end } => {
                Some(self.streams.node(stream, end))
            }
            Event::Timer { .. } | Event::Script(_) | Event::Deferred(_) => None,
        }
    }

    fn deliver(&mut self, event: Event) {
        let now = self.now;
        let node = match event {
            Event::Datagram { to, from, payload } => {
                let payload = self.payloads.take(payload);
                if from == to {
                    let own = self.endpoints[to as usize].clone();
                    let Some(process) = self.nodes[to as usize].process.as_deref_mut() else {
                        self.stats.dropped_unreachable += 1;
                        return;
                    };
                    process.handle_datagram(now, &own, payload);
                } else {
                    let (receiver, sender) = self.receiver_and_sender(from, to);
                    let Some(process) = receiver else {
                        self.stats.dropped_unreachable += 1;
                        return;
                    };
                    process.handle_datagram(now, sender, payload);
                }
                self.stats.datagrams_delivered += 1;
                to
            }
            Event::ConnectFailed { node, epoch, token } => {
                let Some(process) = self.live_process(node, epoch) else { return };
                process.handle_stream_connect_failed(now, token);
                node
            }
            Event::Accept { stream } => {
                let end = StreamEnd::Acceptor;
                let (node, epoch) = self.streams.owner(stream, end);
                let dialer = self.streams.node(stream, StreamEnd::Dialer) as usize;
                let from = self.endpoints[dialer].clone();
                let Some(process) = self.live_process(node, epoch) else { return };
                process.handle_stream_accepted(now, StreamId(stream), &from);
                node
            }
            Event::Connected { stream, token } => {
                let (node, epoch) = self.streams.owner(stream, StreamEnd::Dialer);
                let Some(process) = self.live_process(node, epoch) else { return };
                process.handle_stream_connected(now, token, StreamId(stream));
                node
            }
            Event::StreamBytes { stream, end, bytes } => {
                let bytes = self.payloads.take(bytes);
                let (node, epoch) = self.streams.owner(stream, end);
                let Some(process) = self.live_process(node, epoch) else { return };
                process.handle_stream_bytes(now, StreamId(stream), bytes);
                node
            }
            Event::StreamClosed { stream, end } => {
                let (node, epoch) = self.streams.owner(stream, end);
                let Some(process) = self.live_process(node, epoch) else { return };
                process.handle_stream_closed(now, StreamId(stream));
                node
            }
            Event::Timer { .. } | Event::Script(_) | Event::Deferred(_) => return,
        };
        self.after_input(node);
    }

    /// The receiving node's process and the sender's endpoint, borrowed together.
    fn receiver_and_sender(&mut self, from: u32, to: u32) -> (Option<&mut P>, &Endpoint) {
        (self.nodes[to as usize].process.as_deref_mut(), &self.endpoints[from as usize])
    }

    fn live_process(&mut self, node: u32, epoch: u32) -> Option<&mut P> {
        let slot = self.nodes.get_mut(node as usize)?;
        if slot.epoch != epoch {
            return None;
        }
        slot.process.as_deref_mut()
    }

    fn fire_timer(&mut self, node: u32, epoch: u32) {
        let now = self.now;
        let slot = &mut self.nodes[node as usize];
        if slot.epoch != epoch || slot.timer_at != Some(now) {
            return;
        }
        slot.timer_at = None;
        match slot.wants {
            Some(deadline) if deadline <= now => {
                let Some(process) = slot.process.as_mut() else { return };
                process.handle_timeout(now);
                self.after_input(node);
            }
            Some(deadline) => {
                slot.timer_at = Some(deadline);
                self.queue.push(deadline, Event::Timer { node, epoch });
            }
            None => {}
        }
    }

    /// After any input: drain outputs and events, then re-arm the one timer.
    fn after_input(&mut self, node: u32) {
        let now = self.now;
        let mut outputs = core::mem::take(&mut self.outputs);
        let slot = &mut self.nodes[node as usize];
        let Some(process) = slot.process.as_mut() else { return };
        while let Some(output) = process.poll_output() {
            outputs.push(output);
        }
        while let Some(event) = process.poll_event() {
            self.events.push((now, node, event));
        }
        slot.wants = process.poll_timeout();
        if let Some(deadline) = slot.wants {
            // Never arm in the past or at `now` again, so a process cannot stall the clock.
            let deadline = deadline.max(now + Duration::from_nanos(1));
            if slot.timer_at.is_none_or(|armed| deadline < armed) {
                slot.timer_at = Some(deadline);
                self.queue.push(deadline, Event::Timer { node, epoch: slot.epoch });
            }
        }
        for output in outputs.drain(..) {
            self.route(node, output);
        }
        self.outputs = outputs;
    }

    fn route(&mut self, from: u32, output: Output) {
        match output {
            Output::Datagram { to, payload } => self.send_datagram(from, &to, payload),
            Output::Connect { to, token } => self.connect(from, &to, token),
            Output::Write { stream, bytes } => self.write(from, stream.0, bytes),
            Output::Close { stream } => self.close(from, stream.0),
        }
    }

    fn send_datagram(&mut self, from: u32, to: &Endpoint, payload: Bytes) {
        self.stats.datagrams_sent += 1;
        self.stats.datagram_bytes_sent += payload.len() as u64;
        let Some(to) = self.lookup(to) else {
            self.stats.dropped_unreachable += 1;
            return;
        };
        match self.network.datagram_fate(self.now, from, to) {
            Fate::Dropped(DropReason::Loss) => self.stats.dropped_loss += 1,
            Fate::Dropped(DropReason::Partition) => self.stats.dropped_partition += 1,
            Fate::Once(at) => {
                let payload = self.payloads.put(payload);
                self.queue.push(at, Event::Datagram { to, from, payload });
            }
            Fate::Twice(first, second) => {
                self.stats.duplicated += 1;
                let copy = self.payloads.put(payload.clone());
                self.queue.push(first, Event::Datagram { to, from, payload: copy });
                let payload = self.payloads.put(payload);
                self.queue.push(second, Event::Datagram { to, from, payload });
            }
        }
    }

    /// The node listening on `endpoint`: arithmetic for [`super::member_endpoint`] addresses,
    /// a hash lookup otherwise.
    fn lookup(&self, endpoint: &Endpoint) -> Option<u32> {
        if let Some(index) = super::member_index(endpoint) {
            if self.dense {
                // Node `index` has it, and no other node does.
                return (index < self.nodes.len()).then_some(index as u32);
            }
            if self.endpoints.get(index) == Some(endpoint) {
                return Some(index as u32);
            }
        }
        self.by_endpoint.get(endpoint).copied()
    }

    fn connect(&mut self, from: u32, to: &Endpoint, token: u64) {
        let epoch = self.nodes[from as usize].epoch;
        let target = self.lookup(to);
        let delay = self.network.stream_delay(from, target.unwrap_or(from));
        let reachable = target.filter(|&t| {
            self.nodes[t as usize].process.is_some() && self.network.reachable(from, t)
        });
        let Some(to) = reachable else {
            self.stats.connects_failed += 1;
            self.queue
                .push(self.now + delay * 2, Event::ConnectFailed { node: from, epoch, token });
            return;
        };
        self.stats.streams_opened += 1;
        let to_epoch = self.nodes[to as usize].epoch;
        let stream = self.streams.open(from, epoch, to, to_epoch);
        let accept_at = self.streams.arrival(stream, StreamEnd::Acceptor, self.now + delay);
        self.queue.push(accept_at, Event::Accept { stream });
        let back = self.network.stream_delay(to, from);
        let connected_at = self.streams.arrival(stream, StreamEnd::Dialer, accept_at + back);
        self.queue.push(connected_at, Event::Connected { stream, token });
    }

    fn write(&mut self, from: u32, stream: u32, bytes: Bytes) {
        let Some(end) = self.streams.end_of(stream, from) else { return };
        if !self.streams.is_open(stream) {
            return;
        }
        let peer_end = end.other();
        let peer = self.streams.node(stream, peer_end);
        if !self.network.reachable(from, peer) {
            // A partition resets the connection: both ends see it close.
            self.reset(stream);
            return;
        }
        self.stats.stream_bytes_sent += bytes.len() as u64;
        let delay = self.network.stream_delay(from, peer);
        let at = self.streams.arrival(stream, peer_end, self.now + delay);
        let bytes = self.payloads.put(bytes);
        self.queue.push(at, Event::StreamBytes { stream, end: peer_end, bytes });
    }

    fn close(&mut self, from: u32, stream: u32) {
        let Some(end) = self.streams.end_of(stream, from) else { return };
        if !self.streams.close(stream) {
            return;
        }
        let peer_end = end.other();
        let peer = self.streams.node(stream, peer_end);
        let delay = self.network.stream_delay(from, peer);
        let at = self.streams.arrival(stream, peer_end, self.now + delay);
        self.queue.push(at, Event::StreamClosed { stream, end: peer_end });
    }

    fn reset(&mut self, stream: u32) {
        if !self.streams.close(stream) {
            return;
        }
        for end in [StreamEnd::Dialer, StreamEnd::Acceptor] {
            let at = self.streams.arrival(stream, end, self.now);
            self.queue.push(at, Event::StreamClosed { stream, end });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_entries_stay_small_and_payload_places_are_reused() {
        assert!(core::mem::size_of::<Event>() <= 24);
        let mut payloads = Payloads::default();
        let a = payloads.put(Bytes::from_static(b"a"));
        let b = payloads.put(Bytes::from_static(b"b"));
        assert_ne!(a, b);
        assert_eq!(payloads.take(a), Bytes::from_static(b"a"));
        let c = payloads.put(Bytes::from_static(b"c"));
        assert_eq!(c, a, "a freed place is used again");
        assert_eq!(payloads.take(b), Bytes::from_static(b"b"));
        assert_eq!(payloads.take(c), Bytes::from_static(b"c"));
    }
}
