//! Endpoints as drivers meet them: socket addresses, where a dial or a datagram goes, the port
//! rule for a TCP listener and its UDP twin, and which UDP socket a datagram leaves from.
//!
//! Nothing here resolves a name or touches a socket: a [`Target::Resolve`] tells the driver to
//! resolve, and the driver reports what the operating system said.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::error::NodeError;
use crate::host::defaults::PORT_ATTEMPTS;
use crate::{Endpoint, Host};

/// The endpoint a datagram came from: `tcp://ip:port` (SWIM's UDP port is the TCP port), with an
/// IPv4-mapped IPv6 address turned back into IPv4 so one member has one endpoint.
pub fn endpoint_of(address: SocketAddr) -> Endpoint {
    Endpoint::tcp(address.ip().to_canonical(), address.port())
}

/// Where a driver binds, dials or sends for one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// A socket address, ready to use.
    Addr(SocketAddr),
    /// A host name the driver resolves (its first address is used), and the port.
    Resolve {
        /// The host name.
        name: &'a str,
        /// The port.
        port: u16,
    },
    /// An in-process pipe of this driver's registry.
    Inproc(&'a str),
    /// Nowhere: `tcp://*:port` names no host to dial or send to.
    Unroutable,
}

impl<'a> Target<'a> {
    /// Where to dial `endpoint` or send it a datagram.
    pub fn dial(endpoint: &'a Endpoint) -> Target<'a> {
        match endpoint {
            Endpoint::Tcp { host: Host::Ip(ip), port } => Target::Addr(SocketAddr::new(*ip, *port)),
            Endpoint::Tcp { host: Host::Name(name), port } => Target::Resolve { name, port: *port },
            Endpoint::Tcp { host: Host::Any, .. } => Target::Unroutable,
            Endpoint::Inproc(name) => Target::Inproc(name),
        }
    }

    /// Where to bind `endpoint`: as [`Target::dial`], but `*` is every IPv4 interface.
    pub fn bind(endpoint: &'a Endpoint) -> Target<'a> {
        match endpoint {
            Endpoint::Tcp { host: Host::Any, port } => {
                Target::Addr(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), *port))
            }
            other => Target::dial(other),
        }
    }
}

/// DESIGN.md's port rule for binding `tcp://host:port`: a TCP listener and a UDP socket on the
/// same port number. With port 0 the driver binds TCP on an ephemeral port first, then UDP on
/// that number, and tries a fresh port (up to [`PORT_ATTEMPTS`] times) when the UDP twin is
/// taken.
///
/// The driver's loop:
///
/// ```text
/// let mut search = PortSearch::new(port);
/// while let Some(tcp_port) = search.next_tcp_port() {
///     bind TCP on tcp_port; real = its local port
///     bind UDP on real: ok => done (endpoint.with_port(real)),
///                       error if search.retries(error is "address in use") => continue,
///                       error => fail
/// }
/// fail: no free port
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortSearch {
    requested: u16,
    attempts_left: usize,
}

impl PortSearch {
    /// A search for the port `requested` (0: any free port).
    pub fn new(requested: u16) -> Self {
        let attempts_left = if requested == 0 { PORT_ATTEMPTS } else { 1 };
        PortSearch { requested, attempts_left }
    }

    /// The TCP port to bind next (the one requested, or 0 for an ephemeral one); `None` once
    /// the attempts are used up.
    pub fn next_tcp_port(&mut self) -> Option<u16> {
        self.attempts_left = self.attempts_left.checked_sub(1)?;
        Some(self.requested)
    }

    /// Whether a failed UDP bind is worth another attempt: only when the twin port was taken
    /// (`udp_in_use`) and the port was the driver's choice, not the caller's.
    pub fn retries(&self, udp_in_use: bool) -> bool {
        udp_in_use && self.requested == 0
    }
}

/// Which UDP socket sends a datagram to `to`: one of the same address family, preferring the
/// one bound on `port` (the advertised port, which receivers take for this node's SWIM
/// endpoint). `sockets` pairs whatever the driver keeps with each socket's local address.
pub fn pick_udp_socket<S>(
    sockets: impl IntoIterator<Item = (S, Option<SocketAddr>)>,
    to: IpAddr,
    port: Option<u16>,
) -> Option<S> {
    let v4 = to.to_canonical().is_ipv4();
    let mut first = None;
    for (socket, local) in sockets {
        let Some(local) = local.filter(|local| local.ip().is_ipv4() == v4) else { continue };
        if port.is_some() && Some(local.port()) == port {
            return Some(socket);
        }
        first = first.or(Some(socket));
    }
    first
}

/// The advertised endpoint once the binds are known: a TCP advertise endpoint with port 0 takes
/// the port of the first TCP bind; `*` is refused (other nodes cannot dial it).
pub fn advertise_with_port(
    advertise: Option<Endpoint>,
    first_tcp_port: Option<u16>,
) -> Result<Option<Endpoint>, NodeError> {
    let advertise = match (advertise, first_tcp_port) {
        (Some(advertise @ Endpoint::Tcp { port: 0, .. }), Some(port)) => {
            Some(advertise.with_port(port))
        }
        (advertise, _) => advertise,
    };
    if let Some(Endpoint::Tcp { host: Host::Any, .. }) = &advertise {
        return Err(NodeError::InvalidArgument(
            "the advertised endpoint must name a host, not `*`",
        ));
    }
    Ok(advertise)
}

