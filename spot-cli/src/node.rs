//! `spot node`: one long-running cluster member on the tokio driver.
//!
//! It binds an endpoint (TCP and the SWIM UDP twin on the same port), creates its topics, sets
//! its tags, joins through the seeds, then logs every membership and topic event with
//! `tracing` (plain text, or one JSON object a line with `--json`) until SIGINT or SIGTERM,
//! when it leaves the cluster gracefully and exits 0.
//!
//! Settings come from the flags and, with `--config FILE.toml`, from a TOML file with the same
//! keys (`bind`, `advertise`, `join`, `topic`, `tag`, `preset`, `json`); a flag wins over the
//! file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Deserialize;
use spot_driver_tokio::SpotNode;
use spot_proto::Endpoint;
use spot_proto::node::{NodeConfig, NodeEvent};
use spot_proto::swim::{MembershipEvent, SwimConfig};
use spot_proto::wire::spot::{Tag, Utf8Bytes};

use crate::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// How long a graceful leave may take before the node exits anyway.
const LEAVE_LIMIT: Duration = Duration::from_secs(5);

/// Failure-detection timing presets (`SwimConfig::lan`, `wan`, `local`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// A data-centre network: 1 s probes (the default).
    Lan,
    /// Across regions: slower probes, longer suspicion.
    Wan,
    /// One machine or loopback: 200 ms probes, suspicion 1 s to 6 s.
    Local,
}

