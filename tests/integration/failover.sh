#!/usr/bin/env bash
# Failover and fencing across real hosts (network namespaces, lib_hosts.sh):
# a killed host's service comes up, healthy, on another; a host cut off from
# the others kills its on_partition = "stop" instances itself before the
# leader moves them, so no instance ever runs on two hosts at once (read from
# the hosts' process tables every 100 ms); "keep" services keep running; the
# host heals back as an up node that runs none of what moved; a cut-off
# leader fences itself the same way. Needs root.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hosts.sh"
. "$(dirname "$0")/lib_failover.sh"
bx_setup
bx_hosts_setup 3

node_of() { bx_fo_field "$1" "$2" node; } # ASKED NAME
nodes_json() { curl -s -m 2 "http://$(bx_addr "$1")/v1/nodes"; }
node_status() { nodes_json "$1" | jq -r ".[] | select(.id == $2) | .status"; } # ASKED ID
runs_only_on() { [ "$(bx_fo_where "$1" | tr '\n' ' ')" = "$2 " ]; } # NAME HOST
healthy_on() { # ASKED NAME NODE: the record says running+healthy there, and it runs there
	[ "$(node_of "$1" "$2")" = "$3" ] && [ "$(bx_fo_field "$1" "$2" state)" = running ] &&
		[ "$(bx_fo_field "$1" "$2" health)" = healthy ] && runs_only_on "$2" "$3"
}
placed() { local n; n=$(node_of "$1" "$2") && [ -n "$n" ] && [ "$n" != 0 ]; }
healthy_placed() { placed "$1" "$2" && healthy_on "$1" "$2" "$(node_of "$1" "$2")"; } # ASKED NAME
status_is() { [ "$(node_status "$1" "$2")" = "$3" ]; } # ASKED ID STATUS

