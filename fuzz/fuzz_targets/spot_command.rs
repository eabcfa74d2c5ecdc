#![no_main]
//! cargo-fuzz target `spot_command`: the body is `spot_proto::fuzzing::spot_command`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| spot_proto::fuzzing::spot_command(data));
