/* libvirt.c - the "libvirt" driver: a transient microvm domain per instance, through
 * libvirtd. */
#include "vm/libvirt.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/base/error.h"
#include "src/base/log.h"
#include "vm/console.h"
#include "vm/libvirt_conn.h"
#include "vm/libvirt_xml.h"
#include "vm/qemu.h"

#define RECHECK_MS 1000 /* after a lost connection, and again while libvirtd is away */
#define RECHECK_RETRY_MS 2000 /* the next try while libvirtd cannot be reached */

/*
 * One per bx_vm (vm->impl), from the first use to close. Answers from the
 * worker can arrive after close (a call under way), so the struct lives
 * until its last answer: `jobs` counts calls not yet answered, and each
 * answer for an instance that is no longer current (`instance` moved on:
 * a new start, an adopt, or close) is dropped.
 */
struct lv {
	struct bx_vm *vm; /* NULL once closed */
	struct bx_lv_conn *conn;
	struct bx_lv_watch
	    watch; /* the running instance's UUID; watched while RUNNING or STOPPING */
	bool watching;
	uv_timer_t kill_timer;    /* a stop's hard step at its timeout */
	uv_timer_t recheck_timer; /* ask libvirt how the domain is: after adopt, a lost
				     connection */
	uv_timer_t console_timer; /* cap console.log */
	unsigned handles_open;
	unsigned jobs;
	uint64_t instance;
	char console[sizeof(((struct bx_vm *)0)->run_dir) + 16];
	char record[sizeof(((struct bx_vm *)0)->run_dir) +
		    16]; /* RUN_DIR/domain: the UUID of the instance we run */
	void (*close_cb)(struct bx_vm *vm);
};

/* A call's context: which struct, for which instance. */
struct call {
	struct lv *lv;
	uint64_t instance;
};

/* ---- the struct's life ---- */

static void maybe_free(struct lv *lv)
{
	if (lv->vm == NULL && lv->handles_open == 0 && lv->jobs == 0 && lv->conn == NULL)
		free(lv);
}

static const char *uri_of(const struct bx_spec *spec)
{
	return spec->vm.uri != NULL ? spec->vm.uri : BX_LIBVIRT_DEFAULT_URI;
}

static struct lv *get_lv(struct bx_vm *vm, char *errmsg)
{
	struct lv *lv = vm->impl;

	if (lv != NULL)
		return lv;
	lv = calloc(1, sizeof *lv);
	if (lv == NULL) {
		bx_err(errmsg, BX_ENOMEM, "out of memory");
		return NULL;
	}
	lv->vm = vm;
	lv->watch.data = lv;
	snprintf(lv->console, sizeof lv->console, "%s/console.log", vm->run_dir);
	snprintf(lv->record, sizeof lv->record, "%s/domain", vm->run_dir);
	uv_timer_init(vm->loop, &lv->kill_timer);
	uv_timer_init(vm->loop, &lv->recheck_timer);
	uv_timer_init(vm->loop, &lv->console_timer);
	lv->kill_timer.data = lv->recheck_timer.data = lv->console_timer.data = lv;
	lv->handles_open = 3;
	vm->impl = lv;
	return lv;
}

/* The connection, taken when the first instance starts or is adopted. */
static int need_conn(struct lv *lv, char *errmsg)
{
	const char *uri = uri_of(lv->vm->spec);

	if (lv->conn != NULL)
		return 0;
	lv->conn = bx_lv_conn_get(lv->vm->loop, uri);
	if (lv->conn == NULL)
		return bx_err(errmsg, BX_EIO,
			      "libvirt '%s': cannot start the threads that talk to it",
			      uri);
	return 0;
}

/* ---- the record of the running instance (RUN_DIR/domain) ---- */

/* Written before the domain is created, so that a daemon killed in between
 * still finds (and adopts, or learns the end of) what it asked for. */
