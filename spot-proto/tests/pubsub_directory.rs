//! Tests of `spot_proto::pubsub::directory`: the user verbs and their errors, peer reports,
//! conflict resolution, owner loss, listing order, paging, bounds, and a model-based property
//! (the directory resolves every topic the way the documented rules say, after any sequence of
//! operations).
// Test code: a failed unwrap in a generator is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use quickcheck::{Arbitrary, Gen, QuickCheck};
use spot_proto::pubsub::{
    DirectoryAssembler, Location, PageRefusal, TopicChange, TopicDirectory, TopicEntry,
    check_topic, parse_topic, topic_from_bytes,
};
use spot_proto::wire::spot::{NodeId, OwnedTopics, Topic, TopicOwner};
use spot_proto::{Endpoint, Errno, Limits, NodeError};

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

fn topics(names: &[&str]) -> Vec<Topic> {
    names.iter().map(|n| topic(n)).collect()
}

fn directory() -> TopicDirectory {
    TopicDirectory::new(id("me"), limits())
}

fn remote(name: &str) -> Option<Location> {
    Some(Location::Remote(owner(name)))
}

#[test]
fn create_and_destroy_local_topics() {
    let mut d = directory();
    let change = d.create_local("game:player1").unwrap();
    assert_eq!(change.before, None);
    assert_eq!(change.after, Some(Location::Local));
    assert!(d.exists("game:player1") && d.is_local("game:player1"));
    assert_eq!(d.owner_of("game:player1"), None);
    let err = d.create_local("game:player1").unwrap_err();
    assert_eq!(err, NodeError::TopicExists("game:player1".into()));
    assert_eq!(err.errno(), Errno::EEXIST);

    let change = d.destroy_local("game:player1").unwrap();
    assert_eq!((change.before, change.after), (Some(Location::Local), None));
    assert!(!d.exists("game:player1"));
    let err = d.destroy_local("game:player1").unwrap_err();
    assert_eq!(err, NodeError::TopicNotFound("game:player1".into()));
    assert_eq!(err.errno(), Errno::ENOENT);
    let stats = d.stats();
    assert_eq!((stats.local_created, stats.local_destroyed), (1, 1));
    assert!(d.is_empty());
}

#[test]
fn invalid_topics_are_einval() {
    let mut d = directory();
    for bad in ["", &"x".repeat(limits().max_topic_len + 1)] {
        let err = d.create_local(bad).unwrap_err();
        assert_eq!(err, NodeError::InvalidTopic(bad.to_owned()));
        assert_eq!(err.errno(), Errno::EINVAL);
        assert!(matches!(d.destroy_local(bad), Err(NodeError::InvalidTopic(_))));
        assert!(matches!(d.route(bad, owner("a")), Err(NodeError::InvalidTopic(_))));
        assert!(matches!(d.unroute(bad), Err(NodeError::InvalidTopic(_))));
    }
    assert!(parse_topic(&"x".repeat(limits().max_topic_len), &limits()).is_ok());
    assert!(check_topic(&"x".repeat(limits().max_topic_len), &limits()).is_ok());
    for bad in ["", &"x".repeat(limits().max_topic_len + 1)] {
        assert_eq!(check_topic(bad, &limits()), Err(NodeError::InvalidTopic(bad.to_owned())));
    }
    let mut huge = Limits::default();
    huge.max_topic_len = usize::MAX;
    assert!(check_topic(&"y".repeat(65_536), &huge).is_err(), "the wire's u16 bound holds");
    let bytes = bytes::Bytes::from_static(b"bad\xff");
    assert_eq!(
        topic_from_bytes(bytes, &limits()).unwrap_err(),
        NodeError::InvalidTopic("bad\u{fffd}".into())
    );
    let good = bytes::Bytes::from_static(b"ok");
    assert_eq!(topic_from_bytes(good, &limits()).unwrap().as_str(), "ok");
    assert_eq!(d.stats().local_created, 0);
}

