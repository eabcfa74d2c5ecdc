//! `spot demo`: three real nodes in one process, on loopback ephemeral ports, through the tokio
//! driver. They create topics, join, show the membership table and the topic directory,
//! subscribe across nodes, publish and show deliveries; then one node is killed (its runtime is
//! torn down, nothing is said to the others) and the survivors show suspicion, death and the
//! cleanup of its topics. Done in well under 15 s.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use spot_driver_tokio::SpotNode;
use spot_proto::node::{NodeConfig, NodeEvent, TopicLocation};
use spot_proto::swim::MembershipEvent;
use spot_proto::{Endpoint, NodeError};

/// What the demo saw, for the summary and for tests.
#[derive(Debug, Default)]
pub struct DemoReport {
    /// Messages delivered across nodes: (receiver, topic, payload).
    pub deliveries: Vec<(String, String, String)>,
    /// Seconds from the kill until a survivor saw the killed node suspected.
    pub suspected_after_s: Option<f64>,
    /// Seconds from the kill until every survivor saw it dead.
    pub dead_after_s: Option<f64>,
    /// Whether the killed node's topic left every survivor's directory.
    pub topics_cleaned_up: bool,
    /// Wall time of the whole demo.
    pub wall_s: f64,
}

fn config(seed: u64) -> NodeConfig {
    NodeConfig::local().with_seed(seed)
}

async fn start(seed: u64) -> Result<SpotNode, String> {
    SpotNode::builder(config(seed))
        .bind(Endpoint::localhost(0))
        .start()
        .await
        .map_err(|e| format!("cannot start a node: {e}"))
}

fn err(context: &str) -> impl Fn(NodeError) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// Waits until `check` holds, polling every 50 ms, for at most `limit`.
async fn wait_until<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn print_members(out: &mut String, name: &str, node: &SpotNode) -> Result<(), String> {
    let members = node.members().await.map_err(err("members"))?;
    let _ = writeln!(out, "\nmembership as {name} sees it:");
    let _ = writeln!(out, "  {:<24} {:<8} incarnation", "endpoint", "state");
    for m in members {
        let _ = writeln!(
            out,
            "  {:<24} {:<8} {}",
            m.endpoint.to_string(),
            m.state.name(),
            m.incarnation
        );
    }
    Ok(())
}

async fn print_topics(out: &mut String, name: &str, node: &SpotNode) -> Result<(), String> {
    let topics = node.list_topics().await.map_err(err("list_topics"))?;
    let _ = writeln!(out, "\ntopic directory of {name}:");
    for t in topics {
        let location = match t.location {
            TopicLocation::Local => "LOCAL ",
            TopicLocation::Remote => "REMOTE",
        };
        let owner = t.endpoint.map(|e| e.to_string()).unwrap_or_default();
        let _ = writeln!(out, "  {:<16} {location} owner {owner}", t.topic.as_str());
    }
    Ok(())
}

