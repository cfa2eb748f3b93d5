#!/usr/bin/env bash
# A cluster across real network hosts (network namespaces on a bridge,
# lib_hosts.sh): three daemons on three addresses form one Raft group; a
# host whose every process is killed loses the leadership to the others,
# which keep accepting writes; a host cut off from the network falls behind
# and catches up once its link is back. Needs root.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hosts.sh"
bx_setup
bx_hosts_setup 3

voters() { curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq '[.members[] | select(.role=="voter")] | length'; }
leader_is_not() { local l; l=$(bx_leader_of "$1") && [ -n "$l" ] && [ "$l" != "$2" ]; }
put() { # NODE NAME: a process service record, through node NODE
	printf '[service]\nname = "%s"\ndriver = "process"\n[process]\ncommand = ["true"]\n' "$2" \
		>"$BX_TMP/$2.toml"
	"$BX_BIN" --addr "$(bx_addr "$1")" start --no-wait "$BX_TMP/$2.toml" >/dev/null 2>&1
}
has() { curl -sf -m 2 "http://$(bx_addr "$1")/v1/services/$2" >/dev/null; } # NODE NAME

bx_check "host 1 reaches host 2" bx_host_reaches 1 "$(bx_ip 2)"

bx_start_node 1 --bootstrap
bx_check "host 1 bootstraps a cluster at $(bx_addr 1)" bx_wait 15 "leader" bx_has_leader 1
bx_start_node 2 --join "$(bx_addr 1)"
bx_start_node 3 --join "$(bx_addr 1)"
three_voters() { [ "$(voters 1)" = 3 ]; }
bx_check "hosts 2 and 3 join over the network: 3 voters" bx_wait 30 "voters" three_voters
bx_check "the members' Raft addresses are the hosts' own" \
	bash -c "curl -s http://$(bx_addr 1)/v1/cluster | jq -r '.members[].raft' | grep -q '^$(bx_ip 3):7001\$'"

# --- the leader's host dies ---------------------------------------------------
old=$(bx_leader_of 1)
bx_check "a leader is known ($old)" [ -n "$old" ]
others=()
for i in 1 2 3; do [ "$i" = "$old" ] || others+=("$i"); done
bx_host_kill "$old"
bx_check "host $old killed: no process left in it" [ -z "$(ip netns pids "$(bx_host_ns "$old")")" ]
bx_check "the other two elect a new leader" bx_wait 20 "new leader" leader_is_not "${others[0]}" "$old"
bx_check "... and take writes" bx_wait 10 "write" put "${others[0]}" after-kill
bx_check "... seen on both" bx_wait 10 "replicated" has "${others[1]}" after-kill
bx_start_node "$old"
bx_check "host $old's daemon, started again, catches up" bx_wait 30 "catch up" has "$old" after-kill

# --- a host is cut off --------------------------------------------------------
cut=${others[1]}
[ "$(bx_leader_of "${others[0]}")" = "$cut" ] && cut=${others[0]} # cut a follower
keep=()
for i in 1 2 3; do [ "$i" = "$cut" ] || keep+=("$i"); done
bx_host_cut "$cut"
bx_check "host $cut cut off: it cannot reach the others" bx_host_cut_off "$cut" "$(bx_ip "${keep[0]}")"
bx_check "the two others still take writes" bx_wait 15 "write" put "${keep[0]}" during-cut
bx_check "... which the cut host does not have" \
	bash -c "! ip netns exec $(bx_host_ns "$cut") curl -sf -m 2 http://$(bx_addr "$cut")/v1/services/during-cut >/dev/null"
bx_host_heal "$cut"
bx_check "healed: it catches up" bx_wait 30 "catch up" has "$cut" during-cut

bx_finish
