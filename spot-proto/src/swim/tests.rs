//! Unit tests of the membership internals: dissemination order and budget, probe order,
//! phi accrual, retransmit limit, full-state encoding of the local table.

use bytes::{Bytes, BytesMut};

use super::broadcast::{BroadcastQueue, Priority};
use super::member::{Member, PhiDetector};
use super::table::MemberTable;
use super::*;
use crate::rng::SpotRng;
use crate::time::Instant;
use crate::wire::spot::NodeId;
use crate::wire::swim::{
    DatagramWriter, FullState, FullStateKind, MemberUpdate, SwimDatagram, SwimMessage, UpdateKind,
};
use crate::{Endpoint, Limits};

fn id(text: &str) -> NodeId {
    NodeId::copy_from_str(text, &Limits::default()).unwrap()
}

fn update(name: &str, kind: UpdateKind) -> MemberUpdate {
    MemberUpdate { id: id(name), incarnation: 1, kind }
}

fn written_ids(queue: &mut BroadcastQueue, limit: u32) -> Vec<NodeId> {
    let limits = Limits::default();
    let mut buf = BytesMut::new();
    let mut writer = DatagramWriter::new(&mut buf, 0, &id("me"), &SwimMessage::Gossip, &limits);
    queue.fill(&mut writer, limit, None);
    writer.finish();
    let datagram = SwimDatagram::decode(&buf.freeze(), &limits).unwrap();
    datagram.updates.into_iter().map(|u| u.id).collect()
}

#[test]
fn broadcasts_go_by_priority_then_fewest_transmissions_and_respect_the_budget() {
    let mut queue = BroadcastQueue::default();
    let alive = UpdateKind::Alive { endpoint: Endpoint::localhost(1), tags: vec![] };
    queue.push(id("a"), update("a", alive.clone()).to_bytes(), Priority::Alive);
    queue.push(id("d"), update("d", UpdateKind::Dead).to_bytes(), Priority::Urgent);
    queue.push(id("l"), update("l", UpdateKind::Left).to_bytes(), Priority::Left);
    assert_eq!(written_ids(&mut queue, 2), vec![id("l"), id("d"), id("a")]);
    // A newer update about "a" replaces the old one (its count starts over); within a
    // priority, the update sent fewer times goes first.
    queue.push(id("a"), update("a", UpdateKind::Dead).to_bytes(), Priority::Alive);
    queue.push(id("e"), update("e", UpdateKind::Dead).to_bytes(), Priority::Urgent);
    assert_eq!(queue.len(), 4);
    assert_eq!(written_ids(&mut queue, 2), vec![id("l"), id("e"), id("d"), id("a")]);
    // "l" and "d" reached their budget of 2.
    assert_eq!(written_ids(&mut queue, 2), vec![id("e"), id("a")]);
    assert!(queue.is_empty());
}

#[test]
fn broadcasts_fill_only_what_fits() {
    let mut queue = BroadcastQueue::default();
    for i in 0..200 {
        let name = format!("member-with-a-long-id-{i:04}");
        queue.push(id(&name), update(&name, UpdateKind::Dead).to_bytes(), Priority::Urgent);
    }
    let first = written_ids(&mut queue, 10);
    assert!(first.len() > 10 && first.len() <= 64);
    assert_eq!(queue.len(), 200);
}

fn member(name: &str, state: MemberState) -> Member {
    let card = MemberCard::new(id(name), Endpoint::inproc(name).unwrap(), vec![]);
    Member::new(card, state, 0, Instant::ZERO)
}

#[test]
fn probe_order_is_a_shuffled_round_robin_over_live_members() {
    let mut rng = SpotRng::from_seed(5);
    let mut table = MemberTable::default();
    for i in 0..10 {
        let state = if i == 9 { MemberState::Dead } else { MemberState::Alive };
        table.insert(member(&format!("m{i}"), state), &mut rng);
    }
    let round = |table: &mut MemberTable, rng: &mut SpotRng| -> Vec<usize> {
        (0..9)
            .map(|_| {
                let pos = table.next_probe_target(rng).unwrap();
                table.probe_entry(pos).unwrap().slot()
            })
            .collect()
    };
    let first = round(&mut table, &mut rng);
    let second = round(&mut table, &mut rng);
    let mut sorted = first.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..9).collect::<Vec<_>>(), "each live member once per round");
    let mut sorted_second = second.clone();
    sorted_second.sort_unstable();
    assert_eq!(sorted_second, sorted);
    assert_ne!(first, second, "rounds are reshuffled");
    assert_eq!(table.counts(), [9, 0, 1, 0]);
    let slot = table.slot_of(&id("m3")).unwrap();
    assert_eq!(table.slot_of_bytes(b"m3"), Some(slot), "an id's bytes find it too");
    assert_eq!(table.slot_of_bytes(b"m33"), None);
    for hint in [0, slot, slot + 1, 1000] {
        assert_eq!(table.slot_of_bytes_near(b"m3", hint), Some(slot), "hint {hint}");
    }
    table.remove(slot);
    assert_eq!(table.slot_of_bytes(b"m3"), None);
    assert_eq!(table.len(), 9);
    assert!(table.slot_at(&Endpoint::inproc("m3").unwrap()).is_none());
    let mut picked = Vec::new();
    table.random_members(&mut rng, 20, None, false, &mut picked);
    assert_eq!(picked.len(), 8, "every alive member, no dead one, no duplicate");
}

