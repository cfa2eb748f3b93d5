/* store.c - the replicated state in LMDB: services, nodes, cluster identity, applied
 * index. */
#include "store.h"

#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Writes are buffered: a transaction collects its operations in memory and
 * bx_store_commit() replays them inside one LMDB write transaction. If LMDB
 * answers MDB_MAP_FULL, the transaction is aborted, the map doubled, and the
 * whole batch replayed: an entry is never half-applied and never lost.
 */

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define SNAP_MAGIC "BXSNAP1"
#define SNAP_VERSION 1u

enum db { DB_META, DB_SERVICES, DB_NODES, DB_COUNT };
static const char *const db_names[DB_COUNT] = {"meta", "services", "nodes"};

struct bx_store {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	size_t map_size;
	char cluster_id[65]; /* cache of meta "cluster_id" */
	uint64_t applied;    /* cache of meta "applied_index" */
	char path[4096];
};

struct op {
	enum db db;
	char *key;
	size_t key_len;
	char *val; /* NULL: delete */
	size_t val_len;
};

struct bx_store_txn {
	struct bx_store *s;
	struct op *ops;
	size_t len, cap;
	bool clear_all; /* restore: drop every record first */
	char cluster_id[65];
	bool set_cluster;
};

/* --- open / close ---------------------------------------------------------- */

static int lmdb_err(char *errmsg, int rc, const char *what, const char *path)
{
	int code = rc == MDB_INVALID || rc == MDB_CORRUPTED ||
			   rc == MDB_VERSION_MISMATCH || rc == MDB_PAGE_NOTFOUND
		       ? BX_ECORRUPT
		       : BX_EIO;
	return bx_err(errmsg, code, "%s '%s': %s", what, path, mdb_strerror(rc));
}

