//! Members as the state machine keeps them, the read-only view it hands out, and the local
//! member's identity.

use std::sync::Arc;

use core::hash::BuildHasher;

use crate::endpoint::Endpoint;
use crate::time::Instant;
use crate::wire::spot::{MAX_NODE_ID_LEN, MemberInfo, MemberState, NodeId, Tag};
use crate::wire::swim::cluster_id_from_name;
use crate::{Limits, NodeError};

/// Who we are: our node id, the endpoint we advertise, and our tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMember {
    /// Our node id.
    pub id: NodeId,
    /// The endpoint others reach us at (SWIM uses UDP on the same port number).
    pub endpoint: Endpoint,
    /// Our tags, bounded by [`Limits::max_tags_size`].
    pub tags: Vec<Tag>,
}

impl LocalMember {
    /// The default identity for an advertised endpoint: the node id is the endpoint's text, so a
    /// restarted node at the same endpoint keeps its id (and refutes its own death). Text longer
    /// than a node id can be becomes its 64-bit FNV-1a hash in hex.
    pub fn from_endpoint(endpoint: Endpoint) -> Self {
        LocalMember { id: default_node_id(&endpoint), endpoint, tags: Vec::new() }
    }

    /// The same member with these tags (checked by [`super::Membership::new`]'s caller through
    /// [`LocalMember::check_tags`]).
    pub fn with_tags(self, tags: Vec<Tag>) -> Self {
        LocalMember { tags, ..self }
    }

    /// Checks the tag set against [`Limits::max_tags_size`].
    pub fn check_tags(tags: &[Tag], limits: &Limits) -> Result<(), NodeError> {
        let size: usize = tags.iter().map(Tag::encoded_len).sum();
        if size > limits.max_tags_size {
            return Err(NodeError::InvalidTag(format!(
                "tag set of {size} bytes exceeds the limit of {}",
                limits.max_tags_size
            )));
        }
        Ok(())
    }
}

/// The default node id of an advertised endpoint (see [`LocalMember::from_endpoint`]).
pub fn default_node_id(endpoint: &Endpoint) -> NodeId {
    let text = endpoint.to_string();
    let text = if text.len() <= MAX_NODE_ID_LEN {
        text
    } else {
        format!("{:016x}", cluster_id_from_name(&text))
    };
    // An endpoint's text is never empty and is now at most 255 bytes: always a valid id.
    NodeId::copy_from_str(&text, &Limits::default()).expect("1..=255 bytes is a valid node id")
}

/// A read-only view of one remote member.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberView<'a> {
    /// Its node id.
    pub id: &'a NodeId,
    /// Its advertised endpoint.
    pub endpoint: &'a Endpoint,
    /// Its state as we see it.
    pub state: MemberState,
    /// Its incarnation as we know it.
    pub incarnation: u64,
    /// Its tags.
    pub tags: &'a [Tag],
    /// When we last changed its state.
    pub since: Instant,
}

impl MemberView<'_> {
    /// The member as a MEMBER_LIST / push-pull entry.
    pub fn to_info(&self) -> MemberInfo {
        MemberInfo {
            id: self.id.clone(),
            endpoint: self.endpoint.clone(),
            state: self.state,
            incarnation: self.incarnation,
            tags: self.tags.to_vec(),
        }
    }

    /// Whether it has a tag `key` (with value `value`, when given).
    pub fn has_tag(&self, key: &str, value: Option<&str>) -> bool {
        has_tag(self.tags, key, value)
    }
}

pub(crate) fn has_tag(tags: &[Tag], key: &str, value: Option<&str>) -> bool {
    tags.iter().any(|tag| {
        tag.key().as_str() == key && value.is_none_or(|value| tag.value().as_str() == value)
    })
}

/// A member's id, endpoint and tags: immutable and shared behind an `Arc`, so every table that
/// knows the member (every node of a simulated cluster, say) holds one pointer to the same card
/// and a clone is a reference count. A change of endpoint or tags makes a new card. The card
/// keeps the hashes of its id and endpoint for the table's indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberCard(Arc<CardInner>);

