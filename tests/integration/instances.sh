#!/usr/bin/env bash
# count > 1 with real daemons: a service's instances run one per node (each
# told its number in BLIXARD_INSTANCE), an instance that finds no free node
# waits saying why, stop/start/remove reach every instance, a smaller count
# stops the instances past it, a drained node's instance moves to the free
# node, and a host that dies (daemon and instances killed) has its instance
# brought up on the node left free. Each instance takes a lock file named
# after its number when it starts (all nodes share this machine's /tmp), so
# one instance running twice at once is caught.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

mark="bx-inst-$$-$RANDOM" # in every instance's command line, for pgrep
put() {                    # COUNT [START=true]
	local body
	body=$(jq -nc --argjson c "$1" --argjson start "${2:-true}" --arg dir "$BX_TMP" --arg mark "$mark" '{
		start: $start,
		spec: {service: {name: "web", driver: "process", count: $c, memory_mb: 64, stop_timeout_ms: 5000},
			process: {command: ["/bin/sh", "-c",
				("exec 9>>" + $dir + "/lock-$BLIXARD_INSTANCE; " +
				 "if ! flock -n 9; then echo $BLIXARD_INSTANCE >>" + $dir + "/doubles; exit 1; fi; " +
				 "echo \"$BLIXARD_SERVICE $BLIXARD_INSTANCE\" >>" + $dir + "/started; " +
				 "trap \"kill \\$! 2>/dev/null; exit 0\" TERM; sleep 100000 & wait # " + $mark)]}}}')
	bx_curl 1 PUT /v1/services/web "$body" | tail -n 1 | grep -q '^200$'
}
instances() { curl -s -m 2 "http://$(bx_addr 1)/v1/services/web" | jq -c '.instances'; }
# running N: N instances run, each on its own node, and N processes exist
running() {
	local list
	list=$(instances) || return 1
	[ "$(jq '[.[] | select(.state == "running")] | length' <<<"$list")" = "$1" ] &&
		[ "$(jq '[.[] | select(.state == "running") | .node] | unique | length' <<<"$list")" = "$1" ] &&
		[ "$(pgrep -fc -- "$mark")" = "$1" ]
}
node_of() { instances | jq -r ".[] | select(.name == \"$1\") | .node"; }
no_doubles() { [ ! -s "$BX_TMP/doubles" ]; }
no_instances() { ! pgrep -f -- "$mark" >/dev/null; } # not in a bash -c: its own line has the mark
bx_start_cluster 3

# --- placed one per node ---------------------------------------------------------
bx_check "web with count = 2 is put" put 2
bx_check "two instances run, on two nodes" bx_wait 20 "2 running" running 2
bx_check "each was told its service and number" \
	bash -c "sort '$BX_TMP/started' | tr '\n' ' ' | grep -qx 'web 0 web 1 '"
bx_check "GET /v1/services/web@1 is the second instance's record" \
	bash -c "curl -sf http://$(bx_addr 1)/v1/services/web@1 | jq -e '.name == \"web@1\" and .service == \"web\" and .instance == 1'"
bx_check "'blixard status web' lists both instances" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) status web | grep -q 'instances:  2, 2 running' &&
		'$BX_BIN' --addr $(bx_addr 1) status web | grep -qE '^web@1 +[123] +running'"
bx_check "'blixard status web@1' shows that instance" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) status web@1 | grep -q '^service: *web@1'"
bx_check "'blixard list' has a row per instance" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) list | grep -q '^web@1 '"
bx_check "'blixard logs web@1' reads that instance's console" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) logs web@1 >/dev/null"
refused_400() { # METHOD PATH: 400, naming the service the instance belongs to
	local out
	out=$(bx_curl 1 "$1" "$2" '{}')
	[ "$(tail -n 1 <<<"$out")" = 400 ] && grep -q "instance 1 of service 'web'" <<<"$out"
}
bx_check "POST /v1/services/web@1/stop is refused: 400 naming the service" \
	refused_400 POST /v1/services/web@1/stop
