//! The simulated network: per-link latency and jitter, uniform and bursty loss, duplication,
//! reordering, symmetric and one-way partitions.
//!
//! The model decides, for each datagram, whether it arrives and when (possibly twice). It holds no
//! per-pair state for the whole cluster: link overrides are sparse, bursty loss keeps one
//! Gilbert–Elliott state per receiving node, and partitions are groups of nodes with a small
//! matrix of blocked group pairs. Every decision costs O(1).

use core::time::Duration;

use crate::collections::FxHashMap;
use crate::rng::SpotRng;
use crate::time::Instant;

/// How datagrams are lost on a link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossModel {
    /// Each datagram is lost independently with this probability (0.0–1.0).
    Uniform(f64),
    /// Gilbert–Elliott bursty loss: a two-state Markov chain per receiving node.
    ///
    /// In the good state a datagram is lost with `good_loss`, in the bad state with `bad_loss`.
    /// Before each datagram the chain moves good → bad with `good_to_bad` and bad → good with
    /// `bad_to_good`. The long-run loss rate is
    /// `(good_loss * bad_to_good + bad_loss * good_to_bad) / (good_to_bad + bad_to_good)`.
    GilbertElliott {
        /// Probability of entering a burst, per datagram.
        good_to_bad: f64,
        /// Probability of leaving a burst, per datagram.
        bad_to_good: f64,
        /// Loss probability outside a burst.
        good_loss: f64,
        /// Loss probability inside a burst.
        bad_loss: f64,
    },
}

impl LossModel {
    /// No loss at all.
    pub const NONE: LossModel = LossModel::Uniform(0.0);

    /// Uniform loss of `percent` (0–100) percent.
    pub fn percent(percent: f64) -> Self {
        LossModel::Uniform((percent / 100.0).clamp(0.0, 1.0))
    }

    /// The long-run fraction of datagrams lost.
    pub fn mean_loss(&self) -> f64 {
        match *self {
            LossModel::Uniform(p) => p,
            LossModel::GilbertElliott { good_to_bad, bad_to_good, good_loss, bad_loss } => {
                let total = good_to_bad + bad_to_good;
                if total <= 0.0 {
                    good_loss
                } else {
                    (good_loss * bad_to_good + bad_loss * good_to_bad) / total
                }
            }
        }
    }
}

/// The behaviour of one directed link (or of every link, as the default).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkProfile {
    /// One-way base latency.
    pub latency: Duration,
    /// Extra latency drawn uniformly from `0..=jitter` for each datagram (this alone reorders
    /// datagrams sent closer together than the jitter).
    pub jitter: Duration,
    /// How datagrams are lost.
    pub loss: LossModel,
    /// Probability that a delivered datagram arrives a second time (with its own delay).
    pub duplicate: f64,
    /// Probability that a datagram is held back by [`LinkProfile::reorder_delay`] extra, so that
    /// later datagrams overtake it.
    pub reorder: f64,
    /// The extra delay of a reordered datagram.
    pub reorder_delay: Duration,
}

impl LinkProfile {
    /// A perfect link with the given one-way latency.
    pub const fn with_latency(latency: Duration) -> Self {
        LinkProfile {
            latency,
            jitter: Duration::ZERO,
            loss: LossModel::NONE,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
        }
    }

    /// A LAN-like link: 1 ms latency, 200 us jitter, no loss.
    pub const fn lan() -> Self {
        let mut profile = LinkProfile::with_latency(Duration::from_millis(1));
        profile.jitter = Duration::from_micros(200);
        profile
    }

    /// This profile with another loss model.
    pub fn with_loss(mut self, loss: LossModel) -> Self {
        self.loss = loss;
        self
    }

    /// The one-way delay of one datagram (latency plus jitter).
    fn sample_delay(&self, rng: &mut SpotRng) -> Duration {
        if self.jitter.is_zero() {
            return self.latency;
        }
        let jitter_nanos = u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX);
        self.latency + Duration::from_nanos(rng.below(jitter_nanos.saturating_add(1)))
    }
}

