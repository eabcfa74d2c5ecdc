//! End to end with real processes on loopback: three `spot node` processes form a cluster;
//! client commands (`spot pub`, `spot sub`, `spot topics`, `spot members`) reach topics owned
//! by other nodes; a SIGKILLed node is reported dead within the configured bound; SIGINT makes
//! a node leave, and the others log it Left.

mod e2e_common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_common::{Guard, NodeProcess, SPOT, collect_lines, spot, wait_for};
use serde_json::Value;

const JOIN: Duration = Duration::from_secs(5);

/// Three joined nodes: `a` owns `news`, `b` owns `sports`, `c` owns nothing.
fn three_nodes() -> (NodeProcess, NodeProcess, NodeProcess) {
    let a = NodeProcess::start(&[], &["news"], &["--tag", "role=owner"]);
    let b = NodeProcess::start(&[&a.endpoint], &["sports"], &[]);
    let c = NodeProcess::start(&[&a.endpoint], &[], &[]);
    a.wait_members_up(&[&b.endpoint, &c.endpoint], JOIN);
    b.wait_members_up(&[&a.endpoint, &c.endpoint], JOIN);
    c.wait_members_up(&[&a.endpoint, &b.endpoint], JOIN);
    (a, b, c)
}

/// Lines a child process wrote, collected by a reader thread.
type Lines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Starts `spot ARGS` (a `spot sub`), collecting its stdout and stderr lines, and waits until
/// it reports its subscriptions acknowledged.
fn subscribed_sub(args: &[&str]) -> (Guard, Lines, Lines) {
    let mut sub = Command::new(SPOT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spot sub");
    let stdout = collect_lines(sub.stdout.take().expect("stdout"));
    let stderr = collect_lines(sub.stderr.take().expect("stderr"));
    let sub = Guard(sub);
    wait_for(JOIN, || {
        stderr.lock().expect("stderr").iter().any(|l| l.contains("subscribed")).then_some(())
    })
    .unwrap_or_else(|| panic!("spot sub never subscribed: {:?}", stderr.lock()));
    (sub, stdout, stderr)
}

fn json_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "spot failed: {:?} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn sub_on_one_node_receives_what_pub_sends_through_another_to_a_third_nodes_topic() {
    let (a, b, c) = three_nodes();
    // `c` learns `news` (owned by `a`) from the directory.
    let listed = wait_for(JOIN, || {
        let topics = json_of(&spot(&["topics", "--connect", &c.endpoint, "--json"]));
        let news = topics.as_array()?.iter().find(|t| t["topic"] == "news")?.clone();
        Some(news)
    })
    .expect("c never listed news");
    assert_eq!(listed["location"], "REMOTE");
    assert_eq!(listed["owner"], a.endpoint.as_str());
    let on_a = json_of(&spot(&["topics", "--connect", &a.endpoint, "--json"]));
    assert!(
        on_a.as_array()
            .expect("array")
            .iter()
            .any(|t| t["topic"] == "news" && t["location"] == "LOCAL"),
        "{on_a}"
    );

    // A subscriber on `c`, a publisher on `b`, the owner `a`.
    let (mut sub, stdout, stderr) =
        subscribed_sub(&["sub", "news", "--count", "2", "--connect", &c.endpoint]);
    // `c` subscribes upstream at `a` in the background: publish until two messages arrived.
    let delivered = wait_for(Duration::from_secs(6), || {
        let out = spot(&["pub", "news", "hello from b", "--connect", &b.endpoint]);
        assert!(out.status.success(), "spot pub: {}", String::from_utf8_lossy(&out.stderr));
        sub.0.try_wait().ok().flatten()
    });
    let status = delivered.unwrap_or_else(|| panic!("spot sub got {:?}", stdout.lock()));
    assert!(status.success(), "spot sub: {:?} {:?}", status, stderr.lock());
    let lines = stdout.lock().expect("stdout").clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l == "news\thello from b"), "{lines:?}");

    // Members as `b` sees them, with `a`'s tag.
    let members = json_of(&spot(&["members", "--connect", &b.endpoint, "--json"]));
    let members = members.as_array().expect("array");
    let a_row = members.iter().find(|m| m["endpoint"] == a.endpoint.as_str()).expect("a listed");
    assert_eq!(a_row["state"], "alive");
    assert_eq!(a_row["tags"]["role"], "owner");
    assert!(members.iter().any(|m| m["endpoint"] == c.endpoint.as_str() && m["state"] == "alive"));
    let b_row = members.iter().find(|m| m["endpoint"] == b.endpoint.as_str());
    assert_eq!(b_row.expect("the answering node lists itself")["state"], "alive");
}

