//! SPOT's SWIM membership beside foca 2.0, on the same simulated network, in one run.

mod cpu;
mod foca_sim;
mod toy;

use std::time::{Duration, Instant as WallInstant};

use clap::Parser;
use spot_proto::sim::{
    ClusterFactory, ScenarioConfig, ScenarioPhase, ScenarioReport, StartMode,
    run_membership_scenario_with,
};

use spot_proto::sim::SwimFactory;
use spot_proto::swim::SwimConfig;

use crate::foca_sim::FocaFactory;

#[derive(Parser, Debug)]
#[command(about = "SWIM membership vs foca 2.0 on the same simulated network")]
struct Args {
    /// Cluster sizes, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    nodes: Vec<usize>,
    /// Seeds per cell (seeds first-seed .. first-seed + N).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Loss percentages, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    loss: Vec<f64>,
    /// Virtual seconds per run.
    #[arg(long, default_value_t = 120)]
    duration: u64,
    /// Members killed at 60 s (plus a seed-derived fraction of a probe period).
    #[arg(long, default_value_t = 1)]
    kill: usize,
    /// Our Lifeguard suspicion ceiling as a multiple of the minimum (default: the LAN preset's).
    #[arg(long)]
    suspicion_max_multiplier: Option<u32>,
    /// Which implementations: spot, foca or both.
    #[arg(long, default_value = "both")]
    only: String,
}

struct Measured {
    report: ScenarioReport,
    setup_cpu: Duration,
    run_cpu: Duration,
    wall: Duration,
}

fn measure<F: ClusterFactory>(factory: &mut F, config: &ScenarioConfig) -> Measured {
    let cpu0 = cpu::process_cpu_time();
    let wall0 = WallInstant::now();
    let mut started = cpu0;
    let mut finished = cpu0;
    let report = run_membership_scenario_with(factory, config, |phase| match phase {
        ScenarioPhase::Started => started = cpu::process_cpu_time(),
        ScenarioPhase::Finished => finished = cpu::process_cpu_time(),
        ScenarioPhase::Progress { .. } => {}
    });
    Measured {
        report,
        setup_cpu: started - cpu0,
        run_cpu: finished - started,
        wall: wall0.elapsed(),
    }
}

fn print_row(name: &str, loss: f64, m: &Measured) {
    let r = &m.report;
    let member_seconds = r.nodes as f64 * r.virtual_seconds;
    let line = serde_json::json!({
        "impl": name,
        "nodes": r.nodes,
        "seed": r.seed,
        "loss": loss,
        "virtual_seconds": r.virtual_seconds,
        "wall_seconds": m.wall.as_secs_f64(),
        "cpu_us_per_member_second": m.run_cpu.as_secs_f64() * 1e6 / member_seconds,
        "setup_cpu_seconds": m.setup_cpu.as_secs_f64(),
        "false_deaths": r.false_deaths,
        "false_death_examples": r.false_death_examples,
        "detect_all_dead_s": r.detect_all_dead_s,
        "first_suspect_s": r.first_suspect_s,
        "first_dead_s": r.first_dead_s,
        "msgs_per_member_per_period": r.msgs_per_member_per_period,
        "bytes_per_member_per_period": r.bytes_per_member_per_period,
        "pushpull_bytes_per_member_per_period": r.pushpull_bytes_per_member_per_period,
        "suspicions": r.suspicions,
    });
    println!("{line}");
}

fn main() {
    let args = Args::parse();
    let period = Duration::from_secs(1);
    let rtt = Duration::from_millis(500);
    for &nodes in &args.nodes {
        for &loss in &args.loss {
            for seed in args.first_seed..args.first_seed + args.seeds {
                let mut config = ScenarioConfig::new(nodes, seed, loss);
                config.kill = args.kill;
                config.kill_at = kill_instant(seed);
                config.duration = Duration::from_secs(args.duration);
                config.start = StartMode::Converged;
                config.probe_period = period;
                let suspicion = suspicion_min(nodes);
                if args.only == "toy" {
                    let measured = measure(&mut toy::ToyFactory, &config);
                    print_row("toy", loss, &measured);
                    continue;
                }
                if args.only != "foca" {
                    let mut swim = SwimConfig::lan();
                    swim.probe_interval = period;
                    swim.probe_timeout = rtt;
                    swim.suspicion_min = suspicion;
                    if let Some(multiplier) = args.suspicion_max_multiplier {
                        swim.suspicion_max_multiplier = multiplier;
                    }
                    let mut spot = SwimFactory::new(swim);
                    let measured = measure(&mut spot, &config);
                    print_row("spot", loss, &measured);
                }
                if args.only != "spot" {
                    let mut foca = FocaFactory::lan(nodes, period, rtt, suspicion);
                    let measured = measure(&mut foca, &config);
                    print_row("foca", loss, &measured);
                }
            }
        }
    }
}

/// The kill happens at 60 s plus a seed-derived fraction of a probe period: a real crash is not
/// aligned with anyone's probe tick (foca's members, started together, all probe on whole
/// seconds, so a kill at exactly 60 s would always land right before a probe round).
fn kill_instant(seed: u64) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(seed.wrapping_mul(618) % 1000)
}

/// foca's LAN suspicion timeout for `nodes` (4 x max(1, log10 N) probe periods); ours uses the
/// same value as its minimum.
fn suspicion_min(nodes: usize) -> Duration {
    Duration::from_secs_f64(4.0 * (nodes.max(1) as f64).log10().max(1.0))
}
