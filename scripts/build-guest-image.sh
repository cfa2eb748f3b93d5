#!/usr/bin/env bash
# Build the test guest: Debian's cloud kernel and a busybox initramfs that
# brings up eth0 and serves HTTP (GET /health answers "ok").
#
#   scripts/build-guest-image.sh [DIR]     (default $BLIXARD_GUEST_DIR or
#                                           /var/lib/blixard/images)
#
# Leaves DIR/vmlinuz and DIR/initrd.gz and prints DIR. A second run with the
# same script and kernel does nothing. Needs: apt-get (download only: nothing
# is installed), dpkg-deb, busybox-static, cpio, gzip.
#
# The guest, under qemu -M microvm with user networking:
#   eth0 10.0.2.15/24, gateway 10.0.2.2 (QEMU user networking), or what
#   "blixard.ip=ADDR/PREFIX blixard.gw=GW" on the kernel cmdline say (tap)
#   HTTP on port 80 from /www
#   kernel cmdline "blixard.msg=TEXT" puts TEXT into /www/index.html
#   the ACPI power button (QMP system_powerdown) powers it off cleanly
#   the console says "blixard-guest: ready" once HTTP is up
set -euo pipefail

DIR=${1:-${BLIXARD_GUEST_DIR:-/var/lib/blixard/images}}
MODULES="virtio_ring virtio virtio_mmio failover net_failover virtio_net button evdev"

die() {
	echo "build-guest-image.sh: $*" >&2
	exit 1
}

for tool in apt-get apt-cache dpkg-deb cpio gzip sha256sum; do
	command -v "$tool" >/dev/null || die "'$tool' is missing"
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "busybox-static is not installed (apt-get install busybox-static)"

# The cloud kernel the metapackage points at (bookworm's, not backports').
KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$KPKG" ] || die "cannot resolve linux-image-cloud-amd64 (apt-get update?)"

SELF_HASH=$(sha256sum "$0" | cut -c1-16)
STAMP="$KPKG $SELF_HASH"
if [ -f "$DIR/stamp" ] && [ "$(cat "$DIR/stamp")" = "$STAMP" ] &&
	[ -f "$DIR/vmlinuz" ] && [ -f "$DIR/initrd.gz" ]; then
	echo "$DIR"
	exit 0
fi

mkdir -p "$DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bx-guest-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "build-guest-image.sh: downloading $KPKG" >&2
# apt-get download writes into the current directory; _apt must be able to
# write there or apt warns, so the work dir is made world-writable.
chmod 0777 "$WORK"
(cd "$WORK" && apt-get download -q "$KPKG" >/dev/null 2>&1) ||
	die "apt-get download $KPKG failed"
dpkg-deb -x "$WORK"/"$KPKG"_*.deb "$WORK/kernel"
KVER=${KPKG#linux-image-}
KMOD=$WORK/kernel/lib/modules/$KVER

ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/{bin,sbin,etc,proc,sys,dev,tmp,www,lib/modules,usr/bin,usr/sbin}
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in sh mount insmod ip httpd poweroff reboot sleep cat echo mkdir \
	hexdump dd ls ps uname; do
	ln -s busybox "$ROOTFS/bin/$applet"
done
for m in $MODULES; do
	f=$(find "$KMOD" -name "$m.ko" -print -quit)
	[ -n "$f" ] || die "module $m not found in $KPKG"
	cp "$f" "$ROOTFS/lib/modules/"
done

cat >"$ROOTFS/init" <<'EOF'
#!/bin/sh
# blixard test guest: modules, network, HTTP, power button.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# order matters: virtio_ring before virtio, then the transport, then the NIC
for m in virtio_ring virtio virtio_mmio failover net_failover virtio_net button evdev; do
	insmod /lib/modules/$m.ko 2>/dev/null || echo "blixard-guest: insmod $m failed"
done
msg="hello from a blixard guest"
addr=10.0.2.15/24 # QEMU user networking's guest address and gateway
gw=10.0.2.2
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	blixard.msg=*) msg=${arg#blixard.msg=} ;;
	blixard.ip=*) addr=${arg#blixard.ip=} ;;
	blixard.gw=*) gw=${arg#blixard.gw=} ;;
	esac
done
echo ok >/www/health
echo "$msg" >/www/index.html
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 250 ]; do sleep 0.02; n=$((n + 1)); done
ip link set eth0 up && ip addr add "$addr" dev eth0 &&
	ip route add default via "$gw" || echo "blixard-guest: no eth0"
httpd -p 80 -h /www
# The power button: any event from it powers off. Its input device shows up
# when the ACPI button driver has bound, which may be after insmod returns.
button=""
n=0
while [ -z "$button" ] && [ $n -lt 250 ]; do
	for ev in /sys/class/input/event*; do
		[ -e "$ev/device/name" ] || continue
		case "$(cat "$ev/device/name")" in
		*Power*) [ -e "/dev/input/${ev##*/}" ] && button=/dev/input/${ev##*/} ;;
		esac
	done
	[ -n "$button" ] || { sleep 0.02; n=$((n + 1)); }
done
if [ -n "$button" ]; then
	(dd if="$button" bs=24 count=1 >/dev/null 2>&1
	 echo "blixard-guest: power button, powering off"
	 poweroff -f) &
else
	echo "blixard-guest: no power button (system_powerdown will not work)"
fi
echo "blixard-guest: ready"
while :; do sleep 3600; done
EOF
chmod 0755 "$ROOTFS/init"

cp "$WORK/kernel/boot/vmlinuz-$KVER" "$DIR/vmlinuz.tmp"
(cd "$ROOTFS" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -9 >"$DIR/initrd.gz.tmp"
mv "$DIR/vmlinuz.tmp" "$DIR/vmlinuz"
mv "$DIR/initrd.gz.tmp" "$DIR/initrd.gz"
echo "$STAMP" >"$DIR/stamp"
echo "$DIR"