static int load_meta(struct bx_store *s)
{
	MDB_txn *txn;
	MDB_val k, v;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

	if (rc != 0)
		return rc;
	s->applied = 0;
	s->cluster_id[0] = '\0';
	k.mv_data = "applied_index";
	k.mv_size = strlen("applied_index");
	rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
	if (rc == 0 && v.mv_size == sizeof(uint64_t))
		memcpy(&s->applied, v.mv_data, sizeof s->applied);
	else if (rc == 0)
		rc = MDB_CORRUPTED;
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0) {
		k.mv_data = "cluster_id";
		k.mv_size = strlen("cluster_id");
		int r2 = mdb_get(txn, s->dbi[DB_META], &k, &v);
		if (r2 == 0 && v.mv_size < sizeof s->cluster_id) {
			memcpy(s->cluster_id, v.mv_data, v.mv_size);
			s->cluster_id[v.mv_size] = '\0';
		} else if (r2 == 0) {
			rc = MDB_CORRUPTED;
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

int bx_store_open(const char *dir, const struct bx_store_options *opts,
		  struct bx_store **out, char *errmsg)
{
	struct bx_store *s = calloc(1, sizeof *s);
	MDB_txn *txn = NULL;
	char file[4200];
	int rc;

	*out = NULL;
	if (s == NULL)
		return bx_err(errmsg, BX_ENOMEM, "allocate the store");
	snprintf(s->path, sizeof s->path, "%s", dir);
	snprintf(file, sizeof file, "%s/data.mdb", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		free(s);
		return bx_err(errmsg, BX_EIO, "create '%s': %s", dir, strerror(errno));
	}
	s->map_size = opts && opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE;
	rc = mdb_env_create(&s->env);
	if (rc != 0)
		goto fail;
	mdb_env_set_maxdbs(s->env, 8);
	mdb_env_set_mapsize(s->env, s->map_size);
	rc = mdb_env_open(s->env, dir, MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS, 0600);
	if (rc != 0)
		goto fail;
	{
		/* a larger map left by an earlier run is kept */
		MDB_envinfo info;
		if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
			s->map_size = info.me_mapsize;
	}
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		goto fail;
	for (int i = 0; i < DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
		if (rc != 0)
			goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	rc = load_meta(s);
	if (rc != 0)
		goto fail;
	*out = s;
	return BX_OK;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (s->env != NULL)
		mdb_env_close(s->env);
	free(s);
	return lmdb_err(errmsg, rc, "open the state store", file);
}

void bx_store_close(struct bx_store *s)
{
	if (s == NULL)
		return;
	mdb_env_sync(s->env, 1);
	mdb_env_close(s->env);
	free(s);
}

/* --- reads ----------------------------------------------------------------- */

uint64_t bx_store_applied_index(struct bx_store *s)
{
	return s->applied;
}

const char *bx_store_cluster_id(struct bx_store *s)
{
	return s->cluster_id;
}

static int get_json(struct bx_store *s, enum db db, const char *key, cJSON **out)
{
	MDB_txn *txn;
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc;

	*out = NULL;
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return BX_EIO;
	rc = mdb_get(txn, s->dbi[db], &k, &v);
	if (rc == 0)
		*out = cJSON_ParseWithLength(v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return BX_ENOENT;
	if (rc != 0)
		return BX_EIO;
	return *out ? BX_OK : BX_ECORRUPT;
}

static void node_key(uint64_t id, char *buf, size_t size)
{
	/* zero-padded so that LMDB's byte order is numeric order */
	snprintf(buf, size, "%020" PRIu64, id);
}

int bx_store_get_service(struct bx_store *s, const char *name, cJSON **out)
{
	return get_json(s, DB_SERVICES, name, out);
}

int bx_store_get_node(struct bx_store *s, uint64_t id, cJSON **out)
{
	char key[24];

	node_key(id, key, sizeof key);
	return get_json(s, DB_NODES, key, out);
}

static int list_json(struct bx_store *s, enum db db, cJSON **out)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	cJSON *arr = cJSON_CreateArray();
	int rc;

	*out = NULL;
	if (arr == NULL)
		return BX_ENOMEM;
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		cJSON_Delete(arr);
		return BX_EIO;
	}
	rc = mdb_cursor_open(txn, s->dbi[db], &cur);
	if (rc == 0) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			cJSON *item = cJSON_ParseWithLength(v.mv_data, v.mv_size);
			if (item == NULL) {
				rc = MDB_CORRUPTED;
				break;
			}
			cJSON_AddItemToArray(arr, item);
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND) {
		cJSON_Delete(arr);
		return rc == MDB_CORRUPTED ? BX_ECORRUPT : BX_EIO;
	}
	*out = arr;
	return BX_OK;
}

int bx_store_list_services(struct bx_store *s, cJSON **out)
{
	return list_json(s, DB_SERVICES, out);
}

int bx_store_list_nodes(struct bx_store *s, cJSON **out)
{
	return list_json(s, DB_NODES, out);
}

/* --- writes ---------------------------------------------------------------- */

int bx_store_begin(struct bx_store *s, struct bx_store_txn **out)
{
	struct bx_store_txn *t = calloc(1, sizeof *t);

	*out = t;
	if (t == NULL)
		return BX_ENOMEM;
	t->s = s;
	return BX_OK;
}

static int add_op(struct bx_store_txn *t, enum db db, const char *key, size_t key_len,
		  const char *val, size_t val_len)
{
	struct op *op;

	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct op *grown = realloc(t->ops, cap * sizeof *grown);
		if (grown == NULL)
			return BX_ENOMEM;
		t->ops = grown;
		t->cap = cap;
	}
	op = &t->ops[t->len];
	op->db = db;
	op->key = malloc(key_len + 1);
	op->val = val ? malloc(val_len + 1) : NULL;
	if (op->key == NULL || (val != NULL && op->val == NULL)) {
		free(op->key);
		free(op->val);
		return BX_ENOMEM;
	}
	memcpy(op->key, key, key_len);
	op->key[key_len] = '\0';
	op->key_len = key_len;
	if (val != NULL)
		memcpy(op->val, val, val_len);
	op->val_len = val_len;
	t->len++;
	return BX_OK;
}

static int put_json(struct bx_store_txn *t, enum db db, const char *key,
		    const cJSON *record)
{
	char *text = cJSON_PrintUnformatted(record);
	int rv;

	if (text == NULL)
		return BX_ENOMEM;
	rv = add_op(t, db, key, strlen(key), text, strlen(text));
	cJSON_free(text);
	return rv;
}

int bx_store_put_service(struct bx_store_txn *t, const char *name, const cJSON *record)
{
	return put_json(t, DB_SERVICES, name, record);
}

int bx_store_del_service(struct bx_store_txn *t, const char *name)
{
	return add_op(t, DB_SERVICES, name, strlen(name), NULL, 0);
}

int bx_store_put_node(struct bx_store_txn *t, uint64_t id, const cJSON *record)
{
	char key[24];

	node_key(id, key, sizeof key);
	return put_json(t, DB_NODES, key, record);
}

int bx_store_del_node(struct bx_store_txn *t, uint64_t id)
{
	char key[24];

	node_key(id, key, sizeof key);
	return add_op(t, DB_NODES, key, strlen(key), NULL, 0);
}

