/* driver.c - the registry of VM drivers and the per-instance setup common to all. */
#include "driver.h"

#include "error.h"
#include "process.h"

#include <stdio.h>
#include <string.h>

/* Adding a driver: one line here (qemu, libvirt and microvm-nix come next). */
static const struct bx_driver *const drivers[] = {
    &bx_driver_process,
    NULL,
};

const struct bx_driver *bx_driver_find(const char *name)
{
	for (const struct bx_driver *const *d = drivers; *d != NULL; d++)
		if (strcmp((*d)->name, name) == 0)
			return *d;
	return NULL;
}

int bx_vm_init(struct bx_vm *vm, uv_loop_t *loop, const char *data_dir,
	       const struct bx_spec *spec, char *errmsg)
{
	int n;

	memset(vm, 0, sizeof *vm);
	vm->loop = loop;
	vm->spec = spec;
	vm->driver = bx_driver_find(spec->driver);
	if (vm->driver == NULL)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "driver '%s' is not available on this node (known: process)",
		    spec->driver);
	n = snprintf(vm->run_dir, sizeof vm->run_dir, "%s/vms/%s", data_dir, spec->name);
	if (n < 0 || (size_t)n >= sizeof vm->run_dir)
		return bx_err(errmsg, BX_EINVAL, "run directory path too long under '%s'",
			      data_dir);
	return BX_OK;
}
