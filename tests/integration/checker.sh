#!/usr/bin/env bash
# The checker: five hosts (network namespaces), twenty process services and a
# real VM (the test guest under TCG), CHECKER_SECONDS (default 180) of random
# faults, one at a time: a host killed (every process) and started again, a
# host cut off and healed, the leader's host cut off and healed. Meanwhile a
# writer puts records through random nodes and notes each write the API
# acknowledged, and every 100 ms fo_sample.py reads which services really run
# on which host from the hosts' process tables. It fails on
#   - any on_partition = "stop" service running on two hosts in one sample,
#   - any acknowledged write missing at the end,
#   - any service not running again (on one host, healthy) 10 s after the
#     last fault healed,
# and prints those three counts. Needs root.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hosts.sh"
. "$(dirname "$0")/lib_failover.sh"
bx_setup
HOSTS=5
SECONDS_OF_FAULTS=${CHECKER_SECONDS:-180}
bx_hosts_setup $HOSTS
bx_guest

bx_start_node 1 --bootstrap
bx_wait 20 "leader" bx_has_leader 1
for i in $(seq 2 $HOSTS); do bx_start_node "$i" --join "$(bx_addr 1)"; done
voters() { [ "$(curl -s -m 2 "http://$(bx_addr 1)/v1/cluster" | jq '[.members[] | select(.role == "voter")] | length')" = $HOSTS ]; }
bx_check "five hosts, five voters" bx_wait 60 "voters" voters

names=()
BX_FO_INTERVAL=500
for i in $(seq -w 1 20); do
	bx_fo_spec "p$i"
	names+=("p$i")
done
bx_fo_vm_spec vm1 8080
names+=(vm1)
for s in "${names[@]}"; do bx_cli 1 start --no-wait "$BX_TMP/$s.toml" >/dev/null; done

# From any node that answers: the services as the cluster sees them.
services_json() {
	local i
	for i in $(seq 1 $HOSTS); do
		curl -sf -m 2 "http://$(bx_addr "$i")/v1/services" 2>/dev/null && return 0
	done
	return 1
}
# Services (of those named) not running, healthy, on exactly the host the
# cluster places them on, per the last sample of the process tables.
not_running() {
	local json sample s node at bad=0
	json=$(services_json) || { echo "${#names[@]}"; return; }
	sample=$(python3 "$BX_ROOT/tests/integration/fo_sample.py" --once "$BX_TMP/www-" 0 $(for i in $(seq 1 $HOSTS); do bx_host_ns "$i"; done))
	for s in "${names[@]}"; do
		node=$(jq -r --arg s "$s" '.[] | select(.name == $s) | "\(.node) \(.state) \(.health)"' <<<"$json")
		at=$(tr ' ' '\n' <<<"$sample" | sed -n "s/^$s://p")
		[ "${node%% *}" != 0 ] && [ "$node" = "${node%% *} running healthy" ] &&
			[ "$at" = "${node%% *}" ] || bad=$((bad + 1))
	done
	echo "$bad"
}
all_running() { [ "$(not_running)" = 0 ]; }
bx_check "21 services (one a VM) run, healthy" bx_wait 120 "running" all_running

# --- the writer: acknowledged writes ---------------------------------------------
: >"$BX_TMP/acked"
(
	trap 'exit 0' TERM
	n=0
	while :; do
		n=$((n + 1))
		i=$((RANDOM % HOSTS + 1))
		body="{\"spec\":{\"service\":{\"name\":\"w$n\",\"driver\":\"process\"},\"process\":{\"command\":[\"true\"]}},\"start\":false}"
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 3 -X PUT -H 'Content-Type: application/json' \
			--data-binary "$body" "http://$(bx_addr "$i")/v1/services/w$n" 2>/dev/null)
		[ "$code" = 200 ] && echo "w$n" >>"$BX_TMP/acked"
		sleep 0.2
	done
) &
WRITER=$!
stop_writer() { kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null; }
BX_AT_EXIT+=(stop_writer)

bx_fo_sample_start "${names[@]}"

# --- faults, one at a time ----------------------------------------------------------
leader_host() { local i l; for i in $(seq 1 $HOSTS); do l=$(bx_leader_of "$i" 2>/dev/null) && [ -n "$l" ] && { echo "$l"; return; }; done; echo 1; }
kills=0 cuts=0 isolations=0
end=$((SECONDS + SECONDS_OF_FAULTS))
while [ $SECONDS -lt $end ]; do
	kind=$((RANDOM % 3))
	hold=$((3 + RANDOM % 6))
	case $kind in
	0)
		h=$((RANDOM % HOSTS + 1))
		echo "     $(date +%T) kill host $h for ${hold}s"
		bx_host_kill "$h"
		sleep "$hold"
		bx_start_node "$h"
		kills=$((kills + 1))
		;;
	1 | 2)
		if [ $kind = 2 ]; then h=$(leader_host); what="isolate the leader, host $h"; isolations=$((isolations + 1)); else
			h=$((RANDOM % HOSTS + 1)); what="cut host $h"; cuts=$((cuts + 1)); fi
		echo "     $(date +%T) $what for ${hold}s"
		bx_host_cut "$h"
		sleep "$hold"
		bx_host_heal "$h"
		;;
	esac
	sleep $((2 + RANDOM % 4))
done
healed_at=$SECONDS
echo "     $(date +%T) faults over: $kills kills, $cuts cuts, $isolations leader isolations"

# --- after the faults ------------------------------------------------------------------
# Every service runs again within 10 s: count those that do not.
deadline=$((healed_at + 10))
late=${#names[@]}
while [ $SECONDS -le $deadline ]; do
	late=$(not_running)
	[ "$late" = 0 ] && break
	sleep 0.5
done
stop_writer
bx_fo_sample_stop
acked=$(grep -c . "$BX_TMP/acked")
json=$(services_json)
missing=0
while read -r w; do
	jq -e --arg w "$w" 'any(.[]; .name == $w)' <<<"$json" >/dev/null || missing=$((missing + 1))
done <"$BX_TMP/acked"

echo "     checker: $BX_FO_SAMPLES samples; on two hosts at once: $BX_FO_DOUBLES;" \
	"acknowledged writes missing: $missing of $acked; not running 10 s after the faults: $late"
bx_check "faults happened ($kills kills, $cuts cuts, $isolations leader isolations)" [ $((kills + cuts + isolations)) -ge 3 ]
bx_check "the hosts' process tables sampled every ~100 ms ($BX_FO_SAMPLES samples)" \
	[ "$BX_FO_SAMPLES" -ge $((SECONDS_OF_FAULTS * 5)) ]
bx_check "no on_partition = \"stop\" service on two hosts at once" [ "$BX_FO_DOUBLES" = 0 ]
bx_check "writes were acknowledged during the faults ($acked)" [ "$acked" -gt 0 ]
bx_check "no acknowledged write missing" [ "$missing" = 0 ]
bx_check "every service running again within 10 s of the last heal" [ "$late" = 0 ]
bx_finish
