//! `spot sim`: a simulated SWIM cluster (spot-proto's `Membership` on `spot_proto::sim`).
//!
//! The simulation itself is `spot_proto::sim::run_membership_scenario`; this module parses the
//! arguments, measures wall and CPU time around the run, and prints the report.

use core::time::Duration;
use std::time::Instant as WallClock;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use spot_proto::Instant;
use spot_proto::sim::{
    LinkProfile, LossModel, ScenarioConfig, ScenarioPhase, ScenarioReport, SimFailure, StartMode,
    SwimFactory, run_membership_scenario_with,
};
use spot_proto::swim::SwimConfig;

use crate::cpu::process_cpu_time;

/// Loss (percent) up to which a preset promises no false death; above it, false deaths are
/// reported but do not fail the run.
pub const RATED_LOSS_PERCENT: f64 = 10.0;

/// How the simulated cluster starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Start {
    /// Every member starts with the full roster.
    Converged,
    /// Member 0 starts alone; the others join through it.
    Join,
}

/// Membership settings and network the simulation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// LAN settings; 1 ms links with 200 us jitter.
    Lan,
    /// WAN settings; 50 ms links with 10 ms jitter.
    Wan,
    /// Local (same host) settings; 100 us links.
    Local,
}

impl Preset {
    /// The membership configuration of this preset.
    pub fn swim_config(self) -> SwimConfig {
        match self {
            Preset::Lan => SwimConfig::lan(),
            Preset::Wan => SwimConfig::wan(),
            Preset::Local => SwimConfig::local(),
        }
    }

    /// The links of this preset (before loss).
    pub fn link(self) -> LinkProfile {
        match self {
            Preset::Lan => LinkProfile::lan(),
            Preset::Wan => {
                let mut link = LinkProfile::with_latency(Duration::from_millis(50));
                link.jitter = Duration::from_millis(10);
                link
            }
            Preset::Local => LinkProfile::with_latency(Duration::from_micros(100)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Preset::Lan => "lan",
            Preset::Wan => "wan",
            Preset::Local => "local",
        }
    }
}

/// Arguments of `spot sim`.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct SimArgs {
    /// Members in the cluster.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub nodes: u32,
    /// Seed of the whole run; the same seed replays the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Datagram loss on every link, percent (0-100).
    #[arg(long, default_value_t = 0.0, value_parser = parse_percent)]
    pub loss: f64,
    /// Members killed (chosen by the seed) at virtual 60 s.
    #[arg(long, default_value_t = 0)]
    pub kill: u32,
    /// Virtual seconds to simulate.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: u64,
    /// Start from a full roster (converged) or by joining through member 0 (join).
    #[arg(long, value_enum, default_value_t = Start::Converged)]
    pub start: Start,
    /// Membership settings and link latency.
    #[arg(long, value_enum, default_value_t = Preset::Lan)]
    pub preset: Preset,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a percentage from 0 to 100"))
    }
}

impl SimArgs {
    /// Checks what clap cannot: the kill count fits the cluster.
    pub fn validate(&self) -> Result<(), String> {
        if self.kill >= self.nodes {
            return Err(format!(
                "--kill {} must leave at least one of the {} members alive",
                self.kill, self.nodes
            ));
        }
        Ok(())
    }

    /// The scenario these arguments describe.
    pub fn scenario(&self) -> ScenarioConfig {
        let swim = self.preset.swim_config();
        let mut config = ScenarioConfig::new(self.nodes as usize, self.seed, self.loss);
        config.link = self.preset.link().with_loss(LossModel::percent(self.loss));
        config.kill = self.kill as usize;
        config.kill_at = Duration::from_secs(60);
        config.duration = Duration::from_secs(self.duration);
        config.start = match self.start {
            Start::Converged => StartMode::Converged,
            Start::Join => StartMode::Join,
        };
        config.probe_period = swim.probe_interval;
        config.warmup = match self.start {
            Start::Converged => swim.probe_interval * 10,
            Start::Join => swim.probe_interval * 30,
        };
        config
    }
}

/// The result of `spot sim`: the simulation's report plus the time it took.
#[derive(Clone, Debug)]
pub struct SimOutcome {
    /// The arguments.
    pub args: SimArgs,
    /// What the simulation measured.
    pub report: ScenarioReport,
    /// Wall time of the whole command.
    pub wall: Duration,
    /// CPU time spent building the members.
    pub setup_cpu: Duration,
    /// CPU time spent running the virtual clock.
    pub run_cpu: Duration,
}

/// Runs the simulation the arguments describe.
pub fn run(args: &SimArgs) -> SimOutcome {
    let wall = WallClock::now();
    let cpu_start = process_cpu_time();
    let mut factory = SwimFactory::new(args.preset.swim_config());
    let mut started = cpu_start;
    let mut finished = cpu_start;
    let mut progress = Progress::new();
    let report =
        run_membership_scenario_with(&mut factory, &args.scenario(), |phase| match phase {
            ScenarioPhase::Started => started = process_cpu_time(),
            ScenarioPhase::Progress { elapsed, total } => progress.update(elapsed, total),
            ScenarioPhase::Finished => {
                finished = process_cpu_time();
                progress.finish();
            }
        });
    SimOutcome {
        args: args.clone(),
        report,
        wall: wall.elapsed(),
        setup_cpu: started.saturating_sub(cpu_start),
        run_cpu: finished.saturating_sub(started),
    }
}

