/* qemu.c - the "qemu" driver: qemu-system-x86_64 -M microvm, run and watched directly. */
#include "vm/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <unistd.h>

#include "src/base/error.h"
#include "vm/proc.h"
#include "vm/qmp.h"

#define QMP_TIMEOUT_MS 5000

struct qemu {
	struct bx_qmp_call *powerdown; /* in flight, else NULL */
	char qmp_path[sizeof(((struct bx_vm *)0)->run_dir) + 16];
};

static struct qemu *get_qemu(struct bx_vm *vm)
{
	struct qemu *q = vm->ext;

	if (q == NULL) {
		q = calloc(1, sizeof *q);
		if (q == NULL)
			return NULL;
		snprintf(q->qmp_path, sizeof q->qmp_path, "%s/qmp.sock", vm->run_dir);
		vm->ext = q;
	}
	return q;
}

const char *bx_qemu_binary(void)
{
	const char *bin = getenv("BLIXARD_QEMU");

	return bin != NULL && bin[0] != '\0' ? bin : "qemu-system-x86_64";
}

/* ---- check: can this host run the spec? ---- */


/* Is the QEMU binary there, where the spawn's execvp will look for it? */
static bool have_qemu(void)
{
	const char *bin = bx_qemu_binary(), *path = getenv("PATH");

	if (strchr(bin, '/') != NULL)
		return bx_proc_executable(bin);
	return bx_proc_in_path(bin, path != NULL ? path : "/usr/bin:/bin", NULL);
}

static int check_file(const char *what, const char *path, char *errmsg)
{
	struct stat st;

	if (path == NULL)
		return 0;
	if (stat(path, &st) != 0)
		return bx_err(errmsg, errno == ENOENT ? BX_ENOENT : BX_EIO,
			      "[vm] %s '%s': %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return bx_err(errmsg, BX_EINVAL, "[vm] %s '%s' is not a file", what, path);
	if (access(path, R_OK) != 0)
		return bx_err(errmsg, BX_EPERM, "[vm] %s '%s' is not readable", what, path);
	return 0;
}

/* Is the host port free for QEMU's forward (bound on every address)? */
static int check_port(const struct bx_port_map *p, char *errmsg)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host)};
	int fd = socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	int one = 1, rc = 0;

	if (fd < 0)
		return bx_err(errmsg, BX_EIO, "socket: %s", strerror(errno));
	/* as QEMU's own listener does: a port in TIME_WAIT is free */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		rc = bx_err(errmsg, errno == EADDRINUSE ? BX_EBUSY : BX_EPERM,
			    "host port %u/%s is not free: %s", (unsigned)p->host,
			    p->udp ? "udp" : "tcp", strerror(errno));
	close(fd);
	return rc;
}

const char *bx_qemu_accel(const struct bx_spec *spec, char *errmsg)
{
	const char *want = spec->vm.accel != NULL ? spec->vm.accel : "auto";
	bool kvm = access("/dev/kvm", R_OK | W_OK) == 0;

	if (strcmp(want, "tcg") == 0)
		return "tcg";
	if (strcmp(want, "kvm") == 0) {
		if (!kvm) {
			bx_err(errmsg, BX_EUNAVAIL,
			       "[vm] accel = \"kvm\" but /dev/kvm is not usable here: %s",
			       strerror(errno));
			return NULL;
		}
		return "kvm";
	}
	return kvm ? "kvm" : "tcg";
}

int bx_qemu_check_host(const struct bx_spec *spec, bool skip_ports, char *errmsg)
{
	struct sysinfo si;
	int rc;

	if (spec->vm.kernel == NULL)
		return bx_err(errmsg, BX_EINVAL,
			      "[vm] kernel is required: -M microvm boots a kernel directly");
	if ((rc = check_file("kernel", spec->vm.kernel, errmsg)) != 0 ||
	    (rc = check_file("initrd", spec->vm.initrd, errmsg)) != 0 ||
	    (rc = check_file("disk", spec->vm.disk, errmsg)) != 0)
		return rc;
	if (bx_qemu_accel(spec, errmsg) == NULL)
		return BX_EUNAVAIL;
	if (sysinfo(&si) == 0) {
		unsigned long long host_mb =
		    (unsigned long long)si.totalram * si.mem_unit / (1024 * 1024);
		if (spec->memory_mb > host_mb)
			return bx_err(errmsg, BX_EFULL,
				      "memory_mb = %u is more than this host has (%llu MiB)",
				      spec->memory_mb, host_mb);
	}
	if (spec->vm.tap != NULL) {
		char path[64];
		if (spec->network.ports_len > 0)
			return bx_err(errmsg, BX_EINVAL,
				      "[network] ports forward through user networking; "
				      "with [vm] tap the guest is on the bridge itself");
		snprintf(path, sizeof path, "/sys/class/net/%s", spec->vm.tap);
		if (access(path, F_OK) != 0)
			return bx_err(errmsg, BX_ENOENT, "[vm] tap '%s': no such interface",
				      spec->vm.tap);
	}
	if (skip_ports)
		return 0;
	return bx_qemu_check_ports(spec->network.ports, spec->network.ports_len, errmsg);
}

