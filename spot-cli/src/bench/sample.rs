//! The benchmark's payload format, its clock, and the statistics over runs.
//!
//! Every payload starts with 16 bytes: the sequence number and the send time, both u64
//! little-endian, followed by filler up to the message size. The send time is read from
//! `CLOCK_MONOTONIC`, which on Linux is one clock for every process of the machine, so the
//! subscriber process subtracts it from its own reading of the same clock and gets the
//! one-way publish-to-receive latency with no offset to estimate.

use bytes::{BufMut, Bytes, BytesMut};

/// Bytes of the header at the start of every payload (sequence number, send time).
pub const HEADER: usize = 16;

/// The sequence number of warm-up messages, which the subscriber does not count.
pub const WARM: u64 = u64::MAX;

/// Nanoseconds on `CLOCK_MONOTONIC` (shared by all processes of the machine).
pub fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64)
}

/// One payload of `size` bytes (at least [`HEADER`]) carrying `seq` and the time `sent_ns`.
pub fn payload(seq: u64, sent_ns: u64, size: usize) -> Bytes {
    let mut buf = BytesMut::with_capacity(size.max(HEADER));
    put(&mut buf, seq, sent_ns, size);
    buf.freeze()
}

/// `count` payloads of `size` bytes, numbered from `first_seq`, all stamped `sent_ns`, as
/// slices of one buffer (one allocation per burst, the same for every system measured).
pub fn burst(first_seq: u64, count: usize, sent_ns: u64, size: usize) -> Vec<Bytes> {
    let size = size.max(HEADER);
    let mut buf = BytesMut::with_capacity(count * size);
    for i in 0..count {
        put(&mut buf, first_seq + i as u64, sent_ns, size);
    }
    let all = buf.freeze();
    (0..count).map(|i| all.slice(i * size..(i + 1) * size)).collect()
}

fn put(buf: &mut BytesMut, seq: u64, sent_ns: u64, size: usize) {
    buf.put_u64_le(seq);
    buf.put_u64_le(sent_ns);
    buf.put_bytes(0x5a, size.saturating_sub(HEADER));
}

/// What the subscriber reads from a payload's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The sequence number ([`WARM`] for warm-up messages).
    pub seq: u64,
    /// The publisher's `CLOCK_MONOTONIC` reading when it sent the message.
    pub sent_ns: u64,
    /// The payload's length.
    pub len: usize,
}

impl Header {
    /// The header of `payload`, or `None` when it is shorter than [`HEADER`].
    pub fn parse(payload: &[u8]) -> Option<Header> {
        let seq = u64::from_le_bytes(payload.get(0..8)?.try_into().ok()?);
        let sent_ns = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
        Some(Header { seq, sent_ns, len: payload.len() })
    }
}

/// The value at quantile `q` (0..=1) of sorted values, nearest rank; 0 when empty.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median, minimum and maximum of one figure over the runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Spread { median, min: v[0], max: v[n - 1] })
    }

    /// As JSON: `{"median", "min", "max"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "median": self.median, "min": self.min, "max": self.max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_short_payload() {
        let p = payload(7, 123_456, 1024);
        assert_eq!(p.len(), 1024);
        assert_eq!(Header::parse(&p), Some(Header { seq: 7, sent_ns: 123_456, len: 1024 }));
        assert_eq!(Header::parse(&p[..15]), None);
        let b = burst(10, 3, 5, 16);
        assert_eq!(b.len(), 3);
        assert_eq!(Header::parse(&b[2]).map(|h| h.seq), Some(12));
    }

    #[test]
    fn quantiles_and_spread() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), 50);
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&[], 0.5), 0);
        let s = Spread::of(&[3.0, 1.0, 2.0, 10.0]).expect("values");
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
        assert!(Spread::of(&[]).is_none());
    }

    #[test]
    fn clock_moves_forward() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a && a > 0);
    }
}
