/* agent.c - the reconciler: committed assignments in, driver calls and reports out. */
#include "src/node/agent.h"
#include "raft/command.h"
#include "src/base/metrics.h"
#include "src/store/store.h"

#include "src/base/log.h"
#include "src/model/restart.h"
#include "src/model/spec.h"
#include "src/node/health.h"
#include "vm/driver.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/*
 * One instance per service placed on this node. Its life:
 *
 *   (record assigns it here) -> adopt an instance left running, or start one
 *   RUNNING -- exits by itself --> restart policy: WAITING (backoff) or ENDED
 *   RUNNING -- record changes (stopped, moved, deleted, new generation) -->
 *   STOPPING --> gone: freed; a new generation then starts afresh
 *
 * Reconciliation is level-triggered: every pass compares the record with the
 * instance and acts on the difference, so a missed notification only delays
 * work until the next full pass (FULL_PASS_MS), never loses it.
 */

#define PASS_MS 100       /* dirty services are looked at this often */
#define FULL_PASS_MS 5000 /* every record is looked at this often */
#define MAX_DIRTY 512     /* more changed names than this: a full pass instead */

/*
 * Fencing (invariant 4, src/node/heartbeat.h): when this node's lease runs out its
 * instances of on_partition = "stop" services are killed (FENCING, then
 * FENCED) and nothing starts until the lease is back and the store has caught
 * up with the leader; a FENCED instance still assigned here then starts again.
 * An instance that should run here but may not start yet waits as FENCED too.
 */
enum phase {
	PH_STARTING,
	PH_RUNNING,
	PH_STOPPING,
	PH_WAITING,
	PH_ENDED,
	PH_CLOSING,
	PH_FENCING,
	PH_FENCED
};

struct instance {
	struct bx_agent *agent;
	char name[BX_KEY_MAX + 1]; /* the record's key: NAME, or NAME@I for instance I */
	uint64_t generation;
	struct bx_spec spec;
	struct bx_vm vm;
	bool vm_live; /* vm initialised: needs driver close (until vm_closed) */
	enum phase phase;
	uint64_t restart_at;
	struct bx_restart_state restarts;

	/* Health checks while RUNNING ([health] type set), else NULL. */
	struct bx_health *health;
	enum bx_health_state health_state;
	bool ending_unhealthy; /* we are stopping it because it is unhealthy */
	char health_detail[160];

	/* What the cluster was last told, and what it should be told next. */
	char state[16];
	char reason[200];
	bool report_dirty;
	bool report_in_flight;
	bool seen; /* during a full pass: its record was among those placed here */
	/* its record was deleted: a record of the same name is a new service */
	bool removed;
	struct instance *next;
};

struct bx_agent {
	struct bx_agent_config cfg;
	struct instance *instances;
	uv_timer_t timer;
	uint64_t last_full_pass;
	bool scanned_orphans;
	bool started;  /* bx_agent_start: its timer runs */
	bool stopping; /* bx_agent_stop: no more passes or reports */
	bool kicked;   /* a pass is due on the next loop turn */
	bool dirty;  /* a full pass is due (too many changes, a restore, an own exit) */
	/* Services changed since the last pass, looked at one by one: a write
	 * costs the agent one record read, not a pass over every service. */
	char (*dirty_names)[BX_KEY_MAX + 1];
	unsigned n_dirty;
	/* Driver closes under way (instances let go of, at any time: a dropped
	 * generation too), and whether the timer is closed: the agent is freed
	 * only when both are done, as each close's callback touches it. */
	unsigned vm_closes;
	bool closing, timer_closed;
	void (*close_cb)(void *data);
	void *close_data;
	char console[PATH_MAX];
};

static void on_timer(uv_timer_t *t);

/* Look at what changed on the next loop turn rather than at the next tick:
 * a start reaches the driver in well under PASS_MS. */
static void kick(struct bx_agent *a)
{
	if (a->kicked || a->stopping || !a->started)
		return;
	a->kicked = true;
	uv_timer_start(&a->timer, on_timer, 0, PASS_MS);
}