impl Default for LinkProfile {
    fn default() -> Self {
        LinkProfile::lan()
    }
}

/// Why the network did not deliver a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Lost by the loss model.
    Loss,
    /// Sender and receiver are on different sides of a partition.
    Partition,
}

/// Up to two arrival times for one datagram (the second when it is duplicated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Not delivered.
    Dropped(DropReason),
    /// Delivered once at this instant.
    Once(Instant),
    /// Delivered twice.
    Twice(Instant, Instant),
}

#[derive(Clone, Copy, Debug, Default)]
struct BurstState {
    in_burst: bool,
}

/// Most partition groups (group 0 is where every node starts).
pub const MAX_GROUPS: usize = 64;

/// The network model: default link, sparse overrides, bursty-loss state and partitions.
#[derive(Debug)]
pub struct NetworkModel {
    default_link: LinkProfile,
    overrides: FxHashMap<(u32, u32), LinkProfile>,
    bursts: Vec<BurstState>,
    groups: Vec<u8>,
    /// `blocked[from] & (1 << to)`: datagrams from group `from` to group `to` are dropped.
    blocked: [u64; MAX_GROUPS],
    any_blocked: bool,
    rng: SpotRng,
}

impl NetworkModel {
    /// A network of `nodes` nodes, every link behaving like `default_link`.
    pub fn new(nodes: usize, default_link: LinkProfile, rng: SpotRng) -> Self {
        NetworkModel {
            default_link,
            overrides: FxHashMap::default(),
            bursts: vec![BurstState::default(); nodes],
            groups: vec![0; nodes],
            blocked: [0; MAX_GROUPS],
            any_blocked: false,
            rng,
        }
    }

    /// Makes room for node indices up to `nodes - 1` (new nodes start in group 0).
    pub fn grow(&mut self, nodes: usize) {
        if nodes > self.groups.len() {
            self.groups.resize(nodes, 0);
            self.bursts.resize(nodes, BurstState::default());
        }
    }

    /// The profile every link without an override uses.
    pub fn default_link(&self) -> &LinkProfile {
        &self.default_link
    }

    /// Replaces the default profile (e.g. to raise the loss rate mid-run).
    pub fn set_default_link(&mut self, profile: LinkProfile) {
        self.default_link = profile;
    }

    /// Sets the loss model of the default profile.
    pub fn set_loss(&mut self, loss: LossModel) {
        self.default_link.loss = loss;
    }

    /// Overrides the directed link `from -> to`.
    pub fn set_link(&mut self, from: u32, to: u32, profile: LinkProfile) {
        self.overrides.insert((from, to), profile);
    }

    /// Removes every link override.
    pub fn clear_link_overrides(&mut self) {
        self.overrides.clear();
    }

    /// The profile of the directed link `from -> to`.
    pub fn link(&self, from: u32, to: u32) -> &LinkProfile {
        if self.overrides.is_empty() {
            return &self.default_link;
        }
        self.overrides.get(&(from, to)).unwrap_or(&self.default_link)
    }

    /// Moves `node` into partition group `group` (0..[`MAX_GROUPS`]); out-of-range groups clamp.
    pub fn set_group(&mut self, node: u32, group: usize) {
        if let Some(slot) = self.groups.get_mut(node as usize) {
            *slot = group.min(MAX_GROUPS - 1) as u8;
        }
    }

    /// The partition group of `node`.
    pub fn group(&self, node: u32) -> usize {
        self.groups.get(node as usize).map_or(0, |g| usize::from(*g))
    }

    /// Blocks datagrams and streams from group `from` to group `to` (one way).
    pub fn block(&mut self, from: usize, to: usize) {
        if from < MAX_GROUPS && to < MAX_GROUPS {
            self.blocked[from] |= 1 << to;
            self.any_blocked = true;
        }
    }

