//! Where a node listens or dials: `tcp://host:port` or `inproc://name`.
//!
//! An [`Endpoint`] is never a bare socket address: it can name a host the driver must resolve, the
//! wildcard `*` for binding, or an in-process pipe. Parsing validates the syntax; it does no I/O.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// Longest host name accepted (RFC 1035's limit for a full name).
pub const MAX_HOST_NAME_LEN: usize = 253;
/// Longest inproc name accepted.
pub const MAX_INPROC_NAME_LEN: usize = 255;

/// The host part of a TCP endpoint.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// `*`: every local interface (only meaningful for bind).
    Any,
    /// A literal IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A DNS name the driver resolves.
    Name(String),
}

/// A place to bind or dial.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `tcp://host:port`; SWIM uses UDP on the same port number.
    Tcp {
        /// Host name, address or wildcard.
        host: Host,
        /// TCP (and UDP) port; 0 asks the driver for an ephemeral port.
        port: u16,
    },
    /// `inproc://name`: in-memory pipes within one process and driver.
    Inproc(String),
}

/// Why a string is not a valid endpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointParseError {
    /// The scheme is neither `tcp://` nor `inproc://`.
    #[error("unsupported scheme in {0:?} (expected tcp:// or inproc://)")]
    UnsupportedScheme(String),
    /// `tcp://` without `:port`, or a port that is not a number from 0 to 65535.
    #[error("missing or invalid port in {0:?}")]
    InvalidPort(String),
    /// The host is empty, too long, or has characters a host name cannot have.
    #[error("invalid host in {0:?}")]
    InvalidHost(String),
    /// The inproc name is empty, too long, or has control characters.
    #[error("invalid inproc name in {0:?}")]
    InvalidInprocName(String),
}

impl Endpoint {
    /// A TCP endpoint on an IP address.
    pub fn tcp(ip: impl Into<IpAddr>, port: u16) -> Self {
        Endpoint::Tcp { host: Host::Ip(ip.into()), port }
    }

    /// `tcp://127.0.0.1:port`.
    pub fn localhost(port: u16) -> Self {
        Endpoint::tcp(Ipv4Addr::LOCALHOST, port)
    }

    /// An inproc endpoint; the name is validated.
    pub fn inproc(name: &str) -> Result<Self, EndpointParseError> {
        validate_inproc(name)?;
        Ok(Endpoint::Inproc(name.to_owned()))
    }

    /// The port of a TCP endpoint.
    pub fn port(&self) -> Option<u16> {
        match self {
            Endpoint::Tcp { port, .. } => Some(*port),
            Endpoint::Inproc(_) => None,
        }
    }

    /// Whether this endpoint can be dialed (not the `*` wildcard, not port 0).
    pub fn is_dialable(&self) -> bool {
        match self {
            Endpoint::Tcp { host, port } => *host != Host::Any && *port != 0,
            Endpoint::Inproc(_) => true,
        }
    }

    /// The same endpoint with another port (TCP only; inproc is returned unchanged).
    pub fn with_port(&self, new_port: u16) -> Self {
        match self {
            Endpoint::Tcp { host, .. } => Endpoint::Tcp { host: host.clone(), port: new_port },
            Endpoint::Inproc(name) => Endpoint::Inproc(name.clone()),
        }
    }
}

fn validate_inproc(name: &str) -> Result<(), EndpointParseError> {
    if name.is_empty() || name.len() > MAX_INPROC_NAME_LEN || name.chars().any(char::is_control) {
        return Err(EndpointParseError::InvalidInprocName(name.to_owned()));
    }
    Ok(())
}

fn parse_host(text: &str, whole: &str) -> Result<Host, EndpointParseError> {
    let invalid = || EndpointParseError::InvalidHost(whole.to_owned());
    if text == "*" {
        return Ok(Host::Any);
    }
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(invalid)?;
        return inner.parse::<Ipv6Addr>().map(|a| Host::Ip(IpAddr::V6(a))).map_err(|_| invalid());
    }
    if let Ok(v4) = text.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(v4)));
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if text.is_empty() || text.len() > MAX_HOST_NAME_LEN || !text.split('.').all(label_ok) {
        return Err(invalid());
    }
    Ok(Host::Name(text.to_ascii_lowercase()))
}

impl FromStr for Endpoint {
    type Err = EndpointParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix("inproc://") {
            validate_inproc(name)?;
            return Ok(Endpoint::Inproc(name.to_owned()));
        }
        let Some(rest) = s.strip_prefix("tcp://") else {
            return Err(EndpointParseError::UnsupportedScheme(s.to_owned()));
        };
        let (host, port) =
            rest.rsplit_once(':').ok_or_else(|| EndpointParseError::InvalidPort(s.to_owned()))?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EndpointParseError::InvalidPort(s.to_owned()));
        }
        let port: u16 = port.parse().map_err(|_| EndpointParseError::InvalidPort(s.to_owned()))?;
        Ok(Endpoint::Tcp { host: parse_host(host, s)?, port })
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("*"),
            Host::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Inproc(name) => write!(f, "inproc://{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) {
        let e: Endpoint = s.parse().unwrap_or_else(|err| panic!("{s}: {err}"));
        assert_eq!(e.to_string(), s);
    }

    #[test]
    fn parses_and_prints_every_form() {
        round_trip("tcp://127.0.0.1:5555");
        round_trip("tcp://*:5555");
        round_trip("tcp://[::1]:7000");
        round_trip("tcp://node-a.example:80");
        round_trip("tcp://localhost:0");
        round_trip("inproc://cluster-a");
    }

    #[test]
    fn rejects_bad_endpoints() {
        for bad in [
            "udp://1.2.3.4:5",
            "tcp://1.2.3.4",
            "tcp://1.2.3.4:",
            "tcp://1.2.3.4:65536",
            "tcp://1.2.3.4:-1",
            "tcp://:5",
            "tcp://[::1:5",
            "tcp://::1:5",
            "tcp://bad host:5",
            "tcp://-lead.example:5",
            "inproc://",
            "inproc://a\nb",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn dialable() {
        assert!(Endpoint::localhost(1).is_dialable());
        assert!(!Endpoint::localhost(0).is_dialable());
        assert!(!"tcp://*:5".parse::<Endpoint>().unwrap().is_dialable());
        assert_eq!(Endpoint::localhost(0).with_port(9).port(), Some(9));
    }
}
