//! `spot bench`: pub/sub between two processes over loopback.
//!
//! This process is the publisher; it spawns itself as `spot bench-peer` ([`peer`]), the
//! subscriber, and coordinates it over the child's stdin and stdout (JSON lines). For SPOT the
//! publisher is a node owning the run's topic and the subscriber a second node that adds it as
//! a peer and subscribes; with `--peers` the same runs go through nats-server (async-nats) and
//! redis-server (redis crate) started here on 127.0.0.1 ([`servers`], `peers` feature).
//!
//! Each run is one of:
//! * **throughput** at a message size: `--messages` messages published as fast as the client
//!   takes them, in bursts of `--burst` (SPOT: one `publish_batch_nowait` then a round trip to the
//!   driver; NATS: one `publish` each; Redis: one pipeline of PUBLISH commands); the figure is
//!   messages received over the time from the first send to the last receive;
//! * **latency**: `--rate` messages a second for `--duration` seconds, each sent at its own
//!   time by a pacing thread; the figures are the quantiles of receive time minus send time.
//!
//! Both times are read from `CLOCK_MONOTONIC` ([`sample::now_ns`]), one clock for every
//! process of the machine, so a one-way latency needs no clock offset or halved round trip.
//!
//! Runs are interleaved: for each of `--runs` rounds, each measurement runs on every system in
//! turn (the order rotates each round), and every figure reported is the median of the rounds
//! with its min-max spread.

pub mod peer;
pub mod sample;
#[cfg(feature = "peers")]
pub mod servers;
pub mod systems;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spot_driver_tokio::SpotNode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use sample::{Spread, WARM, burst, now_ns, payload};
use systems::{Publisher, System, start_spot};

/// Command-line arguments of `spot bench`.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Also measure nats-server and redis-server in the same run, interleaved with SPOT
    /// (needs the `peers` cargo feature; installs the Debian packages with apt when missing).
    #[arg(long)]
    pub peers: bool,
    /// Rounds of interleaved runs; each figure is the median over them.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Messages per throughput run.
    #[arg(long, default_value_t = 300_000)]
    pub messages: u64,
    /// Message sizes of the throughput runs, in bytes (at least 16), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "16,1024")]
    pub sizes: Vec<usize>,
    /// Messages per second of the latency runs.
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// Seconds of each latency run.
    #[arg(long, default_value_t = 2.0)]
    pub duration: f64,
    /// Message size of the latency runs, in bytes (at least 16).
    #[arg(long, default_value_t = 16)]
    pub latency_size: usize,
    /// Messages per publish burst in throughput runs (Redis: the pipeline depth).
    #[arg(long, default_value_t = 1000)]
    pub burst: usize,
    /// Print the report as one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// Checks the arguments: a usage error names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        const MAX_SIZE: usize = 1 << 20;
        if self.runs == 0 || self.runs > 1000 {
            return Err("--runs must be 1..=1000".into());
        }
        if self.messages == 0 || self.messages > 100_000_000 {
            return Err("--messages must be 1..=100000000".into());
        }
        if self.sizes.is_empty() {
            return Err("--sizes needs at least one size".into());
        }
        if let Some(bad) = self
            .sizes
            .iter()
            .chain([&self.latency_size])
            .find(|s| !(sample::HEADER..=MAX_SIZE).contains(*s))
        {
            return Err(format!("message size {bad} is out of range 16..={MAX_SIZE}"));
        }
        if self.rate == 0 || self.rate > 1_000_000 {
            return Err("--rate must be 1..=1000000".into());
        }
        if !(self.duration > 0.0 && self.duration <= 600.0) {
            return Err("--duration must be in (0, 600] seconds".into());
        }
        if self.burst == 0 || self.burst > 1_000_000 {
            return Err("--burst must be 1..=1000000".into());
        }
        if self.peers && !cfg!(feature = "peers") {
            return Err("--peers needs a build with the `peers` feature \
                        (cargo run --release -p spot-cli --features peers -- bench --peers)"
                .into());
        }
        Ok(())
    }

    fn latency_messages(&self) -> u64 {
        ((self.rate as f64 * self.duration).round() as u64).max(1)
    }
}

