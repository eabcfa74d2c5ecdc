//! End to end with pyzmq (libzmq) peers against a real `spot node` process: a SUB socket
//! subscribed to the node receives `[topic][payload]`; a DEALER's QUERY `[0x04]` is answered
//! with QUERY_RESP `[0x05][count u32 LE][topic]...` listing the node's topics. Needs python3
//! with pyzmq (`scripts/test.sh` installs it): the tests fail rather than skip without it.

mod e2e_common;

use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{Guard, NodeProcess, collect_lines, spot, wait_for};
use serde_json::Value;

/// Starts `python3 -c SCRIPT ARGS...`; stdout lines are collected.
fn python(script: &str, args: &[&str]) -> (Guard, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 (with pyzmq; run scripts/test.sh)");
    let lines = collect_lines(child.stdout.take().expect("stdout"));
    (Guard(child), lines)
}

/// A line printed by the python peer, parsed, within `limit`.
fn line_with(lines: &std::sync::Mutex<Vec<String>>, key: &str, limit: Duration) -> Option<Value> {
    wait_for(limit, || {
        lines
            .lock()
            .expect("lines")
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v.get(key).is_some())
    })
}

fn frames_hex(value: &Value) -> Vec<String> {
    value["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| f.as_str().expect("hex").to_owned())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const SUB_SCRIPT: &str = r#"
import json, sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.SUBSCRIBE, sys.argv[2].encode())
s.connect(sys.argv[1])
print(json.dumps({"ready": True}), flush=True)
if s.poll(8000):
    frames = s.recv_multipart()
    print(json.dumps({"frames": [f.hex() for f in frames]}), flush=True)
else:
    print(json.dumps({"timeout": True}), flush=True)
"#;

#[test]
fn a_pyzmq_sub_subscribed_to_a_node_receives_topic_and_payload() {
    let node = NodeProcess::start(&[], &["news", "other"], &[]);
    let (_sub, lines) = python(SUB_SCRIPT, &[&node.endpoint, "news"]);
    line_with(&lines, "ready", Duration::from_secs(5)).expect("pyzmq SUB did not start");
    // A SUB's subscription reaches the node asynchronously: publish until it arrives.
    let got = wait_for(Duration::from_secs(6), || {
        let out = spot(&["pub", "other", "not for the sub", "--connect", &node.endpoint]);
        assert!(out.status.success());
        let out = spot(&["pub", "news", "hello zmq", "--connect", &node.endpoint]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        line_with(&lines, "frames", Duration::from_millis(200))
            .or_else(|| line_with(&lines, "timeout", Duration::ZERO))
    })
    .expect("pyzmq SUB received nothing");
    assert!(got.get("timeout").is_none(), "pyzmq SUB timed out");
    assert_eq!(frames_hex(&got), vec![hex(b"news"), hex(b"hello zmq")]);
}

const DEALER_SCRIPT: &str = r#"
import json, sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
s.send(b"\x04")
if s.poll(5000):
    frames = s.recv_multipart()
    print(json.dumps({"frames": [f.hex() for f in frames]}), flush=True)
else:
    print(json.dumps({"timeout": True}), flush=True)
"#;

#[test]
fn a_pyzmq_dealer_query_is_answered_with_the_nodes_topics() {
    let owner = NodeProcess::start(&[], &["remote-only"], &[]);
    let node = NodeProcess::start(&[&owner.endpoint], &["alpha", "beta"], &[]);
    node.wait_members_up(&[&owner.endpoint], Duration::from_secs(5));
    let (_dealer, lines) = python(DEALER_SCRIPT, &[&node.endpoint]);
    let answer = wait_for(Duration::from_secs(6), || {
        line_with(&lines, "frames", Duration::ZERO)
            .or_else(|| line_with(&lines, "timeout", Duration::ZERO))
    })
    .expect("pyzmq DEALER printed nothing");
    assert!(answer.get("timeout").is_none(), "no QUERY_RESP within 5 s");
    let frames = frames_hex(&answer);
    // ROUTER -> DEALER: the empty delimiter, then QUERY_RESP; LOCAL topics only.
    assert_eq!(frames[0], "", "{frames:?}");
    assert_eq!(frames[1], "05", "{frames:?}");
    assert_eq!(frames[2], hex(&2u32.to_le_bytes()), "{frames:?}");
    let mut topics: Vec<String> = frames[3..].to_vec();
    topics.sort();
    assert_eq!(topics, vec![hex(b"alpha"), hex(b"beta")]);
}
