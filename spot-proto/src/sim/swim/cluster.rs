//! [`SwimCluster`]: a simulated SWIM cluster for scenario tests.

use core::time::Duration;

use super::{IdIndex, SwimProcess, classify_event, new_membership, roster_cards};
use crate::endpoint::Endpoint;
use crate::sim::{Change, LinkProfile, SimFailure, Simulation, member_endpoint};
use crate::swim::{MembershipEvent, SwimConfig};
use crate::time::Instant;
use crate::wire::spot::MemberState;

/// One reported event: when, which member reported it, what it was.
pub type TraceEntry = (Instant, usize, MembershipEvent);

/// A SWIM cluster on the simulator, with the bookkeeping scenario tests need.
///
/// Every event any member reports is kept in [`SwimCluster::trace`]. Deaths of members that
/// were running when declared dead are recorded as false deaths
/// ([`SwimCluster::check_no_false_death`]). Checks return a [`SimFailure`] naming the seed.
pub struct SwimCluster {
    sim: Simulation<SwimProcess>,
    config: SwimConfig,
    ids: IdIndex,
    up: Vec<bool>,
    trace: Vec<TraceEntry>,
    false_deaths: Vec<(Instant, usize, usize)>,
}

impl SwimCluster {
    fn empty(seed: u64, link: LinkProfile, config: SwimConfig) -> Self {
        SwimCluster {
            sim: Simulation::new(seed, link),
            config,
            ids: IdIndex::default(),
            up: Vec::new(),
            trace: Vec::new(),
            false_deaths: Vec::new(),
        }
    }

    /// `nodes` members that start knowing each other (a converged roster).
    pub fn converged(nodes: usize, seed: u64, link: LinkProfile, config: SwimConfig) -> Self {
        let mut cluster = SwimCluster::empty(seed, link, config);
        let endpoints: Vec<Endpoint> = (0..nodes).map(member_endpoint).collect();
        let roster = roster_cards(&endpoints);
        for (index, endpoint) in endpoints.iter().enumerate() {
            let mut membership = cluster.new_member(index, endpoint);
            let others = roster
                .iter()
                .filter(|card| card.endpoint() != endpoint)
                .map(|card| (card.clone(), MemberState::Alive, 0));
            membership.insert_known_cards(Instant::ZERO, others);
            while membership.poll_event().is_some() {}
            cluster.add(endpoint.clone(), membership);
        }
        cluster
    }

    /// Member 0 starts alone; members 1.. join through it, `stagger` apart. The clock is left
    /// at the last join.
    pub fn joining(
        nodes: usize,
        seed: u64,
        link: LinkProfile,
        config: SwimConfig,
        stagger: Duration,
    ) -> Self {
        let mut cluster = SwimCluster::empty(seed, link, config);
        let first = member_endpoint(0);
        for index in 0..nodes {
            if index > 0 {
                cluster.run_for(stagger);
            }
            let endpoint = member_endpoint(index);
            let mut membership = cluster.new_member(index, &endpoint);
            let _ = membership.join(cluster.sim.now(), core::slice::from_ref(&first));
            cluster.add(endpoint, membership);
        }
        cluster
    }

    fn new_member(&mut self, index: usize, endpoint: &Endpoint) -> crate::swim::Membership {
        self.ids.insert(endpoint, index);
        let now = self.sim.now();
        new_membership(&self.config, endpoint, self.sim.rng(), now)
    }

    fn add(&mut self, endpoint: Endpoint, membership: crate::swim::Membership) {
        let limits = self.config.limits.clone();
        self.sim.add_node(endpoint, SwimProcess::new(membership, limits));
        self.up.push(true);
        self.collect_pending();
    }

    /// The simulation (network model, scripts, direct access to processes).
    pub fn sim(&mut self) -> &mut Simulation<SwimProcess> {
        &mut self.sim
    }

    /// The seed of the run.
    pub fn seed(&self) -> u64 {
        self.sim.seed()
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.sim.now()
    }

    /// Members added (crashed ones included).
    pub fn len(&self) -> usize {
        self.up.len()
    }

    /// Whether the cluster has no member.
    pub fn is_empty(&self) -> bool {
        self.up.is_empty()
    }

    /// The indices of running members.
    pub fn live(&self) -> Vec<usize> {
        (0..self.up.len()).filter(|&i| self.up[i]).collect()
    }

    /// Every event reported so far, in order.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// (time, observer, member) for each death declared about a running member.
    pub fn false_deaths(&self) -> &[(Instant, usize, usize)] {
        &self.false_deaths
    }

    /// The process of a running member.
    pub fn process(&self, node: usize) -> Option<&SwimProcess> {
        self.sim.process(node)
    }

    /// Runs the clock for `duration`.
    pub fn run_for(&mut self, duration: Duration) {
        let deadline = self.sim.now() + duration;
        self.run_until(deadline);
    }

