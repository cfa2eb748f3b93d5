#!/usr/bin/env bash
# The daemon's CPU with N idle microVMs whose HTTP health is checked every
# second (the test guest under TCG).
#
#   bench/vm_idle_cpu.sh [N] [SECONDS]     (default 20 VMs, 30 s; root)
#
# Starts N qemu services on a one-node cluster, waits until every one is
# healthy, then reads the daemon's utime+stime (/proc/PID/stat) over SECONDS
# and prints it as a share of one core. Goal (issue 5): <= 2 %.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
SECS=${2:-30}
API=127.0.0.1:27400
RAFT_PORT=27401
BASE_PORT=27410
BENCH_VM_PREFIX=blixard-idle-
. bench/lib.sh
bench_setup idle

for i in $(seq 1 "$N"); do
	port=$((BASE_PORT + i))
	cat >"$TMP/idle-$i.toml" <<TOML
[service]
name = "idle-$i"
driver = "qemu"
memory_mb = 96

[vm]
kernel = "$IMG/vmlinuz"
initrd = "$IMG/initrd.gz"
cmdline = "console=ttyS0 reboot=t panic=-1 quiet${KHZ:+ tsc_early_khz=$KHZ}"
accel = "tcg"

[network]
ports = ["$port:80"]

[health]
type = "http"
port = $port
path = "/health"
interval_ms = 1000
grace_ms = 300000
TOML
	"$BIN" --addr "$API" start --no-wait "$TMP/idle-$i.toml" >/dev/null
done

echo "waiting for $N VMs to turn healthy..."
deadline=$((SECONDS + 600))
while :; do
	healthy=$(curl -s "http://$API/v1/services" | jq '[.[] | select(.health == "healthy")] | length')
	[ "$healthy" -ge "$N" ] && break
	if [ $SECONDS -ge $deadline ]; then
		echo "only $healthy of $N healthy after 600 s" >&2
		exit 1
	fi
	sleep 1
done
echo "all $N healthy; measuring the daemon for $SECS s"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks "$DPID")
q0=0
for p in $(pgrep -f -- "-name blixard-idle-"); do q0=$((q0 + $(ticks "$p"))); done
sleep "$SECS"
t1=$(ticks "$DPID")
q1=0
for p in $(pgrep -f -- "-name blixard-idle-"); do q1=$((q1 + $(ticks "$p"))); done
checks=$((N * SECS))
awk -v d=$((t1 - t0)) -v q=$((q1 - q0)) -v hz="$hz" -v s="$SECS" -v n="$N" -v c="$checks" 'BEGIN {
	printf "daemon CPU: %.2f %% of one core (%d ticks of 1/%d s in %d s; ~%d health checks)\n", 100 * d / hz / s, d, hz, s, c
	printf "the %d QEMU processes (TCG guests, for context): %.1f %% of one core\n", n, 100 * q / hz / s
}'
still=$(curl -s "http://$API/v1/services" | jq '[.[] | select(.health == "healthy")] | length')
echo "healthy at the end: $still of $N"