/* The node a service record places it on; 0 for none (or no record). */
static uint64_t node_of(const cJSON *record)
{
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(record, "node");

	return cJSON_IsNumber(node) && node->valuedouble > 0 ? (uint64_t)node->valuedouble
							     : 0;
}

static struct instance *find(struct bx_agent *a, const char *name)
{
	for (struct instance *i = a->instances; i != NULL; i = i->next)
		if (strcmp(i->name, name) == 0)
			return i;
	return NULL;
}

static void unlink_instance(struct bx_agent *a, struct instance *inst)
{
	for (struct instance **p = &a->instances; *p != NULL; p = &(*p)->next)
		if (*p == inst) {
			*p = inst->next;
			return;
		}
}

static void free_instance(struct instance *inst)
{
	bx_health_stop(inst->health);
	bx_spec_free(&inst->spec);
	free(inst);
}

/* --- reports ----------------------------------------------------------- */

/* What the cluster is told of its health: "" when it is not being checked. */
static const char *health_name(const struct instance *inst)
{
	return inst->health != NULL ? bx_health_state_name(inst->health_state) : "";
}

static void send_report(struct instance *inst);

static void report_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct instance *inst = data;

	(void)record;
	inst->report_in_flight = false;
	/* BX_ECONFLICT: the record moved on (new generation, other node); the
	 * next pass will act on that. Other failures: try again next pass. */
	if (code != BX_OK && code != BX_ECONFLICT && code != BX_ENOENT) {
		inst->report_dirty = true;
		BX_SVC_DEBUG("agent", inst->name, "report not accepted yet: %s", msg);
	}
	if (inst->phase == PH_CLOSING) {
		/* else its driver close is under way: vm_closed frees it */
		if (!inst->vm_live)
			free_instance(inst);
		return;
	}
	/* A newer state waits: send it now. After a failure the next pass
	 * retries (a submit without a leader fails at once: no loop here). */
	if (inst->report_dirty && code == BX_OK)
		send_report(inst);
}

static void send_report(struct instance *inst)
{
	struct bx_agent *a = inst->agent;
	struct bx_report r = {.name = inst->name,
			      .node = a->cfg.node_id,
			      .generation = inst->generation,
			      .state = inst->state,
			      .pid = inst->vm.pid,
			      .restarts = inst->restarts.total,
			      .reason = inst->reason,
			      .health = health_name(inst)};
	cJSON *cmd;

	if (inst->report_in_flight || a->stopping)
		return;
	cmd = bx_cmd_service_report(&r);
	inst->report_dirty = false;
	inst->report_in_flight = true;
	a->cfg.submitter->submit(a->cfg.submitter->data, cmd, report_done, inst);
}

static void set_state(struct instance *inst, const char *state, const char *reason)
{
	if (strcmp(inst->state, state) == 0 &&
	    strcmp(inst->reason, reason ? reason : "") == 0)
		return;
	snprintf(inst->state, sizeof inst->state, "%s", state);
	snprintf(inst->reason, sizeof inst->reason, "%s", reason ? reason : "");
	BX_SVC_INFO("agent", inst->name, "generation %llu: %s%s%s",
		    (unsigned long long)inst->generation, state,
		    inst->reason[0] ? " - " : "", inst->reason);
	inst->report_dirty = true;
	send_report(inst);
}

/* --- instance lifecycle -------------------------------------------------- */

static double jitter(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (uint32_t)uv_hrtime();
	return (double)r / 4294967296.0;
}

static void stop_health(struct instance *inst)
{
	bx_health_stop(inst->health);
	inst->health = NULL;
}

static void on_health(void *data, enum bx_health_state state, const char *detail)
{
	struct instance *inst = data;

	inst->health_state = state;
	snprintf(inst->health_detail, sizeof inst->health_detail, "%s", detail);
	if (state == BX_HEALTH_UNHEALTHY && inst->phase == PH_RUNNING) {
		BX_SVC_WARN("agent", inst->name, "unhealthy (%s): stopping it", detail);
		stop_health(inst);
		inst->ending_unhealthy = true;
		set_state(inst, "unhealthy", detail);
		if (inst->vm.driver->stop(&inst->vm, inst->spec.stop_timeout_ms) != 0)
			inst->vm.driver->kill(&inst->vm);
		return;
	}
	BX_SVC_INFO("agent", inst->name, "%s (%s)", bx_health_state_name(state), detail);
	inst->report_dirty = true;
	send_report(inst);
}

