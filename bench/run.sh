#!/usr/bin/env bash
# Benchmarks npy against cp, numpy and npy-append-array, side by side.
#   bench/run.sh            default sizes (under 15 minutes on 2 cores)
#   bench/run.sh --quick    smallest sizes, a smoke test
#   bench/run.sh --full     adds 4 GiB concat and 1M saves
#   bench/run.sh --only=stacked,transpose   some groups only (see bench.py)
#   bench/run.sh --parts-only   only concat --part against one concat
#   bench/run.sh --parts-only --reps=25   the same, 25 alternating runs each
# Needs about 12 GiB free in $BENCH_DIR (default: a temp dir under target/).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
venv="${BENCH_VENV:-$PWD/target/bench-venv}"
if ! "$venv/bin/python" -c 'import numpy, npy_append_array' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'numpy>=2,<3' npy-append-array
fi
work="${BENCH_DIR:-$(mktemp -d "$PWD/target/bench.XXXXXX")}"
trap 'rm -rf "$work"' EXIT
# OpenBLAS settings some machines carry slow numpy; they do not affect IO,
# but unset them so numpy runs as a user's would.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
"$venv/bin/python" bench/bench.py target/release/npy "$work" "$@"
