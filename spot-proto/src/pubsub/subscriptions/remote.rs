//! Remote subscribers: peers that subscribed here (SUBSCRIBE, PATTERN_SUBSCRIBE), their bounds,
//! and what dropping a peer releases.

use std::collections::BTreeSet;

use crate::error::NodeError;
use crate::pubsub::directory::TopicDirectory;
use crate::pubsub::pattern::GlobPattern;
use crate::wire::spot::Topic;

use super::{PeerDropped, PeerHoldings, RemoteInterest, RemotePattern, RemoteSubscribed};
use super::{Subscriptions, UpstreamAction};

impl<P: Clone + Ord> Subscriptions<P> {
    // ---- remote subscribers ------------------------------------------------------------------

    /// A peer's SUBSCRIBE `topic`. Repeating it changes nothing (one copy per peer). With relay
    /// on and the topic REMOTE, this node subscribes at the owner. Error: over the per-peer bound
    /// ([`NodeError::InvalidArgument`], counted).
    pub fn add_remote_subscriber(
        &mut self,
        peer: P,
        topic: Topic,
        directory: &TopicDirectory,
    ) -> Result<RemoteSubscribed, NodeError> {
        let interest = self.interest_in(&topic, directory);
        let holdings = self.holdings.get(&peer);
        if holdings.is_some_and(|h| h.topics.contains(&topic)) {
            return Ok(RemoteSubscribed { added: false, interest, actions: Vec::new() });
        }
        if holdings.map_or(0, PeerHoldings::len) >= self.max_per_peer {
            self.stats.remote_refused += 1;
            return Err(NodeError::InvalidArgument("subscription limit of the peer reached"));
        }
        self.holding(peer.clone()).topics.insert(topic.clone());
        self.remote_exact.entry(topic.clone()).or_default().insert(peer);
        self.stats.remote_subscribes += 1;
        let actions = self.reconcile(&topic, directory);
        Ok(RemoteSubscribed { added: true, interest, actions })
    }

    /// A peer's UNSUBSCRIBE `topic`. [`NodeError::NotSubscribed`] when it held none.
    pub fn remove_remote_subscriber(
        &mut self,
        peer: &P,
        topic: &Topic,
        directory: &TopicDirectory,
    ) -> Result<Vec<UpstreamAction>, NodeError> {
        let removed = self.holdings.get_mut(peer).is_some_and(|h| h.topics.remove(topic));
        if !removed {
            return Err(NodeError::NotSubscribed(topic.as_str().to_owned()));
        }
        self.forget_remote_exact(peer, topic);
        self.prune_holding(peer);
        self.stats.remote_unsubscribes += 1;
        Ok(self.reconcile(topic, directory))
    }

    /// A peer's PATTERN_SUBSCRIBE. Repeating it changes nothing. Error: over the per-peer bound.
    pub fn add_remote_pattern(
        &mut self,
        peer: P,
        glob: GlobPattern,
        directory: &TopicDirectory,
    ) -> Result<RemoteSubscribed, NodeError> {
        let holdings = self.holdings.get(&peer);
        if holdings.is_some_and(|h| h.patterns.contains(&glob)) {
            let interest = RemoteInterest::Local;
            return Ok(RemoteSubscribed { added: false, interest, actions: Vec::new() });
        }
        if holdings.map_or(0, PeerHoldings::len) >= self.max_per_peer {
            self.stats.remote_refused += 1;
            return Err(NodeError::InvalidArgument("subscription limit of the peer reached"));
        }
        self.holding(peer.clone()).patterns.insert(glob.clone());
        match self.remote_patterns.iter_mut().find(|r| r.glob == glob) {
            Some(entry) => {
                entry.peers.insert(peer);
            }
            None => self
                .remote_patterns
                .push(RemotePattern { glob: glob.clone(), peers: BTreeSet::from([peer]) }),
        }
        self.stats.remote_subscribes += 1;
        let candidates = self.reconcile_matching(&glob, directory);
        let actions = self.finish_reconcile(candidates, directory);
        Ok(RemoteSubscribed { added: true, interest: RemoteInterest::Local, actions })
    }

    /// A peer's PATTERN_UNSUBSCRIBE. [`NodeError::NotSubscribed`] when it held no such pattern.
    pub fn remove_remote_pattern(
        &mut self,
        peer: &P,
        pattern: &str,
        directory: &TopicDirectory,
    ) -> Result<Vec<UpstreamAction>, NodeError> {
        let glob = self
            .holdings
            .get(peer)
            .and_then(|h| h.patterns.iter().find(|p| p.as_str() == pattern).cloned())
            .ok_or_else(|| NodeError::NotSubscribed(pattern.to_owned()))?;
        if let Some(h) = self.holdings.get_mut(peer) {
            h.patterns.remove(&glob);
        }
        self.forget_remote_pattern(peer, &glob);
        self.prune_holding(peer);
        self.stats.remote_unsubscribes += 1;
        let candidates = self.reconcile_matching(&glob, directory);
        Ok(self.finish_reconcile(candidates, directory))
    }

    /// Forgets everything `peer` subscribed here (it died, left, was removed, or its connection
    /// closed for good) and says what it held.
    pub fn drop_peer(&mut self, peer: &P, directory: &TopicDirectory) -> PeerDropped {
        let Some(holdings) = self.holdings.remove(peer) else {
            return PeerDropped { topics: Vec::new(), patterns: Vec::new(), actions: Vec::new() };
        };
        self.stats.peers_dropped += 1;
        self.stats.remote_unsubscribes += holdings.len() as u64;
        let mut candidates: BTreeSet<Topic> = BTreeSet::new();
        for topic in &holdings.topics {
            self.forget_remote_exact(peer, topic);
            candidates.insert(topic.clone());
        }
        for glob in &holdings.patterns {
            self.forget_remote_pattern(peer, glob);
            candidates.extend(self.reconcile_matching(glob, directory));
        }
        let actions = self.finish_reconcile(candidates, directory);
        PeerDropped {
            topics: holdings.topics.into_iter().collect(),
            patterns: holdings.patterns.into_iter().collect(),
            actions,
        }
    }

    /// The peers subscribed to `topic`, by exact topic or pattern, each once, sorted.
    pub fn remote_subscribers(&self, topic: &str) -> Vec<P> {
        let mut peers: BTreeSet<&P> = BTreeSet::new();
        if let Some(exact) = self.remote_exact.get(topic.as_bytes()) {
            peers.extend(exact.iter());
        }
        for entry in &self.remote_patterns {
            if entry.glob.matches(topic) {
                peers.extend(entry.peers.iter());
            }
        }
        peers.into_iter().cloned().collect()
    }

    /// The exact topics and patterns `peer` holds here.
    pub fn held_by(&self, peer: &P) -> (Vec<Topic>, Vec<GlobPattern>) {
        match self.holdings.get(peer) {
            Some(h) => (h.topics.iter().cloned().collect(), h.patterns.iter().cloned().collect()),
            None => (Vec::new(), Vec::new()),
        }
    }
}
