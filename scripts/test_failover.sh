#!/usr/bin/env bash
# test_failover.sh - the classic failover scenario on this machine, timed.
#
#   scripts/test_failover.sh [--hosts N] [--driver process|qemu] [--keep]
#
# Makes N hosts (default 3): as root, network namespaces on a bridge, each a
# host of its own; otherwise nodes on loopback ports. Starts a Blixard node on
# each, starts one service with an HTTP health check (process: busybox httpd;
# qemu: the test guest under TCG), which the scheduler puts on node 1. Then
# kills host 1 (every process in it; on loopback, node 1's daemon and its
# instance) and waits until the service runs and is healthy on another host,
# read from the cluster and from that host's process table. Prints what
# happened and how long it took. Everything made is removed at the end
# (--keep: the cluster's files are kept for a look at the logs).
# Uses build/blixard (run make first). Exit 0 if the service came back.
set -u
cd "$(dirname "$0")/.."
HOSTS=3
DRIVER=process
while [ $# -gt 0 ]; do
	case $1 in
	--hosts) HOSTS=${2:-}; shift 2 ;;
	--driver) DRIVER=${2:-}; shift 2 ;;
	--keep) export BX_KEEP=1; shift ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "test_failover.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[[ "$HOSTS" =~ ^[2-9]$ ]] || { echo "test_failover.sh: --hosts must be 2..9, got '$HOSTS'" >&2; exit 2; }
case $DRIVER in process | qemu) ;; *) echo "test_failover.sh: --driver must be process or qemu, got '$DRIVER'" >&2; exit 2 ;; esac
[ -x build/blixard ] || { echo "test_failover.sh: build/blixard not found: run make" >&2; exit 1; }
command -v jq >/dev/null || { echo "test_failover.sh: needs jq (scripts/install-deps.sh)" >&2; exit 1; }

. tests/integration/lib.sh
. tests/integration/lib_hosts.sh
. tests/integration/lib_failover.sh
bx_setup
if [ "$(id -u)" = 0 ]; then
	bx_hosts_setup "$HOSTS"
	where="hosts: network namespaces $(bx_host_ns 1)..$HOSTS"
else
	BX_HOSTS=0
	where="loopback ports (not root: no network namespaces)"
fi
now_ms() { echo $(($(date +%s%N) / 1000000)); }
say() { printf '%s\n' "$*"; }
fail() { say "FAILED: $*"; say "logs: $BX_TMP/n*/log (kept with --keep)"; exit 1; }

say "starting $HOSTS Blixard nodes on $where"
bx_start_node 1 --bootstrap
bx_wait 20 "a leader" bx_has_leader 1 || fail "node 1 did not start a cluster"
for i in $(seq 2 "$HOSTS"); do bx_start_node "$i" --join "$(bx_addr 1)"; done
members() { [ "$(curl -s -m 2 "http://$(bx_addr 1)/v1/cluster" | jq '.members | length')" = "$HOSTS" ]; }
bx_wait 60 "$HOSTS members" members || fail "the nodes did not form one cluster"

if [ "$DRIVER" = qemu ]; then
	say "building the test guest (scripts/build-guest-image.sh)"
	bx_guest
	bx_fo_vm_spec web 8080
else
	bx_fo_spec web
fi
port=$(sed -n 's/^port = //p' "$BX_TMP/web.toml")
bx_cli 1 start --no-wait "$BX_TMP/web.toml" >/dev/null || fail "blixard start"
field() { curl -s -m 2 "http://$(bx_addr "$1")/v1/services/web" | jq -r ".$2 // empty"; }
healthy_on() { # ASKED NODE
	[ "$(field "$1" node)" = "$2" ] && [ "$(field "$1" state)" = running ] &&
		[ "$(field "$1" health)" = healthy ]
}
bx_wait 120 "web healthy on node 1" healthy_on 1 1 || fail "service 'web' did not become healthy on node 1"
say "service 'web' ($DRIVER driver, health: HTTP on port $port) runs, healthy, on node 1"

survivor=2
if [ "$BX_HOSTS" -gt 0 ]; then
	say "killing host 1: every process in $(bx_host_ns 1)"
	t0=$(now_ms)
	bx_host_kill 1
else
	say "killing node 1: its daemon and its instance"
	t0=$(now_ms)
	kill -9 "${BX_PIDS[1]}" 2>/dev/null
	while IFS= read -r f; do
		read -r p _ <"$f" 2>/dev/null && kill -9 -- "-$p" "$p" 2>/dev/null
	done < <(find "$(bx_dir 1)" -name pid -path '*/vms/*' 2>/dev/null)
	unset "BX_PIDS[1]"
fi
moved() {
	local n
	n=$(field "$survivor" node) && [ -n "$n" ] && [ "$n" != 0 ] && [ "$n" != 1 ] &&
		healthy_on "$survivor" "$n" || return 1
	[ "$BX_HOSTS" = 0 ] || [ -n "$(bx_fo_pids_on "$n" web)" ]
}
last=""
deadline=$((SECONDS + 120))
until moved; do
	[ $SECONDS -lt $deadline ] || fail "service 'web' did not come back within 120 s"
	state="$(field "$survivor" state)/$(field "$survivor" health) on node $(field "$survivor" node)"
	[ "$state" = "$last" ] || say "  $((($(now_ms) - t0)))ms  web: $state"
	last=$state
	sleep 0.05
done
t1=$(now_ms)
node=$(field "$survivor" node)
say "  $((t1 - t0))ms  web: running/healthy on node $node"
say
say "failover: $(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f", ms / 1000 }') s from the kill of host 1 to 'web' healthy on node $node"
say "(node 1 declared down after node_timeout_ms, default 2250 ms, of silence;"
say " see docs/FAILOVER.md and bench/failover.sh for the repeated measurement)"
