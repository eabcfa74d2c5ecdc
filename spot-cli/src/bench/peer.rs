//! `spot bench-peer`: the subscriber process of `spot bench` (hidden; spawned by it).
//!
//! It reads one JSON command a line on stdin and answers with JSON lines on stdout:
//!
//! * `{"op":"run","system":S,"addr":A,"topic":T,"count":N,"idle_ms":I}`: subscribes to `T`
//!   on system `S` at `A` and answers `{"ready":true}`; answers `{"warm":true}` at the first
//!   warm-up message; then receives until `N` measured messages came, or none came for `I` ms,
//!   and answers `{"done":true, ...figures}`. Any failure answers `{"error":MESSAGE}`.
//! * `{"op":"quit"}` (or the end of stdin): shuts down and exits 0.

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use spot_driver_tokio::SpotNode;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::sample::{WARM, now_ns, quantile};
use super::systems::{Subscriber, System, start_spot};

/// Longest wait for the first warm-up message.
const WARM_LIMIT: Duration = Duration::from_secs(10);

fn reply(value: &Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

#[derive(Default)]
struct PeerState {
    spot: Option<SpotNode>,
    owners: Vec<String>,
}

impl PeerState {
    async fn subscribe(
        &mut self,
        system: System,
        addr: &str,
        topic: &str,
    ) -> Result<Subscriber, String> {
        match system {
            System::Spot => {
                if self.spot.is_none() {
                    self.spot = Some(start_spot(2).await?);
                }
                let node = self.spot.as_ref().ok_or("no SPOT node")?;
                Subscriber::spot(node, addr, topic, &mut self.owners).await
            }
            #[cfg(feature = "peers")]
            System::Nats => Subscriber::nats(addr, topic).await,
            #[cfg(feature = "peers")]
            System::Redis => Subscriber::redis(addr, topic).await,
            #[cfg(not(feature = "peers"))]
            System::Nats | System::Redis => {
                Err(format!("{} needs the `peers` feature", system.name()))
            }
        }
    }

    async fn run(&mut self, command: &Value) -> Result<Value, String> {
        let system = command["system"]
            .as_str()
            .and_then(System::from_name)
            .ok_or("run: missing or unknown system")?;
        let addr = command["addr"].as_str().ok_or("run: missing addr")?;
        let topic = command["topic"].as_str().ok_or("run: missing topic")?;
        let count = command["count"].as_u64().ok_or("run: missing count")?;
        let idle = Duration::from_millis(command["idle_ms"].as_u64().unwrap_or(1000));
        let mut sub = self.subscribe(system, addr, topic).await?;
        reply(&json!({ "ready": true }));

        // Warm-up: wait for the first warm-up message (the subscription is in place end to end).
        loop {
            match tokio::time::timeout(WARM_LIMIT, sub.next()).await {
                Ok(Some(Some(header))) if header.seq == WARM => break,
                Ok(Some(_)) => {}
                Ok(None) => return Err("the subscription ended before the warm-up".into()),
                Err(_) => return Err(format!("no warm-up message within {WARM_LIMIT:?}")),
            }
        }
        reply(&json!({ "warm": true }));

        let mut latencies: Vec<u64> = Vec::with_capacity(count.min(1 << 22) as usize);
        let (mut received, mut malformed, mut out_of_order, mut bytes) = (0u64, 0u64, 0u64, 0u64);
        let (mut first_sent, mut last_recv, mut next_seq) = (u64::MAX, 0u64, 0u64);
        while received < count {
            match tokio::time::timeout(idle, sub.next()).await {
                Ok(Some(Some(header))) if header.seq == WARM => {}
                Ok(Some(Some(header))) => {
                    let now = now_ns();
                    received += 1;
                    bytes += header.len as u64;
                    if header.seq < next_seq {
                        out_of_order += 1;
                    }
                    next_seq = next_seq.max(header.seq + 1);
                    first_sent = first_sent.min(header.sent_ns);
                    last_recv = now;
                    latencies.push(now.saturating_sub(header.sent_ns));
                }
                Ok(Some(None)) => malformed += 1,
                Ok(None) | Err(_) => break,
            }
        }
        let dropped = sub.dropped();
        drop(sub);
        if let (System::Spot, Some(node)) = (system, &self.spot) {
            let _ = node.unsubscribe(topic).await;
        }
        latencies.sort_unstable();
        let span_ns = last_recv.saturating_sub(first_sent);
        Ok(json!({
            "done": true,
            "received": received,
            "bytes": bytes,
            "malformed": malformed,
            "out_of_order": out_of_order,
            "dropped_by_subscriber": dropped,
            "span_ns": if received > 0 { span_ns } else { 0 },
            "p50_ns": quantile(&latencies, 0.50),
            "p99_ns": quantile(&latencies, 0.99),
            "p999_ns": quantile(&latencies, 0.999),
            "max_ns": latencies.last().copied().unwrap_or(0),
        }))
    }
}

async fn serve() -> Result<(), String> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut state = PeerState::default();
    while let Some(line) = lines.next_line().await.map_err(|e| format!("stdin: {e}"))? {
        let command: Value = match serde_json::from_str(&line) {
            Ok(command) => command,
            Err(e) => {
                reply(&json!({ "error": format!("bad command: {e}") }));
                continue;
            }
        };
        match command["op"].as_str() {
            Some("run") => match state.run(&command).await {
                Ok(done) => reply(&done),
                Err(message) => reply(&json!({ "error": message })),
            },
            Some("quit") => break,
            _ => reply(&json!({ "error": "unknown op" })),
        }
    }
    if let Some(node) = state.spot.take() {
        node.shutdown().await;
    }
    Ok(())
}

/// Runs the subscriber process until its stdin closes; returns the exit code.
pub fn run_peer() -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            reply(&json!({ "error": format!("cannot start a runtime: {e}") }));
            return crate::EXIT_FAILED;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => crate::EXIT_OK,
        Err(message) => {
            reply(&json!({ "error": message }));
            crate::EXIT_FAILED
        }
    }
}