/// Runs the demo, printing as it goes through `print`; returns what it saw.
pub async fn run(mut print: impl FnMut(&str)) -> Result<DemoReport, String> {
    let started = Instant::now();
    let mut report = DemoReport::default();
    let a = start(1).await?;
    let b = start(2).await?;
    // Node C runs on a runtime of its own, so that it can be killed without a word.
    let c_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let c = c_runtime.spawn(start(3)).await.map_err(|e| format!("node c: {e}"))??;
    let names = [("a", &a), ("b", &b), ("c", &c)];
    let mut out = String::from("spot demo: three nodes on loopback\n");
    for (name, node) in names {
        let endpoint = node.advertised().map(|e| e.to_string()).unwrap_or_default();
        let _ = writeln!(out, "  node {name} at {endpoint}");
    }
    print(&std::mem::take(&mut out));

    a.topic_create("game:score").await.map_err(err("topic_create"))?;
    a.topic_create("game:player1").await.map_err(err("topic_create"))?;
    b.topic_create("chat:lobby").await.map_err(err("topic_create"))?;
    c.topic_create("metrics:cpu").await.map_err(err("topic_create"))?;

    let seed = a.advertised().ok_or("node a has no endpoint")?;
    a.join(&[]).await.map_err(err("join"))?;
    b.join(std::slice::from_ref(&seed)).await.map_err(err("join"))?;
    c.join(std::slice::from_ref(&seed)).await.map_err(err("join"))?;
    let converged = wait_until(Duration::from_secs(5), || async {
        let mut all = true;
        for (_, node) in names {
            all &= node.members().await.map(|m| m.len() == 2).unwrap_or(false);
            all &= node.list_topics().await.map(|t| t.len() == 4).unwrap_or(false);
        }
        all
    })
    .await;
    if !converged {
        return Err("the three nodes did not converge within 5 s".into());
    }
    print_members(&mut out, "a", &a).await?;
    print_topics(&mut out, "a", &a).await?;
    print(&std::mem::take(&mut out));

    let mut on_c = c.subscribe("game:score").await.map_err(err("subscribe"))?;
    let mut on_a = a.subscribe_pattern("chat:*").await.map_err(err("subscribe_pattern"))?;
    let mut on_b = b.subscribe("metrics:cpu").await.map_err(err("subscribe"))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ =
        writeln!(out, "\nc subscribes game:score, a subscribes chat:*, b subscribes metrics:cpu");
    a.publish("game:score", "42").await.map_err(err("publish"))?;
    b.publish("chat:lobby", "hello from b").await.map_err(err("publish"))?;
    c.publish("metrics:cpu", "0.93").await.map_err(err("publish"))?;
    for (name, stream) in [("c", &mut on_c), ("a", &mut on_a), ("b", &mut on_b)] {
        let message = stream.recv_timeout(Duration::from_secs(2)).await.map_err(err("recv"))?;
        let payload = String::from_utf8_lossy(&message.payload).into_owned();
        let _ = writeln!(out, "  {name} received {} = {payload:?}", message.topic());
        report.deliveries.push((name.into(), message.topic().into(), payload));
    }
    print(&std::mem::take(&mut out));

    let mut events_a = a.events().await.map_err(err("events"))?;
    let mut events_b = b.membership_events().await.map_err(err("membership_events"))?;
    let c_id = c.node_id();
    let _ = writeln!(out, "\nkilling node c (no goodbye)...");
    print(&std::mem::take(&mut out));
    let killed = Instant::now();
    c_runtime.shutdown_background();
    let (mut a_dead, mut b_dead, mut a_lost) = (false, false, false);
    while killed.elapsed() < Duration::from_secs(10) && !(a_dead && b_dead && a_lost) {
        tokio::select! {
            event = events_a.recv() => match event {
                Some(NodeEvent::Membership(MembershipEvent::MemberSuspect { id, .. })) if id == c_id => {
                    report.suspected_after_s.get_or_insert(killed.elapsed().as_secs_f64());
                    let _ = writeln!(out, "  a suspects c after {:.2} s", killed.elapsed().as_secs_f64());
                }
                Some(NodeEvent::Membership(MembershipEvent::MemberDead { id })) if id == c_id => {
                    a_dead = true;
                    let _ = writeln!(out, "  a declares c dead after {:.2} s", killed.elapsed().as_secs_f64());
                }
                Some(NodeEvent::TopicLost { topic, .. }) => {
                    a_lost = true;
                    let _ = writeln!(out, "  a drops c's topic {}", topic.as_str());
                }
                Some(_) => {}
                None => break,
            },
            event = events_b.recv() => match event {
                Some(MembershipEvent::MemberDead { id }) if id == c_id => {
                    b_dead = true;
                    let _ = writeln!(out, "  b declares c dead after {:.2} s", killed.elapsed().as_secs_f64());
                }
                Some(_) => {}
                None => break,
            },
        }
        print(&std::mem::take(&mut out));
    }
    if a_dead && b_dead {
        report.dead_after_s = Some(killed.elapsed().as_secs_f64());
    }
    report.topics_cleaned_up = !a.topic_exists("metrics:cpu").await.unwrap_or(true)
        && !b.topic_exists("metrics:cpu").await.unwrap_or(true);
    print_members(&mut out, "a", &a).await?;
    print_topics(&mut out, "a", &a).await?;
    a.shutdown().await;
    b.shutdown().await;
    report.wall_s = started.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "\nsummary: {} cross-node deliveries; c suspected after {}, seen dead by all after {}; \
         its topics cleaned up: {}; {:.1} s in all",
        report.deliveries.len(),
        report.suspected_after_s.map_or("-".into(), |s| format!("{s:.2} s")),
        report.dead_after_s.map_or("-".into(), |s| format!("{s:.2} s")),
        if report.topics_cleaned_up { "yes" } else { "no" },
        report.wall_s,
    );
    print(&out);
    if report.dead_after_s.is_none() || !report.topics_cleaned_up {
        return Err("the survivors did not both see the killed node dead and clean up".into());
    }
    Ok(report)
}
