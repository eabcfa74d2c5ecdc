#!/usr/bin/env bash
# A short, reproducible fuzz run of every cargo-fuzz target (stable toolchain, no sanitizer):
# fixed seed, bounded time, starting from the checked-in corpus. Fails on any crash.
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd fuzz && cargo fuzz build --sanitizer none --release)
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  if [ -d "fuzz/corpus/$t" ]; then cp -r "fuzz/corpus/$t/." "$work/$t/"; fi
  echo "--- fuzzing $t for ${secs}s"
  (cd fuzz && cargo fuzz run --sanitizer none --release "$t" "$work/$t" -- \
      -seed=1 -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 12)
done
echo "fuzz smoke run: ${#targets[@]} targets, no crash"
