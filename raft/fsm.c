/* fsm.c - the state machine: Raft entries (JSON commands) applied to the LMDB store. */
#include "fsm.h"

#include "command.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * apply() = parse + check (command.c) -> compute the new records from the
 * stored ones -> one store transaction carrying the entry's index. A command
 * the FSM rejects (stale generation, unknown service, invalid spec) still
 * commits an empty transaction with its index, so the stored applied index
 * always equals the index of the last entry seen and a restart skips exactly
 * the entries already applied.
 */

static void set_result(struct bx_fsm *fsm, int code, cJSON *record, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_result(struct bx_fsm *fsm, int code, cJSON *record, const char *fmt, ...)
{
	va_list ap;

	cJSON_Delete(fsm->last.record);
	fsm->last.code = code;
	fsm->last.record = record;
	fsm->last.msg[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(fsm->last.msg, sizeof fsm->last.msg, fmt, ap);
		va_end(ap);
	}
}

static uint64_t u64(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void set_num(cJSON *obj, const char *key, double value)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsNumber(v))
		cJSON_SetNumberValue(v, value);
	else if (v != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key,
						       cJSON_CreateNumber(value));
	else
		cJSON_AddNumberToObject(obj, key, value);
}

static void set_str(cJSON *obj, const char *key, const char *value)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(value));
	else
		cJSON_AddStringToObject(obj, key, value);
}

/* A new generation of a service: a fresh instance, nothing observed yet. */
static void new_generation(cJSON *rec, uint64_t ts)
{
	set_num(rec, "generation", (double)(u64(rec, "generation") + 1));
	set_str(rec, "state", "pending");
	set_num(rec, "pid", 0);
	set_str(rec, "reason", "");
	set_num(rec, "state_at", (double)ts);
}

/* Each op: the change as store operations into `t`, the result in fsm->last. */

static int op_cluster_init(struct bx_fsm *fsm, const struct bx_command *c,
			   struct bx_store_txn *t)
{
	const char *have = bx_store_cluster_id(fsm->store);

	if (have[0] != '\0' && strcmp(have, c->cluster_id) != 0) {
		set_result(fsm, BX_ECONFLICT, NULL, "the state belongs to cluster %s",
			   have);
		return 0;
	}
	set_result(fsm, BX_OK, NULL, NULL);
	return bx_store_set_cluster_id(t, c->cluster_id);
}

static int op_node_upsert(struct bx_fsm *fsm, const struct bx_command *c,
			  struct bx_store_txn *t)
{
	cJSON *rec = NULL;

	if (bx_store_get_node(fsm->store, c->id, &rec) != 0) {
		rec = cJSON_CreateObject();
		cJSON_AddNumberToObject(rec, "id", (double)c->id);
		cJSON_AddNumberToObject(rec, "joined_at", (double)c->ts);
	}
	set_str(rec, "name", c->node_name);
	set_str(rec, "api", c->api);
	set_str(rec, "raft", c->raft);
	set_num(rec, "updated_at", (double)c->ts);
	set_result(fsm, BX_OK, rec, NULL);
	return bx_store_put_node(t, c->id, rec);
}

static int op_node_remove(struct bx_fsm *fsm, const struct bx_command *c,
			  struct bx_store_txn *t)
{
	cJSON *rec = NULL, *services = NULL, *svc;
	int rv;

	if (bx_store_get_node(fsm->store, c->id, &rec) != 0) {
		set_result(fsm, BX_ENOENT, NULL, "no node %llu",
			   (unsigned long long)c->id);
		return 0;
	}
	rv = bx_store_del_node(t, c->id);
	if (rv == 0)
		rv = bx_store_list_services(fsm->store, &services);
	/* Its services lose their place; the scheduler finds them another. */
	cJSON_ArrayForEach(svc, services)
	{
		if (rv != 0)
			break;
		if (u64(svc, "node") != c->id)
			continue;
		set_num(svc, "node", 0);
		new_generation(svc, c->ts);
		set_str(svc, "reason", "its node was removed");
		set_num(svc, "updated_at", (double)c->ts);
		rv = bx_store_put_service(t, str(svc, "name"), svc);
	}
	cJSON_Delete(services);
	set_result(fsm, BX_OK, rec, NULL);
	return rv;
}

