//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz bodies, so every
//! `cargo test --all-features` re-checks every input the fuzzers ever kept, including crash
//! reproducers that became regression tests.
#![cfg(feature = "fuzzing")]

use std::path::PathBuf;

fn corpus_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

#[test]
fn every_target_has_a_corpus_and_replays_it_cleanly() {
    for (name, body) in spot_proto::fuzzing::TARGETS {
        let dir = corpus_root().join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!("fuzz target {name} has no corpus at {}: {e}", dir.display())
        });
        let mut replayed = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            body(&data);
            replayed += 1;
        }
        assert!(replayed > 0, "fuzz target {name}: empty corpus in {}", dir.display());
    }
}

#[test]
fn fuzz_crate_lists_exactly_the_bodies() {
    let manifest = std::fs::read_to_string(corpus_root().join("../Cargo.toml")).unwrap();
    for (name, _) in spot_proto::fuzzing::TARGETS {
        assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml lacks {name}");
        assert!(spot_proto::fuzzing::target(name).is_some());
    }
    let bins = manifest.matches("[[bin]]").count();
    assert_eq!(bins, spot_proto::fuzzing::TARGETS.len(), "a fuzz target has no body in TARGETS");
}
