//! The simulator on its own, with toy processes: timing, loss, partitions, crash and restart,
//! slow nodes, ordered streams, and replay from a seed.
#![cfg(feature = "sim")]

use core::time::Duration;
use std::collections::VecDeque;

use bytes::Bytes;
use spot_proto::sim::{
    LinkProfile, LossModel, Output, SimFailure, SimProcess, Simulation, StreamId,
};
use spot_proto::{Endpoint, Instant};

/// What a toy process reports.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Ping { from: Endpoint, seq: u32 },
    Pong { seq: u32, rtt: Duration },
    Accepted(StreamId),
    Connected(u64, StreamId),
    ConnectFailed(u64),
    Bytes(StreamId, Bytes),
    Closed(StreamId),
}

/// Pings `target` every `interval` (if any) and answers every ping with a pong.
struct Pinger {
    target: Option<Endpoint>,
    interval: Duration,
    next: Instant,
    seq: u32,
    sent_at: Vec<Instant>,
    out: VecDeque<Output>,
    events: VecDeque<Seen>,
}

impl Pinger {
    fn new(target: Option<Endpoint>, interval: Duration) -> Self {
        Pinger {
            target,
            interval,
            next: Instant::ZERO,
            seq: 0,
            sent_at: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    fn idle() -> Self {
        Pinger::new(None, Duration::from_secs(1))
    }
}

impl SimProcess for Pinger {
    type Event = Seen;

    fn handle_datagram(&mut self, now: Instant, from: &Endpoint, payload: Bytes) {
        let seq = u32::from_be_bytes(
            payload[1..5].try_into().expect("toy datagrams carry a sequence number"),
        );
        if payload[0] == b'P' {
            self.events.push_back(Seen::Ping { from: from.clone(), seq });
            let mut pong = payload.to_vec();
            pong[0] = b'O';
            self.out.push_back(Output::Datagram { to: from.clone(), payload: pong.into() });
        } else {
            let rtt = now - self.sent_at[seq as usize];
            self.events.push_back(Seen::Pong { seq, rtt });
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let Some(target) = self.target.clone() else { return };
        let mut payload = vec![b'P'];
        payload.extend_from_slice(&self.seq.to_be_bytes());
        self.out.push_back(Output::Datagram { to: target, payload: payload.into() });
        self.sent_at.push(now);
        self.seq += 1;
        self.next = now + self.interval;
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.target.as_ref().map(|_| self.next)
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<Seen> {
        self.events.pop_front()
    }

    fn handle_stream_accepted(&mut self, _now: Instant, stream: StreamId, _from: &Endpoint) {
        self.events.push_back(Seen::Accepted(stream));
    }

    fn handle_stream_connected(&mut self, _now: Instant, token: u64, stream: StreamId) {
        self.events.push_back(Seen::Connected(token, stream));
    }

    fn handle_stream_connect_failed(&mut self, _now: Instant, token: u64) {
        self.events.push_back(Seen::ConnectFailed(token));
    }

    fn handle_stream_bytes(&mut self, _now: Instant, stream: StreamId, bytes: Bytes) {
        self.events.push_back(Seen::Bytes(stream, bytes));
    }

    fn handle_stream_closed(&mut self, _now: Instant, stream: StreamId) {
        self.events.push_back(Seen::Closed(stream));
    }
}

type Trace = Vec<(Instant, usize, Seen)>;

fn run(sim: &mut Simulation<Pinger>, until: Instant) -> Trace {
    let mut trace = Vec::new();
    sim.run_until(until, &mut |t, n, e| trace.push((t, n, e)));
    trace
}

fn pair(seed: u64, link: LinkProfile) -> Simulation<Pinger> {
    let mut sim = Simulation::new(seed, link);
    sim.add_node(Endpoint::localhost(1), Pinger::new(Some(Endpoint::localhost(2)), ms(100)));
    sim.add_node(Endpoint::localhost(2), Pinger::idle());
    sim
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pongs(trace: &Trace) -> Vec<(u32, Duration)> {
    trace
        .iter()
        .filter_map(|(_, _, e)| match e {
            Seen::Pong { seq, rtt } => Some((*seq, *rtt)),
            _ => None,
        })
        .collect()
}

#[test]
fn round_trip_takes_two_latencies() {
    let mut sim = pair(1, LinkProfile::with_latency(ms(5)));
    let trace = run(&mut sim, Instant::from_secs(1));
    let pongs = pongs(&trace);
    assert_eq!(pongs.len(), 10, "pings at 0, 100, ..., 900 ms all answered: {pongs:?}");
    assert!(pongs.iter().all(|(_, rtt)| *rtt == ms(10)));
    let pings_at_b = trace.iter().filter(|(_, n, e)| *n == 1 && matches!(e, Seen::Ping { .. }));
    assert_eq!(pings_at_b.count(), 10);
    assert_eq!(sim.stats().datagrams_sent, 20);
}

#[test]
fn loss_drops_about_its_share() {
    let link = LinkProfile::with_latency(ms(1)).with_loss(LossModel::percent(30.0));
    let mut sim = pair(2, link);
    let trace = run(&mut sim, Instant::from_secs(200));
    // A pong needs both directions: survival 0.7 * 0.7 = 0.49 of 2000 pings.
    let answered = pongs(&trace).len();
    assert!((880..1080).contains(&answered), "answered {answered}");
    assert_eq!(
        sim.stats().dropped_loss,
        sim.stats().datagrams_sent - sim.stats().datagrams_delivered
    );
}

#[test]
fn partitions_block_and_heal_one_way_too() {
    let mut sim = pair(3, LinkProfile::with_latency(ms(1)));
    sim.at(Instant::from_secs(1), |s| s.network().partition([1]));
    sim.at(Instant::from_secs(2), |s| s.network().heal());
    // One way: b -> a blocked, so pings arrive but pongs do not.
    sim.at(Instant::from_secs(3), |s| {
        s.network().set_group(1, 2);
        s.network().block(2, 0);
    });
    sim.at(Instant::from_secs(4), |s| s.network().heal());
    let trace = run(&mut sim, Instant::from_millis(4950));
    let in_window = |lo: u64, hi: u64, want: fn(&Seen) -> bool| {
        trace
            .iter()
            .filter(|(t, _, e)| {
                *t >= Instant::from_millis(lo) && *t < Instant::from_millis(hi) && want(e)
            })
            .count()
    };
    let is_ping = |e: &Seen| matches!(e, Seen::Ping { .. });
    let is_pong = |e: &Seen| matches!(e, Seen::Pong { .. });
    assert_eq!(in_window(0, 1000, is_pong), 10);
    assert_eq!(in_window(1000, 2000, is_ping), 0, "symmetric partition");
    assert_eq!(in_window(2000, 3000, is_pong), 10, "healed");
    assert_eq!(in_window(3000, 4000, is_ping), 10, "one-way: pings still arrive");
    assert_eq!(in_window(3000, 4000, is_pong), 0, "one-way: pongs blocked");
    assert_eq!(in_window(4000, 5000, is_pong), 10);
    assert_eq!(sim.stats().dropped_partition, 20);
}

#[test]
fn crash_drops_traffic_and_restart_resumes_it() {
    let mut sim = pair(4, LinkProfile::with_latency(ms(1)));
    sim.at(Instant::from_secs(1), |s| s.crash(1));
    sim.at(Instant::from_secs(2), |s| s.restart(1, Pinger::idle()));
    let trace = run(&mut sim, Instant::from_millis(2950));
    let answered = pongs(&trace);
    assert_eq!(answered.len(), 20, "10 before the crash, 10 after the restart");
    assert!(answered.iter().all(|(seq, _)| *seq < 10 || *seq >= 20));
    assert_eq!(sim.stats().dropped_unreachable, 10);
    // A crashed pinger stops its timer for good; its restart starts a fresh one.
    sim.crash(0);
    let before = sim.stats().datagrams_sent;
    run(&mut sim, Instant::from_secs(4));
    assert_eq!(sim.stats().datagrams_sent, before);
}

#[test]
fn slow_node_handles_inputs_late_and_in_order() {
    let mut sim = pair(5, LinkProfile::with_latency(ms(1)));
    sim.set_processing_delay(1, ms(30));
    let trace = run(&mut sim, Instant::from_millis(950));
    let rtts: Vec<Duration> = pongs(&trace).iter().map(|(_, rtt)| *rtt).collect();
    assert_eq!(rtts.len(), 10);
    assert!(rtts.iter().all(|rtt| *rtt == ms(32)), "{rtts:?}");
    // Inputs arriving faster than the node works queue up behind each other.
    sim.set_processing_delay(1, ms(250));
    let trace = run(&mut sim, Instant::from_secs(3));
    let later: Vec<Duration> = pongs(&trace).iter().map(|(_, rtt)| *rtt).collect();
    assert!(later.windows(2).all(|w| w[1] > w[0]), "backlog grows: {later:?}");
}

#[test]
fn streams_deliver_in_order_and_close_on_crash_or_partition() {
    let mut link = LinkProfile::with_latency(ms(2));
    link.jitter = ms(5);
    let mut sim = Simulation::new(6, link);
    let a = sim.add_node(Endpoint::localhost(1), Pinger::idle());
    let b = sim.add_node(Endpoint::localhost(2), Pinger::idle());
    sim.act(a, |p, _| p.out.push_back(Output::Connect { to: Endpoint::localhost(2), token: 7 }));
    sim.act(a, |p, _| p.out.push_back(Output::Connect { to: Endpoint::localhost(9), token: 8 }));
    let trace = run(&mut sim, Instant::from_secs(1));
    let stream = trace
        .iter()
        .find_map(|(_, n, e)| match e {
            Seen::Connected(7, s) if *n == a => Some(*s),
            _ => None,
        })
        .expect("connected");
    assert!(trace.iter().any(|(_, n, e)| *n == b && *e == Seen::Accepted(stream)));
    assert!(trace.iter().any(|(_, n, e)| *n == a && *e == Seen::ConnectFailed(8)));
    for i in 0..50u8 {
        sim.act(a, |p, _| p.out.push_back(Output::Write { stream, bytes: Bytes::from(vec![i]) }));
    }
    sim.act(a, |p, _| p.out.push_back(Output::Close { stream }));
    let trace = run(&mut sim, Instant::from_secs(2));
    let received: Vec<u8> = trace
        .iter()
        .filter_map(|(_, n, e)| match e {
            Seen::Bytes(s, bytes) if *n == b && *s == stream => Some(bytes[0]),
            _ => None,
        })
        .collect();
    assert_eq!(received, (0..50).collect::<Vec<u8>>(), "jitter never reorders a stream");
    assert_eq!(trace.last().map(|(_, n, e)| (*n, e.clone())), Some((b, Seen::Closed(stream))));

    // A crash closes the peer's end; a partition resets both ends on the next write.
    sim.act(a, |p, _| p.out.push_back(Output::Connect { to: Endpoint::localhost(2), token: 9 }));
    sim.act(a, |p, _| p.out.push_back(Output::Connect { to: Endpoint::localhost(2), token: 10 }));
    let trace = run(&mut sim, Instant::from_secs(3));
    let opened: Vec<StreamId> = trace
        .iter()
        .filter_map(|(_, _, e)| match e {
            Seen::Connected(_, s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(opened.len(), 2);
    sim.network().partition([b as u32]);
    sim.act(a, |p, _| {
        p.out.push_back(Output::Write { stream: opened[0], bytes: Bytes::from_static(b"x") })
    });
    let trace = run(&mut sim, Instant::from_secs(4));
    assert!(trace.iter().any(|(_, n, e)| *n == a && *e == Seen::Closed(opened[0])));
    assert!(trace.iter().any(|(_, n, e)| *n == b && *e == Seen::Closed(opened[0])));
    sim.network().heal();
    sim.crash(b);
    let trace = run(&mut sim, Instant::from_secs(5));
    assert_eq!(trace, vec![(trace[0].0, a, Seen::Closed(opened[1]))]);
}

fn chaotic_trace(seed: u64) -> Trace {
    let mut link = LinkProfile::with_latency(ms(3));
    link.jitter = ms(4);
    link.duplicate = 0.1;
    link.reorder = 0.1;
    link.reorder_delay = ms(20);
    link.loss = LossModel::GilbertElliott {
        good_to_bad: 0.05,
        bad_to_good: 0.3,
        good_loss: 0.01,
        bad_loss: 0.7,
    };
    let mut sim = Simulation::new(seed, link);
    for port in 1..=5u16 {
        let target = Endpoint::localhost(port % 5 + 1);
        sim.add_node(
            Endpoint::localhost(port),
            Pinger::new(Some(target), ms(10 + u64::from(port))),
        );
    }
    sim.at(Instant::from_secs(2), |s| s.crash(2));
    sim.at(Instant::from_secs(3), |s| {
        s.restart(2, Pinger::new(Some(Endpoint::localhost(4)), ms(7)))
    });
    run(&mut sim, Instant::from_secs(5))
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let first = chaotic_trace(42);
    assert!(first.len() > 1000, "{} events", first.len());
    assert_eq!(first, chaotic_trace(42));
    assert_ne!(first, chaotic_trace(43));
}

#[test]
fn failure_message_carries_the_seed() {
    let sim = pair(99, LinkProfile::lan());
    let failure: SimFailure = sim.failure("toy-check", "something broke");
    assert_eq!(failure.seed, 99);
    assert!(failure.to_string().contains("seed=99"));
}
