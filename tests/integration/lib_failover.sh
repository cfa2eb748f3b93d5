# lib_failover.sh - services whose every instance can be found in the hosts'
# process tables, and a sampler that counts the instants at which one runs
# on two hosts. Source after lib.sh and lib_hosts.sh (bx_hosts_setup done).
#
# bx_fo_spec NAME [ON_PARTITION]  write $BX_TMP/NAME.toml: a process service
#     (busybox httpd on a port of its own, 8100 up, serving $BX_TMP/www-NAME,
#     which is also its mark in the process table), health-checked over HTTP
#     every BX_FO_INTERVAL ms (default 200)
# bx_fo_vm_spec NAME PORT  write $BX_TMP/NAME.toml: the test guest (bx_guest
#     first) under TCG, its HTTP on PORT of its host, health-checked there
# bx_fo_where NAME    the hosts whose process tables hold an instance of NAME
# bx_fo_sample_start NAME...   sample every 100 ms in the background
# bx_fo_sample_stop   stop it; sets BX_FO_SAMPLES and BX_FO_DOUBLES (samples
#     with an instance of one of those services on two hosts; the first is
#     printed)

BX_FO_PORT=8100
bx_fo_spec() { # NAME [ON_PARTITION]
	local name=$1 onp=${2:-stop} port=$BX_FO_PORT
	BX_FO_PORT=$((BX_FO_PORT + 1))
	mkdir -p "$BX_TMP/www-$name"
	echo ok >"$BX_TMP/www-$name/index.html"
	cat >"$BX_TMP/$name.toml" <<TOML
[service]
name = "$name"
driver = "process"

[process]
command = ["busybox", "httpd", "-f", "-p", "$port", "-h", "$BX_TMP/www-$name"]

[health]
type = "http"
port = $port
path = "/index.html"
interval_ms = ${BX_FO_INTERVAL:-200}
timeout_ms = 150

[placement]
on_partition = "$onp"
TOML
}

bx_fo_vm_spec() { # NAME PORT
	cat >"$BX_TMP/$1.toml" <<TOML
[service]
name = "$1"
driver = "qemu"
memory_mb = 128

$(bx_guest_vm quiet)

[network]
ports = ["$2:80"]

[health]
type = "http"
port = $2
path = "/health"
expect = "ok"
interval_ms = 200
timeout_ms = 150
TOML
}

# The instances of NAME on host I (pids), from /proc: the host's processes
# whose command line names NAME's web root, or QEMU's "-name blixard-NAME".
bx_fo_pids_on() { # I NAME
	local p
	for p in $(ip netns pids "$(bx_host_ns "$1")" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
			grep -qE -- "-h $BX_TMP/www-$2 *\$|-name blixard-$2 " &&
			! bx_gone "$p" && echo "$p"
	done
}

bx_fo_where() { # NAME: host ids, one a line
	local i
	for i in $(seq 1 "$BX_HOSTS"); do
		[ -n "$(bx_fo_pids_on "$i" "$1")" ] && echo "$i"
	done
}

# Sampling runs tests/integration/fo_sample.py (one /proc pass a sample): a
# line "TIME name:1 other:2,3 ..." each 100 ms. BX_FO_DOUBLES counts the
# samples in which a service given to bx_fo_sample_start ran on two hosts.
bx_fo_sample_start() { # NAME...
	local i nss=()
	BX_FO_LOG=$BX_TMP/samples
	BX_FO_WATCH=" $* "
	for i in $(seq 1 "$BX_HOSTS"); do nss+=("$(bx_host_ns "$i")"); done
	python3 "$BX_ROOT/tests/integration/fo_sample.py" "$BX_TMP/www-" 0.1 "${nss[@]}" >"$BX_FO_LOG" &
	BX_FO_SAMPLER=$!
	BX_AT_EXIT+=(bx_fo_sample_kill)
}

bx_fo_sample_kill() {
	[ -n "${BX_FO_SAMPLER:-}" ] || return 0
	kill "$BX_FO_SAMPLER" 2>/dev/null
	wait "$BX_FO_SAMPLER" 2>/dev/null
	BX_FO_SAMPLER=
}

# Samples (lines) in which a watched service ran on two hosts or more.
bx_fo_doubles() {
	local t rest item name hosts n=0 first=""
	while read -r t rest; do
		for item in $rest; do
			name=${item%%:*}
			hosts=${item#*:}
			case $hosts in *,*) ;; *) continue ;; esac
			case $BX_FO_WATCH in *" $name "*) ;; *) continue ;; esac
			n=$((n + 1))
			[ -n "$first" ] || first="$t $item"
			break
		done
	done <"$BX_FO_LOG"
	[ -z "$first" ] || echo "first on two hosts at once: $first" >&2
	echo "$n"
}

bx_fo_sample_stop() {
	bx_fo_sample_kill
	BX_FO_SAMPLES=$(grep -c . "$BX_FO_LOG")
	BX_FO_DOUBLES=$(bx_fo_doubles)
}

# From a node that answers: the service's record field, or "" (NODE NAME FIELD).
bx_fo_field() { curl -s -m 2 "http://$(bx_addr "$1")/v1/services/$2" | jq -r ".$3 // empty"; }
