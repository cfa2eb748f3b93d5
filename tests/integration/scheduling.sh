#!/usr/bin/env bash
# The scheduler with real daemons: nodes state what they offer (memory,
# vCPUs) and their labels; services land only where their constraints, their
# anti-affinity and the room left allow, or wait saying why; a deleted
# service makes room; a drained node's services move one by one, each
# stopped before it starts elsewhere (a lock file every instance takes at
# start catches any overlap), those that cannot move stay and say why; an
# eligible node takes work again.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

# put NAME MEMORY_MB CONSTRAINTS ANTI_AFFINITY (JSON arrays)
put() {
	local body
	body=$(jq -nc --arg n "$1" --argjson m "$2" --argjson c "$3" --argjson a "$4" \
		--arg lock "$BX_TMP/lock-$1" --arg doubles "$BX_TMP/doubles" '{
		start: true,
		spec: {service: {name: $n, driver: "process", memory_mb: $m, stop_timeout_ms: 5000},
			process: {command: ["/bin/sh", "-c",
				("exec 9>>" + $lock + "; if ! flock -n 9; then echo " + $n +
				 " >>" + $doubles + "; exit 1; fi; trap \"kill \\$! 2>/dev/null; sleep 1; exit 0\" TERM; " +
				 "sleep 100000 & wait")]},
			placement: {constraints: $c, anti_affinity: $a}}}')
	bx_curl 1 PUT "/v1/services/$1" "$body" | tail -n 1 | grep -q '^200$'
}
node_of() { bx_field "$1" node; }
on() { [ "$(node_of "$1")" = "$2" ] && bx_is "$1" state running; } # SERVICE NODE
waits_for() { bx_is "$1" node 0 && bx_field "$1" reason | grep -qF -- "$2"; }
no_doubles() { [ ! -s "$BX_TMP/doubles" ]; }
node_json() { curl -s -m 2 "http://$(bx_addr 1)/v1/nodes" | jq -e ".[] | select(.id == $1) | $2"; }

common=(--reserved-memory-mb 0 --vcpus 8)
bx_start_node 1 --bootstrap --memory-mb 2048 "${common[@]}" --labels zone=a
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
bx_start_node 2 --join "$(bx_addr 1)" --memory-mb 2048 "${common[@]}" --labels zone=b,disk=ssd
bx_start_node 3 --join "$(bx_addr 1)" --memory-mb 1024 "${common[@]}" --labels zone=b
three() { [ "$(curl -s -m 2 "http://$(bx_addr 1)/v1/nodes" | jq '[.[] | select(.memory_mb > 0)] | length')" = 3 ]; }
bx_check "three nodes state what they offer" bx_wait 30 "node records" three
bx_check "node 2's record has its memory, vCPUs and labels" \
	node_json 2 '.memory_mb == 2048 and .vcpus == 8 and .labels.disk == "ssd" and .labels.zone == "b"'
bx_check "'blixard nodes' shows memory, vCPUs and labels" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) nodes | grep -E '^2 .*0/2048 +0/8 +(zone=b,disk=ssd|disk=ssd,zone=b)'"

# --- constraints -------------------------------------------------------------
bx_check "a service needing disk=ssd is put" put fast 256 '["disk=ssd"]' '[]'
bx_check "it runs on node 2, the one with the label" bx_wait 15 "fast on 2" on fast 2
bx_check "a service needing zone=c is put" put east 256 '["zone=c"]' '[]'
bx_check "it waits, saying which labels no node has" \
	bx_wait 10 "east waits" waits_for east "no node has the labels it needs: zone=c"
bx_check "'blixard status' shows why it waits" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) status east | grep -q 'zone=c'"

# --- room ------------------------------------------------------------------------
bx_check "a 4096 MB service is put" put huge 4096 '[]' '[]'
bx_check "it waits: no node has room, the fullest free one named" \
	bx_wait 10 "huge waits" waits_for huge "no room: it needs 4096 MB and 1 vCPUs; the most memory free is on node"
bx_check "a 1536 MB service for zone=a is put" put big 1536 '["zone=a"]' '[]'
bx_check "it runs on node 1" bx_wait 15 "big on 1" on big 1
bx_check "a 1024 MB service for zone=a is put" put big2 1024 '["zone=a"]' '[]'
bx_check "it waits for room on node 1" bx_wait 10 "big2 waits" waits_for big2 "no room: it needs 1024 MB"
bx_check "'blixard remove big' frees the room" bx_cli 1 remove big
bx_check "the waiting service then runs on node 1" bx_wait 15 "big2 on 1" on big2 1