/* The instance runs: check its health if the spec asks for it. */
static void start_health(struct instance *inst)
{
	stop_health(inst);
	inst->health_state = BX_HEALTH_STARTING;
	inst->health_detail[0] = '\0';
	struct bx_agent *a = inst->agent;

	if (inst->spec.health.type == BX_HEALTH_NONE || a->cfg.client == NULL)
		return;
	if (bx_health_start(&inst->health, a->cfg.loop, a->cfg.client, &inst->spec,
			    on_health, inst) != 0)
		inst->health = NULL;
	else
		bx_health_observe(inst->health, &a->cfg.metrics->health,
				  &a->cfg.metrics->health_failures);
}

static void on_exit_cb(struct bx_vm *vm, int64_t exit_status, int term_signal)
{
	struct instance *inst = vm->data;
	struct bx_restart_decision dec;

	stop_health(inst);
	if (inst->phase == PH_FENCING) {
		char why[120];
		snprintf(why, sizeof why, "lease lost: no answer from a leader for %u ms",
			 inst->agent->cfg.fence_timeout_ms);
		inst->phase = PH_FENCED;
		set_state(inst, "fenced", why);
		return;
	}
	if (inst->phase == PH_STOPPING || inst->phase == PH_CLOSING) {
		/* we asked for it: the pass that follows frees it */
		inst->phase = PH_ENDED;
		inst->agent->dirty = true;
		kick(inst->agent);
		return;
	}
	if (vm->start_error[0] != '\0') {
		/* the start failed after start() returned: as start_instance() does */
		inst->agent->cfg.metrics->start_failures++;
		inst->phase = PH_ENDED;
		set_state(inst, "failed", vm->start_error);
		return;
	}
	if (inst->ending_unhealthy) {
		char what[200];
		snprintf(what, sizeof what, "unhealthy (%s)", inst->health_detail);
		inst->ending_unhealthy = false;
		bx_restart_decide_failed(&inst->spec, &inst->restarts, what,
					 bx_clock_now(inst->agent->cfg.clock), jitter(), &dec);
		exit_status = -1; /* however it ended, it failed */
	} else {
		bx_restart_decide(&inst->spec, &inst->restarts, exit_status, term_signal,
				  bx_clock_now(inst->agent->cfg.clock), jitter(), &dec);
	}
	if (dec.restart) {
		inst->phase = PH_WAITING;
		inst->restart_at = bx_clock_now(inst->agent->cfg.clock) + dec.delay_ms;
		set_state(inst, "exited", dec.reason);
	} else {
		inst->phase = PH_ENDED;
		set_state(inst,
			  exit_status == 0 && term_signal == 0 ? "exited" : "failed",
			  dec.reason);
	}
}

/* The driver learnt the instance's pid after start (libvirt): tell the cluster. */
static void on_pid_cb(struct bx_vm *vm)
{
	struct instance *inst = vm->data;

	inst->report_dirty = true;
	send_report(inst);
}

static void start_instance(struct instance *inst)
{
	char errmsg[BX_ERRMSG_SIZE] = "";
	const struct bx_driver *drv = inst->vm.driver;
	int rv;

	/* start() checks the spec against this host first */
	rv = drv->start(&inst->vm, errmsg);
	if (rv != 0) {
		/* A spec this host cannot run (missing file, port in use) fails
		 * the same way every time: report it and wait for a new spec or
		 * placement rather than retrying in a storm. */
		inst->agent->cfg.metrics->start_failures++;
		inst->phase = PH_ENDED;
		set_state(inst, "failed", errmsg[0] ? errmsg : bx_strerror(rv));
		return;
	}
	inst->agent->cfg.metrics->starts++;
	inst->phase = PH_RUNNING;
	start_health(inst);
	set_state(inst, "running", "");
}

