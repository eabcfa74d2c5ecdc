//! Tests of `spot_proto::pubsub::subscriptions`: local subscribe/unsubscribe and their errors,
//! patterns following topics learned later, one upstream subscription per topic, the publish
//! routing decision (once per node, one copy per peer), remote subscribers and their bounds,
//! relay for hub-and-spoke, and a model-based property over random operation sequences.
// Test code: a failed unwrap in a generator is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use quickcheck::{Arbitrary, Gen, QuickCheck};
use spot_proto::pubsub::{
    Arrival, GlobPattern, RemoteInterest, SubscriptionTarget, Subscriptions, TopicChange,
    TopicDirectory, UnknownTopic, UpstreamAction,
};
use spot_proto::wire::spot::{NodeId, Topic, TopicOwner};
use spot_proto::{Endpoint, Errno, Limits, NodeError};

type Peer = u32;

fn limits() -> Limits {
    Limits::default()
}

fn id(name: &str) -> NodeId {
    NodeId::copy_from_str(name, &limits()).unwrap()
}

fn owner(name: &str) -> TopicOwner {
    TopicOwner { id: id(name), endpoint: Endpoint::inproc(name).unwrap() }
}

fn topic(name: &str) -> Topic {
    Topic::copy_from_str(name, &limits()).unwrap()
}

fn glob(text: &str) -> GlobPattern {
    GlobPattern::parse(text, &limits()).unwrap()
}

fn sub(t: &str, o: &str) -> UpstreamAction {
    UpstreamAction::Subscribe { topic: topic(t), owner: owner(o) }
}

fn unsub(t: &str, o: &str) -> UpstreamAction {
    UpstreamAction::Unsubscribe { topic: topic(t), owner: owner(o) }
}

/// A directory on node "me" with LOCAL `game:*` topics, B's chat topics and C's news.
fn cluster() -> TopicDirectory {
    let mut d = TopicDirectory::new(id("me"), limits());
    d.create_local("game:player1").unwrap();
    d.create_local("game:score").unwrap();
    d.apply_owner_topics(owner("b"), vec![topic("chat:room1"), topic("chat:lobby")]);
    d.apply_owner_topics(owner("c"), vec![topic("news:eu")]);
    d
}

fn subs() -> Subscriptions<Peer> {
    Subscriptions::new()
}

#[test]
fn subscribing_a_remote_topic_subscribes_at_its_owner() {
    let d = cluster();
    let mut s = subs();
    let done = s.subscribe("chat:room1", &d, UnknownTopic::Reject).unwrap();
    assert_eq!(done.actions, [sub("chat:room1", "b")]);
    assert!(!done.pending);
    assert_eq!(s.upstream_owner("chat:room1"), Some(&owner("b")));
    // A LOCAL topic needs nothing upstream.
    let local = s.subscribe("game:score", &d, UnknownTopic::Reject).unwrap();
    assert!(local.actions.is_empty());
    assert!(local.id > done.id, "ids increase");
    let gone = s.unsubscribe("chat:room1", &d).unwrap();
    assert_eq!(gone.id, done.id);
    assert_eq!(gone.actions, [unsub("chat:room1", "b")]);
    let stats = s.stats();
    assert_eq!((stats.subscribes, stats.unsubscribes), (2, 1));
    assert_eq!((stats.upstream_subscribes, stats.upstream_unsubscribes), (1, 1));
}

