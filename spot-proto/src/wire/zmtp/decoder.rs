//! The incremental stream decoder: owned read buffers in, whole messages and commands out.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use super::command::Command;
use super::frame::{FLAG_LONG, FrameHeader, LONG_HEADER_LEN, SHORT_HEADER_LEN, checked_size};
use super::greeting::{GreetingParser, GreetingStatus};
use super::message::Message;
use crate::error::DecodeError;
use crate::limits::Limits;

/// One unit decoded from the stream after the greeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A complete multipart data message (frames are zero-copy slices of the read buffers).
    Message(Message),
    /// A command frame that decoded.
    Command(Command),
    /// A command frame whose body did not decode (for example a PING without its TTL or a READY
    /// with a broken property list). Framing is intact, so the stream goes on; the caller
    /// decides whether this is fatal (during the handshake) or dropped and counted.
    InvalidCommand(DecodeError),
}

/// Counters of what the decoder saw and tolerated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Frames decoded (data and command).
    pub frames: u64,
    /// Frames whose flags had reserved bits set (tolerated, like libzmq).
    pub reserved_flags: u64,
    /// Command frames with the MORE flag (tolerated, like libzmq; MORE is ignored).
    pub command_with_more: u64,
}

/// Decodes the frame stream that follows the greeting.
///
/// * **Input:** [`StreamDecoder::feed`] takes the owned `BytesMut` buffers a driver read, in
///   order, split anywhere.
/// * **Output:** [`StreamDecoder::decode`] returns the next complete [`Item`], or `Ok(None)`
///   when more bytes are needed. Call it until `Ok(None)` after every `feed`.
/// * **Zero copy:** every frame body is `split_to(..).freeze()` of a read buffer, so the cost
///   per message does not depend on the payload size. Only a frame that straddles two read
///   buffers is copied (its missing part appended to its first part) — unless the buffers are
///   contiguous in memory (a driver that reads into one `BytesMut` and hands out `split()`
///   pieces), which are joined in O(1) without any copy.
/// * **Limits:** `max_frame_size`, `max_message_size`, `max_frames_per_message` and
///   `max_command_size` of [`Limits`] are enforced as soon as a frame header is readable, before
///   any of its body is buffered.
/// * **Errors** returned by `decode` mean the framing is broken (too large, too many frames):
///   the decoder stays failed and returns the same error from then on. Close the connection.
/// * **Tolerance** (as libzmq): reserved flag bits are ignored; a non-minimal LONG size is
///   accepted; a COMMAND frame with MORE is one whole command (MORE ignored); a command between
///   the frames of a multipart message is delivered at once and does not disturb the message.
///
/// The greeting precedes the frames on the wire: feed the first read buffers, let
/// [`StreamDecoder::parse_greeting`] consume it, then decode.
#[derive(Debug)]
pub struct StreamDecoder {
    /// The read buffer being decoded.
    buf: BytesMut,
    /// Later read buffers, not contiguous with `buf`, untouched so far.
    queue: VecDeque<BytesMut>,
    max_frame: u64,
    max_message: u64,
    max_frames: usize,
    max_command: u64,
    pending: Option<FrameHeader>,
    partial: Message,
    partial_size: u64,
    failed: Option<DecodeError>,
    stats: DecoderStats,
}

