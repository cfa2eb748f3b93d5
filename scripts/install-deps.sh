#!/usr/bin/env bash
# Install everything Blixard needs to build, test and run on Debian bookworm;
# with --runtime, only what a host running the built binary needs.
#
# libraft comes from bookworm-backports (0.22, the maintained cowsql fork):
# bookworm's own 0.15 has Raft safety bugs fixed later. The backports suite is
# enabled by adding it to the machine's existing Debian source entry, so the
# machine's own mirror (whatever it is) serves it.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (it calls apt-get)" >&2
	exit 1
fi

enable_backports() {
	local f=/etc/apt/sources.list.d/debian.sources
	if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 0
	fi
	if [ -f "$f" ]; then
		# deb822: append the suite to the stanza that carries "bookworm-updates"
		# (the main archive, not the security one).
		sed -i -E '/^Suites:.*\bbookworm-updates\b/ s/$/ bookworm-backports/' "$f"
	elif [ -f /etc/apt/sources.list ]; then
		# one-line format: copy the main archive line with the backports suite
		local line
		line=$(grep -E '^deb [^#]* bookworm main' /etc/apt/sources.list | head -n 1)
		if [ -z "$line" ]; then
			echo "install-deps.sh: no bookworm source entry found" >&2
			exit 1
		fi
		echo "${line/ bookworm / bookworm-backports }" >>/etc/apt/sources.list
	fi
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo "install-deps.sh: could not enable bookworm-backports" >&2
		exit 1
	fi
}

enable_backports
export DEBIAN_FRONTEND=noninteractive
apt-get update -q

# --runtime: only what the built binary and its VMs need on a host it is
# deployed to (scripts/deploy_node.sh --install-deps)
if [ "${1:-}" = "--runtime" ]; then
	apt-get install -y -q --no-install-recommends \
		libuv1 liblmdb0 libcjson1 libcurl4 libssl3 libvirt0 libh2o0.13 libjemalloc2 \
		qemu-system-x86 iproute2 procps
	apt-get install -y -q --no-install-recommends -t bookworm-backports libraft0
	echo "install-deps.sh: runtime done"
	exit 0
fi

apt-get install -y -q --no-install-recommends \
	build-essential pkg-config clang llvm libclang-rt-14-dev \
	libuv1-dev liblmdb-dev lmdb-utils libcjson-dev libcurl4-openssl-dev openssl \
	libssl-dev libvirt-dev libh2o-dev libh2o-evloop-dev libjemalloc-dev \
	curl jq iproute2 procps psmisc python3 \
	qemu-system-x86 busybox-static cpio \
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libxml2-utils util-linux \
	wrk etcd-server etcd-client prometheus \
	openssh-server openssh-client nix-bin zsh fish

apt-get install -y -q --no-install-recommends -t bookworm-backports libraft-dev

ver=$(pkg-config --modversion raft)
case "$ver" in
0.1[0-9]* | 0.[0-9] | 0.[0-9].*)
	echo "install-deps.sh: libraft $ver is too old (need >= 0.22)" >&2
	exit 1
	;;
esac
echo "install-deps.sh: done (libraft $ver)"
