//! Test support for SPOT's interop and end-to-end tests: helpers to drive spot-proto state
//! machines over real sockets and to start foreign ZeroMQ peers.
//!
//! * [`driver`] — [`driver::LinkDriver`]: one spot-proto `Link` over a blocking
//!   `std::net::TcpStream`, driven until a predicate holds or a deadline passes (every wait is
//!   bounded and fails with a message saying what was awaited and what was seen).
//! * [`pyzmq`] — [`pyzmq::PyZmqPeer`]: a pyzmq (libzmq) socket in a child Python process,
//!   reporting as JSON lines.
//! * [`conformance`] — one suite over a "driver under test" adapter ([`conformance::Driver`]),
//!   run against the tokio, smol and mio drivers by `tests/conformance_*.rs`.
//! * [`hex`], [`unhex`], [`pattern`] — byte helpers for exact comparisons.

pub mod conformance;
pub mod driver;
pub mod pyzmq;

use std::net::{SocketAddr, TcpListener};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string; `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// `len` deterministic bytes that differ from frame to frame (`seed`) and cover every byte
/// value, for exact multipart comparisons.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// A TCP listener on an ephemeral loopback port, and its address.
pub fn loopback_listener() -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
