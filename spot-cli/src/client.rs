//! Client commands (`spot pub`, `spot sub`, `spot topics`, `spot members`): one connection to a
//! node with `--connect ENDPOINT`, not a cluster member.
//!
//! The connection is spot-proto's sans-IO [`Link`] as a ZMTP DEALER driven by a blocking
//! [`TcpStream`]. Its READY announces `X-Spot` without the CLUSTER_NODE bit, so the node answers
//! the extension commands (DIRECTORY_QUERY, MEMBER_LIST_QUERY, PATTERN_SUBSCRIBE,
//! SUBSCRIBE_ACK) and treats it as a client.

use std::collections::VecDeque;
use std::io::{BufRead, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use clap::Args;
use spot_proto::link::{Link, LinkConfig, LinkEvent};
use spot_proto::wire::spot::{
    AckStatus, AckedRequest, Capabilities, Envelope, MemberListPage, NodeId, OwnedTopics, Pattern,
    SpotAnnouncement, SpotCommand, Topic, X_SPOT_PROPERTY,
};
use spot_proto::wire::zmtp::{Message, SocketType};
use spot_proto::{Endpoint, Instant, Limits};

use crate::{EXIT_CONNECT, EXIT_FAILED, EXIT_OK};

/// What the client announces: everything a client can use, and not CLUSTER_NODE.
const CLIENT_CAPABILITIES: Capabilities = Capabilities::HELLO
    .union(Capabilities::DIRECTORY)
    .union(Capabilities::PATTERNS)
    .union(Capabilities::SUBSCRIBE_ACK)
    .union(Capabilities::MEMBER_LIST);

/// How long a request (handshake, query, subscription) may take.
const ANSWER_LIMIT: Duration = Duration::from_secs(5);

/// Why a client command failed.
#[derive(Debug)]
pub enum ClientError {
    /// The node could not be reached, or the handshake failed (exit code 3).
    Connect(String),
    /// Anything else (exit code 1).
    Failed(String),
}

impl ClientError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Connect(_) => EXIT_CONNECT,
            ClientError::Failed(_) => EXIT_FAILED,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect(m) | ClientError::Failed(m) => f.write_str(m),
        }
    }
}

fn failed(message: impl Into<String>) -> ClientError {
    ClientError::Failed(message.into())
}

/// How often `spot pub` asks the node's directory again while waiting for its topic.
const TOPIC_POLL: Duration = Duration::from_millis(100);

/// A command-line number of seconds (fractions allowed, not negative).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))
}

/// `--connect` and `--json`, shared by the client commands.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// The node to talk to, e.g. `tcp://127.0.0.1:7400`.
    #[arg(long, value_name = "ENDPOINT", default_value = "tcp://127.0.0.1:7400")]
    pub connect: String,
    /// Machine-readable output: one JSON object a line (`sub`, `pub`) or one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// `spot pub` arguments.
#[derive(Args, Debug, Clone)]
pub struct PubArgs {
    /// The topic (owned by the node or known to it from the cluster directory).
    pub topic: String,
    /// The message; `-` or nothing reads stdin, one message a line.
    pub message: Option<String>,
    /// How long to wait for the node to learn the topic (right after a join its directory may
    /// not list it yet), in seconds; 0 checks once.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub wait_topic: Duration,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnectArgs,
}

/// `spot sub` arguments.
#[derive(Args, Debug, Clone)]
pub struct SubArgs {
    /// Topics, or patterns with `*` (any run of characters) and `?` (one character).
    #[arg(required = true, value_name = "TOPIC_OR_PATTERN")]
    pub topics: Vec<String>,
    /// Exit after this many messages (default: run until interrupted).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnectArgs,
}

/// `spot topics` / `spot members` arguments.
#[derive(Args, Debug, Clone)]
pub struct QueryArgs {
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnectArgs,
}

/// One client connection to a node.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    link: Link,
    origin: std::time::Instant,
    limits: Limits,
    node_id: Option<NodeId>,
    inbox: VecDeque<SpotCommand>,
    next_request: u32,
}

