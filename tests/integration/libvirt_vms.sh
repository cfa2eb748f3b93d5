#!/usr/bin/env bash
# Real microVMs with the libvirt driver (TCG), through a libvirtd and virtlogd
# the test starts itself (lib_libvirt.sh): start -> healthy as a transient
# domain; libvirt's view in status; a killed QEMU is restarted by policy;
# kill -9 of the daemon -> the domain is adopted; libvirtd restarted while a
# domain died -> the daemon reconnects, learns it and restarts it; stop
# presses the power button within the timeout; specs this host cannot run,
# and an unreachable libvirtd, fail with a clear reason and no retries.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_libvirt.sh"
bx_setup
bx_guest
bx_libvirtd_start
PORT=$((BX_BASE + 60))
PORT2=$((BX_BASE + 61))

# vm_spec NAME PORT [extra [vm] lines]
vm_spec() {
	cat <<TOML
[service]
name = "$1"
driver = "libvirt"
memory_mb = 128
stop_timeout_ms = 20000

$(bx_guest_vm "blixard.msg=hello-$1")
uri = "${3:-$BX_LV_URI}"

[network]
ports = ["$2:80"]

[health]
type = "http"
port = $2
expect = "ok"
interval_ms = 500
timeout_ms = 400

[restart]
policy = "on-failure"
max_attempts = 3
window_ms = 120000
backoff_ms = 200
TOML
}

field() { bx_field "$@"; }
is() { bx_is "$@"; }
healthy() { bx_healthy "$@"; }
qemu_of() { pgrep -f -- "guest=blixard-$1,"; } # libvirt names QEMU's guest so
hv() { curl -s -m 10 "http://$(bx_addr 1)/v1/services/$1/vm" | jq -r ".hypervisor.$2"; }

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null

# --- start -> healthy -------------------------------------------------------
vm_spec web "$PORT" >"$BX_TMP/web.toml"
bx_check "'blixard start web.toml' succeeds" bx_cli 1 start "$BX_TMP/web.toml"
bx_check "the VM turns healthy" bx_wait 90 "healthy" healthy web
bx_check "libvirt runs it as the transient domain blixard-web" \
	bash -c "[ \"\$(virsh -q -c '$BX_LV_URI' domstate blixard-web)\" = running ] &&
		! virsh -q -c '$BX_LV_URI' list --all --persistent --name | grep -q ."
bx_check "the guest answers on the forwarded port" \
	bash -c "curl -s -m 5 http://127.0.0.1:$PORT/ | grep -q hello-web"
pid1=$(qemu_of web)
bx_check "the reported pid is the domain's QEMU" bx_wait 10 "pid" is web pid "$pid1"
bx_check "the domain's UUID is recorded in the run directory" \
	bash -c "[ \"\$(cat '$(bx_dir 1)/data/vms/web/domain')\" = \"\$(virsh -q -c '$BX_LV_URI' domuuid blixard-web)\" ]"
bx_check "'blixard logs' shows the serial console" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) logs web | grep -q 'blixard-guest: ready'"
bx_check "the node reports libvirt's state: running" [ "$(hv web status)" = running ]
bx_virsh suspend blixard-web >/dev/null
bx_check "... paused after virsh suspend" [ "$(hv web status)" = paused ]
bx_virsh resume blixard-web >/dev/null
bx_check "... running after resume" [ "$(hv web status)" = running ]
bx_check "'blixard status' shows it" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) status web | grep -q 'hypervisor: running'"

# --- the hypervisor dies -> restarted by policy -------------------------------
kill -9 "$pid1"
restarted() { healthy web && p=$(qemu_of web) && [ "$p" != "$pid1" ] && is web pid "$p"; }
bx_check "a killed QEMU is restarted and healthy again" bx_wait 90 "restart" restarted
bx_check "the restart is counted" [ "$(field web restarts)" = 1 ]

# --- kill -9 of the daemon -> adopted, not restarted ---------------------------
pid2=$(qemu_of web)
uuid2=$(cat "$(bx_dir 1)/data/vms/web/domain")
bx_kill_node 1 9
bx_check "the domain outlives kill -9 of the daemon" kill -0 "$pid2"
bx_start_node 1
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
bx_check "the restarted daemon adopts the domain" bx_wait 30 "adopted" \
	grep -q "agent service=web: adopted running instance" "$(bx_dir 1)/log"
