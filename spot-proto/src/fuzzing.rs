//! Fuzz target bodies (feature `fuzzing`).
//!
//! Each `cargo fuzz` target in `fuzz/` is a one-line wrapper around a function here, so that normal
//! builds compile the bodies (they cannot rot) and `cargo test --all-features` replays the
//! checked-in corpus in `fuzz/corpus/<target>/` through them. A body panics only when it finds a
//! bug: a codec that panics, or an invariant (round trip, bound) that does not hold.

use bytes::{Bytes, BytesMut};

use crate::Limits;
use crate::wire::spot::{Envelope, SpotCommand};
use crate::wire::zmtp::{Item, Message, StreamDecoder};

/// A fuzz body: takes raw fuzzer input, panics only on a bug.
pub type FuzzBody = fn(&[u8]);

/// Every fuzz target, by the name `cargo fuzz` knows it under, with its body.
pub const TARGETS: &[(&str, FuzzBody)] = &[
    ("spot_command", spot_command),
    ("zmtp_stream", zmtp_stream),
    ("zmtp_roundtrip", zmtp_roundtrip),
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
