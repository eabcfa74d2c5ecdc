//! Interop with zmq.rs (the `zeromq` crate, 0.7) over loopback TCP. zmq.rs announces ZMTP 3.0
//! and understands no command but READY, so these tests are also our real ZMTP 3.0 peer: our
//! `Link` must send it subscriptions as `0x01`/`0x00` data frames, never PING it, and refuse a
//! bad partner without an ERROR command.
//!
//! Each zmq.rs socket runs in its own thread on a current-thread tokio runtime, bounded by a
//! timeout, and reports to the test through a channel; the test drives our `Link` with
//! `spot_tests::driver::LinkDriver` over a blocking `TcpStream`.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use spot_proto::Limits;
use spot_proto::link::{CloseReason, LinkConfig, SendOutcome};
use spot_proto::wire::spot::{Envelope, SpotCommand, Topic};
use spot_proto::wire::zmtp::{Message, SocketType, Subscription, SubscriptionForm, ZmtpVersion};
use spot_tests::driver::LinkDriver;
use spot_tests::{hex, loopback, loopback_listener, pattern};
use zeromq::{
    DealerSocket, Endpoint, PubSocket, RouterSocket, Socket, SocketRecv, SocketSend, SubSocket,
    XPubSocket, XSubSocket, ZmqMessage,
};

/// Bound on every single wait; a healthy exchange takes milliseconds.
const WAIT: Duration = Duration::from_secs(5);

/// How long a zmq.rs peer may run before its own timeout ends it.
const PEER_LIFETIME: Duration = Duration::from_secs(10);

type Frames = Vec<Vec<u8>>;

/// What a zmq.rs peer tells the test.
#[derive(Debug)]
enum Report {
    /// It listens on this port.
    Port(u16),
    /// It received this message.
    Received(Frames),
    /// A remark (e.g. an expected error), recorded for failure messages.
    Note(String),
    /// Its body ended (with an error message on failure).
    Finished(Result<(), String>),
}

/// The peer's side of the channel.
#[derive(Clone)]
struct Reporter {
    tx: Sender<Report>,
    stop: Arc<AtomicBool>,
}

impl Reporter {
    fn report(&self, report: Report) {
        let _ = self.tx.send(report);
    }

    fn received(&self, msg: ZmqMessage) {
        self.report(Report::Received(msg.into_vec().into_iter().map(|f| f.to_vec()).collect()));
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Keeps the socket (and so the connection) alive until the test is done with it.
    async fn until_stopped(&self) {
        while !self.stopped() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A zmq.rs socket running in a background thread.
struct ZmqRsPeer {
    reports: Receiver<Report>,
    pending: VecDeque<Report>,
    notes: Vec<String>,
    stop: Arc<AtomicBool>,
}

impl ZmqRsPeer {
    /// Runs `body` on a fresh current-thread tokio runtime in its own thread, for at most
    /// [`PEER_LIFETIME`].
    fn spawn<F, Fut>(body: F) -> ZmqRsPeer
    where
        F: FnOnce(Reporter) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>>,
    {
        let (tx, reports) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let reporter = Reporter { tx, stop: Arc::clone(&stop) };
        thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => return reporter.report(Report::Finished(Err(format!("runtime: {e}")))),
            };
            let done = reporter.clone();
            let outcome = runtime.block_on(async move {
                match tokio::time::timeout(PEER_LIFETIME, body(reporter)).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("zmq.rs peer still running after {PEER_LIFETIME:?}")),
                }
            });
            done.report(Report::Finished(outcome));
        });
        ZmqRsPeer { reports, pending: VecDeque::new(), notes: Vec::new(), stop }
    }

    fn pull(&mut self) {
        loop {
            match self.reports.try_recv() {
                Ok(Report::Note(note)) => self.notes.push(note),
                Ok(Report::Finished(Err(e))) => {
                    panic!("zmq.rs peer failed: {e}; notes {:?}", self.notes)
                }
                Ok(report) => self.pending.push_back(report),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return,
            }
        }
    }

    /// The next received message, if one was reported (never blocks).
    fn try_received(&mut self) -> Option<Frames> {
        self.pull();
        let index = self.pending.iter().position(|r| matches!(r, Report::Received(_)))?;
        match self.pending.remove(index) {
            Some(Report::Received(frames)) => Some(frames),
            _ => None,
        }
    }

    /// The port it listens on (waits for the report).
    fn port(&mut self) -> u16 {
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            self.pull();
            let index = self.pending.iter().position(|r| matches!(r, Report::Port(_)));
            if let Some(Report::Port(port)) = index.and_then(|i| self.pending.remove(i)) {
                return port;
            }
            thread::sleep(Duration::from_millis(2));
        }
        panic!("zmq.rs peer reported no port within {WAIT:?}; notes {:?}", self.notes)
    }

    /// Tells the peer to stop and waits for its body to end successfully.
    fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            match self.reports.recv_timeout(Duration::from_millis(20)) {
                Ok(Report::Finished(Ok(()))) => return std::mem::take(&mut self.notes),
                Ok(Report::Finished(Err(e))) => panic!("zmq.rs peer failed: {e}"),
                Ok(Report::Note(note)) => self.notes.push(note),
                Ok(_) | Err(_) => {}
            }
        }
        panic!("zmq.rs peer did not finish within {WAIT:?}; notes {:?}", self.notes)
    }
}

