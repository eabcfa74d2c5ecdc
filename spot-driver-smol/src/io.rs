//! The socket tasks around the driver task: readers, writers, dialers, listeners, UDP.
//!
//! None of them decides anything: they move bytes between sockets and the driver task's
//! channel, and report what the operating system said (connected, refused, end of stream).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use smol::Async;
use smol::channel::{self, Receiver, Sender};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};
use spot_proto::Endpoint;
use spot_proto::host::defaults::{LINGER, MAX_DATAGRAM, READ_CHUNK};
use spot_proto::host::{Target, endpoint_of, pick_udp_socket};
use spot_proto::node::ConnectionId;

use crate::stream::within;

/// Chunks one vectored write hands the socket at most.
const MAX_IOVECS: usize = 256;

/// What the socket tasks tell the driver task.
#[derive(Debug)]
pub(crate) enum IoEvent {
    /// A peer connected to one of our listeners (TCP or inproc).
    Accepted(Transport),
    /// A dial asked for by `NodeOutput::Connect` succeeded.
    Connected(ConnectionId, Transport),
    /// A dial failed (refused, unreachable, timed out, no such inproc name).
    ConnectFailed(ConnectionId),
    /// Bytes arrived.
    Read(ConnectionId, BytesMut),
    /// The writer put this many bytes on the wire (the node may hand out more).
    Sent(ConnectionId, usize),
    /// End of stream, or a read or write failed.
    Closed(ConnectionId),
    /// A datagram from a member (its endpoint: `tcp://ip:port` or `inproc://name`).
    Datagram(Endpoint, Bytes),
}

/// One byte stream.
#[derive(Debug)]
pub(crate) enum Transport {
    /// A TCP connection.
    Tcp(TcpStream),
    /// One end of an in-memory pipe pair: chunks out, chunks in (a closed channel is the end of
    /// the stream).
    Inproc(Sender<Bytes>, Receiver<Bytes>),
}

impl Transport {
    /// Two connected in-memory ends.
    pub(crate) fn inproc_pair() -> (Transport, Transport) {
        let (a_out, b_in) = channel::unbounded();
        let (b_out, a_in) = channel::unbounded();
        (Transport::Inproc(a_out, a_in), Transport::Inproc(b_out, b_in))
    }
}

/// The driver's side of one connection's tasks.
#[derive(Debug)]
pub(crate) struct ConnectionIo {
    /// Chunks for the writer task; dropping it lets the writer finish and close.
    writes: Sender<Bytes>,
    /// Bytes handed to the writer and not written yet.
    pending: Arc<AtomicUsize>,
    /// The reader task (cancelled when dropped).
    reader: smol::Task<()>,
    /// The writer task (cancelled when dropped, unless detached to linger).
    writer: smol::Task<()>,
}

impl ConnectionIo {
    /// Starts the reader and the writer of a connection.
    pub(crate) fn start(
        conn: ConnectionId,
        transport: Transport,
        events: &Sender<IoEvent>,
    ) -> ConnectionIo {
        let (writes, queue) = channel::unbounded();
        let pending = Arc::new(AtomicUsize::new(0));
        let (reader, writer) = match transport {
            Transport::Tcp(stream) => {
                let _ = stream.set_nodelay(true);
                let reader = smol::spawn(read_tcp(conn, stream.clone(), events.clone()));
                let writer = smol::spawn(write_tcp(
                    conn,
                    stream,
                    queue,
                    Arc::clone(&pending),
                    events.clone(),
                ));
                (reader, writer)
            }
            Transport::Inproc(out, input) => {
                let reader = smol::spawn(read_inproc(conn, input, events.clone()));
                let writer = smol::spawn(write_inproc(
                    conn,
                    queue,
                    out,
                    Arc::clone(&pending),
                    events.clone(),
                ));
                (reader, writer)
            }
        };
        ConnectionIo { writes, pending, reader, writer }
    }

    /// Queues `data`; returns the bytes now pending.
    pub(crate) fn write(&self, data: Bytes) -> usize {
        let len = data.len();
        if len == 0 {
            return self.pending.load(Ordering::Relaxed);
        }
        let pending = self.pending.fetch_add(len, Ordering::Relaxed) + len;
        // A failed send means the writer is gone; it reported the close itself.
        let _ = self.writes.try_send(data);
        pending
    }

    /// Stops reading; the writer writes what is queued (within [`LINGER`]), then closes.
    pub(crate) fn close(self) {
        let ConnectionIo { writes, reader, writer, .. } = self;
        drop(reader);
        drop(writes);
        smol::spawn(async move {
            let _ = within(LINGER, writer).await;
        })
        .detach();
    }

    /// Cuts the connection at once, dropping what is queued.
    pub(crate) fn abort(self) {
        drop(self);
    }
}