static int op_service_put(struct bx_fsm *fsm, const struct bx_command *c,
			  struct bx_store_txn *t)
{
	char why[200] = "";
	cJSON *rec = NULL;
	const cJSON *svc = cJSON_GetObjectItemCaseSensitive(c->spec, "service");

	if (strcmp(str(svc, "name"), c->name) != 0) {
		set_result(fsm, BX_EINVAL, NULL, "spec names service '%s', not '%s'",
			   str(svc, "name"), c->name);
		return 0;
	}
	if (fsm->validate != NULL && fsm->validate(c->spec, why, sizeof why) != 0) {
		set_result(fsm, BX_EINVAL, NULL, "invalid spec: %s", why);
		return 0;
	}
	if (bx_store_get_service(fsm->store, c->name, &rec) != 0) {
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "name", c->name);
		cJSON_AddItemToObject(rec, "spec", cJSON_Duplicate(c->spec, 1));
		cJSON_AddNumberToObject(rec, "generation", 1);
		cJSON_AddStringToObject(rec, "desired", c->start ? "running" : "stopped");
		cJSON_AddNumberToObject(rec, "node", 0);
		cJSON_AddStringToObject(rec, "state", "pending");
		cJSON_AddNumberToObject(rec, "pid", 0);
		cJSON_AddNumberToObject(rec, "restarts", 0);
		cJSON_AddStringToObject(rec, "reason", "");
		cJSON_AddNumberToObject(rec, "created_at", (double)c->ts);
		cJSON_AddNumberToObject(rec, "updated_at", (double)c->ts);
		cJSON_AddNumberToObject(rec, "state_at", (double)c->ts);
	} else {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(rec, "spec");
		if (!cJSON_Compare(old, c->spec, 1)) {
			cJSON_ReplaceItemInObjectCaseSensitive(
			    rec, "spec", cJSON_Duplicate(c->spec, 1));
			new_generation(rec, c->ts);
			set_num(rec, "restarts", 0);
		}
		set_str(rec, "desired", c->start ? "running" : "stopped");
		set_num(rec, "updated_at", (double)c->ts);
	}
	set_result(fsm, BX_OK, rec, NULL);
	return bx_store_put_service(t, c->name, rec);
}

static int op_service_desired(struct bx_fsm *fsm, const struct bx_command *c,
			      struct bx_store_txn *t)
{
	bool start = c->op == BX_OP_SERVICE_START;
	cJSON *rec = NULL;
	const char *state;

	if (bx_store_get_service(fsm->store, c->name, &rec) != 0) {
		set_result(fsm, BX_ENOENT, NULL, "no service named '%s'", c->name);
		return 0;
	}
	state = str(rec, "state");
	/* Starting a service that ended begins a fresh instance. */
	if (start && (strcmp(state, "failed") == 0 || strcmp(state, "exited") == 0 ||
		      strcmp(state, "stopped") == 0)) {
		new_generation(rec, c->ts);
		set_num(rec, "restarts", 0);
	}
	set_str(rec, "desired", start ? "running" : "stopped");
	set_num(rec, "updated_at", (double)c->ts);
	set_result(fsm, BX_OK, rec, NULL);
	return bx_store_put_service(t, c->name, rec);
}

static int op_service_delete(struct bx_fsm *fsm, const struct bx_command *c,
			     struct bx_store_txn *t)
{
	cJSON *rec = NULL;

	if (bx_store_get_service(fsm->store, c->name, &rec) != 0) {
		set_result(fsm, BX_ENOENT, NULL, "no service named '%s'", c->name);
		return 0;
	}
	set_result(fsm, BX_OK, rec, NULL);
	return bx_store_del_service(t, c->name);
}

static int op_service_assign(struct bx_fsm *fsm, const struct bx_command *c,
			     struct bx_store_txn *t)
{
	cJSON *rec = NULL, *node = NULL;

