/* agent.h - the reconciler: makes this host run what the committed state assigns it. */
#ifndef BX_AGENT_H
#define BX_AGENT_H

#include <cjson/cJSON.h>

#include "raft/ops.h"
#include "src/base/error.h"

struct bx_daemon;
struct bx_agent;

/*
 * The agent acts only on committed state (invariant 3): a service record
 * whose node is this node and whose desired state is "running" gets an
 * instance of its current generation; anything else running here is stopped.
 * Every change it observes in its instances goes back as a service.report
 * command carrying the generation, so a report about an older placement is
 * ignored by the FSM. At start it first adopts instances an earlier daemon
 * left running (invariant 6) and stops those no longer assigned here.
 */
int bx_agent_init(struct bx_agent **out, struct bx_daemon *d, char *errmsg);

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

/*
 * What this node knows of its instance of `name` ({node, driver,
 * generation, phase, pid, health, run_dir}), or NULL if none is here. *vm
 * is set to the instance when its driver can be asked for the hypervisor's
 * view right now (vm->driver->status), else NULL; use it at once.
 */
struct bx_vm;
cJSON *bx_agent_instance_info(struct bx_agent *agent, const char *name, struct bx_vm **vm);

/* Number of instances this agent currently drives (for status and tests). */
unsigned bx_agent_count(const struct bx_agent *agent);

/*
 * Let go of every instance WITHOUT stopping it (daemon shutdown: the next
 * daemon adopts them), then free the agent and call cb.
 */
void bx_agent_close(struct bx_agent *agent, void (*cb)(void *data), void *data);

#endif
