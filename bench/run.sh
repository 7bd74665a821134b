#!/usr/bin/env bash
# The whole load harness of issue 7 in one command (see docs/performance.md):
#
#   bash bench/run.sh
#
# 1. bench/http.sh: builds in release mode, starts `rathaus demo` with the full catalogue and
#    the bare-axum baseline, and measures with wrk the catalogue search, service pages, signed-in
#    pages, a form step post, the same at half their peak, and 19,000 idle keep-alive connections
#    held while a load runs; cold start, idle RSS, RSS per connection; a table with ratios to the
#    baseline.
# 2. The submit burst (bench/delivery.rs): complete submits per second on SQLite and the time
#    until the application is stored at the authority node.
# 3. Journeys (bench/journeys.rs): virtual citizens with think times, completed journeys per
#    second, errors, latency per request kind, RSS per live session.
#
# Settings of each part pass through (BENCH_DURATION, BENCH_HOLD, BENCH_SUBMISSIONS,
# BENCH_CONCURRENCY, BENCH_CITIZENS, BENCH_DURATION_S, …); see bench/README.md. Everything is
# also written to bench/results/run-<time>.txt. Run it on an otherwise idle machine: about
# 12 minutes, plus the release builds the first time.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p bench/results
OUT="bench/results/run-$(date -u '+%Y%m%d-%H%M%S').txt"
{
    bash bench/http.sh
    echo
    echo "== submits (cargo bench -p rathaus --bench delivery) =="
    BENCH_SUBMISSIONS="${BENCH_SUBMISSIONS:-300}" BENCH_CONCURRENCY="${BENCH_CONCURRENCY:-16}" \
        cargo bench --quiet -p rathaus --bench delivery
    echo
    echo "== journeys (cargo bench -p rathaus --bench journeys) =="
    cargo bench --quiet -p rathaus --bench journeys
} 2> >(grep -v '^==> ' >&2) | tee "$OUT"
echo "written to $OUT" >&2
