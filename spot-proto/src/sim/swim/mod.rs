//! The SWIM harness: spot-proto's `Membership` on the simulator.
//!
//! * [`SwimProcess`] — one member as a [`crate::sim::SimProcess`] (datagrams, push-pull over
//!   streams, one timer).
//! * [`SwimFactory`] — builds members for [`crate::sim::run_membership_scenario`] (what
//!   `spot sim` runs).
//! * [`SwimCluster`] — a cluster for scenario tests: crash, restart, leave, partitions, event
//!   traces, and invariant checks that fail with the seed.

mod cluster;
mod process;

pub use cluster::{SwimCluster, TraceEntry};
pub use process::{PushPullStats, SwimProcess};

use crate::collections::FxHashMap;
use crate::endpoint::Endpoint;
use crate::rng::SpotRng;
use crate::sim::{Change, ClusterFactory, StartMode};
use crate::swim::{
    LocalMember, MemberCard, Membership, MembershipEvent, SwimConfig, default_node_id,
};
use crate::time::Instant;
use crate::wire::spot::{MemberState, NodeId};

/// Node ids of simulated members, mapped back to their node indices.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    ids: FxHashMap<NodeId, usize>,
}

impl IdIndex {
    pub(crate) fn insert(&mut self, endpoint: &Endpoint, index: usize) -> NodeId {
        let id = default_node_id(endpoint);
        self.ids.insert(id.clone(), index);
        id
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<usize> {
        self.ids.get(id).copied()
    }
}

/// What a membership event says about which member, as a [`Change`].
pub(crate) fn classify_event(ids: &IdIndex, event: &MembershipEvent) -> Option<(usize, Change)> {
    let (id, change) = match event {
        MembershipEvent::MemberUp { id, .. } => (id, Change::Up),
        MembershipEvent::MemberSuspect { id, .. } => (id, Change::Suspect),
        MembershipEvent::MemberAlive { id, .. } => (id, Change::Alive),
        MembershipEvent::MemberDead { id } => (id, Change::Dead),
        MembershipEvent::MemberLeft { id } => (id, Change::Left),
        _ => return None,
    };
    Some((ids.get(id)?, change))
}

/// Builds spot-proto `Membership` members with one configuration (each gets its own seed).
#[derive(Debug)]
pub struct SwimFactory {
    config: SwimConfig,
    roster: Vec<MemberCard>,
    ids: IdIndex,
}

impl SwimFactory {
    /// Members configured with `config` (its seed is replaced per member).
    pub fn new(config: SwimConfig) -> Self {
        SwimFactory { config, roster: Vec::new(), ids: IdIndex::default() }
    }

    /// The configuration members get.
    pub fn config(&self) -> &SwimConfig {
        &self.config
    }

    /// One card per member, shared by every member's table.
    fn roster(&mut self, endpoints: &[Endpoint]) -> &[MemberCard] {
        if self.roster.len() != endpoints.len() {
            self.roster = roster_cards(endpoints);
        }
        &self.roster
    }
}

/// Alive cards of the members at `endpoints` (clones share them).
pub(crate) fn roster_cards(endpoints: &[Endpoint]) -> Vec<MemberCard> {
    endpoints
        .iter()
        .map(|endpoint| MemberCard::new(default_node_id(endpoint), endpoint.clone(), Vec::new()))
        .collect()
}

/// A fresh member at `endpoint`, seeded from `rng`.
pub(crate) fn new_membership(
    config: &SwimConfig,
    endpoint: &Endpoint,
    rng: &mut SpotRng,
    now: Instant,
) -> Membership {
    let config = config.clone().with_seed(rng.next_u64());
    Membership::new(config, LocalMember::from_endpoint(endpoint.clone()), now)
}

impl ClusterFactory for SwimFactory {
    type Process = SwimProcess;

    fn create(
        &mut self,
        index: usize,
        endpoints: &[Endpoint],
        start: StartMode,
        mut rng: SpotRng,
        now: Instant,
    ) -> SwimProcess {
        let endpoint = &endpoints[index];
        self.ids.insert(endpoint, index);
        let mut membership = new_membership(&self.config, endpoint, &mut rng, now);
        match start {
            StartMode::Converged => {
                let roster = self.roster(endpoints);
                let others = roster
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != index)
                    .map(|(_, card)| (card.clone(), MemberState::Alive, 0));
                membership.insert_known_cards(now, others);
            }
            StartMode::Join => {
                // Member 0 is skipped as its own seed, so it starts alone and is joined at once.
                let _ = membership.join(now, &endpoints[..1]);
            }
        }
        // The roster's MemberUp events are the start, not news: drop them.
        while membership.poll_event().is_some() {}
        SwimProcess::new(membership, self.config.limits.clone())
    }

    fn classify(&self, event: &MembershipEvent) -> Option<(usize, Change)> {
        classify_event(&self.ids, event)
    }
}
