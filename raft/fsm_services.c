/* fsm_services.c - the service commands: put, start, stop, delete, assign, migrate, wait,
 * report. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/command.h"
#include "raft/fsm_internal.h"
#include "src/base/error.h"
#include "src/model/spec.h"

/*
 * Where the service failed recently: "failed_on" is [{"node", "at"}], the
 * newest last, entries older than BX_FAILED_ON_WINDOW_MS (by the command's
 * ts) dropped, at most BX_FAILED_ON_MAX. The scheduler moves a failed service
 * to a node not on it.
 */
static int note_failed_on(cJSON *rec, uint64_t node, double ts)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(rec, "failed_on");
	cJSON *kept = cJSON_CreateArray(), *e, *entry;
	int n = 0, skip;

	if (kept == NULL)
		return BX_ENOMEM;
	cJSON_ArrayForEach(e, list) n++;
	skip = n >= BX_FAILED_ON_MAX ? n - BX_FAILED_ON_MAX + 1 : 0;
	cJSON_ArrayForEach(e, list)
	{
		if (skip > 0) {
			skip--;
			continue;
		}
		if (fsm_num_of(e, "at") + BX_FAILED_ON_WINDOW_MS < ts ||
		    fsm_num_of(e, "node") == (double)node)
			continue;
		cJSON_AddItemToArray(kept, cJSON_Duplicate(e, 1));
	}
	entry = cJSON_CreateObject();
	if (entry == NULL || !cJSON_AddItemToArray(kept, entry)) {
		cJSON_Delete(entry);
		cJSON_Delete(kept);
		return BX_ENOMEM;
	}
	cJSON_AddNumberToObject(entry, "node", (double)node);
	cJSON_AddNumberToObject(entry, "at", ts);
	return fsm_set_item(rec, "failed_on", kept);
}

/* A service record as a put creates it: instance `index` of service `name`,
 * under `key` (src/model/spec.h), at generation 1; NULL when out of memory. */
static cJSON *fresh_record(struct apply *a, const char *key, const char *name,
			   unsigned index, const cJSON *spec, const char *desired)
{
	cJSON *rec = cJSON_CreateObject();
	int rc = rec != NULL ? fsm_set_str(rec, "name", key) : BX_ENOMEM;

	if (index > 0) {
		rc = rc ?: fsm_set_str(rec, "service", name);
		rc = rc ?: fsm_set_num(rec, "instance", index);
	}
	rc = rc ?: fsm_set_item(rec, "spec", cJSON_Duplicate(spec, 1));
	rc = rc ?: fsm_set_num(rec, "generation", 0);
	rc = rc ?: fsm_set_str(rec, "desired", desired);
	rc = rc ?: fsm_set_num(rec, "node", 0);
	rc = rc ?: fsm_set_num(rec, "created_at", a->ts);
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	rc = rc ?: fsm_new_instance(rec, a->ts);
	if (rc != 0) {
		cJSON_Delete(rec);
		return NULL;
	}
	return rec;
}

/* Objects equal but for their member `skip`. */
static bool equal_but(const cJSON *a, const cJSON *b, const char *skip)
{
	const cJSON *x;
	int na = 0, nb = 0;

	cJSON_ArrayForEach(x, a) na += strcmp(x->string, skip) != 0;
	cJSON_ArrayForEach(x, b) nb += strcmp(x->string, skip) != 0;
	if (na != nb)
		return false;
	cJSON_ArrayForEach(x, a)
	{
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
		if (strcmp(x->string, skip) != 0 &&
		    (y == NULL || !cJSON_Compare(x, y, 1)))
			return false;
	}
	return true;
}

/* Specs that differ at most in [service] count: that scales the service, and
 * its running instances stay as they are. */
static bool same_but_count(const cJSON *a, const cJSON *b)
{
	return cJSON_IsObject(a) && cJSON_IsObject(b) && equal_but(a, b, "service") &&
	       equal_but(cJSON_GetObjectItemCaseSensitive(a, "service"),
			 cJSON_GetObjectItemCaseSensitive(b, "service"), "count");
}

/* A spec's [service] count (1 when not given). */
static double count_of(const cJSON *spec)
{
	double n = fsm_num_of(cJSON_GetObjectItemCaseSensitive(spec, "service"), "count");
	return n < 1 ? 1 : n;
}

