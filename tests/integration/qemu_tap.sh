#!/usr/bin/env bash
# The qemu driver's bridged networking: [vm] tap puts the guest's NIC on a tap
# interface; here the tap is on a bridge with a host address, and the guest
# (TCG) answers HTTP at its own address on that bridge. A tap that does not
# exist, or ports together with a tap, fail clearly. Needs root (ip link).
set -u
. "$(dirname "$0")/lib.sh"
bx_setup
bx_guest

n=$((BX_BASE % 10000))
BR=bxbr$n
TAP=bxtap$n
NET=10.$((200 + n % 50)).$((n % 250)) # a /24 unlikely to be in use
cleanup_links() {
	ip link del "$TAP" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	bx_cleanup
}
trap cleanup_links EXIT
ip link add "$BR" type bridge &&
	ip addr add "$NET.1/24" dev "$BR" &&
	ip link set "$BR" up &&
	ip tuntap add dev "$TAP" mode tap &&
	ip link set "$TAP" master "$BR" &&
	ip link set "$TAP" up || {
	echo "FAIL make bridge $BR and tap $TAP"
	exit 1
}

spec() { # NAME TAP [extra [network] line]
	cat <<TOML
[service]
name = "$1"
driver = "qemu"
memory_mb = 128

$(bx_guest_vm "blixard.ip=$NET.2/24 blixard.gw=$NET.1 blixard.msg=on-the-bridge")
tap = "$2"

[network]
${3:-}
TOML
}

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null

spec bridged "$TAP" >"$BX_TMP/bridged.toml"
bx_check "'blixard start' with a tap succeeds" bx_cli 1 start "$BX_TMP/bridged.toml"
bx_check "QEMU is on the tap" \
	bash -c "tr '\\0' ' ' </proc/$(bx_field bridged pid)/cmdline | grep -q 'tap,id=net0,ifname=$TAP'"
bx_check "the guest answers at its own address on the bridge" bx_wait 90 "guest on the bridge" \
	bash -c "curl -s -m 1 http://$NET.2/ | grep -q on-the-bridge"
bx_check "'blixard stop' powers it off" bx_cli 1 stop bridged
bx_check "... and it stops" bx_wait 30 "stopped" bx_is bridged state stopped

spec notap bxnosuchtap >"$BX_TMP/notap.toml"
bx_cli 1 start --no-wait "$BX_TMP/notap.toml" >/dev/null
bx_check "a tap that does not exist: failed, reason names it" bx_wait 20 "failed" \
	bx_failed_with notap "[vm] tap 'bxnosuchtap': no such interface"

spec both "$TAP" 'ports = ["18080:80"]' >"$BX_TMP/both.toml"
bx_cli 1 start --no-wait "$BX_TMP/both.toml" >/dev/null
bx_check "ports with a tap: failed, reason says why" bx_wait 20 "failed" \
	bx_failed_with both "with [vm] tap the guest is on the bridge itself"

bx_finish
