/* libvirt_xml.c - the libvirt domain XML of a microvm service (pure: no I/O, no libvirt calls). */
#include "vm/libvirt_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"
#include "vm/qemu.h"

/* s with the five XML special characters as entities. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* <TAG>escaped value</TAG> on a line of its own, indented. */
static void element(FILE *f, const char *indent, const char *tag, const char *value)
{
	fprintf(f, "%s<%s>", indent, tag);
	put_escaped(f, value);
	fprintf(f, "</%s>\n", tag);
}

static void qemu_arg(FILE *f, const char *value)
{
	fputs("    <qemu:arg value='", f);
	put_escaped(f, value);
	fputs("'/>\n", f);
}

static void disk(FILE *f, const char *path)
{
	fprintf(f, "    <disk type='file' device='disk'>\n"
		   "      <driver name='qemu' type='%s'/>\n"
		   "      <source file='",
		bx_qemu_disk_format(path));
	put_escaped(f, path);
	fputs("'/>\n"
	      "      <target dev='vda' bus='virtio'/>\n"
	      "      <address type='virtio-mmio'/>\n"
	      "    </disk>\n",
	      f);
}

/* The NIC, when libvirt's own elements can say it. */
static void interface(FILE *f, const struct bx_spec *spec, const char *mac)
{
	if (spec->vm.tap != NULL) {
		fprintf(f, "    <interface type='ethernet'>\n      <mac address='%s'/>\n"
			   "      <target dev='", mac);
		put_escaped(f, spec->vm.tap);
		fputs("' managed='no'/>\n", f);
	} else {
		fprintf(f, "    <interface type='user'>\n      <mac address='%s'/>\n", mac);
	}
	fputs("      <model type='virtio'/>\n"
	      "      <address type='virtio-mmio'/>\n"
	      "    </interface>\n",
	      f);
}

/* User networking with host forwards, on QEMU's command line. */
static int forwards(FILE *f, const struct bx_spec *spec, const char *mac, char *errmsg)
{
	char netdev[BX_QEMU_NETDEV_SIZE], device[96];

	if (bx_qemu_user_netdev(spec, "bxnet0", netdev, errmsg) != 0)
		return BX_ETOOBIG;
	snprintf(device, sizeof device, "virtio-net-device,netdev=bxnet0,mac=%s", mac);
	fputs("  <qemu:commandline>\n", f);
	qemu_arg(f, "-netdev");
	qemu_arg(f, netdev);
	qemu_arg(f, "-device");
	qemu_arg(f, device);
	fputs("  </qemu:commandline>\n", f);
	return 0;
}

int bx_libvirt_domain_xml(const struct bx_spec *spec, const char *uuid, const char *accel,
			  const char *console_path, char **out, char *errmsg)
{
	bool kvm = strcmp(accel, "kvm") == 0;
	bool fwd = spec->vm.tap == NULL && spec->network.ports_len > 0;
	char *buf = NULL, mac[18];
	size_t size = 0;
	FILE *f;
	int rc = 0;

	if (spec->vm.kernel == NULL)
		return bx_err(errmsg, BX_EINVAL,
			      "[vm] kernel is required: -M microvm boots a kernel directly");
	f = open_memstream(&buf, &size);
	if (f == NULL)
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	bx_qemu_mac(spec->name, mac);

	fprintf(f, "<domain type='%s' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n",
		kvm ? "kvm" : "qemu");
	fprintf(f, "  <name>blixard-%s</name>\n  <uuid>%s</uuid>\n", spec->name, uuid);
	fprintf(f, "  <description>Blixard service %s</description>\n", spec->name);
	fprintf(f, "  <memory unit='MiB'>%u</memory>\n  <vcpu>%u</vcpu>\n", spec->memory_mb,
		spec->vcpus);
	fputs("  <os>\n    <type arch='x86_64' machine='microvm'>hvm</type>\n", f);
	element(f, "    ", "kernel", spec->vm.kernel);
	if (spec->vm.initrd != NULL)
		element(f, "    ", "initrd", spec->vm.initrd);
	element(f, "    ", "cmdline",
		spec->vm.cmdline != NULL ? spec->vm.cmdline : BX_QEMU_DEFAULT_CMDLINE);
	fputs("  </os>\n  <features>\n    <acpi/>\n  </features>\n", f);
	if (kvm)
		fputs("  <cpu mode='host-passthrough'/>\n", f);
	fputs("  <clock offset='utc'/>\n"
	      "  <on_poweroff>destroy</on_poweroff>\n"
	      "  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n"
	      "  <devices>\n",
	      f);
	if (spec->vm.disk != NULL)
		disk(f, spec->vm.disk);
	fputs("    <serial type='file'>\n      <source path='", f);
	put_escaped(f, console_path);
	fputs("' append='on'/>\n      <target port='0'/>\n    </serial>\n", f);
	if (!fwd)
		interface(f, spec, mac);
	fputs("    <controller type='usb' model='none'/>\n"
	      "    <memballoon model='none'/>\n"
	      "  </devices>\n",
	      f);
	if (fwd)
		rc = forwards(f, spec, mac, errmsg);
	fputs("</domain>\n", f);
	if (fclose(f) != 0 && rc == 0)
		rc = bx_err(errmsg, BX_ENOMEM, "out of memory");
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}