/// A progress bar on stderr for long runs: it appears once a run has taken a second of wall
/// time, and only when stderr is a terminal (so `--json` output piped elsewhere stays clean).
struct Progress {
    started: WallClock,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Wall time before the bar appears.
    const DELAY: Duration = Duration::from_secs(1);

    fn new() -> Self {
        Progress { started: WallClock::now(), bar: None }
    }

    fn update(&mut self, elapsed: Duration, total: Duration) {
        if self.bar.is_none() && self.started.elapsed() >= Self::DELAY {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total.as_secs()),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} simulated {pos}/{len} virtual s [{bar:40}] {elapsed} (eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(elapsed.as_secs());
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl SimOutcome {
    fn member_seconds(&self) -> f64 {
        (self.report.nodes as f64 * self.report.virtual_seconds).max(f64::MIN_POSITIVE)
    }

    /// Process CPU time (setup and run) per member per virtual second, in microseconds.
    pub fn cpu_us_per_member_second(&self) -> f64 {
        (self.setup_cpu + self.run_cpu).as_secs_f64() * 1e6 / self.member_seconds()
    }

    /// CPU time of the run alone (without building the members) per member-second, in us.
    pub fn run_cpu_us_per_member_second(&self) -> f64 {
        self.run_cpu.as_secs_f64() * 1e6 / self.member_seconds()
    }

    /// The broken invariant, if any: a false death at or below [`RATED_LOSS_PERCENT`].
    pub fn failure(&self) -> Option<SimFailure> {
        let report = &self.report;
        if report.false_deaths == 0 || self.args.loss > RATED_LOSS_PERCENT {
            return None;
        }
        let examples: Vec<String> = report
            .false_death_examples
            .iter()
            .map(|(observer, member)| {
                format!("member {observer} declared live member {member} dead")
            })
            .collect();
        Some(SimFailure::new(
            report.seed,
            Instant::ZERO + Duration::from_secs_f64(report.virtual_seconds),
            "no-false-death",
            format!(
                "{} false deaths at {}% loss (rated for {}%): {}",
                report.false_deaths,
                self.args.loss,
                RATED_LOSS_PERCENT,
                examples.join("; ")
            ),
        ))
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        let r = &self.report;
        json!({
            "nodes": r.nodes,
            "seed": r.seed,
            "loss_percent": self.args.loss,
            "kill": self.args.kill,
            "killed": r.killed,
            "start": match self.args.start { Start::Converged => "converged", Start::Join => "join" },
            "preset": self.args.preset.name(),
            "virtual_seconds": r.virtual_seconds,
            "wall_seconds": self.wall.as_secs_f64(),
            "false_deaths": r.false_deaths,
            "detect_all_dead_s": r.detect_all_dead_s,
            "msgs_per_member_per_period": r.msgs_per_member_per_period,
            "bytes_per_member_per_period": r.bytes_per_member_per_period,
            "pushpull_bytes_per_member_per_period": r.pushpull_bytes_per_member_per_period,
            "steady_window_s": [r.steady_window_s.0, r.steady_window_s.1],
            "cpu_us_per_member_second": self.cpu_us_per_member_second(),
            "run_cpu_us_per_member_second": self.run_cpu_us_per_member_second(),
            "setup_cpu_seconds": self.setup_cpu.as_secs_f64(),
            "suspicions": r.suspicions,
            "refutations": r.refutations,
            "datagrams_sent": r.network.datagrams_sent,
            "datagrams_lost": r.network.dropped_loss,
            "events": r.network.events,
            "ok": self.failure().is_none(),
        })
    }

    /// A readable summary.
    pub fn summary(&self) -> String {
        let r = &self.report;
        let detect = match r.detect_all_dead_s {
            Some(s) => format!("{s:.2} s"),
            None if r.killed.is_empty() => "n/a (nothing killed)".to_owned(),
            None => "not finished".to_owned(),
        };
        format!(
            "spot sim: {} members, seed {}, {}% loss, preset {}, {:.0} virtual s in {:.2} s wall\n\
             \x20 killed:                {:?}\n\
             \x20 all see killed dead:   {detect}\n\
             \x20 false deaths:          {}\n\
             \x20 suspicions/refutations: {}/{}\n\
             \x20 per member per period: {:.2} datagrams, {:.0} bytes, {:.0} push-pull bytes\n\
             \x20 CPU per member-second: {:.3} us ({:.3} us without setup)",
            r.nodes,
            r.seed,
            self.args.loss,
            self.args.preset.name(),
            r.virtual_seconds,
            self.wall.as_secs_f64(),
            r.killed,
            r.false_deaths,
            r.suspicions,
            r.refutations,
            r.msgs_per_member_per_period,
            r.bytes_per_member_per_period,
            r.pushpull_bytes_per_member_per_period,
            self.cpu_us_per_member_second(),
            self.run_cpu_us_per_member_second(),
        )
    }
}
