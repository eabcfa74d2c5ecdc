//! [`Message`]: a multipart ZMTP data message whose frames are `Bytes`.

use core::fmt;
use core::ops::Index;

use bytes::{BufMut, Bytes};

use super::frame::FrameHeader;

/// Frames held inline before a message spills to the heap. Four covers the common shapes without
/// an allocation: `[topic][payload]`, `[cmd][topic][data]`, and a ROUTER's `[''][cmd][topic][data]`.
pub const INLINE_FRAMES: usize = 4;

/// A multipart data message: an ordered list of frames, each a `Bytes` (decoded frames are
/// zero-copy slices of the read buffer; cloning a message only bumps reference counts).
///
/// Up to [`INLINE_FRAMES`] frames are stored inline, so building or decoding a typical message
/// allocates nothing for the frame list.
///
/// Helpers for the ROUTER/DEALER envelope, where a ROUTER puts an empty delimiter frame before
/// the command: [`Message::with_delimiter`], [`Message::strip_delimiter`],
/// [`Message::has_delimiter`].
///
/// ```
/// use spot_proto::wire::zmtp::Message;
/// let mut msg = Message::from_frames([&b"\x01"[..], b"topic", b"data"]).with_delimiter();
/// assert_eq!(msg.len(), 4);
/// assert!(msg.strip_delimiter());
/// assert_eq!(&msg[1][..], b"topic");
/// ```
#[derive(Clone, Default)]
pub struct Message {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Inline { len: u8, frames: [Bytes; INLINE_FRAMES] },
    Heap(Vec<Bytes>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Inline { len: 0, frames: [const { Bytes::new() }; INLINE_FRAMES] }
    }
}

impl Message {
    /// An empty message (no frames). A message must have at least one frame to be sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// A one-frame message.
    pub fn single(frame: impl Into<Bytes>) -> Self {
        let mut msg = Self::new();
        msg.push(frame.into());
        msg
    }

    /// A message from a list of frames (anything convertible into `Bytes`: `&'static [u8]`,
    /// `&'static str`, `Vec<u8>`, `Bytes`, ...).
    pub fn from_frames<I>(frames: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Bytes>,
    {
        let mut msg = Self::new();
        for frame in frames {
            msg.push(frame.into());
        }
        msg
    }

    /// The frames, in order.
    pub fn frames(&self) -> &[Bytes] {
        match &self.repr {
            Repr::Inline { len, frames } => &frames[..usize::from(*len)],
            Repr::Heap(frames) => frames,
        }
    }

    /// The frames, mutable.
    pub fn frames_mut(&mut self) -> &mut [Bytes] {
        match &mut self.repr {
            Repr::Inline { len, frames } => &mut frames[..usize::from(*len)],
            Repr::Heap(frames) => frames,
        }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Inline { len, .. } => usize::from(*len),
            Repr::Heap(frames) => frames.len(),
        }
    }

    /// Whether the message has no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the frames.
    pub fn iter(&self) -> core::slice::Iter<'_, Bytes> {
        self.frames().iter()
    }

    /// Frame `index`, if present.
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.frames().get(index)
    }

    /// Appends a frame.
    // Inlined so a freshly decoded frame goes straight into its slot: called through memory,
    // the frame's halves are written and read back at different widths, which stalls the CPU.
    #[inline(always)]
    pub fn push(&mut self, frame: Bytes) {
        match &mut self.repr {
            Repr::Inline { len, frames } if usize::from(*len) < INLINE_FRAMES => {
                frames[usize::from(*len)] = frame;
                *len += 1;
            }
            _ => self.push_spilled(frame),
        }
    }

    /// [`Message::push`] past the inline frames (moves them to the heap first).
    #[cold]
    fn push_spilled(&mut self, frame: Bytes) {
        match &mut self.repr {
            Repr::Inline { frames, .. } => {
                let mut heap = Vec::with_capacity(INLINE_FRAMES * 2);
                heap.extend(frames.iter_mut().map(core::mem::take));
                heap.push(frame);
                self.repr = Repr::Heap(heap);
            }
            Repr::Heap(frames) => frames.push(frame),
        }
    }

    /// Inserts a frame before the first one.
    pub fn push_front(&mut self, frame: Bytes) {
        match &mut self.repr {
            Repr::Inline { len, frames } if usize::from(*len) < INLINE_FRAMES => {
                let n = usize::from(*len);
                frames[..=n].rotate_right(1);
                frames[0] = frame;
                *len += 1;
            }
            Repr::Inline { frames, .. } => {
                let mut heap = Vec::with_capacity(INLINE_FRAMES * 2);
                heap.push(frame);
                heap.extend(frames.iter_mut().map(core::mem::take));
                self.repr = Repr::Heap(heap);
            }
            Repr::Heap(frames) => frames.insert(0, frame),
        }
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        match &mut self.repr {
            Repr::Inline { len, frames } => {
                let n = usize::from(*len);
                if n == 0 {
                    return None;
                }
                let first = core::mem::take(&mut frames[0]);
                frames[..n].rotate_left(1);
                *len -= 1;
                Some(first)
            }
            Repr::Heap(frames) => (!frames.is_empty()).then(|| frames.remove(0)),
        }
    }

    /// Whether the first frame is an empty delimiter (ROUTER envelope).
    pub fn has_delimiter(&self) -> bool {
        self.frames().first().is_some_and(|f| f.is_empty())
    }

    /// Removes a leading empty delimiter frame if there is one; returns whether it did.
    pub fn strip_delimiter(&mut self) -> bool {
        if self.has_delimiter() {
            self.pop_front();
            true
        } else {
            false
        }
    }

    /// This message with an empty delimiter frame in front (what a ROUTER sends to a DEALER).
    pub fn with_delimiter(mut self) -> Self {
        self.push_front(Bytes::new());
        self
    }

    /// Total body bytes of all frames (what the high-water-mark byte cap counts).
    pub fn payload_len(&self) -> usize {
        self.iter().map(Bytes::len).sum()
    }

    /// Bytes this message takes on the wire (minimal headers).
    pub fn encoded_len(&self) -> usize {
        self.iter().map(|f| FrameHeader::encoded_len_for(f.len()) + f.len()).sum()
    }

    /// Writes every frame (MORE on all but the last, minimal size form). An empty message
    /// writes nothing.
    pub fn encode(&self, dst: &mut impl BufMut) {
        let frames = self.frames();
        for (i, frame) in frames.iter().enumerate() {
            FrameHeader::data(frame.len(), i + 1 < frames.len()).encode(dst);
            dst.put_slice(frame);
        }
    }
}

