//! [`LinkDriver`]: a blocking driver that runs one spot-proto [`Link`] over a real
//! `std::net::TcpStream`, with deadlines everywhere so a test can never hang.
//!
//! The driver follows the [`Link`] drain contract after every input: it writes every chunk
//! from [`Link::poll_transmit`], collects every [`LinkEvent`] into an inbox, and calls
//! [`Link::handle_timeout`] when [`Link::poll_timeout`] is due. It makes no protocol decision.
//!
//! Time is real (a `std::time::Instant` base converted into [`spot_proto::Instant`]), because
//! the peer on the other end of the socket is real.
//!
//! ```no_run
//! use std::time::Duration;
//! use spot_proto::link::LinkConfig;
//! use spot_proto::wire::zmtp::{Message, SocketType};
//! use spot_tests::driver::LinkDriver;
//!
//! let addr = "127.0.0.1:5555".parse().expect("address");
//! let config = LinkConfig::dialer(SocketType::Dealer);
//! let mut driver = LinkDriver::dial(addr, config, Duration::from_secs(2)).expect("dial");
//! let peer = driver.wait_handshake(Duration::from_secs(2)).expect("handshake");
//! driver.link_mut().send(Message::single(&b"\x04"[..])).expect("queued");
//! let reply = driver.wait_message(Duration::from_secs(2)).expect("a reply");
//! # let _ = (peer, reply);
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use spot_proto::Instant;
use spot_proto::link::{CloseReason, Link, LinkConfig, LinkEvent, LinkState, PeerInfo};
use spot_proto::wire::zmtp::{Message, Subscription, SubscriptionForm};

use crate::hex;

/// Longest single blocking read: predicates are re-checked at least this often.
pub const MAX_STEP: Duration = Duration::from_millis(10);

/// Bytes read per `read` call.
const READ_CHUNK: usize = 64 << 10;

/// Raw bytes kept per direction for failure messages.
const TRANSCRIPT_CAP: usize = 4 << 10;

/// Bytes of each direction's transcript shown in a [`DriveError`].
const TRANSCRIPT_SHOWN: usize = 256;

/// Converts the real monotonic clock into spot-proto's timestamps (origin: creation).
#[derive(Clone, Copy, Debug)]
pub struct RealClock {
    base: std::time::Instant,
}

impl RealClock {
    /// A clock whose origin is now.
    pub fn start() -> Self {
        RealClock { base: std::time::Instant::now() }
    }

    /// The current time as a spot-proto [`Instant`].
    pub fn now(&self) -> Instant {
        let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Instant::from_nanos(nanos)
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::start()
    }
}

/// Why a [`LinkDriver`] wait did not produce what it waited for.
#[derive(Debug)]
pub struct DriveError {
    /// What was awaited (the caller's description).
    pub what: String,
    /// How long the wait lasted.
    pub waited: Duration,
    /// The link's state when the wait gave up.
    pub state: LinkState,
    /// Why the link closed, if it did.
    pub close_reason: Option<CloseReason>,
    /// The transport error that ended the wait, if any.
    pub io_error: Option<io::Error>,
    /// The events still in the inbox (not matched), rendered with `{:?}`.
    pub inbox: Vec<String>,
    /// The first bytes read from the peer, as hex.
    pub bytes_in: String,
    /// The first bytes written to the peer, as hex.
    pub bytes_out: String,
}

impl fmt::Display for DriveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.io_error, &self.close_reason) {
            (Some(e), _) => write!(f, "transport error while waiting for {}: {e}", self.what)?,
            (None, Some(reason)) => {
                write!(f, "link closed ({reason}) while waiting for {}", self.what)?
            }
            (None, None) => write!(
                f,
                "timed out after {:?} waiting for {} (link state {:?})",
                self.waited, self.what, self.state
            )?,
        }
        write!(
            f,
            "; unmatched events: {:?}; first bytes in: {}; first bytes out: {}",
            self.inbox, self.bytes_in, self.bytes_out
        )
    }
}

impl std::error::Error for DriveError {}

