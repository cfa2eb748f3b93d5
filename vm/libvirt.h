/* libvirt.h - the "libvirt" driver: a transient microvm domain per instance, through libvirtd. */
#ifndef BX_VM_LIBVIRT_H
#define BX_VM_LIBVIRT_H

#include "vm/driver.h"

/*
 * An instance is a transient domain "blixard-NAME" (vm/libvirt_xml.h: the
 * same microvm machine the qemu driver runs) created through the libvirt
 * URI in [vm] uri, default "qemu:///system". libvirtd, not the daemon, is
 * the domain's parent: the instance outlives the daemon by construction.
 *
 * Files in RUN_DIR: domain (the UUID of the instance, written before it is
 * created and removed when its end is seen: what adopt() finds), console.log
 * (the serial console, appended by QEMU; capped at 8 MiB + one rotated copy).
 *
 * Every call to libvirt runs on a worker thread (vm/libvirt_conn.h), so
 * start() returns once the create is queued; a create libvirt refuses
 * arrives as on_exit with vm->start_error set. Lifecycle events end the
 * instance: STOPPED/shutdown as exit status 0, destroyed as SIGKILL, any other
 * end (QEMU killed or crashed) without a status. A UUID per start tells one
 * instance's events from an earlier one's. After the connection to libvirtd
 * drops, the domain's state is asked again (events may have been missed).
 *
 * check() is the qemu driver's host check (files, memory, ports, tap) made
 * here: it assumes libvirtd runs on this host, as the URI's default does.
 * stop() presses the ACPI power button (virDomainShutdownFlags) and destroys
 * the domain at the timeout; kill() destroys it at once. status() is
 * virDomainGetState. vm->pid is the domain's QEMU process when it runs on
 * this host (found by its -uuid argument), else 0.
 */
extern const struct bx_driver bx_driver_libvirt;

#endif
