#![no_main]
//! cargo-fuzz target `zmtp_stream`: the body is `spot_proto::fuzzing::zmtp_stream`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| spot_proto::fuzzing::zmtp_stream(data));
