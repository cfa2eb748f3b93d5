#!/usr/bin/env bash
# Scale: one daemon holding N services (default 10,000, created stopped).
# Measures: create time (sequential PUTs over one keep-alive connection),
# `blixard list` wall time (median of 5), GET /metrics (median of 20), SIGTERM + restart to serving all N
# (median of 3), and the daemon's RSS with N services loaded.
#   bench/scale.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
BIN=${BIN:-$PWD/build/blixard}
TMP=$(mktemp -d /tmp/bx-scale-XXXXXX)
API=127.0.0.1:27100
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
. scripts/lib_secret.sh
bx_secret_setup "$TMP"
start() {
	"$BIN" daemon --node-id 1 --data-dir "$TMP/data" --api "$API" --raft 127.0.0.1:27101 \
		--socket "$TMP/sock" --log-level warn --cluster-secret-file "$BX_SECRET_FILE" \
		"$@" >>"$TMP/log" 2>&1 &
	PID=$!
}
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
serving_all() { [ "$(curl -sf "http://$API/v1/services" | jq length)" = "$N" ]; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
start --bootstrap
until curl -sf "http://$API/v1/cluster" | jq -e .leader.id >/dev/null 2>&1; do sleep 0.1; done

t0=$(now_ms)
python3 - "$API" "$N" <<'PY'
import http.client, json, os, sys
host, port = sys.argv[1].split(":")
headers = {"Content-Type": "application/json",  # the cluster token (lib_secret.sh)
           "Authorization": "Bearer " + os.environ["BLIXARD_TOKEN"]}
n = int(sys.argv[2])
c = http.client.HTTPConnection(host, int(port), timeout=30)
for i in range(n):
    body = json.dumps({"spec": {"service": {"driver": "process"},
                                "process": {"command": ["/bin/sleep", "3600"]}},
                       "start": False})
    c.request("PUT", f"/v1/services/svc-{i}", body, headers)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"PUT svc-{i}: HTTP {r.status}")
PY
t1=$(now_ms)
echo "create $N services: $((t1 - t0)) ms ($(awk "BEGIN{printf \"%.0f\", $N*1000/($t1-$t0)}") writes/s, one connection)"

for i in 1 2 3 4 5; do
	a=$(now_ms)
	"$BIN" --socket "$TMP/sock" list >/dev/null
	echo $(($(now_ms) - a))
done | median | xargs -I{} echo "blixard list ($N services): median {} ms"
for i in 1 2 3 4 5; do
	a=$(now_ms)
	"$BIN" --socket "$TMP/sock" --json list >/dev/null
	echo $(($(now_ms) - a))
done | median | xargs -I{} echo "blixard --json list ($N services): median {} ms"
for i in $(seq 1 20); do
	curl -s -o /dev/null -w '%{time_total}\n' "http://$API/metrics"
done | median | awk -v n="$N" '{printf "GET /metrics (%d services): median %.1f ms\n", n, $1 * 1000}'
echo "RSS with $N services: $(awk '/VmRSS|RssAnon|RssFile/{printf "%s %.1f MiB  ", $1, $2/1024}' /proc/$PID/status)"

: >"$TMP/restarts"
for i in 1 2 3; do
	kill -TERM "$PID"
	wait "$PID" 2>/dev/null || true
	a=$(now_ms)
	start
	until serving_all 2>/dev/null; do sleep 0.02; done
	echo $(($(now_ms) - a)) >>"$TMP/restarts"
done
echo "restart to serving all $N: median $(median <"$TMP/restarts") ms (runs: $(tr '\n' ' ' <"$TMP/restarts"))"
echo "RSS after restart: $(awk '/VmRSS|RssAnon|RssFile/{printf "%s %.1f MiB  ", $1, $2/1024}' /proc/$PID/status)"
