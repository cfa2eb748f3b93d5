/* fsm.c - the state machine: JSON commands applied to the LMDB store, snapshots. */
#include "raft/fsm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/command.h"
#include "raft/fsm_internal.h"
#include "src/base/error.h"

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

/* Each op's handler, by op (raft/ops.h). */
static int (*const handlers[BX_OP_COUNT])(struct apply *a) = {
#define HANDLER(id, name, fields, check, apply) [BX_OP_##id] = apply,
    BX_OPS(HANDLER)
#undef HANDLER
};

/* What on_apply is told of one applied command. */
struct bx_fsm_note {
	bool applied; /* op is set: the command was applied (not rejected) */
	enum bx_op op;
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
		fsm->notes[i] = (struct bx_fsm_note){.applied = false};
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
		return fsm_reject(&a, BX_EINVAL, "malformed command: not a JSON object");
	if (bx_command_validate(cmd, &op, res->msg, sizeof res->msg) != 0) {
		res->code = BX_EINVAL;
		return 0;
	}
	a.cmd = cmd;
	a.ts = cJSON_GetObjectItemCaseSensitive(cmd, "ts")->valuedouble;
	rc = bx_store_savepoint(txn);
	if (rc != 0)
		return rc;
	rc = handlers[op->id](&a);
	if (rc != 0 || res->code != BX_OK) {
		/* Rejected (or failed) half-way: none of its writes happen, and
		 * its record is not the record written. */
		bx_store_rollback(txn);
		cJSON_Delete(res->record);
		res->record = NULL;
		return rc;
	}
	note->applied = true;
	note->op = op->id;
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
		if (fsm->notes[i].applied && fsm->notes[i].changed)
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
 * still empty; fsm_snapshot_async writes the copy into it (one pass over the
 * state: copy + SHA-256, ~20 MB at 40,000 services). libraft 0.22's classic
 * API would run that second step on the loop thread; the node runs it on the
 * libuv thread pool instead (raft/snapshot_put.c) while applies go on. With
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
	/* the whole state changed: tell the daemon (BX_OP_RESTORE) */
	if (fsm->on_apply != NULL && prepare_results(fsm, 1) == 0)
		fsm->on_apply(fsm, &fsm->results.items[0], BX_OP_RESTORE, "");
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
