/* fsm.c - the state machine: JSON commands applied to the LMDB store, snapshots. */
#include "fsm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "error.h"
#include "spec.h"

/*
 * Apply is deterministic: every server applies the same committed entries in
 * the same order to the same state and must write the same records. So apply
 * reads no clock (the command's "ts" is "now"), no environment and no
 * randomness, and a command it rejects still advances the applied index, so
 * that the stored index is the index of the last entry seen, on every server.
 *
 * An entry is one command or a batch of them (a JSON array: the leader puts
 * the commands proposed in one loop turn into one entry). Its commands are
 * applied in order in one store transaction, which also records the entry's
 * index; each command sees the writes of those before it, and a rejected one
 * has its writes dropped (a store savepoint) without touching the others.
 * An entry at or below the stored index was applied before a restart or is
 * covered by a restored snapshot: skipped.
 */

/* What one apply works on. */
struct apply {
	struct bx_fsm *fsm;
	const cJSON *cmd;
	double ts;
	struct bx_store_txn *txn;
	struct bx_fsm_result *res;
	char key[72]; /* service name or node id touched, for on_apply */
	bool changed; /* false for a no-op that succeeded */
};

/* Reject the command: sets the result, returns 0 (not a store failure). */
static int reject(struct apply *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(struct apply *a, int code, const char *fmt, ...)
{
	va_list ap;

	a->res->code = code;
	va_start(ap, fmt);
	vsnprintf(a->res->msg, sizeof a->res->msg, fmt, ap);
	va_end(ap);
	return 0;
}

/* Set obj[key] to item (replacing any), taking ownership of item. */
static int set_item(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return BX_ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? 0
									      : BX_ENOMEM;
	return cJSON_AddItemToObject(obj, key, item) ? 0 : BX_ENOMEM;
}

static int set_num(cJSON *obj, const char *key, double v)
{
	return set_item(obj, key, cJSON_CreateNumber(v));
}

static int set_str(cJSON *obj, const char *key, const char *v)
{
	return set_item(obj, key, cJSON_CreateString(v));
}

static double num_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/*
 * An event's members as JSON text, written directly (no cJSON tree: an event
 * is written with most commands, and its cost shows in write throughput).
 * Every number in an event is a whole number.
 */
struct event {
	char text[2048]; /* names, a reason of at most 255 bytes escaped: fits */
	size_t len;
	bool over; /* did not fit: the event is not written */
};

static void ev_add(struct event *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ev_add(struct event *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(e->text + e->len, sizeof e->text - e->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof e->text - e->len)
		e->over = true;
	else
		e->len += (size_t)n;
}

static void ev_num(struct event *e, const char *key, double v)
{
	ev_add(e, "%s\"%s\":%.0f", e->len ? "," : "", key, v);
}

/* "key":"value", the value escaped as JSON wants */
static void ev_str(struct event *e, const char *key, const char *v)
{
	ev_add(e, "%s\"%s\":\"", e->len ? "," : "", key);
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0' && !e->over;
	     p++) {
		if (*p == '"' || *p == '\\')
			ev_add(e, "\\%c", *p);
		else if (*p < 0x20)
			ev_add(e, "\\u%04x", *p);
		else
			ev_add(e, "%c", *p);
	}
	ev_add(e, "\"");
}

/* Add the event, with the command's time, type, node and reason, to the store. */
static int add_event(struct apply *a, struct event *e, const char *type, double node,
		     const char *reason)
{
	ev_num(e, "at", a->ts);
	ev_str(e, "type", type);
	ev_num(e, "node", node);
	ev_str(e, "reason", reason != NULL ? reason : "");
	if (e->over)
		return 0; /* cannot happen with our names and reasons; never fail apply */
	return bx_store_add_event(a->txn, e->text, BX_EVENTS_KEEP);
}

/* An event about the service instance `rec` (its node and generation now). */
static int service_event(struct apply *a, const char *type, const cJSON *rec,
			 const char *reason)
{
	struct event e = {.len = 0};
	const char *key = str_of(rec, "name"), *service = str_of(rec, "service");

	ev_str(&e, "service", service[0] != '\0' ? service : key);
	if (service[0] != '\0')
		ev_str(&e, "instance", key);
	ev_num(&e, "generation", num_of(rec, "generation"));
	return add_event(a, &e, type, num_of(rec, "node"), reason);
}

/* An event about node `id` (record `rec`, NULL if gone). */
static int node_event(struct apply *a, const char *type, uint64_t id, const cJSON *rec,
		      const char *reason)
{
	struct event e = {.len = 0};

	if (rec != NULL)
		ev_str(&e, "node_name", str_of(rec, "name"));
	return add_event(a, &e, type, (double)id, reason);
}

/* The result record becomes the FSM's (its result), written to the store too. */
static int keep_service(struct apply *a, cJSON *rec)
{
	int rc = bx_store_put_service(a->txn, str_of(rec, "name"), rec);
	a->res->record = rec;
	return rc;
}

/* A fresh instance of the service: the next generation, not placed-run yet. */
static int new_instance(cJSON *rec, double ts)
{
	int rc = set_num(rec, "generation", num_of(rec, "generation") + 1);
	rc = rc ?: set_str(rec, "state", "pending");
	rc = rc ?: set_num(rec, "pid", 0);
	rc = rc ?: set_num(rec, "restarts", 0);
	rc = rc ?: set_str(rec, "reason", "");
	rc = rc ?: set_str(rec, "health", "");
	rc = rc ?: set_num(rec, "state_at", ts);
	return rc;
}

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
		if (num_of(e, "at") + BX_FAILED_ON_WINDOW_MS < ts ||
		    num_of(e, "node") == (double)node)
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
	return set_item(rec, "failed_on", kept);
}