impl Index<usize> for Message {
    type Output = Bytes;
    fn index(&self, index: usize) -> &Bytes {
        &self.frames()[index]
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.frames() == other.frames()
    }
}

impl Eq for Message {}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.frames()).finish()
    }
}

impl From<Bytes> for Message {
    fn from(frame: Bytes) -> Self {
        Message::single(frame)
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(frames: Vec<Bytes>) -> Self {
        if frames.len() <= INLINE_FRAMES {
            Message::from_frames(frames)
        } else {
            Message { repr: Repr::Heap(frames) }
        }
    }
}

impl FromIterator<Bytes> for Message {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        Message::from_frames(iter)
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Bytes;
    type IntoIter = core::slice::Iter<'a, Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Message {
    type Item = Bytes;
    type IntoIter = IntoFrames;
    fn into_iter(self) -> IntoFrames {
        match self.repr {
            Repr::Inline { len, frames } => {
                IntoFrames { inner: FramesIter::Inline(frames.into_iter().take(usize::from(len))) }
            }
            Repr::Heap(frames) => IntoFrames { inner: FramesIter::Heap(frames.into_iter()) },
        }
    }
}

/// Owning iterator over a message's frames.
#[derive(Debug)]
pub struct IntoFrames {
    inner: FramesIter,
}

#[derive(Debug)]
enum FramesIter {
    Inline(core::iter::Take<core::array::IntoIter<Bytes, INLINE_FRAMES>>),
    Heap(std::vec::IntoIter<Bytes>),
}

impl Iterator for IntoFrames {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        match &mut self.inner {
            FramesIter::Inline(it) => it.next(),
            FramesIter::Heap(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            FramesIter::Inline(it) => it.size_hint(),
            FramesIter::Heap(it) => it.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::test_hex::hex;

    #[test]
    fn inline_then_heap_keeps_order() {
        let mut m = Message::new();
        for i in 0..7u8 {
            m.push(Bytes::from(vec![i]));
        }
        assert_eq!(m.len(), 7);
        let got: Vec<u8> = m.iter().map(|f| f[0]).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4, 5, 6]);
        m.push_front(Bytes::from_static(b"x"));
        assert_eq!(&m[0][..], b"x");
        assert_eq!(m.pop_front().unwrap(), Bytes::from_static(b"x"));
        let owned: Vec<Bytes> = m.clone().into_iter().collect();
        assert_eq!(owned.len(), 7);
        assert_eq!(Message::from(owned), m);
    }

    #[test]
    fn push_front_spills_when_inline_is_full() {
        let mut m = Message::from_frames([&b"a"[..], b"b", b"c", b"d"]);
        m.push_front(Bytes::new());
        assert_eq!(m.len(), 5);
        assert!(m.has_delimiter());
        assert!(m.strip_delimiter());
        assert!(!m.strip_delimiter());
        assert_eq!(m, Message::from_frames([&b"a"[..], b"b", b"c", b"d"]));
    }

    #[test]
    fn encoding_matches_the_captures() {
        // ROUTER -> DEALER QUERY_RESP from vectors/README.md.
        let m = Message::from_frames([&b"\x05"[..], b"\x02\x00\x00\x00", b"interop:t", b"py:t"])
            .with_delimiter();
        let mut v = Vec::new();
        m.encode(&mut v);
        assert_eq!(
            hex(&v),
            "0100010105010402000000010969\
             6e7465726f703a74000470793a74"
        );
        assert_eq!(m.encoded_len(), v.len());
        assert_eq!(m.payload_len(), 1 + 4 + 9 + 4);
    }

    #[test]
    fn pop_front_of_empty_is_none() {
        let mut m = Message::new();
        assert!(m.pop_front().is_none());
        assert!(m.is_empty());
        let mut v = Vec::new();
        m.encode(&mut v);
        assert!(v.is_empty());
    }
}
