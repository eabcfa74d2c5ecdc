//! Binding endpoints: a TCP listener and a UDP socket on the same port number (DESIGN.md's port
//! rule), or an inproc name.

use std::net::IpAddr;

use spot_proto::Endpoint;
use spot_proto::host::{PortSearch, Target};
use tokio::net::{TcpListener, UdpSocket};

use crate::error::BindError;

/// Sockets bound for one endpoint, not yet handed to the driver task.
#[derive(Debug)]
pub(crate) enum Bound {
    /// `tcp://`: the listener and its UDP twin; `endpoint` carries the real port.
    Tcp {
        /// The endpoint with its real port.
        endpoint: Endpoint,
        /// The TCP listener.
        listener: TcpListener,
        /// The UDP socket on the same address and port.
        udp: UdpSocket,
    },
    /// `inproc://name`: registered by the driver task.
    Inproc {
        /// The endpoint.
        endpoint: Endpoint,
        /// Its name.
        name: String,
    },
}

impl Bound {
    /// The endpoint as bound (real port).
    pub(crate) fn endpoint(&self) -> &Endpoint {
        match self {
            Bound::Tcp { endpoint, .. } | Bound::Inproc { endpoint, .. } => endpoint,
        }
    }
}

/// Binds `endpoint`. Port 0 binds TCP on an ephemeral port first, then UDP on the same number,
/// and tries a fresh port when that UDP port is taken.
pub(crate) async fn bind(endpoint: &Endpoint) -> Result<Bound, BindError> {
    let (ip, port) = match Target::bind(endpoint) {
        Target::Inproc(name) => {
            return Ok(Bound::Inproc { endpoint: endpoint.clone(), name: name.to_owned() });
        }
        Target::Addr(address) => (address.ip(), address.port()),
        Target::Resolve { name, port } => (resolve(endpoint, name, port).await?, port),
        Target::Unroutable => return Err(BindError::Unresolved(endpoint.clone())),
    };
    let io_error = |source| BindError::Io { endpoint: endpoint.clone(), source };
    let mut search = PortSearch::new(port);
    while let Some(tcp_port) = search.next_tcp_port() {
        let listener = TcpListener::bind((ip, tcp_port)).await.map_err(io_error)?;
        let real = listener.local_addr().map_err(io_error)?.port();
        match UdpSocket::bind((ip, real)).await {
            Ok(udp) => {
                return Ok(Bound::Tcp { endpoint: endpoint.with_port(real), listener, udp });
            }
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

/// The first address of the host `name`.
async fn resolve(endpoint: &Endpoint, name: &str, port: u16) -> Result<IpAddr, BindError> {
    let mut addresses = tokio::net::lookup_host((name, port))
        .await
        .map_err(|source| BindError::Io { endpoint: endpoint.clone(), source })?;
    addresses
        .next()
        .map(|address| address.ip())
        .ok_or_else(|| BindError::Unresolved(endpoint.clone()))
}