#[test]
fn destroying_a_remote_topic_is_an_error() {
    let mut d = directory();
    d.apply_owner_topics(owner("b"), topics(&["chat:room1"]));
    let err = d.destroy_local("chat:room1").unwrap_err();
    assert_eq!(err, NodeError::TopicIsRemote("chat:room1".into()));
    assert_eq!(err.errno(), Errno::EINVAL);
    assert_eq!(d.owner_of("chat:room1"), Some(&owner("b")));
}

#[test]
fn creating_a_topic_that_is_remote_is_eexist() {
    let mut d = directory();
    d.apply_owner_topics(owner("b"), topics(&["chat:room1"]));
    assert_eq!(
        d.create_local("chat:room1").unwrap_err(),
        NodeError::TopicExists("chat:room1".into())
    );
    assert_eq!(d.location("chat:room1"), remote("b"));
}

#[test]
fn the_documentation_two_node_example() {
    let mut a = directory();
    a.create_local("game:player1").unwrap();
    a.create_local("game:score").unwrap();
    let changes = a.apply_owner_topics(owner("b"), topics(&["chat:room1", "chat:lobby"]));
    let added: Vec<_> = changes.iter().map(|c| (c.topic.as_str(), c.after.clone())).collect();
    assert_eq!(added, [("chat:lobby", remote("b")), ("chat:room1", remote("b"))]);
    let listed: Vec<(String, Location)> =
        a.list_topics().into_iter().map(|e| (e.topic.to_string(), e.location)).collect();
    assert_eq!(
        listed,
        [
            ("chat:lobby".to_owned(), Location::Remote(owner("b"))),
            ("chat:room1".to_owned(), Location::Remote(owner("b"))),
            ("game:player1".to_owned(), Location::Local),
            ("game:score".to_owned(), Location::Local),
        ]
    );
    assert_eq!(a.local_topics(), topics(&["game:player1", "game:score"]));
    assert_eq!(a.topics_routed_to(&id("b")), topics(&["chat:lobby", "chat:room1"]));
    assert_eq!(a.stats().remote_added, 2);
}

#[test]
fn a_report_replaces_that_owners_set_only() {
    let mut d = directory();
    d.apply_owner_topics(owner("b"), topics(&["x", "y"]));
    d.apply_owner_topics(owner("c"), topics(&["z"]));
    let changes = d.apply_owner_topics(owner("b"), topics(&["y", "w"]));
    let summary: Vec<_> = changes.iter().map(|c| (c.topic.as_str(), c.is_removed())).collect();
    assert_eq!(summary, [("w", false), ("x", true)]);
    assert!(!d.exists("x"));
    assert_eq!(d.owner_of("y"), Some(&owner("b")));
    assert_eq!(d.owner_of("z"), Some(&owner("c")));
    // The same report again changes nothing.
    assert!(d.apply_owner_topics(owner("b"), topics(&["y", "w"])).is_empty());
    // An empty report empties the owner but keeps it known.
    let changes = d.apply_owner_topics(owner("b"), Vec::new());
    assert_eq!(changes.len(), 2);
    assert!(d.owners().any(|o| o == &owner("b")));
    assert_eq!(d.stats().remote_removed, 3);
}

#[test]
fn an_owners_new_endpoint_is_used() {
    let mut d = directory();
    d.apply_owner_topics(owner("b"), topics(&["x"]));
    let moved = TopicOwner { id: id("b"), endpoint: "tcp://10.0.0.2:5555".parse().unwrap() };
    assert!(d.apply_owner_topics(moved.clone(), topics(&["x"])).is_empty());
    assert_eq!(d.owner_of("x"), Some(&moved));
}

#[test]
fn claims_about_this_node_are_ignored_and_counted() {
    let mut d = directory();
    assert!(d.apply_owner_topics(owner("me"), topics(&["x"])).is_empty());
    assert_eq!(d.apply_topic_created(owner("me"), topic("y")), None);
    assert!(!d.exists("x") && !d.exists("y"));
    assert_eq!(d.stats().self_claims_ignored, 2);
    assert_eq!(
        d.route("z", owner("me")).unwrap_err(),
        NodeError::InvalidArgument("a topic cannot be routed to this node")
    );
}