bx_check "... and reports its QEMU, the same one" bx_wait 10 "pid" is web pid "$pid2"
bx_check "the adopted VM is healthy again" bx_wait 30 "healthy" healthy web
same_domain() { [ "$(qemu_of web)" = "$pid2" ] && [ "$(cat "$(bx_dir 1)/data/vms/web/domain")" = "$uuid2" ]; }
bx_check "it was not restarted" same_domain
bx_check "... nor counted" [ "$(field web restarts)" = 1 ]

# --- libvirtd goes away; the domain dies meanwhile -----------------------------
kill -9 "$BX_LV_PID"
bx_wait 10 "libvirtd gone" bx_gone "$BX_LV_PID"
rm -f "$BX_TMP/libvirt/sock/libvirt-sock"
bx_check "the domain outlives libvirtd" kill -0 "$pid2"
kill -9 "$pid2"
bx_libvirtd_run
restarted2() { healthy web && p=$(qemu_of web) && [ "$p" != "$pid2" ] && is web pid "$p"; }
bx_check "after libvirtd is back, the daemon learns the domain ended and restarts it" \
	bx_wait 90 "restart after reconnect" restarted2
bx_check "... counted as the second restart" [ "$(field web restarts)" = 2 ]

# --- stop -> graceful power-off within the timeout ------------------------------
pid3=$(qemu_of web)
t0=$(date +%s%N)
bx_check "'blixard stop web' succeeds" bx_cli 1 stop web
bx_check "service reaches stopped" bx_wait 30 "stopped" is web state stopped
t1=$(date +%s%N)
bx_check "QEMU is gone" bx_wait 5 "gone" bx_gone "$pid3"
bx_check "the guest powered off (ACPI power button through libvirt)" \
	grep -q "power button, powering off" "$(bx_dir 1)/data/vms/web/console.log"
bx_check "stopped well within the 20 s timeout ($(((t1 - t0) / 1000000)) ms)" \
	[ $(((t1 - t0) / 1000000)) -lt 15000 ]
bx_check "the domain is gone from libvirt" \
	bash -c "! virsh -q -c '$BX_LV_URI' list --all --name | grep -q blixard-web"
bx_check "... and its record from the run directory" [ ! -e "$(bx_dir 1)/data/vms/web/domain" ]

# --- what cannot run: a clear reason, no retries ---------------------------------
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

vm_spec nolibvirt "$PORT" "qemu:///system?socket=$BX_TMP/no-such-sock" >"$BX_TMP/nolibvirt.toml"
bx_cli 1 start --no-wait "$BX_TMP/nolibvirt.toml" >/dev/null
bx_check "unreachable libvirtd: failed, reason names the URI" bx_wait 20 "failed" \
	bx_failed_with nolibvirt "libvirt 'qemu:///system?socket=$BX_TMP/no-such-sock': cannot connect"

bx_check "no retries: still failed, no restarts, over a full agent pass" \
	bx_stays_failed 6 nokernel busyport nolibvirt

# --- a clean daemon stop lets go of the domains ----------------------------------
bx_cli 1 start --no-wait web >/dev/null
bx_wait 90 "healthy" healthy web
pid4=$(qemu_of web)
bx_kill_node 1 TERM
bx_check "SIGTERM: the daemon stops, the domain keeps running" kill -0 "$pid4"
bx_check "... and libvirt still runs it" \
	bash -c "[ \"\$(virsh -q -c '$BX_LV_URI' domstate blixard-web)\" = running ]"

# --- a running domain that no record names: replaced, never run beside the new one ---
rm "$(bx_dir 1)/data/vms/web/domain" # as if the daemon's data were lost
bx_start_node 1
replaced() { healthy web && p=$(qemu_of web) && [ "$p" != "$pid4" ] && is web pid "$p" && bx_gone "$pid4"; }
most=0
deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ] && ! replaced; do
	n=$(pgrep -fc -- "guest=blixard-web,")
	[ "$n" -gt "$most" ] && most=$n
	sleep 0.1
done
bx_check "the unrecorded domain is replaced by a new, healthy one" replaced
bx_check "... and never ran beside it (at most $most QEMU at once)" [ "$most" -le 1 ]
bx_check "... and the daemon says what it did" \
	grep -q "was destroyed before the new one was created" "$(bx_dir 1)/log"

bx_finish
