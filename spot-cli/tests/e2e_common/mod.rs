//! Shared helpers of the end-to-end tests: real `spot` processes on loopback, free ports, JSON
//! log lines collected from each node, waits with deadlines, children killed on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `spot` binary under test.
pub(crate) const SPOT: &str = env!("CARGO_BIN_EXE_spot");

/// A port free for TCP and for UDP (a node binds both on one number).
pub(crate) fn free_port() -> u16 {
    for _ in 0..100 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a probe TCP listener");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both TCP and UDP");
}

/// `tcp://127.0.0.1:PORT`.
pub(crate) fn endpoint(port: u16) -> String {
    format!("tcp://127.0.0.1:{port}")
}

/// Polls `check` every 50 ms until it returns `Some` or `limit` passes.
pub(crate) fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if start.elapsed() >= limit {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// One `spot node --json` process; its log lines are parsed as they come.
pub(crate) struct NodeProcess {
    /// The child (killed on drop if still running).
    pub(crate) child: Child,
    /// Its endpoint.
    pub(crate) endpoint: String,
    /// JSON log lines so far.
    pub(crate) logs: Arc<Mutex<Vec<Value>>>,
    /// Lines that were not JSON (a failure shows up here).
    pub(crate) other: Arc<Mutex<Vec<String>>>,
}

impl NodeProcess {
    /// Starts a node on a free port with the `local` preset, joining `join`, owning `topics`.
    pub(crate) fn start(join: &[&str], topics: &[&str], extra: &[&str]) -> NodeProcess {
        let port = free_port();
        let endpoint = endpoint(port);
        let mut args = vec!["node", "--bind", &endpoint, "--preset", "local", "--json"];
        for seed in join {
            args.extend(["--join", seed]);
        }
        for topic in topics {
            args.extend(["--topic", topic]);
        }
        args.extend(extra);
        let mut child = Command::new(SPOT)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn spot node");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let other = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let (into_logs, into_other) = (Arc::clone(&logs), Arc::clone(&other));
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(value) => into_logs.lock().expect("logs").push(value),
                    Err(_) => into_other.lock().expect("other").push(line),
                }
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let into_other = Arc::clone(&other);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                into_other.lock().expect("other").push(line);
            }
        });
        let node = NodeProcess { child, endpoint, logs, other };
        node.wait_event(Duration::from_secs(5), "started", None)
            .unwrap_or_else(|| panic!("node {} did not start: {:?}", node.endpoint, node.other));
        node
    }

    /// The first log line with `event` (and `member` when given), waiting up to `limit`.
    pub(crate) fn wait_event(
        &self,
        limit: Duration,
        event: &str,
        member: Option<&str>,
    ) -> Option<Value> {
        wait_for(limit, || {
            self.logs
                .lock()
                .expect("logs")
                .iter()
                .find(|line| line["event"] == event && member.is_none_or(|m| line["member"] == m))
                .cloned()
        })
    }

    /// The `dead_bound_ms` the node logged at start.
    pub(crate) fn dead_bound(&self) -> Duration {
        let started = self.wait_event(Duration::ZERO, "started", None).expect("started line");
        Duration::from_millis(started["dead_bound_ms"].as_u64().expect("dead_bound_ms"))
    }

    /// Sends a signal by name (`INT`, `KILL`, `TERM`) with kill(1).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit, up to `limit`; its exit code.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        wait_for(limit, || self.child.try_wait().ok().flatten()).and_then(|s| s.code())
    }

    /// Waits until this node's log shows every one of `members` up.
    pub(crate) fn wait_members_up(&self, members: &[&str], limit: Duration) {
        for member in members {
            self.wait_event(limit, "member_up", Some(member)).unwrap_or_else(|| {
                panic!("{} never saw {member} up; logs: {:?}", self.endpoint, self.logs)
            });
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed on drop (a `spot sub`, a python peer).
pub(crate) struct Guard(pub(crate) Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `spot ARGS` to completion (bounded at 10 s); its output.
pub(crate) fn spot(args: &[&str]) -> Output {
    let mut child = Command::new(SPOT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spot");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let status = wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten());
    let status = match status {
        Some(status) => status,
        None => {
            let _ = child.kill();
            child.wait().expect("wait")
        }
    };
    Output {
        status,
        stdout: out.join().expect("stdout thread"),
        stderr: err.join().expect("stderr thread"),
    }
}

/// Lines of a child's stdout collected by a thread.
pub(crate) fn collect_lines(reader: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let into = Arc::clone(&lines);
    thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            into.lock().expect("lines").push(line);
        }
    });
    lines
}
