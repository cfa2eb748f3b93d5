#!/usr/bin/env bash
# The test command: install what is missing, build, run every test.
# Usage: scripts/test.sh [--asan]   (as root: it installs packages and makes netns hosts)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pkg-config --exists raft libh2o libuv lmdb libcjson libcurl libvirt 2>/dev/null ||
	! command -v qemu-system-x86_64 >/dev/null; then
	bash scripts/install-deps.sh
fi
if [ "${1:-}" = "--asan" ]; then
	exec make -j"$(nproc)" asan
fi
make -j"$(nproc)" all
exec make test
