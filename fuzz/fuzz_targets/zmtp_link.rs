#![no_main]
//! cargo-fuzz target `zmtp_link`: the body is `spot_proto::fuzzing::zmtp_link`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| spot_proto::fuzzing::zmtp_link(data));