impl Drop for ZmqRsPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn zmq_message(frames: &[Vec<u8>]) -> Result<ZmqMessage, String> {
    let frames: Vec<Bytes> = frames.iter().cloned().map(Bytes::from).collect();
    ZmqMessage::try_from(frames).map_err(|e| format!("{e:?}"))
}

fn tcp_port(endpoint: &Endpoint) -> Result<u16, String> {
    match endpoint {
        Endpoint::Tcp(_, port) => Ok(*port),
        other => Err(format!("not a TCP endpoint: {other}")),
    }
}

fn frames_of(msg: &Message) -> Frames {
    msg.iter().map(|f| f.to_vec()).collect()
}

fn send(driver: &mut LinkDriver, frames: &[Vec<u8>]) {
    let msg = Message::from_frames(frames.iter().cloned());
    let outcome = driver.link_mut().send(msg).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
}

/// Drives `driver` until the zmq.rs peer reports a received message.
fn peer_receives(driver: &mut LinkDriver, peer: &mut ZmqRsPeer, what: &str) -> Frames {
    driver.drive_until(WAIT, what, |_| peer.try_received()).unwrap_or_else(|e| panic!("{e}"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Frames of every size form: empty, short (255), LONG (256), LONG over several reads.
fn awkward_frames(seed: u8) -> Frames {
    vec![
        b"head".to_vec(),
        Vec::new(),
        pattern(255, seed),
        pattern(256, seed.wrapping_add(1)),
        pattern(70_000, seed.wrapping_add(2)),
    ]
}

#[test]
fn our_dealer_dials_a_zmq_rs_router_speaking_zmtp_3_0_and_never_pings_it() {
    let reply = vec![Vec::new(), pattern(300, 2), b"end".to_vec()];
    let reply_sent = reply.clone();
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut router = RouterSocket::new();
        let endpoint = router.bind("tcp://127.0.0.1:0").await.map_err(|e| e.to_string())?;
        r.report(Report::Port(tcp_port(&endpoint)?));
        let msg = router.recv().await.map_err(|e| e.to_string())?;
        let identity = msg.get(0).cloned().unwrap_or_default().to_vec();
        r.received(msg);
        let mut frames = vec![identity];
        frames.extend(reply_sent);
        router.send(zmq_message(&frames)?).await.map_err(|e| e.to_string())?;
        r.until_stopped().await;
        Ok(())
    });
    let port = peer.port();
    // Heartbeats configured, yet a 3.0 peer must never get a PING (zmq.rs would drop us).
    let config = LinkConfig::dialer(SocketType::Dealer)
        .with_identity(&b"spot-d"[..])
        .with_heartbeat(Duration::from_millis(20), Duration::from_millis(100));
    let mut driver = LinkDriver::dial(loopback(port), config, WAIT).expect("dial zmq.rs ROUTER");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Router);
    assert_eq!(info.version, ZmtpVersion::V3_0, "zmq.rs announces ZMTP 3.0");
    assert_eq!(info.greeting.minor(), 0);
    assert_eq!(driver.link().poll_timeout(), None, "no heartbeat timer toward a 3.0 peer");

    let ours = awkward_frames(3);
    send(&mut driver, &ours);
    let got = peer_receives(&mut driver, &mut peer, "our multipart message");
    assert_eq!(got[0], b"spot-d", "zmq.rs routes by the Identity we sent");
    assert_eq!(&got[1..], &ours[..]);

    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), reply);
    driver.drive_for(Duration::from_millis(150)).unwrap_or_else(|e| panic!("{e}"));
    assert!(driver.link().is_ready(), "closed: {:?}", driver.link().close_reason());
    assert_eq!(driver.link().stats().pings_sent, 0);
    assert_eq!(driver.link().stats().commands_out, 1, "READY is the only command a 3.0 peer gets");
    peer.finish();
}

