# lib.sh - helpers for integration tests that run real daemons on loopback.
#
# Source it, then: bx_setup; bx_start_node 1 --bootstrap; bx_wait_leader ...
# Every process started here is killed and every file removed on exit
# (trap), whether the test passed or not. Waits always have deadlines.
# Results: bx_check NAME CONDITION-COMMAND... counts; bx_finish prints
# "N passed, N failed" and exits non-zero if anything failed.

BX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BX_BIN=${BX_BIN:-$BX_ROOT/${BUILD:-build}/blixard}
BX_PASSED=0
BX_FAILED=0
declare -A BX_PIDS=()
BX_OLD_PIDS=() # daemons whose node number was started again: killed at exit too
BX_AT_EXIT=() # more cleanup steps (functions), run after the daemons are killed
# shellcheck source=../../scripts/lib_secret.sh
. "$BX_ROOT/scripts/lib_secret.sh"

bx_setup() {
	BX_TMP=$(mktemp -d /tmp/bx-it-XXXXXX)
	[ -n "${BX_BASE:-}" ] || BX_BASE=$(bx_pick_base)
	trap bx_cleanup EXIT
	trap 'exit 130' INT TERM
	# every node started with bx_start_node gets the secret, but one joining
	# with --join-token, which must earn it; every curl shows the token
	bx_secret_setup "$BX_TMP"
}

# bx_pick_base: the first port of a block of 100 for this test (2 ports a
# node). The block lies below the kernel's ephemeral range, so no outgoing
# connection can take one of its ports between now and the daemon's bind,
# and no port in it has a listener now.
bx_pick_base() {
	local lo _hi base try
	read -r lo _hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 11000 ] || lo=60000 # an odd range: use the top instead
	for try in $(seq 1 50); do
		base=$((10000 + (RANDOM % ((lo - 10100) / 100)) * 100))
		if ! ss -Htln "( sport >= :$base and sport < :$((base + 100)) )" 2>/dev/null | grep -q .; then
			echo "$base"
			return
		fi
	done
	echo "$base"
}

bx_cleanup() {
	local pid
	for pid in "${BX_PIDS[@]}" "${BX_OLD_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
	done
	for pid in "${BX_AT_EXIT[@]}"; do
		"$pid"
	done
	# instances started by the daemons (process driver): their pidfiles
	if [ -n "${BX_TMP:-}" ] && [ -d "$BX_TMP" ]; then
		while IFS= read -r f; do
			read -r p _ <"$f" 2>/dev/null && kill -9 -- "-$p" "$p" 2>/dev/null
		done < <(find "$BX_TMP" -name pid -path '*/vms/*' 2>/dev/null)
		if [ -n "${BX_KEEP:-}" ]; then
			echo "kept $BX_TMP"
		else
			rm -rf "$BX_TMP"
		fi
	fi
}

# Node N's addresses: loopback ports of the test's block, or, once
# bx_hosts_setup (lib_hosts.sh) has made hosts, its own host's address.
bx_api_port() { if [ -n "${BX_HOST_NET:-}" ]; then echo 7000; else echo $((BX_BASE + $1 * 2)); fi; }
bx_raft_port() { if [ -n "${BX_HOST_NET:-}" ]; then echo 7001; else echo $((BX_BASE + $1 * 2 + 1)); fi; }
bx_ip() { if [ -n "${BX_HOST_NET:-}" ]; then echo "$BX_HOST_NET.$1"; else echo 127.0.0.1; fi; }
bx_addr() { echo "$(bx_ip "$1"):$(bx_api_port "$1")"; }
bx_dir() { echo "$BX_TMP/n$1"; }