fn socket_address(endpoint: &str) -> Result<std::net::SocketAddr, ClientError> {
    let parsed: Endpoint =
        endpoint.parse().map_err(|e| failed(format!("invalid endpoint {endpoint:?}: {e}")))?;
    let text = parsed.to_string();
    let Some(address) = text.strip_prefix("tcp://") else {
        return Err(failed(format!("{endpoint}: only tcp:// endpoints can be dialed from here")));
    };
    address
        .to_socket_addrs()
        .map_err(|e| ClientError::Connect(format!("cannot resolve {endpoint}: {e}")))?
        .next()
        .ok_or_else(|| ClientError::Connect(format!("cannot resolve {endpoint}")))
}

impl Client {
    /// Connects to the node at `endpoint` and completes the ZMTP handshake.
    pub fn connect(endpoint: &str) -> Result<Client, ClientError> {
        let address = socket_address(endpoint)?;
        let stream = TcpStream::connect_timeout(&address, ANSWER_LIMIT)
            .map_err(|e| ClientError::Connect(format!("cannot connect to {endpoint}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let limits = Limits::default();
        let id_text = format!("spot-cli-{}", std::process::id());
        let id = NodeId::new(Bytes::from(id_text), &limits)
            .map_err(|e| failed(format!("client id: {e}")))?;
        let announcement = SpotAnnouncement::new(id, CLIENT_CAPABILITIES);
        let config = LinkConfig::dialer(SocketType::Dealer)
            .with_limits(limits.clone())
            .with_handshake_timeout(ANSWER_LIMIT)
            .with_property(X_SPOT_PROPERTY, announcement.encode())
            .map_err(|e| failed(format!("X-Spot property: {e}")))?;
        let mut client = Client {
            stream,
            link: Link::new(config, Instant::ZERO),
            origin: std::time::Instant::now(),
            limits,
            node_id: None,
            inbox: VecDeque::new(),
            next_request: 1,
        };
        let deadline = client.now_instant() + ANSWER_LIMIT;
        while !client.link.is_ready() {
            if client.link.is_closed() || client.now_instant() >= deadline {
                let reason = client
                    .link
                    .close_reason()
                    .map_or_else(|| "timed out".to_owned(), ToString::to_string);
                return Err(ClientError::Connect(format!(
                    "handshake with {endpoint} failed: {reason}"
                )));
            }
            client.step(deadline).map_err(|e| ClientError::Connect(e.to_string()))?;
        }
        Ok(client)
    }

    /// The node id the node announced in its `X-Spot` READY property.
    pub fn node_id(&self) -> Option<&NodeId> {
        self.node_id.as_ref()
    }

    fn now(&self) -> Instant {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Instant::from_nanos(nanos)
    }

    fn now_instant(&self) -> std::time::Instant {
        std::time::Instant::now()
    }

    /// Writes everything the link has to send.
    fn flush(&mut self) -> Result<(), ClientError> {
        while let Some(chunk) = self.link.poll_transmit() {
            self.stream.write_all(&chunk).map_err(|e| failed(format!("write: {e}")))?;
        }
        Ok(())
    }

    /// Takes the link's events: decoded commands go to the inbox.
    fn drain_events(&mut self) {
        while let Some(event) = self.link.poll_event() {
            match event {
                LinkEvent::HandshakeComplete(info) => {
                    self.node_id = info
                        .x_spot()
                        .and_then(|v| SpotAnnouncement::decode(v, &self.limits).ok())
                        .map(|a| a.node_id);
                }
                LinkEvent::Message(message) => {
                    if let Ok(command) = SpotCommand::decode(message.frames(), &self.limits) {
                        self.inbox.push_back(command);
                    }
                }
                LinkEvent::Subscription { .. } | LinkEvent::Pong { .. } => {}
                LinkEvent::Closed(_) => {}
            }
        }
    }

    /// One round: flush, then wait for bytes (until `deadline` or the link's own timer), feed
    /// them to the link, and collect what it decoded.
    fn step(&mut self, deadline: std::time::Instant) -> Result<(), ClientError> {
        self.flush()?;
        self.drain_events();
        if !self.inbox.is_empty() || self.link.is_closed() {
            return Ok(());
        }
        let now = self.now();
        let mut wait = deadline.saturating_duration_since(self.now_instant());
        if let Some(timer) = self.link.poll_timeout() {
            wait = wait.min(timer.saturating_duration_since(now));
        }
        let wait = wait.max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(wait)).map_err(|e| failed(format!("socket: {e}")))?;
        let mut buffer = BytesMut::zeroed(64 * 1024);
        match self.stream.read(&mut buffer) {
            Ok(0) => self.link.handle_transport_closed(self.now()),
            Ok(n) => {
                buffer.truncate(n);
                self.link.handle_read(self.now(), buffer);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => self.link.handle_transport_closed(self.now()),
        }
        let now = self.now();
        if self.link.poll_timeout().is_some_and(|t| t <= now) {
            self.link.handle_timeout(now);
        }
        self.flush()?;
        self.drain_events();
        Ok(())
    }

    /// Queues one command (DEALER side: no delimiter) and writes it.
    pub fn send(&mut self, command: &SpotCommand) -> Result<(), ClientError> {
        let message = Message::from_frames(command.encode(Envelope::Bare));
        match self.link.send(message) {
            Ok(_) => self.flush(),
            Err(e) => Err(failed(format!("send: {e}"))),
        }
    }

    /// The next command from the node, waiting until `deadline` (`None`: the deadline passed).
    pub fn recv(
        &mut self,
        deadline: Option<std::time::Instant>,
    ) -> Result<Option<SpotCommand>, ClientError> {
        loop {
            if let Some(command) = self.inbox.pop_front() {
                return Ok(Some(command));
            }
            if self.link.is_closed() {
                let reason =
                    self.link.close_reason().map_or_else(|| "closed".into(), ToString::to_string);
                return Err(failed(format!("the node closed the connection: {reason}")));
            }
            let limit = deadline.unwrap_or_else(|| self.now_instant() + Duration::from_secs(3600));
            if self.now_instant() >= limit {
                return Ok(None);
            }
            self.step(limit)?;
        }
    }

    fn request_id(&mut self) -> u32 {
        let id = self.next_request;
        self.next_request = self.next_request.wrapping_add(1).max(1);
        id
    }

    /// The node's whole topic directory (DIRECTORY_QUERY, pages merged until LAST).
    pub fn directory(&mut self) -> Result<Vec<OwnedTopics>, ClientError> {
        let request_id = self.request_id();
        self.send(&SpotCommand::DirectoryQuery { request_id })?;
        let deadline = self.now_instant() + ANSWER_LIMIT;
        let mut owners = Vec::new();
        loop {
            match self.recv(Some(deadline))? {
                None => return Err(failed("no DIRECTORY_RESP from the node in time")),
                Some(SpotCommand::DirectoryResp(page)) if page.request_id == request_id => {
                    owners.extend(page.owners);
                    if page.last {
                        return Ok(owners);
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// The node's membership table (MEMBER_LIST_QUERY, pages merged until LAST).
    pub fn members(&mut self) -> Result<Vec<spot_proto::wire::spot::MemberInfo>, ClientError> {
        let request_id = self.request_id();
        self.send(&SpotCommand::MemberListQuery { request_id })?;
        let deadline = self.now_instant() + ANSWER_LIMIT;
        let mut members = Vec::new();
        loop {
            match self.recv(Some(deadline))? {
                None => return Err(failed("no MEMBER_LIST_RESP from the node in time")),
                Some(SpotCommand::MemberListResp(MemberListPage {
                    request_id: id,
                    last,
                    members: page,
                })) if id == request_id => {
                    members.extend(page);
                    if last {
                        return Ok(members);
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// Subscribes to a topic or (with `*` or `?`) a pattern and waits for SUBSCRIBE_ACK.
    pub fn subscribe(&mut self, name: &str) -> Result<(), ClientError> {
        let is_pattern = name.contains(['*', '?']);
        let command = if is_pattern {
            let pattern = Pattern::copy_from_str(name, &self.limits)
                .map_err(|e| failed(format!("invalid pattern {name:?}: {e}")))?;
            SpotCommand::PatternSubscribe { pattern }
        } else {
            SpotCommand::Subscribe { topic: self.topic(name)? }
        };
        self.send(&command)?;
        let deadline = self.now_instant() + ANSWER_LIMIT;
        // Deliveries that race the ack (for an earlier subscription) are kept, in order.
        let mut held = Vec::new();
        let result = loop {
            match self.recv(Some(deadline)) {
                Err(e) => break Err(e),
                Ok(None) => break Err(failed(format!("no SUBSCRIBE_ACK for {name:?} in time"))),
                Ok(Some(SpotCommand::SubscribeAck(ack))) if ack.request.subject() == name => {
                    let matches_kind = matches!(
                        (&ack.request, is_pattern),
                        (AckedRequest::Subscribe(_), false)
                            | (AckedRequest::PatternSubscribe(_), true)
                    );
                    if !matches_kind {
                        continue;
                    }
                    break match ack.status {
                        AckStatus::Ok => Ok(()),
                        AckStatus::NotFound => Err(failed(format!("no such topic: {name}"))),
                        AckStatus::Invalid => Err(failed(format!("invalid: {name}"))),
                        other => Err(failed(format!("subscription to {name} refused ({other:?})"))),
                    };
                }
                Ok(Some(other)) => held.push(other),
            }
        };
        for command in held.into_iter().rev() {
            self.inbox.push_front(command);
        }
        result
    }

    fn topic(&self, name: &str) -> Result<Topic, ClientError> {
        Topic::copy_from_str(name, &self.limits)
            .map_err(|e| failed(format!("invalid topic {name:?}: {e}")))
    }

    /// Publishes one message (PUBLISH to the node, which routes it to the topic's owner).
    pub fn publish(&mut self, topic: &str, data: Bytes) -> Result<(), ClientError> {
        let topic = self.topic(topic)?;
        self.send(&SpotCommand::Publish { topic, data })
    }

    /// Closes the connection after writing what is queued.
    pub fn close(mut self) {
        self.link.close();
        let _ = self.flush();
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        // Read until the node closes too (bounded), so nothing sent is cut by a reset.
        let _ = self.stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut sink = [0u8; 4096];
        while matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {}
    }
}

fn write_line(line: &str) -> Result<(), ClientError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|e| failed(format!("stdout: {e}")))
}

/// The topic directory as `(topic, LOCAL/REMOTE, owner id, owner endpoint)`, sorted by topic.
fn directory_rows(
    node: Option<&NodeId>,
    owners: &[OwnedTopics],
) -> Vec<(String, &'static str, String, String)> {
    let mut rows: Vec<(String, &'static str, String, String)> = owners
        .iter()
        .flat_map(|owned| {
            let location = if Some(&owned.owner.id) == node { "LOCAL" } else { "REMOTE" };
            owned.topics.iter().map(move |topic| {
                (
                    topic.as_str().to_owned(),
                    location,
                    owned.owner.id.to_string(),
                    owned.owner.endpoint.to_string(),
                )
            })
        })
        .collect();
    rows.sort();
    rows
}

/// `spot topics`.
pub fn topics(args: &QueryArgs) -> Result<(), ClientError> {
    let mut client = Client::connect(&args.conn.connect)?;
    let owners = client.directory()?;
    let rows = directory_rows(client.node_id(), &owners);
    client.close();
    if args.conn.json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|(topic, location, owner, endpoint)| {
                serde_json::json!({
                    "topic": topic, "location": location, "owner": owner, "endpoint": endpoint,
                })
            })
            .collect();
        return write_line(&serde_json::Value::Array(list).to_string());
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(5).max(5);
    write_line(&format!("{:<width$}  {:<8}  OWNER", "TOPIC", "LOCATION"))?;
    for (topic, location, owner, endpoint) in &rows {
        let owner_text =
            if owner == endpoint { owner.clone() } else { format!("{owner} ({endpoint})") };
        write_line(&format!("{topic:<width$}  {location:<8}  {owner_text}"))?;
    }
    Ok(())
}

/// `spot members`.
pub fn members(args: &QueryArgs) -> Result<(), ClientError> {
    let mut client = Client::connect(&args.conn.connect)?;
    let mut members = client.members()?;
    client.close();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    let tags_of = |m: &spot_proto::wire::spot::MemberInfo| -> Vec<(String, String)> {
        m.tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
    };
    if args.conn.json {
        let list: Vec<serde_json::Value> = members
            .iter()
            .map(|m| {
                let tags: serde_json::Map<String, serde_json::Value> = tags_of(m)
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                serde_json::json!({
                    "id": m.id.to_string(),
                    "endpoint": m.endpoint.to_string(),
                    "state": m.state.name(),
                    "incarnation": m.incarnation,
                    "tags": tags,
                })
            })
            .collect();
        return write_line(&serde_json::Value::Array(list).to_string());
    }
    write_line(&format!(
        "{:<24}  {:<24}  {:<7}  {:>11}  TAGS",
        "ID", "ENDPOINT", "STATE", "INCARNATION"
    ))?;
    for m in &members {
        let tags: Vec<String> = tags_of(m).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        write_line(&format!(
            "{:<24}  {:<24}  {:<7}  {:>11}  {}",
            m.id.to_string(),
            m.endpoint.to_string(),
            m.state.name(),
            m.incarnation,
            tags.join(",")
        ))?;
    }
    Ok(())
}

/// `spot pub`: checks that the node knows the topic, publishes, then waits for one more
/// round trip so the node has taken every message before the connection closes.
pub fn publish(args: &PubArgs) -> Result<(), ClientError> {
    let mut client = Client::connect(&args.conn.connect)?;
    let wait = args.wait_topic;
    let give_up = std::time::Instant::now() + wait;
    loop {
        let known = client.directory()?;
        if known.iter().any(|o| o.topics.iter().any(|t| t.as_str() == args.topic)) {
            break;
        }
        if std::time::Instant::now() >= give_up {
            let waited = if wait.is_zero() { String::new() } else { format!(" after {wait:?}") };
            return Err(failed(format!(
                "no such topic: {} (not in the node's directory{waited})",
                args.topic
            )));
        }
        std::thread::sleep(
            TOPIC_POLL.min(give_up.saturating_duration_since(std::time::Instant::now())),
        );
    }
    let mut sent: u64 = 0;
    match args.message.as_deref() {
        Some(message) if message != "-" => {
            client.publish(&args.topic, Bytes::copy_from_slice(message.as_bytes()))?;
            sent += 1;
        }
        _ => {
            // Lines are bytes: a payload need not be UTF-8.
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut line = Vec::new();
                let read = stdin
                    .read_until(b'\n', &mut line)
                    .map_err(|e| failed(format!("stdin: {e}")))?;
                if read == 0 {
                    break;
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                client.publish(&args.topic, Bytes::from(line))?;
                sent += 1;
            }
        }
    }
    // Answers come in order on one connection: once this one is back, the node has taken
    // every PUBLISH before it.
    client.directory()?;
    client.close();
    if args.conn.json {
        write_line(&serde_json::json!({ "topic": args.topic, "published": sent }).to_string())?;
    }
    Ok(())
}

/// `spot sub`: prints `topic<TAB>payload` (lossy UTF-8) or JSON lines with base64 payloads.
pub fn subscribe(args: &SubArgs) -> Result<(), ClientError> {
    let mut client = Client::connect(&args.conn.connect)?;
    for name in &args.topics {
        client.subscribe(name)?;
    }
    {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "subscribed to {}", args.topics.join(" "));
        let _ = stderr.flush();
    }
    let mut received: u64 = 0;
    while args.count.is_none_or(|count| received < count) {
        let Some(command) = client.recv(None)? else { continue };
        let SpotCommand::Publish { topic, data } = command else { continue };
        received += 1;
        let line = if args.conn.json {
            serde_json::json!({
                "topic": topic.as_str(),
                "payload": base64::engine::general_purpose::STANDARD.encode(&data),
            })
            .to_string()
        } else {
            format!("{}\t{}", topic.as_str(), String::from_utf8_lossy(&data))
        };
        write_line(&line)?;
    }
    client.close();
    Ok(())
}

/// Runs a client command and maps its result to an exit code (the error on stderr).
pub fn exit_code(result: Result<(), ClientError>) -> u8 {
    match result {
        Ok(()) => EXIT_OK,
        Err(error) => {
            crate::print_error(&error.to_string());
            error.exit_code()
        }
    }
}