#[test]
fn topic_created_and_destroyed_notices() {
    let mut d = directory();
    let change = d.apply_topic_created(owner("b"), topic("t")).unwrap();
    assert_eq!((change.before, change.after), (None, remote("b")));
    assert_eq!(d.apply_topic_created(owner("b"), topic("t")), None, "duplicate notice");
    assert_eq!(d.apply_topic_destroyed(&id("c"), &topic("t")), None, "not c's topic");
    assert_eq!(d.apply_topic_destroyed(&id("b"), &topic("nope")), None);
    let change = d.apply_topic_destroyed(&id("b"), &topic("t")).unwrap();
    assert!(change.is_removed());
    assert_eq!(change.owner_before(), Some(&owner("b")));
    assert_eq!(d.apply_topic_destroyed(&id("b"), &topic("t")), None, "already gone");
}

#[test]
fn local_always_wins_and_a_claim_takes_over_after_destroy() {
    let mut d = directory();
    d.create_local("t").unwrap();
    assert!(d.apply_owner_topics(owner("b"), topics(&["t"])).is_empty());
    assert_eq!(d.stats().conflicts, 1);
    assert!(d.is_local("t"));
    assert_eq!(d.claimants("t"), [&id("b")]);
    let change = d.destroy_local("t").unwrap();
    assert_eq!((change.before, change.after), (Some(Location::Local), remote("b")));
    assert_eq!(d.stats().moved, 1);
}

#[test]
fn the_first_remote_claim_wins_and_the_next_takes_over() {
    let mut d = directory();
    d.apply_topic_created(owner("b"), topic("t"));
    assert_eq!(d.apply_topic_created(owner("a"), topic("t")), None, "conflict, b stays");
    assert_eq!(d.stats().conflicts, 1);
    assert_eq!(d.owner_of("t"), Some(&owner("b")));
    assert_eq!(d.claimants("t"), [&id("b"), &id("a")]);
    let change = d.apply_topic_destroyed(&id("b"), &topic("t")).unwrap();
    assert_eq!(change.owner_before(), Some(&owner("b")));
    assert_eq!(change.owner_after(), Some(&owner("a")));
    assert!(!change.is_removed());
}

#[test]
fn routes_win_over_learned_claims_and_survive_reports() {
    let mut d = directory();
    d.apply_owner_topics(owner("b"), topics(&["t"]));
    let change = d.route("t", owner("r")).unwrap();
    assert_eq!(
        (change.owner_before(), change.owner_after()),
        (Some(&owner("b")), Some(&owner("r")))
    );
    // The routed owner's own report without the topic does not remove the route.
    assert!(d.apply_owner_topics(owner("r"), Vec::new()).is_empty());
    assert_eq!(d.owner_of("t"), Some(&owner("r")));
    // Routing again to the same owner is a no-op change; to another moves it.
    assert!(d.route("t", owner("r")).unwrap().is_noop());
    assert_eq!(d.route("t", owner("s")).unwrap().owner_after(), Some(&owner("s")));
    assert_eq!(d.topics_routed_to(&id("r")), Vec::<Topic>::new());
    // Unrouting falls back to the learned claim.
    assert_eq!(d.unroute("t").unwrap().owner_after(), Some(&owner("b")));
    assert_eq!(d.unroute("t").unwrap_err(), NodeError::TopicNotFound("t".into()));
    assert_eq!(d.unroute("never").unwrap_err(), NodeError::TopicNotFound("never".into()));
    assert_eq!(d.stats().routes_set, 3);
}

#[test]
fn routing_a_local_topic_is_eexist() {
    let mut d = directory();
    d.create_local("t").unwrap();
    assert_eq!(d.route("t", owner("b")).unwrap_err(), NodeError::TopicExists("t".into()));
    let change = d.route("fresh", owner("b")).unwrap();
    assert_eq!((change.before, change.after), (None, remote("b")));
}

