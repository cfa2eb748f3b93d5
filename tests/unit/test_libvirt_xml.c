/* test_libvirt_xml.c - the domain XML of a microvm service, checked piece by piece and against libvirt's schema. */
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>

#include "src/base/error.h"
#include "vm/libvirt_xml.h"

#define UUID "0b6f2c3e-8d1a-4c55-9e0f-1a2b3c4d5e6f"

static void base_spec(struct bx_spec *s)
{
	bx_spec_init(s);
	snprintf(s->name, sizeof s->name, "web");
	snprintf(s->driver, sizeof s->driver, "libvirt");
	s->memory_mb = 128;
	s->vcpus = 2;
	s->vm.kernel = strdup("/img/vmlinuz");
	s->vm.initrd = strdup("/img/initrd.gz");
}

static char *xml_of(const struct bx_spec *s, const char *accel)
{
	char errmsg[BX_ERRMSG_SIZE] = "", *xml = NULL;

	ASSERT_MSG(bx_libvirt_domain_xml(s, UUID, accel, "/data/vms/web/console.log", &xml,
					 errmsg) == 0,
		   "xml: %s", errmsg);
	return xml;
}

/* libvirt's own validator (libvirt-clients) on the document; true if valid. */
static bool valid(const char *xml)
{
	char path[4096], cmd[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/domain.xml", bx_test_tmpdir());
	f = fopen(path, "w");
	ASSERT(f != NULL);
	fputs(xml, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "virt-xml-validate '%s' domain >/dev/null 2>&1", path);
	return system(cmd) == 0;
}

TEST(microvmWithDirectKernelBootAndVirtioMmio)
{
	struct bx_spec s;
	char *xml;

	base_spec(&s);
	xml = xml_of(&s, "tcg");
	ASSERT_CONTAINS(xml, "<domain type='qemu'");
	ASSERT_CONTAINS(xml, "<name>blixard-web</name>");
	ASSERT_CONTAINS(xml, "<uuid>" UUID "</uuid>");
	ASSERT_CONTAINS(xml, "<memory unit='MiB'>128</memory>");
	ASSERT_CONTAINS(xml, "<vcpu>2</vcpu>");
	ASSERT_CONTAINS(xml, "machine='microvm'");
	ASSERT_CONTAINS(xml, "<kernel>/img/vmlinuz</kernel>");
	ASSERT_CONTAINS(xml, "<initrd>/img/initrd.gz</initrd>");
	ASSERT_CONTAINS(xml, "<cmdline>console=ttyS0 reboot=t panic=-1</cmdline>");
	ASSERT_CONTAINS(xml, "<acpi/>"); /* the power button */
	ASSERT_CONTAINS(xml, "<on_reboot>destroy</on_reboot>");
	ASSERT_CONTAINS(xml, "<source path='/data/vms/web/console.log' append='on'/>");
	/* user networking without forwards: libvirt's own interface */
	ASSERT_CONTAINS(xml, "<interface type='user'>");
	ASSERT_CONTAINS(xml, "<address type='virtio-mmio'/>");
	ASSERT_CONTAINS(xml, "<memballoon model='none'/>");
	ASSERT(strstr(xml, "qemu:commandline") == NULL);
	ASSERT(strstr(xml, "host-passthrough") == NULL);
	ASSERT(valid(xml));
	free(xml);
	bx_spec_free(&s);
}

TEST(kvmTakesTheHostCpu)
{
	struct bx_spec s;
	char *xml;

	base_spec(&s);
	xml = xml_of(&s, "kvm");
	ASSERT_CONTAINS(xml, "<domain type='kvm'");
	ASSERT_CONTAINS(xml, "<cpu mode='host-passthrough'/>");
	ASSERT(valid(xml));
	free(xml);
	bx_spec_free(&s);
}

TEST(portsForwardOnQemusCommandLine)
{
	struct bx_spec s;
	char *xml;

	base_spec(&s);
	s.network.ports = calloc(2, sizeof *s.network.ports);
	s.network.ports[0] = (struct bx_port_map){.host = 8080, .guest = 80};
	s.network.ports[1] = (struct bx_port_map){.host = 5353, .guest = 53, .udp = true};
	s.network.ports_len = 2;
	xml = xml_of(&s, "tcg");
	ASSERT_CONTAINS(xml, "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'");
	ASSERT_CONTAINS(xml, "<qemu:arg value='user,id=bxnet0,hostfwd=tcp::8080-:80,"
			     "hostfwd=udp::5353-:53'/>");
	ASSERT_CONTAINS(xml, "<qemu:arg value='virtio-net-device,netdev=bxnet0,mac=52:54:00:");
	ASSERT(strstr(xml, "<interface") == NULL); /* one NIC, not two */
	ASSERT(valid(xml));
	free(xml);
	bx_spec_free(&s);
}

TEST(tapAndDisk)
{
	struct bx_spec s;
	char *xml;

	base_spec(&s);
	s.vm.tap = strdup("bxtap0");
	s.vm.disk = strdup("/img/root.qcow2");
	xml = xml_of(&s, "tcg");
	ASSERT_CONTAINS(xml, "<interface type='ethernet'>");
	ASSERT_CONTAINS(xml, "<target dev='bxtap0' managed='no'/>");
	ASSERT_CONTAINS(xml, "<driver name='qemu' type='qcow2'/>");
	ASSERT_CONTAINS(xml, "<source file='/img/root.qcow2'/>");
	ASSERT_CONTAINS(xml, "<target dev='vda' bus='virtio'/>");
	ASSERT(valid(xml));
	free(xml);
	bx_spec_free(&s);
}

TEST(specValuesAreEscaped)
{
	struct bx_spec s;
	char *xml;

	base_spec(&s);
	s.vm.cmdline = strdup("console=ttyS0 x=\"<a & 'b'>\"");
	free(s.vm.kernel);
	s.vm.kernel = strdup("/img/a&b<c>.bin");
	xml = xml_of(&s, "tcg");
	ASSERT_CONTAINS(xml, "<cmdline>console=ttyS0 x=&quot;&lt;a &amp; &apos;b&apos;&gt;&quot;</cmdline>");
	ASSERT_CONTAINS(xml, "<kernel>/img/a&amp;b&lt;c&gt;.bin</kernel>");
	ASSERT(valid(xml));
	free(xml);
	bx_spec_free(&s);
}

TEST(noKernelIsAnError)
{
	struct bx_spec s;
	char errmsg[BX_ERRMSG_SIZE] = "", *xml = NULL;

	base_spec(&s);
	free(s.vm.kernel);
	s.vm.kernel = NULL;
	ASSERT_INT(bx_libvirt_domain_xml(&s, UUID, "tcg", "/c", &xml, errmsg), BX_EINVAL);
	ASSERT(xml == NULL);
	ASSERT_CONTAINS(errmsg, "[vm] kernel is required");
	bx_spec_free(&s);
}

TEST(theSchemaCheckCanFail)
{
	/* valid() above means something only if libvirt's validator runs and says no */
	ASSERT(!valid("<domain type='qemu'><name>x</name><bogus/></domain>"));
	ASSERT(valid("<domain type='qemu'><name>x</name><memory>1024</memory>"
		     "<os><type>hvm</type></os></domain>"));
}