/// One kind of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Measurement {
    Throughput(usize),
    Latency(usize),
}

impl Measurement {
    fn label(self) -> String {
        match self {
            Measurement::Throughput(size) => format!("throughput {size} B"),
            Measurement::Latency(size) => format!("latency {size} B"),
        }
    }
}

/// The control pipe to the `spot bench-peer` process.
struct Control {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Control {
    fn spawn() -> Result<Control, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut child = tokio::process::Command::new(exe)
            .arg("bench-peer")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the subscriber process: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe to the subscriber")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe from the subscriber")?;
        Ok(Control { child, stdin, lines: BufReader::new(stdout).lines() })
    }

    async fn send(&mut self, command: &Value) -> Result<(), String> {
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.map_err(|e| format!("control pipe: {e}"))?;
        self.stdin.flush().await.map_err(|e| format!("control pipe: {e}"))
    }

    /// The next answer (cancellation-safe); an `error` answer is an error.
    async fn next(&mut self) -> Result<Value, String> {
        let line = self
            .lines
            .next_line()
            .await
            .map_err(|e| format!("control pipe: {e}"))?
            .ok_or("the subscriber process exited")?;
        let value: Value =
            serde_json::from_str(&line).map_err(|e| format!("bad answer {line:?}: {e}"))?;
        match value["error"].as_str() {
            Some(message) => Err(format!("subscriber: {message}")),
            None => Ok(value),
        }
    }

    async fn expect(&mut self, key: &str, limit: Duration) -> Result<Value, String> {
        let value = tokio::time::timeout(limit, self.next())
            .await
            .map_err(|_| format!("no `{key}` from the subscriber within {limit:?}"))??;
        if value[key] == Value::Bool(true) {
            Ok(value)
        } else {
            Err(format!("expected `{key}` from the subscriber, got {value}"))
        }
    }

    async fn quit(mut self) {
        let _ = self.send(&json!({ "op": "quit" })).await;
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

/// Everything a run needs.
struct Bench<'a> {
    args: &'a BenchArgs,
    control: Control,
    owner: SpotNode,
    owner_addr: String,
    #[cfg(feature = "peers")]
    nats: Option<servers::Server>,
    #[cfg(feature = "peers")]
    redis: Option<servers::Server>,
    next_topic: u64,
}

