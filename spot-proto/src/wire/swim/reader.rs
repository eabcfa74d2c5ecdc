//! A little-endian cursor over one datagram or state blob; slices it hands out share the input.

use bytes::Bytes;

use crate::DecodeError;

/// Reads little-endian fields; every slice it hands out shares the input buffer.
pub(crate) struct Reader<'a> {
    input: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a Bytes) -> Self {
        Reader { input, pos: 0 }
    }

    /// A reader of `input` from byte `pos`.
    pub(crate) fn at(input: &'a Bytes, pos: usize) -> Self {
        Reader { input, pos }
    }

    /// Bytes read so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Like [`Self::take`], borrowed (no reference count).
    pub(crate) fn take_slice(
        &mut self,
        n: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(DecodeError::Truncated { what, needed: n, available });
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.input[start..self.pos])
    }

    pub(crate) fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<Bytes, DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(DecodeError::Truncated { what, needed: n, available });
        }
        let start = self.pos;
        self.pos += n;
        Ok(self.input.slice(start..self.pos))
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let available = self.remaining();
        let end = self.pos.saturating_add(N);
        match self.input.get(self.pos..end).and_then(|s| <[u8; N]>::try_from(s).ok()) {
            Some(array) => {
                self.pos = end;
                Ok(array)
            }
            None => Err(DecodeError::Truncated { what, needed: N, available }),
        }
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        self.array::<1>(what).map(|[b]| b)
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Fails when bytes are left over.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { what, extra }),
        }
    }
}
