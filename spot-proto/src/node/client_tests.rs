//! A SPOT-aware client (a DEALER announcing `X-Spot` without CLUSTER_NODE, like the `spot` CLI)
//! on an inbound connection: the extension requests it sends are answered.

use bytes::{Bytes, BytesMut};

use super::{ConnectionId, Node, NodeConfig, NodeOutput};
use crate::link::{Link, LinkConfig, LinkEvent};
use crate::wire::spot::{
    AckStatus, Capabilities, Envelope, MemberState, NodeId, SpotAnnouncement, SpotCommand,
    X_SPOT_PROPERTY,
};
use crate::wire::zmtp::{Message, SocketType};
use crate::{Endpoint, Instant, Limits};

fn client_link() -> Link {
    let limits = Limits::default();
    let id = NodeId::new(Bytes::from_static(b"cli-1"), &limits).expect("id");
    let caps = Capabilities::DIRECTORY
        .union(Capabilities::MEMBER_LIST)
        .union(Capabilities::PATTERNS)
        .union(Capabilities::SUBSCRIBE_ACK);
    let config = LinkConfig::dialer(SocketType::Dealer)
        .with_property(X_SPOT_PROPERTY, SpotAnnouncement::new(id, caps).encode())
        .expect("property");
    Link::new(config, Instant::ZERO)
}

/// Moves bytes both ways until neither side has anything to send; returns what the client
/// decoded.
fn pump(node: &mut Node, conn: ConnectionId, client: &mut Link) -> Vec<SpotCommand> {
    let now = Instant::ZERO;
    let mut decoded = Vec::new();
    for _ in 0..16 {
        let mut moved = false;
        while let Some(chunk) = client.poll_transmit() {
            moved = true;
            node.handle_read(now, conn, BytesMut::from(&chunk[..]));
        }
        while let Some(output) = node.poll_output() {
            if let NodeOutput::Write { conn: to, data } = output
                && to == conn
            {
                moved = true;
                node.handle_sent(now, conn, data.len());
                client.handle_read(now, BytesMut::from(&data[..]));
            }
        }
        while let Some(event) = client.poll_event() {
            if let LinkEvent::Message(message) = event {
                decoded
                    .push(SpotCommand::decode(message.frames(), &Limits::default()).expect("ok"));
            }
        }
        if !moved {
            break;
        }
    }
    decoded
}

fn send(client: &mut Link, command: &SpotCommand) {
    let _ = client.send(Message::from_frames(command.encode(Envelope::Bare))).expect("queued");
}

fn joined_node() -> (Node, Endpoint) {
    let endpoint: Endpoint = "tcp://127.0.0.1:7400".parse().expect("endpoint");
    let mut node = Node::new(NodeConfig::local().with_seed(3), Instant::ZERO);
    node.bind(Instant::ZERO, endpoint.clone()).expect("bind");
    node.join(Instant::ZERO, &[]).expect("join alone");
    node.topic_create(Instant::ZERO, "news").expect("topic");
    (node, endpoint)
}

#[test]
fn a_client_gets_the_member_list_with_the_node_itself() {
    let (mut node, endpoint) = joined_node();
    let conn = node.handle_accepted(Instant::ZERO);
    let mut client = client_link();
    let _ = pump(&mut node, conn, &mut client);
    assert!(client.is_ready());
    send(&mut client, &SpotCommand::MemberListQuery { request_id: 9 });
    let answers = pump(&mut node, conn, &mut client);
    let [SpotCommand::MemberListResp(page)] = answers.as_slice() else {
        panic!("expected one MEMBER_LIST_RESP, got {answers:?}");
    };
    assert_eq!(page.request_id, 9);
    assert!(page.last);
    assert_eq!(page.members.len(), 1, "{page:?}");
    assert_eq!(page.members[0].endpoint, endpoint);
    assert_eq!(page.members[0].state, MemberState::Alive);
}

#[test]
fn a_client_gets_the_directory_and_acks_for_topic_and_pattern_subscriptions() {
    let (mut node, endpoint) = joined_node();
    let conn = node.handle_accepted(Instant::ZERO);
    let mut client = client_link();
    let _ = pump(&mut node, conn, &mut client);
    send(&mut client, &SpotCommand::DirectoryQuery { request_id: 4 });
    let limits = Limits::default();
    let pattern = crate::wire::spot::Pattern::copy_from_str("ne*", &limits).expect("pattern");
    send(&mut client, &SpotCommand::PatternSubscribe { pattern });
    let missing = crate::wire::spot::Topic::copy_from_str("missing", &limits).expect("topic");
    send(&mut client, &SpotCommand::Subscribe { topic: missing });
    let answers = pump(&mut node, conn, &mut client);
    let [
        SpotCommand::DirectoryResp(page),
        SpotCommand::SubscribeAck(pattern_ack),
        SpotCommand::SubscribeAck(missing_ack),
    ] = answers.as_slice()
    else {
        panic!("unexpected answers {answers:?}");
    };
    assert_eq!(page.request_id, 4);
    let entries: Vec<(&str, &Endpoint)> =
        page.entries().map(|(t, o)| (t.as_str(), &o.endpoint)).collect();
    assert_eq!(entries, vec![("news", &endpoint)]);
    assert_eq!((pattern_ack.request.subject(), pattern_ack.status), ("ne*", AckStatus::Ok));
    assert_eq!(missing_ack.status, AckStatus::NotFound);

    // A publish to the topic reaches the pattern subscriber (ROUTER side: delimited).
    node.publish(Instant::ZERO, "news", Bytes::from_static(b"hi")).expect("publish");
    let delivered = pump(&mut node, conn, &mut client);
    assert!(
        delivered.iter().any(|c| matches!(c, SpotCommand::Publish { topic, data }
            if topic.as_str() == "news" && &data[..] == b"hi")),
        "{delivered:?}"
    );
}

#[test]
fn publishes_between_two_drains_leave_as_one_coalesced_write() {
    let (mut node, _) = joined_node();
    let conn = node.handle_accepted(Instant::ZERO);
    let mut client = client_link();
    let _ = pump(&mut node, conn, &mut client);
    let topic = crate::wire::spot::Topic::copy_from_str("news", &Limits::default()).expect("t");
    send(&mut client, &SpotCommand::Subscribe { topic });
    let _ = pump(&mut node, conn, &mut client);

    for i in 0..100u8 {
        node.publish(Instant::ZERO, "news", Bytes::from(vec![i; 16])).expect("publish");
    }
    let mut writes = Vec::new();
    while let Some(output) = node.poll_output() {
        if let NodeOutput::Write { conn: to, data } = output {
            assert_eq!(to, conn);
            writes.push(data);
        }
    }
    assert_eq!(writes.len(), 1, "100 small publishes should leave as one chunk");
    for data in &writes {
        client.handle_read(Instant::ZERO, BytesMut::from(&data[..]));
    }
    let mut payloads = Vec::new();
    while let Some(event) = client.poll_event() {
        if let LinkEvent::Message(message) = event
            && let Ok(SpotCommand::Publish { data, .. }) =
                SpotCommand::decode(message.frames(), &Limits::default())
        {
            payloads.push(data[0]);
        }
    }
    assert_eq!(payloads, (0..100u8).collect::<Vec<_>>(), "all, in order");
}
