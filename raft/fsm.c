/* fsm.c - the state machine: JSON commands applied to the LMDB store, snapshots. */
#include "fsm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "error.h"

/*
 * Apply is deterministic: every server applies the same committed entries in
 * the same order to the same state and must write the same records. So apply
 * reads no clock (the command's "ts" is "now"), no environment and no
 * randomness, and a command it rejects still advances the applied index, so
 * that the stored index is the index of the last entry seen, on every server.
 *
 * Each entry's changes are computed from committed state and written, with
 * the entry's index, in one store transaction (the store buffers the writes
 * and replays them at commit). An entry at or below the stored index was
 * applied before a restart or is covered by a restored snapshot: skipped.
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

/* The result record becomes the FSM's (fsm->last), written to the store too. */
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
	rc = rc ?: set_num(rec, "state_at", ts);
	return rc;
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
	}
	if (rc != 0)
		goto out;
	rc = set_str(rec, "name", bx_command_str(a->cmd, "name"));
	rc = rc ?: set_str(rec, "api", bx_command_str(a->cmd, "api"));
	rc = rc ?: set_str(rec, "raft", bx_command_str(a->cmd, "raft"));
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	rc = rc ?: bx_store_put_node(a->txn, id, rec);
out:
	a->res->record = rec;
	return rc;
}

static int op_node_remove(struct apply *a)
{
	uint64_t id = bx_command_u64(a->cmd, "id");
	cJSON *rec, *services, *svc;
	int rc;

	snprintf(a->key, sizeof a->key, "%" PRIu64, id);
	rc = bx_store_get_node(a->fsm->store, id, &rec);
	if (rc == BX_ENOENT)
		return reject(a, BX_ENOENT, "node.remove: no node %" PRIu64, id);
	if (rc != 0)
		return rc;
	a->res->record = rec;
	rc = bx_store_del_node(a->txn, id);
	if (rc != 0)
		return rc;
	/* Its services go back to the scheduler, which places them again. */
	rc = bx_store_list_services(a->fsm->store, &services);
	if (rc != 0)
		return rc;
	cJSON_ArrayForEach(svc, services)
	{
		if (num_of(svc, "node") != (double)id)
			continue;
		rc = set_num(svc, "node", 0);
		rc = rc ?: set_str(svc, "state", "pending");
		rc = rc ?: set_num(svc, "pid", 0);
		rc = rc ?: set_num(svc, "state_at", a->ts);
		rc = rc ?: set_num(svc, "updated_at", a->ts);
		rc = rc ?: bx_store_put_service(a->txn, str_of(svc, "name"), svc);
		if (rc != 0)
			break;
	}
	cJSON_Delete(services);
	return rc;
}

static int op_service_put(struct apply *a)
{
	const char *name = bx_command_str(a->cmd, "name");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(a->cmd, "spec");
	const char *desired = bx_command_bool(a->cmd, "start") ? "running" : "stopped";
	cJSON *rec;
	int rc;

	snprintf(a->key, sizeof a->key, "%s", name);
	if (a->fsm->validate != NULL) {
		char msg[sizeof a->res->msg] = "";
		if (a->fsm->validate(spec, msg, sizeof msg) != 0)
			return reject(a, BX_EINVAL, "%s", msg[0] ? msg : "invalid spec");
	}
	rc = bx_store_get_service(a->fsm->store, name, &rec);
	if (rc == BX_ENOENT) {
		rec = cJSON_CreateObject();
		if (rec == NULL)
			return BX_ENOMEM;
		rc = set_str(rec, "name", name);
		rc = rc ?: set_item(rec, "spec", cJSON_Duplicate(spec, 1));
		rc = rc ?: set_num(rec, "generation", 1);
		rc = rc ?: set_str(rec, "desired", desired);
		rc = rc ?: set_num(rec, "node", 0);
		rc = rc ?: set_str(rec, "state", "pending");
		rc = rc ?: set_num(rec, "pid", 0);
		rc = rc ?: set_num(rec, "restarts", 0);
		rc = rc ?: set_str(rec, "reason", "");
		rc = rc ?: set_num(rec, "created_at", a->ts);
		rc = rc ?: set_num(rec, "updated_at", a->ts);
		rc = rc ?: set_num(rec, "state_at", a->ts);
		if (rc != 0) {
			cJSON_Delete(rec);
			return rc;
		}
		return keep_service(a, rec);
	}
	if (rc != 0)
		return rc;
	a->res->record = rec;
	if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(rec, "spec"), spec, 1)) {
		/* A new spec is a new instance: the agent replaces the old one. */
		rc = set_item(rec, "spec", cJSON_Duplicate(spec, 1));
		rc = rc ?: new_instance(rec, a->ts);
	}
	rc = rc ?: set_str(rec, "desired", desired);
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	return rc ?: keep_service(a, rec);
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

