//! nats-server and redis-server for `spot bench --peers`: installed from Debian with apt only
//! when missing, started on 127.0.0.1 on a free port, stopped (killed and reaped) on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A peer server process, stopped when dropped.
#[derive(Debug)]
pub struct Server {
    name: &'static str,
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Its version line, as it reports it.
    pub version: String,
}

impl Server {
    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's name (`nats-server` or `redis-server`).
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary `name` on PATH or in the sbin folders apt installs to.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Finds the binaries, installing the Debian packages that are missing with `apt-get install
/// -y` (noted on stderr through `note`).
pub fn ensure_installed(mut note: impl FnMut(&str)) -> Result<(PathBuf, PathBuf), String> {
    let missing: Vec<&str> = [("nats-server", "nats-server"), ("redis-server", "redis-server")]
        .into_iter()
        .filter(|(binary, _)| find(binary).is_none())
        .map(|(_, package)| package)
        .collect();
    if !missing.is_empty() {
        note(&format!("installing {} with apt-get", missing.join(" ")));
        let status = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if !status.success() {
            return Err(format!("apt-get install {} failed ({status})", missing.join(" ")));
        }
    }
    let nats = find("nats-server").ok_or("nats-server not found after install")?;
    let redis = find("redis-server").ok_or("redis-server not found after install")?;
    Ok((nats, redis))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

fn version(binary: &Path, flag: &str) -> String {
    Command::new(binary)
        .arg(flag)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn start(
    name: &'static str,
    binary: &Path,
    args: &[String],
    version: String,
) -> Result<Server, String> {
    let port: u16 = args
        .iter()
        .zip(args.iter().skip(1))
        .find(|(flag, _)| *flag == "-p" || *flag == "--port")
        .and_then(|(_, port)| port.parse().ok())
        .ok_or("no port in the server's arguments")?;
    let child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let mut server = Server { name, child, port, version };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("{name} exited at start ({status})"));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("{name} did not listen on 127.0.0.1:{port} within 10 s"))
}

/// Starts nats-server on 127.0.0.1 on a free port.
pub fn start_nats(binary: &Path) -> Result<Server, String> {
    let port = free_port()?.to_string();
    let args = ["-a", "127.0.0.1", "-p", &port].map(String::from);
    start("nats-server", binary, &args, version(binary, "--version"))
}

/// Starts redis-server on 127.0.0.1 on a free port, without persistence, and without the
/// pub/sub output-buffer limit (which would disconnect a subscriber that falls 32 MiB behind).
pub fn start_redis(binary: &Path) -> Result<Server, String> {
    let port = free_port()?.to_string();
    let args = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
        "--save",
        "",
        "--appendonly",
        "no",
        "--client-output-buffer-limit",
        "pubsub 0 0 0",
    ]
    .map(String::from);
    start("redis-server", binary, &args, version(binary, "--version"))
}
