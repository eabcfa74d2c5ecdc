//! Fuzz target bodies (feature `fuzzing`).
//!
//! Each `cargo fuzz` target in `fuzz/` is a one-line wrapper around a function here, so that normal
//! builds compile the bodies (they cannot rot) and `cargo test --all-features` replays the
//! checked-in corpus in `fuzz/corpus/<target>/` through them. A body panics only when it finds a
//! bug: a codec that panics, or an invariant (round trip, bound) that does not hold.

use bytes::Bytes;

use crate::Limits;
use crate::wire::spot::{Envelope, SpotCommand};

/// A fuzz body: takes raw fuzzer input, panics only on a bug.
pub type FuzzBody = fn(&[u8]);

/// Every fuzz target, by the name `cargo fuzz` knows it under, with its body.
pub const TARGETS: &[(&str, FuzzBody)] = &[("spot_command", spot_command)];

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