static int op_service_start(struct apply *a)
{
	cJSON *rec;
	const char *state;
	int rc = load_service(a, &rec);

	if (rc != 0)
		return rc == BX_ENOENT ? 0 : rc;
	a->res->record = rec;
	state = str_of(rec, "state");
	/* A finished instance is not restarted in place: start a fresh one. */
	if (strcmp(state, "failed") == 0 || strcmp(state, "exited") == 0 ||
	    strcmp(state, "stopped") == 0)
		rc = new_instance(rec, a->ts);
	rc = rc ?: set_str(rec, "desired", "running");
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	return rc ?: keep_service(a, rec);
}

static int op_service_stop(struct apply *a)
{
	cJSON *rec;
	int rc = load_service(a, &rec);

	if (rc != 0)
		return rc == BX_ENOENT ? 0 : rc;
	a->res->record = rec;
	rc = set_str(rec, "desired", "stopped");
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	return rc ?: keep_service(a, rec);
}

static int op_service_delete(struct apply *a)
{
	cJSON *rec;
	int rc = load_service(a, &rec);

	if (rc != 0)
		return rc == BX_ENOENT ? 0 : rc;
	a->res->record = rec;
	return bx_store_del_service(a->txn, a->key);
}

static int op_service_assign(struct apply *a)
{
	uint64_t node = bx_command_u64(a->cmd, "node");
	uint64_t expect = bx_command_u64(a->cmd, "expect_generation");
	cJSON *rec, *node_rec;
	int rc = load_service(a, &rec);

	if (rc != 0)
		return rc == BX_ENOENT ? 0 : rc;
	a->res->record = rec;
	if (num_of(rec, "generation") != (double)expect)
		return reject(a, BX_ECONFLICT,
			      "service.assign: '%s' is at generation %.0f, not %" PRIu64,
			      a->key, num_of(rec, "generation"), expect);
	if (node != 0) {
		rc = bx_store_get_node(a->fsm->store, node, &node_rec);
		if (rc == BX_ENOENT)
			return reject(a, BX_ENOENT, "service.assign: no node %" PRIu64,
				      node);
		if (rc != 0)
			return rc;
		cJSON_Delete(node_rec);
	}
	rc = set_num(rec, "node", (double)node);
	rc = rc ?: set_num(rec, "generation", num_of(rec, "generation") + 1);
	rc = rc ?: set_str(rec, "state", "pending");
	rc = rc ?: set_num(rec, "pid", 0);
	rc = rc ?: set_str(rec, "reason", "");
	rc = rc ?: set_num(rec, "state_at", a->ts);
	rc = rc ?: set_num(rec, "updated_at", a->ts);
	return rc ?: keep_service(a, rec);
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
	rc = set_str(rec, "state", bx_command_str(a->cmd, "state"));
	rc = rc ?: set_num(rec, "pid", (double)bx_command_u64(a->cmd, "pid"));
	rc = rc ?: set_num(rec, "restarts", (double)bx_command_u64(a->cmd, "restarts"));
	rc = rc ?: set_str(rec, "reason", bx_command_str(a->cmd, "reason"));
	rc = rc ?: set_num(rec, "state_at", a->ts);
	return rc ?: keep_service(a, rec);
}

