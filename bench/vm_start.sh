#!/usr/bin/env bash
# Start latency of a microVM through Blixard against the same QEMU command line
# run by hand, side by side in one run (alternating), on the test guest (TCG).
#
#   bench/vm_start.sh [RUNS]      (default 9 of each; needs build/blixard, root)
#
# Per run:
#   spawned  from the start (blixard start --no-wait / the shell's fork) until a
#            qemu-system process for the VM exists
#   guest    from the start until the guest answers GET /health on its port
#   healthy  (Blixard only) from the start until the API reports health=healthy
# Prints the medians, Blixard's overhead (median difference), and the
# detection lag (healthy - guest, paired within each run): the guest's boot
# time under TCG varies by +-200 ms, so spawn overhead + detection lag is the
# figure that the noise does not drown.
# BENCH_NO_HEALTH=1: the service has no [health] checks (shows what the
# daemon's own probes of a booting guest cost it); "healthy" is then not measured.
# BENCH_DRIVER=libvirt: the libvirt driver against `virsh create` of the same
# domain by hand, both through a libvirtd the bench starts (as the tests do).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-9}
API=127.0.0.1:27300
RAFT_PORT=27301
GUEST_PORT=27310
BENCH_VM_PREFIX='(blixard|bare)-benchvm' # a pkill -f pattern
. bench/lib.sh
bench_setup vm
DRIVER=${BENCH_DRIVER:-qemu}
cmdline="console=ttyS0 reboot=t panic=-1 quiet${KHZ:+ tsc_early_khz=$KHZ}"
BX_LV_URI=
if [ "$DRIVER" = libvirt ]; then
	bench_libvirtd
	# the domain the libvirt driver creates (vm/libvirt_xml.c), for virsh
	cat >"$TMP/bare.xml" <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>bare-benchvm</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='microvm'>hvm</type>
    <kernel>$IMG/vmlinuz</kernel>
    <initrd>$IMG/initrd.gz</initrd>
    <cmdline>$cmdline</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='$TMP/bare.log' append='on'/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=bxnet0,hostfwd=tcp::$GUEST_PORT-:80'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-device,netdev=bxnet0,mac=52:54:00:12:34:56'/>
  </qemu:commandline>
</domain>
XML
fi
uri_line=
[ -z "$BX_LV_URI" ] || uri_line="uri = \"$BX_LV_URI\""
cat >"$TMP/vm.toml" <<TOML
[service]
name = "benchvm"
driver = "$DRIVER"
memory_mb = 128

[vm]
kernel = "$IMG/vmlinuz"
initrd = "$IMG/initrd.gz"
cmdline = "$cmdline"
accel = "tcg"
$uri_line

[network]
ports = ["$GUEST_PORT:80"]

TOML
if [ -z "${BENCH_NO_HEALTH:-}" ]; then
	printf '[health]\ntype = "http"\nport = %s\npath = "/health"\n' "$GUEST_PORT" >>"$TMP/vm.toml"
fi

python3 - "$BIN" "$API" "$TMP" "$IMG" "$cmdline" "$GUEST_PORT" "$RUNS" "$BX_LV_URI" <<'PY'
import json, os, statistics, subprocess, sys, threading, time, urllib.request

BIN, API, TMP, IMG, CMDLINE, PORT, RUNS, LV_URI = sys.argv[1:9]
PORT, RUNS = int(PORT), int(RUNS)
URL = f"http://127.0.0.1:{PORT}/health"
NO_HEALTH = bool(os.environ.get("BENCH_NO_HEALTH"))

def now():
    return time.monotonic_ns() / 1e6

def qemu_pid(tag):
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        # "-name TAG" run by hand; "-name guest=TAG,debug-threads=on" run by libvirt
        name = tag.encode()
        if argv and argv[0].endswith(b"qemu-system-x86_64") and any(
                a == name or a.startswith(b"guest=" + name + b",") for a in argv):
            return int(p)
    return None

def wait(cond, secs=120):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.002)
    raise SystemExit("timed out")

def guest_ok(timeout):
    try:
        with urllib.request.urlopen(URL, timeout=timeout) as r:
            return r.status == 200
    except Exception:
        return False

def wait_guest(secs=120):
    """When the guest first answers: a probe every 20 ms, each allowed 2 s,
    since user networking holds a connection until the guest is up (one
    probe at a time would only see the guest at its own timeout's pace)."""
    done = threading.Event()
    first = []
    lock = threading.Lock()
    def probe():
        if guest_ok(2.0):
            with lock:
                if not first:
                    first.append(now())
            done.set()
    deadline = time.monotonic() + secs
    while not done.is_set():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the guest")
        threading.Thread(target=probe, daemon=True).start()
        done.wait(0.02)
    return first[0]

