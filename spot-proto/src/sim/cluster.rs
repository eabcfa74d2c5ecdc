//! The standard membership scenario, for any SWIM implementation: start a cluster (from a full
//! roster or by joining), measure steady-state traffic, kill members, and watch who sees what.
//!
//! [`run_membership_scenario`] is what `spot sim` and the foca comparison run. It is generic over
//! a [`ClusterFactory`], so two implementations go through the same network, the same seed and
//! the same bookkeeping.

use core::time::Duration;
use std::net::Ipv4Addr;

use super::network::{LinkProfile, LossModel};
use super::process::{Observer, SimProcess};
use super::world::{NetworkStats, Simulation};
use crate::collections::FxHashSet;
use crate::endpoint::Endpoint;
use crate::rng::SpotRng;
use crate::time::Instant;

/// The UDP/TCP port every simulated member listens on.
pub const SIM_PORT: u16 = 7946;

/// The endpoint of simulated member `index`: a distinct loopback address (nothing leaves the
/// process; the address only names the member).
pub fn member_endpoint(index: usize) -> Endpoint {
    let offset = u32::try_from(index).unwrap_or(u32::MAX) & 0x00FF_FFFF;
    Endpoint::tcp(Ipv4Addr::from(0x7F00_0001u32.wrapping_add(offset)), SIM_PORT)
}

/// The node index of a [`member_endpoint`], if it is one.
pub fn member_index(endpoint: &Endpoint) -> Option<usize> {
    match endpoint {
        Endpoint::Tcp { host: crate::endpoint::Host::Ip(core::net::IpAddr::V4(ip)), port }
            if *port == SIM_PORT =>
        {
            let raw = u32::from(*ip);
            (0x7F00_0001..0x8000_0000).contains(&raw).then(|| (raw - 0x7F00_0001) as usize)
        }
        _ => None,
    }
}

/// How the cluster starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartMode {
    /// Every member starts knowing every other member as alive.
    Converged,
    /// Member 0 starts alone; the others join through it, a few milliseconds apart.
    Join,
}

/// What a membership event says about a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The member was seen for the first time (or again after death).
    Up,
    /// The member is suspected.
    Suspect,
    /// The member refuted a suspicion.
    Alive,
    /// The member was declared dead.
    Dead,
    /// The member left on purpose.
    Left,
}

/// Builds the processes of one implementation and reads their events.
pub trait ClusterFactory {
    /// The simulated process.
    type Process: SimProcess;

    /// Creates member `index` (listening on `endpoints[index]`) at `now`, seeded by `rng`. With
    /// [`StartMode::Converged`] it must know every endpoint in `endpoints` as alive; with
    /// [`StartMode::Join`] it joins through `endpoints[0]` (member 0 starts alone).
    fn create(
        &mut self,
        index: usize,
        endpoints: &[Endpoint],
        start: StartMode,
        rng: SpotRng,
        now: Instant,
    ) -> Self::Process;

    /// The member an event is about (its index) and what it says, if it is a member change.
    fn classify(&self, event: &<Self::Process as SimProcess>::Event) -> Option<(usize, Change)>;
}

/// The scenario `spot sim` runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioConfig {
    /// Members.
    pub nodes: usize,
    /// The seed of the whole run.
    pub seed: u64,
    /// Every link.
    pub link: LinkProfile,
    /// Members killed (chosen by the seed) at [`ScenarioConfig::kill_at`].
    pub kill: usize,
    /// When the kill happens.
    pub kill_at: Duration,
    /// Virtual time simulated.
    pub duration: Duration,
    /// How the cluster starts.
    pub start: StartMode,
    /// The nominal probe period, the unit of the per-period figures.
    pub probe_period: Duration,
    /// Traffic before this is left out of the steady-state figures.
    pub warmup: Duration,
}

