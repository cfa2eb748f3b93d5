# lib_hosts.sh - hosts as network namespaces. Source after lib.sh and bx_setup; needs root.
#
# bx_hosts_setup N makes a bridge in the root namespace with the address
# NET.254/24 and N namespaces, host I with eth0 = NET.I/24 on a veth pair
# whose other end is on the bridge. From then on lib.sh's bx_start_node I
# runs node I in host I (API NET.I:7000, Raft NET.I:7001), and bx_addr, bx_cli,
# bx_field… reach it there. NET is 10.A.B, picked from the test's port block
# so that concurrent runs do not collide.
#
# bx_host_kill I      every process in host I, SIGKILL (the host dies)
# bx_host_reaches I IP / bx_host_cut_off I IP   TCP from host I to IP answered / not
# bx_host_cut I       host I's link down: it is cut off from every other host
# bx_host_heal I      its link up again
# bx_host_exec I CMD  a command in host I
#
# At exit every process in the hosts is killed and the namespaces, veth
# pairs and the bridge are deleted.

bx_host_ns() { echo "bxh$BX_HOST_TAG-$1"; }
bx_host_veth() { echo "bxv$BX_HOST_TAG-$1"; } # the bridge's end

bx_host_exec() {
	local i=$1
	shift
	ip netns exec "$(bx_host_ns "$i")" "$@"
}

bx_host_kill() {
	local p
	for p in $(ip netns pids "$(bx_host_ns "$1")" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	bx_wait 10 "host $1 empty" bash -c "[ -z \"\$(ip netns pids $(bx_host_ns "$1"))\" ]"
	unset "BX_PIDS[$1]"
}

bx_host_cut() { ip link set "$(bx_host_veth "$1")" down; }

# bx_host_reaches I IP: a TCP connection from host I to IP is answered (a
# refusal counts: something is there). bx_host_cut_off I IP: it times out.
bx_host_tcp() { bx_host_exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/9" 2>&1; }
bx_host_reaches() { bx_host_tcp "$1" "$2" | grep -q refused; }
bx_host_cut_off() { local out; out=$(bx_host_tcp "$1" "$2"); ! grep -q refused <<<"$out"; }
bx_host_heal() { ip link set "$(bx_host_veth "$1")" up; }

bx_hosts_cleanup() {
	local i
	for i in $(seq 1 "${BX_HOSTS:-0}"); do
		bx_host_kill "$i" >/dev/null 2>&1
		ip link del "$(bx_host_veth "$i")" 2>/dev/null
		ip netns del "$(bx_host_ns "$i")" 2>/dev/null
	done
	ip link del "bxhbr$BX_HOST_TAG" 2>/dev/null
	BX_HOSTS=0
}

bx_hosts_setup() {
	local n=$1 i ns br
	BX_HOST_TAG=$((BX_BASE / 100 % 10000))
	BX_HOST_NET=10.$((100 + BX_HOST_TAG % 100)).$((BX_HOST_TAG / 100 % 250))
	BX_HOSTS=$n
	BX_AT_EXIT+=(bx_hosts_cleanup)
	br=bxhbr$BX_HOST_TAG
	ip link add "$br" type bridge &&
		ip addr add "$BX_HOST_NET.254/24" dev "$br" &&
		ip link set "$br" up || { echo "FAIL make bridge $br"; exit 1; }
	for i in $(seq 1 "$n"); do
		ns=$(bx_host_ns "$i")
		ip netns add "$ns" &&
			ip link add "$(bx_host_veth "$i")" type veth peer name eth0 netns "$ns" &&
			ip link set "$(bx_host_veth "$i")" master "$br" &&
			ip link set "$(bx_host_veth "$i")" up &&
			ip -n "$ns" addr add "$BX_HOST_NET.$i/24" dev eth0 &&
			ip -n "$ns" link set eth0 up &&
			ip -n "$ns" link set lo up || { echo "FAIL make host $i ($ns)"; exit 1; }
	done
}