static const struct {
	const char *op;
	int (*fn)(struct apply *a);
} handlers[] = {
    {"cluster.init", op_cluster_init},     {"node.upsert", op_node_upsert},
    {"node.remove", op_node_remove},       {"service.put", op_service_put},
    {"service.start", op_service_start},   {"service.stop", op_service_stop},
    {"service.delete", op_service_delete}, {"service.assign", op_service_assign},
    {"service.report", op_service_report},
};

/* Commit nothing but the index, so that a rejected entry still counts. */
static int commit_index_only(struct bx_fsm *fsm, uint64_t index)
{
	struct bx_store_txn *txn;
	int rc = bx_store_begin(fsm->store, &txn);

	return rc ?: bx_store_commit(txn, index);
}

static void reset_last(struct bx_fsm *fsm)
{
	cJSON_Delete(fsm->last.record);
	fsm->last.record = NULL;
	fsm->last.code = BX_OK;
	fsm->last.msg[0] = '\0';
}

/* Apply one entry. Returns 0, or a store failure (then fsm->last says so too). */
static int apply_entry(struct bx_fsm *fsm, uint64_t index, const char *buf, size_t len)
{
	struct bx_fsm_result *res = &fsm->last;
	struct apply a = {.fsm = fsm, .res = res, .changed = true};
	const struct bx_command_op *op = NULL;
	cJSON *cmd;
	int rc;

	reset_last(fsm);
	if (index <= bx_store_applied_index(fsm->store)) {
		snprintf(res->msg, sizeof res->msg, "already applied");
		return 0;
	}
	cmd = cJSON_ParseWithLength(buf, len);
	if (cmd == NULL) {
		reject(&a, BX_EINVAL, "malformed command: not JSON");
	} else if (bx_command_validate(cmd, &op, res->msg, sizeof res->msg) != 0) {
		res->code = BX_EINVAL;
	}
	if (res->code != BX_OK)
		goto rejected;

	a.cmd = cmd;
	a.ts = cJSON_GetObjectItemCaseSensitive(cmd, "ts")->valuedouble;
	rc = bx_store_begin(fsm->store, &a.txn);
	if (rc != 0)
		goto failed;
	rc = BX_EINVAL;
	for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
		if (strcmp(handlers[i].op, op->name) == 0)
			rc = handlers[i].fn(&a);
	if (rc != 0 || res->code != BX_OK) {
		/* Rejected (or failed) half-way: none of its writes happen. */
		bx_store_abort(a.txn);
		if (rc != 0)
			goto failed;
		goto rejected;
	}
	rc = bx_store_commit(a.txn, index);
	if (rc != 0)
		goto failed;
	if (fsm->on_apply != NULL && a.changed)
		fsm->on_apply(fsm, res, op->name, a.key);
	cJSON_Delete(cmd);
	return 0;

rejected:
	/* A rejected command's record is not the record written. */
	cJSON_Delete(res->record);
	res->record = NULL;
	cJSON_Delete(cmd);
	rc = commit_index_only(fsm, index);
	if (rc != 0) {
		res->code = rc;
		snprintf(res->msg, sizeof res->msg, "store: %s", bx_strerror(rc));
	}
	return rc;

failed:
	cJSON_Delete(res->record);
	res->record = NULL;
	cJSON_Delete(cmd);
	res->code = rc;
	snprintf(res->msg, sizeof res->msg, "store: %s", bx_strerror(rc));
	return rc;
}

const struct bx_fsm_result *bx_fsm_apply_json(struct bx_fsm *fsm, uint64_t index,
					      const char *buf, size_t len)
{
	apply_entry(fsm, index, buf, len);
	return &fsm->last;
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

	*result = &fsm->last;
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
	reset_last(fsm);
	/* the whole state changed: tell the daemon (op "snapshot.restore") */
	if (fsm->on_apply != NULL)
		fsm->on_apply(fsm, &fsm->last, "snapshot.restore", "");
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
	cJSON_Delete(fsm->last.record);
	fsm->last.record = NULL;
	bx_store_snapshot_end(fsm->snap);
	fsm->snap = NULL;
}