#[test]
fn pub_reads_stdin_and_sub_json_carries_base64_through_a_pattern() {
    let (a, b, _c) = three_nodes();
    let (mut sub, stdout, _stderr) =
        subscribed_sub(&["sub", "sp*", "--count", "2", "--json", "--connect", &a.endpoint]);
    let status = wait_for(Duration::from_secs(6), || {
        let mut publisher = Command::new(SPOT)
            .args(["pub", "sports", "-", "--connect", &b.endpoint])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn spot pub");
        {
            use std::io::Write as _;
            let mut stdin = publisher.stdin.take().expect("stdin");
            stdin.write_all(b"one\n\xfftwo\n").expect("write stdin");
        }
        let published = publisher.wait().expect("wait pub");
        assert!(published.success());
        sub.0.try_wait().ok().flatten()
    })
    .unwrap_or_else(|| panic!("spot sub got {:?}", stdout.lock()));
    assert!(status.success());
    let lines = stdout.lock().expect("stdout").clone();
    let first: Value = serde_json::from_str(&lines[0]).expect("json line");
    let second: Value = serde_json::from_str(&lines[1]).expect("json line");
    assert_eq!(first, serde_json::json!({"topic": "sports", "payload": "b25l"}));
    assert_eq!(second, serde_json::json!({"topic": "sports", "payload": "/3R3bw=="}));
}

