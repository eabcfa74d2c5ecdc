//! [`PyZmqPeer`]: a pyzmq (libzmq 4.3) socket in a child Python process, run by
//! `tests/peers/zmq_peer.py`, as a foreign ZeroMQ peer for interop tests.
//!
//! The script gets its role and our port on its command line, reports what its socket saw as
//! JSON lines on stdout, takes orders as JSON lines on stdin, and exits by itself after a
//! bounded time (its `--timeout` watchdog). A reader thread forwards its stdout lines into a
//! channel, so a test can look at the peer's reports while it keeps driving a
//! [`crate::driver::LinkDriver`] (with [`PyZmqPeer::try_take`] inside a `drive_until`
//! predicate), or block on them with [`PyZmqPeer::take`] when there is no link to drive.
//!
//! If Python or pyzmq is missing, starting the peer panics with a message that says to run
//! `scripts/test.sh` (which installs pyzmq): interop tests fail rather than skip.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{hex, unhex};

/// How long the script runs before its watchdog ends it (passed as `--timeout`).
pub const PEER_LIFETIME: Duration = Duration::from_secs(15);

/// How long [`PyZmqPeer::start`] waits for the script's first line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The peer script's path.
pub fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers").join("zmq_peer.py")
}

/// One running `zmq_peer.py`; killed (by its own handle) and reaped on drop if still running.
#[derive(Debug)]
pub struct PyZmqPeer {
    role: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    pending: VecDeque<Value>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    first: Value,
}

