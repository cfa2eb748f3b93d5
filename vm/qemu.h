/* qemu.h - the "qemu" driver (the default): QEMU's microvm machine, driven over QMP. */
#ifndef BX_VM_QEMU_H
#define BX_VM_QEMU_H

#include "vm/driver.h"

/*
 * An instance is `qemu-system-x86_64 -M microvm` run by the process core
 * (vm/proc.h): detached, pidfile, adopted through a pidfd. Files in RUN_DIR:
 * pid, console.log (the serial console and QEMU's own messages, capped at
 * 8 MiB + one rotated copy), qmp.sock (QMP, one client at a time).
 *
 * The command line follows microvm.nix's: direct kernel boot ([vm] kernel,
 * initrd, cmdline; default cmdline "console=ttyS0 reboot=t panic=-1"),
 * [vm] disk as a virtio-blk disk (raw, or qcow2 by its extension), accel
 * kvm or tcg ("auto": kvm when /dev/kvm is usable), -no-reboot, one
 * virtio-net NIC with a MAC derived from the service name: user networking
 * with [network] ports as host forwards on every host address, or [vm] tap.
 *
 * check() refuses, with a message naming what: a missing QEMU binary,
 * kernel, initrd or disk; accel "kvm" without /dev/kvm; memory_mb above the
 * host's RAM (BX_EFULL); a host port already bound (BX_EBUSY); a missing tap
 * interface; ports together with tap; a QMP socket path too long.
 *
 * stop() asks the guest to power off (QMP system_powerdown: the ACPI power
 * button); if QMP cannot be reached, SIGTERM makes QEMU quit; after the
 * timeout, SIGKILL. kill() is SIGKILL at once.
 *
 * BLIXARD_QEMU in the daemon's environment names another QEMU binary.
 */
extern const struct bx_driver bx_driver_qemu;

/* The QEMU binary used: $BLIXARD_QEMU or "qemu-system-x86_64". */
const char *bx_qemu_binary(void);

/*
 * The checks of a microvm spec against this host, for every driver that
 * runs QEMU here: kernel, initrd and disk readable, the accel possible,
 * memory_mb within the host's RAM, the tap present (and no ports with it),
 * the host ports free (unless skip_ports). 0, or an error with a message
 * naming what.
 */
int bx_qemu_check_host(const struct bx_spec *spec, bool skip_ports, char *errmsg);

/* The host-port part of it alone (any thread): each port free to bind on every address. */
int bx_qemu_check_ports(const struct bx_port_map *ports, size_t n, char *errmsg);

/* "kvm" or "tcg" for the spec's accel on this host; NULL (and errmsg) if impossible. */
const char *bx_qemu_accel(const struct bx_spec *spec, char *errmsg);

/* A stable MAC per service name (locally administered, QEMU's 52:54:00 prefix). */
void bx_qemu_mac(const char *name, char out[18]);

/* The kernel command line when [vm] cmdline is not set. */
#define BX_QEMU_DEFAULT_CMDLINE "console=ttyS0 reboot=t panic=-1"

/* A disk's image format, by its name: "qcow2" for *.qcow2, else "raw". */
const char *bx_qemu_disk_format(const char *path);

/* QEMU's user-mode -netdev value with [network] ports as host forwards
 * ("user,id=ID,hostfwd=tcp::8080-:80,…"); BX_ETOOBIG if it does not fit. */
#define BX_QEMU_NETDEV_SIZE 2560
int bx_qemu_user_netdev(const struct bx_spec *spec, const char *id,
			char out[BX_QEMU_NETDEV_SIZE], char *errmsg);

/* The command line for vm (accel "kvm" or "tcg"); free with bx_qemu_argv_free. */
int bx_qemu_argv(const struct bx_vm *vm, const char *accel, char ***out, char *errmsg);
void bx_qemu_argv_free(char **argv);

#endif
