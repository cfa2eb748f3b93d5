#!/usr/bin/env bash
# TOML parse speed: a ~1 MiB spec-like document (build/toml-bench), median of 7 parses.
#   bench/toml_parse.sh [BYTES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/toml-bench
echo "machine: $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -r)"
build/toml-bench "${1:-1048576}" "${2:-7}"
