//! What the membership state machine tells the application.

use crate::endpoint::Endpoint;
use crate::error::NodeError;
use crate::wire::spot::NodeId;

/// A membership event, drained with [`super::Membership::poll_event`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MembershipEvent {
    /// Our join completed: a seed answered.
    Joined,
    /// Our join failed (no seed answered within the bootstrap timeout).
    JoinFailed {
        /// Why ([`NodeError::NoSeedReachable`]).
        reason: NodeError,
    },
    /// A member appeared (or came back after leaving).
    MemberUp {
        /// Its node id.
        id: NodeId,
        /// Its advertised endpoint.
        endpoint: Endpoint,
    },
    /// A member is suspected of having failed.
    MemberSuspect {
        /// Its node id.
        id: NodeId,
        /// The suspected incarnation.
        incarnation: u64,
    },
    /// A member was declared dead.
    MemberDead {
        /// Its node id.
        id: NodeId,
    },
    /// A suspected or dead member is alive again (it refuted with a higher incarnation).
    MemberAlive {
        /// Its node id.
        id: NodeId,
        /// Its new incarnation.
        incarnation: u64,
    },
    /// A member left the cluster on purpose.
    MemberLeft {
        /// Its node id.
        id: NodeId,
    },
    /// A member's tags changed (our own included).
    TagsUpdated {
        /// Its node id.
        id: NodeId,
    },
    /// A member was forgotten `dead_reap_after` after its death or leave.
    MemberReaped {
        /// Its node id.
        id: NodeId,
    },
    /// A large share of members died within `partition_window`: we may be cut off.
    PartitionSuspected {
        /// Members declared dead within the window.
        lost: usize,
        /// Members present before those losses.
        of: usize,
    },
    /// We refuted a suspicion, death or stale leave about ourselves.
    Refuted {
        /// Our new incarnation.
        incarnation: u64,
    },
    /// Our graceful leave finished: the state machine is stopped.
    Left,
}