#[test]
fn a_zmq_rs_dealer_dials_our_listener_which_answers_router() {
    let (listener, addr) = loopback_listener().expect("bind");
    let theirs = awkward_frames(40);
    let theirs_sent = theirs.clone();
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut dealer = DealerSocket::new();
        let endpoint = format!("tcp://{addr}");
        dealer.connect(&endpoint).await.map_err(|e| e.to_string())?;
        dealer.send(zmq_message(&theirs_sent)?).await.map_err(|e| e.to_string())?;
        r.received(dealer.recv().await.map_err(|e| e.to_string())?);
        r.until_stopped().await;
        Ok(())
    });
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("zmq.rs dials us");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Dealer);
    assert_eq!(info.our_socket_type, SocketType::Router);
    assert_eq!(info.version, ZmtpVersion::V3_0);

    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), theirs);
    let ours = vec![Vec::new(), b"for zmq.rs".to_vec(), pattern(9000, 6)];
    send(&mut driver, &ours);
    assert_eq!(peer_receives(&mut driver, &mut peer, "our reply"), ours);
    peer.finish();
}

#[test]
fn four_mib_messages_and_a_thousand_frame_message_travel_both_ways_with_zmq_rs() {
    let (listener, addr) = loopback_listener().expect("bind");
    let big = vec![b"big".to_vec(), pattern(4 << 20, 9)];
    let many: Frames = (0..1000u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let (big_sent, many_sent) = (big.clone(), many.clone());
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut dealer = DealerSocket::new();
        dealer.connect(&format!("tcp://{addr}")).await.map_err(|e| e.to_string())?;
        dealer.send(zmq_message(&big_sent)?).await.map_err(|e| e.to_string())?;
        dealer.send(zmq_message(&many_sent)?).await.map_err(|e| e.to_string())?;
        for _ in 0..2 {
            r.received(dealer.recv().await.map_err(|e| e.to_string())?);
        }
        r.until_stopped().await;
        Ok(())
    });
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("zmq.rs dials us");
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert!(frames_of(&msg) == big, "the 4 MiB message differs");
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), many);
    assert!(driver.chunks_in() > 60, "4 MiB arrive in many reads: {}", driver.chunks_in());

    send(&mut driver, &big);
    send(&mut driver, &many);
    let got = peer_receives(&mut driver, &mut peer, "our 4 MiB message");
    assert!(got == big, "zmq.rs received a different 4 MiB message");
    assert_eq!(peer_receives(&mut driver, &mut peer, "our 1000-frame message"), many);
    peer.finish();
}

#[test]
fn a_zmq_rs_dealer_query_is_answered_with_the_exact_query_resp_frames() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut dealer = DealerSocket::new();
        dealer.connect(&format!("tcp://{addr}")).await.map_err(|e| e.to_string())?;
        dealer.send(ZmqMessage::from(vec![0x04u8])).await.map_err(|e| e.to_string())?;
        r.received(dealer.recv().await.map_err(|e| e.to_string())?);
        r.until_stopped().await;
        Ok(())
    });
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("zmq.rs dials us");
    let limits = Limits::default();
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(SpotCommand::decode(msg.frames(), &limits), Ok(SpotCommand::Query));

    let topics: Vec<Topic> = ["rs:one", "rs:two", "rs:three"]
        .iter()
        .map(|t| Topic::copy_from_str(t, &limits).expect("valid topic"))
        .collect();
    let resp = SpotCommand::QueryResp { topics };
    let outcome =
        driver.link_mut().send(Message::from(resp.encode(Envelope::Delimited))).expect("queued");
    assert_eq!(outcome, SendOutcome::Queued);
    let got = peer_receives(&mut driver, &mut peer, "QUERY_RESP");
    let expected: Frames = vec![
        Vec::new(),
        vec![0x05],
        vec![3, 0, 0, 0],
        b"rs:one".to_vec(),
        b"rs:two".to_vec(),
        b"rs:three".to_vec(),
    ];
    assert_eq!(got, expected);
    peer.finish();
}