impl StreamDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: &Limits) -> Self {
        StreamDecoder {
            buf: BytesMut::new(),
            queue: VecDeque::new(),
            max_frame: limits.max_frame_size,
            max_message: limits.max_message_size,
            max_frames: limits.max_frames_per_message,
            max_command: u64::try_from(limits.max_command_size).unwrap_or(u64::MAX),
            pending: None,
            partial: Message::new(),
            partial_size: 0,
            failed: None,
            stats: DecoderStats::default(),
        }
    }

    /// Appends bytes read from the transport.
    pub fn feed(&mut self, chunk: BytesMut) {
        if chunk.is_empty() {
            return;
        }
        if self.queue.is_empty() && (self.buf.is_empty() || contiguous(&self.buf, &chunk)) {
            // Moves `chunk` in when `buf` is empty; joins contiguous buffers in O(1).
            self.buf.unsplit(chunk);
        } else {
            self.queue.push_back(chunk);
        }
    }

    /// Feeds buffered bytes to `parser` until the greeting is complete or the bytes run out,
    /// consuming exactly the greeting's bytes. Frames decode from what follows.
    pub fn parse_greeting(
        &mut self,
        parser: &mut GreetingParser,
    ) -> Result<GreetingStatus, DecodeError> {
        loop {
            let status = parser.parse(&mut self.buf)?;
            if matches!(status, GreetingStatus::Complete(_)) || !self.buf.is_empty() {
                return Ok(status);
            }
            match self.queue.pop_front() {
                Some(next) => self.buf = next,
                None => return Ok(status),
            }
        }
    }

    /// Bytes buffered but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.queue.iter().map(BytesMut::len).sum::<usize>()
    }

    /// Makes `buf` hold at least `n` bytes if enough are buffered; returns whether it does.
    /// Moves to the next read buffer without copying when `buf` is used up; otherwise copies
    /// only the missing bytes from the following buffers.
    fn fill_to(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            let Some(next) = self.queue.front_mut() else {
                return false;
            };
            if self.buf.is_empty() || contiguous(&self.buf, next) {
                if let Some(next) = self.queue.pop_front() {
                    self.buf.unsplit(next);
                }
                continue;
            }
            let take = (n - self.buf.len()).min(next.len());
            self.buf.reserve(n - self.buf.len());
            self.buf.extend_from_slice(&next[..take]);
            next.advance(take);
            if next.is_empty() {
                self.queue.pop_front();
            }
        }
        true
    }

    /// Whether some frames of a multipart message arrived but not its last one.
    pub fn is_mid_message(&self) -> bool {
        !self.partial.is_empty()
    }

    /// What the decoder has seen so far.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// The next complete item, `Ok(None)` if more bytes are needed, or the framing error that
    /// broke the stream.
    pub fn decode(&mut self) -> Result<Option<Item>, DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        match self.decode_inner() {
            Err(error) => {
                self.failed = Some(error.clone());
                Err(error)
            }
            ok => ok,
        }
    }

    fn decode_inner(&mut self) -> Result<Option<Item>, DecodeError> {
        loop {
            let header = match self.pending {
                Some(header) => header,
                None => {
                    if !self.fill_to(1) {
                        return Ok(None);
                    }
                    let header_len = if self.buf[0] & FLAG_LONG != 0 {
                        LONG_HEADER_LEN
                    } else {
                        SHORT_HEADER_LEN
                    };
                    if !self.fill_to(header_len) {
                        return Ok(None);
                    }
                    let Some(header) = FrameHeader::parse(&self.buf) else {
                        return Ok(None);
                    };
                    self.check_limits(&header)?;
                    self.pending = Some(header);
                    header
                }
            };
            // Limits were checked, so the size fits in usize.
            let size = usize::try_from(header.size()).unwrap_or(usize::MAX);
            if !self.fill_to(header.len().saturating_add(size)) {
                return Ok(None);
            }
            self.pending = None;
            self.buf.advance(header.len());
            let body = if size == 0 { Bytes::new() } else { self.buf.split_to(size).freeze() };
            self.stats.frames += 1;
            if header.reserved_bits() != 0 {
                self.stats.reserved_flags += 1;
            }
            if header.is_command() {
                if header.more() {
                    self.stats.command_with_more += 1;
                }
                return Ok(Some(match Command::decode(body) {
                    Ok(command) => Item::Command(command),
                    Err(error) => Item::InvalidCommand(error),
                }));
            }
            self.partial_size += header.size();
            self.partial.push(body);
            if !header.more() {
                self.partial_size = 0;
                return Ok(Some(Item::Message(core::mem::take(&mut self.partial))));
            }
        }
    }

    fn check_limits(&self, header: &FrameHeader) -> Result<(), DecodeError> {
        if header.is_command() {
            checked_size(header.size(), self.max_command, "ZMTP command")?;
            return Ok(());
        }
        checked_size(header.size(), self.max_frame, "ZMTP frame")?;
        let total = self.partial_size.saturating_add(header.size());
        if total > self.max_message {
            return Err(DecodeError::TooLarge {
                what: "ZMTP message",
                size: total,
                limit: self.max_message,
            });
        }
        if self.partial.len() >= self.max_frames {
            return Err(DecodeError::TooManyFrames { limit: self.max_frames });
        }
        Ok(())
    }
}

