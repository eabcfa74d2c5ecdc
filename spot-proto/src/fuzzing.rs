//! Fuzz target bodies (feature `fuzzing`).
//!
//! Each `cargo fuzz` target in `fuzz/` is a one-line wrapper around a function here, so that normal
//! builds compile the bodies (they cannot rot) and `cargo test --all-features` replays the
//! checked-in corpus in `fuzz/corpus/<target>/` through them. A body panics only when it finds a
//! bug: a codec that panics, or an invariant (round trip, bound) that does not hold.

use core::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::link::{Link, LinkConfig, LinkEvent, LinkState};
use crate::wire::spot::{Envelope, SpotCommand};
use crate::wire::zmtp::{Item, Message, SocketType, StreamDecoder, ZmtpVersion};
use crate::{Instant, Limits};

/// A fuzz body: takes raw fuzzer input, panics only on a bug.
pub type FuzzBody = fn(&[u8]);

/// Every fuzz target, by the name `cargo fuzz` knows it under, with its body.
pub const TARGETS: &[(&str, FuzzBody)] = &[
    ("spot_command", spot_command),
    ("zmtp_stream", zmtp_stream),
    ("zmtp_roundtrip", zmtp_roundtrip),
    ("zmtp_link", zmtp_link),
    ("swim_datagram", swim_datagram),
    ("node_cluster", node_cluster),
];

/// Looks a target up by name.
pub fn target(name: &str) -> Option<FuzzBody> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Splits fuzz input into a list of frames, as a ZMTP message would deliver them: each frame is
/// one length byte followed by that many bytes (cut short at the end of the input). The format is
/// trivial on purpose, so corpus files can be written by hand.
pub fn frames_from(data: &[u8]) -> Vec<Bytes> {
    let mut frames = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let take = usize::from(len).min(tail.len());
        frames.push(Bytes::copy_from_slice(&tail[..take]));
        rest = &tail[take..];
    }
    frames
}

/// SPOT command decode: arbitrary frame lists. Anything that decodes must re-encode (bare and
/// delimited) to frames that decode to the same command.
pub fn spot_command(data: &[u8]) {
    let limits = Limits::default();
    let frames = frames_from(data);
    let Ok(command) = SpotCommand::decode(&frames, &limits) else { return };
    for envelope in [Envelope::Bare, Envelope::Delimited] {
        let encoded = command.encode(envelope);
        let again = SpotCommand::decode(&encoded, &limits);
        assert_eq!(again.as_ref(), Ok(&command), "round trip changed {command:?}");
    }
}

/// Small limits so the fuzzer reaches every bound quickly.
fn tight_limits() -> Limits {
    Limits {
        max_frame_size: 4096,
        max_message_size: 8192,
        max_frames_per_message: 16,
        max_command_size: 1024,
        ..Limits::default()
    }
}

/// Decodes a whole stream fed in the given chunks: the items, then the error that stopped it.
fn decode_chunked(chunks: &[Bytes], limits: &Limits) -> (Vec<Item>, Option<crate::DecodeError>) {
    let mut decoder = StreamDecoder::new(limits);
    let mut items = Vec::new();
    for chunk in chunks {
        decoder.feed(BytesMut::from(&chunk[..]));
        loop {
            match decoder.decode() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(error) => return (items, Some(error)),
            }
        }
    }
    (items, None)
}

/// The ZMTP stream decoder on arbitrary bytes in arbitrary chunks (input: length-prefixed
/// chunks, see [`frames_from`]). Decoding the same bytes in one piece must give the same items and
/// the same error: chunking never changes the result, and nothing panics.
pub fn zmtp_stream(data: &[u8]) {
    let limits = tight_limits();
    let chunks = frames_from(data);
    let whole: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let (chunked_items, chunked_error) = decode_chunked(&chunks, &limits);
    let (whole_items, whole_error) = decode_chunked(&[Bytes::from(whole)], &limits);
    assert_eq!(chunked_error, whole_error, "chunking changed the error");
    if chunked_error.is_none() {
        assert_eq!(chunked_items, whole_items, "chunking changed the items");
    } else {
        // The error stops the stream where it is detected; the items before it agree.
        let n = chunked_items.len().min(whole_items.len());
        assert_eq!(chunked_items[..n], whole_items[..n]);
    }
}