static int write_record(struct lv *lv, const char *uuid, char *errmsg)
{
	char tmp[sizeof(((struct lv *)0)->record) + 8];
	int fd, n;

	snprintf(tmp, sizeof tmp, "%s.tmp", lv->record);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return bx_err(errmsg, BX_EIO, "create '%s': %s", tmp, strerror(errno));
	n = dprintf(fd, "%s\n", uuid);
	if (n < 0 || fsync(fd) != 0 || close(fd) != 0) {
		unlink(tmp);
		return bx_err(errmsg, BX_EIO, "write '%s': %s", tmp, strerror(errno));
	}
	if (rename(tmp, lv->record) != 0) {
		unlink(tmp);
		return bx_err(errmsg, BX_EIO, "rename to '%s': %s", lv->record,
			      strerror(errno));
	}
	return 0;
}

/* The UUID in the record; false if there is none (or it is not a UUID). */
static bool read_record(const char *path, char uuid[BX_LV_UUID_LEN])
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < BX_LV_UUID_LEN - 1)
		return false;
	buf[BX_LV_UUID_LEN - 1] = '\0';
	for (int i = 0; i < BX_LV_UUID_LEN - 1; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? buf[i] != '-' : strchr("0123456789abcdef", buf[i]) == NULL)
			return false;
	}
	memcpy(uuid, buf, BX_LV_UUID_LEN);
	return true;
}

/* ---- the end of an instance ---- */

/* The instance is over for us: unwatched, timers stopped, record gone. */
static void forget(struct lv *lv)
{
	if (lv->watching) {
		bx_lv_unwatch(lv->conn, &lv->watch);
		lv->watching = false;
	}
	uv_timer_stop(&lv->kill_timer);
	uv_timer_stop(&lv->recheck_timer);
	uv_timer_stop(&lv->console_timer);
	unlink(lv->record);
	lv->instance++; /* answers still to come are about this one: drop them */
	lv->vm->state = BX_VM_EXITED;
	lv->vm->pid = 0;
}

static void ended(struct lv *lv, int64_t exit_status, int term_signal)
{
	struct bx_vm *vm = lv->vm;

	if (vm == NULL || (vm->state != BX_VM_RUNNING && vm->state != BX_VM_STOPPING))
		return; /* told already (an event and an answer can both say so) */
	forget(lv);
	if (vm->on_exit != NULL)
		vm->on_exit(vm, exit_status, term_signal);
}

/*
 * A STOPPED event's detail as an exit: the guest powered off (exit 0); it
 * was destroyed (our hard stop, or someone's: as SIGKILL); anything else (QEMU
 * died, crashed, failed to start) ended it without a status.
 */