bx_check "PUT /v1/services/web@1 is refused the same way" refused_400 PUT /v1/services/web@1
out=$("$BX_BIN" --addr "$(bx_addr 1)" stop web@1 2>&1)
rc=$?
bx_check "'blixard stop web@1' is a usage error pointing at 'web'" \
	bash -c "[ $rc = 2 ] && grep -q 'blixard stop web\$' <<<'$out'"

# --- stop and start reach every instance ---------------------------------------
says() { grep -qF -- "$1" <<<"$2"; } # TEXT OUTPUT
out=$(bx_cli 1 stop web)
bx_check "'blixard stop web' waits until both are stopped" says "service 'web' is stopped" "$out"
bx_check "no instance process is left" bx_wait 20 "stopped" no_instances
out=$(bx_cli 1 start web)
bx_check "'blixard start web' waits until both run again" says "service 'web' is running: 2 instances" "$out"
bx_check "two run again, on two nodes" bx_wait 20 "2 running" running 2

# --- a drained node's instance moves to the free node ----------------------------
moved=$(instances | jq -r '[.[] | select(.node != 1)][0].name') # keep node 1, the API
from=$(node_of "$moved")
free=$(for n in 1 2 3; do instances | jq -e "[.[] | .node] | index($n)" >/dev/null || echo "$n"; done)
bx_check "draining node $from (it runs $moved) succeeds" bx_cli 1 nodes drain "$from" --timeout 60
bx_check "$moved moved to node $free, the one without an instance" \
	bx_wait 20 "$moved on $free" bash -c "[ \"\$(curl -s http://$(bx_addr 1)/v1/services/$moved | jq -r '.node,.state' | tr '\n' ' ')\" = '$free running ' ]"
bx_check "still two instances on two nodes" bx_wait 10 "2 running" running 2
bx_check "no instance ran twice at once" no_doubles
bx_cli 1 nodes eligible "$from" >/dev/null

# --- the third instance waits until a node is free -------------------------------
starts=$(wc -l <"$BX_TMP/started")
bx_check "count = 3: a third instance" put 3
bx_check "three run, one per node" bx_wait 20 "3 running" running 3
bx_check "scaling started the new instance only: the others kept running" \
	[ "$(wc -l <"$BX_TMP/started")" = $((starts + 1)) ]
bx_check "count = 4: a fourth instance" put 4
bx_check "it waits: every node runs an instance already" bx_wait 15 "web@3 waits" \
	bash -c "curl -s http://$(bx_addr 1)/v1/services/web@3 | jq -e '.node == 0 and (.reason | test(\"runs an instance of .web. already\"))'"
bx_check "'blixard status web' says 3 of 4 run" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) status web | grep -q 'instances:  4, 3 running'"

# --- a host dies: its instance goes to the node that is free ----------------------
bx_check "count = 2 again: the instances past it stop" put 2
bx_check "two run, the others' processes are gone" bx_wait 20 "2 running" running 2
bx_check "their records are gone" bash -c "[ \"\$(curl -s http://$(bx_addr 1)/v1/services/web@2 -o /dev/null -w '%{http_code}')\" = 404 ]"
victim=$(instances | jq -r '[.[] | select(.node != 1)][0].name')
dead=$(node_of "$victim")
free=$(for n in 1 2 3; do instances | jq -e "[.[] | .node] | index($n)" >/dev/null || echo "$n"; done)
bx_host_dies "$dead"
bx_check "node $dead died: $victim runs on node $free" \
	bx_wait 30 "$victim on $free" bash -c "[ \"\$(curl -s http://$(bx_addr 1)/v1/services/$victim | jq -r '.node,.state' | tr '\n' ' ')\" = '$free running ' ]"
bx_check "two instances again, on two nodes" bx_wait 10 "2 running" running 2
bx_check "no instance ran twice at once, overall" no_doubles

# --- remove ----------------------------------------------------------------------
bx_check "'blixard remove web' removes every instance" bx_cli 1 remove web
bx_check "no record is left" bash -c "[ \"\$(curl -s http://$(bx_addr 1)/v1/services | jq 'length')\" = 0 ]"
bx_check "no process is left" bx_wait 20 "gone" no_instances
bx_finish
