//! Inputs the `node_cluster` fuzzer found, replayed as plain tests.
#![cfg(feature = "sim")]

use spot_proto::node::workload::Workload;

fn replay(name: &str) {
    let path = format!("{}/../fuzz/corpus/node_cluster/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let workload = Workload::from_bytes(&data);
    if let Err(failure) = workload.run() {
        panic!("{failure}\nworkload: {workload:?}");
    }
}

#[test]
fn a_topic_created_twice_and_destroyed_does_not_duplicate_deliveries() {
    replay("regression-0fdeb049");
}
