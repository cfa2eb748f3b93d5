/* libvirt_xml.h - the libvirt domain XML of a microvm service (pure: no I/O, no libvirt calls). */
#ifndef BX_VM_LIBVIRT_XML_H
#define BX_VM_LIBVIRT_XML_H

#include "src/model/spec.h"

/*
 * A transient domain "blixard-NAME" with the given UUID, the same machine
 * the qemu driver runs: QEMU's microvm (ACPI on, for the power button),
 * direct kernel boot, on_poweroff/reboot/crash = destroy (a reboot ends the
 * instance; the restart policy decides), no USB, no balloon, every virtio
 * device on virtio-mmio (libvirt 9.0 would otherwise look for a PCI bus the
 * machine does not have), the serial console appended to console_path.
 *
 * accel "kvm" gives <domain type='kvm'> with the host's CPU, "tcg" type
 * 'qemu'. Networking: [vm] tap as <interface type='ethernet'> on the
 * existing tap (managed='no'); else user networking, and when [network]
 * ports are set the user netdev with host forwards goes on QEMU's command
 * line through libvirt's qemu namespace, because libvirt 9.0 forwards ports
 * only with the passt backend (9.2 and later). Every value from the spec is
 * XML-escaped.
 *
 * On success *out is a heap string for the caller to free.
 */
int bx_libvirt_domain_xml(const struct bx_spec *spec, const char *uuid, const char *accel,
			  const char *console_path, char **out, char *errmsg);

#endif