static int op_cluster_init(struct apply *a)
{
	const char *id = bx_command_str(a->cmd, "cluster_id");
	const char *have = bx_store_cluster_id(a->fsm->store);

	snprintf(a->key, sizeof a->key, "%s", id);
	if (have[0] != '\0') {
		if (strcmp(have, id) == 0) {
			a->changed = false;
			return 0;
		}
		return reject(a, BX_ECONFLICT, "cluster.init: cluster id is already %s",
			      have);
	}
	return bx_store_set_cluster_id(a->txn, id);
}

static int op_node_upsert(struct apply *a)
{
	uint64_t id = bx_command_u64(a->cmd, "id");
	cJSON *rec;
	int rc;

	snprintf(a->key, sizeof a->key, "%" PRIu64, id);
	rc = bx_store_get_node(a->fsm->store, id, &rec);
	if (rc == BX_ENOENT) {
		rec = cJSON_CreateObject();
		if (rec == NULL)
			return BX_ENOMEM;
		rc = set_num(rec, "id", (double)id);
		rc = rc ?: set_num(rec, "joined_at", a->ts);
		rc = rc
			 ?: node_event(a, "node_joined", id, a->cmd,
				       bx_command_str(a->cmd, "api"));
	}
	if (rc != 0)
		goto out;
	rc = set_str(rec, "name", bx_command_str(a->cmd, "name"));
	rc = rc ?: set_str(rec, "api", bx_command_str(a->cmd, "api"));
	rc = rc ?: set_str(rec, "raft", bx_command_str(a->cmd, "raft"));
	/* what it offers: kept from an earlier upsert when not given (a join) */
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		static const char *const amounts[] = {"memory_mb", "vcpus"};
		if (cJSON_HasObjectItem(a->cmd, amounts[i]))
			rc = set_num(rec, amounts[i],
				     (double)bx_command_u64(a->cmd, amounts[i]));
	}
	if (rc == 0 && cJSON_HasObjectItem(a->cmd, "labels"))
		rc = set_item(rec, "labels",
			      cJSON_Duplicate(
				  cJSON_GetObjectItemCaseSensitive(a->cmd, "labels"), 1));
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	rc = rc ?: bx_store_put_node(a->txn, id, rec);
out:
	a->res->record = rec;
	return rc;
}

/* Load the node named by the command's "id" into *rec (also the result), or
 * reject with ENOENT (then 0 is returned). */
static int load_node(struct apply *a, uint64_t *id, cJSON **rec)
{
	int rc;

	*id = bx_command_u64(a->cmd, "id");
	snprintf(a->key, sizeof a->key, "%" PRIu64, *id);
	rc = bx_store_get_node(a->fsm->store, *id, rec);
	if (rc == BX_ENOENT) {
		*rec = NULL;
		return reject(a, BX_ENOENT, "%s: no node %" PRIu64, str_of(a->cmd, "op"),
			      *id);
	}
	if (rc == 0)
		a->res->record = *rec;
	return rc;
}

bool bx_fsm_node_down(const cJSON *rec)
{
	return strcmp(str_of(rec, "status"), "down") == 0;
}

static int set_node_status(struct apply *a, uint64_t id, cJSON *rec, const char *status,
			   const char *reason)
{
	char type[16];
	int rc = set_str(rec, "status", status);

	snprintf(type, sizeof type, "node_%s", status);
	rc = rc ?: set_num(rec, "status_at", a->ts);
	rc = rc ?: node_event(a, type, id, rec, reason);
	return rc ?: bx_store_put_node(a->txn, id, rec);
}

enum which { ALL, RUNNING, STOPPED };

/*
 * Take the services off node `id` (all, those that should run, or those
 * stopped): each is a fresh instance on no node, pending until the scheduler
 * places it (a move under way is dropped). Read through the placement index,
 * not every record.
 */