int bx_store_set_cluster_id(struct bx_store_txn *t, const char *cluster_id)
{
	if (strlen(cluster_id) >= sizeof t->cluster_id)
		return BX_EINVAL;
	snprintf(t->cluster_id, sizeof t->cluster_id, "%s", cluster_id);
	t->set_cluster = true;
	return BX_OK;
}

static void free_txn(struct bx_store_txn *t)
{
	for (size_t i = 0; i < t->len; i++) {
		free(t->ops[i].key);
		free(t->ops[i].val);
	}
	free(t->ops);
	free(t);
}

void bx_store_abort(struct bx_store_txn *t)
{
	if (t != NULL)
		free_txn(t);
}

/* One attempt at writing the batch; MDB_MAP_FULL is handled by the caller. */
static int write_batch(struct bx_store_txn *t, uint64_t index)
{
	struct bx_store *s = t->s;
	MDB_txn *txn;
	MDB_val k, v;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);

	if (rc != 0)
		return rc;
	if (t->clear_all) {
		for (int i = 0; i < DB_COUNT && rc == 0; i++)
			rc = mdb_drop(txn, s->dbi[i], 0);
	}
	for (size_t i = 0; i < t->len && rc == 0; i++) {
		struct op *op = &t->ops[i];
		k.mv_data = op->key;
		k.mv_size = op->key_len;
		if (op->val == NULL) {
			rc = mdb_del(txn, s->dbi[op->db], &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			v.mv_data = op->val;
			v.mv_size = op->val_len;
			rc = mdb_put(txn, s->dbi[op->db], &k, &v, 0);
		}
	}
	if (rc == 0 && t->set_cluster) {
		k.mv_data = "cluster_id";
		k.mv_size = strlen("cluster_id");
		v.mv_data = t->cluster_id;
		v.mv_size = strlen(t->cluster_id);
		rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
	}
	if (rc == 0) {
		k.mv_data = "applied_index";
		k.mv_size = strlen("applied_index");
		v.mv_data = &index;
		v.mv_size = sizeof index;
		rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int bx_store_commit(struct bx_store_txn *t, uint64_t applied_index)
{
	struct bx_store *s = t->s;
	int rc;

	for (;;) {
		rc = write_batch(t, applied_index);
		if (rc != MDB_MAP_FULL)
			break;
		/* No transaction is open now: the map may be resized. */
		if (s->map_size >= ((size_t)1 << 40) ||
		    mdb_env_set_mapsize(s->env, s->map_size * 2) != 0)
			break;
		s->map_size *= 2;
	}
	if (rc == 0) {
		s->applied = applied_index;
		if (t->set_cluster)
			snprintf(s->cluster_id, sizeof s->cluster_id, "%s",
				 t->cluster_id);
		else if (t->clear_all)
			s->cluster_id[0] = '\0';
	}
	free_txn(t);
	if (rc == MDB_MAP_FULL)
		return BX_EFULL;
	return rc == 0 ? BX_OK : BX_EIO;
}

int bx_store_sync(struct bx_store *s)
{
	return mdb_env_sync(s->env, 1) == 0 ? BX_OK : BX_EIO;
}

/* --- snapshots --------------------------------------------------------------
 * Layout (integers little-endian):
 *   "BXSNAP1\0" | u32 version | u64 applied index | u32 cluster_id length |
 *   cluster_id | u64 count | count x (u8 db, u32 key len, key, u32 value len,
 *   value) | 32-byte SHA-256 of everything before it.
 */

struct wbuf {
	unsigned char *data;
	size_t len, cap;
	bool oom;
};

static void put_bytes(struct wbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *grown = realloc(b->data, cap);
		if (grown == NULL) {
			b->oom = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_u32(struct wbuf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8),
			      (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
	put_bytes(b, x, 4);
}

static void put_u64(struct wbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

int bx_store_snapshot(struct bx_store *s, void **buf, size_t *len)
{
	struct wbuf b = {0};
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t count = 0;
	size_t count_at;
	int rc;

	*buf = NULL;
	*len = 0;
	put_bytes(&b, SNAP_MAGIC, 8);
	put_u32(&b, SNAP_VERSION);
	put_u64(&b, s->applied);
	put_u32(&b, (uint32_t)strlen(s->cluster_id));
	put_bytes(&b, s->cluster_id, strlen(s->cluster_id));
	count_at = b.len;
	put_u64(&b, 0);
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		free(b.data);
		return BX_EIO;
	}
	for (int db = DB_SERVICES; db < DB_COUNT && rc == 0; db++) {
		rc = mdb_cursor_open(txn, s->dbi[db], &cur);
		if (rc != 0)
			break;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			unsigned char tag = (unsigned char)db;
			put_bytes(&b, &tag, 1);
			put_u32(&b, (uint32_t)k.mv_size);
			put_bytes(&b, k.mv_data, k.mv_size);
			put_u32(&b, (uint32_t)v.mv_size);
			put_bytes(&b, v.mv_data, v.mv_size);
			count++;
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	mdb_txn_abort(txn);
	if (rc != 0 || b.oom) {
		free(b.data);
		return b.oom ? BX_ENOMEM : BX_EIO;
	}
	for (int i = 0; i < 8; i++)
		b.data[count_at + (size_t)i] = (unsigned char)(count >> (8 * i));
	{
		unsigned char digest[SHA256_DIGEST_LENGTH];
		SHA256(b.data, b.len, digest);
		put_bytes(&b, digest, sizeof digest);
	}
	if (b.oom) {
		free(b.data);
		return BX_ENOMEM;
	}
	*buf = b.data;
	*len = b.len;
	return BX_OK;
}

struct rbuf {
	const unsigned char *p;
	size_t left;
};

static bool get_bytes(struct rbuf *r, void *out, size_t n)
{
	if (r->left < n)
		return false;
	if (out != NULL)
		memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static bool get_u32(struct rbuf *r, uint32_t *v)
{
	unsigned char x[4];

	if (!get_bytes(r, x, 4))
		return false;
	*v = (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 |
	     (uint32_t)x[3] << 24;
	return true;
}

static bool get_u64(struct rbuf *r, uint64_t *v)
{
	uint32_t lo, hi;

	if (!get_u32(r, &lo) || !get_u32(r, &hi))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

int bx_store_restore(struct bx_store *s, const void *buf, size_t len, char *errmsg)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct rbuf r = {buf, len};
	struct bx_store_txn *t;
	char magic[8], cluster[65];
	uint32_t version, clen;
	uint64_t applied, count;
	int rv;

	if (len < 8 + SHA256_DIGEST_LENGTH)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot too short (%zu bytes)", len);
	SHA256(buf, len - SHA256_DIGEST_LENGTH, digest);
	if (memcmp(digest, (const unsigned char *)buf + len - SHA256_DIGEST_LENGTH,
		   sizeof digest) != 0)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot checksum mismatch");
	r.left -= SHA256_DIGEST_LENGTH;
	if (!get_bytes(&r, magic, 8) || memcmp(magic, SNAP_MAGIC, 8) != 0)
		return bx_err(errmsg, BX_ECORRUPT, "not a Blixard snapshot");
	if (!get_u32(&r, &version) || version != SNAP_VERSION)
		return bx_err(errmsg, BX_ECORRUPT, "unknown snapshot version");
	if (!get_u64(&r, &applied) || !get_u32(&r, &clen) || clen >= sizeof cluster ||
	    !get_bytes(&r, cluster, clen) || !get_u64(&r, &count))
		return bx_err(errmsg, BX_ECORRUPT, "snapshot header truncated");
	cluster[clen] = '\0';
	if (bx_store_begin(s, &t) != 0)
		return bx_err(errmsg, BX_ENOMEM, "restore");
	t->clear_all = true;
	if (clen > 0)
		bx_store_set_cluster_id(t, cluster);
	for (uint64_t i = 0; i < count; i++) {
		unsigned char tag;
		uint32_t klen, vlen;
		const unsigned char *key, *val;
		if (!get_bytes(&r, &tag, 1) || tag == DB_META || tag >= DB_COUNT ||
		    !get_u32(&r, &klen) || (key = r.p, !get_bytes(&r, NULL, klen)) ||
		    !get_u32(&r, &vlen) || (val = r.p, !get_bytes(&r, NULL, vlen))) {
			bx_store_abort(t);
			return bx_err(errmsg, BX_ECORRUPT,
				      "snapshot entry %" PRIu64 " malformed", i);
		}
		if (add_op(t, (enum db)tag, (const char *)key, klen, (const char *)val,
			   vlen) != 0) {
			bx_store_abort(t);
			return bx_err(errmsg, BX_ENOMEM, "restore");
		}
	}
	if (r.left != 0) {
		bx_store_abort(t);
		return bx_err(errmsg, BX_ECORRUPT,
			      "%zu stray bytes after the snapshot's entries", r.left);
	}
	rv = bx_store_commit(t, applied);
	if (rv != 0)
		return bx_err(errmsg, rv, "write the restored state");
	return BX_OK;
}