static void on_event(struct bx_lv_watch *w, int event, int detail)
{
	struct lv *lv = w->data;

	if (event != VIR_DOMAIN_EVENT_STOPPED)
		return;
	if (detail == VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
		ended(lv, 0, 0);
	else if (detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
		ended(lv, -1, SIGKILL);
	else
		ended(lv, -1, 0);
}

static void on_recheck(uv_timer_t *t);

static void on_lost(struct bx_lv_watch *w)
{
	struct lv *lv = w->data;

	/* events may have been missed while libvirtd was away: ask once it is back */
	uv_timer_start(&lv->recheck_timer, on_recheck, RECHECK_MS, 0);
}

/* The QEMU pid, as libvirt's answers reveal it; the owner hears of a change. */
static void set_pid(struct lv *lv, pid_t pid)
{
	struct bx_vm *vm = lv->vm;

	if (vm->pid == pid)
		return;
	vm->pid = pid;
	if (vm->on_pid != NULL)
		vm->on_pid(vm);
}

/* ---- calls ---- */

static void create_done(void *data, const struct bx_lv_result *res);

/* A call's context; NULL when out of memory. */
static struct call *new_call(struct lv *lv)
{
	struct call *call = malloc(sizeof *call);

	if (call != NULL) {
		call->lv = lv;
		call->instance = lv->instance;
	}
	return call;
}

/* After a submit returned rc: the call is counted, or taken back. */
static int track(struct lv *lv, struct call *call, int rc)
{
	if (rc != 0) {
		free(call);
		return rc;
	}
	lv->jobs++;
	return 0;
}

static int submit(struct lv *lv, enum bx_lv_op op, bx_lv_done_cb done)
{
	struct call *call = new_call(lv);

	if (call == NULL)
		return BX_ENOMEM;
	return track(lv, call, bx_lv_submit(lv->conn, op, lv->watch.uuid, done, call));
}

static int submit_create(struct lv *lv, const char *name, const char *xml)
{
	const struct bx_spec *spec = lv->vm->spec;
	struct call *call = new_call(lv);

	if (call == NULL)
		return BX_ENOMEM;
	return track(lv, call,
		     bx_lv_submit_create(lv->conn, name, lv->watch.uuid, xml,
					 spec->network.ports, spec->network.ports_len,
					 create_done, call));
}

/* The struct of an answer that is still about the current instance, else NULL. */
static struct lv *answer_for(void *data)
{
	struct call *call = data;
	struct lv *lv = call->lv;
	bool current = lv->vm != NULL && call->instance == lv->instance;

	free(call);
	lv->jobs--;
	if (!current) {
		maybe_free(lv);
		return NULL;
	}
	return lv;
}

static void recheck_done(void *data, const struct bx_lv_result *res)
{
	struct lv *lv = answer_for(data);

	if (lv == NULL)
		return;
	if (res->code == BX_ENOENT) {
		ended(lv, -1, 0); /* it ended while nobody watched */
	} else if (res->code != 0) {
		uv_timer_start(&lv->recheck_timer, on_recheck, RECHECK_RETRY_MS, 0);
	} else if (res->state == VIR_DOMAIN_SHUTOFF || res->state == VIR_DOMAIN_CRASHED) {
		ended(lv, -1, 0);
	} else {
		set_pid(lv, res->pid);
	}
}

static void on_recheck(uv_timer_t *t)
{
	struct lv *lv = t->data;

	if (submit(lv, BX_LV_STATE, recheck_done) != 0)
		uv_timer_start(&lv->recheck_timer, on_recheck, RECHECK_RETRY_MS, 0);
}

static void on_console_timer(uv_timer_t *t)
{
	struct lv *lv = t->data;

	bx_console_cap(lv->console);
}

/* From now on, `uuid` is the instance: watched, capped, recorded by the caller. */
static void begin_instance(struct lv *lv, const char *uuid)
{
	struct bx_vm *vm = lv->vm;

	lv->instance++;
	snprintf(lv->watch.uuid, sizeof lv->watch.uuid, "%s", uuid);
	lv->watch.event = on_event;
	lv->watch.lost = on_lost;
	if (!lv->watching) {
		bx_lv_watch(lv->conn, &lv->watch);
		lv->watching = true;
	}
	vm->state = BX_VM_RUNNING;
	vm->pid = 0;
	vm->start_error[0] = '\0';
	uv_timer_start(&lv->console_timer, on_console_timer, BX_CONSOLE_CHECK_MS,
		       BX_CONSOLE_CHECK_MS);
}

/* ---- the table ---- */

static int lv_check(struct bx_vm *vm, char *errmsg)
{
	return bx_qemu_check_host(vm->spec, false, errmsg);
}

static void create_done(void *data, const struct bx_lv_result *res)
{
	struct lv *lv = answer_for(data);

	if (lv == NULL)
		return;
	if (res->code != 0) {
		snprintf(lv->vm->start_error, sizeof lv->vm->start_error, "%s",
			 res->errmsg);
		ended(lv, -1, 0);
		return;
	}
	if (res->replaced)
		BX_SVC_WARN(
		    "libvirt", lv->vm->spec->name,
		    "a running domain blixard-%s that no record named (left by an "
		    "earlier daemon whose data is gone?) was destroyed before the new "
		    "one was created",
		    lv->vm->spec->name);
	set_pid(lv, res->pid);
}

static int lv_start(struct bx_vm *vm, char *errmsg)
{
	char uuid[BX_LV_UUID_LEN], name[BX_NAME_MAX + 16], *xml = NULL;
	const char *accel;
	struct lv *lv;
	int rc;

	if (vm->state == BX_VM_RUNNING || vm->state == BX_VM_STOPPING)
		return bx_err(errmsg, BX_EEXIST, "an instance is already running");
	/* A domain of ours that no record names (an earlier daemon's, its data
	 * lost) may still hold the ports: the create checks them once it is gone. */
	rc = bx_qemu_check_host(vm->spec, true, errmsg);
	if (rc != 0)
		return rc;
	accel = bx_qemu_accel(vm->spec, errmsg);
	lv = get_lv(vm, errmsg);
	if (lv == NULL)
		return BX_ENOMEM;
	rc = need_conn(lv, errmsg);
	if (rc != 0)
		return rc;
	rc = bx_vm_make_run_dir(vm, errmsg);
	if (rc != 0)
		return rc;
	rc = bx_console_rotate(lv->console, errmsg);
	if (rc != 0)
		return rc;
	bx_lv_new_uuid(uuid);
	rc = bx_libvirt_domain_xml(vm->spec, uuid, accel, lv->console, &xml, errmsg);
	if (rc != 0)
		return rc;
	rc = write_record(lv, uuid, errmsg);
	if (rc != 0)
		goto out;
	begin_instance(lv, uuid);
	snprintf(name, sizeof name, "blixard-%s", vm->spec->name);
	rc = submit_create(lv, name, xml);
	if (rc != 0) {
		bx_err(errmsg, rc, "out of memory");
		forget(lv);
	}
out:
	free(xml);
	return rc;
}

static int lv_adopt(struct bx_vm *vm, char *errmsg)
{
	char uuid[BX_LV_UUID_LEN];
	struct lv *lv = get_lv(vm, errmsg);
	int rc;

	if (lv == NULL)
		return BX_ENOMEM;
	if (!read_record(lv->record, uuid))
		return bx_err(errmsg, BX_ENOENT, "no domain recorded in '%s'",
			      lv->record);
	rc = need_conn(lv, errmsg);
	if (rc != 0)
		return rc;
	begin_instance(lv, uuid);
	on_recheck(&lv->recheck_timer); /* libvirt's view, and the pid (on_pid) */
	return 0;
}

/* The answer to a stop's call: a domain already gone has stopped. */
static void stop_done(void *data, const struct bx_lv_result *res)
{
	struct lv *lv = answer_for(data);

	if (lv == NULL)
		return;
	if (res->code == BX_ENOENT)
		ended(lv, -1, 0);
	else if (res->code != 0)
		uv_timer_start(&lv->recheck_timer, on_recheck, RECHECK_RETRY_MS, 0);
}

static void on_kill_timer(uv_timer_t *t)
{
	struct lv *lv = t->data;

	if (submit(lv, BX_LV_DESTROY, stop_done) != 0)
		uv_timer_start(&lv->kill_timer, on_kill_timer, RECHECK_RETRY_MS, 0);
}

static int lv_stop(struct bx_vm *vm, uint32_t timeout_ms)
{
	struct lv *lv = vm->impl;

	if (lv == NULL || (vm->state != BX_VM_RUNNING && vm->state != BX_VM_STOPPING))
		return BX_ENOENT;
	if (vm->state == BX_VM_STOPPING)
		return 0;
	vm->state = BX_VM_STOPPING;
	uv_timer_start(&lv->kill_timer, on_kill_timer, timeout_ms, 0);
	/* the power button; if it cannot even be asked, the timer still destroys */
	submit(lv, BX_LV_SHUTDOWN, stop_done);
	return 0;
}

static void lv_kill(struct bx_vm *vm)
{
	struct lv *lv = vm->impl;

	if (lv == NULL || (vm->state != BX_VM_RUNNING && vm->state != BX_VM_STOPPING))
		return;
	vm->state = BX_VM_STOPPING;
	uv_timer_stop(&lv->kill_timer);
	on_kill_timer(&lv->kill_timer);
}

struct status_call {
	bx_vm_status_cb cb;
	void *data;
	char uri[1025]; /* as long as [vm] uri may be */
	char uuid[BX_LV_UUID_LEN];
};

static void status_done(void *data, const struct bx_lv_result *res)
{
	struct status_call *sc = data;
	cJSON *o;

	if (res->code != 0) {
		sc->cb(sc->data, res->code, NULL, res->errmsg);
		free(sc);
		return;
	}
	o = cJSON_CreateObject();
	if (o == NULL) {
		sc->cb(sc->data, BX_ENOMEM, NULL, "out of memory");
		free(sc);
		return;
	}
	cJSON_AddStringToObject(o, "status", bx_lv_state_name(res->state));
	cJSON_AddBoolToObject(o, "running", res->state == VIR_DOMAIN_RUNNING);
	cJSON_AddStringToObject(o, "uri", sc->uri);
	cJSON_AddStringToObject(o, "uuid", sc->uuid);
	cJSON_AddNumberToObject(o, "id", res->id);
	sc->cb(sc->data, 0, o, NULL);
	cJSON_Delete(o);
	free(sc);
}

/* libvirt's view: virDomainGetState, {"status": "running", "running": true, …}. */
static void lv_status(struct bx_vm *vm, bx_vm_status_cb cb, void *data)
{
	struct lv *lv = vm->impl;
	struct status_call *sc;

	if (lv == NULL || (vm->state != BX_VM_RUNNING && vm->state != BX_VM_STOPPING)) {
		cb(data, BX_ENOENT, NULL, "no instance runs");
		return;
	}
	sc = calloc(1, sizeof *sc);
	if (sc == NULL) {
		cb(data, BX_ENOMEM, NULL, "out of memory");
		return;
	}
	sc->cb = cb;
	sc->data = data;
	snprintf(sc->uri, sizeof sc->uri, "%s", bx_lv_conn_uri(lv->conn));
	snprintf(sc->uuid, sizeof sc->uuid, "%s", lv->watch.uuid);
	if (bx_lv_submit(lv->conn, BX_LV_STATE, lv->watch.uuid, status_done, sc) != 0) {
		free(sc);
		cb(data, BX_ENOMEM, NULL, "out of memory");
	}
}

static const char *lv_console_path(struct bx_vm *vm)
{
	struct lv *lv = get_lv(vm, NULL);

	return lv != NULL ? lv->console : NULL;
}

static void conn_released(void *data)
{
	struct lv *lv = data;
	struct bx_vm *vm = lv->vm;
	void (*cb)(struct bx_vm *) = lv->close_cb;

	lv->conn = NULL;
	lv->vm = NULL;
	maybe_free(lv);
	if (cb != NULL)
		cb(vm);
}

static void handle_closed(uv_handle_t *h)
{
	struct lv *lv = h->data;

	if (--lv->handles_open > 0)
		return;
	if (lv->conn != NULL)
		bx_lv_conn_put(lv->conn, conn_released, lv);
	else
		conn_released(lv);
}

/* Let go: the domain keeps running (libvirtd runs it, not us). */
static void lv_close(struct bx_vm *vm, void (*cb)(struct bx_vm *vm))
{
	struct lv *lv = vm->impl;

	if (lv == NULL) {
		cb(vm);
		return;
	}
	vm->impl = NULL;
	if (lv->watching) {
		bx_lv_unwatch(lv->conn, &lv->watch);
		lv->watching = false;
	}
	lv->instance++; /* answers still to come are dropped */
	lv->close_cb = cb;
	uv_close((uv_handle_t *)&lv->kill_timer, handle_closed);
	uv_close((uv_handle_t *)&lv->recheck_timer, handle_closed);
	uv_close((uv_handle_t *)&lv->console_timer, handle_closed);
}

const struct bx_driver bx_driver_libvirt = {
    .name = "libvirt",
    .check = lv_check,
    .start = lv_start,
    .adopt = lv_adopt,
    .stop = lv_stop,
    .kill = lv_kill,
    .status = lv_status,
    .console_path = lv_console_path,
    .close = lv_close,
};
