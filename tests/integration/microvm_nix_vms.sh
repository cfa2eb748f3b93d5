#!/usr/bin/env bash
# The microvm-nix driver with a runner directory in microvm.nix's layout
# (STATE/NAME/current -> a runner with bin/microvm-run and
# bin/microvm-shutdown) whose microvm-run boots the test guest (TCG): start ->
# healthy in the state directory; a killed hypervisor is restarted; kill -9 of
# the daemon -> adopted; stop runs the booted runner's microvm-shutdown; a
# runner without microvm-run fails clearly; the default runner path is
# microvm.nix's.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup
bx_guest
PORT=$((BX_BASE + 70))
STATE=$BX_TMP/microvms # stands for /var/lib/microvms

# make_runner DIR NAME: a runner as microvm.nix builds one for QEMU. It runs
# in the VM's state directory (its control socket is relative to it) and
# microvm-run execs the hypervisor.
make_runner() {
	local dir=$1 name=$2
	mkdir -p "$dir/bin"
	cat >"$dir/bin/microvm-run" <<SH
#!/bin/sh
exec qemu-system-x86_64 -name mnix-$name -M microvm -accel tcg -m 128 -smp 1 \\
	-nodefaults -no-user-config -display none -no-reboot \\
	-kernel $BX_IMG/vmlinuz -initrd $BX_IMG/initrd.gz \\
	-append "console=ttyS0 reboot=t panic=-1 blixard.msg=nix-$name${BX_KHZ:+ tsc_early_khz=$BX_KHZ}" \\
	-chardev stdio,id=console,signal=off -serial chardev:console \\
	-qmp unix:control.socket,server=on,wait=off \\
	-netdev user,id=net0,hostfwd=tcp::$PORT-:80 -device virtio-net-device,netdev=net0
SH
	cat >"$dir/bin/microvm-shutdown" <<'SH'
#!/bin/sh
# ask the guest to power off over QMP, and wait until QEMU has gone
echo "microvm-shutdown in $(pwd)" >>shutdown.log
exec python3 -c '
import socket
s = socket.socket(socket.AF_UNIX)
s.connect("control.socket")
f = s.makefile("rw")
f.readline()
f.write("{\"execute\": \"qmp_capabilities\"}\n"); f.flush(); f.readline()
f.write("{\"execute\": \"system_powerdown\"}\n"); f.flush()
while f.readline():
    pass
'
SH
	chmod +x "$dir/bin/microvm-run" "$dir/bin/microvm-shutdown"
}

spec() { # NAME [runner line]
	cat <<TOML
[service]
name = "$1"
driver = "microvm-nix"
stop_timeout_ms = 20000

[vm]
${2:-}

[health]
type = "http"
port = $PORT
interval_ms = 500
timeout_ms = 400

[restart]
policy = "on-failure"
max_attempts = 3
backoff_ms = 200
TOML
}

pid_of() { bx_field "$1" pid; }

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null

# the state directory holds `current`, a link to the runner in a "store"
make_runner "$BX_TMP/store/runner-1" web
mkdir -p "$STATE/web"
ln -s "$BX_TMP/store/runner-1" "$STATE/web/current"
spec web "runner = \"$STATE/web/current\"" >"$BX_TMP/web.toml"

bx_check "'blixard start' succeeds" bx_cli 1 start "$BX_TMP/web.toml"
bx_check "the VM turns healthy" bx_wait 90 "healthy" bx_healthy web
bx_check "the instance is the hypervisor microvm-run execs" \
	grep -q "mnix-web" "/proc/$(pid_of web)/cmdline"
bx_check "it runs in the VM's state directory" \
	[ "$(readlink "/proc/$(pid_of web)/cwd")" = "$STATE/web" ]
bx_check "its control socket is there" [ -S "$STATE/web/control.socket" ]
bx_check "the booted runner is recorded" \
	[ "$(readlink "$(bx_dir 1)/data/vms/web/booted")" = "$BX_TMP/store/runner-1" ]
bx_check "the guest answers" bash -c "curl -s -m 5 http://127.0.0.1:$PORT/ | grep -q nix-web"

pid1=$(pid_of web)
kill -9 "$pid1"
restarted() { [ "$(pid_of web)" != "$pid1" ] && [ "$(pid_of web)" != 0 ] && bx_healthy web; }
bx_check "a killed hypervisor is restarted by policy" bx_wait 90 "restarted" restarted

pid2=$(pid_of web)
bx_kill_node 1 9
bx_start_node 1
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
bx_check "after kill -9 of the daemon the same VM is adopted" bx_wait 30 "adopted" \
	bash -c "grep -q \"agent service=web: adopted running instance (pid $pid2)\" '$(bx_dir 1)/log'"
bx_check "... and healthy again, not restarted" bx_wait 30 "healthy" bx_healthy web
bx_check "... same pid" [ "$(pid_of web)" = "$pid2" ]

# `current` moves on (a rebuilt VM); stop must use the booted runner's script
mkdir -p "$BX_TMP/store/runner-2/bin"
printf '#!/bin/sh\necho wrong runner >>shutdown.log\nexit 1\n' >"$BX_TMP/store/runner-2/bin/microvm-shutdown"
cp "$BX_TMP/store/runner-1/bin/microvm-run" "$BX_TMP/store/runner-2/bin/"
chmod +x "$BX_TMP/store/runner-2/bin/microvm-shutdown"
ln -sfn "$BX_TMP/store/runner-2" "$STATE/web/current"
t0=$(date +%s%N)
bx_check "'blixard stop' succeeds" bx_cli 1 stop web
bx_check "service reaches stopped" bx_wait 30 "stopped" bx_is web state stopped
t1=$(date +%s%N)
bx_check "the booted runner's microvm-shutdown ran in the state directory" \
	grep -qx "microvm-shutdown in $STATE/web" "$STATE/web/shutdown.log"
bx_check "... not the new runner's" bash -c "! grep -q 'wrong runner' '$STATE/web/shutdown.log'"
bx_check "the guest powered off" \
	grep -q "power button, powering off" "$(bx_dir 1)/data/vms/web/console.log"
bx_check "stopped well within the timeout ($(((t1 - t0) / 1000000)) ms)" \
	[ $(((t1 - t0) / 1000000)) -lt 15000 ]
bx_check "the hypervisor is gone" bx_wait 5 "gone" bx_gone "$pid2"

# bad runners: a clear reason, no retries
mkdir -p "$BX_TMP/store/empty"
spec norun "runner = \"$BX_TMP/store/empty\"" >"$BX_TMP/norun.toml"
bx_cli 1 start --no-wait "$BX_TMP/norun.toml" >/dev/null
bx_check "a runner without bin/microvm-run: failed, reason says so" bx_wait 20 "failed" \
	bx_failed_with norun "has no executable bin/microvm-run"
spec dflt >"$BX_TMP/dflt.toml"
bx_cli 1 start --no-wait "$BX_TMP/dflt.toml" >/dev/null
bx_check "without [vm] runner, microvm.nix's path is used" bx_wait 20 "failed" \
	bx_failed_with dflt "'/var/lib/microvms/dflt/current'"
bx_check "... and stored in the spec" \
	[ "$(bx_field dflt spec.vm.runner)" = /var/lib/microvms/dflt/current ]
bx_check "no restarts for either, over a full agent pass" bx_stays_failed 6 norun dflt

bx_finish
