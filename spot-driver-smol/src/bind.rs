//! Binding endpoints: a TCP listener and a UDP socket on the same port number (DESIGN.md's port
//! rule), or an inproc name.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs, UdpSocket};

use smol::Async;
use smol::net::TcpListener;
use spot_proto::{Endpoint, Host};

use crate::error::BindError;

/// Fresh ephemeral ports tried for port 0 before giving up.
const PORT_ATTEMPTS: usize = 32;

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
        udp: Async<UdpSocket>,
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
    let (host, port) = match endpoint {
        Endpoint::Inproc(name) => {
            return Ok(Bound::Inproc { endpoint: endpoint.clone(), name: name.clone() });
        }
        Endpoint::Tcp { host, port } => (host, *port),
    };
    let ip = resolve(endpoint, host, port).await?;
    let io_error = |source| BindError::Io { endpoint: endpoint.clone(), source };
    if port != 0 {
        let listener = TcpListener::bind((ip, port)).await.map_err(io_error)?;
        let udp = Async::<UdpSocket>::bind((ip, port)).map_err(io_error)?;
        return Ok(Bound::Tcp { endpoint: endpoint.clone(), listener, udp });
    }
    for _ in 0..PORT_ATTEMPTS {
        let listener = TcpListener::bind((ip, 0)).await.map_err(io_error)?;
        let real = listener.local_addr().map_err(io_error)?.port();
        match Async::<UdpSocket>::bind((ip, real)) {
            Ok(udp) => {
                return Ok(Bound::Tcp { endpoint: endpoint.with_port(real), listener, udp });
            }
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

/// The address to bind for `host`: `*` is every IPv4 interface; names resolve to their first
/// address (on smol's blocking pool).
async fn resolve(endpoint: &Endpoint, host: &Host, port: u16) -> Result<IpAddr, BindError> {
    match host {
        Host::Any => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Host::Ip(ip) => Ok(*ip),
        Host::Name(name) => {
            let name = name.clone();
            let mut addresses = smol::unblock(move || (name.as_str(), port).to_socket_addrs())
                .await
                .map_err(|source| BindError::Io { endpoint: endpoint.clone(), source })?;
            addresses
                .next()
                .map(|address| address.ip())
                .ok_or_else(|| BindError::Unresolved(endpoint.clone()))
        }
    }
}