/* The event of a user's request that changes the desired state, or NULL. */
static const char *changed_desired(const cJSON *rec, const char *desired)
{
	if (strcmp(fsm_str_of(rec, "desired"), desired) == 0)
		return NULL;
	return strcmp(desired, "running") == 0 ? "start_requested" : "stop_requested";
}

/* Put one instance's record: created, or given the spec (a new spec, unless
 * only its count changed, is a new instance: the agent replaces the old one)
 * and desired state. The record written goes to *out (the caller's). */
static int put_one(struct apply *a, const char *name, unsigned index, const cJSON *spec,
		   const char *desired, cJSON **out)
{
	char key[BX_KEY_MAX + 1];
	cJSON *rec;
	int rc;

	bx_key_make(key, name, index);
	*out = NULL;
	rc = bx_store_get_service(a->fsm->store, key, &rec);
	if (rc == BX_ENOENT) {
		rec = fresh_record(a, key, name, index, spec, desired);
		rc = rec != NULL ? 0 : BX_ENOMEM;
		rc = rc ?: fsm_service_event(a, "created", rec, "");
	} else if (rc == 0) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(rec, "spec");
		bool renew = !same_but_count(old, spec);
		const char *event = renew ? "updated" : changed_desired(rec, desired);
		char why[64] = "";
		if (event == NULL && index == 0 && !cJSON_Compare(old, spec, 1)) {
			event = "scaled";
			snprintf(why, sizeof why, "count %.0f -> %.0f", count_of(old),
				 count_of(spec));
		}
		if (renew || !cJSON_Compare(old, spec, 1))
			rc = fsm_set_item(rec, "spec", cJSON_Duplicate(spec, 1));
		if (renew) {
			cJSON_DeleteItemFromObjectCaseSensitive(rec, "failed_on");
			rc = rc ?: fsm_new_instance(rec, a->ts);
		}
		rc = rc ?: fsm_set_str(rec, "desired", desired);
		rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
		if (event != NULL)
			rc = rc ?: fsm_service_event(a, event, rec, why);
	}
	rc = rc ?: bx_store_put_service(a->txn, key, rec);
	*out = rec;
	return rc;
}

/*
 * Put a service: its first instance's record under its name, and for count
 * N > 1 the records NAME@1 … NAME@N-1 in the same entry; instances past the
 * count (a smaller count than before) are deleted, and their nodes stop them.
 */
int fsm_op_service_put(struct apply *a)
{
	const char *name = bx_command_str(a->cmd, "name");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(a->cmd, "spec");
	const char *desired = bx_command_bool(a->cmd, "start") ? "running" : "stopped";
	double count = count_of(spec);
	char why[48];
	cJSON *rec, *instances, *inst;
	int rc;

	snprintf(a->key, sizeof a->key, "%s", name);
	if (a->fsm->validate != NULL) {
		char msg[sizeof a->res->msg] = "";
		if (a->fsm->validate(spec, msg, sizeof msg) != 0)
			return fsm_reject(a, BX_EINVAL, "%s",
					  msg[0] ? msg : "invalid spec");
	}
	rc = put_one(a, name, 0, spec, desired, &a->res->record);
	for (unsigned i = 1; rc == 0 && i < count; i++) {
		rc = put_one(a, name, i, spec, desired, &rec);
		cJSON_Delete(rec);
	}
	rc = rc ?: bx_store_list_instances(a->fsm->store, name, &instances);
	if (rc != 0)
		return rc;
	snprintf(why, sizeof why, "count is now %.0f", count);
	cJSON_ArrayForEach(inst, instances)
	{
		if (rc != 0 || fsm_num_of(inst, "instance") < count)
			continue;
		rc = fsm_service_event(a, "deleted", inst, why);
		rc = rc ?: bx_store_del_service(a->txn, fsm_str_of(inst, "name"));
	}
	cJSON_Delete(instances);
	return rc;
}

/* Load the service named in the command into *rec, or reject with ENOENT. */
static int load_service(struct apply *a, cJSON **rec)
{
	const char *name = bx_command_str(a->cmd, "name");
	int rc;

	snprintf(a->key, sizeof a->key, "%s", name);
	rc = bx_store_get_service(a->fsm->store, name, rec);
	if (rc == BX_ENOENT)
		fsm_reject(a, BX_ENOENT, "%s: no service '%s'", fsm_str_of(a->cmd, "op"),
			   name);
	return rc;
}

