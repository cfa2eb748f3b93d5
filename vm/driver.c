/* driver.c - the VM driver registry and bx_vm_init(). */
#include "vm/driver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "src/base/error.h"
#include "vm/libvirt.h"
#include "vm/microvm_nix.h"
#include "vm/process.h"
#include "vm/qemu.h"

/*
 * Every driver, by the name used in [service] driver. Adding a driver means
 * one line here and one vm/<name>.c; nothing else changes.
 */
static const struct {
	const char *name;
	const struct bx_driver *driver;
} drivers[] = {
    {"qemu", &bx_driver_qemu},
    {"libvirt", &bx_driver_libvirt},
    {"microvm-nix", &bx_driver_microvm_nix},
    {"process", &bx_driver_process},
};

#define N_DRIVERS (sizeof drivers / sizeof drivers[0])

/*
 * Room kept at the end of run_dir for the names of the files inside it
 * ("/console.log.1", "/pid.tmp", "/qmp.sock": under 32 bytes), so that a
 * driver building RUN_DIR/FILE into a buffer of sizeof run_dir never
 * truncates. Checked once here instead of at every use.
 */
#define RUN_DIR_ROOM 32

const struct bx_driver *bx_driver_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < N_DRIVERS; i++)
		if (strcmp(drivers[i].name, name) == 0)
			return drivers[i].driver;
	return NULL;
}

int bx_vm_init(struct bx_vm *vm, uv_loop_t *loop, const char *data_dir,
	       const struct bx_spec *spec, char *errmsg)
{
	int n;

	memset(vm, 0, sizeof *vm);
	vm->loop = loop;
	vm->spec = spec;
	vm->state = BX_VM_NONE;

	vm->driver = bx_driver_find(spec->driver);
	if (vm->driver == NULL) {
		char known[256] = "";
		size_t len = 0;

		for (size_t i = 0; i < N_DRIVERS && len < sizeof known; i++) {
			n = snprintf(known + len, sizeof known - len, "%s%s",
				     i ? ", " : "", drivers[i].name);
			if (n < 0)
				break;
			len += (size_t)n;
		}
		return bx_err(errmsg, BX_EINVAL, "no driver '%s' (known: %s)",
			      spec->driver, known);
	}

	/* The name becomes a path component: the spec layer validates names,
	 * but a '/' or ".." here would escape DATA_DIR/vms, so refuse it again. */
	if (spec->name[0] == '\0' || strchr(spec->name, '/') != NULL ||
	    strcmp(spec->name, ".") == 0 || strcmp(spec->name, "..") == 0) {
		vm->driver = NULL;
		return bx_err(errmsg, BX_EINVAL, "bad service name '%s'", spec->name);
	}

	n = snprintf(vm->run_dir, sizeof vm->run_dir, "%s/vms/%s", data_dir, spec->name);
	if (n < 0 || (size_t)n >= sizeof vm->run_dir - RUN_DIR_ROOM) {
		vm->run_dir[0] = '\0';
		vm->driver = NULL;
		return bx_err(errmsg, BX_ETOOBIG, "run directory '%s/vms/%s' is too long",
			      data_dir, spec->name);
	}
	return 0;
}

int bx_vm_make_run_dir(const struct bx_vm *vm, char *errmsg)
{
	const char *dir = vm->run_dir;
	char path[sizeof vm->run_dir];
	struct stat st;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof path)
		return bx_err(errmsg, BX_EINVAL, "bad directory '%s'", dir);
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return bx_err(errmsg, errno == EACCES ? BX_EPERM : BX_EIO,
				      "create directory '%s': %s", path, strerror(errno));
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return bx_err(errmsg, BX_EIO, "'%s' is not a directory", dir);
	return 0;
}