impl Preset {
    fn node_config(self) -> NodeConfig {
        match self {
            Preset::Lan => NodeConfig::default(),
            Preset::Wan => {
                let mut config = NodeConfig::default();
                config.swim = SwimConfig::wan();
                config
            }
            Preset::Local => NodeConfig::local(),
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

/// `spot node` flags.
#[derive(Args, Debug, Clone, Default)]
pub struct NodeArgs {
    /// Endpoint to bind, e.g. `tcp://127.0.0.1:7400` (TCP for pub/sub, UDP on the same port for
    /// membership). Required here or in the config file.
    #[arg(long, value_name = "ENDPOINT")]
    pub bind: Option<String>,
    /// Endpoint other nodes dial (default: the bound one; needed with `tcp://*:PORT`).
    #[arg(long, value_name = "ENDPOINT")]
    pub advertise: Option<String>,
    /// A seed node to join through (repeatable). Without seeds the node starts a cluster.
    #[arg(long = "join", value_name = "ENDPOINT")]
    pub join: Vec<String>,
    /// A topic this node owns (repeatable).
    #[arg(long = "topic", value_name = "NAME")]
    pub topic: Vec<String>,
    /// A membership tag `KEY=VALUE` (repeatable).
    #[arg(long = "tag", value_name = "K=V")]
    pub tag: Vec<String>,
    /// Failure-detection timing [default: lan].
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// A TOML file with the same keys as the flags; flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Log one JSON object a line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The keys of a `--config` file (all optional; the same names as the flags).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    advertise: Option<String>,
    #[serde(default)]
    join: Vec<String>,
    #[serde(default)]
    topic: Vec<String>,
    #[serde(default)]
    tag: Vec<String>,
    preset: Option<Preset>,
    json: Option<bool>,
}

/// Everything `spot node` needs, validated.
#[derive(Debug)]
pub struct NodeSettings {
    /// Where to bind.
    pub bind: Endpoint,
    /// What to advertise, when not the bound endpoint.
    pub advertise: Option<Endpoint>,
    /// Seeds to join through.
    pub join: Vec<Endpoint>,
    /// Topics to create.
    pub topics: Vec<String>,
    /// Tags `(key, value)`.
    pub tags: Vec<(String, String)>,
    /// Timing preset.
    pub preset: Preset,
    /// JSON logs.
    pub json: bool,
}

fn endpoint(text: &str, what: &str) -> Result<Endpoint, String> {
    text.parse::<Endpoint>().map_err(|e| format!("invalid {what} endpoint {text:?}: {e}"))
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
}

impl NodeArgs {
    /// Merges the flags over the config file and validates everything (a usage error as text).
    pub fn settings(&self) -> Result<NodeSettings, String> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let bind = self
            .bind
            .clone()
            .or(file.bind)
            .ok_or("--bind ENDPOINT is required (or `bind` in the config file)")?;
        let advertise = self.advertise.clone().or(file.advertise);
        // A repeatable flag given on the command line replaces the file's list.
        let pick = |flags: &Vec<String>, from_file: Vec<String>| {
            if flags.is_empty() { from_file } else { flags.clone() }
        };
        let join = pick(&self.join, file.join);
        let topics = pick(&self.topic, file.topic);
        let tag_text = pick(&self.tag, file.tag);
        let mut tags = Vec::with_capacity(tag_text.len());
        for text in &tag_text {
            match text.split_once('=') {
                Some((key, value)) if !key.is_empty() => {
                    tags.push((key.to_owned(), value.to_owned()));
                }
                _ => return Err(format!("invalid tag {text:?}: expected KEY=VALUE")),
            }
        }
        for topic in &topics {
            if topic.is_empty() {
                return Err("a topic name cannot be empty".into());
            }
        }
        Ok(NodeSettings {
            bind: endpoint(&bind, "--bind")?,
            advertise: advertise.as_deref().map(|a| endpoint(a, "--advertise")).transpose()?,
            join: join.iter().map(|j| endpoint(j, "--join")).collect::<Result<_, _>>()?,
            topics,
            tags,
            preset: self.preset.or(file.preset).unwrap_or(Preset::Lan),
            json: self.json || file.json.unwrap_or(false),
        })
    }
}

impl NodeSettings {
    /// The node configuration: the preset's timing, the advertised endpoint and the tags.
    pub fn node_config(&self) -> Result<NodeConfig, String> {
        let seed = u64::from(std::process::id()) ^ 0x5350_4f54;
        let mut config = self.preset.node_config().with_seed(seed);
        if let Some(advertise) = &self.advertise {
            config = config.with_advertise(advertise.clone());
        }
        for (key, value) in &self.tags {
            let key_bytes = Utf8Bytes::new(bytes::Bytes::from(key.clone()), "tag key");
            let value_bytes = Utf8Bytes::new(bytes::Bytes::from(value.clone()), "tag value");
            let tag = match (key_bytes, value_bytes) {
                (Ok(k), Ok(v)) => Tag::new(k, v).map_err(|e| format!("invalid tag {key}: {e}"))?,
                _ => return Err(format!("invalid tag {key}")),
            };
            config.tags.push(tag);
        }
        Ok(config)
    }
}

/// The time within which a crashed member is declared dead by the others, at most: one probe
/// round to notice it, then the longest suspicion.
pub fn dead_bound(config: &NodeConfig) -> Duration {
    let swim = &config.swim;
    swim.probe_interval * 2 + swim.probe_timeout + swim.suspicion_max()
}

fn init_logging(json: bool) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_target(false)
        .with_max_level(tracing::Level::INFO);
    let result = if json {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
    // A second initialisation (tests calling `run` twice) keeps the first subscriber.
    drop(result);
}

fn log_membership(event: &MembershipEvent) {
    match event {
        MembershipEvent::Joined => tracing::info!(event = "joined", "joined the cluster"),
        MembershipEvent::JoinFailed { reason } => {
            tracing::warn!(event = "join_failed", reason = %reason, "join failed");
        }
        MembershipEvent::MemberUp { id, endpoint } => tracing::info!(
            event = "member_up", member = %id, endpoint = %endpoint, state = "Alive",
            "member up"
        ),
        MembershipEvent::MemberSuspect { id, incarnation } => tracing::info!(
            event = "member_suspect", member = %id, incarnation = *incarnation,
            state = "Suspect", "member suspected"
        ),
        MembershipEvent::MemberDead { id } => {
            tracing::info!(event = "member_dead", member = %id, state = "Dead", "member dead");
        }
        MembershipEvent::MemberAlive { id, incarnation } => tracing::info!(
            event = "member_alive", member = %id, incarnation = *incarnation, state = "Alive",
            "member alive again"
        ),
        MembershipEvent::MemberLeft { id } => {
            tracing::info!(event = "member_left", member = %id, state = "Left", "member left");
        }
        MembershipEvent::TagsUpdated { id } => {
            tracing::info!(event = "tags_updated", member = %id, "member tags updated");
        }
        MembershipEvent::MemberReaped { id } => {
            tracing::info!(event = "member_reaped", member = %id, "member reaped");
        }
        MembershipEvent::PartitionSuspected { lost, of } => tracing::warn!(
            event = "partition_suspected",
            lost = *lost,
            of = *of,
            "partition suspected"
        ),
        MembershipEvent::Refuted { incarnation } => tracing::info!(
            event = "refuted",
            incarnation = *incarnation,
            "refuted a suspicion of this node"
        ),
        MembershipEvent::Left => tracing::info!(event = "left", "left the cluster"),
        other => tracing::info!(event = "membership", detail = ?other, "membership event"),
    }
}

fn log_node_event(event: &NodeEvent) {
    match event {
        NodeEvent::TopicDiscovered { topic, owner } => tracing::info!(
            event = "topic_discovered", topic = %topic, owner = %owner, "topic discovered"
        ),
        NodeEvent::TopicLost { topic, owner } => {
            tracing::info!(event = "topic_lost", topic = %topic, owner = %owner, "topic lost");
        }
        NodeEvent::PeerConnected { endpoint, node } => tracing::debug!(
            event = "peer_connected", endpoint = %endpoint,
            node = node.as_ref().map(ToString::to_string), "peer connected"
        ),
        NodeEvent::PeerDisconnected { endpoint } => {
            tracing::debug!(event = "peer_disconnected", endpoint = %endpoint, "peer disconnected");
        }
        _ => {}
    }
}

/// Resolves when SIGINT or SIGTERM arrives (Ctrl-C only where SIGTERM does not exist).
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut int), Ok(mut term)) => tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