impl PyZmqPeer {
    /// Starts `zmq_peer.py ROLE ARGS... --timeout PEER_LIFETIME` and waits for its first line
    /// (`{"port": N}` or `{"connecting": N}`). Panics, with the script's own explanation, if
    /// Python or pyzmq is missing or the script fails to start.
    pub fn start(role: &str, args: &[&str]) -> PyZmqPeer {
        let script = script_path();
        let lifetime = PEER_LIFETIME.as_secs().to_string();
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(role)
            .args(args)
            .args(["--timeout", &lifetime])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start python3 {} ({e}): install Python 3 and run scripts/test.sh, \
                     which installs pyzmq",
                    script.display()
                )
            });
        let (tx, lines) = channel();
        let stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| json!({ "error": format!("not JSON: {line}") }));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let err_sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            if let Ok(mut sink) = err_sink.lock() {
                sink.push_str(&text);
            }
        });
        let stdin = child.stdin.take();
        let mut peer = PyZmqPeer {
            role: role.to_owned(),
            child,
            stdin,
            lines,
            pending: VecDeque::new(),
            seen: Vec::new(),
            stderr,
            first: Value::Null,
        };
        let first = match peer.lines.recv_timeout(STARTUP_TIMEOUT) {
            Ok(first) => first,
            Err(_) => peer.fail(&format!(
                "no first line within {STARTUP_TIMEOUT:?} (is python3 working? run \
                 scripts/test.sh, which installs pyzmq)"
            )),
        };
        peer.seen.push(first.to_string());
        if let Some(error) = first.get("error") {
            peer.fail(&format!("could not start: {error}"));
        }
        peer.first = first;
        peer
    }

    /// Starts a listening role (`router-bind`, `xpub-bind`, ...) and returns it with its port.
    pub fn bind(role: &str, args: &[&str]) -> (PyZmqPeer, u16) {
        let peer = Self::start(role, args);
        let port =
            peer.first.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok());
        match port {
            Some(port) => (peer, port),
            None => peer.fail("its first line carries no port"),
        }
    }

    /// Starts a dialing role (`dealer-connect`, `sub-connect`, ...) toward `port` on 127.0.0.1.
    pub fn connect(role: &str, port: u16, args: &[&str]) -> PyZmqPeer {
        let port = port.to_string();
        let mut all = vec![port.as_str()];
        all.extend_from_slice(args);
        Self::start(role, &all)
    }

    /// Sends one order (a JSON object) on the script's stdin.
    pub fn order(&mut self, order: Value) {
        let line = format!("{order}\n");
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(line.as_bytes()).and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("stdin already closed")),
        };
        if let Err(e) = written {
            self.fail(&format!("cannot send order {order}: {e}"));
        }
    }

    /// Orders a multipart send of `frames`.
    pub fn send(&mut self, frames: &[&[u8]]) {
        let hexes: Vec<String> = frames.iter().map(|f| hex(f)).collect();
        self.order(json!({ "send": hexes }));
    }

    /// Orders `count` receives, each reported as `{"recv": [...]}`, giving up after
    /// `timeout_ms` per message (reported as `{"timeout": "recv"}`).
    pub fn recv(&mut self, count: usize, timeout_ms: u64) {
        self.order(json!({ "recv": count, "timeout_ms": timeout_ms }));
    }

    /// The first report that has `key`, removed from the reports; `None` if none arrived yet.
    /// Never blocks: fit for a `drive_until` predicate. Panics if the script reported an error
    /// (watchdog, bad line) or exited without such a report.
    pub fn try_take(&mut self, key: &str) -> Option<Value> {
        self.try_take_any(&[key])
    }

    /// The first report that has any of `keys` (see [`PyZmqPeer::try_take`]).
    pub fn try_take_any(&mut self, keys: &[&str]) -> Option<Value> {
        let has_key = |v: &Value| keys.iter().any(|k| v.get(k).is_some());
        loop {
            match self.lines.try_recv() {
                Ok(value) => self.note(value),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if !self.pending.iter().any(has_key) {
                        self.fail(&format!("exited before reporting any of {keys:?}"));
                    }
                    break;
                }
            }
        }
        let index = self.pending.iter().position(has_key)?;
        self.pending.remove(index)
    }

    /// The first report that has `key`, waiting up to `timeout`; panics (with everything the
    /// script said) when it does not come.
    pub fn take(&mut self, key: &str, timeout: Duration) -> Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.try_take(key) {
                return found;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left.min(Duration::from_millis(20))) {
                Ok(value) => self.note(value),
                Err(RecvTimeoutError::Timeout) if left.is_zero() => {
                    self.fail(&format!("no {key:?} report within {timeout:?}"))
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
            }
        }
    }

    /// The frames of the next `{"recv": [...]}` report, waiting up to `timeout`; panics if the
    /// script reported a receive timeout instead.
    pub fn take_message(&mut self, timeout: Duration) -> Vec<Vec<u8>> {
        let report = self.take_recv_or_timeout(timeout);
        match frames_of(&report) {
            Some(frames) => frames,
            None => self.fail(&format!("expected a message, got {report}")),
        }
    }

    /// The next `{"recv": [...]}` or `{"timeout": "recv"}` report, waiting up to `timeout`.
    pub fn take_recv_or_timeout(&mut self, timeout: Duration) -> Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.try_take_any(&["recv", "timeout"]) {
                return found;
            }
            if std::time::Instant::now() >= deadline {
                self.fail(&format!("no receive report within {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// The names of the monitor events (`--monitor`) reported so far, in order, removed from
    /// the reports.
    pub fn take_events(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        while let Some(event) = self.try_take("event") {
            names.extend(event.get("event").and_then(Value::as_str).map(str::to_owned));
        }
        names
    }

    /// Asks the script to exit and waits (up to `timeout`) for it to do so.
    pub fn finish(mut self, timeout: Duration) {
        self.order(json!({ "exit": true }));
        self.take("ok", timeout);
        self.stdin = None;
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn note(&mut self, value: Value) {
        self.seen.push(value.to_string());
        if let Some(error) = value.get("error") {
            self.fail(&format!("reported an error: {error}"));
        }
        self.pending.push_back(value);
    }

    fn fail(&self, problem: &str) -> ! {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        panic!(
            "pyzmq peer {:?} {problem}; it said: [{}]; its stderr: {stderr:?}",
            self.role,
            self.seen.join(", ")
        )
    }
}

impl Drop for PyZmqPeer {
    fn drop(&mut self) {
        self.stdin = None; // the script exits when its stdin closes
        for _ in 0..50 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The frames of a `{"recv": ["hex", ...]}` report.
pub fn frames_of(report: &Value) -> Option<Vec<Vec<u8>>> {
    report.get("recv")?.as_array()?.iter().map(|f| unhex(f.as_str()?)).collect()
}