def api(method, path):
    req = urllib.request.Request(f"http://{API}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)
    except Exception:
        return None

def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] == "Z"
    except OSError:
        return True

def bare_libvirt():
    virsh = ["virsh", "-q", "-c", LV_URI]
    t0 = now()
    subprocess.run(virsh + ["create", f"{TMP}/bare.xml"], check=True, stdout=subprocess.DEVNULL)
    pid = wait(lambda: qemu_pid("bare-benchvm"))
    t_spawn = now() - t0
    t_guest = wait_guest() - t0
    subprocess.run(virsh + ["destroy", "bare-benchvm"], check=True, stdout=subprocess.DEVNULL)
    wait(lambda: gone(pid))
    return t_spawn, t_guest, None

def bare():
    if LV_URI:
        return bare_libvirt()
    argv = ["qemu-system-x86_64", "-name", "bare-benchvm", "-M", "microvm", "-accel", "tcg",
            "-m", "128", "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-kernel", f"{IMG}/vmlinuz", "-initrd", f"{IMG}/initrd.gz",
            "-append", CMDLINE, "-chardev", "stdio,id=console,signal=off",
            "-serial", "chardev:console", "-qmp", f"unix:{TMP}/bare.sock,server=on,wait=off",
            "-netdev", f"user,id=net0,hostfwd=tcp::{PORT}-:80",
            "-device", "virtio-net-device,netdev=net0,mac=52:54:00:12:34:56"]
    log = open(f"{TMP}/bare.log", "ab")
    t0 = now()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    wait(lambda: qemu_pid("bare-benchvm"))
    t_spawn = now() - t0
    t_guest = wait_guest() - t0
    p.kill()
    p.wait()
    return t_spawn, t_guest, None

def blixard():
    t0 = now()
    subprocess.run([BIN, "--addr", API, "start", "--no-wait", f"{TMP}/vm.toml"],
                   check=True, stdout=subprocess.DEVNULL)
    pid = wait(lambda: qemu_pid("blixard-benchvm"))
    t_spawn = now() - t0
    t_guest = wait_guest() - t0
    t_healthy = None
    if not NO_HEALTH:
        wait(lambda: (api("GET", "/v1/services/benchvm") or {}).get("health") == "healthy")
        t_healthy = now() - t0
    subprocess.run([BIN, "--addr", API, "remove", "benchvm"], check=True,
                   stdout=subprocess.DEVNULL)
    wait(lambda: gone(pid))
    return t_spawn, t_guest, t_healthy

res = {"bare": [], "blixard": []}
for i in range(RUNS):
    for name, fn in (("bare", bare), ("blixard", blixard)) if i % 2 == 0 else \
                    (("blixard", blixard), ("bare", bare)):
        r = fn()
        res[name].append(r)
        print(f"run {i+1} {name:8s} spawned {r[0]:7.1f} ms  guest {r[1]:7.1f} ms" +
              (f"  healthy {r[2]:7.1f} ms" if r[2] is not None else ""), flush=True)

def med(name, k):
    return statistics.median(r[k] for r in res[name])

print()
print(f"medians over {RUNS} runs each (ms):")
print(f"  {'':8s} {'spawned':>8s} {'guest':>8s} {'healthy':>8s}")
print(f"  {'bare':8s} {med('bare',0):8.1f} {med('bare',1):8.1f} {'-':>8s}")
healthy = "-" if NO_HEALTH else f"{med('blixard',2):8.1f}"
print(f"  {'blixard':8s} {med('blixard',0):8.1f} {med('blixard',1):8.1f} {healthy:>8s}")
print(f"overhead (blixard - bare): spawned {med('blixard',0)-med('bare',0):+.1f} ms, "
      f"guest answering {med('blixard',1)-med('bare',1):+.1f} ms" +
      ("" if NO_HEALTH else f", reported healthy {med('blixard',2)-med('bare',1):+.1f} ms"))
if not NO_HEALTH:
    # Paired per run, free of the guest's boot-time noise: how long after
    # the guest first answers does Blixard report it healthy?
    lag = statistics.median(r[2] - r[1] for r in res["blixard"])
    print(f"detection lag (healthy - guest answering, per run): median {lag:.1f} ms; "
          f"spawn overhead + lag = {med('blixard',0)-med('bare',0)+lag:.1f} ms")
    print("(the guest's own boot time varies by +-200 ms under TCG, so the medians of "
          "'guest' differ by that noise)")
PY