/* May this instance start now? Services that tolerate duplicates need no lease. */
static bool may_start(const struct instance *inst)
{
	const struct bx_agent_config *cfg = &inst->agent->cfg;

	return inst->spec.placement.on_partition == BX_ON_PARTITION_KEEP ||
	       cfg->may_start(cfg->data);
}

/*
 * What new_instance does when there is no running instance to adopt: start
 * one, leave it ENDED (adopt only), or start it only if may_start(), else
 * wait FENCED for the lease.
 */
enum if_none { NI_START, NI_ADOPT_ONLY, NI_START_IF_LEASED };

static struct instance *new_instance(struct bx_agent *a, const cJSON *record,
				     enum if_none if_none)
{
	char errmsg[BX_ERRMSG_SIZE] = "";
	struct bx_diags diags = {0};
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(record, "name");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(record, "spec");
	const cJSON *gen = cJSON_GetObjectItemCaseSensitive(record, "generation");
	const cJSON *restarts;
	struct instance *inst = calloc(1, sizeof *inst);
	int rv;

	if (inst == NULL || !cJSON_IsString(name))
		goto fail;
	inst->agent = a;
	snprintf(inst->name, sizeof inst->name, "%s", name->valuestring);
	inst->generation = (uint64_t)cJSON_GetNumberValue(gen);
	/* a daemon restarted under a running generation keeps counting its restarts */
	restarts = cJSON_GetObjectItemCaseSensitive(record, "restarts");
	if (cJSON_IsNumber(restarts) && restarts->valuedouble >= 0 &&
	    restarts->valuedouble < 4e9)
		inst->restarts.total = (unsigned)restarts->valuedouble;
	bx_spec_init(&inst->spec);
	if (bx_spec_from_json(spec, &inst->spec, &diags) != 0) {
		BX_SVC_ERROR("agent", inst->name, "stored spec is invalid: %s",
			     diags.len ? diags.items[0] : "?");
		bx_diags_free(&diags);
		goto fail;
	}
	/* Instances of one service are told apart by their key: their run
	 * directories, VM names and MAC addresses follow it. */
	snprintf(inst->spec.name, sizeof inst->spec.name, "%s", inst->name);
	rv = bx_vm_init(&inst->vm, a->cfg.loop, a->cfg.data_dir, &inst->spec, errmsg);
	if (rv == 0 && a->cfg.driver != NULL)
		inst->vm.driver = a->cfg.driver;
	if (rv != 0) {
		inst->next = a->instances;
		a->instances = inst;
		inst->phase = PH_ENDED;
		set_state(inst, "failed", errmsg);
		return inst;
	}
	inst->vm_live = true;
	inst->vm.data = inst;
	inst->vm.on_exit = on_exit_cb;
	inst->vm.on_pid = on_pid_cb;
	inst->next = a->instances;
	a->instances = inst;
	rv = inst->vm.driver->adopt(&inst->vm, errmsg);
	if (rv == 0) {
		if (inst->vm.pid > 0)
			BX_SVC_INFO("agent", inst->name,
				    "adopted running instance (pid %d)",
				    (int)inst->vm.pid);
		else /* the driver learns it later (libvirt) */
			BX_SVC_INFO("agent", inst->name, "adopted running instance");
		inst->phase = PH_RUNNING;
		start_health(inst);
		set_state(inst, "running", "");
	} else if (if_none == NI_ADOPT_ONLY) {
		inst->phase = PH_ENDED;
	} else if (if_none == NI_START_IF_LEASED && !may_start(inst)) {
		inst->phase = PH_FENCED;
	} else {
		start_instance(inst);
	}
	return inst;
fail:
	if (inst != NULL)
		bx_spec_free(&inst->spec);
	free(inst);
	return NULL;
}