#[test]
fn local_subscription_errors() {
    let d = cluster();
    let mut s = subs();
    let err = s.subscribe("nowhere", &d, UnknownTopic::Reject).unwrap_err();
    assert_eq!(err, NodeError::TopicNotFound("nowhere".into()));
    assert_eq!(err.errno(), Errno::ENOENT);
    s.subscribe("game:score", &d, UnknownTopic::Reject).unwrap();
    let err = s.subscribe("game:score", &d, UnknownTopic::Await).unwrap_err();
    assert_eq!(err, NodeError::AlreadySubscribed("game:score".into()));
    assert_eq!(err.errno(), Errno::EEXIST);
    let err = s.unsubscribe("chat:room1", &d).unwrap_err();
    assert_eq!(err, NodeError::NotSubscribed("chat:room1".into()));
    assert_eq!(err.errno(), Errno::ENOENT);
    assert_eq!(s.subscribe("", &d, UnknownTopic::Await).unwrap_err().errno(), Errno::EINVAL);
    assert_eq!(s.unsubscribe("", &d).unwrap_err().errno(), Errno::EINVAL);
    s.subscribe_pattern("chat:*", &d).unwrap();
    let err = s.subscribe_pattern("chat:*", &d).unwrap_err();
    assert_eq!(err, NodeError::AlreadySubscribed("chat:*".into()));
    assert_eq!(err.errno(), Errno::EEXIST);
    let err = s.subscribe_pattern(r"bad\", &d).unwrap_err();
    assert_eq!(err, NodeError::InvalidPattern(r"bad\".into()));
    assert_eq!(err.errno(), Errno::EINVAL);
    let err = s.unsubscribe_pattern("news:*", &d).unwrap_err();
    assert_eq!(err, NodeError::NotSubscribed("news:*".into()));
    assert_eq!(err.errno(), Errno::ENOENT);
    let stale = s.unsubscribe("game:score", &d).unwrap().id;
    assert!(matches!(s.unsubscribe_id(stale, &d), Err(NodeError::NotSubscribed(_))));
}

#[test]
fn a_pending_subscription_takes_effect_when_the_topic_appears() {
    let mut d = cluster();
    let mut s = subs();
    let done = s.subscribe("later", &d, UnknownTopic::Await).unwrap();
    assert!(done.pending && done.actions.is_empty());
    assert_eq!(s.pending(&d), [topic("later")]);
    let change = d.apply_topic_created(owner("c"), topic("later")).unwrap();
    assert_eq!(s.on_topic_changes(&[change], &d), [sub("later", "c")]);
    assert!(s.pending(&d).is_empty());
    // The owner loses it: the subscription stays and waits again.
    let change = d.apply_topic_destroyed(&id("c"), &topic("later")).unwrap();
    assert_eq!(s.on_topic_changes(&[change], &d), [unsub("later", "c")]);
    assert_eq!(s.exact_subscription("later"), Some(done.id));
    assert_eq!(s.pending(&d), [topic("later")]);
}

#[test]
fn patterns_resolve_against_the_directory_and_follow_new_topics() {
    let mut d = cluster();
    let mut s = subs();
    let done = s.subscribe_pattern("chat:*", &d).unwrap();
    assert_eq!(done.actions, [sub("chat:lobby", "b"), sub("chat:room1", "b")]);
    // A topic created later on another node.
    let change = d.apply_topic_created(owner("c"), topic("chat:new")).unwrap();
    let (ids, at) = s.patterns_matching("chat:new", &d);
    assert_eq!((ids, at), (vec![done.id], Some(owner("c"))));
    assert_eq!(s.on_topic_changes(&[change], &d), [sub("chat:new", "c")]);
    // Topics that do not match change nothing.
    let change = d.apply_topic_created(owner("c"), topic("other")).unwrap();
    assert!(s.on_topic_changes(&[change], &d).is_empty());
    assert_eq!(s.patterns_matching("other", &d), (vec![], None));
    assert_eq!(s.upstream_topics_of(&id("b")), [topic("chat:lobby"), topic("chat:room1")]);
    let gone = s.unsubscribe_pattern("chat:*", &d).unwrap();
    assert_eq!(
        gone.actions,
        [unsub("chat:lobby", "b"), unsub("chat:new", "c"), unsub("chat:room1", "b")]
    );
}

#[test]
fn exact_and_pattern_share_one_upstream_subscription() {
    let d = cluster();
    let mut s = subs();
    let exact = s.subscribe("chat:room1", &d, UnknownTopic::Reject).unwrap();
    let pattern = s.subscribe_pattern("chat:room?", &d).unwrap();
    let wide = s.subscribe_pattern("*", &d).unwrap();
    assert_eq!(exact.actions, [sub("chat:room1", "b")]);
    assert!(pattern.actions.is_empty(), "chat:room1 is subscribed already");
    assert_eq!(wide.actions, [sub("chat:lobby", "b"), sub("news:eu", "c")]);
    // The owner forwards one copy; it is delivered once, listing every matching subscription.
    let route = s.route_received(&topic("chat:room1"), &7, Arrival::Forward, &d);
    assert_eq!(route.local, [exact.id, pattern.id, wide.id]);
    assert!(route.peers.is_empty() && route.owner.is_none());
    // Dropping two of three keeps the upstream subscription.
    assert!(s.unsubscribe("chat:room1", &d).unwrap().actions.is_empty());
    assert!(s.unsubscribe_id(wide.id, &d).unwrap().actions.contains(&unsub("news:eu", "c")));
    assert_eq!(s.upstream_owner("chat:room1"), Some(&owner("b")));
    assert_eq!(s.unsubscribe_id(pattern.id, &d).unwrap().actions, [unsub("chat:room1", "b")]);
    assert_eq!(s.stats().local_deliveries, 1);
}

#[test]
fn publishing_routes_by_location() {
    let d = cluster();
    let mut s = subs();
    let mine = s.subscribe("game:score", &d, UnknownTopic::Reject).unwrap().id;
    let all_games = s.subscribe_pattern("game:*", &d).unwrap().id;
    s.add_remote_subscriber(1, topic("game:score"), &d).unwrap();
    s.add_remote_subscriber(2, topic("game:score"), &d).unwrap();
    s.add_remote_pattern(2, glob("game:*"), &d).unwrap();
    s.add_remote_pattern(3, glob("*:score"), &d).unwrap();
    // LOCAL: local once, each peer once even with two matching subscriptions.
    let route = s.route_publish("game:score", &d).unwrap();
    assert_eq!(route.local, [mine, all_games]);
    assert_eq!(route.peers, [1, 2, 3]);
    assert_eq!(route.owner, None);
    let route = s.route_publish("game:player1", &d).unwrap();
    assert_eq!((route.local, route.peers), (vec![all_games], vec![2]));
    // REMOTE: to the owner only.
    let route = s.route_publish("chat:room1", &d).unwrap();
    assert!(route.local.is_empty() && route.peers.is_empty());
    assert_eq!(route.owner, Some(owner("b")));
    // Unknown and invalid topics.
    assert_eq!(s.route_publish("nope", &d).unwrap_err(), NodeError::TopicNotFound("nope".into()));
    assert_eq!(s.route_publish("", &d).unwrap_err().errno(), Errno::EINVAL);
    let stats = s.stats();
    assert_eq!((stats.publishes_routed, stats.forwarded_copies), (3, 4));
}

#[test]
fn received_publishes() {
    let d = cluster();
    let mut s = subs();
    let mine = s.subscribe("game:score", &d, UnknownTopic::Reject).unwrap().id;
    let chat = s.subscribe("chat:room1", &d, UnknownTopic::Reject).unwrap().id;
    s.add_remote_subscriber(1, topic("game:score"), &d).unwrap();
    s.add_remote_subscriber(2, topic("game:score"), &d).unwrap();
    s.add_remote_subscriber(2, topic("chat:room1"), &d).unwrap();
    // Request, LOCAL: a peer publishes to us as owner; it gets its message back if it subscribes.
    let route = s.route_received(&topic("game:score"), &1, Arrival::Request, &d);
    assert_eq!((route.local, route.peers, route.owner), (vec![mine], vec![1, 2], None));
    // Request, REMOTE without relay, or unknown: not ours, dropped and counted.
    assert!(s.route_received(&topic("chat:room1"), &1, Arrival::Request, &d).is_empty());
    assert!(s.route_received(&topic("nowhere"), &1, Arrival::Request, &d).is_empty());
    assert_eq!(s.stats().not_owned_publishes, 2);
    // Forward, REMOTE without relay: local subscribers only.
    let route = s.route_received(&topic("chat:room1"), &9, Arrival::Forward, &d);
    assert_eq!((route.local, route.peers), (vec![chat], vec![]));
    // Forward, LOCAL (another node claims our topic): local only, never fanned out.
    let route = s.route_received(&topic("game:score"), &9, Arrival::Forward, &d);
    assert_eq!((route.local, route.peers), (vec![mine], vec![]));
    // Forward, unknown topic (a ZeroMQ publisher's feed): local subscriptions only, counted.
    let mut s2 = subs();
    let waiting = s2.subscribe("feed", &d, UnknownTopic::Await).unwrap().id;
    let route = s2.route_received(&topic("feed"), &5, Arrival::Forward, &d);
    assert_eq!(route.local, [waiting]);
    assert!(s2.route_received(&topic("other"), &5, Arrival::Forward, &d).is_empty());
    assert_eq!(s2.stats().unknown_topic_publishes, 2);
}

#[test]
fn relay_forwards_remote_topics_for_spokes() {
    let d = cluster();
    let mut hub = subs();
    // Relay off: kept, but no upstream subscription.
    let off = hub.add_remote_subscriber(1, topic("chat:room1"), &d).unwrap();
    assert_eq!(off.interest, RemoteInterest::Remote);
    assert!(off.actions.is_empty());
    // Relay on: the hub subscribes at the owner on the spoke's behalf.
    assert_eq!(hub.set_relay(true, &d), [sub("chat:room1", "b")]);
    assert!(hub.relay());
    let on = hub.add_remote_pattern(2, glob("news:*"), &d).unwrap();
    assert_eq!(on.actions, [sub("news:eu", "c")]);
    let relayed = hub.add_remote_subscriber(3, topic("chat:lobby"), &d).unwrap();
    assert_eq!(relayed.interest, RemoteInterest::Relayed);
    // What the owner forwards goes to the spokes, never back to where it came from.
    let route = hub.route_received(&topic("chat:room1"), &1, Arrival::Forward, &d);
    assert!(route.peers.is_empty(), "only spoke 1 subscribes, and it sent this");
    let route = hub.route_received(&topic("chat:room1"), &99, Arrival::Forward, &d);
    assert_eq!(route.peers, [1]);
    // A spoke publishing to a REMOTE topic through the hub: the hub passes it to the owner.
    let route = hub.route_received(&topic("chat:room1"), &3, Arrival::Request, &d);
    assert_eq!((route.owner, route.peers), (Some(owner("b")), vec![]));
    // A spoke leaving releases the hub's upstream subscriptions it alone caused.
    let dropped = hub.drop_peer(&2, &d);
    assert_eq!(dropped.patterns, [glob("news:*")]);
    assert_eq!(dropped.actions, [unsub("news:eu", "c")]);
    assert_eq!(hub.set_relay(false, &d), [unsub("chat:lobby", "b"), unsub("chat:room1", "b")]);
}

#[test]
fn remote_subscriber_bookkeeping_and_errors() {
    let d = cluster();
    let mut s = subs().with_max_per_peer(2);
    let first = s.add_remote_subscriber(1, topic("game:score"), &d).unwrap();
    assert!(first.added);
    assert_eq!(first.interest, RemoteInterest::Local);
    assert!(!s.add_remote_subscriber(1, topic("game:score"), &d).unwrap().added, "repeat");
    let unknown = s.add_remote_subscriber(1, topic("not:yet"), &d).unwrap();
    assert_eq!(unknown.interest, RemoteInterest::Unknown);
    let err = s.add_remote_subscriber(1, topic("game:player1"), &d).unwrap_err();
    assert_eq!(err.errno(), Errno::EINVAL);
    assert!(s.add_remote_pattern(1, glob("x*"), &d).is_err());
    assert_eq!(s.stats().remote_refused, 2);
    let err = s.remove_remote_subscriber(&1, &topic("game:player1"), &d).unwrap_err();
    assert_eq!(err, NodeError::NotSubscribed("game:player1".into()));
    assert!(s.remove_remote_subscriber(&2, &topic("game:score"), &d).is_err());
    assert!(s.remove_remote_subscriber(&1, &topic("game:score"), &d).unwrap().is_empty());
    assert_eq!(s.remote_subscribers("game:score"), Vec::<Peer>::new());
    // Patterns.
    assert!(s.add_remote_pattern(1, glob("game:*"), &d).unwrap().added);
    assert!(!s.add_remote_pattern(1, glob("game:*"), &d).unwrap().added);
    let err = s.remove_remote_pattern(&1, "chat:*", &d).unwrap_err();
    assert_eq!(err, NodeError::NotSubscribed("chat:*".into()));
    assert_eq!(s.held_by(&1), (vec![topic("not:yet")], vec![glob("game:*")]));
    assert!(s.remove_remote_pattern(&1, "game:*", &d).unwrap().is_empty());
    // Dropping reports what was held; dropping again reports nothing.
    let dropped = s.drop_peer(&1, &d);
    assert_eq!(dropped.topics, [topic("not:yet")]);
    assert!(s.drop_peer(&1, &d).topics.is_empty());
    assert_eq!(s.held_by(&1), (vec![], vec![]));
    assert_eq!(s.stats().peers_dropped, 1);
}

#[test]
fn an_owner_change_moves_the_upstream_subscription() {
    let mut d = cluster();
    let mut s = subs();
    s.subscribe("chat:room1", &d, UnknownTopic::Reject).unwrap();
    d.apply_topic_created(owner("c"), topic("chat:room1"));
    let changes = d.drop_owner(&id("b"));
    let actions = s.on_topic_changes(&changes, &d);
    assert!(actions.starts_with(&[unsub("chat:room1", "b"), sub("chat:room1", "c")]));
    assert_eq!(s.upstream_owner("chat:room1"), Some(&owner("c")));
    // The owner's endpoint changes: a full reconcile resubscribes at the new endpoint.
    let moved = TopicOwner { id: id("c"), endpoint: "tcp://10.1.1.1:1".parse().unwrap() };
    d.apply_owner_topics(moved.clone(), vec![topic("chat:room1"), topic("news:eu")]);
    let actions = s.reconcile_all(&d);
    assert_eq!(
        actions,
        [
            unsub("chat:room1", "c"),
            UpstreamAction::Subscribe { topic: topic("chat:room1"), owner: moved }
        ]
    );
    assert!(s.reconcile_all(&d).is_empty(), "idempotent");
}

#[test]
fn listing_local_subscriptions() {
    let d = cluster();
    let mut s = subs();
    let a = s.subscribe("game:score", &d, UnknownTopic::Reject).unwrap().id;
    let b = s.subscribe_pattern("chat:*", &d).unwrap().id;
    assert_eq!(
        s.list(),
        [
            (a, SubscriptionTarget::Exact(topic("game:score"))),
            (b, SubscriptionTarget::Pattern(glob("chat:*")))
        ]
    );
    assert_eq!(s.local_matches("game:score"), [a]);
    assert_eq!(s.local_matches("chat:x"), [b]);
    assert!(s.local_matches("other").is_empty());
    assert_eq!(a.get() + 1, b.get());
}

// ---- model-based property -------------------------------------------------------------------

const TOPICS: [&str; 5] = ["chat:1", "chat:2", "game:1", "news", "chat:game"];
const PATTERNS: [&str; 4] = ["chat:*", "*game*", "?????", "*"];
const OWNERS: [&str; 3] = ["o0", "o1", "o2"];

#[derive(Clone, Debug)]
enum Op {
    CreateLocal(usize),
    DestroyLocal(usize),
    Claim(usize, usize),
    Unclaim(usize, usize),
    DropOwner(usize),
    Subscribe(usize),
    Unsubscribe(usize),
    SubscribePattern(usize),
    UnsubscribePattern(usize),
    RemoteSub(Peer, usize),
    RemoteUnsub(Peer, usize),
    RemotePattern(Peer, usize),
    DropPeer(Peer),
    Relay(bool),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut pick = |n: usize| usize::arbitrary(g) % n;
        let (t, p, o, peer) = (pick(5), pick(4), pick(3), pick(3) as Peer);
        let on = pick(2) == 0;
        match pick(15) {
            0 => Op::CreateLocal(t),
            1 => Op::DestroyLocal(t),
            2 | 3 => Op::Claim(o, t),
            4 => Op::Unclaim(o, t),
            5 => Op::DropOwner(o),
            6 => Op::Subscribe(t),
            7 => Op::Unsubscribe(t),
            8 => Op::SubscribePattern(p),
            9 => Op::UnsubscribePattern(p),
            10 => Op::RemoteSub(peer, t),
            11 => Op::RemoteUnsub(peer, t),
            12 => Op::RemotePattern(peer, p),
            13 => Op::DropPeer(peer),
            _ => Op::Relay(on),
        }
    }
}

/// The owner side's view: which (topic, owner) pairs this node is subscribed at, built only from
/// the actions it was told to send. Subscribing twice or unsubscribing what is not subscribed is
/// a protocol bug.
fn apply(view: &mut BTreeSet<(String, String)>, actions: Vec<UpstreamAction>) -> bool {
    for action in actions {
        let ok = match action {
            UpstreamAction::Subscribe { topic, owner } => {
                view.insert((topic.to_string(), owner.id.to_string()))
            }
            UpstreamAction::Unsubscribe { topic, owner } => {
                view.remove(&(topic.to_string(), owner.id.to_string()))
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

#[test]
fn upstream_actions_always_match_the_interest() {
    fn prop(ops: Vec<Op>) -> bool {
        let globs: Vec<GlobPattern> = PATTERNS.iter().map(|p| glob(p)).collect();
        let mut d = TopicDirectory::new(id("me"), limits());
        let mut s: Subscriptions<Peer> = Subscriptions::new();
        let mut view = BTreeSet::new();
        let mut exact: BTreeSet<usize> = BTreeSet::new();
        let mut patterns: BTreeSet<usize> = BTreeSet::new();
        let mut remote: BTreeSet<(Peer, usize)> = BTreeSet::new();
        let mut remote_patterns: BTreeSet<(Peer, usize)> = BTreeSet::new();
        let mut relay = false;
        for op in ops {
            let mut changes: Vec<TopicChange> = Vec::new();
            let actions = match op {
                Op::CreateLocal(t) => {
                    changes.extend(d.create_local(TOPICS[t]).ok());
                    Vec::new()
                }
                Op::DestroyLocal(t) => {
                    changes.extend(d.destroy_local(TOPICS[t]).ok());
                    Vec::new()
                }
                Op::Claim(o, t) => {
                    changes.extend(d.apply_topic_created(owner(OWNERS[o]), topic(TOPICS[t])));
                    Vec::new()
                }
                Op::Unclaim(o, t) => {
                    changes.extend(d.apply_topic_destroyed(&id(OWNERS[o]), &topic(TOPICS[t])));
                    Vec::new()
                }
                Op::DropOwner(o) => {
                    changes.extend(d.drop_owner(&id(OWNERS[o])));
                    Vec::new()
                }
                Op::Subscribe(t) => match s.subscribe(TOPICS[t], &d, UnknownTopic::Await) {
                    Ok(done) => {
                        if !exact.insert(t) {
                            return false;
                        }
                        done.actions
                    }
                    Err(_) => {
                        if !exact.contains(&t) {
                            return false;
                        }
                        Vec::new()
                    }
                },
                Op::Unsubscribe(t) => match s.unsubscribe(TOPICS[t], &d) {
                    Ok(done) => {
                        if !exact.remove(&t) {
                            return false;
                        }
                        done.actions
                    }
                    Err(_) => Vec::new(),
                },
                Op::SubscribePattern(p) => match s.subscribe_pattern(PATTERNS[p], &d) {
                    Ok(done) => {
                        patterns.insert(p);
                        done.actions
                    }
                    Err(_) => Vec::new(),
                },
                Op::UnsubscribePattern(p) => match s.unsubscribe_pattern(PATTERNS[p], &d) {
                    Ok(done) => {
                        patterns.remove(&p);
                        done.actions
                    }
                    Err(_) => Vec::new(),
                },
                Op::RemoteSub(peer, t) => {
                    remote.insert((peer, t));
                    s.add_remote_subscriber(peer, topic(TOPICS[t]), &d).unwrap().actions
                }
                Op::RemoteUnsub(peer, t) => {
                    remote.remove(&(peer, t));
                    s.remove_remote_subscriber(&peer, &topic(TOPICS[t]), &d).unwrap_or_default()
                }
                Op::RemotePattern(peer, p) => {
                    remote_patterns.insert((peer, p));
                    s.add_remote_pattern(peer, globs[p].clone(), &d).unwrap().actions
                }
                Op::DropPeer(peer) => {
                    remote.retain(|(q, _)| *q != peer);
                    remote_patterns.retain(|(q, _)| *q != peer);
                    s.drop_peer(&peer, &d).actions
                }
                Op::Relay(on) => {
                    relay = on;
                    s.set_relay(on, &d)
                }
            };
            if !apply(&mut view, actions) {
                return false;
            }
            if !apply(&mut view, s.on_topic_changes(&changes, &d)) {
                return false;
            }
            // Brute force: the upstream set this node should hold.
            let mut expected = BTreeSet::new();
            for (t, name) in TOPICS.iter().enumerate() {
                let Some(at) = d.owner_of(name) else { continue };
                let pattern_hit = patterns.iter().any(|p| globs[*p].matches(name));
                let relay_hit = relay
                    && (remote.iter().any(|(_, rt)| *rt == t)
                        || remote_patterns.iter().any(|(_, p)| globs[*p].matches(name)));
                if exact.contains(&t) || pattern_hit || relay_hit {
                    expected.insert((name.to_string(), at.id.to_string()));
                }
            }
            if view != expected {
                return false;
            }
            // Local matches are exactly the subscriptions that match, each once.
            for name in TOPICS {
                let hits = s.local_matches(name).len();
                let want =
                    usize::from(exact.contains(&TOPICS.iter().position(|t| *t == name).unwrap()))
                        + patterns.iter().filter(|p| globs[**p].matches(name)).count();
                if hits != want {
                    return false;
                }
                let peers = s.remote_subscribers(name);
                let unique: BTreeSet<Peer> = peers.iter().copied().collect();
                if unique.len() != peers.len() {
                    return false;
                }
            }
        }
        true
    }
    QuickCheck::new()
        .rng(Gen::from_size_and_seed(60, 0x5ab5_1234))
        .tests(300)
        .quickcheck(prop as fn(Vec<Op>) -> bool);
}
