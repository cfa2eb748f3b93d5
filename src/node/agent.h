/* agent.h - the reconciler: makes this host run what the committed state assigns it. */
#ifndef BX_AGENT_H
#define BX_AGENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "raft/ops.h"
#include "src/base/clock.h"
#include "src/base/error.h"
#include "src/node/submit.h"

struct bx_agent;
struct bx_driver;
struct bx_http_client;
struct bx_metrics;
struct bx_store;

/*
 * The agent acts only on committed state (invariant 3): a service record
 * whose node is this node and whose desired state is "running" gets an
 * instance of its current generation; anything else running here is stopped.
 * Every change it observes in its instances goes back as a service.report
 * command carrying the generation, so a report about an older placement is
 * ignored by the FSM. At start it first adopts instances an earlier daemon
 * left running (invariant 6) and stops those no longer assigned here.
 *
 * Invariant 4 on this side: while may_run() says no (the lease ran out) the
 * agent kills its on_partition = "stop" instances (also at once through
 * bx_agent_fence), and it starts none while may_start() says no.
 */
struct bx_agent_config {
	uv_loop_t *loop;
	const struct bx_clock *clock; /* restart backoff, full passes */
	struct bx_store *store;       /* the applied state it reads (loop thread) */
	uint64_t node_id;             /* this node: records placed on it are its work */
	const char *data_dir;         /* instances' run directories: DATA_DIR/vms/NAME */
	uint32_t fence_timeout_ms;    /* said in a fenced instance's report */
	struct bx_http_client *client; /* for health checks; NULL: none are run */
	struct bx_metrics *metrics;    /* starts, restarts, fencing, health probes */
	const struct bx_driver *driver; /* NULL: each spec's own; tests give a fake */
	const struct bx_submitter *submitter; /* its reports */

	/* What it asks of the node (data first): the lease (src/node/heartbeat.h)
	 * — may instances keep running, may one start — and whether the node
	 * holds a cluster's state yet (bootstrapped or joined). */
	void *data;
	bool (*may_run)(void *data);
	bool (*may_start)(void *data);
	bool (*in_cluster)(void *data);
};

/* Lifecycle, as libuv's handles: init -> start/stop -> close(cb). The config
 * is copied; what it points to must outlive the agent. */
int bx_agent_init(struct bx_agent **out, const struct bx_agent_config *cfg, char *errmsg);

/* Passes every 100 ms, and at once after a notification. */
void bx_agent_start(struct bx_agent *agent);

/* No more passes or reports (shutdown begins); the instances keep running. */
void bx_agent_stop(struct bx_agent *agent);

/* One pass now: what the timer runs (tests call it directly). */
void bx_agent_tick(struct bx_agent *agent);

/* A command was applied; `name` (may be NULL) is the service it touched and
 * `record` (may be NULL) the record written. */
void bx_agent_notify(struct bx_agent *agent, enum bx_op op, const char *name,
		     const cJSON *record);

/* This node's lease ran out (src/node/heartbeat.h): kill every instance of an
 * on_partition = "stop" service now; none starts again before the lease is back. */
void bx_agent_fence(struct bx_agent *agent);

/* The lease is back (or held for the first time): look at every service again. */
void bx_agent_lease_changed(struct bx_agent *agent);

/* The console log of the local instance of `name`, or NULL if none is here. */
const char *bx_agent_console_path(struct bx_agent *agent, const char *name);

/* What this node knows of its instance of `name` ({node, driver,
 * generation, phase, pid, health, run_dir}), or NULL if none is here. */
cJSON *bx_agent_instance_info(struct bx_agent *agent, const char *name);

/*
 * Ask the hypervisor how the local instance of `name` is (qemu: QMP
 * query-status): BX_OK and cb once, later, with a JSON object valid during
 * the call or an error; BX_ENOENT at once (no cb) when no instance runs here
 * or its driver has no view beyond state and pid.
 */
typedef void (*bx_agent_status_cb)(void *data, int code, const cJSON *status,
				   const char *errmsg);
int bx_agent_vm_status(struct bx_agent *agent, const char *name, bx_agent_status_cb cb,
		       void *data);

/* Number of instances this agent currently drives (for status and tests). */
unsigned bx_agent_count(const struct bx_agent *agent);

/*
 * Let go of every instance WITHOUT stopping it (daemon shutdown: the next
 * daemon adopts them), then free the agent and call cb. Stops it first if
 * that was not done.
 */
void bx_agent_close(struct bx_agent *agent, void (*cb)(void *data), void *data);

#endif
