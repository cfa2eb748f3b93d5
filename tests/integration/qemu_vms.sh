#!/usr/bin/env bash
# Real microVMs with the qemu driver (TCG): the test guest (Debian's cloud
# kernel + busybox initramfs, scripts/build-guest-image.sh) starts and turns
# healthy through its forwarded HTTP port; a killed QEMU is restarted by
# policy; kill -9 of the daemon leaves the VM running and the restarted daemon
# adopts it; stop powers the guest off through QMP within the timeout; a
# guest failing its health checks is restarted, then given up; specs this
# host cannot run fail with a clear reason and no retry storm.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

bx_guest
PORT=$((BX_BASE + 60))  # the guest's HTTP, forwarded
PORT2=$((BX_BASE + 61)) # a port we hold ourselves

# vm_spec NAME PORT [[health] lines instead of path = "/health"] [memory_mb]
vm_spec() {
	local health_lines=${3:-'path = "/health"'}
	cat <<TOML
[service]
name = "$1"
driver = "qemu"
memory_mb = ${4:-128}
stop_timeout_ms = 20000

$(bx_guest_vm "blixard.msg=hello-$1")

[network]
ports = ["$2:80"]

[health]
type = "http"
port = $2
expect = "ok"
interval_ms = 500
timeout_ms = 400
$health_lines

[restart]
policy = "on-failure"
max_attempts = 2
window_ms = 120000
backoff_ms = 200
TOML
}

field() { bx_field "$@"; }
is() { bx_is "$@"; }
healthy() { bx_healthy "$@"; }
pid_alive() { local p; p=$(field "$1" pid); [ "$p" -gt 0 ] 2>/dev/null && kill -0 "$p" 2>/dev/null; }

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null

# --- start -> healthy -------------------------------------------------------
vm_spec web "$PORT" >"$BX_TMP/web.toml"
bx_check "'blixard start web.toml' on a terminal succeeds" \
	bx_on_tty "$BX_TMP/start.out" "$BX_BIN" --addr "$(bx_addr 1)" start "$BX_TMP/web.toml"
bx_check "the VM is healthy when start returns" healthy web
bx_check "start showed it placed" grep -q "web: placed on node 1" "$BX_TMP/start.out"
bx_check "... booting" grep -q "web: booting on node 1, waiting for its health check" "$BX_TMP/start.out"
bx_check "... and healthy" grep -q "web: healthy on node 1" "$BX_TMP/start.out"
bx_check "its pid is a QEMU process" \
	grep -q qemu-system "/proc/$(field web pid)/cmdline"
bx_check "the guest answers on the forwarded port" \
	bash -c "curl -s -m 5 http://127.0.0.1:$PORT/ | grep -q hello-web"
bx_check "'blixard status' shows the health" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) status web | grep -q 'health: *healthy'"
bx_check "'blixard logs' shows the serial console" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) logs web | grep -q 'blixard-guest: ready'"
bx_check "QMP socket in the run directory" [ -S "$(bx_dir 1)/data/vms/web/qmp.sock" ]

# the driver's status: QEMU's own answer through QMP (pause it to see it change)
qmp() { # SOCKET COMMAND: one QMP command, as any QMP client would send it
	python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", sys.argv[2]):
    f.write(json.dumps({"execute": cmd}) + "\n"); f.flush()
    while "return" not in json.loads(f.readline()):
        pass
PY
}
hv_status() { curl -s -m 5 "http://$(bx_addr 1)/v1/services/web/vm" | jq -r .hypervisor.status; }
bx_check "the node reports QEMU's status through QMP: running" [ "$(hv_status)" = running ]
bx_check "'blixard status' shows it" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) status web | grep -q 'hypervisor: running'"
qmp "$(bx_dir 1)/data/vms/web/qmp.sock" stop
bx_check "... and paused after a QMP stop" [ "$(hv_status)" = paused ]
qmp "$(bx_dir 1)/data/vms/web/qmp.sock" cont
bx_check "... and running after cont" [ "$(hv_status)" = running ]

# --- the hypervisor dies -> restarted by policy -------------------------------
pid1=$(field web pid)
kill -9 "$pid1"
restarted() { pid_alive web && [ "$(field web pid)" != "$pid1" ] && healthy web; }
bx_check "a killed QEMU is restarted and healthy again" bx_wait 90 "restart" restarted
bx_check "the restart is counted" [ "$(field web restarts)" = 1 ]

# --- kill -9 of the daemon -> the VM is adopted, not restarted ----------------
pid2=$(field web pid)
bx_kill_node 1 9
bx_check "the VM outlives kill -9 of the daemon" kill -0 "$pid2"
bx_start_node 1
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
bx_check "the restarted daemon adopts the same QEMU" bx_wait 30 "adopted" \
	bash -c "grep -q \"agent service=web: adopted running instance (pid $pid2)\" '$(bx_dir 1)/log'"
