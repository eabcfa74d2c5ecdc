#!/usr/bin/env bash
# Writes fuzz/fuzz_targets/NAME.rs and its [[bin]] entry for a body in spot_proto::fuzzing.
set -euo pipefail
cd "$(dirname "$0")"
name=$1
cat > "fuzz_targets/$name.rs" <<RS
#![no_main]
//! cargo-fuzz target \`$name\`: the body is \`spot_proto::fuzzing::$name\`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| spot_proto::fuzzing::$name(data));
RS
grep -q "name = \"$name\"" Cargo.toml || cat >> Cargo.toml <<TOML

[[bin]]
name = "$name"
path = "fuzz_targets/$name.rs"
test = false
doc = false
bench = false
TOML
