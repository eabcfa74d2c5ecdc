//! Binding endpoints: a TCP listener and a UDP socket on the same port number (DESIGN.md's port
//! rule).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use mio::net::{TcpListener, UdpSocket};
use spot_proto::Endpoint;
use spot_proto::host::{PortSearch, Target};

use crate::error::BindError;

/// The sockets of one `tcp://` endpoint, and the endpoint with its real port.
pub(crate) struct Bound {
    pub(crate) endpoint: Endpoint,
    pub(crate) listener: TcpListener,
    pub(crate) udp: UdpSocket,
}

/// Binds `endpoint`. Port 0 binds TCP on an ephemeral port first, then UDP on the same number,
/// and tries a fresh port when that UDP port is taken.
pub(crate) fn bind(endpoint: &Endpoint) -> Result<Bound, BindError> {
    let (ip, port) = match Target::bind(endpoint) {
        Target::Inproc(_) => return Err(BindError::Unsupported(endpoint.clone())),
        Target::Addr(address) => (address.ip(), address.port()),
        Target::Resolve { name, port } => (resolve(endpoint, name, port)?, port),
        Target::Unroutable => return Err(BindError::Unresolved(endpoint.clone())),
    };
    let io_error = |source| BindError::Io { endpoint: endpoint.clone(), source };
    let mut search = PortSearch::new(port);
    while let Some(tcp_port) = search.next_tcp_port() {
        let listener = TcpListener::bind(SocketAddr::new(ip, tcp_port)).map_err(io_error)?;
        let real = listener.local_addr().map_err(io_error)?.port();
        match UdpSocket::bind(SocketAddr::new(ip, real)) {
            Ok(udp) => return Ok(Bound { endpoint: endpoint.with_port(real), listener, udp }),
            Err(error) if search.retries(error.kind() == std::io::ErrorKind::AddrInUse) => {
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

/// The first address of the host `name` (resolved, blocking).
fn resolve(endpoint: &Endpoint, name: &str, port: u16) -> Result<IpAddr, BindError> {
    (name, port)
        .to_socket_addrs()
        .map_err(|source| BindError::Io { endpoint: endpoint.clone(), source })?
        .next()
        .map(|address| address.ip())
        .ok_or_else(|| BindError::Unresolved(endpoint.clone()))
}

/// The first socket address of a TCP endpoint (names resolve, blocking).
pub(crate) fn address_of(to: &Endpoint) -> Option<SocketAddr> {
    match Target::dial(to) {
        Target::Addr(address) => Some(address),
        Target::Resolve { name, port } => (name, port).to_socket_addrs().ok()?.next(),
        Target::Inproc(_) | Target::Unroutable => None,
    }
}
