#!/usr/bin/env bash
# Write throughput and latency: a 3-node Blixard cluster against a 3-node etcd
# cluster on loopback, the same load tool (wrk, one new record per request),
# 1 and 64 connections, alternating rounds side by side in one run.
#
#   bench/api_writes.sh [ROUNDS=3] [SECONDS=10]
#
# Prints one line per run and the medians. Writes go to the leader of each
# cluster (Blixard: a follower would forward; etcd: any member proxies).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-10}
BIN=${BX_BIN:-$PWD/build/blixard} # BX_BIN: another build, to compare
TMP=$(mktemp -d /tmp/bx-bench-XXXXXX)
. scripts/lib_secret.sh
bx_secret_setup "$TMP"
# A binary from before the cluster secret (BX_BIN=…, to compare) takes no such flag
SECRET_ARGS=()
if [[ $("$BIN" daemon --help 2>&1) == *--cluster-secret-file* ]]; then # (grep -q: SIGPIPE)
	SECRET_ARGS=(--cluster-secret-file "$BX_SECRET_FILE")
fi
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd is missing: apt-get install etcd-server" >&2; exit 1; }

B=27000
wait_for() { # SECS CMD...
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { echo "timed out: $*" >&2; return 1; }
		sleep 0.1
	done
}

# --- Blixard: node 1 bootstraps, 2 and 3 join
for n in 1 2 3; do
	args=(--node-id "$n" --name "n$n" --data-dir "$TMP/bx$n" --api "127.0.0.1:$((B + n * 2))"
		--raft "127.0.0.1:$((B + n * 2 + 1))" --socket "$TMP/bx$n.sock" --log-level warn
		"${SECRET_ARGS[@]}")
	if [ "$n" = 1 ]; then args+=(--bootstrap); else args+=(--join "127.0.0.1:$((B + 2))"); fi
	"$BIN" daemon "${args[@]}" >>"$TMP/bx$n.log" 2>&1 &
	PIDS+=($!)
	[ "$n" = 1 ] && wait_for 15 bash -c "curl -sf http://127.0.0.1:$((B + 2))/v1/cluster | jq -e .leader.id"
done
voters() { curl -sf "http://127.0.0.1:$((B + 2))/v1/cluster" | jq -e '[.members[] | select(.role=="voter")] | length == 3'; }
wait_for 30 voters || { tail -n 20 "$TMP"/bx*.log >&2; exit 1; }
BX_URL="http://127.0.0.1:$((B + 2))"

# --- etcd: a static 3-member cluster
E=28000
cluster=""
for n in 1 2 3; do cluster+="e$n=http://127.0.0.1:$((E + n * 2 + 1)),"; done
cluster=${cluster%,}
for n in 1 2 3; do
	etcd --name "e$n" --data-dir "$TMP/etcd$n" \
		--listen-client-urls "http://127.0.0.1:$((E + n * 2))" \
		--advertise-client-urls "http://127.0.0.1:$((E + n * 2))" \
		--listen-peer-urls "http://127.0.0.1:$((E + n * 2 + 1))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((E + n * 2 + 1))" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		--log-level error >>"$TMP/etcd$n.log" 2>&1 &
	PIDS+=($!)
done
etcd_leader() {
	for n in 1 2 3; do
		local u="http://127.0.0.1:$((E + n * 2))"
		local s
		s=$(curl -sf -X POST "$u/v3/maintenance/status" -d '{}') || continue
		if [ "$(jq -r .leader <<<"$s")" = "$(jq -r .header.member_id <<<"$s")" ]; then
			echo "$u"
			return 0
		fi
	done
	return 1
}
wait_for 30 etcd_leader
ETCD_URL=$(etcd_leader)

run() { # system conns url script
	local threads=$(($2 < 2 ? 1 : 2))
	local out
	out=$(wrk -t"$threads" -c"$2" -d"${SECS}s" --latency -s "bench/$4" "$3" | grep '^RESULT')
	local req err p50 p99 dur
	req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out")
	err=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out")
	p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$out")
	p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$out")
	dur=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$out")
	local rate=$((req * 1000000 / dur))
	echo "$1 c=$2 writes/s=$rate p50_ms=$(ms "$p50") p99_ms=$(ms "$p99") errors=$err"
	echo "$1 $2 $rate $p50 $err $p99" >>"$TMP/results"
}
ms() { awk "BEGIN{printf \"%.2f\", $1/1000}"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
for r in $(seq "$ROUNDS"); do
	run blixard 1 "$BX_URL" put_service.lua
	run etcd 1 "$ETCD_URL" etcd_put.lua
	run blixard 64 "$BX_URL" put_service.lua
	run etcd 64 "$ETCD_URL" etcd_put.lua
done
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "medians over $ROUNDS rounds of ${SECS}s:"
for c in 1 64; do
	for s in blixard etcd; do
		rate=$(awk -v s=$s -v c=$c '$1==s && $2==c {print $3}' "$TMP/results" | median)
		p50=$(awk -v s=$s -v c=$c '$1==s && $2==c {print $4}' "$TMP/results" | median)
		p99=$(awk -v s=$s -v c=$c '$1==s && $2==c {print $6}' "$TMP/results" | median)
		errs=$(awk -v s=$s -v c=$c '$1==s && $2==c {e+=$5} END{print e+0}' "$TMP/results")
		printf "%-8s c=%-3s writes/s=%-7s p50_ms=%-6s p99_ms=%-7s errors=%s\n" "$s" "$c" \
			"$rate" "$(ms "$p50")" "$(ms "$p99")" "$errs"
		eval "${s}_${c}=$rate"
		eval "${s}_${c}_p50=$p50"
	done
done
echo "ratio blixard/etcd at 64 connections: $(awk "BEGIN{printf \"%.2f\", $blixard_64/$etcd_64}")"
echo "p50 at 1 connection: blixard $(awk "BEGIN{printf \"%.2f\", $blixard_1_p50/1000}") ms, etcd $(awk "BEGIN{printf \"%.2f\", $etcd_1_p50/1000}") ms"
