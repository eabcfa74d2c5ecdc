#![no_main]
//! cargo-fuzz target `node_cluster`: the body is `spot_proto::fuzzing::node_cluster`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| spot_proto::fuzzing::node_cluster(data));