#[test]
fn phi_grows_with_silence() {
    let mut phi = PhiDetector::default();
    assert_eq!(phi.phi(Instant::from_secs(5)), 0.0);
    for s in 0..10 {
        phi.heartbeat(Instant::from_secs(s));
    }
    let fresh = phi.phi(Instant::from_secs(9));
    let late = phi.phi(Instant::from_secs(19));
    assert_eq!(fresh, 0.0);
    assert!((late - 10.0 * core::f64::consts::LOG10_E).abs() < 1e-9, "{late}");
}

fn membership(n: usize) -> Membership {
    let local = LocalMember::from_endpoint(Endpoint::localhost(9000));
    let mut m = Membership::new(SwimConfig::lan(), local, Instant::ZERO);
    let roster = (0..n).map(|i| MemberInfo {
        id: id(&format!("m{i}")),
        endpoint: Endpoint::localhost(10_000 + i as u16),
        state: MemberState::Alive,
        incarnation: 0,
        tags: vec![],
    });
    m.insert_known_members(Instant::ZERO, roster);
    m
}

#[test]
fn retransmit_limit_grows_with_log10_of_the_cluster() {
    assert_eq!(membership(0).retransmit_limit(), 4);
    assert_eq!(membership(8).retransmit_limit(), 4);
    assert_eq!(membership(9).retransmit_limit(), 8);
    assert_eq!(membership(120).retransmit_limit(), 12);
}

#[test]
fn full_state_lists_us_first_then_every_member() {
    let mut m = membership(3);
    let blob: Bytes = m.full_state(FullStateKind::Request);
    let state = FullState::decode(&blob, &Limits::default()).unwrap();
    assert_eq!(state.kind, FullStateKind::Request);
    assert_eq!(state.members.len(), 4);
    assert_eq!(state.members[0].id, m.local().id);
    assert!(m.stats().push_pull_bytes_out >= blob.len() as u64);
}

#[test]
fn default_node_id_is_the_endpoint_text() {
    let local = LocalMember::from_endpoint("tcp://10.1.2.3:5555".parse().unwrap());
    assert_eq!(local.id.as_str(), Some("tcp://10.1.2.3:5555"));
    let long = Endpoint::Inproc("x".repeat(255));
    assert_eq!(default_node_id(&long).len(), 16);
}

#[test]
fn slot_index_finds_replaces_and_forgets_across_growth() {
    use super::index::SlotIndex;
    // Keys 0..500 in slots 0..500; the "hash" collides in pairs to exercise probing.
    let keys: Vec<u64> = (0..500).collect();
    let hash = |key: u64| key / 2;
    let mut index = SlotIndex::default();
    for slot in 0..keys.len() {
        index.insert(hash(keys[slot]), slot, |_| false, |s| hash(keys[s]));
    }
    assert_eq!(index.len(), 500);
    for slot in (0..keys.len()).step_by(2) {
        index.remove(hash(keys[slot]), slot);
    }
    assert_eq!(index.len(), 250);
    for (slot, &key) in keys.iter().enumerate() {
        let found = index.find(hash(key), |s| keys[s] == key);
        assert_eq!(found, (slot % 2 == 1).then_some(slot), "key {key}");
    }
    // An equal key moves to the new slot instead of adding an entry.
    index.insert(hash(keys[1]), 7, |s| s == 1, |s| hash(keys[s]));
    assert_eq!(index.len(), 250);
    assert_eq!(index.find(hash(keys[1]), |s| s == 7), Some(7));
    index.reserve(10_000, |s| hash(keys[s]));
    assert_eq!(index.find(hash(keys[3]), |s| keys[s] == keys[3]), Some(3));
}

#[test]
fn a_table_slot_is_six_words() {
    // The converged 10,000-member simulation holds 10^8 slots: their size is its memory.
    assert!(core::mem::size_of::<Option<Member>>() <= 48);
}

#[test]
fn the_queue_holds_exactly_the_pending_encoding_until_it_is_replaced_or_spent() {
    let mut queue = BroadcastQueue::default();
    let dead = update("d", UpdateKind::Dead).to_bytes();
    assert!(!queue.holds(&id("d"), &dead), "nothing pending yet");
    queue.push(id("d"), dead.clone(), Priority::Urgent);
    assert!(queue.holds(&id("d"), &dead));
    assert!(!queue.holds(&id("e"), &dead), "another member");
    let left = update("d", UpdateKind::Left).to_bytes();
    assert!(!queue.holds(&id("d"), &left), "another update about the member");
    // Sending it does not change what is held; the newer update replaces it.
    assert_eq!(written_ids(&mut queue, 3), vec![id("d")]);
    assert!(queue.holds(&id("d"), &dead));
    queue.push(id("d"), left.clone(), Priority::Left);
    assert!(!queue.holds(&id("d"), &dead) && queue.holds(&id("d"), &left));
    assert_eq!(queue.len(), 1, "the replaced update was removed, after one send too");
    // Spent after its budget: no longer held.
    assert_eq!(written_ids(&mut queue, 2), vec![id("d")]);
    assert_eq!(written_ids(&mut queue, 2), vec![id("d")]);
    assert!(queue.is_empty() && !queue.holds(&id("d"), &left));
}

