#!/usr/bin/env bash
# The replicated event log on a real 3-node cluster: every node answers the
# same events; a service's life reads from them (created, scheduled, started,
# healthy; stop requested, stopped); 'blixard events -f' prints new events as
# they happen; 'blixard status NAME' shows the last ones; a host that dies
# leaves node_down, fenced (on the dead node, the old generation), scheduled
# elsewhere and started with the failover's time; bad queries are refused.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

bx_start_cluster 3
port=$((BX_BASE + 90))
mkdir -p "$BX_TMP/www" && echo ok >"$BX_TMP/www/index.html"
web='{"spec":{"service":{"driver":"process","stop_timeout_ms":3000},"process":{"command":["busybox","httpd","-f","-p","127.0.0.1:'$port'","-h","'$BX_TMP/www'"]},"health":{"type":"http","port":'$port',"path":"/","interval_ms":200,"timeout_ms":150}},"start":true}'
bx_check "web is put" bash -c "bx_out=\$(curl -s -m 10 -X PUT -d '$web' http://$(bx_addr 2)/v1/services/web -w '%{http_code}'); [ \"\${bx_out: -3}\" = 200 ]"
bx_check "web runs and is healthy" bx_wait 30 "web healthy" bx_healthy web

events() { # N [QUERY]: node N's events as JSON
	curl -s -m 5 "http://$(bx_addr "$1")/v1/events${2:+?$2}"
}
types() { # N: web's event types, space-separated
	events "$1" "service=web&limit=1000" | jq -r '[.events[].type] | join(" ")'
}
web_story() { # the types of web's events, as node 1 has them
	curl -s "http://$(bx_addr 1)/v1/events?service=web" | jq -r '[.events[].type] | join(" ")'
}
life_so_far() { # the process driver may report running without a starting first
	case "$(web_story)" in
	"created scheduled starting started healthy" | "created scheduled started healthy") return 0 ;;
	*) return 1 ;;
	esac
}
bx_check "web's life so far: created, scheduled, started, healthy" bx_wait 5 "events" life_so_far
same_everywhere() {
	local a b c
	a=$(events 1 "limit=1000" | jq -c .events)
	b=$(events 2 "limit=1000" | jq -c .events)
	c=$(events 3 "limit=1000" | jq -c .events)
	[ -n "$a" ] && [ "$a" != "[]" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ]
}
bx_check "all three nodes hold the same events (replicated)" bx_wait 5 "same events" same_everywhere
bx_check "three node_joined events, nodes 1, 2, 3" \
	bash -c "[ \"\$(curl -s 'http://$(bx_addr 3)/v1/events?limit=1000' | jq -r '[.events[] | select(.type == \"node_joined\") | .node] | sort | join(\",\")')\" = 1,2,3 ]"
node=$(bx_field web node)
bx_check "scheduled and started name web's node ($node) and generation" \
	bash -c "curl -s 'http://$(bx_addr 1)/v1/events?service=web' | jq -e '[.events[] | select(.type == \"scheduled\" or .type == \"started\")] | length == 2 and all(.node == $node and .generation == $(bx_field web generation))' >/dev/null"
bx_check "web's node logs its lines with time, level, component and service=web" \
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z INFO  agent service=web: generation [0-9]+: running$' "$(bx_dir "$node")/log"
bx_check "seqs increase by one, times never go back" \
	bash -c "curl -s 'http://$(bx_addr 1)/v1/events?limit=1000' | jq -e '.events as \$e | [range(1; \$e | length) | \$e[.].seq == \$e[. - 1].seq + 1 and \$e[.].at >= \$e[. - 1].at] | all' >/dev/null"
bx_check "'blixard status web' shows the last events" \
	bash -c "'$BX_BIN' --addr $(bx_addr 3) status web | sed -n '/^last events:/,\$p' | grep -q ' healthy '"
bx_check "'blixard --json status web' has them too" \
	bash -c "'$BX_BIN' --addr $(bx_addr 3) --json status web | jq -e '.events | map(.type) | index(\"started\") != null' >/dev/null"
bx_check "'blixard events' prints a table with every node's joining" \
	bash -c "'$BX_BIN' --addr $(bx_addr 2) events | awk 'NR == 1 && \$1 == \"TIME\" && \$5 == \"EVENT\" { h = 1 } \$5 == \"node_joined\" { n++ } END { exit !(h && n == 3) }'"
bx_check "'events -n 2' prints the last two" \
	bash -c "[ \"\$('$BX_BIN' --addr $(bx_addr 2) --json events -n 2 | jq -c '[.[].seq]')\" = \"\$(curl -s 'http://$(bx_addr 2)/v1/events?limit=1000' | jq -c '[.events[-2:][].seq]')\" ]"

