//! Backpressure over real sockets: a ZeroMQ SUB peer that stops reading fills its connection's
//! queue in the node, where the send high-water mark drops (and counts) data, while the node and
//! its other subscribers go on.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::{config, within};
use spot_driver_tokio::SpotNode;
use spot_proto::link::{Link, LinkConfig, LinkEvent};
use spot_proto::wire::zmtp::SocketType;
use spot_proto::{Endpoint, Instant};

/// Connects a SUB to `at`, completes the handshake and subscribes to everything; returns the
/// socket, which the caller then never reads again.
#[allow(clippy::unwrap_used)]
fn stalled_subscriber(at: Endpoint) -> TcpStream {
    let port = at.port().unwrap();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut link = Link::new(LinkConfig::dialer(SocketType::Sub), Instant::ZERO);
    link.subscribe(Bytes::new()).unwrap();
    let mut buf = [0u8; 4096];
    for _ in 0..50 {
        while let Some(chunk) = link.poll_transmit() {
            socket.write_all(&chunk).unwrap();
        }
        if link.is_ready() && link.poll_transmit().is_none() {
            break;
        }
        let n = socket.read(&mut buf).unwrap();
        link.handle_read(Instant::ZERO, BytesMut::from(&buf[..n]));
        while let Some(event) = link.poll_event() {
            assert!(!matches!(event, LinkEvent::Closed(_)), "{event:?}");
        }
    }
    assert!(link.is_ready());
    while let Some(chunk) = link.poll_transmit() {
        socket.write_all(&chunk).unwrap();
    }
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_hits_the_send_hwm_without_being_cut() {
    let mut cfg = config(41);
    cfg.send_hwm = 100;
    let owner = SpotNode::builder(cfg).bind(Endpoint::localhost(0)).start().await.unwrap();
    owner.topic_create("flood").await.unwrap();
    let mut own = owner.subscribe("flood").await.unwrap();
    let at = owner.advertised().unwrap();
    let socket = tokio::task::spawn_blocking(move || stalled_subscriber(at)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let payload = Bytes::from(vec![7u8; 1024]);
    for _ in 0..20_000 {
        owner.publish_nowait("flood", payload.clone()).unwrap();
    }
    // The local subscriber still gets what it asked for.
    within("local delivery", own.recv()).await.unwrap();
    common::eventually("the stalled peer's queue overflows", || async {
        owner.stats().await.unwrap().dropped_send_hwm > 0
    })
    .await;
    assert_eq!(owner.driver_stats().slow_connections_cut, 0, "the HWM applies, not a cut");
    drop(socket);
    owner.shutdown().await;
}