    /// Runs the clock until `deadline`.
    pub fn run_until(&mut self, deadline: Instant) {
        let SwimCluster { sim, ids, up, trace, false_deaths, .. } = self;
        sim.run_until(deadline, &mut |now: Instant, node: usize, event: MembershipEvent| {
            record(ids, up, trace, false_deaths, now, node, event);
        });
    }

    fn collect_pending(&mut self) {
        for (now, node, event) in self.sim.take_events() {
            record(&self.ids, &self.up, &mut self.trace, &mut self.false_deaths, now, node, event);
        }
    }

    /// Crashes member `node` (no goodbye).
    pub fn crash(&mut self, node: usize) {
        self.sim.crash(node);
        if let Some(up) = self.up.get_mut(node) {
            *up = false;
        }
    }

    /// Restarts a crashed member on the same endpoint (so the same node id) with a fresh state,
    /// joining through the first other running member.
    pub fn restart(&mut self, node: usize) {
        if self.up.get(node).is_none_or(|up| *up) {
            return;
        }
        let endpoint = member_endpoint(node);
        let seed = self.live().into_iter().find(|&i| i != node).map(member_endpoint);
        let mut membership = self.new_member(node, &endpoint);
        if let Some(seed) = seed {
            let _ = membership.join(self.sim.now(), &[seed]);
        }
        self.up[node] = true;
        let limits = self.config.limits.clone();
        self.sim.restart(node, SwimProcess::new(membership, limits));
        self.collect_pending();
    }

    /// Member `node` leaves gracefully.
    pub fn leave(&mut self, node: usize) {
        let _ = self.sim.act(node, |process, now| process.membership_mut().leave(now));
        self.collect_pending();
    }

    /// Gives running member `node` a command (tags, ...), then drains its outputs.
    pub fn act<R>(
        &mut self,
        node: usize,
        command: impl FnOnce(&mut crate::swim::Membership, Instant) -> R,
    ) -> Option<R> {
        let result = self.sim.act(node, |process, now| command(process.membership_mut(), now));
        self.collect_pending();
        result
    }

    /// How running member `observer` sees member `subject` (`None` if unknown or down).
    pub fn state_seen(&self, observer: usize, subject: usize) -> Option<MemberState> {
        let process = self.sim.process(observer)?;
        let id = crate::swim::default_node_id(&member_endpoint(subject));
        process.membership().member(&id).map(|view| view.state)
    }

    fn fail(&self, check: &str, detail: String) -> SimFailure {
        self.sim.failure(check, detail)
    }

    /// Every running member sees every other running member alive.
    pub fn check_converged(&self) -> Result<(), SimFailure> {
        let live = self.live();
        for &observer in &live {
            for &subject in &live {
                if observer == subject {
                    continue;
                }
                let seen = self.state_seen(observer, subject);
                if seen != Some(MemberState::Alive) {
                    return Err(self.fail(
                        "converged",
                        format!("member {observer} sees member {subject} as {seen:?}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every running member other than `subject` sees `subject` in `state`.
    pub fn check_all_see(&self, subject: usize, state: MemberState) -> Result<(), SimFailure> {
        for observer in self.live() {
            if observer == subject {
                continue;
            }
            let seen = self.state_seen(observer, subject);
            // A reaped member is forgotten: for dead and left that is as good as the state.
            let reaped_ok =
                seen.is_none() && matches!(state, MemberState::Dead | MemberState::Left);
            if seen != Some(state) && !reaped_ok {
                return Err(self.fail(
                    "all-see",
                    format!("member {observer} sees member {subject} as {seen:?}, not {state:?}"),
                ));
            }
        }
        Ok(())
    }

    /// No member declared a running member dead.
    pub fn check_no_false_death(&self) -> Result<(), SimFailure> {
        match self.false_deaths.first() {
            None => Ok(()),
            Some((at, observer, subject)) => Err(self.fail(
                "no-false-death",
                format!(
                    "{} false deaths; first: member {observer} declared running member \
                     {subject} dead at {at:?}",
                    self.false_deaths.len()
                ),
            )),
        }
    }

    /// The changes members reported about `subject`, with who reported them.
    pub fn changes_about(&self, subject: usize) -> Vec<(Instant, usize, Change)> {
        self.trace
            .iter()
            .filter_map(|(at, observer, event)| {
                let (about, change) = classify_event(&self.ids, event)?;
                (about == subject).then_some((*at, *observer, change))
            })
            .collect()
    }
}

fn record(
    ids: &IdIndex,
    up: &[bool],
    trace: &mut Vec<TraceEntry>,
    false_deaths: &mut Vec<(Instant, usize, usize)>,
    now: Instant,
    node: usize,
    event: MembershipEvent,
) {
    if let Some((subject, Change::Dead)) = classify_event(ids, &event)
        && up.get(subject).copied().unwrap_or(false)
    {
        false_deaths.push((now, node, subject));
    }
    trace.push((now, node, event));
}