#[test]
fn the_queue_counts_the_bytes_of_exactly_its_pending_updates() {
    let mut queue = BroadcastQueue::default();
    assert_eq!(queue.encoded_len(), 0);
    let dead = update("d", UpdateKind::Dead).to_bytes();
    let other = update("a", UpdateKind::Dead).to_bytes();
    queue.push(id("d"), dead.clone(), Priority::Urgent);
    queue.push(id("a"), other.clone(), Priority::Urgent);
    assert_eq!(queue.encoded_len(), dead.len() + other.len());
    // Replacing an update counts the new one's bytes in place of the old one's.
    let left = update("d", UpdateKind::Left).to_bytes();
    assert_ne!(left.len(), 0);
    queue.push(id("d"), left.clone(), Priority::Left);
    assert_eq!(queue.encoded_len(), left.len() + other.len());
    // Sending leaves the count alone until an update is spent.
    written_ids(&mut queue, 2);
    assert_eq!(queue.encoded_len(), left.len() + other.len());
    written_ids(&mut queue, 2);
    assert!(queue.is_empty());
    assert_eq!(queue.encoded_len(), 0);
    queue.push(id("d"), dead.clone(), Priority::Urgent);
    queue.clear();
    assert_eq!(queue.encoded_len(), 0);
}

/// The slots one probe round visits, in order.
fn probe_round(table: &mut MemberTable, rng: &mut SpotRng, probes: usize) -> Vec<usize> {
    (0..probes)
        .map(|_| {
            let pos = table.next_probe_target(rng).unwrap();
            table.probe_entry(pos).unwrap().slot()
        })
        .collect()
}

#[test]
fn probe_entries_follow_their_members_through_changes_and_reshuffles() {
    let mut rng = SpotRng::from_seed(9);
    let mut table = MemberTable::default();
    for i in 0..6 {
        table.insert(member(&format!("m{i}"), MemberState::Alive), &mut rng);
    }
    // A new endpoint reaches the entry: the next probe goes there.
    let moved = table.slot_of(&id("m2")).unwrap();
    let card = MemberCard::new(id("m2"), Endpoint::inproc("m2-new").unwrap(), vec![]);
    table.set_card(moved, card);
    let mut probed_moved = false;
    for _ in 0..6 {
        let pos = table.next_probe_target(&mut rng).unwrap();
        let entry = table.probe_entry(pos).unwrap();
        assert_eq!(entry.card().endpoint(), table.get(entry.slot()).unwrap().endpoint());
        probed_moved |= entry.slot() == moved;
        // Every member answers at once: a beat per probe.
        let slot = entry.slot();
        table.heartbeat(pos, slot, Instant::from_secs(1));
    }
    assert!(probed_moved);
    // Beats outlive the reshuffle that starts the next round: a second beat, a second later,
    // gives each member a mean interval of one second.
    for _ in 0..6 {
        let pos = table.next_probe_target(&mut rng).unwrap();
        let slot = table.probe_entry(pos).unwrap().slot();
        table.heartbeat(pos, slot, Instant::from_secs(2));
    }
    for slot in 0..6 {
        let phi = table.phi_of(slot).unwrap().phi(Instant::from_secs(3));
        assert!((phi - core::f64::consts::LOG10_E).abs() < 1e-9, "slot {slot}: phi {phi}");
    }
    // A suspect is still probed (and says so); a dead member is not.
    let suspect = table.slot_of(&id("m4")).unwrap();
    let dead = table.slot_of(&id("m5")).unwrap();
    table.set_state(suspect, MemberState::Suspect);
    table.set_state(dead, MemberState::Dead);
    let mut round = probe_round(&mut table, &mut rng, 10);
    round.sort_unstable();
    round.dedup();
    assert_eq!(round.len(), 5, "the five live members, the dead one never: {round:?}");
    assert!(!round.contains(&dead));
    // A removed member's slot is reused by a newcomer, who gets an entry of its own.
    table.remove(dead);
    assert!(table.phi_of(dead).is_none());
    let newcomer = table.insert(member("m6", MemberState::Alive), &mut rng);
    assert_eq!(newcomer, dead, "the freed slot is reused");
    assert!(table.phi_of(newcomer).is_some());
    // From some point on (the end of the round the newcomer joined), the probes come in
    // rounds of six that each visit every live member once.
    let probes = probe_round(&mut table, &mut rng, 24);
    let is_round = |chunk: &[usize]| {
        let mut sorted = chunk.to_vec();
        sorted.sort_unstable();
        sorted == (0..6).collect::<Vec<_>>()
    };
    assert!(
        (0..6).any(|start| probes[start..start + 18].chunks(6).all(is_round)),
        "not in rounds: {probes:?}"
    );
}
