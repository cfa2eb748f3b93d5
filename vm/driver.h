/* driver.h - the VM driver interface: a vtable per driver, one struct bx_vm per instance. */
#ifndef BX_VM_DRIVER_H
#define BX_VM_DRIVER_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "src/model/spec.h"

/*
 * A driver runs one instance of a service on this host. Instances outlive
 * the daemon (invariant 6): everything needed to find one again lives in its
 * run directory DATA_DIR/vms/NAME (pidfile "PID STARTTIME", console.log,
 * qmp.sock…), and adopt() re-attaches to an instance an earlier daemon left.
 *
 * Lifecycle: bx_vm_init → start or adopt → (on_exit when it ends, for any
 * reason, exactly once per start/adopt) → close(cb). close() lets go of the
 * instance without stopping it; cb runs when every handle is released.
 */

struct bx_vm;

/* The hypervisor's own view of an instance (vm status): code 0 and a JSON
 * object valid during the call, or an error code and message. */
typedef void (*bx_vm_status_cb)(void *data, int code, const cJSON *status, const char *errmsg);

enum bx_vm_state { BX_VM_NONE, BX_VM_RUNNING, BX_VM_STOPPING, BX_VM_EXITED };

struct bx_driver {
	const char *name; /* "process", "qemu", … as in [service] driver */
	/* Can this host run the spec (files exist, binaries present)? 0 or an error + message. */
	int (*check)(struct bx_vm *vm, char *errmsg);
	/* Start a new instance (the run directory is reset); check() first. */
	int (*start)(struct bx_vm *vm, char *errmsg);
	/* Re-attach to a running instance left by an earlier daemon; BX_ENOENT if none. */
	int (*adopt)(struct bx_vm *vm, char *errmsg);
	/* Graceful stop, then a hard kill after timeout_ms. on_exit follows. */
	int (*stop)(struct bx_vm *vm, uint32_t timeout_ms);
	/* Hard kill now (SIGKILL to the whole process group). on_exit follows. */
	void (*kill)(struct bx_vm *vm);
	/*
	 * Ask the hypervisor how the instance is (qemu: QMP query-status,
	 * {"status": "running", "running": true}). cb runs exactly once, from
	 * the loop, and does not need the vm to live on. NULL for drivers whose
	 * view is no more than state and pid.
	 */
	void (*status)(struct bx_vm *vm, bx_vm_status_cb cb, void *data);
	/* The console/log file of the instance ("…/vms/NAME/console.log"). */
	const char *(*console_path)(struct bx_vm *vm);
	/* Let go (the instance keeps running); cb once all handles are closed. */
	void (*close)(struct bx_vm *vm, void (*cb)(struct bx_vm *vm));
};

struct bx_vm {
	const struct bx_driver *driver;
	uv_loop_t *loop;
	const struct bx_spec *spec; /* borrowed; outlives the vm */
	char run_dir[4096];         /* DATA_DIR/vms/NAME */
	enum bx_vm_state state;
	pid_t pid; /* 0 when not running */
	/* Called once when a started/adopted instance ends: exit status or signal. */
	void (*on_exit)(struct bx_vm *vm, int64_t exit_status, int term_signal);
	/* Optional: pid changed while running (drivers that learn it after start). */
	void (*on_pid)(struct bx_vm *vm);
	/*
	 * Why a start that returned 0 failed after all, set before on_exit, ""
	 * otherwise. Only drivers that start asynchronously (libvirt: the
	 * domain is created by libvirtd after start() returns) can fail this
	 * way; the owner treats it like a start() error: reported, not retried.
	 */
	char start_error[256];
	void *data; /* the owner's */
	void *impl; /* the driver's (the process core's, for drivers built on it) */
	void *ext;  /* state of a driver built on the process core (vm/proc.h) */
};

/* The driver named `name`, or NULL. */
const struct bx_driver *bx_driver_find(const char *name);

/*
 * Prepare `vm` for `spec` under data_dir: picks the driver, sets run_dir
 * (not created until start). BX_EINVAL (with message) for an unknown driver.
 */
int bx_vm_init(struct bx_vm *vm, uv_loop_t *loop, const char *data_dir,
	       const struct bx_spec *spec, char *errmsg);

/* Create run_dir and its parents (mode 0700); 0, or an error with message. */
int bx_vm_make_run_dir(const struct bx_vm *vm, char *errmsg);

#endif