# --- anti-affinity -------------------------------------------------------------
bx_check "db (disk=ssd) is put" put db 256 '["disk=ssd"]' '[]'
bx_check "db runs on node 2" bx_wait 15 "db on 2" on db 2
bx_check "web (zone=b, avoids db) is put" put web 256 '["zone=b"]' '["db"]'
bx_check "web runs on node 3, away from db" bx_wait 15 "web on 3" on web 3
bx_check "cache (disk=ssd, avoids web and db) is put" put cache 256 '["disk=ssd"]' '["db"]'
bx_check "cache waits, naming anti_affinity" bx_wait 10 "cache waits" waits_for cache "anti_affinity"
bx_cli 1 remove cache >/dev/null

# --- labels change with a restart: the waiting service finds its node -----------
bx_kill_node 3 TERM
bx_start_node 3 --memory-mb 1024 "${common[@]}" --labels zone=c
bx_check "node 3 restarted with zone=c: east runs there" bx_wait 30 "east on 3" on east 3

# --- drain -----------------------------------------------------------------------
for s in m1 m2 m3 m4; do put "$s" 128 '[]' '[]'; done
all_run() { for s in m1 m2 m3 m4; do bx_is "$s" state running || return 1; done; }
bx_check "four movable services run" bx_wait 20 "m1..m4 running" all_run
before=$(for s in m1 m2 m3 m4; do echo "$s=$(node_of "$s")"; done | tr '\n' ' ')
on2=$(for s in m1 m2 m3 m4; do [ "$(node_of "$s")" = 2 ] && echo "$s"; done | tr '\n' ' ')
bx_check "one of them runs on node 2 (the fewest services, ties to the lowest id)" [ -n "$on2" ]
# fast and db need disk=ssd, only on node 2: they cannot leave
out=$("$BX_BIN" --addr "$(bx_addr 1)" nodes drain 2 --timeout 20 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
bx_check "drain with unmovable services ends in an error after its timeout" [ "$rc" = 1 ]
names_why() { grep -q 'fast: running - .*disk=ssd' <<<"$out" && grep -q 'db: running' <<<"$out"; }
bx_check "it names what stays and why" names_why
bx_check "node 2 shows as draining" bash -c "'$BX_BIN' --addr $(bx_addr 1) nodes | grep -qE '^2 +n2 +voter +draining'"
off2() { for s in m1 m2 m3 m4; do [ "$(node_of "$s")" != 2 ] && bx_is "$s" state running || return 1; done; }
bx_check "every movable service left node 2 and runs ($before; on 2: ${on2:-none})" off2
# log time of a line "agent service=S: generation G: STATE" in node N's log
logged_at() { grep -m1 "service=$2: generation [0-9]*: $3" "$(bx_dir "$1")/log" | cut -d' ' -f1; }
stopped_first() {
	local s to
	for s in $on2; do
		to=$(node_of "$s")
		local a b
		a=$(logged_at 2 "$s" stopped)
		b=$(grep "service=$s: generation [0-9]*: running" "$(bx_dir "$to")/log" | tail -n 1 | cut -d' ' -f1)
		[ -n "$a" ] && [ -n "$b" ] && [[ "$a" < "$b" || "$a" == "$b" ]] || return 1
	done
}
bx_check "each moved one stopped on node 2 before it started on its new node" stopped_first
stayed() { on fast 2 && on db 2; }
bx_check "fast and db still run on node 2" stayed
bx_check "no instance ever ran twice at once (lock file)" no_doubles
bx_cli 1 remove fast >/dev/null
bx_cli 1 remove db >/dev/null
bx_check "with those gone, 'nodes drain 2' completes" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) nodes drain 2 --timeout 20 | grep -q 'node 2 is drained'"
bx_check "a new disk=ssd service is put while node 2 drains" put fast2 256 '["disk=ssd"]' '[]'
bx_check "it waits: node 2 takes nothing" bx_wait 10 "fast2 waits" waits_for fast2 "disk=ssd"
bx_check "'blixard node eligible 2' succeeds" bx_cli 1 node eligible 2
bx_check "node 2 takes work again" bx_wait 15 "fast2 on 2" on fast2 2
bx_check "a bad node id is a usage error (exit 2)" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) nodes drain x 2>/dev/null; [ \$? = 2 ]"
bx_check "drain of an unknown node is refused (404)" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) nodes drain 99 2>&1 | grep -q 'no node 99'"
bx_check "no instance ever ran twice at once, overall" no_doubles
bx_finish
