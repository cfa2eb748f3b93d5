#!/usr/bin/env bash
# 'blixard start' waits and shows progress: on a terminal (a pty made by
# script(1)) it prints the service's steps from the event log (placed,
# booting or running, healthy) and returns only once the health check passes,
# not merely once the process runs; a service that cannot start makes it fail
# with the reason; --detach returns at once; without a terminal it prints no
# progress; 'stop' waits until the service is stopped; a service no node can
# take is said so at once, with --detach too, and a timeout says why. (qemu_vms.sh checks a
# VM's steps: placed, booting, healthy.)
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

bx_start_cluster 3
port=$((BX_BASE + 90))
mkdir -p "$BX_TMP/www" && echo ok >"$BX_TMP/www/index.html"
# The server listens only after 1.5 s: running comes well before healthy.
cat >"$BX_TMP/web.toml" <<TOML
[service]
name = "web"
driver = "process"
stop_timeout_ms = 3000

[process]
command = ["/bin/sh", "-c", "sleep 1.5; exec busybox httpd -f -p 127.0.0.1:$port -h $BX_TMP/www"]

[health]
type = "http"
port = $port
path = "/"
interval_ms = 200
timeout_ms = 150
TOML

say() { grep -qE "$1" "$2"; }
line_of() { grep -nE "$1" "$2" | head -n 1 | cut -d: -f1; } # PATTERN FILE
before() { # A B FILE: a line matching A comes before one matching B
	local a b
	a=$(line_of "$1" "$3")
	b=$(line_of "$2" "$3")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

# --- start on a terminal: progress, then healthy ------------------------------
bx_check "'blixard start web.toml' on a terminal succeeds" \
	bx_on_tty "$BX_TMP/start.out" "$BX_BIN" --addr "$(bx_addr 2)" start "$BX_TMP/web.toml"
bx_check "it is healthy the moment start returns" bx_healthy web
node=$(bx_field web node)
bx_check "progress: placed on the node that runs it" say "web: placed on node $node" "$BX_TMP/start.out"
bx_check "progress: started there, waiting for the check" \
	say "web: started on node $node, waiting for its health check" "$BX_TMP/start.out"
bx_check "progress: healthy on that node" say "web: healthy on node $node" "$BX_TMP/start.out"
bx_check "progress in order: placed, started" before "web: placed" "web: started" "$BX_TMP/start.out"
bx_check "progress in order: started, healthy" before "web: started" "web: healthy" "$BX_TMP/start.out"
bx_check "each step shows the time since start" say "^ +[0-9]+\.[0-9]s  web: healthy" "$BX_TMP/start.out"
bx_check "the last line says healthy, with node and pid" \
	bash -c "tail -n 1 '$BX_TMP/start.out' | grep -qx \"service 'web' is healthy on node $node (pid $(bx_field web pid))\""
bx_check "no event from before the start is shown" bash -c "! grep -q 'node_joined\|node_up' '$BX_TMP/start.out'"

# --- stop waits until stopped ---------------------------------------------------
bx_check "'blixard stop web' on a terminal succeeds" \
	bx_on_tty "$BX_TMP/stop.out" "$BX_BIN" --addr "$(bx_addr 3)" stop web
bx_check "it is stopped the moment stop returns" bx_is web state stopped
bx_check "progress: stopped" say "web: stopped" "$BX_TMP/stop.out"
bx_check "the last line says stopped" bash -c "tail -n 1 '$BX_TMP/stop.out' | grep -qx \"service 'web' is stopped\""

# --- without a terminal: no progress, the same result ----------------------------
bx_check "'blixard start web' without a terminal succeeds" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) start web >'$BX_TMP/plain.out' 2>'$BX_TMP/plain.err'"
bx_check "... healthy when it returns" bx_healthy web
bx_check "... printing only the result" bash -c "[ \$(wc -l <'$BX_TMP/plain.out') = 1 ] && grep -q \"is healthy on node\" '$BX_TMP/plain.out'"
bx_check "... and nothing on stderr" bash -c "[ ! -s '$BX_TMP/plain.err' ]"
bx_cli 1 stop web >/dev/null

