//! SWIM membership with the Lifeguard extensions, as a sans-IO state machine.
//!
//! [`Membership`] is one node's view of the cluster. Its inputs carry `now`:
//! [`Membership::handle_datagram`] (a UDP datagram, [`crate::wire::swim`]),
//! [`Membership::handle_push_pull`] (a full state carried over a connection),
//! [`Membership::handle_timeout`], and the verbs [`Membership::join`], [`Membership::leave`],
//! [`Membership::update_tag`], [`Membership::remove_tag`]. Its outputs are drained after every
//! input until `None`: [`Membership::poll_transmit`] (datagrams, addressed by the member's
//! advertised [`crate::Endpoint`]; the driver sends UDP to the same port number),
//! [`Membership::poll_push_pull`] and [`Membership::poll_event`]; then one timer is re-armed at
//! [`Membership::poll_timeout`].
//!
//! The protocol:
//!
//! * **Join** pings every seed (with our ALIVE piggybacked, no target id) and asks each for a
//!   push-pull; the first ACK or push-pull completes it ([`MembershipEvent::Joined`]). Seeds are
//!   pinged again every probe interval until `bootstrap_timeout`, then
//!   [`MembershipEvent::JoinFailed`] with [`crate::NodeError::NoSeedReachable`].
//! * **Probing**: one member per (health-scaled) probe interval, in shuffled round-robin order;
//!   after the probe timeout, a second direct PING and PING_REQ through `indirect_probes` random
//!   members, which relay the ACK or answer NACK. No ACK by the end of the period makes the
//!   target suspect.
//! * **Lifeguard**: missed NACKs and failed probes raise the local-health score (refuting a
//!   rumour about ourselves too), ACKs lower it; probe interval and timeout are multiplied by
//!   `score + 1`. A suspicion times out after `max × min` and shrinks on a log scale with each
//!   independent confirmation down to `suspicion_min`. A PING to a suspect carries the suspicion
//!   (buddy system), so the suspect refutes at once and its ACK carries the refutation. Over the
//!   last three probe timeouts of a suspicion, three last-chance buddy PINGs go to the suspect;
//!   it is declared dead when the timeout runs out, so the suspicion timeout is the whole time
//!   from suspicion to death.
//! * **Dissemination**: each accepted update is queued once per member and piggybacked on every
//!   datagram by priority (left, then dead and our refutations, then suspect, then alive), up to
//!   `retransmit_multiplier × ceil(log10(N + 1))` times. Only while a pending update is fresh
//!   (sent fewer than `gossip_rounds × gossip_fanout` times), GOSSIP datagrams go to
//!   `gossip_fanout` alive or suspect members every `gossip_interval`; older updates ride on
//!   probes and ACKs. In steady
//!   state a member sends its probe and its ACKs, nothing else (2 datagrams per member per
//!   period). A member that spreads a stale rumour (a suspicion or death already refuted) is
//!   answered directly with the newer ALIVE, and a refuting member tells its accuser directly:
//!   random gossip alone misses a given member now and then.
//! * **Push-pull** with a random member every `push_pull_interval × ceil(N / 32)`,
//!   with a member that talks to us but that we do not know, and on a PUSH_PULL_REQUEST datagram.
//! * **Leave** gossips LEFT at top priority for `leave_grace`, then [`MembershipEvent::Left`] and
//!   the state machine stops. **Dead and left members** are forgotten after `dead_reap_after`.
//! * **Identity**: the default node id is the advertised endpoint's text
//!   ([`LocalMember::from_endpoint`]), so a restarted node keeps its id, hears its old
//!   incarnation (suspect, dead or alive) from the cluster and refutes it with a higher one.
//! * **Health**: a phi-accrual score per member over its ACKs to our probes
//!   ([`Membership::phi`]) and [`MembershipEvent::PartitionSuspected`] when at least
//!   `partition_fraction` of the members (and at least `partition_min_lost`) die within
//!   `partition_window`.
//!
//! The member table is indexed by node id and by endpoint; nothing scans every member per packet.
//! A table slot is four words: the member's [`MemberCard`] (id, endpoint and tags behind an
//! `Arc`, shared by every table that is seeded with the same card through
//! [`Membership::insert_known_cards`]), its incarnation, state and time. Its entry in the probe
//! order holds the card again, a copy of the state and the phi detector, so that probing a
//! member and taking its ACK read the order alone.
//! The same seed and the same inputs give the same outputs, byte for byte.
//!
//! API notes beyond the agreed shape: [`Membership::member_at`], [`Membership::incarnation`],
//! [`Membership::pending_updates`], [`Membership::config`]; events
//! [`MembershipEvent::MemberReaped`] and [`MembershipEvent::Refuted`]; `members()` lists remote
//! members only (the local member is [`Membership::local`]), while `nodes_with_tag` and
//! `nodes_with_all_tags` include the local member.

mod broadcast;
mod config;
mod event;
mod index;
mod member;
mod membership;
mod probe;
mod push_pull;
mod receive;
mod stats;
mod suspicion;
mod table;
mod timers;
mod transmit;

#[cfg(test)]
mod tests;

pub use config::SwimConfig;
pub use event::MembershipEvent;
pub use member::{LocalMember, MemberCard, MemberView, default_node_id};
pub use membership::Membership;
pub use stats::SwimStats;

pub use crate::wire::spot::{MemberInfo, MemberState, PushPull};
pub use crate::wire::swim::Datagram;