    /// Blocks both directions between groups `a` and `b`.
    pub fn block_both(&mut self, a: usize, b: usize) {
        self.block(a, b);
        self.block(b, a);
    }

    /// Splits the nodes in `side` from everyone else (a symmetric partition, groups 1 and 0).
    pub fn partition(&mut self, side: impl IntoIterator<Item = u32>) {
        for node in side {
            self.set_group(node, 1);
        }
        self.block_both(0, 1);
    }

    /// Ends every partition: all nodes back in group 0, nothing blocked.
    pub fn heal(&mut self) {
        self.groups.iter_mut().for_each(|g| *g = 0);
        self.blocked = [0; MAX_GROUPS];
        self.any_blocked = false;
    }

    /// Whether traffic from `from` can reach `to` through the partitions.
    pub fn reachable(&self, from: u32, to: u32) -> bool {
        if !self.any_blocked {
            return true;
        }
        let (gf, gt) = (self.group(from), self.group(to));
        self.blocked[gf] & (1 << gt) == 0
    }

    /// One-way delay of a reliable stream chunk on `from -> to` (no loss; jitter applies).
    pub fn stream_delay(&mut self, from: u32, to: u32) -> Duration {
        let profile = *self.link(from, to);
        profile.sample_delay(&mut self.rng)
    }

    /// Decides the fate of one datagram sent at `now` from `from` to `to`.
    pub fn datagram_fate(&mut self, now: Instant, from: u32, to: u32) -> Fate {
        if !self.reachable(from, to) {
            return Fate::Dropped(DropReason::Partition);
        }
        let profile = *self.link(from, to);
        if self.lost(&profile, to) {
            return Fate::Dropped(DropReason::Loss);
        }
        let first = now + self.delay_with_reorder(&profile);
        if profile.duplicate > 0.0 && self.rng.chance(profile.duplicate) {
            let second = now + self.delay_with_reorder(&profile);
            return Fate::Twice(first, second);
        }
        Fate::Once(first)
    }

    fn delay_with_reorder(&mut self, profile: &LinkProfile) -> Duration {
        let delay = profile.sample_delay(&mut self.rng);
        if profile.reorder > 0.0 && self.rng.chance(profile.reorder) {
            delay + profile.reorder_delay
        } else {
            delay
        }
    }

