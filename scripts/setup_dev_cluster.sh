#!/usr/bin/env bash
# setup_dev_cluster.sh - an N-node Blixard cluster on this machine, for development.
#
#   scripts/setup_dev_cluster.sh [N]      start N nodes (default 3), print how to reach them
#   scripts/setup_dev_cluster.sh --stop   stop every node and remove what was made
#
# As root each node is a host of its own: a network namespace blxdev-I with
# the address 10.77.0.I on the bridge blxdev0 (10.77.0.254), API on :7000 and
# Raft on :7001, as on separate machines. Otherwise (or with
# BLIXARD_DEV_NETNS=0) the nodes share loopback: API 127.0.0.1:7100+2I, Raft +1.
# Node 1 bootstraps; the others join it with an invite, as new hosts would.
# An admin token for the TCP API is left in $BLIXARD_DEV_DIR/token. Data,
# logs and pids live in $BLIXARD_DEV_DIR (default /tmp/blixard-dev). Uses
# build/blixard (run make).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BLIXARD_BIN:-$PWD/build/blixard}
DIR=${BLIXARD_DEV_DIR:-/tmp/blixard-dev}
NET=10.77.0

netns_mode() { [ "$(id -u)" = 0 ] && [ "${BLIXARD_DEV_NETNS:-1}" != 0 ]; }
ip_of() { if [ -f "$DIR/netns" ]; then echo "$NET.$1"; else echo 127.0.0.1; fi; }
api_of() { if [ -f "$DIR/netns" ]; then echo "$(ip_of "$1"):7000"; else echo "127.0.0.1:$((7100 + 2 * $1))"; fi; }
raft_of() { if [ -f "$DIR/netns" ]; then echo "$(ip_of "$1"):7001"; else echo "127.0.0.1:$((7101 + 2 * $1))"; fi; }

stop() {
	local f p i
	[ -d "$DIR" ] || { echo "no dev cluster in $DIR"; return 0; }
	for f in "$DIR"/n*/pid; do
		[ -f "$f" ] && read -r p <"$f" && kill -9 "$p" 2>/dev/null || true
	done
	# instances the nodes started (process, qemu, microvm-nix drivers)
	while IFS= read -r f; do
		read -r p _ <"$f" 2>/dev/null && kill -9 -- "-$p" "$p" 2>/dev/null || true
	done < <(find "$DIR" -name pid -path '*/vms/*' 2>/dev/null)
	if [ -f "$DIR/netns" ]; then
		for i in $(seq 1 "$(cat "$DIR/netns")"); do
			for p in $(ip netns pids "blxdev-$i" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
			ip link del "blxdev-v$i" 2>/dev/null || true
			ip netns del "blxdev-$i" 2>/dev/null || true
		done
		ip link del blxdev0 2>/dev/null || true
	fi
	rm -rf "$DIR"
	echo "dev cluster stopped; $DIR removed"
}

make_hosts() {
	local n=$1 i
	ip link add blxdev0 type bridge
	ip addr add "$NET.254/24" dev blxdev0
	ip link set blxdev0 up
	for i in $(seq 1 "$n"); do
		ip netns add "blxdev-$i"
		ip link add "blxdev-v$i" type veth peer name eth0 netns "blxdev-$i"
		ip link set "blxdev-v$i" master blxdev0 up
		ip -n "blxdev-$i" addr add "$NET.$i/24" dev eth0
		ip -n "blxdev-$i" link set eth0 up
		ip -n "blxdev-$i" link set lo up
	done
	echo "$n" >"$DIR/netns"
}

start_node() { # I [flags]
	local i=$1 run=()
	shift
	mkdir -p "$DIR/n$i"
	[ -f "$DIR/netns" ] && run=(ip netns exec "blxdev-$i")
	"${run[@]}" "$BIN" daemon --node-id "$i" --name "node$i" --data-dir "$DIR/n$i/data" \
		--api "$(api_of "$i")" --raft "$(raft_of "$i")" --socket "$DIR/n$i/api.sock" \
		"$@" >>"$DIR/n$i/log" 2>&1 &
	echo $! >"$DIR/n$i/pid"
}

wait_for() { # SECONDS WHAT COMMAND...
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			echo "setup_dev_cluster.sh: timed out waiting for $what (logs in $DIR/n*/log)" >&2
			exit 1
		fi
		sleep 0.2
	done
}
# node 1's local socket needs no token
cluster() { curl -s -m 2 --unix-socket "$DIR/n1/api.sock" http://node1/v1/cluster; }
all_members() { [ "$(cluster | jq '.members | length')" = "$N" ]; }
has_leader() { cluster | jq -e '.leader.id' >/dev/null; }

case "${1:-3}" in
--stop) stop; exit 0 ;;
-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
N=${1:-3}
if ! [[ "$N" =~ ^[1-9]$ ]]; then
	echo "setup_dev_cluster.sh: N must be 1..9, got '$N'" >&2
	exit 2
fi
[ -x "$BIN" ] || { echo "setup_dev_cluster.sh: $BIN not found: run make" >&2; exit 1; }
if [ -e "$DIR" ]; then
	echo "setup_dev_cluster.sh: $DIR exists: a dev cluster runs already ('$0 --stop' first)" >&2
	exit 1
fi
mkdir -p "$DIR"
if netns_mode; then
	make_hosts "$N"
fi
echo "starting $N node(s)…"
start_node 1 --bootstrap
wait_for 20 "node 1 to lead" has_leader
if [ "$N" -gt 1 ]; then
	invite=$("$BIN" --socket "$DIR/n1/api.sock" --json invite create --uses $((N - 1)) --ttl 10m |
		jq -r .token)
	for i in $(seq 2 "$N"); do
		start_node "$i" --join-token "$invite"
	done
fi
wait_for 60 "$N members" all_members
(umask 077 && "$BIN" --socket "$DIR/n1/api.sock" --json token create --role admin --name dev |
	jq -r .token >"$DIR/token")

echo
echo "dev cluster of $N node(s) in $DIR ($([ -f "$DIR/netns" ] && echo "one network namespace per node, blxdev-1..$N" || echo "loopback ports")):"
for i in $(seq 1 "$N"); do
	echo "  node $i  API $(api_of "$i")  log $DIR/n$i/log"
done
echo
echo "  export BLIXARD_TOKEN=\$(cat $DIR/token)   # the TCP API needs a token"
echo "  $BIN --addr $(api_of 1) nodes"
echo "  $BIN --addr $(api_of 1) start examples/simple_service.toml"
echo "  $0 --stop"
