#!/usr/bin/env bash
# Scheduling throughput: 5,000 services placed on 50 simulated nodes, by the
# scheduler module alone and by the leader's passes over LMDB (build/sched_bench,
# bench/sched_bench.c says what each figure holds). Median of REPS runs.
#   bench/scheduler.sh [SERVICES=5000] [NODES=50] [REPS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s "$BUILD/sched_bench"
echo "machine: $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -r)"
"$BUILD/sched_bench" "${1:-5000}" "${2:-50}" "${3:-5}" "${TMPDIR:-/tmp}"