/// Encode -> decode of arbitrary multipart messages (input: length-prefixed frames): what comes
/// out is what went in, fed whole and byte by byte.
pub fn zmtp_roundtrip(data: &[u8]) {
    let limits = Limits::default();
    let frames = frames_from(data);
    if frames.is_empty() {
        return;
    }
    let message = Message::from_frames(frames);
    let mut wire = BytesMut::new();
    message.encode(&mut wire);
    assert_eq!(wire.len(), message.encoded_len());
    let wire = wire.freeze();
    let bytewise: Vec<Bytes> = (0..wire.len()).map(|i| wire.slice(i..=i)).collect();
    for chunks in [vec![wire.clone()], bytewise] {
        let (items, error) = decode_chunked(&chunks, &limits);
        assert_eq!(error, None);
        assert_eq!(items, vec![Item::Message(message.clone())]);
    }
}

/// The link configuration a fuzz input's first byte selects: role and socket type (bits 0..2),
/// announced version (bit 3), heartbeats (bit 4), a small high-water mark (bit 5).
fn link_config_from(selector: u8) -> LinkConfig {
    const DIALER_TYPES: [SocketType; 4] =
        [SocketType::Dealer, SocketType::XSub, SocketType::Sub, SocketType::Router];
    let base = match selector & 0x07 {
        0..=3 => LinkConfig::dialer(DIALER_TYPES[usize::from(selector & 0x03)]),
        _ => LinkConfig::listener(),
    };
    let version = if selector & 0x08 != 0 { ZmtpVersion::V3_0 } else { ZmtpVersion::V3_1 };
    let mut config = base.with_version(version).with_limits(tight_limits());
    if selector & 0x10 != 0 {
        config = config.with_heartbeat(Duration::from_millis(100), Duration::from_millis(300));
    }
    if selector & 0x20 != 0 {
        config = config.with_hwm(4, 1 << 16, crate::link::HwmPolicy::DropNewest);
    }
    config
}

/// A well-behaved peer for `config`'s link: the partner socket type it expects.
fn partner_config(config: &LinkConfig) -> LinkConfig {
    use crate::link::LinkRole;
    match config.role {
        LinkRole::Listener => LinkConfig::dialer(SocketType::Dealer),
        LinkRole::Dialer { .. } => LinkConfig::listener(),
    }
}

/// A new link for `config`; with `handshake`, a well-behaved partner first completes the
/// handshake with it in memory.
fn start_link(config: LinkConfig, handshake: bool, now: Instant, closed_seen: &mut bool) -> Link {
    let mut link = Link::new(config.clone(), now);
    if handshake {
        let mut peer = Link::new(partner_config(&config), now);
        let mut peer_closed = false;
        for _ in 0..4 {
            for chunk in drain_link(&mut link, closed_seen) {
                peer.handle_read(now, BytesMut::from(&chunk[..]));
            }
            for chunk in drain_link(&mut peer, &mut peer_closed) {
                link.handle_read(now, BytesMut::from(&chunk[..]));
            }
        }
    }
    link
}

/// Drains every output of `link`, checking the event contract: `Closed` comes once and last,
/// and a closed link reports itself closed.
fn drain_link(link: &mut Link, closed_seen: &mut bool) -> Vec<bytes::Bytes> {
    let mut out = Vec::new();
    while let Some(chunk) = link.poll_transmit() {
        out.push(chunk);
    }
    while let Some(event) = link.poll_event() {
        assert!(!*closed_seen, "event {event:?} after Closed");
        if let LinkEvent::Closed(_) = event {
            *closed_seen = true;
            assert!(link.is_closed());
        }
    }
    assert!(link.queued_messages() <= link.config().data_hwm.max(1) + 1);
    out
}

