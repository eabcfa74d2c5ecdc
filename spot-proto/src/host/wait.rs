//! The C API's error mapping for receiving: what an empty, timed-out or closed queue means to
//! the caller, and the C API's millisecond timeouts.

use core::time::Duration;

use crate::error::NodeError;

/// The error every verb of a driver returns once its node has shut down:
/// [`NodeError::Shutdown`] (ESHUTDOWN).
pub const SHUT_DOWN: NodeError = NodeError::Shutdown;

/// Why a receive from a driver's queue or stream returned nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvFailure {
    /// Nothing was waiting, and the call does not wait.
    Empty,
    /// Nothing came within the timeout.
    TimedOut,
    /// The sending side is gone: the node shut down, or the subscription ended.
    Closed,
}

impl RecvFailure {
    /// The error for the node's `recv` queue and event receivers: `WouldBlock` (EAGAIN),
    /// `Timeout` (ETIMEDOUT), or [`SHUT_DOWN`].
    pub fn node_error(self) -> NodeError {
        match self {
            RecvFailure::Empty => NodeError::WouldBlock,
            RecvFailure::TimedOut => NodeError::Timeout,
            RecvFailure::Closed => SHUT_DOWN,
        }
    }

    /// The error for the stream of subscription `name`: as [`RecvFailure::node_error`], but a
    /// closed stream is `NotSubscribed` (ENOENT: the subscription ended).
    pub fn subscription_error(self, name: &str) -> NodeError {
        match self {
            RecvFailure::Closed => NodeError::NotSubscribed(name.to_owned()),
            other => other.node_error(),
        }
    }
}

/// How long a blocking receive waits, from the C API's `timeout_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// `0`: return at once (`WouldBlock` when nothing is waiting).
    Now,
    /// A negative value: wait as long as it takes.
    Forever,
    /// A positive value: at most this long (`Timeout` when nothing came).
    For(Duration),
}

impl Wait {
    /// The wait `timeout_ms` asks for.
    pub fn from_millis(timeout_ms: i64) -> Wait {
        match timeout_ms {
            0 => Wait::Now,
            ms if ms < 0 => Wait::Forever,
            ms => Wait::For(Duration::from_millis(ms.unsigned_abs())),
        }
    }

    /// As an optional timeout: `None` waits forever, zero returns at once.
    pub fn timeout(self) -> Option<Duration> {
        match self {
            Wait::Now => Some(Duration::ZERO),
            Wait::Forever => None,
            Wait::For(duration) => Some(duration),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Errno;

    #[test]
    fn receive_failures_carry_the_c_api_codes() {
        assert_eq!(RecvFailure::Empty.node_error().errno(), Errno::EAGAIN);
        assert_eq!(RecvFailure::TimedOut.node_error().errno(), Errno::ETIMEDOUT);
        assert_eq!(RecvFailure::Closed.node_error(), SHUT_DOWN);
        assert_eq!(SHUT_DOWN.errno(), Errno::ESHUTDOWN);
        assert_eq!(
            RecvFailure::Closed.subscription_error("chat"),
            NodeError::NotSubscribed("chat".into())
        );
        assert_eq!(RecvFailure::Empty.subscription_error("chat"), NodeError::WouldBlock);
    }

    #[test]
    fn millisecond_timeouts_follow_the_c_api() {
        assert_eq!(Wait::from_millis(0), Wait::Now);
        assert_eq!(Wait::from_millis(-1), Wait::Forever);
        assert_eq!(Wait::from_millis(i64::MIN), Wait::Forever);
        assert_eq!(Wait::from_millis(250), Wait::For(Duration::from_millis(250)));
        assert_eq!(Wait::from_millis(-1).timeout(), None);
        assert_eq!(Wait::from_millis(0).timeout(), Some(Duration::ZERO));
    }
}
