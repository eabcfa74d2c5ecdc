//! A minimal probe-like process, to measure the simulator's own cost per event.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use spot_proto::rng::SpotRng;
use spot_proto::sim::{Change, ClusterFactory, Output, SimProcess, StartMode, member_endpoint};
use spot_proto::{Endpoint, Instant};

/// Pings a random member every period and keeps a probe-timeout timer, like SWIM's skeleton.
pub struct ToyProcess {
    nodes: usize,
    rng: SpotRng,
    next_probe: Instant,
    timeout: Option<Instant>,
    out: VecDeque<Output>,
    ping: Bytes,
}

impl SimProcess for ToyProcess {
    type Event = ();

    fn handle_datagram(&mut self, _now: Instant, from: &Endpoint, payload: Bytes) {
        if payload[0] == b'P' {
            self.out.push_back(Output::Datagram {
                to: from.clone(),
                payload: Bytes::from_static(b"A"),
            });
        } else {
            self.timeout = None;
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.timeout.is_some_and(|t| t <= now) {
            self.timeout = None;
        }
        if self.next_probe <= now {
            let target = self.rng.index(self.nodes);
            self.out.push_back(Output::Datagram {
                to: member_endpoint(target),
                payload: self.ping.clone(),
            });
            self.timeout = Some(now + Duration::from_millis(500));
            self.next_probe = now + Duration::from_secs(1);
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        Some(self.timeout.map_or(self.next_probe, |t| t.min(self.next_probe)))
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<()> {
        None
    }
}

/// Builds toy processes.
pub struct ToyFactory;

impl ClusterFactory for ToyFactory {
    type Process = ToyProcess;

    fn create(
        &mut self,
        _index: usize,
        endpoints: &[Endpoint],
        _start: StartMode,
        mut rng: SpotRng,
        now: Instant,
    ) -> ToyProcess {
        let first = now + Duration::from_nanos(rng.below(1_000_000_000));
        ToyProcess {
            nodes: endpoints.len(),
            rng,
            next_probe: first,
            timeout: None,
            out: VecDeque::new(),
            ping: Bytes::from_static(b"P"),
        }
    }

    fn classify(&self, _event: &()) -> Option<(usize, Change)> {
        None
    }
}