#[test]
fn pub_waits_for_a_topic_the_node_learns_after_it_started() {
    let a = NodeProcess::start(&[], &[], &[]);
    let publisher = Command::new(SPOT)
        .args(["pub", "late", "hello", "--connect", &a.endpoint, "--wait-topic", "20", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spot pub");
    // The topic appears only now, on a node that joins after `spot pub` asked.
    std::thread::sleep(Duration::from_millis(300));
    let b = NodeProcess::start(&[&a.endpoint], &["late"], &[]);
    b.wait_members_up(&[&a.endpoint], JOIN);
    let output = publisher.wait_with_output().expect("spot pub ran");
    assert_eq!(json_of(&output)["published"], 1);
}

#[test]
fn client_exit_codes_no_such_topic_and_cannot_connect() {
    let a = NodeProcess::start(&[], &["news"], &[]);
    let started = Instant::now();
    let missing = spot(&["pub", "nope", "x", "--connect", &a.endpoint, "--wait-topic", "0.3"]);
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited for the topic");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such topic"));
    let not_found = spot(&["sub", "nope", "--connect", &a.endpoint]);
    assert_eq!(not_found.status.code(), Some(1));
    let port = e2e_common::free_port();
    let refused = spot(&["topics", "--connect", &e2e_common::endpoint(port)]);
    assert_eq!(refused.status.code(), Some(3));
    let usage = spot(&["sub"]);
    assert_eq!(usage.status.code(), Some(2));
    let help = spot(&["members", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("3 cannot connect"));
}

#[test]
fn a_killed_node_is_reported_dead_by_the_others_within_the_bound() {
    let (a, b, mut c) = three_nodes();
    let bound = a.dead_bound();
    c.signal("KILL");
    let killed = Instant::now();
    assert!(c.wait_exit(Duration::from_secs(2)).is_none(), "SIGKILL gives no exit code");
    for survivor in [&a, &b] {
        let dead =
            survivor.wait_event(bound + Duration::from_secs(2), "member_dead", Some(&c.endpoint));
        assert!(
            dead.is_some(),
            "{} never declared {} dead: {:?}",
            survivor.endpoint,
            c.endpoint,
            survivor.logs
        );
    }
    let elapsed = killed.elapsed();
    eprintln!("declared dead by both survivors {elapsed:?} after SIGKILL (bound {bound:?})");
    // Each survivor logged within the bound (the poll adds at most 50 ms).
    assert!(
        elapsed <= bound + Duration::from_millis(500),
        "dead after {elapsed:?}, bound {bound:?}"
    );
    let members = json_of(&spot(&["members", "--connect", &a.endpoint, "--json"]));
    let row = members
        .as_array()
        .expect("array")
        .iter()
        .find(|m| m["endpoint"] == c.endpoint.as_str())
        .cloned();
    assert!(row.is_none_or(|r| r["state"] == "dead"), "{members}");
}

#[test]
fn sigint_makes_a_node_leave_and_the_others_log_it_left() {
    let (a, mut b, c) = three_nodes();
    b.signal("INT");
    assert_eq!(b.wait_exit(Duration::from_secs(6)), Some(0), "{:?} {:?}", b.logs, b.other);
    assert!(b.wait_event(Duration::ZERO, "leaving", None).is_some());
    assert!(b.wait_event(Duration::ZERO, "stopped", None).is_some());
    for other in [&a, &c] {
        let left = other.wait_event(Duration::from_secs(3), "member_left", Some(&b.endpoint));
        assert!(
            left.is_some(),
            "{} never saw {} leave: {:?}",
            other.endpoint,
            b.endpoint,
            other.logs
        );
        assert!(other.wait_event(Duration::ZERO, "member_dead", Some(&b.endpoint)).is_none());
    }
}

#[test]
fn a_node_from_a_config_file_serves_its_topics_and_sigterm_stops_it_with_exit_0() {
    let port = e2e_common::free_port();
    let endpoint = e2e_common::endpoint(port);
    let dir = std::env::temp_dir().join(format!("spot-e2e-config-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("node.toml");
    std::fs::write(
        &path,
        format!(
            "bind = \"{endpoint}\"\ntopic = [\"from-file\"]\ntag = [\"dc=eu\"]\npreset = \"local\"\njson = true\n"
        ),
    )
    .expect("write config");
    let mut child = Command::new(SPOT)
        .args(["node", "--config", path.to_str().expect("utf-8 path")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn spot node");
    let lines = collect_lines(child.stdout.take().expect("stdout"));
    let node = Guard(child);
    wait_for(JOIN, || {
        lines
            .lock()
            .expect("lines")
            .iter()
            .any(|l| l.contains("\"event\":\"joined\""))
            .then_some(())
    })
    .unwrap_or_else(|| panic!("node never joined: {:?}", lines.lock()));
    let topics = json_of(&spot(&["topics", "--connect", &endpoint, "--json"]));
    assert_eq!(topics[0]["topic"], "from-file");
    assert_eq!(topics[0]["location"], "LOCAL");
    let members = json_of(&spot(&["members", "--connect", &endpoint, "--json"]));
    assert_eq!(members[0]["tags"]["dc"], "eu", "{members}");
    let status =
        Command::new("kill").args(["-TERM", &node.0.id().to_string()]).status().expect("run kill");
    assert!(status.success());
    let mut node = node;
    let exited = wait_for(Duration::from_secs(6), || node.0.try_wait().ok().flatten())
        .expect("node did not stop on SIGTERM");
    assert_eq!(exited.code(), Some(0));
    let stopped = lines.lock().expect("lines").iter().any(|l| l.contains("\"signal\":\"SIGTERM\""));
    assert!(stopped, "{:?}", lines.lock());
    let _ = std::fs::remove_dir_all(&dir);
}