static int unplace(struct apply *a, uint64_t id, enum which which, const char *reason)
{
	char fenced_why[160];
	cJSON *services, *svc;
	int rc = bx_store_list_placed(a->fsm->store, id, which == RUNNING, &services);

	snprintf(fenced_why, sizeof fenced_why,
		 "%s: its lease ran out, so it stopped this instance", reason);
	if (rc != 0)
		return rc;
	cJSON_ArrayForEach(svc, services)
	{
		if (which == STOPPED && strcmp(str_of(svc, "desired"), "running") == 0)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(svc, "move_to");
		/* off a down node: its lease ran out, so the instance there is
		 * stopped (fenced); a failover, timed until it runs again
		 * (op_service_report); a second one keeps the first's time */
		rc = service_event(a, which == RUNNING ? "fenced" : "unscheduled", svc,
				   which == RUNNING ? fenced_why : reason);
		if (rc == 0 && which == RUNNING &&
		    !cJSON_HasObjectItem(svc, "failover_at"))
			rc = set_num(svc, "failover_at", a->ts);
		rc = rc ?: set_num(svc, "node", 0);
		rc = rc ?: new_instance(svc, a->ts);
		rc = rc ?: set_str(svc, "reason", reason);
		rc = rc ?: set_num(svc, "updated_at", a->ts);
		rc = rc ?: bx_store_put_service(a->txn, str_of(svc, "name"), svc);
		if (rc != 0)
			break;
	}
	cJSON_Delete(services);
	return rc;
}

static int op_node_remove(struct apply *a)
{
	uint64_t id;
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	rc = bx_store_del_node(a->txn, id);
	rc = rc ?: node_event(a, "node_removed", id, rec, "");
	if (rc != 0)
		return rc;
	/* Its services go back to the scheduler, which places them again. */
	return unplace(a, id, ALL, "its node was removed");
}

/*
 * The leader heard nothing from the node for node_timeout: by invariant 4 its
 * lease has run out and it has stopped its services itself. They leave it in
 * this same entry (node 0, a new generation: pending until the scheduler
 * places them), so any later lease answer to that node carries an index at
 * or past the move and it cannot start them again.
 */
static int op_node_down(struct apply *a)
{
	uint64_t id;
	char reason[128];
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (bx_fsm_node_down(rec)) {
		a->changed = false;
		return 0;
	}
	snprintf(reason, sizeof reason, "node %" PRIu64 " (%s) is down", id,
		 str_of(rec, "name"));
	rc = set_node_status(a, id, rec, "down", "no heartbeat within node_timeout");
	return rc ?: unplace(a, id, RUNNING, reason);
}

static int op_node_up(struct apply *a)
{
	uint64_t id;
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (!bx_fsm_node_down(rec)) {
		a->changed = false;
		return 0;
	}
	return set_node_status(a, id, rec, "up", "heard again");
}

/*
 * Drain: the node takes no new work and its services leave it. Those that
 * should run are migrated by the scheduler one by one (service.migrate: the
 * node stops each before it starts elsewhere); stopped ones have nothing to
 * stop and leave now. Undrained ("eligible"), it takes work again; what
 * already left stays where it went.
 */
static int op_node_drain(struct apply *a)
{
	bool drain = bx_command_bool(a->cmd, "drain");
	uint64_t id;
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "draining")) != drain) {
		rc = set_item(rec, "draining", cJSON_CreateBool(drain));
		rc = rc ?: set_num(rec, "draining_at", a->ts);
		rc = rc
			 ?: node_event(a, drain ? "node_draining" : "node_eligible", id,
				       rec, "");
		rc = rc ?: bx_store_put_node(a->txn, id, rec);
	}
	if (rc == 0 && drain) {
		char reason[96];
		snprintf(reason, sizeof reason, "node %" PRIu64 " is draining", id);
		rc = unplace(a, id, STOPPED, reason);
	}
	return rc;
}

/* Changes nothing: its commit proves the proposer still led when it proposed. */
static int op_cluster_confirm(struct apply *a)
{
	a->changed = false;
	return 0;
}

/* A service record as a put creates it: instance `index` of service `name`,
 * under `key` (src/spec.h), at generation 1; NULL when out of memory. */
static cJSON *fresh_record(struct apply *a, const char *key, const char *name,
			   unsigned index, const cJSON *spec, const char *desired)
{
	cJSON *rec = cJSON_CreateObject();
	int rc = rec != NULL ? set_str(rec, "name", key) : BX_ENOMEM;

	if (index > 0) {
		rc = rc ?: set_str(rec, "service", name);
		rc = rc ?: set_num(rec, "instance", index);
	}
	rc = rc ?: set_item(rec, "spec", cJSON_Duplicate(spec, 1));
	rc = rc ?: set_num(rec, "generation", 0);
	rc = rc ?: set_str(rec, "desired", desired);
	rc = rc ?: set_num(rec, "node", 0);
	rc = rc ?: set_num(rec, "created_at", a->ts);
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	rc = rc ?: new_instance(rec, a->ts);
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
	double n = num_of(cJSON_GetObjectItemCaseSensitive(spec, "service"), "count");
	return n < 1 ? 1 : n;
}

