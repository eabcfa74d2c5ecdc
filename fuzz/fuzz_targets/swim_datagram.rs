#![no_main]
//! cargo-fuzz target `swim_datagram`: the body is `spot_proto::fuzzing::swim_datagram`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| spot_proto::fuzzing::swim_datagram(data));