# bx_start_node N [daemon flags...]: node N with its own dir, ports and log
# (in host N's network namespace when there are hosts).
bx_start_node() {
	local n=$1 run=() secret=(--cluster-secret-file "$BX_SECRET_FILE")
	shift
	mkdir -p "$(bx_dir "$n")"
	[ -z "${BX_HOST_NET:-}" ] || run=(ip netns exec "$(bx_host_ns "$n")")
	case " $* " in *" --join-token "*) secret=() ;; esac
	"${run[@]}" "$BX_BIN" daemon --node-id "$n" --name "n$n" --data-dir "$(bx_dir "$n")/data" \
		--api "$(bx_addr "$n")" --raft "$(bx_ip "$n"):$(bx_raft_port "$n")" \
		--socket "$(bx_dir "$n")/api.sock" --election-ms 500 --heartbeat-ms 50 \
		"${secret[@]}" "$@" >>"$(bx_dir "$n")/log" 2>&1 &
	# a node started again while its daemon still runs (a test that failed
	# to see it exit): that one is killed at exit too
	if [ -n "${BX_PIDS[$n]:-}" ] && kill -0 "${BX_PIDS[$n]}" 2>/dev/null; then
		BX_OLD_PIDS+=("${BX_PIDS[$n]}")
	fi
	BX_PIDS[$n]=$!
}

