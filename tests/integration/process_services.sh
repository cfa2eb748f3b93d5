#!/usr/bin/env bash
# Services run for real: a process service starts on a node and reports
# running with a pid that exists; stop ends the process; a crash is restarted
# by policy; kill -9 of the daemon leaves it running and the restarted daemon
# adopts the same process.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

cat >"$BX_TMP/svc.toml" <<TOML
[service]
name = "ticker"
driver = "process"
stop_timeout_ms = 2000

[process]
command = ["/bin/sh", "-c", "echo started; exec sleep 3600"]

[restart]
policy = "on-failure"
max_attempts = 3
backoff_ms = 100
TOML
field() { curl -s -m 2 "http://$(bx_addr 1)/v1/services/ticker" | jq -r ".$1"; }
state_is() { [ "$(field state)" = "$1" ]; }
pid_alive() { local p; p=$(field pid); [ "$p" -gt 0 ] 2>/dev/null && kill -0 "$p" 2>/dev/null; }

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
bx_check "'blixard start FILE.toml' succeeds" bx_cli 1 start "$BX_TMP/svc.toml"
bx_check "service reaches running" bx_wait 15 "running" state_is running
bx_check "its pid is a live process" pid_alive
pid1=$(field pid)
bx_check "console log holds its output" bx_wait 5 "log" grep -q started "$(bx_dir 1)/data/vms/ticker/console.log"
bx_check "'blixard logs' shows the output" bash -c "'$BX_BIN' --addr $(bx_addr 1) logs ticker | grep -q started"

kill -9 "$pid1"
restarted() { pid_alive && [ "$(field pid)" != "$pid1" ] && state_is running; }
bx_check "a crashed instance is restarted by policy" bx_wait 10 "restart" restarted
bx_check "the restart is counted" [ "$(field restarts)" -ge 1 ]

pid2=$(field pid)
bx_kill_node 1 9
bx_check "the instance outlives kill -9 of the daemon" kill -0 "$pid2"
bx_start_node 1
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
adopted() { state_is running && [ "$(field pid)" = "$pid2" ]; }
bx_check "the restarted daemon adopts the same process" bx_wait 10 "adopt" adopted
bx_check "it was not restarted" grep -q "adopted running instance" "$(bx_dir 1)/log"

bx_check "'blixard stop' succeeds" bx_cli 1 stop ticker
bx_check "service reaches stopped" bx_wait 10 "stopped" state_is stopped
bx_check "the process is gone" bx_wait 5 "exit" bx_gone "$pid2"
bx_check "'blixard remove' succeeds" bx_cli 1 remove ticker
bx_check "the record is gone" bash -c "! '$BX_BIN' --addr $(bx_addr 1) status ticker >/dev/null 2>&1"

# --- logs -f, and the console cap while running -----------------------------
cat >"$BX_TMP/counter.toml" <<'TOML'
[service]
name = "counter"
driver = "process"

[process]
command = ["/bin/sh", "-c", "i=0; while true; do i=$((i + 1)); echo line-$i; sleep 0.1; done"]
TOML
bx_cli 1 start "$BX_TMP/counter.toml" >/dev/null
bx_wait 10 "lines" grep -q line-5 "$(bx_dir 1)/data/vms/counter/console.log"
timeout 3 "$BX_BIN" --addr "$(bx_addr 1)" logs -f -n 1 counter >"$BX_TMP/follow.out" 2>&1
in_order() { # every line-N once, N rising by 1, and at least $1 of them
	awk -v min="$1" '/^line-/ { n = substr($0, 6) + 0; if (prev && n != prev + 1) bad = 1; prev = n; c++ }
		END { exit !(c >= min && !bad) }' "$BX_TMP/follow.out"
}
bx_check "'logs -f' keeps printing what is added, in order, nothing twice" in_order 15
bx_check "'logs -f -n 1' began with one line" \
	[ "$(grep -c . "$BX_TMP/follow.out")" -lt 40 ]
bx_cli 1 remove counter >/dev/null

cat >"$BX_TMP/loud.toml" <<'TOML'
[service]
name = "loud"
driver = "process"

[process]
command = ["/bin/sh", "-c", "head -c 9437184 /dev/zero | tr '\\0' x; echo; while true; do echo tick; sleep 0.2; done"]
TOML
bx_cli 1 start "$BX_TMP/loud.toml" >/dev/null
con=$(bx_dir 1)/data/vms/loud/console.log
capped() { [ -f "$con.1" ] && [ "$(stat -c %s "$con")" -lt $((8 << 20)) ]; }
bx_check "a console over 8 MiB is rotated while the instance runs" bx_wait 20 "cap" capped
bx_check "... the old part kept in console.log.1" [ "$(stat -c %s "$con.1")" -gt $((9 << 20)) ]
# the instance appends: its next writes land at the new end, not 9 MiB in
ticks_small() { grep -q tick "$con" && [ "$(stat -c %s "$con")" -lt 65536 ]; }
bx_check "... and the instance's log goes on at the new end" bx_wait 10 "ticks" ticks_small
bx_check "... which 'blixard logs' shows" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) logs -n 1 loud | grep -qx tick"
bx_cli 1 remove loud >/dev/null

# removed and at once created again: the new record numbers its generations
# from the start, yet it is a new service that runs once the old one ended
cat >"$BX_TMP/slow.toml" <<'TOML'
[service]
name = "slow"
driver = "process"
stop_timeout_ms = 5000

[process]
command = ["/bin/sh", "-c", "trap 'sleep 1; exit 0' TERM; while true; do sleep 0.1; done"]
TOML
sfield() { curl -s -m 2 "http://$(bx_addr 1)/v1/services/slow" | jq -r ".$1"; }
bx_cli 1 start "$BX_TMP/slow.toml" >/dev/null
bx_wait 15 "running" bash -c "[ \"\$(curl -s http://$(bx_addr 1)/v1/services/slow | jq -r .state)\" = running ]"
old_pid=$(sfield pid)
bx_cli 1 remove slow >/dev/null
bx_cli 1 start --no-wait "$BX_TMP/slow.toml" >/dev/null
again() { p=$(sfield pid) && [ "$p" -gt 0 ] 2>/dev/null && [ "$p" != "$old_pid" ] &&
	kill -0 "$p" 2>/dev/null && [ "$(sfield state)" = running ]; }
bx_check "removed and created again at once: the new one runs" bx_wait 20 "again" again
bx_check "... after the old one ended" bx_gone "$old_pid"
bx_cli 1 remove slow >/dev/null
bx_finish