bx_check "the adopted VM is healthy again" bx_wait 30 "healthy" healthy web
bx_check "it was not restarted" [ "$(field web pid)" = "$pid2" ]
bx_check "... and its restarts are still counted" [ "$(field web restarts)" = 1 ]

# --- stop -> graceful power-off within the timeout ------------------------------
t0=$(date +%s%N)
bx_check "'blixard stop web' succeeds" bx_cli 1 stop web
bx_check "service reaches stopped" bx_wait 30 "stopped" is web state stopped
t1=$(date +%s%N)
bx_check "QEMU is gone" bx_wait 5 "gone" bx_gone "$pid2"
bx_check "the guest powered off (ACPI power button through QMP)" \
	grep -q "power button, powering off" "$(bx_dir 1)/data/vms/web/console.log"
bx_check "stopped well within the 20 s timeout ($(((t1 - t0) / 1000000)) ms)" \
	[ $(((t1 - t0) / 1000000)) -lt 15000 ]

# --- failing health checks -> restarted, then given up ---------------------------
vm_spec sick "$PORT" 'path = "/missing"
grace_ms = 15000
unhealthy_after = 2' >"$BX_TMP/sick.toml"
bx_cli 1 start --detach "$BX_TMP/sick.toml" >/dev/null
bx_check "a guest failing its checks is restarted as unhealthy" bx_wait 90 "unhealthy restart" \
	bash -c "[ \"\$(curl -s http://$(bx_addr 1)/v1/services/sick | jq -r .restarts)\" -ge 1 ]"
bx_check "after max_attempts it is failed" bx_wait 120 "failed" is sick state failed
bx_check "the reason names the health check" \
	bash -c "curl -s http://$(bx_addr 1)/v1/services/sick | jq -r .reason | grep -q 'unhealthy (HTTP 404)'"
no_qemu_for() { ! pgrep -f -- "-name blixard-$1" >/dev/null; }
bx_check "no QEMU is left for it" no_qemu_for sick
bx_cli 1 remove sick >/dev/null

# --- specs this host cannot run: clear reason, no retry storm ---------------------
vm_spec nokernel "$PORT" | sed "s#$BX_IMG/vmlinuz#$BX_TMP/no-such-vmlinuz#" >"$BX_TMP/nokernel.toml"
bx_cli 1 start --no-wait "$BX_TMP/nokernel.toml" >/dev/null
bx_check "missing kernel: failed, reason names the file" bx_wait 20 "failed" \
	bx_failed_with nokernel "kernel '$BX_TMP/no-such-vmlinuz': No such file or directory"

bx_hold_port "$PORT2"
vm_spec busyport "$PORT2" >"$BX_TMP/busyport.toml"
bx_cli 1 start --no-wait "$BX_TMP/busyport.toml" >/dev/null
bx_check "host port in use: failed, reason names the port" bx_wait 20 "failed" \
	bx_failed_with busyport "host port $PORT2/tcp is not free"
bx_release_port

vm_spec huge "$PORT" 'path = "/health"' 1048576 >"$BX_TMP/huge.toml"
bx_cli 1 start --no-wait "$BX_TMP/huge.toml" >/dev/null
# the scheduler sees it first: no node offers that much (docs/SCHEDULING.md)
huge_waits() { bx_is huge node 0 && bx_is huge state pending && bx_field huge reason | grep -qF "no room: it needs 1048576 MB"; }
bx_check "memory above any node's: it waits on no node, the reason says no room" \
	bx_wait 20 "waits" huge_waits

vm_spec odd "$PORT" | sed 's/driver = "qemu"/driver = "firecracker"/' >"$BX_TMP/odd.toml"
bx_check "unknown driver: refused before anything is stored" \
	bash -c "! '$BX_BIN' --addr $(bx_addr 1) start '$BX_TMP/odd.toml' 2>'$BX_TMP/odd.err'"
bx_check "... with a message naming the driver" grep -q "firecracker" "$BX_TMP/odd.err"
bx_check "... and no record" bash -c "bx_out=\$(curl -s -o /dev/null -w '%{http_code}' http://$(bx_addr 1)/v1/services/odd); [ \$bx_out = 404 ]"
# Nothing may retry them: watch them over one full agent pass (5 s).
bx_check "no retry storm: still failed, no restarts, over a full agent pass" \
	bx_stays_failed 6 nokernel busyport
bx_check "... and the huge one still waits, never placed" huge_waits

bx_finish
