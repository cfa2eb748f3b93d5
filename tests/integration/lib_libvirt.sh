# lib_libvirt.sh - a libvirtd (and virtlogd) of the test's own. Source after lib.sh and bx_setup.
#
# bx_libvirtd_start runs them in a private mount namespace whose
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt are directories under $BX_TMP/libvirt, so the host's own
# libvirt (if any) is neither used nor changed. In that namespace /etc/passwd
# and /etc/group also name the user libvirt-qemu: Debian's libvirt 9.0 QEMU
# driver looks it up when it starts, before it reads qemu.conf, and the
# package that creates it (libvirt-daemon-system) needs systemd. qemu.conf
# runs QEMU as root, with no security driver, cgroups or namespaces of its
# own. The socket is $BX_TMP/libvirt/sock/libvirt-sock; BX_LV_URI names it.
#
# At exit every domain is destroyed and every process of the namespace
# killed; mount points the host did not have are removed again.

BX_LV_CREATED=() # mount points created here, removed at exit

bx_libvirtd_cleanup() {
	local d=$BX_TMP/libvirt ns p
	[ -n "${BX_LV_ANCHOR:-}" ] || return 0
	ns=$(readlink "/proc/$BX_LV_ANCHOR/ns/mnt" 2>/dev/null)
	if [ -n "$ns" ]; then
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -9 "${p#/proc/}" 2>/dev/null
		done
		local deadline=$((SECONDS + 10))
		while [ $SECONDS -lt $deadline ] && kill -0 "$BX_LV_ANCHOR" 2>/dev/null; do sleep 0.1; done
	fi
	for p in "${BX_LV_CREATED[@]}"; do
		rmdir "$p" 2>/dev/null
	done
	BX_LV_ANCHOR=
}

# bx_libvirtd_run: start libvirtd in the namespace (again, after a kill)
bx_libvirtd_run() {
	nsenter -t "$BX_LV_ANCHOR" -m libvirtd -f /etc/libvirt/libvirtd.conf -p "$BX_TMP/libvirt/libvirtd.pid" \
		>>"$BX_TMP/libvirt/libvirtd.out" 2>&1 &
	BX_LV_PID=$!
	bx_wait 30 "libvirtd socket" test -S "$BX_TMP/libvirt/sock/libvirt-sock"
}

bx_virsh() { timeout 60 virsh -q -c "$BX_LV_URI" "$@"; }

bx_libvirtd_start() {
	local d=$BX_TMP/libvirt m
	for m in libvirtd virtlogd virsh unshare nsenter; do
		command -v "$m" >/dev/null || { echo "FAIL '$m' is not installed"; exit 1; }
	done
	mkdir -p "$d"/{etc,run,lib,log,cache,sock}
	for m in /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
		if [ ! -d "$m" ]; then
			mkdir -p "$m" && BX_LV_CREATED+=("$m")
		fi
	done
	BX_AT_EXIT+=(bx_libvirtd_cleanup)
	cp /etc/passwd "$d/passwd"
	cp /etc/group "$d/group"
	grep -q '^libvirt-qemu:' "$d/passwd" ||
		echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>"$d/passwd"
	grep -q '^libvirt-qemu:' "$d/group" || echo 'libvirt-qemu:x:64055:' >>"$d/group"
	grep -q '^kvm:' "$d/group" || echo 'kvm:x:64056:' >>"$d/group"
	cat >"$d/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$d/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$d/libvirtd.log"
CONF
	cat >"$d/etc/virtlogd.conf" <<CONF
log_outputs = "3:file:$d/virtlogd.log"
CONF
	cat >"$d/etc/qemu.conf" <<CONF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
CONF
	# virtlogd anchors the namespace: libvirtd can be killed and started again in it
	unshare -m --propagation private bash -c '
		d=$1
		mount --bind "$d/passwd" /etc/passwd
		mount --bind "$d/group" /etc/group
		mount --bind "$d/etc" /etc/libvirt
		mount --bind "$d/run" /run/libvirt
		mount --bind "$d/lib" /var/lib/libvirt
		mount --bind "$d/log" /var/log/libvirt
		mount --bind "$d/cache" /var/cache/libvirt
		exec virtlogd -f /etc/libvirt/virtlogd.conf -p "$d/virtlogd.pid"' _ "$d" >"$d/virtlogd.out" 2>&1 &
	BX_LV_ANCHOR=$!
	BX_LV_URI="qemu:///system?socket=$d/sock/libvirt-sock"
	bx_wait 10 "virtlogd socket" test -S "$d/run/virtlogd-sock" ||
		{ echo "FAIL virtlogd did not start"; cat "$d/virtlogd.out"; exit 1; }
	bx_libvirtd_run || { echo "FAIL libvirtd did not start"; tail "$d/libvirtd.out" "$d/libvirtd.log"; exit 1; }
	# the first connection waits for libvirtd's QEMU capability probe
	bx_virsh version >/dev/null 2>&1 ||
		{ echo "FAIL libvirtd does not answer"; tail "$d/libvirtd.log"; exit 1; }
}