int bx_qemu_check_ports(const struct bx_port_map *ports, size_t n, char *errmsg)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = check_port(&ports[i], errmsg)) != 0)
			return rc;
	return 0;
}

static int qemu_check(struct bx_vm *vm, char *errmsg)
{
	struct qemu *q = get_qemu(vm);
	int rc;

	if (q == NULL)
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	if (!have_qemu())
		return bx_err(errmsg, BX_ENOENT, "'%s' not found (install qemu-system-x86)",
			      bx_qemu_binary());
	if ((rc = bx_qemu_check_host(vm->spec, false, errmsg)) != 0)
		return rc;
	if (strlen(q->qmp_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bx_err(errmsg, BX_ETOOBIG,
			      "QMP socket path '%s' is longer than a unix socket allows "
			      "(use a shorter --data-dir)",
			      q->qmp_path);
	return 0;
}

/* ---- the command line ---- */

struct args {
	char **v;
	size_t n, cap;
	bool oom;
};

static void add(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct args *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof *v);
		if (v == NULL) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL) {
		a->oom = true;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void free_args(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/*
 * A comma inside a QEMU option value must be doubled (-drive file=a,,b).
 * Returns a static buffer: use it before the next call.
 */
static const char *opt_escape(const char *s)
{
	static char buf[2 * 4096 + 1];
	size_t j = 0;

	for (size_t i = 0; s[i] != '\0' && j + 2 < sizeof buf; i++) {
		buf[j++] = s[i];
		if (s[i] == ',')
			buf[j++] = ',';
	}
	buf[j] = '\0';
	return buf;
}

void bx_qemu_mac(const char *name, char out[18])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, 18, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff,
		 h & 0xff);
}

const char *bx_qemu_disk_format(const char *path)
{
	size_t len = strlen(path);

	return len > 6 && strcmp(path + len - 6, ".qcow2") == 0 ? "qcow2" : "raw";
}

int bx_qemu_user_netdev(const struct bx_spec *spec, const char *id,
			char out[BX_QEMU_NETDEV_SIZE], char *errmsg)
{
	int n = snprintf(out, BX_QEMU_NETDEV_SIZE, "user,id=%s", id);
	size_t len = n > 0 ? (size_t)n : BX_QEMU_NETDEV_SIZE;

	for (size_t i = 0; i < spec->network.ports_len && len < BX_QEMU_NETDEV_SIZE; i++) {
		const struct bx_port_map *p = &spec->network.ports[i];
		n = snprintf(out + len, BX_QEMU_NETDEV_SIZE - len, ",hostfwd=%s::%u-:%u",
			     p->udp ? "udp" : "tcp", (unsigned)p->host, (unsigned)p->guest);
		len = n < 0 ? BX_QEMU_NETDEV_SIZE : len + (size_t)n;
	}
	if (len >= BX_QEMU_NETDEV_SIZE)
		return bx_err(errmsg, BX_ETOOBIG, "too many port forwards");
	return 0;
}

int bx_qemu_argv(const struct bx_vm *vm, const char *accel, char ***out, char *errmsg)
{
	const struct bx_spec *spec = vm->spec;
	struct args a = {0};
	char mac[18];

	add(&a, "%s", bx_qemu_binary());
	add(&a, "-name");
	add(&a, "blixard-%s", spec->name);
	add(&a, "-M");
	add(&a, "microvm");
	add(&a, "-accel");
	add(&a, "%s", accel);
	if (strcmp(accel, "kvm") == 0) {
		add(&a, "-cpu");
		add(&a, "host");
	}
	add(&a, "-m");
	add(&a, "%u", spec->memory_mb);
	add(&a, "-smp");
	add(&a, "%u", spec->vcpus);
	add(&a, "-nodefaults");
	add(&a, "-no-user-config");
	add(&a, "-display");
	add(&a, "none");
	add(&a, "-no-reboot"); /* a guest reboot ends the instance; the policy decides */
	add(&a, "-kernel");
	add(&a, "%s", spec->vm.kernel);
	if (spec->vm.initrd != NULL) {
		add(&a, "-initrd");
		add(&a, "%s", spec->vm.initrd);
	}
	add(&a, "-append");
	add(&a, "%s", spec->vm.cmdline != NULL ? spec->vm.cmdline : BX_QEMU_DEFAULT_CMDLINE);
	/* the serial console is QEMU's stdout: console.log, with its own messages */
	add(&a, "-chardev");
	add(&a, "stdio,id=console,signal=off");
	add(&a, "-serial");
	add(&a, "chardev:console");
	add(&a, "-qmp");
	add(&a, "unix:%s/qmp.sock,server=on,wait=off", opt_escape(vm->run_dir));
	if (spec->vm.disk != NULL) {
		add(&a, "-drive");
		add(&a, "id=disk0,if=none,format=%s,file=%s", bx_qemu_disk_format(spec->vm.disk),
		    opt_escape(spec->vm.disk));
		add(&a, "-device");
		add(&a, "virtio-blk-device,drive=disk0");
	}
	add(&a, "-netdev");
	if (spec->vm.tap != NULL) {
		add(&a, "tap,id=net0,ifname=%s,script=no,downscript=no", spec->vm.tap);
	} else {
		char netdev[BX_QEMU_NETDEV_SIZE];
		if (bx_qemu_user_netdev(spec, "net0", netdev, errmsg) != 0) {
			free_args(&a);
			return BX_ETOOBIG;
		}
		add(&a, "%s", netdev);
	}
	bx_qemu_mac(spec->name, mac);
	add(&a, "-device");
	add(&a, "virtio-net-device,netdev=net0,mac=%s", mac);
	if (a.oom) {
		free_args(&a);
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	}
	*out = a.v;
	return 0;
}

void bx_qemu_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* ---- the table ---- */

static int qemu_start(struct bx_vm *vm, char *errmsg)
{
	struct bx_proc_cmd cmd = {0};
	const char *accel;
	struct qemu *q;
	int rc;

	rc = qemu_check(vm, errmsg);
	if (rc != 0)
		return rc;
	accel = bx_qemu_accel(vm->spec, errmsg);
	rc = bx_qemu_argv(vm, accel, &cmd.argv, errmsg);
	if (rc != 0)
		return rc;
	/* a socket left by an earlier run would make QEMU's bind fail */
	q = vm->ext;
	unlink(q->qmp_path);
	rc = bx_proc_spawn(vm, &cmd, errmsg);
	bx_qemu_argv_free(cmd.argv);
	return rc;
}

static void powerdown_done(void *data, int code, const cJSON *ret, const char *errmsg)
{
	struct bx_vm *vm = data;
	struct qemu *q = vm->ext;

	(void)ret;
	(void)errmsg;
	q->powerdown = NULL;
	/* Without QMP the guest cannot be asked; SIGTERM makes QEMU quit as
	 * the QMP "quit" would (the guest is not shut down, the VM just ends).
	 * The hard kill at the timeout stays armed either way. */
	if (code != BX_OK)
		bx_proc_signal(vm, SIGTERM);
}

/* Ask the guest to power off: the ACPI power button, through QMP. */
static void ask_powerdown(struct bx_vm *vm)
{
	struct qemu *q = vm->ext;

	if (bx_qmp_call(vm->loop, q->qmp_path, "system_powerdown", NULL, QMP_TIMEOUT_MS,
			powerdown_done, vm, &q->powerdown) != 0) {
		q->powerdown = NULL;
		bx_proc_signal(vm, SIGTERM);
	}
}

/* Graceful: the power button; SIGKILL after timeout_ms. */
static int qemu_stop(struct bx_vm *vm, uint32_t timeout_ms)
{
	return get_qemu(vm) != NULL ? bx_proc_stop(vm, timeout_ms, ask_powerdown) : BX_ENOMEM;
}

/* QMP query-status; its callback has the shape of a QMP call's. */
static void qemu_status(struct bx_vm *vm, bx_vm_status_cb cb, void *data)
{
	struct qemu *q = get_qemu(vm);

	if (q == NULL || bx_qmp_call(vm->loop, q->qmp_path, "query-status", NULL, QMP_TIMEOUT_MS,
				     cb, data, NULL) != 0)
		cb(data, BX_ENOMEM, NULL, "out of memory");
}

static void qemu_close(struct bx_vm *vm, void (*cb)(struct bx_vm *vm))
{
	struct qemu *q = vm->ext;

	if (q != NULL) {
		bx_qmp_cancel(q->powerdown);
		free(q);
		vm->ext = NULL;
	}
	bx_proc_close(vm, cb);
}

const struct bx_driver bx_driver_qemu =
    BX_PROC_DRIVER("qemu", qemu_check, qemu_start, qemu_stop, qemu_status, qemu_close);