static void stop_instance(struct instance *inst)
{
	stop_health(inst);
	if (inst->phase == PH_RUNNING || inst->phase == PH_STARTING) {
		inst->phase = PH_STOPPING;
		BX_SVC_INFO("agent", inst->name, "stopping generation %llu",
			    (unsigned long long)inst->generation);
		if (inst->vm.driver->stop(&inst->vm, inst->spec.stop_timeout_ms) != 0)
			inst->vm.driver->kill(&inst->vm);
	} else if (inst->phase == PH_WAITING || inst->phase == PH_FENCED) {
		inst->phase = PH_ENDED;
	}
}

/* Kill an instance now, as its node's lease ran out; it waits FENCED. */
static void fence_instance(struct instance *inst)
{
	if (inst->spec.placement.on_partition == BX_ON_PARTITION_KEEP)
		return;
	if (inst->phase == PH_RUNNING || inst->phase == PH_STARTING) {
		stop_health(inst);
		inst->ending_unhealthy = false;
		inst->phase = PH_FENCING;
		inst->agent->cfg.metrics->fenced++;
		BX_SVC_WARN("agent", inst->name, "fencing generation %llu: killing it",
			    (unsigned long long)inst->generation);
		inst->vm.driver->kill(&inst->vm);
	} else if (inst->phase == PH_STOPPING) {
		inst->vm.driver->kill(&inst->vm); /* no time for a graceful stop */
	} else if (inst->phase == PH_WAITING) {
		inst->agent->cfg.metrics->fenced++;
		inst->phase = PH_FENCED;
		set_state(inst, "fenced", "lease lost: restart held");
	}
}

/* bx_agent_close is done once the timer and every driver close are. */
static void maybe_closed(struct bx_agent *a)
{
	void (*cb)(void *);
	void *data;

	if (!a->closing || !a->timer_closed || a->vm_closes > 0)
		return;
	cb = a->close_cb;
	data = a->close_data;
	free(a->dirty_names);
	free(a);
	cb(data);
}

static void vm_closed(struct bx_vm *vm)
{
	struct instance *inst = vm->data;
	struct bx_agent *a = inst->agent;

	inst->vm_live = false;
	if (!inst->report_in_flight) /* else report_done frees it */
		free_instance(inst);
	a->vm_closes--;
	maybe_closed(a);
}

/*
 * Let go of an instance (unlinked already): its vm is closed (counted in
 * vm_closes until vm_closed), and it is freed once both that close and a
 * report in flight have ended.
 */
static void release(struct instance *inst)
{
	stop_health(inst);
	inst->phase = PH_CLOSING;
	if (inst->vm_live) {
		inst->agent->vm_closes++; /* before: the callback may run at once */
		inst->vm.driver->close(&inst->vm, vm_closed);
		return;
	}
	if (!inst->report_in_flight)
		free_instance(inst);
}

/* Release an ended instance; report the final state if the record still says so. */
static void drop_instance(struct bx_agent *a, struct instance *inst,
			  const char *final_state)
{
	unlink_instance(a, inst);
	if (final_state != NULL)
		set_state(inst, final_state, "");
	release(inst);
}

/* --- reconciliation ------------------------------------------------------ */

/* A record with "move_to" is leaving this node (service.migrate, raft/fsm.c):
 * it is stopped here, and the report of that stop hands it over. */
static bool moving_away(const cJSON *record)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(record, "move_to")) >
	       0;
}

static bool assigned_here(struct bx_agent *a, const cJSON *record)
{
	const cJSON *desired = cJSON_GetObjectItemCaseSensitive(record, "desired");

	return node_of(record) == a->cfg.node_id && cJSON_IsString(desired) &&
	       strcmp(desired->valuestring, "running") == 0 && !moving_away(record);
}

static void released_done(void *data, int code, const char *msg, const cJSON *record)
{
	(void)data;
	(void)record;
	if (code != BX_OK && code != BX_ECONFLICT && code != BX_ENOENT)
		BX_DEBUG("agent", "hand-over report not accepted yet: %s", msg);
}

/*
 * A service moving away with no instance here (it never started, or an
 * earlier daemon's instance was stopped as an orphan): nothing runs, so say
 * "stopped" for its generation, which hands it over. Sent again by later
 * passes until the record leaves; a repeat is stale and refused.
 */
