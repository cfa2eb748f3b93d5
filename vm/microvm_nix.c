/* microvm_nix.c - the "microvm-nix" driver: a microvm.nix runner's microvm-run, watched directly. */
#include "vm/microvm_nix.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/base/error.h"
#include "src/base/log.h"
#include "vm/proc.h"

#define PATH_SIZE (PATH_MAX + 64)

/* A microvm-shutdown run: its own memory, freed when its handle closes. */
struct helper {
	uv_process_t process;
	struct bx_vm *vm; /* NULL once the vm is closed: then just reap */
};

struct mnix {
	struct helper *shutdown; /* running, else NULL */
};

static struct mnix *get_mnix(struct bx_vm *vm)
{
	if (vm->ext == NULL)
		vm->ext = calloc(1, sizeof(struct mnix));
	return vm->ext;
}


/*
 * The runner's working directory, as microvm.nix's host module sets it: the
 * VM's state directory, the parent of `current`. A runner named otherwise (a
 * store path) runs in the run directory.
 */
static void workdir_of(const struct bx_vm *vm, const char *runner, char out[PATH_SIZE])
{
	const char *slash = strrchr(runner, '/');

	if (slash != NULL && strcmp(slash + 1, "current") == 0 && slash != runner)
		snprintf(out, PATH_SIZE, "%.*s", (int)(slash - runner), runner);
	else
		snprintf(out, PATH_SIZE, "%s", vm->run_dir);
}

static int mnix_check(struct bx_vm *vm, char *errmsg)
{
	const char *runner = vm->spec->vm.runner;
	char path[PATH_SIZE];
	struct stat st;

	if (runner == NULL)
		return bx_err(errmsg, BX_EINVAL, "[vm] runner is not set");
	if (stat(runner, &st) != 0)
		return bx_err(errmsg, errno == ENOENT ? BX_ENOENT : BX_EIO,
			      "[vm] runner '%s': %s", runner, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return bx_err(errmsg, BX_EINVAL, "[vm] runner '%s' is not a directory", runner);
	snprintf(path, sizeof path, "%s/bin/microvm-run", runner);
	if (!bx_proc_executable(path))
		return bx_err(errmsg, access(path, F_OK) == 0 ? BX_EPERM : BX_ENOENT,
			      "runner '%s' has no executable bin/microvm-run", runner);
	return 0;
}

/*
 * Start bin/microvm-run of the runner as it is now: `current` is resolved
 * and recorded as RUN_DIR/booted, so that stop runs the shutdown script of
 * the runner that was booted even if `current` has moved on since.
 */
static int mnix_start(struct bx_vm *vm, char *errmsg)
{
	char real[PATH_MAX], run[PATH_SIZE], cwd[PATH_SIZE], booted[PATH_SIZE];
	char *argv[2] = {run, NULL};
	struct bx_proc_cmd cmd = {.argv = argv};
	int rc;

	if (get_mnix(vm) == NULL)
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	rc = mnix_check(vm, errmsg);
	if (rc != 0)
		return rc;
	if (realpath(vm->spec->vm.runner, real) == NULL)
		return bx_err(errmsg, BX_EIO, "resolve runner '%s': %s", vm->spec->vm.runner,
			      strerror(errno));
	snprintf(run, sizeof run, "%s/bin/microvm-run", real);
	workdir_of(vm, vm->spec->vm.runner, cwd);
	cmd.cwd = cwd;
	rc = bx_proc_spawn(vm, &cmd, errmsg);
	if (rc != 0)
		return rc;
	snprintf(booted, sizeof booted, "%s/booted", vm->run_dir);
	unlink(booted);
	if (symlink(real, booted) != 0)
		BX_WARN("microvm-nix", "'%s': cannot record the booted runner (%s); "
			"stop will send SIGTERM", booted, strerror(errno));
	return 0;
}

static void helper_closed(uv_handle_t *h)
{
	free(h->data);
}

static void helper_exited(uv_process_t *p, int64_t exit_status, int term_signal)
{
	struct helper *helper = p->data;

	if (helper->vm != NULL) {
		struct mnix *m = helper->vm->ext;
		m->shutdown = NULL;
		/* The script could not ask the VM; ask the runner's process. */
		if (exit_status != 0 || term_signal != 0)
			bx_proc_signal(helper->vm, SIGTERM);
	}
	uv_close((uv_handle_t *)p, helper_closed);
}

/* Ask the VM to end: the booted runner's bin/microvm-shutdown, else SIGTERM. */
static void ask_shutdown(struct bx_vm *vm)
{
	struct mnix *m = vm->ext;
	char script[PATH_SIZE + 32], cwd[PATH_SIZE];
	char *argv[2] = {script, NULL};
	uv_process_options_t options = {0};
	uv_stdio_container_t stdio[3];
	struct helper *helper;

	snprintf(script, sizeof script, "%s/booted/bin/microvm-shutdown", vm->run_dir);
	helper = bx_proc_executable(script) ? calloc(1, sizeof *helper) : NULL;
	if (helper == NULL) {
		bx_proc_signal(vm, SIGTERM);
		return;
	}
	workdir_of(vm, vm->spec->vm.runner, cwd);
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_IGNORE;
	stdio[2].flags = UV_IGNORE;
	options.file = script;
	options.args = argv;
	options.cwd = cwd;
	options.stdio = stdio;
	options.stdio_count = 3;
	options.exit_cb = helper_exited;
	helper->vm = vm;
	helper->process.data = helper;
	if (uv_spawn(vm->loop, &helper->process, &options) != 0) {
		helper->vm = NULL;
		uv_close((uv_handle_t *)&helper->process, helper_closed);
		bx_proc_signal(vm, SIGTERM);
		return;
	}
	m->shutdown = helper;
}

/* Graceful: the runner's own shutdown; SIGKILL after timeout_ms. */
static int mnix_stop(struct bx_vm *vm, uint32_t timeout_ms)
{
	return get_mnix(vm) != NULL ? bx_proc_stop(vm, timeout_ms, ask_shutdown) : BX_ENOMEM;
}

static void mnix_close(struct bx_vm *vm, void (*cb)(struct bx_vm *vm))
{
	struct mnix *m = vm->ext;

	if (m != NULL) {
		/* a running shutdown script goes on; we stop listening to it */
		if (m->shutdown != NULL)
			m->shutdown->vm = NULL;
		free(m);
		vm->ext = NULL;
	}
	bx_proc_close(vm, cb);
}

const struct bx_driver bx_driver_microvm_nix =
    BX_PROC_DRIVER("microvm-nix", mnix_check, mnix_start, mnix_stop, NULL, mnix_close);
