#!/usr/bin/env bash
# `make bench-micro`: the hot paths' microbenchmarks (hotpath-benchmark, rules-benchmark) beside `openssl speed`
# for the same ciphers and sizes. No root, no network. BENCH_QUICK=1: fewer samples and 1 s openssl runs;
# BENCH_DOCS=1 (default for a full run) rewrites the microbenchmark section of docs/performance.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
command -v openssl >/dev/null || { echo "bench-micro: the openssl command is missing; run: make deps" >&2; exit 1; }
swift build -c release --product hotpath-benchmark
swift build -c release --product rules-benchmark
bin=$(swift build -c release --show-bin-path)
args=(--hotpath "$bin/hotpath-benchmark" --rules "$bin/rules-benchmark")
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
    args+=(--quick)
    [[ ${BENCH_DOCS:-0} == 1 ]] && args+=(--markdown docs/performance.md)
else
    [[ ${BENCH_DOCS:-1} == 1 ]] && args+=(--markdown docs/performance.md)
fi
python3 -B scripts/bench/micro.py "${args[@]}"