static void report_released(struct bx_agent *a, const cJSON *record)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(record, "name");
	struct bx_report r = {.node = a->cfg.node_id, .state = "stopped"};

	if (!cJSON_IsString(name) || a->stopping)
		return;
	r.name = name->valuestring;
	r.generation = (uint64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(record, "generation"));
	a->cfg.submitter->submit(a->cfg.submitter->data, bx_cmd_service_report(&r),
				 released_done, NULL);
}

/* Bring one service in line with its record (NULL: no record any more). */
static void reconcile(struct bx_agent *a, const char *name, const cJSON *record)
{
	struct instance *inst = find(a, name);
	bool wanted = assigned_here(a, record);
	uint64_t gen = (uint64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(record, "generation"));
	bool still_ours = node_of(record) == a->cfg.node_id;

	if (inst != NULL && wanted && (inst->generation != gen || inst->removed)) {
		/* a new generation (or a new record after a removal, whose
		 * numbering starts again): the old instance goes first; the new
		 * one starts once it is gone (this pass, or the one its exit makes) */
		stop_instance(inst);
		if (inst->phase != PH_ENDED)
			return;
		drop_instance(a, inst, NULL);
		new_instance(a, record, NI_START_IF_LEASED);
		return;
	}
	if (inst == NULL) {
		if (wanted)
			new_instance(a, record, NI_START_IF_LEASED);
		else if (still_ours && moving_away(record))
			report_released(a, record);
		return;
	}
	if (!wanted) {
		if (record == NULL)
			inst->removed = true;
		stop_instance(inst);
		if (inst->phase == PH_ENDED)
			drop_instance(a, inst,
				      still_ours && inst->generation == gen ? "stopped"
									    : NULL);
		return;
	}
	if (((inst->phase == PH_WAITING && bx_clock_now(a->cfg.clock) >= inst->restart_at) ||
	     inst->phase == PH_FENCED) &&
	    may_start(inst)) {
		if (inst->phase == PH_WAITING) /* a restart by its policy */
			a->cfg.metrics->restarts++;
		start_instance(inst);
	}
	if (inst->report_dirty)
		send_report(inst);
}

/* Reconcile one service with its record read from the store (none: NULL). */
static void reconcile_named(struct bx_agent *a, const char *name)
{
	char copy[BX_KEY_MAX + 1]; /* `name` may belong to an instance reconcile frees */
	cJSON *record = NULL;

	snprintf(copy, sizeof copy, "%s", name);
	if (bx_store_get_service(a->cfg.store, copy, &record) != 0)
		record = NULL;
	reconcile(a, copy, record);
	cJSON_Delete(record);
}

/*
 * A full pass: the services placed here to run (through the placement index,
 * not every record), then this node's instances that are not among them
 * (stopped, moved, deleted), each with its record read by name.
 */
static void reconcile_all(struct bx_agent *a)
{
	cJSON *placed = NULL, *record;

	if (bx_store_list_placed(a->cfg.store, a->cfg.node_id, true, &placed) != 0)
		return;
	for (struct instance *inst = a->instances; inst != NULL; inst = inst->next)
		inst->seen = false;
	cJSON_ArrayForEach(record, placed)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(record, "name");
		struct instance *inst;
		if (!cJSON_IsString(name))
			continue;
		reconcile(a, name->valuestring, record);
		inst = find(a, name->valuestring);
		if (inst != NULL)
			inst->seen = true;
	}
	cJSON_Delete(placed);
	for (struct instance *inst = a->instances, *next; inst != NULL; inst = next) {
		next = inst->next;
		if (!inst->seen)
			reconcile_named(a, inst->name);
	}
}

/*
 * At start: run directories under DATA_DIR/vms hold instances an earlier
 * daemon started. Those still assigned here are adopted by the first full
 * pass; the others (moved elsewhere while this daemon was down, or deleted)
 * must not keep running next to their replacement: adopt and stop them.
 */
