# lib.sh - what the VM benchmarks share: the test guest and a one-node daemon.
#
# Source it after `cd` to the checkout, with API (HOST:PORT) and RAFT_PORT set:
# bench_setup NAME makes TMP, builds the guest (IMG, KHZ), starts the daemon
# (DPID) and waits for its leader; everything is removed on exit, including
# QEMU processes whose "-name NAME" matches the pattern $BENCH_VM_PREFIX.
BIN=$PWD/build/blixard
BX_AT_EXIT=()

# bench_libvirtd: a libvirtd of the bench's own, as the tests run it
# (tests/integration/lib_libvirt.sh); sets BX_LV_URI. After bench_setup.
bench_libvirtd() {
	. tests/integration/lib.sh
	. tests/integration/lib_libvirt.sh
	BX_TMP=$TMP
	bx_libvirtd_start
}

bench_cleanup() { # every step, whatever the one before it did (set -e)
	if [ -n "${DPID:-}" ]; then kill -9 "$DPID" 2>/dev/null || true; fi
	for step in "${BX_AT_EXIT[@]}"; do "$step" || true; done # a libvirtd of our own
	if [ -n "${BENCH_VM_PREFIX:-}" ]; then
		pkill -9 -f -- "-name $BENCH_VM_PREFIX" 2>/dev/null || true
	fi
	if [ -n "${TMP:-}" ]; then rm -rf "$TMP"; fi
}

bench_setup() {
	IMG=$(bash scripts/build-guest-image.sh | tail -n 1)
	# Under TCG the guest's TSC calibration against the emulated PIT can fail
	# and hang its boot; the host's TSC rate on its command line skips it.
	KHZ=$(awk '/^cpu MHz/ {printf "%d", $4 * 1000; exit}' /proc/cpuinfo)
	TMP=$(mktemp -d "/tmp/bx-bench-$1-XXXXXX")
	trap bench_cleanup EXIT
	. scripts/lib_secret.sh
	bx_secret_setup "$TMP"
	"$BIN" daemon --node-id 1 --data-dir "$TMP/data" --bootstrap --api "$API" \
		--raft "127.0.0.1:$RAFT_PORT" --socket "$TMP/sock" --log-level warn \
		--cluster-secret-file "$BX_SECRET_FILE" \
		>"$TMP/log" 2>&1 &
	DPID=$!
	for _ in $(seq 1 150); do
		curl -sf "http://$API/v1/cluster" | jq -e .leader.id >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "the daemon did not elect itself; its log:" >&2
	cat "$TMP/log" >&2
	exit 1
}