async fn serve(settings: NodeSettings) -> Result<(), String> {
    let config = settings.node_config()?;
    let bound_limit = dead_bound(&config);
    let mut builder = SpotNode::builder(config).bind(settings.bind.clone());
    if let Some(advertise) = &settings.advertise {
        builder = builder.advertise(advertise.clone());
    }
    let node = builder.start().await.map_err(|e| format!("cannot bind {}: {e}", settings.bind))?;
    // Subscribe to events before anything happens, so nothing is missed.
    let mut membership = node.membership_events().await.map_err(|e| e.to_string())?;
    let mut events = node.events().await.map_err(|e| e.to_string())?;
    let bound: Vec<String> = node.local_endpoints().iter().map(ToString::to_string).collect();
    let advertised = node.advertised().map(|e| e.to_string()).unwrap_or_default();
    tracing::info!(
        event = "started",
        node = %node.node_id(),
        bound = bound.join(","),
        advertised = advertised.as_str(),
        preset = settings.preset.name(),
        dead_bound_ms = u64::try_from(bound_limit.as_millis()).unwrap_or(u64::MAX),
        "node listening on {}", bound.join(",")
    );
    for topic in &settings.topics {
        node.topic_create(topic).await.map_err(|e| format!("cannot create topic {topic}: {e}"))?;
        tracing::info!(event = "topic_created", topic = topic.as_str(), "topic created");
    }
    match node.join(&settings.join).await {
        Ok(()) => {}
        Err(e) => tracing::warn!(event = "join_failed", reason = %e, "join failed; running alone"),
    }
    let signal = stop_signal();
    tokio::pin!(signal);
    let name = loop {
        tokio::select! {
            name = &mut signal => break name,
            Some(event) = membership.recv() => log_membership(&event),
            Some(event) = events.recv() => log_node_event(&event),
        }
    };
    tracing::info!(event = "leaving", signal = name, "leaving the cluster");
    match tokio::time::timeout(LEAVE_LIMIT, node.leave()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(event = "leave_failed", reason = %e, "leave failed"),
        Err(_) => tracing::warn!(event = "leave_failed", reason = "timeout", "leave timed out"),
    }
    node.shutdown().await;
    tracing::info!(event = "stopped", "node stopped");
    Ok(())
}

/// Runs `spot node` to completion; returns the exit code.
pub fn run(args: &NodeArgs) -> u8 {
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(message) => {
            crate::print_error(&format!("{message}\n\nFor more information, try '--help'."));
            return EXIT_USAGE;
        }
    };
    init_logging(settings.json);
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                crate::print_error(&format!("cannot start a runtime: {e}"));
                return EXIT_FAILED;
            }
        };
    match runtime.block_on(serve(settings)) {
        Ok(()) => EXIT_OK,
        Err(message) => {
            tracing::error!(event = "failed", reason = message.as_str(), "node failed");
            crate::print_error(&message);
            EXIT_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("spot-node-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("node.toml");
        std::fs::write(
            &path,
            "bind = \"tcp://127.0.0.1:7401\"\njoin = [\"tcp://127.0.0.1:7400\"]\n\
             topic = [\"a\", \"b\"]\ntag = [\"dc=eu\"]\npreset = \"local\"\njson = true\n",
        )
        .expect("write");
        let args = NodeArgs {
            bind: Some("tcp://127.0.0.1:7402".into()),
            config: Some(path.clone()),
            ..NodeArgs::default()
        };
        let settings = args.settings().expect("valid");
        assert_eq!(settings.bind.to_string(), "tcp://127.0.0.1:7402");
        assert_eq!(settings.join.len(), 1);
        assert_eq!(settings.topics, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(settings.tags, vec![("dc".to_owned(), "eu".to_owned())]);
        assert_eq!(settings.preset, Preset::Local);
        assert!(settings.json);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        let no_bind = NodeArgs::default();
        assert!(no_bind.settings().is_err());
        let bad_tag = NodeArgs {
            bind: Some("tcp://127.0.0.1:1".into()),
            tag: vec!["novalue".into()],
            ..NodeArgs::default()
        };
        assert!(bad_tag.settings().unwrap_err().contains("KEY=VALUE"));
        let bad_endpoint = NodeArgs { bind: Some("udp://x".into()), ..NodeArgs::default() };
        assert!(bad_endpoint.settings().is_err());
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("spot-node-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("node.toml");
        std::fs::write(&path, "bnid = \"tcp://127.0.0.1:1\"\n").expect("write");
        let args = NodeArgs { config: Some(path), ..NodeArgs::default() };
        assert!(args.settings().unwrap_err().contains("invalid config file"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn local_dead_bound_is_a_few_seconds() {
        let bound = dead_bound(&Preset::Local.node_config());
        assert!(bound >= Duration::from_secs(1) && bound <= Duration::from_secs(10), "{bound:?}");
    }
}
