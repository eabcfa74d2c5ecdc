//! The socket tasks around the driver task: readers, writers, dialers, listeners, UDP.
//!
//! None of them decides anything: they move bytes between sockets and the driver task's
//! channel, and report what the operating system said (connected, refused, end of stream).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use spot_proto::Endpoint;
use spot_proto::host::defaults::{LINGER, MAX_DATAGRAM, READ_CHUNK};
use spot_proto::host::{Target, endpoint_of, pick_udp_socket};
use spot_proto::node::ConnectionId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

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
    /// One end of an in-memory pipe.
    Inproc(DuplexStream),
}

/// The driver's side of one connection's tasks.
#[derive(Debug)]
pub(crate) struct ConnectionIo {
    /// Chunks for the writer task; dropping it lets the writer finish and close.
    pub(crate) writes: mpsc::UnboundedSender<Bytes>,
    /// Bytes handed to the writer and not written yet.
    pub(crate) pending: Arc<AtomicUsize>,
    /// The reader task.
    pub(crate) reader: AbortHandle,
    /// The writer task.
    pub(crate) writer: AbortHandle,
}

impl ConnectionIo {
    /// Starts the reader (in `tasks`) and the writer (detached, so it can finish writing after
    /// the driver stops) of a connection.
    pub(crate) fn start(
        conn: ConnectionId,
        transport: Transport,
        events: &mpsc::Sender<IoEvent>,
        tasks: &mut JoinSet<()>,
    ) -> ConnectionIo {
        match transport {
            Transport::Tcp(stream) => {
                let _ = stream.set_nodelay(true);
                let (read, write) = stream.into_split();
                ConnectionIo::start_halves(conn, read, write, events, tasks)
            }
            Transport::Inproc(pipe) => {
                let (read, write) = tokio::io::split(pipe);
                ConnectionIo::start_halves(conn, read, write, events, tasks)
            }
        }
    }

    fn start_halves<R, W>(
        conn: ConnectionId,
        read: R,
        write: W,
        events: &mpsc::Sender<IoEvent>,
        tasks: &mut JoinSet<()>,
    ) -> ConnectionIo
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let reader = tasks.spawn(read_loop(conn, read, events.clone()));
        let (writes, queue) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let writer =
            tokio::spawn(write_loop(conn, write, queue, Arc::clone(&pending), events.clone()))
                .abort_handle();
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
        let _ = self.writes.send(data);
        pending
    }

    /// Stops reading; the writer writes what is queued (within [`LINGER`]), then closes.
    pub(crate) fn close(self) {
        self.reader.abort();
        let writer = self.writer;
        drop(self.writes);
        tokio::spawn(async move {
            tokio::time::sleep(LINGER).await;
            writer.abort();
        });
    }

    /// Cuts the connection at once, dropping what is queued.
    pub(crate) fn abort(self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// Reads into a reused buffer and hands owned chunks to the driver task.
async fn read_loop<R: AsyncRead + Unpin>(
    conn: ConnectionId,
    mut read: R,
    events: mpsc::Sender<IoEvent>,
) {
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    loop {
        if buffer.capacity() < READ_CHUNK / 8 {
            buffer.reserve(READ_CHUNK);
        }
        match read.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => {
                let _ = events.send(IoEvent::Closed(conn)).await;
                return;
            }
            Ok(_) => {
                if events.send(IoEvent::Read(conn, buffer.split())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Drains the connection's queue with vectored writes; closes the stream when the queue's
/// sender is dropped and everything is written.
async fn write_loop<W: AsyncWrite + Unpin>(
    conn: ConnectionId,
    mut write: W,
    mut queue: mpsc::UnboundedReceiver<Bytes>,
    pending: Arc<AtomicUsize>,
    events: mpsc::Sender<IoEvent>,
) {
    let mut chunks: VecDeque<Bytes> = VecDeque::new();
    loop {
        if chunks.is_empty() {
            match queue.recv().await {
                Some(chunk) => chunks.push_back(chunk),
                None => break,
            }
        }
        while chunks.len() < MAX_IOVECS {
            match queue.try_recv() {
                Ok(chunk) => chunks.push_back(chunk),
                Err(_) => break,
            }
        }
        match write_some(&mut write, &mut chunks).await {
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
    let _ = write.shutdown().await;
}

/// One vectored write of the queued chunks; drops what went out.
async fn write_some<W: AsyncWrite + Unpin>(
    write: &mut W,
    chunks: &mut VecDeque<Bytes>,
) -> std::io::Result<usize> {
    let written = {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let mut count = 0;
        for (slot, chunk) in slices.iter_mut().zip(chunks.iter()) {
            *slot = IoSlice::new(chunk);
            count += 1;
        }
        write.write_vectored(&slices[..count]).await?
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

/// Dials a TCP endpoint within `timeout` and reports the outcome.
pub(crate) async fn dial_tcp(
    conn: ConnectionId,
    to: Endpoint,
    timeout: Duration,
    events: mpsc::Sender<IoEvent>,
) {
    let connect = async {
        match Target::dial(&to) {
            Target::Addr(address) => TcpStream::connect(address).await,
            Target::Resolve { name, port } => TcpStream::connect((name, port)).await,
            Target::Inproc(_) | Target::Unroutable => Err(std::io::ErrorKind::InvalidInput.into()),
        }
    };
    let event = match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(stream)) => IoEvent::Connected(conn, Transport::Tcp(stream)),
        Ok(Err(error)) => {
            tracing::debug!(%to, %error, "connect failed");
            IoEvent::ConnectFailed(conn)
        }
        Err(_) => {
            tracing::debug!(%to, "connect timed out");
            IoEvent::ConnectFailed(conn)
        }
    };
    let _ = events.send(event).await;
}

/// Accepts TCP connections until the driver goes away.
pub(crate) async fn accept_loop(listener: TcpListener, events: mpsc::Sender<IoEvent>) {
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
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Receives datagrams until the driver goes away.
pub(crate) async fn udp_loop(socket: Arc<UdpSocket>, events: mpsc::Sender<IoEvent>) {
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
                tokio::task::yield_now().await;
            }
        }
    }
}

/// The UDP socket to send to `to` from: one of the same address family, preferring the one on
/// `port` (the advertised port, which receivers take for our SWIM endpoint).
pub(crate) fn udp_socket_for(
    sockets: &[Arc<UdpSocket>],
    to: IpAddr,
    port: Option<u16>,
) -> Option<&Arc<UdpSocket>> {
    pick_udp_socket(sockets.iter().map(|s| (s, s.local_addr().ok())), to, port)
}
