/* store_txn.c - write transactions: writes through LMDB, savepoints, growing the map. */
#include "src/store/store_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"
#include "src/base/json.h"

/* Write one recorded operation (and the index with it) into txn. */
static int apply_op(struct bx_store *s, MDB_txn *txn, const struct op *op)
{
	MDB_val key = {op->key_len, op->key}, val = {op->val_len, op->val};
	int rc;

	if (op->val != NULL) {
		rc = mdb_put(txn, s->dbi[op->db], &key, &val, 0);
	} else {
		rc = mdb_del(txn, s->dbi[op->db], &key, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc == 0 && op->db == DB_SERVICES)
		rc = store_index_service(s, txn, op->key, op->key_len,
					 op->val != NULL ? op->place : NULL);
	return rc;
}

static void drop_txns(struct bx_store_txn *t)
{
	if (t->child != NULL)
		mdb_txn_abort(t->child);
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	t->child = t->txn = NULL;
	t->s->wtxn = NULL;
}

/*
 * MDB_MAP_FULL: abort, double the map, begin again and replay every recorded
 * write (those since the savepoint into a new savepoint), as often as needed.
 */
static int regrow(struct bx_store_txn *t)
{
	struct bx_store *s = t->s;
	bool in_child = t->child != NULL;
	int rc;

	for (;;) {
		drop_txns(t);
		rc = store_grow(s);
		if (rc != 0)
			return rc;
		rc = store_txn_begin(s, 0, &t->txn);
		if (rc != 0)
			return store_lmdb_code(rc);
		s->wtxn = t->txn;
		for (size_t i = 0; i < (in_child ? t->sp : t->n_ops) && rc == 0; i++)
			rc = apply_op(s, t->txn, &t->ops[i]);
		if (rc == 0 && in_child) {
			rc = mdb_txn_begin(s->env, t->txn, 0, &t->child);
			if (rc == 0)
				s->wtxn = t->child;
			for (size_t i = t->sp; i < t->n_ops && rc == 0; i++)
				rc = apply_op(s, t->child, &t->ops[i]);
		}
		if (rc != MDB_MAP_FULL)
			return store_lmdb_code(rc);
	}
}

int bx_store_begin(struct bx_store *s, struct bx_store_txn **out)
{
	struct bx_store_txn *t;
	int rc;

	*out = NULL;
	if (s->txn_open)
		return BX_EBUSY;
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return BX_ENOMEM;
	t->s = s;
	rc = store_txn_begin(s, 0, &t->txn);
	if (rc != 0) {
		free(t);
		return store_lmdb_code(rc);
	}
	s->txn_open = true;
	s->wtxn = t->txn;
	t->event_seq = t->sp_event_seq = s->event_seq;
	*out = t;
	return BX_OK;
}

/* Record one operation (key and value copied) and write it. */
static int add_op(struct bx_store_txn *t, int db, const char *key, size_t key_len,
		  const char *val, size_t val_len, const unsigned char *place)
{
	struct op *op;
	int rc;

	if (t->err != 0)
		return t->err;
	if (key_len == 0 || key_len > MAX_KEY)
		return BX_EINVAL;
	if (t->n_ops == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		struct op *ops = realloc(t->ops, cap * sizeof *ops);
		if (ops == NULL)
			return t->err = BX_ENOMEM;
		t->ops = ops;
		t->cap = cap;
	}
	op = &t->ops[t->n_ops];
	op->db = db;
	op->key = malloc(key_len);
	op->val = NULL;
	op->key_len = key_len;
	op->val_len = val_len;
	if (op->key == NULL)
		return t->err = BX_ENOMEM;
	memcpy(op->key, key, key_len);
	if (val != NULL) {
		op->val = malloc(val_len ? val_len : 1);
		if (op->val == NULL) {
			free(op->key);
			return t->err = BX_ENOMEM;
		}
		memcpy(op->val, val, val_len);
	}
	if (place != NULL)
		memcpy(op->place, place, PLACE_PREFIX);
	t->n_ops++;
	rc = apply_op(t->s, t->s->wtxn, op);
	if (rc == MDB_MAP_FULL)
		rc = regrow(t);
	return rc == 0 ? BX_OK : (t->err = store_lmdb_code(rc));
}

static int add_json(struct bx_store_txn *t, int db, const char *key, size_t key_len,
		    const cJSON *record, const unsigned char *place)
{
	char *text;
	size_t len = 0;
	int rc;

	if (record == NULL)
		return BX_EINVAL;
	text = bx_json_print(record, &len);
	if (text == NULL)
		return t->err = BX_ENOMEM;
	rc = add_op(t, db, key, key_len, text, len, place);
	free(text);
	return rc;
}

int bx_store_put_service(struct bx_store_txn *t, const char *name, const cJSON *record)
{
	unsigned char place[PLACE_PREFIX];

	if (strlen(name) > MAX_KEY - PLACE_PREFIX)
		return BX_EINVAL;
	store_placement_of(record, place);
	return add_json(t, DB_SERVICES, name, strlen(name), record, place);
}

int bx_store_del_service(struct bx_store_txn *t, const char *name)
{
	return add_op(t, DB_SERVICES, name, strlen(name), NULL, 0, NULL);
}

int bx_store_put_node(struct bx_store_txn *t, uint64_t id, const cJSON *record)
{
	char key[24];
	int n = snprintf(key, sizeof key, "%" PRIu64, id);
	return add_json(t, DB_NODES, key, (size_t)n, record, NULL);
}

int bx_store_del_node(struct bx_store_txn *t, uint64_t id)
{
	char key[24];
	int n = snprintf(key, sizeof key, "%" PRIu64, id);
	return add_op(t, DB_NODES, key, (size_t)n, NULL, 0, NULL);
}

/* The meta key "KIND/ID" into key (80 bytes: ids are at most 64 characters);
 * its length. */
static size_t meta_key(char *key, const char *kind, const char *id)
{
	return (size_t)snprintf(key, 80, "%s/%.64s", kind, id);
}

int bx_store_put_invite(struct bx_store_txn *t, const char *id, const cJSON *record)
{
	char key[80];
	return add_json(t, DB_META, key, meta_key(key, "invite", id), record, NULL);
}

int bx_store_put_token(struct bx_store_txn *t, const char *id, const cJSON *record)
{
	char key[80];
	return add_json(t, DB_META, key, meta_key(key, "token", id), record, NULL);
}

int bx_store_del_token(struct bx_store_txn *t, const char *id)
{
	char key[80];
	return add_op(t, DB_META, key, meta_key(key, "token", id), NULL, 0, NULL);
}

int bx_store_set_cluster_id(struct bx_store_txn *t, const char *cluster_id)
{
	return add_op(t, DB_META, KEY_CLUSTER, strlen(KEY_CLUSTER), cluster_id,
		      strlen(cluster_id), NULL);
}

int bx_store_add_event(struct bx_store_txn *t, const char *members, uint64_t keep)
{
	struct bx_store *s = t->s;
	unsigned char key[8];
	size_t len = strlen(members) + 40;
	char *text;
	int n, rc;

	if (t->err != 0)
		return t->err;
	if (!s->event_seq_known) {
		rc = store_last_event(s, s->wtxn, &s->event_seq);
		if (rc != 0)
			return t->err = store_lmdb_code(rc);
		s->event_seq_known = true;
		t->event_seq = t->sp_event_seq = s->event_seq;
	}
	text = malloc(len);
	if (text == NULL)
		return t->err = BX_ENOMEM;
	n = snprintf(text, len, "{\"seq\":%" PRIu64 ",%s}", t->event_seq + 1, members);
	put_be64(key, t->event_seq + 1);
	rc = add_op(t, DB_EVENTS, (const char *)key, sizeof key, text, (size_t)n, NULL);
	free(text);
	if (rc != 0)
		return rc;
	t->event_seq++;
	if (keep > 0 && t->event_seq > keep) {
		put_be64(key, t->event_seq - keep);
		rc = add_op(t, DB_EVENTS, (const char *)key, sizeof key, NULL, 0, NULL);
	}
	return rc;
}

static void free_ops(struct bx_store_txn *t, size_t from)
{
	for (size_t i = from; i < t->n_ops; i++) {
		free(t->ops[i].key);
		free(t->ops[i].val);
	}
	t->n_ops = from;
}

int bx_store_savepoint(struct bx_store_txn *t)
{
	int rc;

	if (t->err != 0)
		return t->err;
	if (t->child != NULL)
		return BX_EBUSY;
	rc = mdb_txn_begin(t->s->env, t->txn, 0, &t->child);
	if (rc != 0)
		return t->err = store_lmdb_code(rc);
	t->sp = t->n_ops;
	t->sp_event_seq = t->event_seq;
	t->s->wtxn = t->child;
	return BX_OK;
}

void bx_store_rollback(struct bx_store_txn *t)
{
	if (t->child == NULL)
		return;
	mdb_txn_abort(t->child);
	t->child = NULL;
	t->s->wtxn = t->txn;
	t->event_seq = t->sp_event_seq;
	free_ops(t, t->sp);
	if (t->err == BX_EFULL || t->err == BX_ENOMEM)
		return; /* the whole transaction failed: commit reports it */
	t->err = 0;
}

int bx_store_release(struct bx_store_txn *t)
{
	int rc;

	if (t->child == NULL)
		return t->err;
	if (t->err != 0) {
		bx_store_rollback(t);
		return t->err;
	}
	rc = mdb_txn_commit(t->child);
	t->child = NULL;
	t->s->wtxn = t->txn;
	if (rc != 0)
		t->err = store_lmdb_code(rc);
	return t->err;
}

static void txn_free(struct bx_store_txn *t)
{
	drop_txns(t);
	free_ops(t, 0);
	free(t->ops);
	t->s->txn_open = false;
	free(t);
}

void bx_store_abort(struct bx_store_txn *t)
{
	if (t != NULL)
		txn_free(t);
}

int bx_store_commit(struct bx_store_txn *t, uint64_t applied_index)
{
	struct bx_store *s = t->s;
	unsigned char le[8];
	MDB_val key = {strlen(KEY_APPLIED), KEY_APPLIED}, val = {8, le};
	int rc = bx_store_release(t);

	put_le64(le, applied_index);
	while (rc == 0) {
		rc = mdb_put(t->txn, s->dbi[DB_META], &key, &val, 0);
		if (rc == 0) {
			rc = mdb_txn_commit(t->txn); /* frees it, also on failure */
			t->txn = NULL;
			s->wtxn = NULL;
		}
		if (rc != MDB_MAP_FULL)
			break;
		rc = regrow(t);
	}
	rc = store_lmdb_code(rc);
	if (rc == 0)
		s->event_seq = t->event_seq;
	else
		s->event_seq_known = false; /* read it again */
	txn_free(t);
	if (rc == 0)
		rc = store_load_meta(s);
	return rc;
}