/*
 * service.start, stop and delete act on every instance of the service: `fn`
 * on its first record (kept as the result) and on each NAME@I record.
 */
static int each_instance(struct apply *a, int (*fn)(struct apply *a, cJSON *rec))
{
	cJSON *rec, *instances, *inst;
	int rc = load_service(a, &rec);

	if (rc != 0)
		return rc == BX_ENOENT ? 0 : rc;
	a->res->record = rec;
	rc = fn(a, rec);
	rc = rc ?: bx_store_list_instances(a->fsm->store, a->key, &instances);
	if (rc != 0)
		return rc;
	cJSON_ArrayForEach(inst, instances)
	{
		rc = rc ?: fn(a, inst);
	}
	cJSON_Delete(instances);
	return rc;
}

static int start_one(struct apply *a, cJSON *rec)
{
	const char *state = fsm_str_of(rec, "state");
	bool finished = strcmp(state, "failed") == 0 || strcmp(state, "exited") == 0 ||
			strcmp(state, "stopped") == 0;
	int rc = 0;

	if (finished || changed_desired(rec, "running") != NULL)
		rc = fsm_service_event(a, "start_requested", rec, finished ? state : "");
	/* A finished instance is not restarted in place: start a fresh one. */
	if (rc == 0 && finished) {
		/* the user asks again: every node may be tried again, and a
		 * failover this instance never finished is no longer timed */
		cJSON_DeleteItemFromObjectCaseSensitive(rec, "failed_on");
		cJSON_DeleteItemFromObjectCaseSensitive(rec, "failover_at");
		rc = fsm_new_instance(rec, a->ts);
	}
	rc = rc ?: fsm_set_str(rec, "desired", "running");
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	return rc ?: bx_store_put_service(a->txn, fsm_str_of(rec, "name"), rec);
}

static int stop_one(struct apply *a, cJSON *rec)
{
	int rc = changed_desired(rec, "stopped") != NULL
		     ? fsm_service_event(a, "stop_requested", rec, "")
		     : 0;

	rc = rc ?: fsm_set_str(rec, "desired", "stopped");
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "failover_at"); /* nothing to time */
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	return rc ?: bx_store_put_service(a->txn, fsm_str_of(rec, "name"), rec);
}

static int delete_one(struct apply *a, cJSON *rec)
{
	int rc = fsm_service_event(a, "deleted", rec, "");
	return rc ?: bx_store_del_service(a->txn, fsm_str_of(rec, "name"));
}

int fsm_op_service_start(struct apply *a)
{
	return each_instance(a, start_one);
}

int fsm_op_service_stop(struct apply *a)
{
	return each_instance(a, stop_one);
}

int fsm_op_service_delete(struct apply *a)
{
	return each_instance(a, delete_one);
}

/* Reject unless the record is at the generation the command expects. */
static bool at_generation(struct apply *a, const cJSON *rec)
{
	uint64_t expect = bx_command_u64(a->cmd, "expect_generation");

	if (fsm_num_of(rec, "generation") == (double)expect)
		return true;
	fsm_reject(a, BX_ECONFLICT, "%s: '%s' is at generation %.0f, not %" PRIu64,
		   fsm_str_of(a->cmd, "op"), a->key, fsm_num_of(rec, "generation"),
		   expect);
	return false;
}

/* The command's service, at the generation it expects: 0 and *rec, or 0
 * and *rec NULL once rejected (no such service, another generation), or a
 * store error. */
static int load_expected(struct apply *a, cJSON **rec)
{
	int rc = load_service(a, rec);

	if (rc != 0) {
		*rec = NULL;
		return rc == BX_ENOENT ? 0 : rc;
	}
	a->res->record = *rec;
	if (!at_generation(a, *rec))
		*rec = NULL;
	return 0;
}

/* 0 if node `id` may take work (exists, not down, not draining), else the
 * rejection (returned as 0 through reject, with *ok false). */
static int node_takes_work(struct apply *a, uint64_t id, bool *ok)
{
	cJSON *node;
	int rc = bx_store_get_node(a->fsm->store, id, &node);

	*ok = false;
	if (rc == BX_ENOENT)
		return fsm_reject(a, BX_ENOENT, "%s: no node %" PRIu64,
				  fsm_str_of(a->cmd, "op"), id);
	if (rc != 0)
		return rc;
	if (bx_fsm_node_down(node))
		fsm_reject(a, BX_ECONFLICT, "%s: node %" PRIu64 " is down",
			   fsm_str_of(a->cmd, "op"), id);
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "draining")))
		fsm_reject(a, BX_ECONFLICT, "%s: node %" PRIu64 " is draining",
			   fsm_str_of(a->cmd, "op"), id);
	else
		*ok = true;
	cJSON_Delete(node);
	return 0;
}