# -f: follows web's events as they happen
"$BX_BIN" --addr "$(bx_addr 3)" --json events -f --service web -n 1 >"$BX_TMP/follow" 2>"$BX_TMP/follow.err" &
follower=$!
stop_follower() { kill "$follower" 2>/dev/null; wait "$follower" 2>/dev/null; }
BX_AT_EXIT+=(stop_follower)
bx_check "'events -f' printed web's last event first" bx_wait 5 "first line" bash -c "[ \$(wc -l <'$BX_TMP/follow') -ge 1 ]"
bx_check "web is stopped" bash -c "'$BX_BIN' --addr $(bx_addr 1) stop web >/dev/null"
followed() { jq -rs '[.[].type] | join(" ")' "$BX_TMP/follow" | grep -q 'healthy stop_requested stopped$'; }
bx_check "'events -f' printed stop_requested then stopped as they happened" bx_wait 10 "followed" followed
bx_check "... and nothing of other services" bash -c "jq -es 'all(.service == \"web\")' '$BX_TMP/follow' >/dev/null"
stop_follower

# a host dies: its node goes down, web is fenced there and runs elsewhere
bx_check "web is started again" bash -c "'$BX_BIN' --addr $(bx_addr 1) start web >/dev/null"
bx_check "web runs" bx_wait 30 "web running" bx_healthy web
dead=$(bx_field web node)
old_gen=$(bx_field web generation)
alive=$([ "$dead" = 1 ] && echo 2 || echo 1)
after=$(events "$alive" "limit=1" | jq .last)
bx_host_dies "$dead"
moved() { [ "$(curl -s -m 2 "http://$(bx_addr "$alive")/v1/services/web" | jq -r '"\(.state) \(.node)"')" != "running $dead" ] &&
	[ "$(curl -s -m 2 "http://$(bx_addr "$alive")/v1/services/web" | jq -r .state)" = running ]; }
bx_check "web runs on another node" bx_wait 30 "web moved" moved
story() { events "$alive" "after=$after&limit=1000" | jq -c '[.events[] | {type, node, service, generation, reason}]'; }
fenced_after_down() {
	story | jq -e "(map(.type) | index(\"node_down\")) as \$d |
		(map(.type == \"fenced\" and .service == \"web\" and .node == $dead and .generation == $old_gen) | index(true)) as \$f |
		\$d != null and \$f != null and \$d < \$f" >/dev/null
}
started_elsewhere() {
	story | jq -e "[.[] | select(.service == \"web\")] | map(select(.type == \"scheduled\" or .type == \"started\")) |
		length >= 2 and .[-2].type == \"scheduled\" and .[-2].node != $dead and
		.[-2].reason == \"node $dead (n$dead) is down\" and
		.[-1].type == \"started\" and (.[-1].reason | test(\"^failed over: running [0-9.]+ s after its node was declared down$\"))" >/dev/null
}
bx_check "events tell it: node $dead down, web fenced there at generation $old_gen" fenced_after_down
bx_check "... then scheduled elsewhere and started, with the failover's time" started_elsewhere
bx_cli "$alive" events --service web -n 6 | sed 's/^/    /'

# bad input: 400, said clearly
bad() { # QUERY WORDS
	local out
	out=$(curl -s -m 5 -w '\n%{http_code}' "http://$(bx_addr "$alive")/v1/events?$1")
	[ "$(tail -n 1 <<<"$out")" = 400 ] && head -n 1 <<<"$out" | jq -r .error | grep -q "$2"
}
bx_check "limit=abc: 400" bad "limit=abc" "'limit' must be a whole number"
bx_check "limit=20000 (over the 10000 kept): 400" bad "limit=20000" "'limit' must be a whole number up to 10000"
bx_check "after=-1: 400" bad "after=-1" "'after' must be"
bx_check "service=Bad_Name: 400" bad "service=Bad_Name" "invalid service name 'Bad_Name'"
bx_check "'events -n 0' is a usage error (exit 2)" \
	bash -c "'$BX_BIN' --addr $(bx_addr "$alive") events -n 0 2>/dev/null; [ \$? = 2 ]"
bx_check "'events --service Bad!' is refused (exit 2)" \
	bash -c "'$BX_BIN' --addr $(bx_addr "$alive") events --service 'Bad!' 2>/dev/null; [ \$? = 2 ]"
bx_check "'events' against no daemon: one line, exit 1" \
	bash -c "out=\$('$BX_BIN' --addr 127.0.0.1:1 events 2>&1); [ \$? = 1 ] && [ \$(wc -l <<<\"\$out\") = 1 ]"
bx_finish
