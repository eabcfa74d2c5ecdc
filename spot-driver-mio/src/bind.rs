//! Binding endpoints: a TCP listener and a UDP socket on the same port number (DESIGN.md's port
//! rule).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use mio::net::{TcpListener, UdpSocket};
use spot_proto::{Endpoint, Host};

use crate::error::BindError;

/// Fresh ephemeral ports tried for port 0 before giving up.
const PORT_ATTEMPTS: usize = 32;

/// The sockets of one `tcp://` endpoint, and the endpoint with its real port.
pub(crate) struct Bound {
    pub(crate) endpoint: Endpoint,
    pub(crate) listener: TcpListener,
    pub(crate) udp: UdpSocket,
}

/// Binds `endpoint`. Port 0 binds TCP on an ephemeral port first, then UDP on the same number,
/// and tries a fresh port when that UDP port is taken.
pub(crate) fn bind(endpoint: &Endpoint) -> Result<Bound, BindError> {
    let (host, port) = match endpoint {
        Endpoint::Inproc(_) => return Err(BindError::Unsupported(endpoint.clone())),
        Endpoint::Tcp { host, port } => (host, *port),
    };
    let ip = resolve(endpoint, host, port)?;
    let io_error = |source| BindError::Io { endpoint: endpoint.clone(), source };
    if port != 0 {
        let listener = TcpListener::bind(SocketAddr::new(ip, port)).map_err(io_error)?;
        let udp = UdpSocket::bind(SocketAddr::new(ip, port)).map_err(io_error)?;
        return Ok(Bound { endpoint: endpoint.clone(), listener, udp });
    }
    for _ in 0..PORT_ATTEMPTS {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).map_err(io_error)?;
        let real = listener.local_addr().map_err(io_error)?.port();
        match UdpSocket::bind(SocketAddr::new(ip, real)) {
            Ok(udp) => return Ok(Bound { endpoint: endpoint.with_port(real), listener, udp }),
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::debug!(
                    port = real,
                    "UDP twin of an ephemeral TCP port is taken; retrying"
                );
            }
            Err(error) => return Err(io_error(error)),
        }
    }
    Err(BindError::NoFreePort(endpoint.clone()))
}

/// The address to bind for `host`: `*` is every IPv4 interface; names resolve (blocking) to
/// their first address.
fn resolve(endpoint: &Endpoint, host: &Host, port: u16) -> Result<IpAddr, BindError> {
    match host {
        Host::Any => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Host::Ip(ip) => Ok(*ip),
        Host::Name(name) => (name.as_str(), port)
            .to_socket_addrs()
            .map_err(|source| BindError::Io { endpoint: endpoint.clone(), source })?
            .next()
            .map(|address| address.ip())
            .ok_or_else(|| BindError::Unresolved(endpoint.clone())),
    }
}

/// The first socket address of a TCP endpoint (names resolve, blocking).
pub(crate) fn address_of(to: &Endpoint) -> Option<SocketAddr> {
    match to {
        Endpoint::Tcp { host: Host::Ip(ip), port } => Some(SocketAddr::new(*ip, *port)),
        Endpoint::Tcp { host: Host::Name(name), port } => {
            (name.as_str(), *port).to_socket_addrs().ok()?.next()
        }
        _ => None,
    }
}