	if (bx_store_get_service(fsm->store, c->name, &rec) != 0) {
		set_result(fsm, BX_ENOENT, NULL, "no service named '%s'", c->name);
		return 0;
	}
	if (u64(rec, "generation") != c->expect_generation) {
		set_result(fsm, BX_ECONFLICT, NULL,
			   "service '%s' is at generation %llu, not %llu", c->name,
			   (unsigned long long)u64(rec, "generation"),
			   (unsigned long long)c->expect_generation);
		cJSON_Delete(rec);
		return 0;
	}
	if (c->node != 0 && bx_store_get_node(fsm->store, c->node, &node) != 0) {
		set_result(fsm, BX_ENOENT, NULL, "no node %llu",
			   (unsigned long long)c->node);
		cJSON_Delete(rec);
		return 0;
	}
	cJSON_Delete(node);
	set_num(rec, "node", (double)c->node);
	new_generation(rec, c->ts);
	set_num(rec, "updated_at", (double)c->ts);
	set_result(fsm, BX_OK, rec, NULL);
	return bx_store_put_service(t, c->name, rec);
}

static int op_service_report(struct bx_fsm *fsm, const struct bx_command *c,
			     struct bx_store_txn *t)
{
	cJSON *rec = NULL;

	if (bx_store_get_service(fsm->store, c->name, &rec) != 0) {
		set_result(fsm, BX_ENOENT, NULL, "no service named '%s'", c->name);
		return 0;
	}
	/* Invariant 3: a report about another placement or generation is stale. */
	if (u64(rec, "node") != c->node || u64(rec, "generation") != c->generation) {
		set_result(
		    fsm, BX_ECONFLICT, NULL,
		    "stale report for '%s' (node %llu generation %llu; the record says "
		    "node %llu generation %llu)",
		    c->name, (unsigned long long)c->node,
		    (unsigned long long)c->generation,
		    (unsigned long long)u64(rec, "node"),
		    (unsigned long long)u64(rec, "generation"));
		cJSON_Delete(rec);
		return 0;
	}
	if (strcmp(str(rec, "state"), c->state) != 0)
		set_num(rec, "state_at", (double)c->ts);
	set_str(rec, "state", c->state);
	set_num(rec, "pid", (double)c->pid);
	set_num(rec, "restarts", (double)c->restarts);
	set_str(rec, "reason", c->reason);
	set_result(fsm, BX_OK, rec, NULL);
	return bx_store_put_service(t, c->name, rec);
}

static int run_op(struct bx_fsm *fsm, const struct bx_command *c, struct bx_store_txn *t)
{
	switch (c->op) {
	case BX_OP_CLUSTER_INIT:
		return op_cluster_init(fsm, c, t);
	case BX_OP_NODE_UPSERT:
		return op_node_upsert(fsm, c, t);
	case BX_OP_NODE_REMOVE:
		return op_node_remove(fsm, c, t);
	case BX_OP_SERVICE_PUT:
		return op_service_put(fsm, c, t);
	case BX_OP_SERVICE_START:
	case BX_OP_SERVICE_STOP:
		return op_service_desired(fsm, c, t);
	case BX_OP_SERVICE_DELETE:
		return op_service_delete(fsm, c, t);
	case BX_OP_SERVICE_ASSIGN:
		return op_service_assign(fsm, c, t);
	case BX_OP_SERVICE_REPORT:
		return op_service_report(fsm, c, t);
	}
	set_result(fsm, BX_EINVAL, NULL, "unhandled op");
	return 0;
}