static void stop_orphans(struct bx_agent *a)
{
	char dir[PATH_MAX];
	DIR *dh;
	struct dirent *e;

	snprintf(dir, sizeof dir, "%s/vms", a->cfg.data_dir);
	dh = opendir(dir);
	if (dh == NULL)
		return;
	while ((e = readdir(dh)) != NULL) {
		cJSON *record = NULL;
		if (e->d_name[0] == '.' || !bx_key_valid(e->d_name))
			continue;
		if (bx_store_get_service(a->cfg.store, e->d_name, &record) == 0 &&
		    assigned_here(a, record)) {
			cJSON_Delete(record);
			continue;
		}
		if (record != NULL && find(a, e->d_name) == NULL) {
			struct instance *inst = new_instance(a, record, NI_ADOPT_ONLY);
			if (inst != NULL && inst->phase == PH_RUNNING) {
				BX_SVC_WARN(
				    "agent", e->d_name,
				    "no longer placed here: stopping the instance "
				    "an earlier daemon left");
				stop_instance(inst);
			}
		}
		cJSON_Delete(record);
	}
	closedir(dh);
}

static void on_timer(uv_timer_t *t)
{
	bx_agent_tick(t->data);
}

void bx_agent_tick(struct bx_agent *a)
{
	uint64_t now = bx_clock_now(a->cfg.clock);

	a->kicked = false;
	if (a->stopping)
		return;
	/* Until this node holds the cluster's state it must not act on it. */
	if (!a->cfg.in_cluster(a->cfg.data) || bx_store_applied_index(a->cfg.store) == 0)
		return;
	if (!a->cfg.may_run(a->cfg.data))
		bx_agent_fence(a);
	if (!a->scanned_orphans) {
		a->scanned_orphans = true;
		stop_orphans(a);
	}
	if (a->dirty || now - a->last_full_pass >= FULL_PASS_MS) {
		a->dirty = false;
		a->n_dirty = 0;
		a->last_full_pass = now;
		reconcile_all(a);
		return;
	}
	for (unsigned i = 0; i < a->n_dirty; i++)
		reconcile_named(a, a->dirty_names[i]);
	a->n_dirty = 0;
	/* this node's own instances: restarts that are due, reports to send */
	for (struct instance *inst = a->instances, *next; inst != NULL; inst = next) {
		next = inst->next;
		if ((inst->phase == PH_WAITING && now >= inst->restart_at) ||
		    inst->phase == PH_ENDED || inst->phase == PH_FENCED ||
		    inst->report_dirty)
			reconcile_named(a, inst->name);
	}
}

int bx_agent_init(struct bx_agent **out, const struct bx_agent_config *cfg, char *errmsg)
{
	struct bx_agent *a = calloc(1, sizeof *a);

	if (a == NULL)
		return bx_err(errmsg, BX_ENOMEM, "allocate the agent");
	a->cfg = *cfg;
	a->dirty_names = calloc(MAX_DIRTY, sizeof *a->dirty_names);
	uv_timer_init(cfg->loop, &a->timer);
	a->timer.data = a;
	*out = a;
	return BX_OK;
}

void bx_agent_start(struct bx_agent *a)
{
	if (a->started || a->stopping)
		return;
	a->started = true;
	uv_timer_start(&a->timer, on_timer, PASS_MS, PASS_MS);
}

void bx_agent_stop(struct bx_agent *a)
{
	a->stopping = true;
	uv_timer_stop(&a->timer);
}

/* A put, start, stop or delete of a service with instances besides its first
 * (count > 1 now, or one of them running here) changes records this
 * notification does not name. */
static bool touches_instances(struct bx_agent *a, enum bx_op op, const char *name,
			      const cJSON *record)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(record, "spec");
	size_t n = strlen(name);

	if (op != BX_OP_SERVICE_PUT && op != BX_OP_SERVICE_START &&
	    op != BX_OP_SERVICE_STOP && op != BX_OP_SERVICE_DELETE)
		return false;
	if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(spec, "service"), "count")) > 1)
		return true;
	for (struct instance *inst = a->instances; inst != NULL; inst = inst->next)
		if (strncmp(inst->name, name, n) == 0 && inst->name[n] == '@')
			return true;
	return false;
}

