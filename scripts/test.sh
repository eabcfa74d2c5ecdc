#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the foreign ZeroMQ peer (pyzmq) the interop
# tests talk to, then runs every test of the workspace with every feature (so the simulator and the
# fuzz bodies are compiled and their checked-in corpus is replayed).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import zmq' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'pyzmq>=26'
cargo test --workspace --all-features "$@"