#[test]
fn dropping_an_owner_reports_everything_it_had() {
    let mut d = directory();
    d.create_local("mine").unwrap();
    d.apply_owner_topics(owner("b"), topics(&["b1", "b2", "shared", "mine"]));
    d.apply_owner_topics(owner("c"), topics(&["shared", "c1"]));
    d.route("routed", owner("b")).unwrap();
    let changes = d.drop_owner(&id("b"));
    let summary: Vec<(&str, Option<&TopicOwner>)> =
        changes.iter().map(|c| (c.topic.as_str(), c.owner_after())).collect();
    assert_eq!(
        summary,
        [("b1", None), ("b2", None), ("routed", None), ("shared", Some(&owner("c")))]
    );
    assert!(changes.iter().all(|c| c.owner_before() == Some(&owner("b"))));
    assert!(d.is_local("mine"));
    assert!(!d.owners().any(|o| o.id == id("b")));
    assert!(d.drop_owner(&id("b")).is_empty(), "unknown owner");
    assert_eq!(d.stats().owners_dropped, 1);
    assert_eq!(d.len(), 3);
}

#[test]
fn directory_answers_merge_owners_listed_twice() {
    let mut d = directory();
    let answer = vec![
        OwnedTopics { owner: owner("b"), topics: topics(&["b1"]) },
        OwnedTopics { owner: owner("me"), topics: topics(&["ignored"]) },
        OwnedTopics { owner: owner("c"), topics: topics(&["c1"]) },
        OwnedTopics { owner: owner("b"), topics: topics(&["b2"]) },
    ];
    let changes = d.apply_directory(answer);
    let names: Vec<&str> = changes.iter().map(|c| c.topic.as_str()).collect();
    assert_eq!(names, ["b1", "b2", "c1"]);
    assert!(!d.exists("ignored"));
}

#[test]
fn directory_pages_split_and_reassemble() {
    let mut d = directory();
    d.create_local("l1").unwrap();
    d.create_local("l2").unwrap();
    d.apply_owner_topics(owner("b"), topics(&["b1", "b2", "b3"]));
    d.apply_owner_topics(owner("c"), Vec::new());
    let me = Endpoint::inproc("me").unwrap();
    let pages = d.directory_pages(9, &me, 2);
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|p| p.request_id == 9 && p.topic_count() <= 2));
    let lasts: Vec<bool> = pages.iter().map(|p| p.last).collect();
    assert_eq!(lasts, [false, false, true]);
    let mut assembler = DirectoryAssembler::new(9, 100);
    let mut merged = None;
    for page in pages {
        assert!(merged.is_none(), "nothing after the final page");
        merged = assembler.push(page).unwrap();
    }
    assert!(assembler.is_finished());
    let merged = merged.unwrap();
    assert_eq!(merged.len(), 2, "b's topics, split over pages, merged into one entry");
    let mut other = TopicDirectory::new(id("x"), limits());
    other.apply_directory(merged);
    let listed: Vec<(String, Option<String>)> = other
        .list_topics()
        .into_iter()
        .map(|TopicEntry { topic, location }| {
            (topic.to_string(), location.owner().map(|o| o.id.to_string()))
        })
        .collect();
    let expect = |t: &str, o: &str| (t.to_owned(), Some(o.to_owned()));
    assert_eq!(
        listed,
        [
            expect("b1", "b"),
            expect("b2", "b"),
            expect("b3", "b"),
            expect("l1", "me"),
            expect("l2", "me")
        ]
    );
    // An empty directory still answers with one final page.
    let empty = directory().directory_pages(1, &me, 10);
    assert_eq!(empty.len(), 1);
    assert!(empty[0].last);
    assert_eq!(empty[0].owners.len(), 1, "our own (empty) entry");
}