void bx_agent_notify(struct bx_agent *a, enum bx_op op, const char *name,
		     const cJSON *record)
{
	if (!bx_op_is_service(op) || a->dirty) {
		/* node changes and snapshot restores can touch any service */
		if (bx_op_is_node(op) || op == BX_OP_RESTORE) {
			a->dirty = true;
			kick(a);
		}
		return;
	}
	if (touches_instances(a, op, name, record)) {
		a->dirty = true;
		kick(a);
		return;
	}
	/* A service neither placed here nor running here is none of ours. */
	if (node_of(record) != a->cfg.node_id && find(a, name) == NULL)
		return;
	kick(a);
	for (unsigned i = 0; i < a->n_dirty; i++)
		if (strcmp(a->dirty_names[i], name) == 0)
			return;
	if (a->n_dirty == MAX_DIRTY || a->dirty_names == NULL) {
		a->dirty = true;
		return;
	}
	snprintf(a->dirty_names[a->n_dirty++], BX_KEY_MAX + 1, "%s", name);
}

void bx_agent_fence(struct bx_agent *a)
{
	for (struct instance *inst = a->instances; inst != NULL; inst = inst->next)
		fence_instance(inst);
}

void bx_agent_lease_changed(struct bx_agent *a)
{
	a->dirty = true;
	kick(a);
}

const char *bx_agent_console_path(struct bx_agent *a, const char *name)
{
	struct instance *inst = find(a, name);

	if (inst == NULL || !inst->vm_live || inst->vm.driver->console_path == NULL)
		return NULL;
	snprintf(a->console, sizeof a->console, "%s",
		 inst->vm.driver->console_path(&inst->vm));
	return a->console;
}

static const char *phase_name(enum phase p)
{
	static const char *const names[] = {"starting", "running", "stopping", "waiting",
					    "ended",    "closing", "fencing",  "fenced"};
	return names[p];
}

cJSON *bx_agent_instance_info(struct bx_agent *a, const char *name)
{
	struct instance *inst = find(a, name);
	cJSON *o;

	if (inst == NULL || (o = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "node", (double)a->cfg.node_id);
	cJSON_AddStringToObject(o, "driver", inst->spec.driver);
	cJSON_AddNumberToObject(o, "generation", (double)inst->generation);
	cJSON_AddStringToObject(o, "phase", phase_name(inst->phase));
	cJSON_AddNumberToObject(o, "pid", inst->vm.pid);
	cJSON_AddStringToObject(o, "health", health_name(inst));
	cJSON_AddStringToObject(o, "run_dir", inst->vm.run_dir);
	return o;
}

int bx_agent_vm_status(struct bx_agent *a, const char *name, bx_agent_status_cb cb,
		       void *data)
{
	struct instance *inst = find(a, name);

	if (inst == NULL || !inst->vm_live || inst->vm.state != BX_VM_RUNNING ||
	    inst->vm.driver->status == NULL)
		return BX_ENOENT;
	/* the driver's callback does not need the vm to live on (vm/driver.h) */
	inst->vm.driver->status(&inst->vm, cb, data);
	return BX_OK;
}

unsigned bx_agent_count(const struct bx_agent *a)
{
	unsigned n = 0;

	for (const struct instance *i = a->instances; i != NULL; i = i->next)
		n++;
	return n;
}

static void timer_closed(uv_handle_t *h)
{
	struct bx_agent *a = h->data;

	a->timer_closed = true;
	maybe_closed(a);
}

void bx_agent_close(struct bx_agent *a, void (*cb)(void *data), void *data)
{
	a->close_cb = cb;
	a->close_data = data;
	bx_agent_stop(a);
	while (a->instances != NULL) {
		struct instance *inst = a->instances;
		a->instances = inst->next;
		release(inst);
	}
	a->closing = true; /* from here a last close callback frees the agent */
	uv_close((uv_handle_t *)&a->timer, timer_closed);
}
