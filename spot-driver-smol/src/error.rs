//! Errors of the driver itself: binding sockets, and the node having shut down.

use std::io;

use spot_proto::{Endpoint, NodeError};

/// The error every verb returns once the node has shut down (its driver task ended):
/// [`NodeError::Shutdown`] (ESHUTDOWN), shared by every driver.
pub use spot_proto::host::SHUT_DOWN;

/// Why an endpoint could not be bound.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The operating system refused the TCP listener or the UDP socket (address in use, no such
    /// interface, permission).
    #[error("cannot bind {endpoint}: {source}")]
    Io {
        /// The endpoint asked for.
        endpoint: Endpoint,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// Another node of this process listens on this `inproc://` name.
    #[error("inproc name {0:?} is taken in this process")]
    InprocNameTaken(String),
    /// Port 0: no ephemeral TCP port was found whose UDP twin was free.
    #[error("no port free for both TCP and UDP for {0}")]
    NoFreePort(Endpoint),
    /// The host name did not resolve to any address.
    #[error("cannot resolve the host of {0}")]
    Unresolved(Endpoint),
    /// The node refused the endpoint (bound already, or the node has shut down).
    #[error(transparent)]
    Node(#[from] NodeError),
}
