#!/usr/bin/env bash
# A new user's first command: install what is needed, build, and run a one-node
# Blixard cluster with the example service. Run as root on Debian bookworm.
#
#   sudo scripts/quickstart.sh          start (or reuse) the cluster, start the example
#   sudo scripts/quickstart.sh --stop   remove the example service and stop the daemon
set -euo pipefail
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
		"$ROOT/build/blixard" remove ticker 2>/dev/null || true
		deadline=$((SECONDS + 15))
		while [ -f "$DATA/node/vms/ticker/pid" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
		kill -TERM "$(cat "$PIDFILE")"
		rm -f "$PIDFILE"
		echo "stopped the quickstart daemon (data in $DATA)"
	else
		echo "no quickstart daemon is running"
	fi
	exit 0
fi

if ! pkg-config --exists raft libh2o libuv lmdb libcjson libcurl libvirt 2>/dev/null; then
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

echo "== starting the example service (examples/process_service.toml)"
"$BIN" start examples/process_service.toml
echo
"$BIN" status
echo
echo "Try:  BLIXARD_SOCKET=$SOCK $BIN logs ticker"
echo "      BLIXARD_SOCKET=$SOCK $BIN stop ticker"
echo "Stop: sudo scripts/quickstart.sh --stop"