#[test]
fn our_xsub_subscribes_and_cancels_at_a_zmq_rs_xpub_with_data_frames() {
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut xpub = XPubSocket::new();
        let endpoint = xpub.bind("tcp://127.0.0.1:0").await.map_err(|e| e.to_string())?;
        r.report(Report::Port(tcp_port(&endpoint)?));
        for _ in 0..2 {
            r.received(xpub.recv().await.map_err(|e| e.to_string())?);
        }
        xpub.send(zmq_message(&[b"news.today".to_vec(), pattern(500, 1)])?)
            .await
            .map_err(|e| e.to_string())?;
        r.received(xpub.recv().await.map_err(|e| e.to_string())?);
        for frames in [
            [b"news.late".to_vec(), b"filtered".to_vec()],
            [b"sport.goal".to_vec(), b"kept".to_vec()],
        ] {
            xpub.send(zmq_message(&frames)?).await.map_err(|e| e.to_string())?;
        }
        r.until_stopped().await;
        Ok(())
    });
    let port = peer.port();
    let config = LinkConfig::dialer(SocketType::XSub);
    let mut driver = LinkDriver::dial(loopback(port), config, WAIT).expect("dial zmq.rs XPUB");
    // Subscribed before the handshake: the link holds them until the peer's greeting tells
    // which form it needs.
    driver.link_mut().subscribe(&b"news."[..]).expect("queued");
    driver.link_mut().subscribe(&b"sport."[..]).expect("queued");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::XPub);
    assert_eq!(info.version, ZmtpVersion::V3_0);

    assert_eq!(peer_receives(&mut driver, &mut peer, "subscribe news."), [b"\x01news.".to_vec()]);
    assert_eq!(peer_receives(&mut driver, &mut peer, "subscribe sport."), [b"\x01sport.".to_vec()]);
    // To a 3.0 peer, a subscription is a one-frame data message, not a SUBSCRIBE command.
    assert!(
        contains(driver.transcript_out(), b"\x00\x06\x01news."),
        "{}",
        hex(driver.transcript_out())
    );
    assert!(!contains(driver.transcript_out(), b"SUBSCRIBE"));

    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), [b"news.today".to_vec(), pattern(500, 1)]);

    driver.link_mut().cancel(&b"news."[..]).expect("queued");
    assert_eq!(peer_receives(&mut driver, &mut peer, "cancel news."), [b"\x00news.".to_vec()]);
    // zmq.rs filtered "news.late" after the cancel; TCP keeps order, so "sport." comes next.
    let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames_of(&msg), [b"sport.goal".to_vec(), b"kept".to_vec()]);
    assert_eq!(driver.link().stats().commands_out, 1, "READY only");
    peer.finish();
}

#[test]
fn our_xsub_receives_only_matching_topics_from_a_zmq_rs_pub() {
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut publisher = PubSocket::new();
        let endpoint = publisher.bind("tcp://127.0.0.1:0").await.map_err(|e| e.to_string())?;
        r.report(Report::Port(tcp_port(&endpoint)?));
        // A PUB says nothing about subscriptions, so publish until the test has what it needs.
        while !r.stopped() {
            for frames in
                [[b"t.one".to_vec(), b"yes".to_vec()], [b"u.two".to_vec(), b"no".to_vec()]]
            {
                publisher.send(zmq_message(&frames)?).await.map_err(|e| e.to_string())?;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    });
    let port = peer.port();
    let mut driver = LinkDriver::dial(loopback(port), LinkConfig::dialer(SocketType::XSub), WAIT)
        .expect("dial zmq.rs PUB");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Pub);
    driver.link_mut().subscribe(&b"t."[..]).expect("queued");
    for _ in 0..5 {
        let msg = driver.wait_message(WAIT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(frames_of(&msg), [b"t.one".to_vec(), b"yes".to_vec()]);
    }
    peer.finish();
}