/* The event of a user's request that changes the desired state, or NULL. */
static const char *changed_desired(const cJSON *rec, const char *desired)
{
	if (strcmp(str_of(rec, "desired"), desired) == 0)
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
		rc = rc ?: service_event(a, "created", rec, "");
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
			rc = set_item(rec, "spec", cJSON_Duplicate(spec, 1));
		if (renew) {
			cJSON_DeleteItemFromObjectCaseSensitive(rec, "failed_on");
			rc = rc ?: new_instance(rec, a->ts);
		}
		rc = rc ?: set_str(rec, "desired", desired);
		rc = rc ?: set_num(rec, "updated_at", a->ts);
		if (event != NULL)
			rc = rc ?: service_event(a, event, rec, why);
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
static int op_service_put(struct apply *a)
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
			return reject(a, BX_EINVAL, "%s", msg[0] ? msg : "invalid spec");
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
		if (rc != 0 || num_of(inst, "instance") < count)
			continue;
		rc = service_event(a, "deleted", inst, why);
		rc = rc ?: bx_store_del_service(a->txn, str_of(inst, "name"));
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
		reject(a, BX_ENOENT, "%s: no service '%s'", str_of(a->cmd, "op"), name);
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
	const char *state = str_of(rec, "state");
	bool finished = strcmp(state, "failed") == 0 || strcmp(state, "exited") == 0 ||
			strcmp(state, "stopped") == 0;
	int rc = 0;

	if (finished || changed_desired(rec, "running") != NULL)
		rc = service_event(a, "start_requested", rec, finished ? state : "");
	/* A finished instance is not restarted in place: start a fresh one. */
	if (rc == 0 && finished) {
		/* the user asks again: every node may be tried again, and a
		 * failover this instance never finished is no longer timed */
		cJSON_DeleteItemFromObjectCaseSensitive(rec, "failed_on");
		cJSON_DeleteItemFromObjectCaseSensitive(rec, "failover_at");
		rc = new_instance(rec, a->ts);
	}
	rc = rc ?: set_str(rec, "desired", "running");
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	return rc ?: bx_store_put_service(a->txn, str_of(rec, "name"), rec);
}

static int stop_one(struct apply *a, cJSON *rec)
{
	int rc = changed_desired(rec, "stopped") != NULL
		     ? service_event(a, "stop_requested", rec, "")
		     : 0;

	rc = rc ?: set_str(rec, "desired", "stopped");
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "failover_at"); /* nothing to time */
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	return rc ?: bx_store_put_service(a->txn, str_of(rec, "name"), rec);
}

static int delete_one(struct apply *a, cJSON *rec)
{
	int rc = service_event(a, "deleted", rec, "");
	return rc ?: bx_store_del_service(a->txn, str_of(rec, "name"));
}

static int op_service_start(struct apply *a)
{
	return each_instance(a, start_one);
}

static int op_service_stop(struct apply *a)
{
	return each_instance(a, stop_one);
}

static int op_service_delete(struct apply *a)
{
	return each_instance(a, delete_one);
}

/* Reject unless the record is at the generation the command expects. */
static bool at_generation(struct apply *a, const cJSON *rec)
{
	uint64_t expect = bx_command_u64(a->cmd, "expect_generation");

	if (num_of(rec, "generation") == (double)expect)
		return true;
	reject(a, BX_ECONFLICT, "%s: '%s' is at generation %.0f, not %" PRIu64,
	       str_of(a->cmd, "op"), a->key, num_of(rec, "generation"), expect);
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
		return reject(a, BX_ENOENT, "%s: no node %" PRIu64, str_of(a->cmd, "op"),
			      id);
	if (rc != 0)
		return rc;
	if (bx_fsm_node_down(node))
		reject(a, BX_ECONFLICT, "%s: node %" PRIu64 " is down",
		       str_of(a->cmd, "op"), id);
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "draining")))
		reject(a, BX_ECONFLICT, "%s: node %" PRIu64 " is draining",
		       str_of(a->cmd, "op"), id);
	else
		*ok = true;
	cJSON_Delete(node);
	return 0;
}

static int op_service_assign(struct apply *a)
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
						     : str_of(rec, "reason"));
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "move_to");
	rc = set_num(rec, "node", (double)node);
	rc = rc ?: new_instance(rec, a->ts);
	rc = rc ?: set_str(rec, "reason", bx_command_str(a->cmd, "reason"));
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	rc = rc ?: service_event(a, node != 0 ? "scheduled" : "unscheduled", rec, why);
	return rc ?: keep_service(a, rec);
}

/*
 * Move a running service without ever running it twice: the record keeps
 * its node and generation and gains "move_to"; the agent there stops the
 * instance (a record with move_to is not its to run) and reports "stopped"
 * for that generation, and that report hands the service over (hand_over).
 * Should the node die first, node.down takes the service off it as usual.
 */