impl ScenarioConfig {
    /// `nodes` members, seed `seed`, `loss_percent` uniform loss on LAN links, nothing killed,
    /// 60 virtual seconds from a converged roster, 1 s probe period.
    pub fn new(nodes: usize, seed: u64, loss_percent: f64) -> Self {
        ScenarioConfig {
            nodes,
            seed,
            link: LinkProfile::lan().with_loss(LossModel::percent(loss_percent)),
            kill: 0,
            kill_at: Duration::from_secs(60),
            duration: Duration::from_secs(60),
            start: StartMode::Converged,
            probe_period: Duration::from_secs(1),
            warmup: Duration::from_secs(10),
        }
    }
}

/// What a scenario measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioReport {
    /// Members.
    pub nodes: usize,
    /// The seed.
    pub seed: u64,
    /// Virtual seconds simulated.
    pub virtual_seconds: f64,
    /// Distinct (observer, member) pairs where the observer declared a live member dead.
    pub false_deaths: u64,
    /// The first few false-death pairs, for the failure message.
    pub false_death_examples: Vec<(usize, usize)>,
    /// The killed members.
    pub killed: Vec<usize>,
    /// Seconds from the kill until every live member saw every killed member dead; `None` when
    /// nothing was killed or detection did not finish.
    pub detect_all_dead_s: Option<f64>,
    /// Seconds from the kill until the first live member suspected a killed member.
    pub first_suspect_s: Option<f64>,
    /// Seconds from the kill until the first live member declared a killed member dead.
    pub first_dead_s: Option<f64>,
    /// Datagrams sent per member per probe period in the steady-state window.
    pub msgs_per_member_per_period: f64,
    /// Datagram bytes sent per member per probe period in the steady-state window.
    pub bytes_per_member_per_period: f64,
    /// Push-pull (stream) bytes sent per member per probe period in the steady-state window.
    pub pushpull_bytes_per_member_per_period: f64,
    /// The steady-state window, in virtual seconds from the start.
    pub steady_window_s: (f64, f64),
    /// Suspicions reported (all observers together).
    pub suspicions: u64,
    /// Refutations (alive again) reported.
    pub refutations: u64,
    /// The network's counters for the whole run.
    pub network: NetworkStats,
}

/// Tracks deaths as they are reported.
struct DeathWatch<'a, F: ClusterFactory> {
    factory: &'a F,
    down: Vec<bool>,
    false_pairs: FxHashSet<(u32, u32)>,
    examples: Vec<(usize, usize)>,
    seen_dead: FxHashSet<(u32, u32)>,
    needed: usize,
    killed_at: Option<Instant>,
    all_dead_at: Option<Instant>,
    first_suspect_at: Option<Instant>,
    first_dead_at: Option<Instant>,
    suspicions: u64,
    refutations: u64,
}

impl<F: ClusterFactory> Observer<<F::Process as SimProcess>::Event> for DeathWatch<'_, F> {
    fn on_event(&mut self, now: Instant, node: usize, event: <F::Process as SimProcess>::Event) {
        let Some((subject, change)) = self.factory.classify(&event) else { return };
        match change {
            Change::Suspect => {
                self.suspicions += 1;
                if self.killed_at.is_some() && self.down.get(subject).copied().unwrap_or(false) {
                    self.first_suspect_at.get_or_insert(now);
                }
            }
            Change::Alive => self.refutations += 1,
            Change::Dead => {
                let pair = (node as u32, subject as u32);
                if !self.down.get(subject).copied().unwrap_or(false) {
                    if self.false_pairs.insert(pair) && self.examples.len() < 8 {
                        self.examples.push((node, subject));
                    }
                } else if self.killed_at.is_some() && self.seen_dead.insert(pair) {
                    self.first_dead_at.get_or_insert(now);
                    self.needed = self.needed.saturating_sub(1);
                    if self.needed == 0 && self.all_dead_at.is_none() {
                        self.all_dead_at = Some(now);
                    }
                }
            }
            Change::Up | Change::Left => {}
        }
    }
}

