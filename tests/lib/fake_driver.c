/* fake_driver.c - a VM driver whose instances are records in memory, moved by the test. */
#include "tests/lib/fake_driver.h"

#include "src/base/error.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define MAX_FAKES 64

static struct bx_fake_vm fakes[MAX_FAKES];
static unsigned n_fakes;
static pid_t next_pid = 1000;

void bx_fake_driver_reset(void)
{
	memset(fakes, 0, sizeof fakes);
	n_fakes = 0;
}

struct bx_fake_vm *bx_fake_vm(const char *name)
{
	for (unsigned i = 0; i < n_fakes; i++)
		if (strcmp(fakes[i].name, name) == 0)
			return &fakes[i];
	if (n_fakes == MAX_FAKES)
		return NULL;
	snprintf(fakes[n_fakes].name, sizeof fakes[n_fakes].name, "%s", name);
	return &fakes[n_fakes++];
}

static struct bx_fake_vm *of(struct bx_vm *vm)
{
	return bx_fake_vm(vm->spec->name);
}

static int check(struct bx_vm *vm, char *errmsg)
{
	(void)vm;
	(void)errmsg;
	return BX_OK;
}

static int start(struct bx_vm *vm, char *errmsg)
{
	struct bx_fake_vm *f = of(vm);

	if (f->fail_start[0] != '\0')
		return bx_err(errmsg, BX_EIO, "%s", f->fail_start);
	f->starts++;
	f->running = true;
	f->pid = next_pid++;
	f->exit_due = false;
	f->vm = vm;
	vm->pid = f->pid;
	vm->state = BX_VM_RUNNING;
	return BX_OK;
}

static int adopt(struct bx_vm *vm, char *errmsg)
{
	struct bx_fake_vm *f = of(vm);

	(void)errmsg;
	if (!f->running)
		return BX_ENOENT;
	f->adopts++;
	f->vm = vm;
	vm->pid = f->pid;
	vm->state = BX_VM_RUNNING;
	return BX_OK;
}

static void end(struct bx_fake_vm *f, int64_t status, int sig)
{
	f->exit_due = true;
	f->exit_status = status;
	f->exit_signal = sig;
}

static int stop(struct bx_vm *vm, uint32_t timeout_ms)
{
	struct bx_fake_vm *f = of(vm);

	(void)timeout_ms;
	f->stops++;
	vm->state = BX_VM_STOPPING;
	if (!f->exit_due)
		end(f, -1, SIGTERM);
	return BX_OK;
}

static void kill_now(struct bx_vm *vm)
{
	struct bx_fake_vm *f = of(vm);

	f->kills++;
	vm->state = BX_VM_STOPPING;
	end(f, -1, SIGKILL);
}

static const char *console_path(struct bx_vm *vm)
{
	(void)vm;
	return "/dev/null";
}

static void close_vm(struct bx_vm *vm, void (*cb)(struct bx_vm *vm))
{
	struct bx_fake_vm *f = of(vm);

	/* let go: nothing more reaches this vm, though the instance runs on */
	if (f->vm == vm)
		f->vm = NULL;
	f->closing = vm;
	f->close_cb = cb;
}

const struct bx_driver bx_fake_driver = {
    .name = "fake",
    .check = check,
    .start = start,
    .adopt = adopt,
    .stop = stop,
    .kill = kill_now,
    .status = NULL,
    .console_path = console_path,
    .close = close_vm,
};

void bx_fake_vm_exit(const char *name, int64_t status, int term_signal)
{
	struct bx_fake_vm *f = bx_fake_vm(name);

	if (f != NULL && f->running)
		end(f, status, term_signal);
}

unsigned bx_fake_driver_settle(void)
{
	unsigned n = 0;
	bool again = true;

	while (again) {
		again = false;
		for (unsigned i = 0; i < n_fakes; i++) {
			struct bx_fake_vm *f = &fakes[i];
			if (f->closing != NULL) {
				struct bx_vm *vm = f->closing;
				void (*cb)(struct bx_vm *) = f->close_cb;
				f->closing = NULL;
				f->close_cb = NULL;
				cb(vm); /* may free vm */
				n++;
				again = true;
			}
			if (f->exit_due && f->running) {
				struct bx_vm *vm = f->vm;
				f->exit_due = false;
				f->running = false;
				f->pid = 0;
				if (vm != NULL) { /* else nobody drives it: it just ends */
					vm->pid = 0;
					vm->state = BX_VM_EXITED;
					if (vm->on_exit != NULL)
						vm->on_exit(vm, f->exit_status, f->exit_signal);
				}
				n++;
				again = true;
			}
		}
	}
	return n;
}

unsigned bx_fake_driver_running(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_fakes; i++)
		n += fakes[i].running;
	return n;
}