#[derive(Debug, PartialEq, Eq)]
struct CardInner {
    id: NodeId,
    endpoint: Endpoint,
    tags: Vec<Tag>,
    id_hash: u64,
    endpoint_hash: u64,
}

/// The hash the member table's indexes use for node ids and endpoints (fixed, deterministic).
pub(crate) fn index_hash<T: core::hash::Hash + ?Sized>(value: &T) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(value)
}

impl MemberCard {
    /// A card for a member with this id, endpoint and tags.
    pub fn new(id: NodeId, endpoint: Endpoint, tags: Vec<Tag>) -> Self {
        let id_hash = index_hash(&id);
        let endpoint_hash = index_hash(&endpoint);
        MemberCard(Arc::new(CardInner { id, endpoint, tags, id_hash, endpoint_hash }))
    }

    /// The member's node id.
    pub fn id(&self) -> &NodeId {
        &self.0.id
    }

    /// The member's advertised endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.0.endpoint
    }

    /// The member's tags.
    pub fn tags(&self) -> &[Tag] {
        &self.0.tags
    }

    /// Whether both cards are of the same member (the same card, or equal ids).
    pub(crate) fn same_id(&self, other: &MemberCard) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.id_hash() == other.id_hash() && self.id() == other.id())
    }

    pub(crate) fn id_hash(&self) -> u64 {
        self.0.id_hash
    }

    pub(crate) fn endpoint_hash(&self) -> u64 {
        self.0.endpoint_hash
    }
}

/// Phi-accrual failure detector over the arrival times of a member's ACKs to our probes, with an
/// exponential model of inter-arrival times: `phi = log10(e) × elapsed / mean`.
///
/// Packed to 20 bytes, so that a probe-order entry is five words.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, packed(4))]
pub(crate) struct PhiDetector {
    /// The last arrival (meaningful once `beats > 0`).
    last: Instant,
    mean_nanos: f64,
    /// Arrivals seen (saturating); the intervals between them are one fewer.
    beats: u32,
}

impl PhiDetector {
    const WEIGHT: f64 = 0.1;

    pub(crate) fn heartbeat(&mut self, now: Instant) {
        let beats = self.beats;
        if beats > 0 {
            let interval = (now - self.last).as_nanos() as f64;
            let mean = self.mean_nanos;
            self.mean_nanos = if beats == 1 {
                interval
            } else {
                mean * (1.0 - Self::WEIGHT) + interval * Self::WEIGHT
            };
        }
        self.beats = beats.saturating_add(1);
        self.last = now;
    }

    pub(crate) fn phi(&self, now: Instant) -> f64 {
        let (beats, last, mean) = (self.beats, self.last, self.mean_nanos);
        if beats > 1 && mean > 0.0 {
            core::f64::consts::LOG10_E * (now - last).as_nanos() as f64 / mean
        } else {
            0.0
        }
    }
}

/// One remote member in the table: the shared card and a few words of per-table state (its
/// health score is in its probe-order entry, which its ACKs reach without reading the slot).
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) card: MemberCard,
    pub(crate) incarnation: u64,
    pub(crate) since: Instant,
    pub(crate) state: MemberState,
}

const _: () = assert!(core::mem::size_of::<Option<Member>>() == 32);

impl Member {
    pub(crate) fn new(
        card: MemberCard,
        state: MemberState,
        incarnation: u64,
        now: Instant,
    ) -> Self {
        Member { card, incarnation, state, since: now }
    }

    pub(crate) fn id(&self) -> &NodeId {
        self.card.id()
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        self.card.endpoint()
    }

    pub(crate) fn tags(&self) -> &[Tag] {
        self.card.tags()
    }

    pub(crate) fn view(&self) -> MemberView<'_> {
        MemberView {
            id: self.card.id(),
            endpoint: self.card.endpoint(),
            state: self.state,
            incarnation: self.incarnation,
            tags: self.card.tags(),
            since: self.since,
        }
    }

    /// Alive or suspect: worth probing, counted as present.
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.state, MemberState::Alive | MemberState::Suspect)
    }
}