/// A point in [`run_membership_scenario_with`] where the caller may take a measurement (wall
/// clock, CPU time) from outside the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioPhase {
    /// Every member was created and the clock is about to run.
    Started,
    /// The virtual clock reached `elapsed` of `total` (reported about once per virtual second).
    Progress {
        /// Virtual time simulated so far.
        elapsed: Duration,
        /// Virtual time the run will simulate.
        total: Duration,
    },
    /// The virtual run is over.
    Finished,
}

/// Virtual time between two [`ScenarioPhase::Progress`] reports.
const PROGRESS_STEP: Duration = Duration::from_secs(1);

/// Runs the standard scenario: start, steady state, kill, detection. Deterministic in
/// `config.seed`.
pub fn run_membership_scenario<F: ClusterFactory>(
    factory: &mut F,
    config: &ScenarioConfig,
) -> ScenarioReport {
    run_membership_scenario_with(factory, config, |_| {})
}

/// [`run_membership_scenario`], calling `on_phase` at each [`ScenarioPhase`].
pub fn run_membership_scenario_with<F: ClusterFactory>(
    factory: &mut F,
    config: &ScenarioConfig,
    mut on_phase: impl FnMut(ScenarioPhase),
) -> ScenarioReport {
    let mut sim: Simulation<F::Process> = Simulation::new(config.seed, config.link);
    let endpoints: Vec<Endpoint> = (0..config.nodes).map(member_endpoint).collect();
    let stagger = match config.start {
        StartMode::Converged => Duration::ZERO,
        StartMode::Join => {
            Duration::from_millis(10).min(Duration::from_secs(5) / config.nodes.max(1) as u32)
        }
    };
    let mut start_events = Vec::new();
    for index in 0..config.nodes {
        if !stagger.is_zero() {
            let at = Instant::ZERO + stagger * index as u32;
            sim.run_until(at, &mut |t, n, e| start_events.push((t, n, e)));
        }
        let rng = sim.rng().fork();
        let process = factory.create(index, &endpoints, config.start, rng, sim.now());
        sim.add_node(endpoints[index].clone(), process);
    }
    let mut victims_rng = sim.rng().fork();
    let mut watch = DeathWatch {
        factory: &*factory,
        down: vec![false; config.nodes],
        false_pairs: FxHashSet::default(),
        examples: Vec::new(),
        seen_dead: FxHashSet::default(),
        needed: 0,
        killed_at: None,
        all_dead_at: None,
        first_suspect_at: None,
        first_dead_at: None,
        suspicions: 0,
        refutations: 0,
    };
    for (t, n, e) in start_events {
        watch.on_event(t, n, e);
    }
    on_phase(ScenarioPhase::Started);
    let end = Instant::ZERO + config.duration;
    let kill_at = Instant::ZERO + config.kill_at;
    let window_end = if config.kill > 0 { kill_at.min(end) } else { end };
    let window_start =
        (Instant::ZERO + config.warmup).min(window_end - (window_end - Instant::ZERO) / 2);

    let total = config.duration;
    let mut run_to =
        |sim: &mut Simulation<F::Process>, watch: &mut DeathWatch<'_, F>, until: Instant| {
            // In one-second steps, so the caller can show progress; the trace is the same.
            while sim.now() < until {
                let step = (sim.now() + PROGRESS_STEP).min(until);
                sim.run_until(step, watch);
                on_phase(ScenarioPhase::Progress { elapsed: sim.now() - Instant::ZERO, total });
            }
        };
    run_to(&mut sim, &mut watch, window_start);
    let before = sim.stats();
    run_to(&mut sim, &mut watch, window_end);
    let after = sim.stats();

    let mut killed = Vec::new();
    if config.kill > 0 && kill_at <= end {
        let mut candidates: Vec<usize> = (0..config.nodes).collect();
        victims_rng.shuffle(&mut candidates);
        killed = candidates.into_iter().take(config.kill.min(config.nodes)).collect();
        killed.sort_unstable();
        for &victim in &killed {
            sim.crash(victim);
            watch.down[victim] = true;
        }
        let live = config.nodes - killed.len();
        watch.needed = live * killed.len();
        watch.killed_at = Some(sim.now());
        if watch.needed == 0 {
            watch.all_dead_at = Some(sim.now());
        }
        run_to(&mut sim, &mut watch, end);
    }

    on_phase(ScenarioPhase::Finished);
    let window_s = (window_end - window_start).as_secs_f64();
    let member_periods =
        config.nodes as f64 * window_s / config.probe_period.as_secs_f64().max(f64::MIN_POSITIVE);
    let per_period =
        |value: u64| if member_periods > 0.0 { value as f64 / member_periods } else { 0.0 };
    ScenarioReport {
        nodes: config.nodes,
        seed: config.seed,
        virtual_seconds: (sim.now() - Instant::ZERO).as_secs_f64(),
        false_deaths: watch.false_pairs.len() as u64,
        false_death_examples: watch.examples,
        killed,
        detect_all_dead_s: watch
            .killed_at
            .zip(watch.all_dead_at)
            .map(|(killed, all)| (all - killed).as_secs_f64()),
        first_suspect_s: watch
            .killed_at
            .zip(watch.first_suspect_at)
            .map(|(killed, at)| (at - killed).as_secs_f64()),
        first_dead_s: watch
            .killed_at
            .zip(watch.first_dead_at)
            .map(|(killed, at)| (at - killed).as_secs_f64()),
        msgs_per_member_per_period: per_period(after.datagrams_sent - before.datagrams_sent),
        bytes_per_member_per_period: per_period(
            after.datagram_bytes_sent - before.datagram_bytes_sent,
        ),
        pushpull_bytes_per_member_per_period: per_period(
            after.stream_bytes_sent - before.stream_bytes_sent,
        ),
        steady_window_s: (
            (window_start - Instant::ZERO).as_secs_f64(),
            (window_end - Instant::ZERO).as_secs_f64(),
        ),
        suspicions: watch.suspicions,
        refutations: watch.refutations,
        network: sim.stats(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_endpoints_round_trip() {
        for index in [0, 1, 255, 256, 9_999, 65_536] {
            assert_eq!(member_index(&member_endpoint(index)), Some(index));
        }
        assert_eq!(member_endpoint(0).to_string(), "tcp://127.0.0.1:7946");
        assert_eq!(member_index(&Endpoint::localhost(7946)), Some(0));
        assert_eq!(member_index(&Endpoint::localhost(80)), None);
    }

    #[test]
    fn progress_is_reported_each_virtual_second_and_does_not_change_the_run() {
        let mut config = ScenarioConfig::new(8, 5, 0.0);
        config.duration = Duration::from_secs(12);
        config.kill_at = Duration::from_secs(6);
        config.warmup = Duration::from_secs(2);
        let mut phases = Vec::new();
        let mut factory = crate::sim::SwimFactory::new(crate::swim::SwimConfig::local());
        let report = run_membership_scenario_with(&mut factory, &config, |p| phases.push(p));
        assert_eq!(phases.first(), Some(&ScenarioPhase::Started));
        assert_eq!(phases.last(), Some(&ScenarioPhase::Finished));
        let seconds: Vec<u64> = phases
            .iter()
            .filter_map(|p| match p {
                ScenarioPhase::Progress { elapsed, total } => {
                    assert_eq!(*total, config.duration);
                    Some(elapsed.as_secs())
                }
                _ => None,
            })
            .collect();
        assert_eq!(seconds, (1..=12).collect::<Vec<u64>>());
        let mut factory = crate::sim::SwimFactory::new(crate::swim::SwimConfig::local());
        let again = run_membership_scenario(&mut factory, &config);
        assert_eq!(report.detect_all_dead_s, again.detect_all_dead_s);
        assert_eq!(report.network, again.network, "same seed, same run");
    }
}
