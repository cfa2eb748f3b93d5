#!/usr/bin/env bash
# Concurrent writes are batched (several commands in one Raft entry) and each
# is still answered with its own result: its own record, or its own error.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

bx_start_node 1 --bootstrap
bx_start_node 2 --join "$(bx_addr 1)"
bx_start_node 3 --join "$(bx_addr 1)"
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
voters() { curl -sf "http://$(bx_addr 1)/v1/cluster" | jq -e '[.members[] | select(.role=="voter")] | length == 3' >/dev/null; }
bx_wait 30 "three voters" voters
spec() { printf '{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/echo","%s"]}},"start":false}' "$1"; }
before=$(curl -s "http://$(bx_addr 1)/v1/cluster" | jq '.proposals')

# 64 creates at once on the leader, 32 through a follower (forwarded), and 16
# starts of services that do not exist (rejected by the FSM, inside batches).
out=$BX_TMP/answers
mkdir -p "$out"
jobs=()
for i in $(seq 1 64); do bx_curl 1 PUT "/v1/services/c$i" "$(spec "c$i")" >"$out/c$i" & jobs+=($!); done
for i in $(seq 1 32); do bx_curl 2 PUT "/v1/services/f$i" "$(spec "f$i")" >"$out/f$i" & jobs+=($!); done
for i in $(seq 1 16); do bx_curl 1 POST "/v1/services/missing$i/start" >"$out/missing$i" & jobs+=($!); done
wait "${jobs[@]}" # not the daemons

own=0
for n in $(seq 1 64 | sed 's/^/c/') $(seq 1 32 | sed 's/^/f/'); do
	f=$out/$n
	if [ "$(tail -n 1 "$f")" = 200 ] &&
		sed '$d' "$f" | jq -e --arg n "$n" '.name == $n and .spec.process.command[1] == $n' >/dev/null; then
		own=$((own + 1))
	else
		echo "    $n: $(head -c 200 "$f")"
	fi
done
bx_check "all 96 writes answered 200 with their own record" [ "$own" = 96 ]
missing=0
for i in $(seq 1 16); do
	f=$out/missing$i
	[ "$(tail -n 1 "$f")" = 404 ] && sed '$d' "$f" | grep -q "missing$i" && missing=$((missing + 1))
done
bx_check "all 16 starts of missing services answered 404 naming their service" [ "$missing" = 16 ]

after=$(curl -s "http://$(bx_addr 1)/v1/cluster" | jq '.proposals')
entries=$(jq -n --argjson a "$after" --argjson b "$before" '$a.entries - $b.entries')
commands=$(jq -n --argjson a "$after" --argjson b "$before" '$a.commands - $b.commands')
echo "    $commands commands in $entries entries"
bx_check "the leader proposed them in fewer entries than commands" [ "$entries" -lt "$commands" ]

count() { curl -s -m 5 "http://$(bx_addr "$1")/v1/services" | jq 'length'; }
for n in 1 2 3; do
	bx_wait 15 "node $n has the 96 services" bash -c "[ \"\$(curl -s -m 5 http://$(bx_addr $n)/v1/services | jq length)\" = 96 ]" >/dev/null
	bx_check "node $n holds all 96 services" [ "$(count "$n")" = 96 ]
done
bx_finish
