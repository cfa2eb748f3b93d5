/* libvirt_conn.h - a libvirt connection whose calls run off the loop and whose events land on it. */
#ifndef BX_VM_LIBVIRT_CONN_H
#define BX_VM_LIBVIRT_CONN_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "src/model/spec.h"

/*
 * Every libvirt call is an RPC to libvirtd, and some take long (the first
 * domain a fresh libvirtd creates waits for its QEMU capability probe:
 * seconds). The daemon's loop also carries Raft heartbeats, so no libvirt
 * call is made on it. Instead:
 *
 *   - one worker thread per connection runs the calls (bx_lv_submit), one
 *     at a time in submission order, and opens (and reopens) the connection
 *     itself: a libvirtd that is down or restarting costs a failed job, not
 *     a stalled loop;
 *   - libvirt's own event loop (virEventRegisterDefaultImpl) runs on a
 *     thread of its own, for lifecycle events and keepalives. libvirt allows
 *     one event implementation per process, registered before any
 *     connection, so that thread is started once and lives as long as the
 *     process;
 *   - results and events cross to the loop through one queue and a
 *     uv_async: every callback below runs on the loop thread.
 *
 * A connection is shared by every libvirt VM of one loop with the same URI
 * and counted: bx_lv_conn_get() takes a reference, bx_lv_conn_put() drops it;
 * the last put ends the worker (after the jobs already submitted), closes
 * the connection and the async handle, and only then calls its callback.
 */

#define BX_LV_UUID_LEN 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */
#define BX_LV_MSG_SIZE 256

enum bx_lv_op {
	BX_LV_CREATE,   /* bx_lv_submit_create: a transient domain (a stale one of its name is destroyed first) */
	BX_LV_SHUTDOWN, /* uuid: ACPI power button */
	BX_LV_DESTROY,  /* uuid: hard stop now */
	BX_LV_STATE,    /* uuid: state and reason */
};

struct bx_lv_result {
	int code; /* 0; BX_ENOENT no such domain; BX_EUNAVAIL no connection; BX_EIO other */
	char errmsg[BX_LV_MSG_SIZE];
	int state;  /* virDomainState (BX_LV_STATE, BX_LV_CREATE) */
	int reason; /* its reason */
	int id;     /* the running domain's id, else -1 */
	pid_t pid;  /* its QEMU process if it runs on this host (found by -uuid), else 0 */
	bool replaced; /* CREATE: a running domain of that name had to be destroyed first */
};

typedef void (*bx_lv_done_cb)(void *data, const struct bx_lv_result *res);

/*
 * A watch: events for the domain with this UUID. `event` and `detail` are
 * libvirt's (VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN…).
 * `lost` runs when the connection to libvirtd dropped: events may have been
 * missed, so the owner should ask for the domain's state again.
 * The struct is the caller's and must stay put while watched.
 */
struct bx_lv_watch {
	char uuid[BX_LV_UUID_LEN];
	void (*event)(struct bx_lv_watch *w, int event, int detail);
	void (*lost)(struct bx_lv_watch *w);
	void *data;
	struct bx_lv_watch *next; /* the connection's */
};

struct bx_lv_conn;

/* The connection for (loop, uri), created (worker started) on first use; NULL when out of memory. */
struct bx_lv_conn *bx_lv_conn_get(uv_loop_t *loop, const char *uri);

/* Drop a reference. cb(data) runs from the loop once the connection no
 * longer needs the loop (at once, deferred, when others still hold it). */
void bx_lv_conn_put(struct bx_lv_conn *c, void (*cb)(void *data), void *data);

/* The URI, for messages. */
const char *bx_lv_conn_uri(const struct bx_lv_conn *c);

/*
 * Queue a call on the domain `uuid` (SHUTDOWN, DESTROY, STATE). done runs
 * once from the loop with the result; 0 or BX_ENOMEM.
 */
int bx_lv_submit(struct bx_lv_conn *c, enum bx_lv_op op, const char *uuid, bx_lv_done_cb done,
		 void *data);

/*
 * BX_LV_CREATE: domain `name` with the UUID `uuid` from `xml` (copied), and
 * the host ports the domain will forward: they are checked
 * (free to bind) on the worker after a stale domain of the same name is gone
 * (it may hold them), right before the create; a busy one fails the job with
 * BX_EBUSY and the qemu driver's message. The ports are copied.
 */
int bx_lv_submit_create(struct bx_lv_conn *c, const char *name, const char *uuid,
			const char *xml, const struct bx_port_map *ports, size_t n_ports,
			bx_lv_done_cb done, void *data);

void bx_lv_watch(struct bx_lv_conn *c, struct bx_lv_watch *w);
void bx_lv_unwatch(struct bx_lv_conn *c, struct bx_lv_watch *w);

/* A new random UUID in libvirt's text form. */
void bx_lv_new_uuid(char out[BX_LV_UUID_LEN]);

/* The QEMU process of a domain running on this host (libvirt starts it with
 * -uuid UUID: found in /proc), or 0. */
pid_t bx_lv_find_pid(const char *uuid);

/* The name of a virDomainState ("running", "shutoff"…). */
const char *bx_lv_state_name(int state);

#endif