/// What every [`LinkDriver`] wait returns (the error is boxed: it carries transcripts).
pub type DriveResult<T> = Result<T, Box<DriveError>>;

/// The first [`TRANSCRIPT_CAP`] bytes of one direction.
#[derive(Debug, Default)]
struct Transcript(Vec<u8>);

impl Transcript {
    fn record(&mut self, bytes: &[u8]) {
        let room = TRANSCRIPT_CAP.saturating_sub(self.0.len());
        self.0.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn shown(&self) -> String {
        let shown = &self.0[..self.0.len().min(TRANSCRIPT_SHOWN)];
        let more = if self.0.len() > shown.len() { "..." } else { "" };
        format!("{}{more}", hex(shown))
    }
}

/// One [`Link`] driven over a blocking [`TcpStream`].
///
/// Writes block (with a 5 s write timeout): to drive two links from one thread, keep what is
/// in flight smaller than the loopback socket buffers, or give each link its own thread.
///
/// Every wait takes a timeout and returns a [`DriveError`] (whose `Display` says what was
/// awaited, the link state, the unmatched events and the first bytes of both directions)
/// instead of hanging. Events the link emits go to an inbox; the `wait_*` helpers remove the
/// first event that matches and leave the others for later waits.
#[derive(Debug)]
pub struct LinkDriver {
    stream: TcpStream,
    link: Link,
    clock: RealClock,
    read_buf: BytesMut,
    inbox: VecDeque<LinkEvent>,
    transport_open: bool,
    io_error: Option<io::Error>,
    bytes_in: Transcript,
    bytes_out: Transcript,
    chunks_in: usize,
}

impl LinkDriver {
    /// Wraps a connected stream: a new [`Link`] with `config` is created now and its greeting
    /// written at once. Sets `TCP_NODELAY` and a 5 s write timeout.
    pub fn new(stream: TcpStream, config: LinkConfig) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        let clock = RealClock::start();
        let link = Link::new(config, clock.now());
        let mut driver = LinkDriver {
            stream,
            link,
            clock,
            read_buf: BytesMut::new(),
            inbox: VecDeque::new(),
            transport_open: true,
            io_error: None,
            bytes_in: Transcript::default(),
            bytes_out: Transcript::default(),
            chunks_in: 0,
        };
        driver.flush();
        Ok(driver)
    }

    /// Dials `addr` (within `timeout`) and starts a link with `config` on the connection.
    pub fn dial(addr: SocketAddr, config: LinkConfig, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        Self::new(stream, config)
    }