static int op_service_migrate(struct apply *a)
{
	uint64_t to = bx_command_u64(a->cmd, "node");
	char reason[128];
	bool ok;
	cJSON *rec;
	int rc = load_expected(a, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (num_of(rec, "node") == 0 || num_of(rec, "node") == (double)to)
		return reject(a, BX_ECONFLICT,
			      "service.migrate: '%s' is on node %.0f: nothing to move",
			      a->key, num_of(rec, "node"));
	rc = node_takes_work(a, to, &ok);
	if (rc != 0 || !ok)
		return rc;
	snprintf(reason, sizeof reason,
		 "moving to node %" PRIu64 ": node %.0f is draining", to,
		 num_of(rec, "node"));
	rc = set_num(rec, "move_to", (double)to);
	rc = rc ?: set_str(rec, "reason", reason);
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	rc = rc ?: service_event(a, "moving", rec, reason);
	return rc ?: keep_service(a, rec);
}

/* No node can take the service: say why (the scheduler's words). */
static int op_service_wait(struct apply *a)
{
	const char *reason = bx_command_str(a->cmd, "reason");
	cJSON *rec;
	int rc = load_expected(a, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (strcmp(str_of(rec, "reason"), reason) == 0) {
		a->changed = false;
		return 0;
	}
	rc = set_str(rec, "reason", reason);
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	rc = rc ?: service_event(a, "waiting", rec, reason);
	return rc ?: keep_service(a, rec);
}

/* The old node stopped a migrating service: a fresh instance on the new one
 * (or on none, should that one have gone down meanwhile). */
static int hand_over(struct apply *a, cJSON *rec)
{
	uint64_t from = (uint64_t)num_of(rec, "node"),
		 to = (uint64_t)num_of(rec, "move_to");
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
	rc = set_num(rec, "node", (double)to);
	rc = rc ?: new_instance(rec, a->ts);
	rc = rc ?: set_str(rec, "reason", reason);
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	rc = rc ?: service_event(a, "moved", rec, reason);
	return rc ?: keep_service(a, rec);
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

	if (bx_command_u64(a->cmd, "restarts") > (uint64_t)num_of(rec, "restarts")) {
		snprintf(why, sizeof why, "restart %" PRIu64 "%s%s",
			 bx_command_u64(a->cmd, "restarts"), reason[0] ? ": " : "",
			 reason);
		rc = service_event(a, "restarted", rec, why);
	}
	if (strcmp(state, str_of(rec, "state")) != 0)
		for (size_t i = 0; i < sizeof events / sizeof events[0] && rc == 0; i++) {
			if (strcmp(events[i][0], state) != 0)
				continue;
			snprintf(why, sizeof why, "%s", reason);
			if (a->res->failed_over)
				snprintf(why, sizeof why,
					 "failed over: running %.2f s after its node was "
					 "declared down",
					 a->res->failover_ms / 1000);
			rc = service_event(a, events[i][1], rec, why);
		}
	if (rc == 0 && strcmp(bx_command_str(a->cmd, "health"), "healthy") == 0 &&
	    strcmp(str_of(rec, "health"), "healthy") != 0)
		rc = service_event(a, "healthy", rec, "");
	return rc;
}

static int op_service_report(struct apply *a)
{
	uint64_t node = bx_command_u64(a->cmd, "node");
	uint64_t generation = bx_command_u64(a->cmd, "generation");
	cJSON *rec;
	int rc = load_service(a, &rec);

	if (rc != 0)
		return rc == BX_ENOENT ? 0 : rc;
	a->res->record = rec;
	/* A report about another placement or an older instance is stale. */
	if (num_of(rec, "node") != (double)node ||
	    num_of(rec, "generation") != (double)generation)
		return reject(a, BX_ECONFLICT,
			      "service.report: stale report for '%s' (node %" PRIu64
			      " generation %" PRIu64 "; now node %.0f generation %.0f)",
			      a->key, node, generation, num_of(rec, "node"),
			      num_of(rec, "generation"));
	if (num_of(rec, "move_to") > 0 &&
	    strcmp(bx_command_str(a->cmd, "state"), "stopped") == 0)
		return hand_over(a, rec);
	if (strcmp(bx_command_str(a->cmd, "state"), "failed") == 0 &&
	    strcmp(str_of(rec, "state"), "failed") != 0)
		rc = note_failed_on(rec, node, a->ts);
	if (strcmp(bx_command_str(a->cmd, "state"), "running") == 0 &&
	    cJSON_HasObjectItem(rec, "failover_at")) {
		a->res->failed_over = true;
		a->res->failover_ms = a->ts - num_of(rec, "failover_at");
		cJSON_DeleteItemFromObjectCaseSensitive(rec, "failover_at");
	}
	rc = rc ?: report_events(a, rec);
	rc = rc ?: set_str(rec, "state", bx_command_str(a->cmd, "state"));
	rc = rc ?: set_num(rec, "pid", (double)bx_command_u64(a->cmd, "pid"));
	rc = rc ?: set_num(rec, "restarts", (double)bx_command_u64(a->cmd, "restarts"));
	rc = rc ?: set_str(rec, "reason", bx_command_str(a->cmd, "reason"));
	rc = rc ?: set_str(rec, "health", bx_command_str(a->cmd, "health"));
	rc = rc ?: set_num(rec, "state_at", a->ts);
	return rc ?: keep_service(a, rec);
}

static const struct {
	const char *op;
	int (*fn)(struct apply *a);
} handlers[] = {
    {"cluster.init", op_cluster_init},
    {"node.upsert", op_node_upsert},
    {"node.remove", op_node_remove},
    {"service.put", op_service_put},
    {"service.start", op_service_start},
    {"service.stop", op_service_stop},
    {"service.delete", op_service_delete},
    {"service.assign", op_service_assign},
    {"service.migrate", op_service_migrate},
    {"service.wait", op_service_wait},
    {"service.report", op_service_report},
    {"node.down", op_node_down},
    {"node.up", op_node_up},
    {"node.drain", op_node_drain},
    {"cluster.confirm", op_cluster_confirm},
};

/* What on_apply is told of one applied command. */
struct bx_fsm_note {
	const char *op;
	char key[72];
	bool changed;
};

static void reset_results(struct bx_fsm *fsm)
{
	for (size_t i = 0; i < fsm->results.n; i++) {
		cJSON_Delete(fsm->results.items[i].record);
		fsm->results.items[i].record = NULL;
	}
	fsm->results.n = 0;
}

/* Room for n results, each reset to "ok, nothing said". */
static int prepare_results(struct bx_fsm *fsm, size_t n)
{
	reset_results(fsm);
	if (n > fsm->cap) {
		struct bx_fsm_result *items =
		    realloc(fsm->results.items, n * sizeof *items);
		struct bx_fsm_note *notes;
		if (items == NULL)
			return BX_ENOMEM;
		fsm->results.items = items;
		notes = realloc(fsm->notes, n * sizeof *notes);
		if (notes == NULL)
			return BX_ENOMEM;
		fsm->notes = notes;
		fsm->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		fsm->results.items[i] = (struct bx_fsm_result){.code = BX_OK};
		fsm->notes[i] = (struct bx_fsm_note){.op = NULL};
	}
	fsm->results.n = n;
	return BX_OK;
}

/*
 * Apply one command inside the entry's transaction, under a savepoint: its
 * writes are kept if it succeeds and dropped if it is rejected. Returns 0
 * (applied or rejected: see res) or a store failure.
 */
static int apply_command(struct bx_fsm *fsm, struct bx_store_txn *txn, const cJSON *cmd,
			 struct bx_fsm_result *res, struct bx_fsm_note *note)
{
	struct apply a = {.fsm = fsm, .res = res, .txn = txn, .changed = true};
	const struct bx_command_op *op = NULL;
	int rc;

	if (cmd == NULL)
		return reject(&a, BX_EINVAL, "malformed command: not a JSON object");
	if (bx_command_validate(cmd, &op, res->msg, sizeof res->msg) != 0) {
		res->code = BX_EINVAL;
		return 0;
	}
	a.cmd = cmd;
	a.ts = cJSON_GetObjectItemCaseSensitive(cmd, "ts")->valuedouble;
	rc = bx_store_savepoint(txn);
	if (rc != 0)
		return rc;
	rc = BX_EINVAL;
	for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
		if (strcmp(handlers[i].op, op->name) == 0)
			rc = handlers[i].fn(&a);
	if (rc != 0 || res->code != BX_OK) {
		/* Rejected (or failed) half-way: none of its writes happen, and
		 * its record is not the record written. */
		bx_store_rollback(txn);
		cJSON_Delete(res->record);
		res->record = NULL;
		return rc;
	}
	note->op = op->name;
	note->changed = a.changed;
	snprintf(note->key, sizeof note->key, "%s", a.key);
	return bx_store_release(txn);
}

/* Every command of the entry failed with the store (nothing was written). */
static int fail_all(struct bx_fsm *fsm, int rc)
{
	for (size_t i = 0; i < fsm->results.n; i++) {
		struct bx_fsm_result *res = &fsm->results.items[i];
		cJSON_Delete(res->record);
		res->record = NULL;
		res->code = rc;
		snprintf(res->msg, sizeof res->msg, "store: %s", bx_strerror(rc));
	}
	return rc;
}

/*
 * Apply one entry: a command object, or an array of them (a batch). All its
 * commands are applied in one store transaction with the entry's index, in
 * order, each seeing the writes of those before it. Returns 0, or a store
 * failure (then every result says so).
 */
static int apply_entry(struct bx_fsm *fsm, uint64_t index, const char *buf, size_t len)
{
	struct bx_store_txn *txn;
	cJSON *parsed;
	bool batch;
	size_t n;
	int rc;

	if (index <= bx_store_applied_index(fsm->store)) {
		rc = prepare_results(fsm, 1);
		if (rc == 0)
			snprintf(fsm->results.items[0].msg,
				 sizeof fsm->results.items[0].msg, "already applied");
		return rc;
	}
	parsed = cJSON_ParseWithLength(buf, len);
	batch = cJSON_IsArray(parsed) && cJSON_GetArraySize(parsed) > 0;
	n = batch ? (size_t)cJSON_GetArraySize(parsed) : 1;
	rc = prepare_results(fsm, n);
	if (rc != 0) {
		cJSON_Delete(parsed);
		return rc;
	}
	rc = bx_store_begin(fsm->store, &txn);
	if (rc != 0) {
		cJSON_Delete(parsed);
		return fail_all(fsm, rc);
	}
	const cJSON *cmd = batch ? parsed->child : parsed;
	for (size_t i = 0; i < n && rc == 0; i++, cmd = batch ? cmd->next : NULL)
		rc = apply_command(fsm, txn, cJSON_IsObject(cmd) ? cmd : NULL,
				   &fsm->results.items[i], &fsm->notes[i]);
	cJSON_Delete(parsed);
	if (rc != 0) {
		bx_store_abort(txn);
		return fail_all(fsm, rc);
	}
	/* Rejected commands write nothing but still count: the index advances. */
	rc = bx_store_commit(txn, index);
	if (rc != 0)
		return fail_all(fsm, rc);
	for (size_t i = 0; i < n && fsm->on_apply != NULL; i++)
		if (fsm->notes[i].op != NULL && fsm->notes[i].changed)
			fsm->on_apply(fsm, &fsm->results.items[i], fsm->notes[i].op,
				      fsm->notes[i].key);
	return 0;
}

const struct bx_fsm_results *bx_fsm_apply_json(struct bx_fsm *fsm, uint64_t index,
					       const char *buf, size_t len)
{
	apply_entry(fsm, index, buf, len);
	return &fsm->results;
}

int bx_fsm_expect(struct bx_fsm *fsm, uint64_t index)
{
	if (fsm->n_expect == fsm->expect_cap) {
		size_t cap = fsm->expect_cap ? 2 * fsm->expect_cap : 64;
		uint64_t *grown = realloc(fsm->expect, cap * sizeof *grown);
		if (grown == NULL)
			return BX_ENOMEM;
		fsm->expect = grown;
		fsm->expect_cap = cap;
	}
	fsm->expect[fsm->n_expect++] = index;
	return BX_OK;
}

void bx_fsm_unexpect(struct bx_fsm *fsm, uint64_t index)
{
	for (size_t i = 0; i < fsm->n_expect; i++)
		if (fsm->expect[i] == index) {
			memmove(&fsm->expect[i], &fsm->expect[i + 1],
				(fsm->n_expect - i - 1) * sizeof *fsm->expect);
			fsm->n_expect--;
			return;
		}
}

/* Whether a proposer waits for entry `index` (and it is then no longer expected). */
static bool take_expected(struct bx_fsm *fsm, uint64_t index)
{
	/* Proposals are expected in index order: the first is the usual match. */
	for (size_t i = 0; i < fsm->n_expect; i++)
		if (fsm->expect[i] == index) {
			bx_fsm_unexpect(fsm, index);
			return true;
		}
	return false;
}

void bx_fsm_results_free(struct bx_fsm_results *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->n; i++)
		cJSON_Delete(res->items[i].record);
	free(res->items);
	free(res);
}

static int raft_code_of(int rc)
{
	return rc == BX_ENOMEM ? RAFT_NOMEM : RAFT_IOERR;
}

static int fsm_apply(struct raft_fsm *rfsm, const struct raft_buffer *buf, void **result)
{
	struct bx_fsm *fsm = rfsm->data;
	/* libraft sets last_applied only after apply returns: this entry is the next. */
	uint64_t index = fsm->raft != NULL ? raft_last_applied(fsm->raft) + 1
					   : bx_store_applied_index(fsm->store) + 1;
	int rc = apply_entry(fsm, index, buf->base, buf->len);

	*result = &fsm->results;
	if (take_expected(fsm, index)) {
		/* a proposer waits: these results become its own (see fsm.h) */
		struct bx_fsm_results *own = malloc(sizeof *own);
		if (own != NULL) {
			*own = fsm->results;
			fsm->results = (struct bx_fsm_results){0};
			fsm->cap = 0;
			*result = own;
		}
	}
	return rc == 0 ? 0 : raft_code_of(rc);
}

/*
 * Snapshots in two steps (raft_fsm version 3): fsm_snapshot fixes the state
 * to copy (a store read transaction) and hands libraft a one-element array
 * still empty; fsm_snapshot_async writes the copy into it. libraft may run
 * the second step on its I/O thread pool while applies go on; libraft 0.22
 * with the classic API was measured to call it on the loop thread right
 * after the first (perf, 2026-11-23), which is why snapshots are rare by
 * default (snapshot_threshold 8192 entries) and cost one pass over the
 * state (copy + SHA-256, ~20 MB at 40,000 services). With
 * snapshot_finalize set libraft owns none of the buffers: the data and the
 * array stay ours until snapshot_finalize, which runs whether or not the
 * snapshot was written.
 */
static int fsm_snapshot(struct raft_fsm *rfsm, struct raft_buffer *bufs[],
			unsigned *n_bufs)
{
	struct bx_fsm *fsm = rfsm->data;
	struct raft_buffer *arr;
	int rc;

	if (fsm->snap != NULL)
		return RAFT_BUSY;
	arr = raft_malloc(sizeof *arr);
	if (arr == NULL)
		return RAFT_NOMEM;
	rc = bx_store_snapshot_begin(fsm->store, &fsm->snap);
	if (rc != 0) {
		raft_free(arr);
		return raft_code_of(rc);
	}
	arr[0].base = NULL;
	arr[0].len = 0;
	*bufs = arr;
	*n_bufs = 1;
	return 0;
}

static int fsm_snapshot_async(struct raft_fsm *rfsm, struct raft_buffer *bufs[],
			      unsigned *n_bufs)
{
	struct bx_fsm *fsm = rfsm->data;
	void *data;
	size_t len;
	int rc;

	if (*n_bufs != 1 || fsm->snap == NULL)
		return RAFT_INVALID;
	rc = bx_store_snapshot_write(fsm->snap, &data, &len);
	if (rc != 0)
		return raft_code_of(rc);
	(*bufs)[0].base = data;
	(*bufs)[0].len = len;
	return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *rfsm, struct raft_buffer *bufs[],
				 unsigned *n_bufs)
{
	struct bx_fsm *fsm = rfsm->data;

	if (*bufs != NULL) {
		free((*bufs)[0].base);
		raft_free(*bufs);
	}
	bx_store_snapshot_end(fsm->snap);
	fsm->snap = NULL;
	*bufs = NULL;
	*n_bufs = 0;
	return 0;
}

/* On success the buffer's data is ours (libraft frees it only on failure). */
static int fsm_restore(struct raft_fsm *rfsm, struct raft_buffer *buf)
{
	struct bx_fsm *fsm = rfsm->data;
	char msg[BX_ERRMSG_SIZE] = "";
	uint64_t index = 0;
	int rc;

	/* At start-up libraft restores its newest local snapshot. The store
	 * holds a prefix of the same committed log, and is at or beyond that
	 * snapshot whenever its applied index is: keeping it is correct (the
	 * entries after the snapshot are then skipped by index) and spares
	 * rewriting the whole state on every restart. */
	if (bx_store_snapshot_index(buf->base, buf->len, &index) == 0 &&
	    index <= bx_store_applied_index(fsm->store)) {
		raft_free(buf->base);
		return 0;
	}
	rc = bx_store_restore(fsm->store, buf->base, buf->len, msg);
	if (rc != 0)
		return rc == BX_ECORRUPT ? RAFT_CORRUPT : raft_code_of(rc);
	raft_free(buf->base);
	/* the whole state changed: tell the daemon (op "snapshot.restore") */
	if (fsm->on_apply != NULL && prepare_results(fsm, 1) == 0)
		fsm->on_apply(fsm, &fsm->results.items[0], "snapshot.restore", "");
	return 0;
}

int bx_fsm_init(struct bx_fsm *fsm, struct bx_store *store, bx_fsm_validate_fn validate,
		bx_fsm_apply_fn on_apply, void *data)
{
	memset(fsm, 0, sizeof *fsm);
	fsm->store = store;
	fsm->validate = validate;
	fsm->on_apply = on_apply;
	fsm->data = data;
	fsm->fsm.version = 3;
	fsm->fsm.data = fsm;
	fsm->fsm.apply = fsm_apply;
	fsm->fsm.snapshot = fsm_snapshot;
	fsm->fsm.restore = fsm_restore;
	fsm->fsm.snapshot_finalize = fsm_snapshot_finalize;
	fsm->fsm.snapshot_async = fsm_snapshot_async;
	return BX_OK;
}

void bx_fsm_set_raft(struct bx_fsm *fsm, struct raft *raft)
{
	fsm->raft = raft;
}

void bx_fsm_close(struct bx_fsm *fsm)
{
	if (fsm == NULL)
		return;
	reset_results(fsm);
	free(fsm->results.items);
	free(fsm->notes);
	free(fsm->expect);
	fsm->expect = NULL;
	fsm->n_expect = fsm->expect_cap = 0;
	fsm->results.items = NULL;
	fsm->notes = NULL;
	fsm->cap = 0;
	bx_store_snapshot_end(fsm->snap);
	fsm->snap = NULL;
}