/* 0, or BX_EIO if the store failed (then libraft must stop: the entry is not applied). */
static int apply_at(struct bx_fsm *fsm, uint64_t index, const char *buf, size_t len)
{
	struct bx_command cmd;
	struct bx_store_txn *t;
	char what[32];
	int rv;

	if (index <= bx_store_applied_index(fsm->store)) {
		set_result(fsm, BX_OK, NULL, "already applied");
		return 0;
	}
	if (bx_store_begin(fsm->store, &t) != 0)
		return BX_ENOMEM;
	rv = bx_command_parse(buf, len, &cmd, fsm->last.msg, sizeof fsm->last.msg);
	if (rv != 0) {
		char msg[sizeof fsm->last.msg];
		memcpy(msg, fsm->last.msg, sizeof msg);
		set_result(fsm, BX_EINVAL, NULL, "%s", msg);
	} else {
		rv = run_op(fsm, &cmd, t);
		if (rv != 0) {
			bx_store_abort(t);
			bx_command_free(&cmd);
			set_result(fsm, BX_EIO, NULL, "write the state store");
			return BX_EIO;
		}
	}
	rv = bx_store_commit(t, index);
	if (rv != 0) {
		bx_command_free(&cmd);
		set_result(fsm, rv, NULL, "write the state store");
		return rv;
	}
	if (cmd.json != NULL && fsm->on_apply != NULL && fsm->last.code == BX_OK) {
		const char *name = cmd.name;
		if (name == NULL) {
			snprintf(what, sizeof what, "%llu", (unsigned long long)cmd.id);
			name = what;
		}
		fsm->on_apply(fsm, &fsm->last, cmd.op_name, name);
	}
	bx_command_free(&cmd);
	return 0;
}

const struct bx_fsm_result *bx_fsm_apply_json(struct bx_fsm *fsm, uint64_t index,
					      const char *buf, size_t len)
{
	if (apply_at(fsm, index, buf, len) != 0 && fsm->last.code == BX_OK)
		fsm->last.code = BX_EIO;
	return &fsm->last;
}

/* --- libraft's side ------------------------------------------------------ */

static int fsm_apply(struct raft_fsm *rfsm, const struct raft_buffer *buf, void **result)
{
	struct bx_fsm *fsm = rfsm->data;
	uint64_t index = fsm->raft != NULL ? fsm->raft->last_applied + 1
					   : bx_store_applied_index(fsm->store) + 1;
	int rv = apply_at(fsm, index, buf->base, buf->len);

	*result = &fsm->last;
	return rv == 0 ? 0 : RAFT_IOERR;
}

static int fsm_snapshot(struct raft_fsm *rfsm, struct raft_buffer *bufs[],
			unsigned *n_bufs)
{
	struct bx_fsm *fsm = rfsm->data;
	struct raft_buffer *b;
	void *data;
	size_t len;

	if (bx_store_sync(fsm->store) != 0 ||
	    bx_store_snapshot(fsm->store, &data, &len) != 0)
		return RAFT_IOERR;
	b = malloc(sizeof *b);
	if (b == NULL) {
		free(data);
		return RAFT_NOMEM;
	}
	b->base = data;
	b->len = len;
	*bufs = b;
	*n_bufs = 1;
	return 0;
}

/* Version 2+: libraft hands the buffers back here and never frees them itself. */
static int fsm_snapshot_finalize(struct raft_fsm *rfsm, struct raft_buffer *bufs[],
				 unsigned *n_bufs)
{
	(void)rfsm;
	if (*bufs != NULL) {
		for (unsigned i = 0; i < *n_bufs; i++)
			free((*bufs)[i].base);
		free(*bufs);
	}
	*bufs = NULL;
	*n_bufs = 0;
	return 0;
}

/* On success the FSM owns buf->base (libraft's convention, as in dqlite). */
static int fsm_restore(struct raft_fsm *rfsm, struct raft_buffer *buf)
{
	struct bx_fsm *fsm = rfsm->data;
	char errmsg[BX_ERRMSG_SIZE];

	if (bx_store_restore(fsm->store, buf->base, buf->len, errmsg) != 0)
		return RAFT_CORRUPT;
	set_result(fsm, BX_OK, NULL, "restored");
	if (fsm->on_apply != NULL)
		fsm->on_apply(fsm, &fsm->last, "snapshot.restore", "");
	raft_free(buf->base);
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
	fsm->fsm.snapshot_async = NULL;
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
	cJSON_Delete(fsm->last.record);
	fsm->last.record = NULL;
}