#[test]
fn the_assembler_refuses_foreign_oversized_and_late_pages() {
    let mut d = directory();
    d.apply_owner_topics(owner("b"), topics(&["b1", "b2", "b3"]));
    let me = Endpoint::inproc("me").unwrap();
    let pages = d.directory_pages(4, &me, 2);
    assert_eq!(pages.len(), 2);
    let mut assembler = DirectoryAssembler::new(5, 100);
    assert_eq!(assembler.request_id(), 5);
    assert_eq!(
        assembler.push(pages[0].clone()).unwrap_err(),
        PageRefusal::WrongRequest { expected: 5, got: 4 }
    );
    // Too many topics in all: the answer is abandoned.
    let mut small = DirectoryAssembler::new(4, 2);
    assert_eq!(small.push(pages[0].clone()), Ok(None));
    assert_eq!(small.push(pages[1].clone()).unwrap_err(), PageRefusal::TooLarge);
    assert!(small.is_finished());
    assert_eq!(small.push(pages[1].clone()).unwrap_err(), PageRefusal::Finished);
    // A complete answer, then a late duplicate of its last page.
    let mut ok = DirectoryAssembler::new(4, 100);
    assert_eq!(ok.push(pages[0].clone()), Ok(None));
    let merged = ok.push(pages[1].clone()).unwrap().unwrap();
    let owned: Vec<usize> = merged.iter().map(|o| o.topics.len()).collect();
    assert_eq!(owned, [3, 0], "b's three topics; our own (empty) entry");
    assert_eq!(ok.push(pages[1].clone()).unwrap_err(), PageRefusal::Finished);
}

#[test]
fn claims_are_bounded_and_refusals_counted() {
    let mut d = directory().with_max_claims(3);
    // Owner record (1) + two topics (2) fit; the third topic is refused.
    let changes = d.apply_owner_topics(owner("b"), topics(&["a", "b", "c"]));
    assert_eq!(changes.len(), 2);
    assert_eq!(d.stats().claims_refused, 1);
    assert_eq!(d.apply_topic_created(owner("c"), topic("z")), None, "no room for owner c");
    assert_eq!(d.stats().claims_refused, 2);
    // Dropping the owner gives the room back.
    d.drop_owner(&id("b"));
    assert_eq!(d.apply_owner_topics(owner("c"), topics(&["x", "y"])).len(), 2);
    // A user's route is never refused.
    assert!(d.route("r", owner("d")).is_ok());
}

// ---- model-based property -------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Create(u8),
    Destroy(u8),
    Route(u8, u8),
    Unroute(u8),
    Report(u8, Vec<u8>),
    Created(u8, u8),
    Destroyed(u8, u8),
    Drop(u8),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        let small = |g: &mut Gen, n: u8| u8::arbitrary(g) % n;
        match small(g, 8) {
            0 => Op::Create(small(g, 5)),
            1 => Op::Destroy(small(g, 5)),
            2 => Op::Route(small(g, 5), small(g, 3)),
            3 => Op::Unroute(small(g, 5)),
            4 => Op::Report(small(g, 3), (0..small(g, 4)).map(|_| small(g, 5)).collect()),
            5 => Op::Created(small(g, 3), small(g, 5)),
            6 => Op::Destroyed(small(g, 3), small(g, 5)),
            _ => Op::Drop(small(g, 3)),
        }
    }
}

/// A straightforward model of the documented rules.
#[derive(Default)]
struct Model {
    local: std::collections::BTreeSet<u8>,
    routes: BTreeMap<u8, u8>,
    /// topic -> claimants in arrival order
    learned: BTreeMap<u8, Vec<u8>>,
}

impl Model {
    fn resolve(&self, t: u8) -> Option<Option<u8>> {
        if self.local.contains(&t) {
            return Some(None);
        }
        if let Some(o) = self.routes.get(&t) {
            return Some(Some(*o));
        }
        self.learned.get(&t).and_then(|c| c.first()).map(|o| Some(*o))
    }
    fn withdraw(&mut self, o: u8, t: u8) {
        if let Some(c) = self.learned.get_mut(&t) {
            c.retain(|x| *x != o);
        }
    }
    fn claim(&mut self, o: u8, t: u8) {
        let c = self.learned.entry(t).or_default();
        if !c.contains(&o) {
            c.push(o);
        }
    }
}

