#!/usr/bin/env bash
# Fuzz the header parser (fuzz/fuzz_targets/header.rs) with cargo-fuzz.
#   fuzz/run.sh [SECONDS] [extra libFuzzer flags...]     (default 300 s)
# Needs `cargo install cargo-fuzz`. cargo-fuzz uses nightly-only flags; on a
# stable toolchain RUSTC_BOOTSTRAP=1 unlocks them, for this command only.
# The corpus grows in fuzz/corpus/header (seeded from fuzz/seeds); crashes
# land in fuzz/artifacts/header/ — turn each into a regression test in
# tests/reliability.rs (fuzz_regressions).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
shift || true
mkdir -p fuzz/corpus/header
cp -n fuzz/seeds/* fuzz/corpus/header/ 2>/dev/null || true
RUSTC_BOOTSTRAP=1 nice cargo fuzz run header fuzz/corpus/header -- \
  -max_total_time="$secs" -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=10 "$@"