bx_kill_node() { # N [signal]
	local pid=${BX_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-${2:-9}" "$pid" 2>/dev/null
	# a clean stop has a deadline: a daemon that hangs is a failure, not a hung test
	local deadline=$((SECONDS + 15))
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		echo "FAIL node $1 did not stop within 15 s of SIG${2:-KILL}"
		BX_FAILED=$((BX_FAILED + 1))
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	unset "BX_PIDS[$1]"
}

# bx_host_dies N: node N's daemon and every instance it started (process
# driver), killed at once, as when its host dies.
bx_host_dies() {
	local f p
	kill -9 "${BX_PIDS[$1]}"
	for f in "$(bx_dir "$1")"/data/vms/*/pid; do
		[ -f "$f" ] && read -r p _ <"$f" && kill -9 -- "-$p" 2>/dev/null
	done
	wait "${BX_PIDS[$1]}" 2>/dev/null
	unset "BX_PIDS[$1]"
}

# bx_cli N ARGS...: the CLI against node N's TCP API.
bx_cli() {
	local n=$1
	shift
	"$BX_BIN" --addr "$(bx_addr "$n")" "$@"
}

# bx_on_tty FILE CMD...: run CMD with stdin, stdout and stderr on a pty
# (script(1)); its output, both streams with CRs removed, into FILE; its exit
# status returned.
bx_on_tty() {
	local out=$1 rc
	shift
	script -qec "$(printf '%q ' "$@")" /dev/null >"$out.raw" </dev/null
	rc=$?
	tr -d '\r' <"$out.raw" >"$out"
	rm -f "$out.raw"
	return $rc
}

bx_curl() { # N METHOD PATH [BODY]: prints body, then the status on the last line
	local n=$1 m=$2 p=$3
	if [ $# -ge 4 ]; then
		curl -s -m 30 -X "$m" -H 'Content-Type: application/json' --data-binary "$4" \
			-w '\n%{http_code}' "http://$(bx_addr "$n")$p"
	else
		curl -s -m 30 -X "$m" -w '\n%{http_code}' "http://$(bx_addr "$n")$p"
	fi
}

# bx_wait SECONDS DESCRIPTION COMMAND...: poll every 100 ms until it succeeds.
bx_wait() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	while [ $SECONDS -lt $deadline ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "timed out after ${secs}s waiting for: $what" >&2
	return 1
}

bx_leader_of() { # N: prints the leader id node N sees
	curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq -er '.leader.id // empty'
}

bx_has_leader() { [ -n "$(bx_leader_of "$1")" ]; }

# bx_start_cluster N: node 1 bootstraps, nodes 2..N join it; returns once
# node 1 lists N node records (the test fails its checks if not).
bx_start_cluster() {
	local n
	bx_start_node 1 --bootstrap
	bx_wait 15 "leader" bx_has_leader 1 >/dev/null
	for n in $(seq 2 "$1"); do bx_start_node "$n" --join "$(bx_addr 1)"; done
	bx_wait 30 "$1 nodes" bx_node_count_is "$1"
}
bx_node_count_is() { [ "$(curl -s -m 2 "http://$(bx_addr 1)/v1/nodes" | jq 'length')" = "$1" ]; }

# bx_gone PID: no such process, or only its zombie (its parent has not reaped it)
bx_gone() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ]
}

# bx_field SERVICE FIELD: a field of the service's record, read from node 1.
bx_field() { curl -s -m 2 "http://$(bx_addr 1)/v1/services/$1" | jq -r ".$2"; }
bx_is() { [ "$(bx_field "$1" "$2")" = "$3" ]; } # SERVICE FIELD VALUE
bx_healthy() { bx_is "$1" state running && bx_is "$1" health healthy; }

# bx_guest: build (or reuse) the test guest; sets BX_IMG (vmlinuz, initrd.gz)
# and BX_KHZ, the host's TSC rate for the guest's command line (under TCG the
# guest's TSC calibration against the emulated PIT fails now and then and
# hangs its boot; tsc_early_khz skips it). Exits the test if it cannot.
bx_guest() {
	BX_IMG=$(bash "$BX_ROOT/scripts/build-guest-image.sh" 2>"$BX_TMP/guest-build.log" | tail -n 1)
	if [ ! -f "$BX_IMG/vmlinuz" ] || [ ! -f "$BX_IMG/initrd.gz" ]; then
		echo "FAIL build the test guest"
		cat "$BX_TMP/guest-build.log"
		exit 1
	fi
	BX_KHZ=$(awk '/^cpu MHz/ {printf "%d", $4 * 1000; exit}' /proc/cpuinfo)
}

# bx_guest_vm [KERNEL ARGS...]: the [vm] lines that boot the test guest
# (bx_guest first) under TCG, the args added to its command line.
bx_guest_vm() {
	cat <<TOML
[vm]
kernel = "$BX_IMG/vmlinuz"
initrd = "$BX_IMG/initrd.gz"
cmdline = "console=ttyS0 reboot=t panic=-1 $*${BX_KHZ:+ tsc_early_khz=$BX_KHZ}"
accel = "tcg"
TOML
}

# bx_failed_with SERVICE TEXT: failed, its reason contains TEXT, never restarted
bx_failed_with() {
	bx_is "$1" state failed && bx_field "$1" reason | grep -qF -- "$2" &&
		[ "$(bx_field "$1" restarts)" = 0 ]
}

# bx_stays_failed SECONDS NAME...: sampled every 0.5 s for SECONDS, each
# service is still failed and was never restarted (no retry storm).
bx_stays_failed() {
	local deadline=$((SECONDS + $1)) s
	shift
	while [ $SECONDS -lt $deadline ]; do
		for s in "$@"; do
			bx_is "$s" state failed && [ "$(bx_field "$s" restarts)" = 0 ] || return 1
		done
		sleep 0.5
	done
}

# bx_hold_port PORT: a TCP listener of our own on PORT (every address) until
# bx_release_port, to make a host port busy.
bx_hold_port() {
	python3 -c "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',$1)); s.listen(); time.sleep(300)" &
	BX_HOLDER=$!
	BX_AT_EXIT+=(bx_release_port)
	bx_wait 5 "port $1 held" bash -c "ss -Htln 'sport = :$1' | grep -q ."
}
bx_release_port() {
	[ -n "${BX_HOLDER:-}" ] || return 0
	kill "$BX_HOLDER" 2>/dev/null
	wait "$BX_HOLDER" 2>/dev/null
	BX_HOLDER=
}

bx_check() { # NAME COMMAND...
	local name=$1
	shift
	if "$@"; then
		echo "ok   $name"
		BX_PASSED=$((BX_PASSED + 1))
	else
		echo "FAIL $name"
		BX_FAILED=$((BX_FAILED + 1))
		if [ -n "${BX_TMP:-}" ]; then
			for f in "$BX_TMP"/n*/log; do
				[ -f "$f" ] && { echo "--- $f (last 15 lines)"; tail -n 15 "$f"; }
			done
		fi
	fi
}

bx_finish() {
	echo "$BX_PASSED passed, $BX_FAILED failed"
	[ "$BX_FAILED" -eq 0 ]
}
