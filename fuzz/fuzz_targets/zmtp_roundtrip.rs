#![no_main]
//! cargo-fuzz target `zmtp_roundtrip`: the body is `spot_proto::fuzzing::zmtp_roundtrip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| spot_proto::fuzzing::zmtp_roundtrip(data));
