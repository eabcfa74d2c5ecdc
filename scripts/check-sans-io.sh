#!/usr/bin/env bash
# spot-proto's normal dependency tree must hold no I/O crate (DESIGN.md, the sans-IO contract).
# clippy.toml in spot-proto/ bans clocks, sockets, threads and OS-seeded hashing in its code.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(cargo tree -p spot-proto -e normal --prefix none --all-features)
banned='^(tokio|mio|smol|async-io|async-std|socket2|polling|libc|getrandom|rand) '
if bad=$(printf '%s\n' "$tree" | grep -E "$banned"); then
  echo "spot-proto depends on I/O or OS-randomness crates:" >&2
  printf '%s\n' "$bad" | sort -u >&2
  exit 1
fi
echo "spot-proto dependency tree is free of I/O crates:"
printf '%s\n' "$tree" | sort -u | sed 's/^/  /'
