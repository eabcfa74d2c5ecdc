//! Codec benchmark: decode and encode of SPOT PUBLISH messages (`[0x01][topic][data]` in ZMTP
//! frames) at 16 B, 1 KiB and 64 KiB, beside two baselines on the same bytes in the same run:
//! a header-only scan (walk the frame headers, skip the bodies) and a plain copy of the bytes.
//!
//! Decode hands out zero-copy slices of the read buffer, so its time per message should barely
//! move with the payload size, while the plain copy grows with it.
//!
//! Run: `cargo bench -p spot-proto --bench codec`. Results: BENCHMARKS.md.
// criterion's macros generate undocumented public items.
#![allow(missing_docs)]

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use spot_proto::Limits;
use spot_proto::wire::spot::{Envelope, SpotCommand, Topic};
use spot_proto::wire::zmtp::{FrameHeader, Item, Message, StreamDecoder};
use std::hint::black_box;

const SIZES: [(usize, &str); 3] = [(16, "16B"), (1024, "1KiB"), (64 * 1024, "64KiB")];

fn publish(payload: usize, limits: &Limits) -> SpotCommand {
    SpotCommand::Publish {
        topic: Topic::copy_from_str("game:player1:position", limits).expect("valid topic"),
        data: Bytes::from(vec![0xA5; payload]),
    }
}

fn wire_bytes(command: &SpotCommand) -> Bytes {
    let message = Message::from_frames(command.encode(Envelope::Bare));
    let mut out = BytesMut::with_capacity(message.encoded_len());
    message.encode(&mut out);
    out.freeze()
}

/// Walks the frame headers of one message without touching the bodies.
fn scan_headers(wire: &[u8]) -> usize {
    let mut at = 0;
    let mut frames = 0;
    while let Some(header) = FrameHeader::parse(&wire[at..]) {
        let size = usize::try_from(header.size()).expect("fits");
        at += header.len() + size;
        frames += 1;
        if !header.more() {
            break;
        }
    }
    frames
}

fn bench_codec(c: &mut Criterion) {
    let limits = Limits::default();
    for (size, label) in SIZES {
        let command = publish(size, &limits);
        let wire = wire_bytes(&command);
        let mut group = c.benchmark_group(format!("publish_{label}"));
        group.throughput(Throughput::Elements(1));

        group.bench_function("decode", |b| {
            let mut decoder = StreamDecoder::new(&limits);
            b.iter_batched(
                || BytesMut::from(&wire[..]),
                |read| {
                    decoder.feed(read);
                    let Ok(Some(Item::Message(message))) = decoder.decode() else {
                        panic!("one whole message expected");
                    };
                    let command = SpotCommand::decode(message.frames(), &limits).expect("valid");
                    black_box(command)
                },
                BatchSize::LargeInput,
            );
        });

        group.bench_function("encode", |b| {
            let mut frames = Vec::with_capacity(3);
            let mut out = BytesMut::with_capacity(wire.len() * 2);
            b.iter(|| {
                frames.clear();
                command.encode_into(Envelope::Bare, &mut frames);
                let message = Message::from_frames(frames.drain(..));
                out.clear();
                message.encode(&mut out);
                black_box(out.len())
            });
        });

        group.bench_function("scan_headers", |b| b.iter(|| black_box(scan_headers(&wire))));

        group.bench_function("copy", |b| {
            let mut out = BytesMut::with_capacity(wire.len());
            b.iter(|| {
                out.clear();
                out.extend_from_slice(black_box(&wire));
                black_box(out.len())
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