# --- --detach returns at once ---------------------------------------------------
bx_check "'start --detach' succeeds" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) start --detach web >'$BX_TMP/detach.out'"
not_healthy() { ! bx_healthy web; }
bx_check "... returns before the service is healthy" not_healthy
bx_check "... saying it was submitted" grep -qx "service 'web' submitted" "$BX_TMP/detach.out"
bx_check "... and the service still comes up" bx_wait 30 "web healthy" bx_healthy web
bx_check "'stop -d' returns at once too" bash -c "'$BX_BIN' --addr $(bx_addr 1) stop -d web | grep -qx \"service 'web' told to stop\""
bx_wait 30 "web stopped" bx_is web state stopped >/dev/null

# --- a service that cannot start: start fails with the reason -------------------
cat >"$BX_TMP/broken.toml" <<TOML
[service]
name = "broken"
driver = "process"

[process]
command = ["$BX_TMP/no-such-program"]

[restart]
policy = "never"
TOML
fails() { ! "$@"; }
bx_check "'blixard start' of a service that cannot start fails" \
	fails bx_on_tty "$BX_TMP/broken.out" "$BX_BIN" --addr "$(bx_addr 1)" start "$BX_TMP/broken.toml"
bx_check "... naming the service and why" say "blixard start: service 'broken' failed: .*no-such-program" "$BX_TMP/broken.out"
bx_check "... after showing the failure as a step" say "broken: failed" "$BX_TMP/broken.out"

# --- a health check that never passes: --timeout ends the wait ------------------
sed -e 's/^name = "web"/name = "sick"/' -e 's#^path = "/"#path = "/missing"#' \
	-e 's/^\[health\]/[health]\ngrace_ms = 60000/' "$BX_TMP/web.toml" >"$BX_TMP/sick.toml"
bx_check "'start --timeout 4' of a service that never turns healthy fails" \
	fails bx_cli 1 start --timeout 4 "$BX_TMP/sick.toml" 2>"$BX_TMP/sick.err"
bx_check "... saying where it stands after how long" \
	say "blixard start: service 'sick' is still 'running, (starting|unhealthy)' after 4 s" "$BX_TMP/sick.err"
# --- a service no node can take: said at once, without a terminal too -----------
cat >"$BX_TMP/huge.toml" <<TOML
[service]
name = "huge"
driver = "process"
memory_mb = 1048576

[process]
command = ["/bin/sleep", "3600"]
TOML
"$BX_BIN" --addr "$(bx_addr 1)" start --timeout 60 "$BX_TMP/huge.toml" \
	>"$BX_TMP/huge.out" 2>"$BX_TMP/huge.err" </dev/null &
waiter=$!
said() { grep -q "blixard start: service 'huge' waits for a node: no room" "$BX_TMP/huge.err"; }
bx_check "'start' of a service no node can take says why at once, with no terminal" \
	bx_wait 5 "the reason said" said
kill "$waiter" 2>/dev/null
wait "$waiter" 2>/dev/null
bx_check "... once, not at every look" [ "$(grep -c 'waits for a node' "$BX_TMP/huge.err")" = 1 ]
bx_check "'start --timeout 2' of it fails" \
	fails bx_cli 1 start --timeout 2 "$BX_TMP/huge.toml" 2>"$BX_TMP/huge2.err"
bx_check "... ending with the reason it still waits" \
	say "blixard start: service 'huge' still waits for a node after 2 s: no room" "$BX_TMP/huge2.err"
bx_cli 1 stop -d huge >/dev/null
bx_check "'start --detach' of it succeeds" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) start --detach '$BX_TMP/huge.toml' >'$BX_TMP/huge3.out' 2>'$BX_TMP/huge3.err'"
bx_check "... saying it was submitted" grep -qx "service 'huge' submitted" "$BX_TMP/huge3.out"
bx_check "... and why it waits" grep -q "waits for a node: no room" "$BX_TMP/huge3.err"

bx_finish
