#!/usr/bin/env bash
# The test command: install what is missing, build, run every test.
# Usage: scripts/test.sh [--asan]   (as root: it installs packages and makes netns hosts)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then # it installs packages and runs VMs: root, or through sudo
	command -v sudo >/dev/null && exec sudo bash "$0" "$@"
	echo "$(basename "$0"): run it as root" >&2
	exit 1
fi
cd "$(dirname "$0")/.."
missing=0
pkg-config --exists raft libh2o libuv lmdb libcjson libcurl libvirt jemalloc 2>/dev/null || missing=1
for tool in qemu-system-x86_64 libvirtd virtlogd virsh virt-xml-validate xmllint promtool \
	sshd ssh-keygen nix-instantiate zsh fish; do
	command -v "$tool" >/dev/null || missing=1
done
if [ "$missing" = 1 ]; then
	bash scripts/install-deps.sh
fi
if [ "${1:-}" = "--asan" ]; then
	exec make -j"$(nproc)" asan
fi
make -j"$(nproc)" all
exec make test
