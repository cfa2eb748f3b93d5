#!/usr/bin/env bash
# A new user's first command: install what is needed, build, and run a one-node
# Blixard cluster with the example service. Run as root on Debian bookworm.
#
#   scripts/quickstart.sh          start (or reuse) the cluster, start the example
#   scripts/quickstart.sh --stop   remove the example service and stop the daemon
#
# The example is examples/simple_service.toml: the test guest (Debian's cloud
# kernel + a busybox initramfs serving HTTP, scripts/build-guest-image.sh) as a
# qemu microVM, published on port 8080. It runs under software emulation (TCG)
# so that it works anywhere, inside VMs without nested virtualisation too;
# BLIXARD_ACCEL=auto uses KVM where it works.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then # it installs packages and runs VMs: root, or through sudo
	command -v sudo >/dev/null && exec sudo bash "$0" "$@"
	echo "$(basename "$0"): run it as root" >&2
	exit 1
fi
cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=${BLIXARD_QUICKSTART_DIR:-/var/lib/blixard-quickstart}
SOCK=$DATA/blixard.sock
PIDFILE=$DATA/daemon.pid
LOG=$DATA/daemon.log
export BLIXARD_SOCKET=$SOCK

if [ "${1:-}" = "--stop" ]; then
	if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		# services outlive the daemon by design: remove the example first
		"$ROOT/build/blixard" remove web 2>/dev/null || true
		deadline=$((SECONDS + 15))
		while [ -f "$DATA/node/vms/web/pid" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
		kill -TERM "$(cat "$PIDFILE")"
		rm -f "$PIDFILE"
		echo "stopped the quickstart daemon (data in $DATA)"
	else
		echo "no quickstart daemon is running"
	fi
	exit 0
fi

if ! pkg-config --exists raft libh2o libuv lmdb libcjson libcurl libvirt jemalloc 2>/dev/null; then
	echo "== installing dependencies (Debian packages, libraft 0.22 from bookworm-backports)"
	bash scripts/install-deps.sh
fi
echo "== building"
make -j"$(nproc)" build/blixard >/dev/null
BIN=$ROOT/build/blixard

mkdir -p "$DATA"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
	echo "== the quickstart daemon is already running (pid $(cat "$PIDFILE"))"
else
	echo "== starting a one-node cluster (data in $DATA, log in $LOG)"
	setsid "$BIN" daemon --data-dir "$DATA/node" --bootstrap --api 127.0.0.1:7000 \
		--raft 127.0.0.1:7001 --socket "$SOCK" >>"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
fi

deadline=$((SECONDS + 30))
until "$BIN" --json status 2>/dev/null | jq -e '.cluster.leader.id' >/dev/null 2>&1; do
	if [ $SECONDS -ge $deadline ] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		echo "the daemon did not come up; its log says:" >&2
		tail -n 20 "$LOG" >&2
		exit 1
	fi
	sleep 0.2
done

echo "== building the example guest (scripts/build-guest-image.sh)"
IMG=$(bash scripts/build-guest-image.sh | tail -n 1)
ACCEL=${BLIXARD_ACCEL:-tcg}
# Under TCG the guest's TSC calibration against the emulated PIT can fail and
# hang its boot; the host's TSC rate on its command line skips it.
KHZ=$(awk '/^cpu MHz/ {printf "%d", $4 * 1000; exit}' /proc/cpuinfo)
sed -e "s#/var/lib/blixard/images#$IMG#g" \
	-e "s/^accel = .*/accel = \"$ACCEL\"/" \
	-e "s/^cmdline = \"\(.*\)\"/cmdline = \"\1${KHZ:+ tsc_early_khz=$KHZ}\"/" \
	examples/simple_service.toml >"$DATA/web.toml"

echo "== starting the example microVM (examples/simple_service.toml, accel $ACCEL)"
# 'start' waits until the guest answers its health check, showing the steps
if ! "$BIN" start --timeout 180 "$DATA/web.toml"; then
	echo "the example did not turn healthy; 'blixard status web' and 'blixard logs web' say:" >&2
	"$BIN" status web >&2 || true
	"$BIN" logs web 2>&1 | tail -n 20 >&2 || true
	exit 1
fi
echo
"$BIN" status
echo
echo "The guest answers: $(curl -s -m 5 http://127.0.0.1:8080/)"
echo
echo "Try:  BLIXARD_SOCKET=$SOCK $BIN logs web"
echo "      BLIXARD_SOCKET=$SOCK $BIN stop web"
echo "Stop: scripts/quickstart.sh --stop"