int fsm_op_service_assign(struct apply *a)
{
	uint64_t node = bx_command_u64(a->cmd, "node");
	char why[sizeof a->res->msg];
	bool ok = true;
	cJSON *rec;
	int rc = load_expected(a, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (node != 0)
		rc = node_takes_work(a, node, &ok);
	if (rc != 0 || !ok)
		return rc;
	/* the event says why: the scheduler's reason, else why it was waiting
	 * for a node (its node went down…) */
	snprintf(why, sizeof why, "%s",
		 bx_command_str(a->cmd, "reason")[0] ? bx_command_str(a->cmd, "reason")
						     : fsm_str_of(rec, "reason"));
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "move_to");
	rc = fsm_set_num(rec, "node", (double)node);
	rc = rc ?: fsm_new_instance(rec, a->ts);
	rc = rc ?: fsm_set_str(rec, "reason", bx_command_str(a->cmd, "reason"));
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	rc =
	    rc ?: fsm_service_event(a, node != 0 ? "scheduled" : "unscheduled", rec, why);
	return rc ?: fsm_keep_service(a, rec);
}

/*
 * Move a running service without ever running it twice: the record keeps
 * its node and generation and gains "move_to"; the agent there stops the
 * instance (a record with move_to is not its to run) and reports "stopped"
 * for that generation, and that report hands the service over (hand_over).
 * Should the node die first, node.down takes the service off it as usual.
 */