/// Whether `next` starts where `buf` ends in memory (then `unsplit` joins them in O(1), or
/// copies if they merely sit side by side in two allocations — rare and still correct).
fn contiguous(buf: &BytesMut, next: &BytesMut) -> bool {
    buf.as_ptr() as usize + buf.len() == next.as_ptr() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::Ping;
    use crate::wire::zmtp::test_hex::unhex;

    fn decode_all(d: &mut StreamDecoder) -> Vec<Item> {
        let mut out = Vec::new();
        while let Some(item) = d.decode().unwrap() {
            out.push(item);
        }
        out
    }

    #[test]
    fn messages_and_commands_in_any_chunking() {
        // [interop:t][hello-0], PING, [interop:t][multi][part][message]
        let stream = unhex(
            "0109696e7465726f703a74000768656c6c6f2d30\
             04070450494e470000\
             0109696e7465726f703a7401056d756c746901047061727400076d657373616765",
        );
        for step in 1..=stream.len() {
            let mut d = StreamDecoder::new(&Limits::default());
            let mut items = Vec::new();
            for chunk in stream.chunks(step) {
                d.feed(BytesMut::from(chunk));
                items.extend(decode_all(&mut d));
            }
            assert_eq!(items.len(), 3, "step {step}");
            assert_eq!(
                items[0],
                Item::Message(Message::from_frames([&b"interop:t"[..], b"hello-0"]))
            );
            assert_eq!(
                items[1],
                Item::Command(Command::Ping(Ping::from_deciseconds(0, Bytes::new())))
            );
            let Item::Message(m) = &items[2] else { panic!() };
            assert_eq!(m.len(), 4);
            assert_eq!(d.buffered(), 0);
            assert!(!d.is_mid_message());
        }
    }

    #[test]
    fn tolerated_oddities_are_counted() {
        let mut d = StreamDecoder::new(&Limits::default());
        // reserved flag 0x08, PING with COMMAND|MORE, then a normal frame.
        d.feed(BytesMut::from(&unhex("08010405090450494e4700006f6b000104")[..]));
        let items = decode_all(&mut d);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], Item::Message(Message::single(Bytes::from_static(b"\x04"))));
        assert!(matches!(&items[1], Item::Command(Command::Ping(p)) if &p.context()[..] == b"ok"));
        assert_eq!(items[2], Item::Message(Message::single(Bytes::from_static(b"\x04"))));
        let stats = d.stats();
        assert_eq!((stats.frames, stats.reserved_flags, stats.command_with_more), (3, 1, 1));
    }

    #[test]
    fn invalid_command_does_not_break_framing() {
        let mut d = StreamDecoder::new(&Limits::default());
        d.feed(BytesMut::from(&unhex("04050450494e47000104")[..]));
        let items = decode_all(&mut d);
        assert!(matches!(items[0], Item::InvalidCommand(DecodeError::MalformedCommand { .. })));
        assert_eq!(items[1], Item::Message(Message::single(Bytes::from_static(b"\x04"))));
    }

    #[test]
    fn command_between_frames_of_a_message() {
        let mut d = StreamDecoder::new(&Limits::default());
        d.feed(BytesMut::from(&unhex("010161040504504f4e47780162")[..]));
        let items = decode_all(&mut d);
        assert!(matches!(&items[0], Item::Command(Command::Pong(_))));
        assert_eq!(items[1], Item::Message(Message::from_frames([&b"a"[..], b"b"])));
    }

    fn limits(frame: u64, message: u64, frames: usize, command: usize) -> Limits {
        Limits {
            max_frame_size: frame,
            max_message_size: message,
            max_frames_per_message: frames,
            max_command_size: command,
            ..Limits::default()
        }
    }

    #[test]
    fn limits_are_enforced_from_the_header() {
        // A LONG header announcing 1 MiB: refused with only 9 bytes buffered.
        let mut d = StreamDecoder::new(&limits(1000, 2000, 3, 100));
        d.feed(BytesMut::from(&unhex("020000000000100000")[..]));
        assert!(matches!(
            d.decode(),
            Err(DecodeError::TooLarge { what: "ZMTP frame", size: 0x100000, .. })
        ));
        assert!(d.decode().is_err(), "stays failed");

        let mut d = StreamDecoder::new(&limits(1000, 2000, 3, 100));
        d.feed(BytesMut::from(&unhex("0400")[..])); // an empty command body: invalid, not fatal
        assert!(matches!(d.decode().unwrap(), Some(Item::InvalidCommand(_))));
        d.feed(BytesMut::from(&unhex("060000000000000065")[..])); // 101-byte command
        assert!(matches!(d.decode(), Err(DecodeError::TooLarge { what: "ZMTP command", .. })));

        let mut d = StreamDecoder::new(&limits(1000, 1500, 3, 100));
        let mut stream = unhex("0300000000000003e8");
        stream.extend_from_slice(&[0u8; 1000]);
        stream.extend_from_slice(&unhex("030000000000000201"));
        d.feed(BytesMut::from(&stream[..]));
        assert!(matches!(
            d.decode(),
            Err(DecodeError::TooLarge { what: "ZMTP message", size: 1513, .. })
        ));

        let mut d = StreamDecoder::new(&limits(1000, 1500, 3, 100));
        d.feed(BytesMut::from(&unhex("0100010001000100")[..]));
        assert_eq!(d.decode(), Err(DecodeError::TooManyFrames { limit: 3 }));
    }
}