    /// Accepts one connection on `listener` (within `timeout`) and starts a link with
    /// `config` on it. The listener is left in non-blocking mode.
    pub fn accept(
        listener: &TcpListener,
        config: LinkConfig,
        timeout: Duration,
    ) -> io::Result<Self> {
        let deadline = std::time::Instant::now() + timeout;
        listener.set_nonblocking(true)?;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false)?;
                    return Self::new(stream, config);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if std::time::Instant::now() >= deadline {
                        return Err(io::Error::new(
                            ErrorKind::TimedOut,
                            format!("no connection accepted within {timeout:?}"),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The link's current time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The link (state, peer, stats).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The link, to queue sends, subscriptions or a close. What gets queued is written on the
    /// next step (any `wait_*`, [`LinkDriver::step`] or [`LinkDriver::flush`]).
    pub fn link_mut(&mut self) -> &mut Link {
        &mut self.link
    }

    /// Events received and not yet matched by a wait.
    pub fn inbox(&self) -> &VecDeque<LinkEvent> {
        &self.inbox
    }

    /// Takes every event out of the inbox.
    pub fn take_inbox(&mut self) -> Vec<LinkEvent> {
        self.inbox.drain(..).collect()
    }

    /// How many non-empty reads the peer's bytes arrived in so far.
    pub fn chunks_in(&self) -> usize {
        self.chunks_in
    }

    /// The first bytes (up to 4 KiB) read from the peer, for byte-exact assertions.
    pub fn transcript_in(&self) -> &[u8] {
        &self.bytes_in.0
    }

    /// The first bytes (up to 4 KiB) written to the peer, for byte-exact assertions.
    pub fn transcript_out(&self) -> &[u8] {
        &self.bytes_out.0
    }

    /// Whether the TCP connection is still open on our side.
    pub fn transport_open(&self) -> bool {
        self.transport_open
    }

    /// Writes everything the link has to transmit and collects its events. After the link
    /// closed, the remaining bytes are written and the TCP connection is shut down.
    pub fn flush(&mut self) {
        while let Some(chunk) = self.link.poll_transmit() {
            self.write_chunk(&chunk);
        }
        let mut closed = false;
        while let Some(event) = self.link.poll_event() {
            closed |= matches!(event, LinkEvent::Closed(_));
            self.inbox.push_back(event);
        }
        if closed {
            while let Some(chunk) = self.link.poll_transmit() {
                self.write_chunk(&chunk);
            }
            self.shutdown_transport();
        }
    }

    fn write_chunk(&mut self, chunk: &Bytes) {
        if !self.transport_open {
            return;
        }
        self.bytes_out.record(chunk);
        if let Err(e) = self.stream.write_all(chunk) {
            self.transport_failed(e);
        }
    }

    fn transport_failed(&mut self, error: io::Error) {
        let now = self.now();
        if self.io_error.is_none() && !is_disconnect(&error) {
            self.io_error = Some(error);
        }
        self.shutdown_transport();
        self.link.handle_transport_closed(now);
    }

    fn shutdown_transport(&mut self) {
        if self.transport_open {
            self.transport_open = false;
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }

    /// One round: flush, read once (blocking at most `max_wait`, less if the link's timer is
    /// due sooner), fire the link's timer if due, flush again.
    pub fn step(&mut self, max_wait: Duration) {
        self.flush();
        let now = self.now();
        let until_timer =
            self.link.poll_timeout().map_or(max_wait, |due| due.saturating_duration_since(now));
        let wait = max_wait.min(until_timer).max(Duration::from_millis(1));
        if self.transport_open {
            self.read_once(wait);
        } else {
            std::thread::sleep(wait);
        }
        let now = self.now();
        if self.link.poll_timeout().is_some_and(|due| now >= due) {
            self.link.handle_timeout(now);
        }
        self.flush();
    }

    fn read_once(&mut self, wait: Duration) {
        if let Err(e) = self.stream.set_read_timeout(Some(wait)) {
            return self.transport_failed(e);
        }
        self.read_buf.resize(READ_CHUNK, 0);
        match self.stream.read(&mut self.read_buf) {
            Ok(0) => {
                self.read_buf.clear();
                let now = self.now();
                self.shutdown_transport();
                self.link.handle_transport_closed(now);
            }
            Ok(n) => {
                self.read_buf.truncate(n);
                self.bytes_in.record(&self.read_buf);
                self.chunks_in += 1;
                let data = self.read_buf.split();
                let now = self.now();
                self.link.handle_read(now, data);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                self.read_buf.clear();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => self.read_buf.clear(),
            Err(e) => {
                self.read_buf.clear();
                self.transport_failed(e);
            }
        }
    }

    /// Drives the link until `until` returns `Some`, or fails after `timeout`.
    ///
    /// `until` is called before the first step and after every step (at least every
    /// [`MAX_STEP`]); it may look at the driver (inbox, link) or at anything else, such as a
    /// foreign peer's reports, while the link keeps being driven. `what` names the awaited
    /// thing in the error.
    pub fn drive_until<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut until: impl FnMut(&mut LinkDriver) -> Option<T>,
    ) -> DriveResult<T> {
        let start = std::time::Instant::now();
        loop {
            // Whatever the caller queued or did to the link since the last step goes out, and
            // its events reach the inbox, before the predicate looks.
            self.flush();
            if let Some(found) = until(self) {
                return Ok(found);
            }
            if self.io_error.is_some() || start.elapsed() >= timeout {
                return Err(self.error(what, start.elapsed()));
            }
            self.step(MAX_STEP.min(timeout.saturating_sub(start.elapsed())));
        }
    }

    /// Drives the link for `duration` (keeps answering the peer, e.g. its PINGs). Fails only
    /// on a transport error.
    pub fn drive_for(&mut self, duration: Duration) -> DriveResult<()> {
        let start = std::time::Instant::now();
        while start.elapsed() < duration {
            if self.io_error.is_some() {
                return Err(self.error("the end of a fixed drive", start.elapsed()));
            }
            self.step(MAX_STEP.min(duration.saturating_sub(start.elapsed())));
        }
        Ok(())
    }

    /// Waits for the first inbox event accepted by `matches` and removes it from the inbox.
    /// Fails at once if the link closed before such an event arrived (unless the awaited event
    /// is the close itself), or after `timeout`.
    pub fn wait_event(
        &mut self,
        timeout: Duration,
        what: &str,
        mut matches: impl FnMut(&LinkEvent) -> bool,
    ) -> DriveResult<LinkEvent> {
        self.wait_map(timeout, what, |event| matches(event).then(|| event.clone()))
    }

    /// Like [`LinkDriver::wait_event`], for the first event `pick` maps to `Some`.
    pub fn wait_map<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pick: impl FnMut(&LinkEvent) -> Option<T>,
    ) -> DriveResult<T> {
        let start = std::time::Instant::now();
        let found = self.drive_until(timeout, what, |driver| {
            if let Some(found) = driver.take_map(&mut pick) {
                return Some(Ok(found));
            }
            driver.link.is_closed().then_some(Err(()))
        })?;
        found.map_err(|()| self.error(what, start.elapsed()))
    }

    /// Removes and returns (mapped by `pick`) the first inbox event `pick` accepts, without
    /// driving the link: for predicates that drive several links from one thread.
    pub fn take_map<T>(&mut self, mut pick: impl FnMut(&LinkEvent) -> Option<T>) -> Option<T> {
        let (index, found) =
            self.inbox.iter().enumerate().find_map(|(i, event)| Some((i, pick(event)?)))?;
        self.inbox.remove(index);
        Some(found)
    }

    /// Waits for the handshake to complete and returns the peer.
    pub fn wait_handshake(&mut self, timeout: Duration) -> DriveResult<PeerInfo> {
        self.wait_map(timeout, "the ZMTP handshake", |event| match event {
            LinkEvent::HandshakeComplete(peer) => Some((**peer).clone()),
            _ => None,
        })
    }

    /// Waits for the next data message.
    pub fn wait_message(&mut self, timeout: Duration) -> DriveResult<Message> {
        self.wait_map(timeout, "a data message", |event| match event {
            LinkEvent::Message(msg) => Some(msg.clone()),
            _ => None,
        })
    }

    /// Waits for the next subscription change from the peer, and how it was encoded.
    pub fn wait_subscription(
        &mut self,
        timeout: Duration,
    ) -> DriveResult<(Subscription, SubscriptionForm)> {
        self.wait_map(timeout, "a subscription", |event| match event {
            LinkEvent::Subscription { change, form } => Some((change.clone(), *form)),
            _ => None,
        })
    }

    /// Waits for the link to close and returns why.
    pub fn wait_closed(&mut self, timeout: Duration) -> DriveResult<CloseReason> {
        self.wait_map(timeout, "the link to close", |event| match event {
            LinkEvent::Closed(reason) => Some(reason.clone()),
            _ => None,
        })
    }

    fn error(&mut self, what: &str, waited: Duration) -> Box<DriveError> {
        Box::new(DriveError {
            what: what.to_owned(),
            waited,
            state: self.link.state(),
            close_reason: self.link.close_reason().cloned(),
            io_error: self.io_error.take(),
            inbox: self.inbox.iter().map(|e| format!("{e:?}")).collect(),
            bytes_in: self.bytes_in.shown(),
            bytes_out: self.bytes_out.shown(),
        })
    }
}

/// Errors that only mean the peer went away (not a test-side failure).
fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
    )
}