/// Reads into a reused buffer and hands owned chunks to the driver task.
async fn read_tcp(conn: ConnectionId, mut stream: TcpStream, events: Sender<IoEvent>) {
    let mut buffer = BytesMut::new();
    loop {
        if buffer.len() < READ_CHUNK / 8 {
            buffer.clear();
            buffer.resize(READ_CHUNK, 0);
        }
        match stream.read(&mut buffer[..]).await {
            Ok(0) | Err(_) => {
                let _ = events.send(IoEvent::Closed(conn)).await;
                return;
            }
            Ok(read) => {
                if events.send(IoEvent::Read(conn, buffer.split_to(read))).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Hands an inproc pipe's chunks to the driver task.
async fn read_inproc(conn: ConnectionId, input: Receiver<Bytes>, events: Sender<IoEvent>) {
    while let Ok(chunk) = input.recv().await {
        if events.send(IoEvent::Read(conn, BytesMut::from(&chunk[..]))).await.is_err() {
            return;
        }
    }
    let _ = events.send(IoEvent::Closed(conn)).await;
}

/// Moves chunks to the other end of an inproc pipe; the pipe ends when the queue does.
async fn write_inproc(
    conn: ConnectionId,
    queue: Receiver<Bytes>,
    out: Sender<Bytes>,
    pending: Arc<AtomicUsize>,
    events: Sender<IoEvent>,
) {
    while let Ok(chunk) = queue.recv().await {
        let len = chunk.len();
        if out.send(chunk).await.is_err() {
            return;
        }
        pending.fetch_sub(len, Ordering::Relaxed);
        if events.send(IoEvent::Sent(conn, len)).await.is_err() {
            return;
        }
    }
}

/// Drains the connection's queue with vectored writes; closes the stream when the queue's
/// sender is dropped and everything is written.
async fn write_tcp(
    conn: ConnectionId,
    mut stream: TcpStream,
    queue: Receiver<Bytes>,
    pending: Arc<AtomicUsize>,
    events: Sender<IoEvent>,
) {
    let mut chunks: VecDeque<Bytes> = VecDeque::new();
    loop {
        if chunks.is_empty() {
            match queue.recv().await {
                Ok(chunk) => chunks.push_back(chunk),
                Err(_) => break,
            }
        }
        while chunks.len() < MAX_IOVECS {
            match queue.try_recv() {
                Ok(chunk) => chunks.push_back(chunk),
                Err(_) => break,
            }
        }
        match write_some(&mut stream, &mut chunks).await {
            Ok(written) => {
                pending.fetch_sub(written, Ordering::Relaxed);
                if events.send(IoEvent::Sent(conn, written)).await.is_err() {
                    return;
                }
            }
            Err(_) => {
                let _ = events.send(IoEvent::Closed(conn)).await;
                return;
            }
        }
    }
    let _ = stream.close().await;
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// One vectored write of the queued chunks; drops what went out.
async fn write_some(
    stream: &mut TcpStream,
    chunks: &mut VecDeque<Bytes>,
) -> std::io::Result<usize> {
    let written = {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let mut count = 0;
        for (slot, chunk) in slices.iter_mut().zip(chunks.iter()) {
            *slot = IoSlice::new(chunk);
            count += 1;
        }
        stream.write_vectored(&slices[..count]).await?
    };
    if written == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    let mut left = written;
    while left > 0 {
        let Some(front) = chunks.front_mut() else { break };
        if front.len() <= left {
            left -= front.len();
            chunks.pop_front();
        } else {
            front.advance(left);
            left = 0;
        }
    }
    Ok(written)
}

/// The socket addresses of a TCP endpoint (names resolve on smol's blocking pool).
pub(crate) async fn addresses(to: &Endpoint) -> std::io::Result<Vec<SocketAddr>> {
    match Target::dial(to) {
        Target::Addr(address) => Ok(vec![address]),
        Target::Resolve { name, port } => {
            let name = name.to_owned();
            smol::unblock(move || Ok((name.as_str(), port).to_socket_addrs()?.collect())).await
        }
        Target::Inproc(_) | Target::Unroutable => Err(std::io::ErrorKind::InvalidInput.into()),
    }
}

/// Dials a TCP endpoint within `timeout` and reports the outcome.
pub(crate) async fn dial_tcp(
    conn: ConnectionId,
    to: Endpoint,
    timeout: Duration,
    events: Sender<IoEvent>,
) {
    let connect = async {
        let addresses = addresses(&to).await?;
        TcpStream::connect(&addresses[..]).await
    };
    let event = match within(timeout, connect).await {
        Some(Ok(stream)) => IoEvent::Connected(conn, Transport::Tcp(stream)),
        Some(Err(error)) => {
            tracing::debug!(%to, %error, "connect failed");
            IoEvent::ConnectFailed(conn)
        }
        None => {
            tracing::debug!(%to, "connect timed out");
            IoEvent::ConnectFailed(conn)
        }
    };
    let _ = events.send(event).await;
}

/// Accepts TCP connections until the driver goes away.
pub(crate) async fn accept_loop(listener: TcpListener, events: Sender<IoEvent>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if events.send(IoEvent::Accepted(Transport::Tcp(stream))).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                // Out of descriptors and the like: back off a little instead of spinning.
                tracing::warn!(%error, "accept failed");
                smol::Timer::after(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Receives datagrams until the driver goes away.
pub(crate) async fn udp_loop(socket: Arc<Async<UdpSocket>>, events: Sender<IoEvent>) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv_from(&mut buffer).await {
            Ok((len, from)) => {
                let datagram = Bytes::copy_from_slice(&buffer[..len]);
                if events.send(IoEvent::Datagram(endpoint_of(from), datagram)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::debug!(%error, "UDP receive failed");
                smol::future::yield_now().await;
            }
        }
    }
}

/// The UDP socket to send to `to` from: one of the same address family, preferring the one on
/// `port` (the advertised port, which receivers take for our SWIM endpoint).
pub(crate) fn udp_socket_for(
    sockets: &[Arc<Async<UdpSocket>>],
    to: IpAddr,
    port: Option<u16>,
) -> Option<&Arc<Async<UdpSocket>>> {
    pick_udp_socket(sockets.iter().map(|s| (s, s.get_ref().local_addr().ok())), to, port)
}
