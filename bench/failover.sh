#!/usr/bin/env bash
# Failover time: a host is killed, how long until its service runs, healthy,
# on another host. Needs root (hosts are network namespaces, as in the tests:
# tests/integration/lib_hosts.sh) and build/blixard.
#
#   bench/failover.sh [REPS]          (default 20)
#   BENCH_DRIVER=qemu bench/failover.sh   the test guest under TCG instead of
#                                         a process (busybox httpd)
#   BENCH_HOSTS=N                     hosts in the cluster (default 3)
#   BENCH_FLAGS="--lease-ms 250 …"    more daemon flags (other timeouts)
#   BENCH_KILL=leader                 kill the leader's host each time (the
#                                     service is started until it lands there)
#
# Each repetition starts a new service (the scheduler puts it on the least
# loaded host), waits until it is healthy, kills every process of that host
# (SIGKILL: daemon and instance at once) and measures from the kill until the
# cluster reports the service running and healthy on another host and that
# host's process table holds it. The killed host's daemon is then started
# again and the service removed. A kill of the leader's host costs an
# election on top (reported apart). Prints each repetition, then the median
# and max: all, follower hosts, the leader's host.
set -u
cd "$(dirname "$0")/.."
REPS=${1:-20}
DRIVER=${BENCH_DRIVER:-process}
HOSTS=${BENCH_HOSTS:-3}
[ "$(id -u)" = 0 ] || { echo "bench/failover.sh: run it as root (network namespaces)" >&2; exit 1; }
. tests/integration/lib.sh
. tests/integration/lib_hosts.sh
. tests/integration/lib_failover.sh
bx_setup
bx_hosts_setup "$HOSTS"
[ "$DRIVER" = qemu ] && bx_guest

now_ms() { echo $(($(date +%s%N) / 1000000)); }
read -r -a flags <<<"${BENCH_FLAGS:-}"
bx_start_node 1 --bootstrap --log-level warn "${flags[@]}"
bx_wait 20 "leader" bx_has_leader 1 || exit 1
for i in $(seq 2 "$HOSTS"); do bx_start_node "$i" --join "$(bx_addr 1)" --log-level warn "${flags[@]}"; done
members() { [ "$(curl -s -m 2 "http://$(bx_addr 1)/v1/cluster" | jq '[.members[] | select(.role == "voter")] | length')" = "$HOSTS" ]; }
bx_wait 60 "$HOSTS voters" members || { echo "no cluster"; exit 1; }

field() { curl -s -m 2 "http://$(bx_addr "$1")/v1/services/$2" | jq -r ".$3 // empty"; } # ASKED NAME FIELD
healthy_on() { # ASKED NAME NODE
	[ "$(field "$1" "$2" node)" = "$3" ] && [ "$(field "$1" "$2" state)" = running ] &&
		[ "$(field "$1" "$2" health)" = healthy ] && [ -n "$(bx_fo_pids_on "$3" "$2")" ]
}
healthy_placed() { local n; n=$(field "$1" "$2" node) && [ -n "$n" ] && [ "$n" != 0 ] && healthy_on "$1" "$2" "$n"; }
status_of() { curl -s -m 2 "http://$(bx_addr "$1")/v1/nodes" | jq -r ".[] | select(.id == $2) | .status"; }
up() { [ "$(status_of "$1" "$2")" = up ]; }

all=()
follower=()
leader_kills=()
echo "failover, $DRIVER driver, $HOSTS hosts, $REPS repetitions ($(nproc) cores, $(uname -r))${BENCH_FLAGS:+, flags: $BENCH_FLAGS}"
for rep in $(seq 1 "$REPS"); do
	name=b$rep
	if [ "$DRIVER" = qemu ]; then bx_fo_vm_spec "$name" 8080; else bx_fo_spec "$name"; fi
	ask=1
	fillers=()
	for try in $(seq 1 $((HOSTS + 1))); do
		bx_cli "$ask" start --no-wait "$BX_TMP/$name.toml" >/dev/null
		bx_wait 120 "healthy" healthy_placed "$ask" "$name" || { echo "rep $rep: $name never healthy"; exit 1; }
		victim=$(field "$ask" "$name" node)
		leader=$(bx_leader_of "$ask")
		[ "${BENCH_KILL:-}" = leader ] && [ "$victim" != "$leader" ] || break
		# not on the leader: keep it there as load, try a new one
		fillers+=("$name")
		name=b$rep-$try
		if [ "$DRIVER" = qemu ]; then bx_fo_vm_spec "$name" $((8080 + try)); else bx_fo_spec "$name"; fi
	done
	for i in $(seq 1 "$HOSTS"); do [ "$i" != "$victim" ] && ask=$i && break; done
	t0=$(now_ms)
	bx_host_kill "$victim"
	moved() { local n; n=$(field "$ask" "$name" node) && [ -n "$n" ] && [ "$n" != 0 ] && [ "$n" != "$victim" ] && healthy_on "$ask" "$name" "$n"; }
	until moved; do
		[ $(($(now_ms) - t0)) -lt 120000 ] || { echo "rep $rep: $name did not come back in 120 s"; exit 1; }
		sleep 0.05
	done
	ms=$(($(now_ms) - t0))
	kind=follower
	[ "$victim" = "$leader" ] && kind=leader
	printf 'rep %2d: host %s (%s) killed: %s healthy on host %s after %d ms\n' \
		"$rep" "$victim" "$kind" "$name" "$(field "$ask" "$name" node)" "$ms"
	all+=("$ms")
	if [ "$kind" = leader ]; then leader_kills+=("$ms"); else follower+=("$ms"); fi
	bx_start_node "$victim" --log-level warn "${flags[@]}"
	bx_wait 60 "host $victim up" up "$ask" "$victim" || { echo "host $victim did not come back"; exit 1; }
	for f in "$name" "${fillers[@]}"; do bx_cli "$ask" remove "$f" >/dev/null 2>&1; done
done

stats() { # LABEL MS...
	local label=$1
	shift
	[ $# -gt 0 ] || { printf '%-16s -\n' "$label"; return; }
	printf '%s\n' "$@" | sort -n | awk -v label="$label" '
		{ v[NR] = $1 }
		END {
			med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%-16s median %.2f s  max %.2f s  (n=%d)\n", label, med / 1000, v[NR] / 1000, NR
		}'
}
echo
stats "all kills" "${all[@]}"
stats "follower hosts" "${follower[@]}"
stats "leader's host" "${leader_kills[@]}"