fn tname(t: u8) -> String {
    format!("t{t}")
}
fn oname(o: u8) -> String {
    format!("o{o}")
}

#[test]
fn directory_follows_the_documented_rules() {
    fn prop(ops: Vec<Op>) -> bool {
        let mut d = directory();
        let mut m = Model::default();
        for op in ops {
            let before: Vec<Option<Option<u8>>> = (0..5).map(|t| m.resolve(t)).collect();
            let mut reported: Vec<TopicChange> = Vec::new();
            match op {
                Op::Create(t) => {
                    let ok = d.create_local(&tname(t));
                    if m.resolve(t).is_some() {
                        if ok.is_ok() {
                            return false;
                        }
                    } else {
                        m.local.insert(t);
                        reported.push(ok.unwrap());
                    }
                }
                Op::Destroy(t) => {
                    let res = d.destroy_local(&tname(t));
                    if m.local.remove(&t) {
                        reported.push(res.unwrap());
                    } else if res.is_ok() {
                        return false;
                    }
                }
                Op::Route(t, o) => {
                    let res = d.route(&tname(t), owner(&oname(o)));
                    if m.local.contains(&t) {
                        if res.is_ok() {
                            return false;
                        }
                    } else {
                        m.routes.insert(t, o);
                        reported.push(res.unwrap());
                    }
                }
                Op::Unroute(t) => {
                    let res = d.unroute(&tname(t));
                    if m.routes.remove(&t).is_some() {
                        reported.push(res.unwrap());
                    } else if res.is_ok() {
                        return false;
                    }
                }
                Op::Report(o, ts) => {
                    let set: std::collections::BTreeSet<u8> = ts.iter().copied().collect();
                    for t in 0..5 {
                        if !set.contains(&t) {
                            m.withdraw(o, t);
                        }
                    }
                    for t in &set {
                        m.claim(o, *t);
                    }
                    let names: Vec<Topic> = set.iter().map(|t| topic(&tname(*t))).collect();
                    reported.extend(d.apply_owner_topics(owner(&oname(o)), names));
                }
                Op::Created(o, t) => {
                    m.claim(o, t);
                    reported.extend(d.apply_topic_created(owner(&oname(o)), topic(&tname(t))));
                }
                Op::Destroyed(o, t) => {
                    m.withdraw(o, t);
                    reported.extend(d.apply_topic_destroyed(&id(&oname(o)), &topic(&tname(t))));
                }
                Op::Drop(o) => {
                    for t in 0..5 {
                        m.withdraw(o, t);
                    }
                    m.routes.retain(|_, r| *r != o);
                    reported.extend(d.drop_owner(&id(&oname(o))));
                }
            }
            // The directory agrees with the model on every topic...
            for t in 0..5u8 {
                let expected = m.resolve(t).map(|o| match o {
                    None => Location::Local,
                    Some(o) => Location::Remote(owner(&oname(o))),
                });
                if d.location(&tname(t)) != expected {
                    return false;
                }
            }
            // ...and the reported changes are exactly the topics whose resolution moved.
            let moved: Vec<String> =
                (0..5u8).filter(|t| before[usize::from(*t)] != m.resolve(*t)).map(tname).collect();
            let mut said: Vec<String> =
                reported.iter().filter(|c| !c.is_noop()).map(|c| c.topic.to_string()).collect();
            said.sort();
            if said != moved {
                return false;
            }
            // The listing is sorted and complete.
            let listed: Vec<String> = d.list_topics().iter().map(|e| e.topic.to_string()).collect();
            let known: Vec<String> =
                (0..5u8).filter(|t| m.resolve(*t).is_some()).map(tname).collect();
            if listed != known {
                return false;
            }
        }
        true
    }
    QuickCheck::new()
        .rng(Gen::from_size_and_seed(40, 0xd1_2ec7))
        .tests(600)
        .quickcheck(prop as fn(Vec<Op>) -> bool);
}