/// The endpoint this node's inproc datagrams come from: the advertised one when it is inproc,
/// else the first inproc name bound.
pub fn inproc_source(advertised: Option<&Endpoint>, names: &[String]) -> Option<Endpoint> {
    match advertised {
        Some(advertised @ Endpoint::Inproc(_)) => Some(advertised.clone()),
        _ => names.first().map(|name| Endpoint::Inproc(name.clone())),
    }
}

#[cfg(test)]
mod tests {
    use core::net::Ipv6Addr;

    use super::*;

    fn ep(text: &str) -> Endpoint {
        text.parse().expect("a valid endpoint")
    }

    #[test]
    fn datagram_sources_are_canonical_tcp_endpoints() {
        let mapped = SocketAddr::new(Ipv4Addr::new(10, 0, 0, 7).to_ipv6_mapped().into(), 4100);
        assert_eq!(endpoint_of(mapped), ep("tcp://10.0.0.7:4100"));
        let v6 = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 9);
        assert_eq!(endpoint_of(v6), Endpoint::tcp(Ipv6Addr::LOCALHOST, 9));
    }

    #[test]
    fn targets_for_dial_and_bind() {
        let ip = ep("tcp://127.0.0.1:5000");
        assert_eq!(Target::dial(&ip), Target::Addr("127.0.0.1:5000".parse().expect("addr")));
        let name = ep("tcp://example.invalid:80");
        assert_eq!(Target::dial(&name), Target::Resolve { name: "example.invalid", port: 80 });
        let any = ep("tcp://*:7000");
        assert_eq!(Target::dial(&any), Target::Unroutable);
        assert_eq!(Target::bind(&any), Target::Addr("0.0.0.0:7000".parse().expect("addr")));
        let pipe = ep("inproc://pipe");
        assert_eq!(Target::dial(&pipe), Target::Inproc("pipe"));
        assert_eq!(Target::bind(&pipe), Target::Inproc("pipe"));
    }

    #[test]
    fn a_fixed_port_gets_one_attempt_and_no_retry() {
        let mut search = PortSearch::new(4000);
        assert_eq!(search.next_tcp_port(), Some(4000));
        assert!(!search.retries(true));
        assert_eq!(search.next_tcp_port(), None);
    }

    #[test]
    fn port_zero_retries_while_the_twin_is_taken() {
        let mut search = PortSearch::new(0);
        let mut attempts = 0;
        while let Some(port) = search.next_tcp_port() {
            assert_eq!(port, 0);
            assert!(search.retries(true));
            attempts += 1;
        }
        assert_eq!(attempts, PORT_ATTEMPTS, "then the driver gives up: no free port");
        assert!(!PortSearch::new(0).retries(false), "only AddrInUse retries");
    }

    #[test]
    fn udp_socket_of_the_family_on_the_advertised_port() {
        let a: SocketAddr = "0.0.0.0:4000".parse().expect("addr");
        let b: SocketAddr = "0.0.0.0:5000".parse().expect("addr");
        let c: SocketAddr = "[::]:6000".parse().expect("addr");
        let sockets = [("a", Some(a)), ("broken", None), ("b", Some(b)), ("c", Some(c))];
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(pick_udp_socket(sockets, v4, Some(5000)), Some("b"));
        assert_eq!(pick_udp_socket(sockets, v4, Some(1)), Some("a"));
        assert_eq!(pick_udp_socket(sockets, v4, None), Some("a"));
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        assert_eq!(pick_udp_socket(sockets, mapped, None), Some("a"));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(pick_udp_socket(sockets, v6, Some(4000)), Some("c"));
        assert_eq!(pick_udp_socket(sockets[..2].to_vec(), v6, None), None);
    }

    #[test]
    fn advertise_takes_the_first_tcp_port() {
        let zero = Some(ep("tcp://10.0.0.1:0"));
        assert_eq!(
            advertise_with_port(zero.clone(), Some(4100)),
            Ok(Some(ep("tcp://10.0.0.1:4100")))
        );
        assert_eq!(advertise_with_port(zero.clone(), None), Ok(zero));
        let fixed = Some(ep("tcp://10.0.0.1:9"));
        assert_eq!(advertise_with_port(fixed.clone(), Some(4100)), Ok(fixed));
        assert_eq!(advertise_with_port(None, Some(4100)), Ok(None));
        let any = advertise_with_port(Some(ep("tcp://*:0")), Some(4100));
        assert!(matches!(any, Err(NodeError::InvalidArgument(_))));
    }

    #[test]
    fn inproc_datagrams_come_from_the_advertised_pipe_or_the_first_name() {
        let names = vec!["one".to_owned(), "two".to_owned()];
        let advertised = ep("inproc://two");
        assert_eq!(inproc_source(Some(&advertised), &names), Some(advertised.clone()));
        let tcp = ep("tcp://127.0.0.1:1");
        assert_eq!(inproc_source(Some(&tcp), &names), Some(ep("inproc://one")));
        assert_eq!(inproc_source(None, &[]), None);
    }
}