bx_start_node 1 --bootstrap --log-level debug
bx_wait 15 "leader" bx_has_leader 1
bx_start_node 2 --join "$(bx_addr 1)" --log-level debug
bx_start_node 3 --join "$(bx_addr 1)" --log-level debug
three() { [ "$(curl -s -m 2 "http://$(bx_addr 1)/v1/cluster" | jq '[.members[] | select(.role=="voter")] | length')" = 3 ]; }
bx_check "three hosts form a cluster" bx_wait 30 "3 voters" three
all_up() { [ "$(nodes_json 1 | jq '[.[] | select(.alive and .status == "up")] | length')" = 3 ]; }
bx_check "GET /v1/nodes: three nodes up and alive" bx_wait 10 "alive" all_up
bx_check "... the leader reports each node's heartbeat age" \
	bash -c "curl -s http://$(bx_addr "$(bx_leader_of 1)")/v1/nodes | jq -e 'all(.[]; .heartbeat_age_ms < 2000)' >/dev/null"

# Services to fail over: enough that every host runs at least one.
names=(fa fb fc fd fe ff)
for s in "${names[@]}"; do
	bx_fo_spec "$s"
	bx_cli 1 start --no-wait "$BX_TMP/$s.toml" >/dev/null
done
bx_fo_spec keeper keep
bx_cli 1 start --no-wait "$BX_TMP/keeper.toml" >/dev/null
all_healthy() {
	local s n
	for s in "${names[@]}" keeper; do
		n=$(node_of 1 "$s") && healthy_on 1 "$s" "$n" || return 1
	done
}
bx_check "seven services run, healthy, each on one host" bx_wait 40 "healthy" all_healthy
bx_fo_sample_start "${names[@]}" g1 g2 g3 g4 g5 g6 g7 g8 g9 g10 g11 g12

leader=$(bx_leader_of 1)
pick_follower_with() { # a follower host running at least one of the services
	local i s
	for i in 1 2 3; do
		[ "$i" = "$leader" ] && continue
		for s in "${names[@]}"; do [ "$(node_of "$leader" "$s")" = "$i" ] && { echo "$i $s"; return; }; done
	done
}

# --- a follower's host dies -----------------------------------------------------
read -r victim svc < <(pick_follower_with)
bx_check "a follower host runs a service ($svc on host $victim)" [ -n "${svc:-}" ]
t0=$(date +%s%N)
bx_host_kill "$victim"
moved() { local n; n=$(node_of "$leader" "$svc") && [ -n "$n" ] && [ "$n" != 0 ] && [ "$n" != "$victim" ] && healthy_on "$leader" "$svc" "$n"; }
bx_check "host $victim killed: $svc runs, healthy, on another host" bx_wait 20 "moved" moved
echo "     (failover took $((($(date +%s%N) - t0) / 1000000)) ms)"
bx_check "... host $victim is down in GET /v1/nodes" status_is "$leader" "$victim" down
bx_check "... and not alive" bash -c "curl -s http://$(bx_addr "$leader")/v1/nodes | jq -e '.[] | select(.id == $victim) | .alive == false' >/dev/null"
others_ok() {
	local s n
	for s in "${names[@]}" keeper; do
		n=$(node_of "$leader" "$s") && [ "$n" != "$victim" ] && healthy_on "$leader" "$s" "$n" || return 1
	done
}
bx_check "... every service runs on the two hosts left" bx_wait 20 "all moved" others_ok
bx_check "the leader logged the node down" grep -q "node $victim (n$victim) is down" "$(bx_dir "$leader")/log"
metric() { # HOST NAME: a metric's value on that host's node
	bx_host_exec "$1" curl -s -m 2 "http://$(bx_addr "$1")/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}
failovers_counted() {
	local n c
	n=$(metric "$leader" blixard_failovers_total)
	c=$(metric "$leader" blixard_failover_duration_seconds_count)
	[ "${n:-0}" -ge 1 ] && [ "$n" = "$c" ]
}
bx_check "/metrics on the leader counts the failovers, each timed" failovers_counted
bx_start_node "$victim"
bx_check "host $victim's daemon back: the node is up again" bx_wait 20 "up" status_is "$leader" "$victim" up

# --- a follower is cut off --------------------------------------------------------
# A new service goes to the least loaded host: the revived one, empty.
extra=0
new_service_on() { # HOST: start new services until one lands on HOST; sets svc
	local try
	for try in 1 2 3 4 5 6; do
		extra=$((extra + 1))
		svc=g$extra
		bx_fo_spec "$svc"
		bx_cli "$leader" start --no-wait "$BX_TMP/$svc.toml" >/dev/null
		names+=("$svc")
		bx_wait 20 "healthy" healthy_placed "$leader" "$svc" || return 1
		[ "$(node_of "$leader" "$svc")" = "$1" ] && return 0
	done
	return 1
}
cut=$victim
bx_check "a new service goes to the revived host $cut" new_service_on "$cut"
keeper_host=$(node_of "$leader" keeper)
bx_host_cut "$cut"
fenced_on_cut() { [ -z "$(bx_fo_pids_on "$cut" "$svc")" ]; }
bx_check "host $cut cut off: it kills $svc itself (its lease ran out)" bx_wait 10 "fenced" fenced_on_cut
bx_check "... and says so in its log" bx_wait 5 "log" grep -q 'lease ran out' "$(bx_dir "$cut")/log"
cut_phase() { bx_host_exec "$cut" curl -s -m 2 "http://$(bx_addr "$cut")/v1/services/$svc/vm" | jq -r .phase; }
cut_says_fenced() { [ "$(cut_phase)" = fenced ]; }
bx_check "... its instance of $svc: fenced (GET /v1/services/$svc/vm there)" bx_wait 5 "fenced phase" cut_says_fenced
fenced_counted() { [ "$(metric "$cut" blixard_fencing_actions_total)" -ge 1 ]; }
bx_check "... and its /metrics counts the fencing action" fenced_counted
moved_from_cut() { local n; n=$(node_of "$leader" "$svc") && [ "$n" != "$cut" ] && [ "$n" != 0 ] && healthy_on "$leader" "$svc" "$n"; }
bx_check "the others move $svc to a host of theirs" bx_wait 20 "moved" moved_from_cut
if [ "$keeper_host" = "$cut" ]; then
	keeps() { [ -n "$(bx_fo_pids_on "$cut" keeper)" ]; }
	bx_check "on_partition = \"keep\": keeper still runs on the cut host" keeps
	both() { [ "$(bx_fo_where keeper | wc -l)" = 2 ]; }
	bx_check "... and also on another host (duplicates allowed)" bx_wait 20 "both" both
fi
bx_host_heal "$cut"
bx_check "healed: host $cut is up again" bx_wait 20 "up" status_is "$leader" "$cut" up
bx_check "... and runs none of what moved away" bx_wait 10 "clean" fenced_on_cut
one_keeper() { [ "$(bx_fo_where keeper | wc -l)" = 1 ]; }
bx_check "... keeper runs on one host again" bx_wait 15 "one keeper" one_keeper

# --- the leader is cut off ----------------------------------------------------------
leader=$(bx_leader_of 1)
lsvc=""
for s in "${names[@]}"; do [ "$(node_of "$leader" "$s")" = "$leader" ] && lsvc=$s; done
[ -n "$lsvc" ] || { new_service_on "$leader" && lsvc=$svc; }
bx_check "the leader's host runs a service (${lsvc:-none} on host $leader)" [ -n "$lsvc" ]
rest=()
for i in 1 2 3; do [ "$i" = "$leader" ] || rest+=("$i"); done
bx_wait 20 "healthy" healthy_on "$leader" "$lsvc" "$leader"
bx_host_cut "$leader"
new_leader() { local l; l=$(bx_leader_of "${rest[0]}") && [ -n "$l" ] && [ "$l" != "$leader" ]; }
bx_check "leader host $leader cut off: the others elect a new leader" bx_wait 20 "new leader" new_leader
fenced_leader() { [ -z "$(bx_fo_pids_on "$leader" "$lsvc")" ]; }
bx_check "... the old leader kills $lsvc itself" bx_wait 10 "fenced" fenced_leader
moved_from_leader() { local n; n=$(node_of "${rest[0]}" "$lsvc") && [ "$n" != "$leader" ] && [ "$n" != 0 ] && healthy_on "${rest[0]}" "$lsvc" "$n"; }
bx_check "... and $lsvc runs on another host" bx_wait 25 "moved" moved_from_leader
bx_host_heal "$leader"
bx_check "healed: the old leader's node is up again" bx_wait 20 "up" status_is "${rest[0]}" "$leader" up

# --- restarts run out on one host: the service moves ------------------------------------
# flaky fails (exit 3) on the first host that runs it, and runs anywhere else.
cat >"$BX_TMP/flaky.sh" <<EOF
me=\$(ip -o -4 addr show dev eth0 | awk '{print \$4}')
[ -e $BX_TMP/flaky-bad ] || echo "\$me" >$BX_TMP/flaky-bad
[ "\$(cat $BX_TMP/flaky-bad)" = "\$me" ] && exit 3
mkdir -p $BX_TMP/www-flaky && echo ok >$BX_TMP/www-flaky/index.html
exec busybox httpd -f -p 8199 -h $BX_TMP/www-flaky
EOF
cat >"$BX_TMP/flaky.toml" <<EOF
[service]
name = "flaky"
driver = "process"

[process]
command = ["/bin/sh", "$BX_TMP/flaky.sh"]

[health]
type = "http"
port = 8199
path = "/index.html"
interval_ms = 200
timeout_ms = 150

[restart]
policy = "on-failure"
max_attempts = 1
backoff_ms = 100
EOF
asker=$(bx_leader_of "${rest[0]}")
bx_cli "$asker" start --no-wait "$BX_TMP/flaky.toml" >/dev/null
flaky_moved() {
	local first n
	first=$(curl -s -m 2 "http://$(bx_addr "$asker")/v1/services/flaky" | jq -r '.failed_on[0].node // empty')
	n=$(node_of "$asker" flaky)
	[ -n "$first" ] && [ "$n" != "$first" ] && healthy_on "$asker" flaky "$n"
}
bx_check "a service whose restarts ran out on one host moves to another, where it runs" \
	bx_wait 30 "flaky moved" flaky_moved
bx_check "... the scheduler logged the move" \
	bash -c "grep -h 'service .flaky. failed on node' $BX_TMP/n*/log | grep -q 'moving it to node'"

bx_fo_sample_stop
bx_check "sampled the hosts' process tables ($BX_FO_SAMPLES times)" [ "$BX_FO_SAMPLES" -gt 100 ]
bx_check "no on_partition = \"stop\" service ever ran on two hosts at once" [ "$BX_FO_DOUBLES" = 0 ]
bx_finish
