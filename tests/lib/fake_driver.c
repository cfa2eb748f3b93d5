/* fake_driver.c - a VM driver whose instances are records in memory, moved by the test. */
#include "tests/lib/fake_driver.h"

#include "src/base/error.h"

#include <signal.h>
#include <stdlib.h>
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
	struct bx_fake_vm *f = bx_fake_vm(vm->spec->name);

	if (f == NULL)
		abort(); /* more instance keys than a test should make */
	return f;
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
	if (f->n_closing == sizeof f->closing / sizeof f->closing[0])
		abort(); /* more closes under way than a test should make */
	f->closing[f->n_closing] = vm;
	f->close_cb[f->n_closing++] = cb;
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

static unsigned deliver_exits(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_fakes; i++) {
		struct bx_fake_vm *f = &fakes[i];
		struct bx_vm *vm = f->vm;
		if (!f->exit_due || !f->running)
			continue;
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
	}
	return n;
}

unsigned bx_fake_driver_deliver_exits(void)
{
	return deliver_exits();
}

unsigned bx_fake_driver_settle(void)
{
	unsigned n = 0;
	bool again = true;

	while (again) {
		unsigned before = n;
		for (unsigned i = 0; i < n_fakes; i++) {
			struct bx_fake_vm *f = &fakes[i];
			while (f->n_closing > 0) {
				struct bx_vm *vm = f->closing[0];
				void (*cb)(struct bx_vm *) = f->close_cb[0];
				f->n_closing--;
				memmove(f->closing, f->closing + 1, f->n_closing * sizeof f->closing[0]);
				memmove(f->close_cb, f->close_cb + 1,
					f->n_closing * sizeof f->close_cb[0]);
				cb(vm); /* may free vm, and close another */
				n++;
			}
		}
		n += deliver_exits();
		again = n != before;
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
