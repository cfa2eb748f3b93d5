#!/usr/bin/env bash
# Discovery: three fresh daemons started at once with --discovery tailscale
# --bootstrap-expect 3, each with a stand-in tailscaled
# (tests/integration/localapi_standin.py) naming the other two, on the
# loopback addresses 127.0.0.1-3 (one API port for all, as on a tailnet).
# Measures, per run, from the moment the daemons are started: a leader
# elected (all three agree on it), and all three voters. Median of RUNS.
#   bench/discovery.sh [RUNS]     (default 11)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-11}
BIN=${BIN:-$PWD/build/blixard}
PORT=27300
TMP=$(mktemp -d /tmp/bx-discovery-bench-XXXXXX)
. scripts/lib_secret.sh
bx_secret_setup "$TMP"
PIDS=()
stop_all() {
	[ ${#PIDS[@]} -eq 0 ] || kill -9 "${PIDS[@]}" 2>/dev/null || true
	[ ${#PIDS[@]} -eq 0 ] || wait "${PIDS[@]}" 2>/dev/null || true
	PIDS=()
}
trap 'stop_all; rm -rf "$TMP"' EXIT
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
leader_of() { curl -s -m 1 "http://127.0.0.$1:$PORT/v1/cluster" | jq -r '.leader.id // empty' 2>/dev/null; }
agreed() {
	local l
	l=$(leader_of 1)
	[ -n "$l" ] && [ "$(leader_of 2)" = "$l" ] && [ "$(leader_of 3)" = "$l" ]
}
voters3() {
	[ "$(curl -s -m 1 "http://127.0.0.1:$PORT/v1/cluster" |
		jq '[.members[]? | select(.role == "voter")] | length' 2>/dev/null)" = 3 ]
}
doc() { # N: host N's status document, peers the other two
	local peers="{}" m
	for m in 1 2 3; do
		[ "$m" = "$1" ] && continue
		peers=$(jq -c --arg m "$m" '. + {("nodekey:" + $m): {HostName: ("h" + $m),
			TailscaleIPs: [("127.0.0." + $m)], Tags: ["tag:blixard"], Online: true}}' <<<"$peers")
	done
	jq -n --arg n "$1" --argjson p "$peers" '{BackendState: "Running",
		Self: {HostName: ("h" + $n), TailscaleIPs: [("127.0.0." + $n)], Online: true}, Peer: $p}'
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
for n in 1 2 3; do
	doc "$n" >"$TMP/$n.json"
	python3 tests/integration/localapi_standin.py "$TMP/$n.sock" "$TMP/$n.json" &
	SPID[n]=$!
done
trap 'stop_all; kill "${SPID[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT
for n in 1 2 3; do until [ -S "$TMP/$n.sock" ]; do sleep 0.05; done; done

: >"$TMP/leader" && : >"$TMP/voters"
for run in $(seq 1 "$RUNS"); do
	rm -rf "$TMP"/d*
	t0=$(now_ms)
	for n in 1 2 3; do
		"$BIN" daemon --name "h$n" --data-dir "$TMP/d$n" --api "127.0.0.$n:$PORT" \
			--raft "127.0.0.$n:$((PORT + 1))" --socket "$TMP/d$n.sock" --log-level warn \
			--discovery tailscale --tailscale-socket "$TMP/$n.sock" --bootstrap-expect 3 \
			--cluster-secret-file "$BX_SECRET_FILE" >>"$TMP/log" 2>&1 &
		PIDS+=($!)
	done
	until agreed; do
		[ $(($(now_ms) - t0)) -lt 30000 ] || { echo "run $run: no leader in 30 s" >&2; tail "$TMP/log" >&2; exit 1; }
		sleep 0.02
	done
	t1=$(now_ms)
	until voters3; do
		[ $(($(now_ms) - t0)) -lt 30000 ] || { echo "run $run: not 3 voters in 30 s" >&2; exit 1; }
		sleep 0.02
	done
	t2=$(now_ms)
	echo "run $run: leader elected in $((t1 - t0)) ms, 3 voters in $((t2 - t0)) ms"
	echo $((t1 - t0)) >>"$TMP/leader"
	echo $((t2 - t0)) >>"$TMP/voters"
	stop_all
done
echo "leader elected: median $(median <"$TMP/leader") ms (min $(sort -n "$TMP/leader" | head -1), max $(sort -n "$TMP/leader" | tail -1))"
echo "three voters:   median $(median <"$TMP/voters") ms (min $(sort -n "$TMP/voters" | head -1), max $(sort -n "$TMP/voters" | tail -1))"