int fsm_op_service_migrate(struct apply *a)
{
	uint64_t to = bx_command_u64(a->cmd, "node");
	char reason[128];
	bool ok;
	cJSON *rec;
	int rc = load_expected(a, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (fsm_num_of(rec, "node") == 0 || fsm_num_of(rec, "node") == (double)to)
		return fsm_reject(
		    a, BX_ECONFLICT,
		    "service.migrate: '%s' is on node %.0f: nothing to move", a->key,
		    fsm_num_of(rec, "node"));
	rc = node_takes_work(a, to, &ok);
	if (rc != 0 || !ok)
		return rc;
	snprintf(reason, sizeof reason,
		 "moving to node %" PRIu64 ": node %.0f is draining", to,
		 fsm_num_of(rec, "node"));
	rc = fsm_set_num(rec, "move_to", (double)to);
	rc = rc ?: fsm_set_str(rec, "reason", reason);
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	rc = rc ?: fsm_service_event(a, "moving", rec, reason);
	return rc ?: fsm_keep_service(a, rec);
}

/* No node can take the service: say why (the scheduler's words). */
int fsm_op_service_wait(struct apply *a)
{
	const char *reason = bx_command_str(a->cmd, "reason");
	cJSON *rec;
	int rc = load_expected(a, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (strcmp(fsm_str_of(rec, "reason"), reason) == 0) {
		a->changed = false;
		return 0;
	}
	rc = fsm_set_str(rec, "reason", reason);
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	rc = rc ?: fsm_service_event(a, "waiting", rec, reason);
	return rc ?: fsm_keep_service(a, rec);
}

/* The old node stopped a migrating service: a fresh instance on the new one
 * (or on none, should that one have gone down meanwhile). */
static int hand_over(struct apply *a, cJSON *rec)
{
	uint64_t from = (uint64_t)fsm_num_of(rec, "node"),
		 to = (uint64_t)fsm_num_of(rec, "move_to");
	char reason[96];
	cJSON *node;
	int rc = bx_store_get_node(a->fsm->store, to, &node);

	if (rc != 0 && rc != BX_ENOENT)
		return rc;
	if (node == NULL || bx_fsm_node_down(node))
		to = 0; /* gone or down meanwhile */
	cJSON_Delete(node);
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "move_to");
	snprintf(reason, sizeof reason, "moved from node %" PRIu64 " (draining)", from);
	rc = fsm_set_num(rec, "node", (double)to);
	rc = rc ?: fsm_new_instance(rec, a->ts);
	rc = rc ?: fsm_set_str(rec, "reason", reason);
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	rc = rc ?: fsm_service_event(a, "moved", rec, reason);
	return rc ?: fsm_keep_service(a, rec);
}

/* The events of a report: what changed from the record (before it is
 * written) to what the report says. */
static int report_events(struct apply *a, const cJSON *rec)
{
	static const char *const events[][2] = {
	    {"starting", "starting"}, {"running", "started"}, {"failed", "failed"},
	    {"exited", "exited"},     {"stopped", "stopped"}, {"unhealthy", "unhealthy"},
	    {"fenced", "fenced"}};
	const char *state = bx_command_str(a->cmd, "state"),
		   *reason = bx_command_str(a->cmd, "reason");
	char why[sizeof a->res->msg];
	int rc = 0;

	if (bx_command_u64(a->cmd, "restarts") > (uint64_t)fsm_num_of(rec, "restarts")) {
		snprintf(why, sizeof why, "restart %" PRIu64 "%s%s",
			 bx_command_u64(a->cmd, "restarts"), reason[0] ? ": " : "",
			 reason);
		rc = fsm_service_event(a, "restarted", rec, why);
	}
	if (strcmp(state, fsm_str_of(rec, "state")) != 0)
		for (size_t i = 0; i < sizeof events / sizeof events[0] && rc == 0; i++) {
			if (strcmp(events[i][0], state) != 0)
				continue;
			snprintf(why, sizeof why, "%s", reason);
			if (a->res->failed_over)
				snprintf(why, sizeof why,
					 "failed over: running %.2f s after its node was "
					 "declared down",
					 a->res->failover_ms / 1000);
			rc = fsm_service_event(a, events[i][1], rec, why);
		}
	if (rc == 0 && strcmp(bx_command_str(a->cmd, "health"), "healthy") == 0 &&
	    strcmp(fsm_str_of(rec, "health"), "healthy") != 0)
		rc = fsm_service_event(a, "healthy", rec, "");
	return rc;
}

int fsm_op_service_report(struct apply *a)
{
	uint64_t node = bx_command_u64(a->cmd, "node");
	uint64_t generation = bx_command_u64(a->cmd, "generation");
	cJSON *rec;
	int rc = load_service(a, &rec);

	if (rc != 0)
		return rc == BX_ENOENT ? 0 : rc;
	a->res->record = rec;
	/* A report about another placement or an older instance is stale. */
	if (fsm_num_of(rec, "node") != (double)node ||
	    fsm_num_of(rec, "generation") != (double)generation)
		return fsm_reject(a, BX_ECONFLICT,
				  "service.report: stale report for '%s' (node %" PRIu64
				  " generation %" PRIu64
				  "; now node %.0f generation %.0f)",
				  a->key, node, generation, fsm_num_of(rec, "node"),
				  fsm_num_of(rec, "generation"));
	if (fsm_num_of(rec, "move_to") > 0 &&
	    strcmp(bx_command_str(a->cmd, "state"), "stopped") == 0)
		return hand_over(a, rec);
	if (strcmp(bx_command_str(a->cmd, "state"), "failed") == 0 &&
	    strcmp(fsm_str_of(rec, "state"), "failed") != 0)
		rc = note_failed_on(rec, node, a->ts);
	if (strcmp(bx_command_str(a->cmd, "state"), "running") == 0 &&
	    cJSON_HasObjectItem(rec, "failover_at")) {
		a->res->failed_over = true;
		a->res->failover_ms = a->ts - fsm_num_of(rec, "failover_at");
		cJSON_DeleteItemFromObjectCaseSensitive(rec, "failover_at");
	}
	rc = rc ?: report_events(a, rec);
	rc = rc ?: fsm_set_str(rec, "state", bx_command_str(a->cmd, "state"));
	rc = rc ?: fsm_set_num(rec, "pid", (double)bx_command_u64(a->cmd, "pid"));
	rc = rc
		 ?: fsm_set_num(rec, "restarts",
				(double)bx_command_u64(a->cmd, "restarts"));
	rc = rc ?: fsm_set_str(rec, "reason", bx_command_str(a->cmd, "reason"));
	rc = rc ?: fsm_set_str(rec, "health", bx_command_str(a->cmd, "health"));
	rc = rc ?: fsm_set_num(rec, "state_at", a->ts);
	return rc ?: fsm_keep_service(a, rec);
}