impl Bench<'_> {
    async fn publisher(
        &mut self,
        system: System,
        topic: &str,
    ) -> Result<(String, Publisher), String> {
        match system {
            System::Spot => {
                self.owner.topic_create(topic).await.map_err(|e| format!("topic_create: {e}"))?;
                let publisher = Publisher::Spot { node: self.owner.clone(), topic: topic.into() };
                Ok((self.owner_addr.clone(), publisher))
            }
            #[cfg(feature = "peers")]
            System::Nats => {
                let addr = self.nats.as_ref().ok_or("nats-server is not running")?.addr();
                let publisher = Publisher::nats(&addr, topic).await?;
                Ok((addr, publisher))
            }
            #[cfg(feature = "peers")]
            System::Redis => {
                let addr = self.redis.as_ref().ok_or("redis-server is not running")?.addr();
                let publisher = Publisher::redis(&addr, topic).await?;
                Ok((addr, publisher))
            }
            #[cfg(not(feature = "peers"))]
            System::Nats | System::Redis => {
                Err(format!("{} needs the `peers` feature", system.name()))
            }
        }
    }

    /// One run of `measurement` on `system`: the subscriber's figures plus what was sent.
    async fn run(&mut self, system: System, measurement: Measurement) -> Result<Value, String> {
        self.next_topic += 1;
        let topic = format!("bench-{}", self.next_topic);
        let (size, count) = match measurement {
            Measurement::Throughput(size) => (size, self.args.messages),
            Measurement::Latency(size) => (size, self.args.latency_messages()),
        };
        let (addr, mut publisher) = self.publisher(system, &topic).await?;
        self.control
            .send(&json!({
                "op": "run", "system": system.name(), "addr": addr, "topic": topic,
                "count": count, "idle_ms": 1500,
            }))
            .await?;
        self.control.expect("ready", Duration::from_secs(20)).await?;

        // Warm-up: a marked message every 5 ms until the subscriber saw one.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            publisher.send_one(payload(WARM, now_ns(), size)).await?;
            tokio::select! {
                answer = self.control.next() => {
                    let answer = answer?;
                    if answer["warm"] != Value::Bool(true) {
                        return Err(format!("expected `warm` from the subscriber, got {answer}"));
                    }
                    break;
                }
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
            if Instant::now() > deadline {
                return Err(format!("{}: the subscriber saw no warm-up message", system.name()));
            }
        }

        let started = now_ns();
        match measurement {
            Measurement::Throughput(size) => {
                let mut seq = 0u64;
                while seq < count {
                    let n = (count - seq).min(self.args.burst as u64);
                    publisher.send_burst(burst(seq, n as usize, now_ns(), size)).await?;
                    seq += n;
                }
                publisher.flush().await?;
            }
            Measurement::Latency(size) => {
                publisher = pace(publisher, count, self.args.rate, size).await?;
            }
        }
        let publish_s = now_ns().saturating_sub(started) as f64 / 1e9;
        let mut done = self.control.expect("done", Duration::from_secs(120)).await?;
        drop(publisher);
        if system == System::Spot {
            let _ = self.owner.topic_destroy(&topic).await;
        }

        let received = done["received"].as_u64().unwrap_or(0);
        let span_s = done["span_ns"].as_u64().unwrap_or(0) as f64 / 1e9;
        let bytes = done["bytes"].as_u64().unwrap_or(0) as f64;
        let (rate, mb) = if span_s > 0.0 {
            (received as f64 / span_s, bytes / span_s / 1e6)
        } else {
            (0.0, 0.0)
        };
        if let Some(fields) = done.as_object_mut() {
            fields.remove("done");
            fields.insert("sent".into(), json!(count));
            fields.insert("lost".into(), json!(count.saturating_sub(received)));
            fields.insert("publish_s".into(), json!(publish_s));
            fields.insert("msgs_per_s".into(), json!(rate));
            fields.insert("mb_per_s".into(), json!(mb));
        }
        if received == 0 {
            return Err(format!("{} {}: no message arrived", system.name(), measurement.label()));
        }
        Ok(done)
    }
}