#[test]
fn a_zmq_rs_sub_dials_our_listener_which_answers_xpub_and_publishes_to_it() {
    let (listener, addr) = loopback_listener().expect("bind");
    let payload = pattern(400, 77);
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut sub = SubSocket::new();
        sub.connect(&format!("tcp://{addr}")).await.map_err(|e| e.to_string())?;
        sub.subscribe("chat.").await.map_err(|e| e.to_string())?;
        r.received(sub.recv().await.map_err(|e| e.to_string())?);
        sub.unsubscribe("chat.").await.map_err(|e| e.to_string())?;
        r.until_stopped().await;
        Ok(())
    });
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("zmq.rs dials us");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::Sub);
    assert_eq!(info.our_socket_type, SocketType::XPub);
    assert_eq!(info.version, ZmtpVersion::V3_0);

    let (change, form) = driver.wait_subscription(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(change, Subscription::Subscribe(b"chat."[..].into()));
    assert_eq!(form, SubscriptionForm::DataFrame);
    send(&mut driver, &[b"chat.room".to_vec(), payload.clone()]);
    let got = peer_receives(&mut driver, &mut peer, "our publish");
    assert_eq!(got, [b"chat.room".to_vec(), payload]);

    let (change, form) = driver.wait_subscription(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(change, Subscription::Cancel(b"chat."[..].into()));
    assert_eq!(form, SubscriptionForm::DataFrame);
    peer.finish();
}

#[test]
fn a_zmq_rs_xsub_dials_our_listener_subscribes_to_everything_and_receives_it() {
    let (listener, addr) = loopback_listener().expect("bind");
    let mut peer = ZmqRsPeer::spawn(move |r| async move {
        let mut xsub = XSubSocket::new();
        xsub.connect(&format!("tcp://{addr}")).await.map_err(|e| e.to_string())?;
        xsub.subscribe("").await.map_err(|e| e.to_string())?;
        for _ in 0..2 {
            r.received(xsub.recv().await.map_err(|e| e.to_string())?);
        }
        r.until_stopped().await;
        Ok(())
    });
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("zmq.rs dials us");
    let info = driver.wait_handshake(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.socket_type, SocketType::XSub);
    assert_eq!(info.our_socket_type, SocketType::XPub, "a listener answers XPUB to an XSUB");
    let (change, form) = driver.wait_subscription(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(change, Subscription::Subscribe(Bytes::new()));
    assert_eq!(form, SubscriptionForm::DataFrame);

    let first = vec![b"x".to_vec(), pattern(256, 0)];
    let second = vec![Vec::new(), Vec::new()];
    send(&mut driver, &first);
    send(&mut driver, &second);
    assert_eq!(peer_receives(&mut driver, &mut peer, "the first publish"), first);
    assert_eq!(peer_receives(&mut driver, &mut peer, "the second publish"), second);
    peer.finish();
}

#[test]
fn a_zmq_rs_pub_dialing_our_listener_is_refused_without_an_error_command() {
    let (listener, addr) = loopback_listener().expect("bind");
    let peer = ZmqRsPeer::spawn(move |r| async move {
        let mut publisher = PubSocket::new();
        if let Err(e) = publisher.connect(&format!("tcp://{addr}")).await {
            r.report(Report::Note(format!("connect failed as expected: {e}")));
        }
        r.until_stopped().await;
        Ok(())
    });
    let mut driver =
        LinkDriver::accept(&listener, LinkConfig::listener(), WAIT).expect("zmq.rs dials us");
    let reason = driver.wait_closed(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reason, CloseReason::IncompatiblePeer { peer: SocketType::Pub });
    // A peer that announced 3.0 gets no command but READY, so no ERROR: a plain close.
    let out = driver.transcript_out();
    assert_eq!(out.len(), 64, "only our greeting was sent: {}", hex(out));
    assert!(!driver.transport_open());
    let notes = peer.finish();
    assert!(notes.iter().any(|n| n.contains("connect failed")), "zmq.rs: {notes:?}");
}
