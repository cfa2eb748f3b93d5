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
# Prints the medians and Blixard's overhead (median difference).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-9}
API=127.0.0.1:27300
RAFT_PORT=27301
GUEST_PORT=27310
BENCH_VM_PREFIX='(blixard|bare)-benchvm' # a pkill -f pattern
. bench/lib.sh
bench_setup vm
cmdline="console=ttyS0 reboot=t panic=-1 quiet${KHZ:+ tsc_early_khz=$KHZ}"
cat >"$TMP/vm.toml" <<TOML
[service]
name = "benchvm"
driver = "qemu"
memory_mb = 128

[vm]
kernel = "$IMG/vmlinuz"
initrd = "$IMG/initrd.gz"
cmdline = "$cmdline"
accel = "tcg"

[network]
ports = ["$GUEST_PORT:80"]

[health]
type = "http"
port = $GUEST_PORT
path = "/health"
TOML

python3 - "$BIN" "$API" "$TMP" "$IMG" "$cmdline" "$GUEST_PORT" "$RUNS" <<'PY'
import json, os, statistics, subprocess, sys, time, urllib.request

BIN, API, TMP, IMG, CMDLINE, PORT, RUNS = sys.argv[1:8]
PORT, RUNS = int(PORT), int(RUNS)
URL = f"http://127.0.0.1:{PORT}/health"

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
        if argv and argv[0].endswith(b"qemu-system-x86_64") and tag.encode() in argv:
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

def guest_ok():
    try:
        with urllib.request.urlopen(URL, timeout=0.1) as r:
            return r.status == 200
    except Exception:
        return False

def api(method, path):
    req = urllib.request.Request(f"http://{API}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)
    except Exception:
        return None

def gone(pid):
    return not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"

def bare():
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
    wait(guest_ok)
    t_guest = now() - t0
    p.kill()
    p.wait()
    return t_spawn, t_guest, None

def blixard():
    t0 = now()
    subprocess.run([BIN, "--addr", API, "start", "--no-wait", f"{TMP}/vm.toml"],
                   check=True, stdout=subprocess.DEVNULL)
    pid = wait(lambda: qemu_pid("blixard-benchvm"))
    t_spawn = now() - t0
    wait(guest_ok)
    t_guest = now() - t0
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
print(f"  {'blixard':8s} {med('blixard',0):8.1f} {med('blixard',1):8.1f} {med('blixard',2):8.1f}")
print(f"overhead (blixard - bare): spawned {med('blixard',0)-med('bare',0):+.1f} ms, "
      f"guest answering {med('blixard',1)-med('bare',1):+.1f} ms, "
      f"reported healthy {med('blixard',2)-med('bare',1):+.1f} ms")
PY