/// Publishes `count` messages at `rate` a second from a thread of its own (tokio's timer
/// ticks in milliseconds; this one sleeps to each message's own time), stamping each with the
/// time it is handed to the client.
async fn pace(
    mut publisher: Publisher,
    count: u64,
    rate: u64,
    size: usize,
) -> Result<Publisher, String> {
    let handle = tokio::runtime::Handle::current();
    let (finished, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-pacer".into())
        .spawn(move || {
            let interval = 1e9 / rate as f64;
            let start = now_ns();
            let mut outcome = Ok(());
            for i in 0..count {
                let due = start + (i as f64 * interval) as u64;
                let now = now_ns();
                if due > now {
                    std::thread::sleep(Duration::from_nanos(due - now));
                }
                if let Err(e) = handle.block_on(publisher.send_one(payload(i, now_ns(), size))) {
                    outcome = Err(e);
                    break;
                }
            }
            if outcome.is_ok() {
                outcome = handle.block_on(publisher.flush());
            }
            let _ = finished.send(outcome.map(|()| publisher));
        })
        .map_err(|e| format!("cannot start the pacing thread: {e}"))?;
    result.await.map_err(|_| "the pacing thread died".to_string())?
}

fn field(runs: &[Value], key: &str, scale: f64) -> Option<Spread> {
    let values: Vec<f64> = runs.iter().filter_map(|r| r[key].as_f64()).map(|v| v * scale).collect();
    Spread::of(&values)
}

fn spread_json(spread: Option<Spread>) -> Value {
    spread.map_or(Value::Null, |s| s.to_json())
}

fn total(runs: &[Value], key: &str) -> u64 {
    runs.iter().filter_map(|r| r[key].as_u64()).sum()
}

/// The report of a finished bench, as JSON (see `spot bench --help`).
fn report(
    args: &BenchArgs,
    systems: &[System],
    measurements: &[Measurement],
    results: &BTreeMap<(&'static str, String), Vec<Value>>,
    servers: Value,
    wall_s: f64,
) -> Value {
    let mut per_system = serde_json::Map::new();
    for system in systems {
        let mut throughput = serde_json::Map::new();
        let mut latency = serde_json::Map::new();
        for m in measurements {
            let runs = results.get(&(system.name(), m.label())).cloned().unwrap_or_default();
            match m {
                Measurement::Throughput(size) => {
                    throughput.insert(
                        size.to_string(),
                        json!({
                            "msgs_per_s": spread_json(field(&runs, "msgs_per_s", 1.0)),
                            "mb_per_s": spread_json(field(&runs, "mb_per_s", 1.0)),
                            "sent": total(&runs, "sent"),
                            "received": total(&runs, "received"),
                            "lost": total(&runs, "lost"),
                            "runs": runs,
                        }),
                    );
                }
                Measurement::Latency(size) => {
                    latency.insert(
                        size.to_string(),
                        json!({
                            "rate": args.rate,
                            "p50_us": spread_json(field(&runs, "p50_ns", 1e-3)),
                            "p99_us": spread_json(field(&runs, "p99_ns", 1e-3)),
                            "p999_us": spread_json(field(&runs, "p999_ns", 1e-3)),
                            "max_us": spread_json(field(&runs, "max_ns", 1e-3)),
                            "sent": total(&runs, "sent"),
                            "received": total(&runs, "received"),
                            "lost": total(&runs, "lost"),
                            "runs": runs,
                        }),
                    );
                }
            }
        }
        per_system
            .insert(system.name().into(), json!({ "throughput": throughput, "latency": latency }));
    }
    let results_json = Value::Object(per_system);
    let median = |system: &str, kind: &str, size: usize, key: &str| {
        results_json[system][kind][size.to_string()][key]["median"].as_f64()
    };
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => json!(a / b),
        _ => Value::Null,
    };
    let mut ratios = serde_json::Map::new();
    let mut targets = Vec::new();
    for peer in systems.iter().filter(|s| **s != System::Spot) {
        let mut r = serde_json::Map::new();
        for size in &args.sizes {
            r.insert(
                format!("throughput_{size}"),
                ratio(
                    median("spot", "throughput", *size, "msgs_per_s"),
                    median(peer.name(), "throughput", *size, "msgs_per_s"),
                ),
            );
        }
        for key in ["p50", "p99"] {
            r.insert(
                format!("{key}_{}", args.latency_size),
                ratio(
                    median("spot", "latency", args.latency_size, &format!("{key}_us")),
                    median(peer.name(), "latency", args.latency_size, &format!("{key}_us")),
                ),
            );
        }
        if *peer == System::Nats {
            let mut target = |name: String, key: String, bound: f64, at_least: bool| {
                let value = r.get(&key).and_then(Value::as_f64);
                let met = value.map(|v| if at_least { v >= bound } else { v <= bound });
                targets.push(json!({
                    "target": name, "ratio": value, "bound": bound, "met": met,
                }));
            };
            if args.sizes.contains(&16) {
                target("throughput 16 B >= 1.5x nats".into(), "throughput_16".into(), 1.5, true);
            }
            if args.sizes.contains(&1024) {
                target("throughput 1 KiB >= 1.2x nats".into(), "throughput_1024".into(), 1.2, true);
            }
            target(
                format!("p99 latency ({} B) <= 1.1x nats", args.latency_size),
                format!("p99_{}", args.latency_size),
                1.1,
                false,
            );
        }
        ratios.insert(format!("spot/{}", peer.name()), Value::Object(r));
    }
    json!({
        "command": "spot bench",
        "config": {
            "runs": args.runs,
            "messages": args.messages,
            "sizes": args.sizes,
            "rate": args.rate,
            "duration_s": args.duration,
            "latency_size": args.latency_size,
            "latency_messages": args.latency_messages(),
            "burst": args.burst,
            "peers": args.peers,
        },
        "method": {
            "processes": "publisher in `spot bench`, subscriber in `spot bench-peer` (spawned), loopback TCP",
            "clock": "CLOCK_MONOTONIC, shared by both processes: latency = receive time - send time in the payload",
            "throughput": "messages received / (last receive - first send)",
            "interleaving": "each round runs every measurement on every system in turn, the order rotating per round",
            "figures": "median over rounds, with min and max",
        },
        "machine": { "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()) },
        "servers": servers,
        "results": results_json,
        "ratios": ratios,
        "targets": targets,
        "wall_s": wall_s,
    })
}

/// The report as tables, for people.
pub fn summary(report: &Value) -> String {
    let mut out = String::new();
    let results = &report["results"];
    let systems: Vec<&String> = results.as_object().map(|m| m.keys().collect()).unwrap_or_default();
    let fmt = |s: &Value, scale: f64, digits: usize| match (
        s["median"].as_f64(),
        s["min"].as_f64(),
        s["max"].as_f64(),
    ) {
        (Some(m), Some(lo), Some(hi)) => {
            format!("{:.digits$} ({:.digits$}-{:.digits$})", m * scale, lo * scale, hi * scale)
        }
        _ => "-".into(),
    };
    let _ = writeln!(
        out,
        "spot bench: {} rounds, median (min-max)\n\nthroughput ({} messages a run)",
        report["config"]["runs"], report["config"]["messages"]
    );
    let _ = writeln!(
        out,
        "  {:<6} {:>7} {:>30} {:>26} {:>8}",
        "system", "size", "k msg/s", "MB/s", "lost"
    );
    for system in &systems {
        if let Some(sizes) = results[system.as_str()]["throughput"].as_object() {
            for (size, t) in sizes {
                let _ = writeln!(
                    out,
                    "  {:<6} {:>5} B {:>30} {:>26} {:>8}",
                    system,
                    size,
                    fmt(&t["msgs_per_s"], 1e-3, 1),
                    fmt(&t["mb_per_s"], 1.0, 1),
                    t["lost"]
                );
            }
        }
    }
    let _ = writeln!(out, "\nlatency at {} msg/s", report["config"]["rate"]);
    let _ = writeln!(
        out,
        "  {:<6} {:>7} {:>24} {:>24} {:>8}",
        "system", "size", "p50 us", "p99 us", "lost"
    );
    for system in &systems {
        if let Some(sizes) = results[system.as_str()]["latency"].as_object() {
            for (size, l) in sizes {
                let _ = writeln!(
                    out,
                    "  {:<6} {:>5} B {:>24} {:>24} {:>8}",
                    system,
                    size,
                    fmt(&l["p50_us"], 1.0, 0),
                    fmt(&l["p99_us"], 1.0, 0),
                    l["lost"]
                );
            }
        }
    }
    if let Some(ratios) = report["ratios"].as_object() {
        for (name, r) in ratios {
            let _ = writeln!(out, "\n{name}: {r}");
        }
    }
    if let Some(targets) = report["targets"].as_array() {
        for t in targets {
            let met = match t["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "-",
            };
            let _ = writeln!(
                out,
                "  target {}: ratio {} -> {met}",
                t["target"].as_str().unwrap_or(""),
                t["ratio"].as_f64().map_or("-".into(), |r| format!("{r:.2}"))
            );
        }
    }
    out
}

/// Runs the bench; `note` gets a line of progress per run. Returns the report (JSON).
pub async fn run(args: &BenchArgs, mut note: impl FnMut(&str)) -> Result<Value, String> {
    let wall = Instant::now();
    #[cfg_attr(not(feature = "peers"), allow(unused_mut))]
    let mut systems = vec![System::Spot];
    #[allow(unused_mut)]
    let mut versions = json!({});
    #[cfg(feature = "peers")]
    let (nats, redis) = if args.peers {
        let (nats_bin, redis_bin) = servers::ensure_installed(&mut note)?;
        let nats = servers::start_nats(&nats_bin)?;
        let redis = servers::start_redis(&redis_bin)?;
        for server in [&nats, &redis] {
            note(&format!("{} on {} ({})", server.name(), server.addr(), server.version));
            versions[server.name()] = json!(server.version);
        }
        systems.extend([System::Nats, System::Redis]);
        (Some(nats), Some(redis))
    } else {
        (None, None)
    };
    let owner = start_spot(1).await?;
    let owner_addr = owner.advertised().ok_or("the SPOT owner node has no endpoint")?.to_string();
    let mut bench = Bench {
        args,
        control: Control::spawn()?,
        owner,
        owner_addr,
        #[cfg(feature = "peers")]
        nats,
        #[cfg(feature = "peers")]
        redis,
        next_topic: 0,
    };
    let mut measurements: Vec<Measurement> =
        args.sizes.iter().map(|s| Measurement::Throughput(*s)).collect();
    measurements.push(Measurement::Latency(args.latency_size));

    let mut results: BTreeMap<(&'static str, String), Vec<Value>> = BTreeMap::new();
    let mut outcome = Ok(());
    'rounds: for round in 0..args.runs {
        for m in &measurements {
            for i in 0..systems.len() {
                let system = systems[(i + round) % systems.len()];
                match bench.run(system, *m).await {
                    Ok(figures) => {
                        note(&format!(
                            "round {}/{} {} {}: {:.0} msg/s, p50 {:.0} us, p99 {:.0} us, lost {}",
                            round + 1,
                            args.runs,
                            system.name(),
                            m.label(),
                            figures["msgs_per_s"].as_f64().unwrap_or(0.0),
                            figures["p50_ns"].as_f64().unwrap_or(0.0) / 1e3,
                            figures["p99_ns"].as_f64().unwrap_or(0.0) / 1e3,
                            figures["lost"],
                        ));
                        results.entry((system.name(), m.label())).or_default().push(figures);
                    }
                    Err(e) => {
                        outcome = Err(e);
                        break 'rounds;
                    }
                }
            }
        }
    }
    let Bench { control, owner, .. } = bench;
    control.quit().await;
    owner.shutdown().await;
    outcome?;
    Ok(report(args, &systems, &measurements, &results, versions, wall.elapsed().as_secs_f64()))
}

/// `spot bench`: validates, runs, prints; returns the exit code.
pub fn run_command(args: &BenchArgs) -> u8 {
    let mut stderr = std::io::stderr();
    if let Err(message) = args.validate() {
        let _ = writeln!(stderr, "error: {message}\n\nFor more information, try '--help'.");
        return crate::EXIT_USAGE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(stderr, "error: cannot start a runtime: {e}");
            return crate::EXIT_FAILED;
        }
    };
    let result = runtime.block_on(run(args, |line| {
        let _ = writeln!(std::io::stderr(), "{line}");
    }));
    match result {
        Ok(report) => {
            let text = if args.json { report.to_string() } else { summary(&report) };
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "{text}");
            crate::EXIT_OK
        }
        Err(message) => {
            let _ = writeln!(stderr, "spot bench failed: {message}");
            crate::EXIT_FAILED
        }
    }
}