/// The ZMTP connection state machine on arbitrary peer behaviour. Byte 0 picks the link's role,
/// version and options (see `link_config_from`); byte 1's low bit says whether a well-behaved peer
/// first completes the handshake (so the fuzzer starts in the ready state). The rest is a list of
/// operations, each an opcode byte and, for some, a length-prefixed argument: feed peer bytes,
/// advance time, send data, subscribe, cancel, close the transport, close locally. Nothing may
/// panic, `Closed` is the last event, a closed link stays closed, and the data queue respects its
/// high-water mark.
pub fn zmtp_link(data: &[u8]) {
    let [selector, start, rest @ ..] = data else { return };
    let config = link_config_from(*selector);
    let mut now = Instant::ZERO;
    let mut closed_seen = false;
    let mut link = start_link(config, start & 1 == 1, now, &mut closed_seen);
    let mut rest = rest;
    while let Some((&op, tail)) = rest.split_first() {
        let (arg, tail) = match tail.split_first() {
            Some((&len, body)) if matches!(op % 7, 0 | 2 | 3 | 4) => {
                let take = usize::from(len).min(body.len());
                (&body[..take], &body[take..])
            }
            _ => (&[][..], tail),
        };
        rest = tail;
        let was_closed = link.is_closed();
        match op % 7 {
            0 => link.handle_read(now, BytesMut::from(arg)),
            1 => {
                now += Duration::from_millis(u64::from(op / 7) * 25);
                link.handle_timeout(now);
            }
            2 if !arg.is_empty() => {
                let _ = link.send(Message::from_frames(frames_from(arg)));
            }
            3 => {
                let _ = link.subscribe(bytes::Bytes::copy_from_slice(arg));
            }
            4 => {
                let _ = link.cancel(bytes::Bytes::copy_from_slice(arg));
            }
            5 => link.handle_transport_closed(now),
            6 => link.close(),
            _ => {}
        }
        drain_link(&mut link, &mut closed_seen);
        if was_closed {
            assert_eq!(link.state(), LinkState::Closed, "a closed link came back to life");
        }
    }
}

/// SWIM datagram and full-state decode on arbitrary bytes: nothing panics, and whatever decodes
/// re-encodes (with every one of its updates, within the size limit) to bytes that decode to the
/// same value.
pub fn swim_datagram(data: &[u8]) {
    use crate::wire::swim::{FullState, SwimDatagram};
    let limits = Limits::default();
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(datagram) = SwimDatagram::decode(&bytes, &limits) {
        let mut out = BytesMut::new();
        let taken = datagram.encode(&limits, &mut out);
        assert_eq!(taken, datagram.updates.len(), "re-encoding dropped updates");
        assert!(out.len() <= limits.max_datagram_size);
        let again = SwimDatagram::decode(&out.freeze(), &limits);
        assert_eq!(again.as_ref(), Ok(&datagram), "round trip changed {datagram:?}");
    }
    if let Ok(state) = FullState::decode(&bytes, &limits) {
        let (blob, count) = state.encode(&limits);
        assert_eq!(count, state.members.len());
        assert_eq!(FullState::decode(&blob, &limits).as_ref(), Ok(&state));
    }
}

/// Arbitrary operation sequences (topics, subscriptions, patterns, publishes, time, cuts and
/// heals) on a small simulated cluster of Nodes, decoded by
/// [`crate::node::workload::Workload::from_bytes`]. The run must keep the delivery invariants:
/// no duplicate, no delivery to a non-subscriber, per-publisher order per topic.
pub fn node_cluster(data: &[u8]) {
    let workload = crate::node::workload::Workload::from_bytes(data);
    if let Err(failure) = workload.run() {
        panic!("{failure}\nworkload: {workload:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_selector_can_start_from_a_completed_handshake() {
        for selector in 0..=0x3f_u8 {
            let mut closed = false;
            let link = start_link(link_config_from(selector), true, Instant::ZERO, &mut closed);
            assert!(link.is_ready(), "selector {selector:#x}: {:?}", link.state());
            assert!(!closed);
        }
    }
}