    fn lost(&mut self, profile: &LinkProfile, to: u32) -> bool {
        match profile.loss {
            LossModel::Uniform(p) => p > 0.0 && self.rng.chance(p),
            LossModel::GilbertElliott { good_to_bad, bad_to_good, good_loss, bad_loss } => {
                let index = to as usize;
                let mut in_burst = self.bursts.get(index).is_some_and(|b| b.in_burst);
                let flip = if in_burst { bad_to_good } else { good_to_bad };
                if self.rng.chance(flip) {
                    in_burst = !in_burst;
                }
                if let Some(state) = self.bursts.get_mut(index) {
                    state.in_burst = in_burst;
                }
                self.rng.chance(if in_burst { bad_loss } else { good_loss })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(profile: LinkProfile) -> NetworkModel {
        NetworkModel::new(4, profile, SpotRng::from_seed(9))
    }

    fn loss_rate(net: &mut NetworkModel, samples: u32) -> f64 {
        let lost = (0..samples)
            .filter(|_| matches!(net.datagram_fate(Instant::ZERO, 0, 1), Fate::Dropped(_)))
            .count();
        lost as f64 / f64::from(samples)
    }

    #[test]
    fn latency_and_jitter_bound_the_arrival() {
        let mut profile = LinkProfile::with_latency(Duration::from_millis(5));
        profile.jitter = Duration::from_millis(2);
        let mut net = model(profile);
        let now = Instant::from_secs(1);
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let Fate::Once(at) = net.datagram_fate(now, 0, 1) else { panic!("lossless link") };
            assert!(at >= now + Duration::from_millis(5) && at <= now + Duration::from_millis(7));
            distinct.insert(at);
        }
        assert!(distinct.len() > 100, "jitter spreads arrivals");
    }

    #[test]
    fn uniform_loss_matches_its_rate() {
        let mut net = model(LinkProfile::lan().with_loss(LossModel::percent(20.0)));
        let rate = loss_rate(&mut net, 20_000);
        assert!((rate - 0.20).abs() < 0.02, "rate {rate}");
    }

    #[test]
    fn bursty_loss_matches_its_mean_and_clusters() {
        let loss = LossModel::GilbertElliott {
            good_to_bad: 0.02,
            bad_to_good: 0.2,
            good_loss: 0.0,
            bad_loss: 0.8,
        };
        let mut net = model(LinkProfile::lan().with_loss(loss));
        let outcomes: Vec<bool> = (0..50_000)
            .map(|_| matches!(net.datagram_fate(Instant::ZERO, 0, 1), Fate::Dropped(_)))
            .collect();
        let rate = outcomes.iter().filter(|&&l| l).count() as f64 / outcomes.len() as f64;
        assert!((rate - loss.mean_loss()).abs() < 0.02, "rate {rate} vs {}", loss.mean_loss());
        // A loss is followed by another loss far more often than the mean rate (bursts).
        let pairs = outcomes.windows(2).filter(|w| w[0]).count() as f64;
        let both = outcomes.windows(2).filter(|w| w[0] && w[1]).count() as f64;
        assert!(both / pairs > 2.0 * rate, "conditional {} vs mean {rate}", both / pairs);
    }

    #[test]
    fn duplication_and_reordering_happen_at_their_rates() {
        let mut profile = LinkProfile::with_latency(Duration::from_millis(1));
        profile.duplicate = 0.5;
        profile.reorder = 0.5;
        profile.reorder_delay = Duration::from_millis(10);
        let mut net = model(profile);
        let (mut twice, mut late) = (0, 0);
        for _ in 0..10_000 {
            match net.datagram_fate(Instant::ZERO, 0, 1) {
                Fate::Twice(a, b) => {
                    twice += 1;
                    late += usize::from(a > Instant::from_millis(5));
                    late += usize::from(b > Instant::from_millis(5));
                }
                Fate::Once(a) => late += usize::from(a > Instant::from_millis(5)),
                Fate::Dropped(_) => panic!("lossless"),
            }
        }
        assert!((4_500..5_500).contains(&twice), "twice {twice}");
        assert!((6_500..8_500).contains(&late), "late {late}");
    }

    #[test]
    fn partitions_block_one_or_both_ways_and_heal() {
        let mut net = model(LinkProfile::lan());
        net.partition([2, 3]);
        assert_eq!(net.datagram_fate(Instant::ZERO, 0, 2), Fate::Dropped(DropReason::Partition));
        assert_eq!(net.datagram_fate(Instant::ZERO, 3, 1), Fate::Dropped(DropReason::Partition));
        assert!(matches!(net.datagram_fate(Instant::ZERO, 2, 3), Fate::Once(_)));
        net.heal();
        assert!(net.reachable(0, 2) && net.reachable(3, 1));
        net.set_group(1, 5);
        net.block(5, 0);
        assert!(!net.reachable(1, 0));
        assert!(net.reachable(0, 1), "one-way partition lets the other direction through");
    }

    #[test]
    fn link_overrides_apply_to_one_direction() {
        let mut net = model(LinkProfile::with_latency(Duration::from_millis(1)));
        net.set_link(0, 1, LinkProfile::with_latency(Duration::from_millis(50)));
        assert_eq!(net.datagram_fate(Instant::ZERO, 0, 1), Fate::Once(Instant::from_millis(50)));
        assert_eq!(net.datagram_fate(Instant::ZERO, 1, 0), Fate::Once(Instant::from_millis(1)));
    }
}
