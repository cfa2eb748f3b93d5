/* store.c - the replicated state in LMDB: buffered write transactions, snapshots. */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

/*
 * Design notes.
 *
 * A write transaction is a real LMDB write transaction, and every read made
 * while one is open (the FSM's, during apply) goes through it: a command sees
 * the writes of the commands before it in the same batch. Each put/delete is
 * also recorded in memory. If LMDB runs out of map space (MDB_MAP_FULL, from a
 * put or from the commit) the transaction is aborted, the map is doubled with
 * mdb_env_set_mapsize() - legal then, because no transaction of ours is open -
 * and the recorded writes are replayed into a new one. The caller never sees
 * MAP_FULL unless the map cannot grow any further.
 *
 * A savepoint (one level: an LMDB nested transaction) lets the FSM drop the
 * writes of one rejected command and keep those of the others.
 *
 * Everything runs on one thread (the libuv loop); MDB_NOTLS only keeps LMDB
 * from tying read slots to threads.
 *
 * Placement index. Two derived databases let the agent and the scheduler read
 * only the services that concern them, not every record:
 *   placed    node (u64 BE) + 'r'|'s' (desired running or not) + name -> ""
 *   place_of  name -> the 9-byte prefix of its "placed" key
 * They are kept in the same transaction as the record (write_ops), are not
 * part of snapshots, and are rebuilt from the records after a restore and
 * when a store written before they existed is opened.
 */

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define MAX_MAP_SIZE ((size_t)1 << 40) /* 1 TiB: stop doubling there */
#define MAX_KEY 511                    /* LMDB's default mdb_env_get_maxkeysize() */

enum { DB_META = 1, DB_SERVICES = 2, DB_NODES = 3, DB_PLACED = 4, DB_PLACE_OF = 5 };
#define N_DBS 6
#define PLACE_PREFIX 9 /* node u64 BE + state byte */

#define KEY_APPLIED "applied_index"
#define KEY_CLUSTER "cluster_id"

struct bx_store {
	MDB_env *env;
	MDB_dbi dbi[N_DBS]; /* indexed by DB_*; [0] unused */
	size_t map_size;  /* current map size, doubled on MDB_MAP_FULL */
	uint64_t applied; /* cache of meta/applied_index, updated at each commit */
	char *cluster_id; /* cache of meta/cluster_id, never NULL ("" if unset) */
	bool txn_open;    /* at most one write transaction at a time */
	MDB_txn *wtxn;    /* while one is open: the innermost; reads go through it */
	/* Snapshot copies in progress (bx_store_snapshot_begin .. _write): their
	 * read transaction may be on another thread, and the map must not be
	 * resized while any is open. The only lock in the store. */
	pthread_mutex_t snap_lock;
	pthread_cond_t snap_done;
	unsigned snap_readers;
};

struct bx_store_snap {
	struct bx_store *s;
	MDB_txn *txn; /* NULL once written */
	uint64_t applied;
};

struct op {
	int db;
	char *key;
	size_t key_len;
	char *val; /* NULL: delete */
	size_t val_len;
	unsigned char place[PLACE_PREFIX]; /* services: the placement to index */
};

struct bx_store_txn {
	struct bx_store *s;
	MDB_txn *txn;   /* the LMDB write transaction */
	MDB_txn *child; /* the savepoint's nested transaction, or NULL */
	struct op *ops; /* every write so far, to replay after growing the map */
	size_t n_ops, cap;
	size_t sp;      /* n_ops when the savepoint was taken */
	int err;        /* first failure (ENOMEM, EFULL…): commit returns it */
};

static int lmdb_code(int rc)
{
	switch (rc) {
	case 0:
		return BX_OK;
	case MDB_NOTFOUND:
		return BX_ENOENT;
	case ENOMEM:
		return BX_ENOMEM;
	case MDB_MAP_FULL:
		return BX_EFULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return BX_ECORRUPT;
	default:
		return BX_EIO;
	}
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Begin a transaction, adopting a map grown by someone else if LMDB asks. */
static int txn_begin(struct bx_store *s, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	return rc;
}

/* A transaction to read in: the open write transaction if any (reads then
 * see its writes), else a new read-only one. */
static int read_begin(struct bx_store *s, MDB_txn **txn)
{
	if (s->wtxn != NULL) {
		*txn = s->wtxn;
		return 0;
	}
	return txn_begin(s, MDB_RDONLY, txn);
}

static void read_end(struct bx_store *s, MDB_txn *txn)
{
	if (txn != s->wtxn)
		mdb_txn_abort(txn);
}

/* --- placement index ------------------------------------------------------ */

/* The placement of a service record: its node (0: none) and whether it should run. */
static void placement_of(const cJSON *rec, unsigned char place[PLACE_PREFIX])
{
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(rec, "node");
	const cJSON *desired = cJSON_GetObjectItemCaseSensitive(rec, "desired");
	bool running = cJSON_IsString(desired) && strcmp(desired->valuestring, "running") == 0;

	put_be64(place, cJSON_IsNumber(node) && node->valuedouble > 0
			    ? (uint64_t)node->valuedouble
			    : 0);
	place[8] = running ? 'r' : 's';
}

/* Index service `name` at `place`, or drop it from the index (place NULL). */
static int index_service(struct bx_store *s, MDB_txn *txn, const void *name, size_t len,
			 const unsigned char *place)
{
	unsigned char k[PLACE_PREFIX + MAX_KEY];
	MDB_val nkey = {len, (void *)name}, old, key = {PLACE_PREFIX + len, k}, empty = {0, ""};
	int rc;

	if (len > MAX_KEY - PLACE_PREFIX)
		return EINVAL;
	memcpy(k + PLACE_PREFIX, name, len);
	rc = mdb_get(txn, s->dbi[DB_PLACE_OF], &nkey, &old);
	if (rc == 0 && old.mv_size == PLACE_PREFIX) {
		if (place != NULL && memcmp(old.mv_data, place, PLACE_PREFIX) == 0)
			return 0;
		memcpy(k, old.mv_data, PLACE_PREFIX);
		rc = mdb_del(txn, s->dbi[DB_PLACED], &key, NULL);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (place == NULL) {
		rc = mdb_del(txn, s->dbi[DB_PLACE_OF], &nkey, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	memcpy(k, place, PLACE_PREFIX);
	rc = mdb_put(txn, s->dbi[DB_PLACED], &key, &empty, 0);
	if (rc == 0) {
		MDB_val val = {PLACE_PREFIX, (void *)place};
		rc = mdb_put(txn, s->dbi[DB_PLACE_OF], &nkey, &val, 0);
	}
	return rc;
}

/* Rebuild the index from the records (after a restore; on an older store). */
static int index_all(struct bx_store *s, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_drop(txn, s->dbi[DB_PLACED], 0);

	rc = rc ?: mdb_drop(txn, s->dbi[DB_PLACE_OF], 0);
	rc = rc ?: mdb_cursor_open(txn, s->dbi[DB_SERVICES], &cur);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		unsigned char place[PLACE_PREFIX];
		cJSON *rec = cJSON_ParseWithLength(val.mv_data, val.mv_size);
		if (rec == NULL) {
			rc = MDB_CORRUPTED;
			break;
		}
		placement_of(rec, place);
		cJSON_Delete(rec);
		rc = index_service(s, txn, key.mv_data, key.mv_size, place);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Reload the cached meta values from committed state. */
static int read_meta(struct bx_store *s, MDB_txn *txn)
{
	MDB_val key, val;
	char *id;
	int rc;

	s->applied = 0;
	key.mv_data = KEY_APPLIED;
	key.mv_size = strlen(KEY_APPLIED);
	rc = mdb_get(txn, s->dbi[DB_META], &key, &val);
	if (rc == 0 && val.mv_size == 8)
		s->applied = get_le64(val.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		goto fail;

	key.mv_data = KEY_CLUSTER;
	key.mv_size = strlen(KEY_CLUSTER);
	rc = mdb_get(txn, s->dbi[DB_META], &key, &val);
	if (rc == MDB_NOTFOUND) {
		val.mv_data = "";
		val.mv_size = 0;
	} else if (rc != 0) {
		goto fail;
	}
	id = malloc(val.mv_size + 1);
	if (id == NULL)
		return BX_ENOMEM;
	memcpy(id, val.mv_data, val.mv_size);
	id[val.mv_size] = '\0';
	free(s->cluster_id);
	s->cluster_id = id;
	return BX_OK;
fail:
	return lmdb_code(rc);
}

static int load_meta(struct bx_store *s)
{
	MDB_txn *txn;
	int rc = txn_begin(s, MDB_RDONLY, &txn);

	if (rc != 0)
		return lmdb_code(rc);
	rc = read_meta(s, txn);
	mdb_txn_abort(txn);
	return rc;
}

int bx_store_open(const char *dir, const struct bx_store_options *opts,
		  struct bx_store **out, char *errmsg)
{
	static const char *const names[N_DBS] = {NULL,	   "meta",   "services",
						 "nodes", "placed", "place_of"};
	bool reindex = false;
	struct bx_store *s;
	MDB_txn *txn;
	MDB_envinfo info;
	int rc;

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return bx_err(errmsg, BX_EIO, "create '%s': %s", dir, strerror(errno));
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return bx_err(errmsg, BX_ENOMEM, "open store: out of memory");
	s->map_size =
	    opts != NULL && opts->map_size > 0 ? opts->map_size : DEFAULT_MAP_SIZE;
	pthread_mutex_init(&s->snap_lock, NULL);
	pthread_cond_init(&s->snap_done, NULL);

	rc = mdb_env_create(&s->env);
	if (rc != 0)
		goto err_after_alloc;
	mdb_env_set_maxdbs(s->env, 8);
	mdb_env_set_mapsize(s->env, s->map_size);
	rc = mdb_env_open(s->env, dir, MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS, 0600);
	if (rc != 0)
		goto err_after_env;
	/* An existing file larger than the requested map is adopted whole. */
	if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
		s->map_size = info.me_mapsize;

	rc = txn_begin(s, 0, &txn);
	if (rc != 0)
		goto err_after_env;
	for (int i = DB_META; i < N_DBS; i++) {
		rc = mdb_dbi_open(txn, names[i], 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			/* a new store, or one from before the index */
			reindex = reindex || i >= DB_PLACED;
			rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &s->dbi[i]);
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			goto err_after_env;
		}
	}
	if (reindex)
		rc = index_all(s, txn);
	if (rc != 0) {
		mdb_txn_abort(txn);
		goto err_after_env;
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		goto err_after_env;
	rc = load_meta(s);
	if (rc != 0) {
		mdb_env_close(s->env);
		free(s->cluster_id);
		free(s);
		return bx_err(errmsg, rc, "open store '%s': read meta: %s", dir,
			      bx_strerror(rc));
	}
	*out = s;
	return BX_OK;

err_after_env:
	mdb_env_close(s->env);
err_after_alloc:
	free(s);
	return bx_err(errmsg, lmdb_code(rc), "open store '%s': %s", dir,
		      mdb_strerror(rc));
}

/* Wait until no snapshot copy holds a read transaction (before a resize or close). */
static void wait_snapshots(struct bx_store *s)
{
	pthread_mutex_lock(&s->snap_lock);
	while (s->snap_readers > 0)
		pthread_cond_wait(&s->snap_done, &s->snap_lock);
	pthread_mutex_unlock(&s->snap_lock);
}

void bx_store_close(struct bx_store *s)
{
	if (s == NULL)
		return;
	wait_snapshots(s);
	mdb_env_close(s->env);
	pthread_mutex_destroy(&s->snap_lock);
	pthread_cond_destroy(&s->snap_done);
	free(s->cluster_id);
	free(s);
}

uint64_t bx_store_applied_index(struct bx_store *s)
{
	return s->applied;
}

const char *bx_store_cluster_id(struct bx_store *s)
{
	/* during a write transaction: as that transaction sees it */
	if (s->wtxn != NULL && read_meta(s, s->wtxn) != 0)
		return "";
	return s->cluster_id;
}

/* One key's value parsed as JSON. */
static int get_json(struct bx_store *s, int db, const char *k, size_t klen, cJSON **out)
{
	MDB_txn *txn;
	MDB_val key = {klen, (void *)k}, val;
	int rc;

	*out = NULL;
	rc = read_begin(s, &txn);
	if (rc != 0)
		return lmdb_code(rc);
	rc = mdb_get(txn, s->dbi[db], &key, &val);
	if (rc == 0) {
		*out = cJSON_ParseWithLength(val.mv_data, val.mv_size);
		if (*out == NULL)
			rc = MDB_CORRUPTED;
	}
	read_end(s, txn);
	return lmdb_code(rc);
}

int bx_store_get_service(struct bx_store *s, const char *name, cJSON **out)
{
	size_t len = strlen(name);
	if (len == 0 || len > MAX_KEY) {
		*out = NULL;
		return BX_ENOENT;
	}
	return get_json(s, DB_SERVICES, name, len, out);
}

int bx_store_get_node(struct bx_store *s, uint64_t id, cJSON **out)
{
	char key[24];
	int n = snprintf(key, sizeof key, "%" PRIu64, id);
	return get_json(s, DB_NODES, key, (size_t)n, out);
}

/* Every value of one database, parsed, as an array in key order. */
static int list_json(struct bx_store *s, int db, cJSON **out)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	cJSON *arr;
	int rc;

	*out = NULL;
	arr = cJSON_CreateArray();
	if (arr == NULL)
		return BX_ENOMEM;
	rc = read_begin(s, &txn);
	if (rc != 0)
		goto err_after_arr;
	rc = mdb_cursor_open(txn, s->dbi[db], &cur);
	if (rc != 0)
		goto err_after_txn;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		cJSON *item = cJSON_ParseWithLength(val.mv_data, val.mv_size);
		if (item == NULL) {
			rc = MDB_CORRUPTED;
			break;
		}
		cJSON_AddItemToArray(arr, item);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		goto err_after_txn;
	read_end(s, txn);
	*out = arr;
	return BX_OK;

err_after_txn:
	read_end(s, txn);
err_after_arr:
	cJSON_Delete(arr);
	return lmdb_code(rc);
}

int bx_store_list_services(struct bx_store *s, cJSON **out)
{
	/* Names are [a-z0-9-]: LMDB's byte order is the order by name. */
	return list_json(s, DB_SERVICES, out);
}

int bx_store_list_services_raw(struct bx_store *s, char **out, size_t *len)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	char *buf = NULL;
	size_t used = 0;
	FILE *f;
	int rc;

	*out = NULL;
	*len = 0;
	f = open_memstream(&buf, &used);
	if (f == NULL)
		return BX_ENOMEM;
	rc = read_begin(s, &txn);
	if (rc != 0) {
		fclose(f);
		free(buf);
		return lmdb_code(rc);
	}
	rc = mdb_cursor_open(txn, s->dbi[DB_SERVICES], &cur);
	if (rc == 0) {
		bool first = true;
		fputc('[', f);
		for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			if (!first)
				fputc(',', f);
			first = false;
			fwrite(val.mv_data, 1, val.mv_size, f);
		}
		fputc(']', f);
		mdb_cursor_close(cur);
	}
	read_end(s, txn);
	if (fclose(f) != 0 || rc != MDB_NOTFOUND) {
		free(buf);
		return rc == MDB_NOTFOUND ? BX_ENOMEM : lmdb_code(rc);
	}
	*out = buf;
	*len = used;
	return BX_OK;
}

int bx_store_list_placed(struct bx_store *s, uint64_t node, bool running_only, cJSON **out)
{
	unsigned char prefix[PLACE_PREFIX];
	size_t plen = running_only ? PLACE_PREFIX : 8;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val key = {plen, prefix}, val;
	cJSON *arr = cJSON_CreateArray();
	int rc;

	*out = NULL;
	if (arr == NULL)
		return BX_ENOMEM;
	put_be64(prefix, node);
	prefix[8] = 'r';
	rc = read_begin(s, &txn);
	if (rc != 0) {
		cJSON_Delete(arr);
		return lmdb_code(rc);
	}
	rc = mdb_cursor_open(txn, s->dbi[DB_PLACED], &cur);
	for (rc = rc ?: mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		MDB_val name, rec;
		cJSON *item;
		if (key.mv_size < plen || memcmp(key.mv_data, prefix, plen) != 0)
			break;
		name.mv_data = (char *)key.mv_data + PLACE_PREFIX;
		name.mv_size = key.mv_size - PLACE_PREFIX;
		rc = mdb_get(txn, s->dbi[DB_SERVICES], &name, &rec);
		if (rc == MDB_NOTFOUND)
			rc = MDB_CORRUPTED; /* the index names a record that is not there */
		if (rc != 0)
			break;
		item = cJSON_ParseWithLength(rec.mv_data, rec.mv_size);
		if (item == NULL) {
			rc = MDB_CORRUPTED;
			break;
		}
		cJSON_AddItemToArray(arr, item);
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	read_end(s, txn);
	if (rc != MDB_NOTFOUND && rc != 0) {
		cJSON_Delete(arr);
		return lmdb_code(rc);
	}
	*out = arr;
	return BX_OK;
}

int bx_store_loads(struct bx_store *s, struct bx_store_load **out, size_t *n)
{
	struct bx_store_load *loads = NULL;
	size_t len = 0, cap = 0;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	int rc;

	*out = NULL;
	*n = 0;
	rc = read_begin(s, &txn);
	if (rc != 0)
		return lmdb_code(rc);
	rc = mdb_cursor_open(txn, s->dbi[DB_PLACED], &cur);
	for (rc = rc ?: mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		const unsigned char *k = key.mv_data;
		uint64_t node;
		if (key.mv_size < PLACE_PREFIX) {
			rc = MDB_CORRUPTED;
			break;
		}
		node = get_be64(k);
		if (len == 0 || loads[len - 1].node != node) {
			if (len == cap) {
				size_t ncap = cap ? 2 * cap : 8;
				struct bx_store_load *grown = realloc(loads, ncap * sizeof *grown);
				if (grown == NULL) {
					rc = ENOMEM;
					break;
				}
				loads = grown;
				cap = ncap;
			}
			loads[len++] = (struct bx_store_load){.node = node};
		}
		loads[len - 1].services++;
		if (k[8] == 'r')
			loads[len - 1].running++;
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	read_end(s, txn);
	if (rc != MDB_NOTFOUND && rc != 0) {
		free(loads);
		return lmdb_code(rc);
	}
	*out = loads;
	*n = len;
	return BX_OK;
}

static uint64_t node_id_of(const cJSON *node)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(node, "id");
	return cJSON_IsNumber(id) && id->valuedouble > 0 ? (uint64_t)id->valuedouble : 0;
}

static int cmp_nodes(const void *a, const void *b)
{
	uint64_t x = node_id_of(*(cJSON *const *)a), y = node_id_of(*(cJSON *const *)b);
	return x < y ? -1 : x > y;
}

int bx_store_list_nodes(struct bx_store *s, cJSON **out)
{
	cJSON *arr, **items, *item;
	size_t n = 0, i = 0;
	int rc;

	rc = list_json(s, DB_NODES, &arr);
	if (rc != 0)
		return rc;
	/* Keys are decimal ids, so LMDB's byte order puts "10" before "9":
	 * sort by numeric id. */
	cJSON_ArrayForEach(item, arr) n++;
	if (n > 1) {
		items = malloc(n * sizeof *items);
		if (items == NULL) {
			cJSON_Delete(arr);
			return BX_ENOMEM;
		}
		while (arr->child != NULL)
			items[i++] = cJSON_DetachItemViaPointer(arr, arr->child);
		qsort(items, n, sizeof *items, cmp_nodes);
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, items[i]);
		free(items);
	}
	*out = arr;
	return BX_OK;
}

/* --- write transactions -------------------------------------------------- */

/* Double the map. No transaction of this process may be open. */
static int grow(struct bx_store *s)
{
	int rc;

	if (s->map_size >= MAX_MAP_SIZE)
		return BX_EFULL;
	wait_snapshots(s);
	rc = mdb_env_set_mapsize(s->env, s->map_size * 2);
	if (rc != 0)
		return lmdb_code(rc);
	s->map_size *= 2;
	return BX_OK;
}

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
		rc = index_service(s, txn, op->key, op->key_len,
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
		rc = grow(s);
		if (rc != 0)
			return rc;
		rc = txn_begin(s, 0, &t->txn);
		if (rc != 0)
			return lmdb_code(rc);
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
			return lmdb_code(rc);
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
	rc = txn_begin(s, 0, &t->txn);
	if (rc != 0) {
		free(t);
		return lmdb_code(rc);
	}
	s->txn_open = true;
	s->wtxn = t->txn;
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
	return rc == 0 ? BX_OK : (t->err = lmdb_code(rc));
}

static int add_json(struct bx_store_txn *t, int db, const char *key, size_t key_len,
		    const cJSON *record, const unsigned char *place)
{
	char *text;
	int rc;

	if (record == NULL)
		return BX_EINVAL;
	text = cJSON_PrintUnformatted(record);
	if (text == NULL)
		return t->err = BX_ENOMEM;
	rc = add_op(t, db, key, key_len, text, strlen(text), place);
	cJSON_free(text);
	return rc;
}

int bx_store_put_service(struct bx_store_txn *t, const char *name, const cJSON *record)
{
	unsigned char place[PLACE_PREFIX];

	if (strlen(name) > MAX_KEY - PLACE_PREFIX)
		return BX_EINVAL;
	placement_of(record, place);
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

int bx_store_set_cluster_id(struct bx_store_txn *t, const char *cluster_id)
{
	return add_op(t, DB_META, KEY_CLUSTER, strlen(KEY_CLUSTER), cluster_id,
		      strlen(cluster_id), NULL);
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
		return t->err = lmdb_code(rc);
	t->sp = t->n_ops;
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
		t->err = lmdb_code(rc);
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
	rc = lmdb_code(rc);
	txn_free(t);
	if (rc == 0)
		rc = load_meta(s);
	return rc;
}

/* Writes into an open LMDB transaction (a restore). */
typedef int (*write_fn)(struct bx_store *s, MDB_txn *txn, void *arg);

/*
 * Run `fn` in one write transaction with the applied index, doubling the map
 * and starting over on MDB_MAP_FULL.
 */
static int write_txn(struct bx_store *s, write_fn fn, void *arg, uint64_t applied)
{
	unsigned char le[8];
	MDB_val key = {strlen(KEY_APPLIED), KEY_APPLIED}, val = {8, le};
	MDB_txn *txn;
	int rc;

	put_le64(le, applied);
	for (;;) {
		rc = txn_begin(s, 0, &txn);
		if (rc != 0)
			return lmdb_code(rc);
		rc = fn(s, txn, arg);
		if (rc == 0)
			rc = mdb_put(txn, s->dbi[DB_META], &key, &val, 0);
		if (rc == 0) {
			rc = mdb_txn_commit(txn); /* frees txn, also on failure */
		} else {
			mdb_txn_abort(txn);
		}
		if (rc != MDB_MAP_FULL)
			break;
		rc = grow(s);
		if (rc != 0)
			return rc;
	}
	if (rc != 0)
		return lmdb_code(rc);
	return load_meta(s);
}

int bx_store_sync(struct bx_store *s)
{
	return lmdb_code(mdb_env_sync(s->env, 1));
}

/*
 * Snapshot buffer, all integers little-endian:
 *
 *   "BXSNAP1\0"  version u32  applied_index u64  count u64
 *   count x { db u8 (1 meta, 2 services, 3 nodes)  klen u32  key  vlen u32  value }
 *   SHA-256 of everything above (32 bytes)
 *
 * meta's applied_index is carried in the header, not as an entry.
 */

#define SNAP_MAGIC "BXSNAP1"
#define SNAP_VERSION 1
#define SNAP_HEADER (8 + 4 + 8 + 8)

struct buf {
	unsigned char *data;
	size_t len, cap;
	bool oom;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *d;
		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

int bx_store_snapshot_begin(struct bx_store *s, struct bx_store_snap **out)
{
	struct bx_store_snap *snap = calloc(1, sizeof *snap);
	int rc;

	*out = NULL;
	if (snap == NULL)
		return BX_ENOMEM;
	rc = txn_begin(s, MDB_RDONLY, &snap->txn);
	if (rc != 0) {
		free(snap);
		return lmdb_code(rc);
	}
	snap->s = s;
	snap->applied = s->applied; /* what this read transaction sees */
	pthread_mutex_lock(&s->snap_lock);
	s->snap_readers++;
	pthread_mutex_unlock(&s->snap_lock);
	*out = snap;
	return BX_OK;
}

/* End the copy's read transaction (on whichever thread holds it). */
static void snap_release(struct bx_store_snap *snap)
{
	struct bx_store *s = snap->s;

	if (snap->txn == NULL)
		return;
	mdb_txn_abort(snap->txn);
	snap->txn = NULL;
	pthread_mutex_lock(&s->snap_lock);
	s->snap_readers--;
	pthread_cond_broadcast(&s->snap_done);
	pthread_mutex_unlock(&s->snap_lock);
}

int bx_store_snapshot_write(struct bx_store_snap *snap, void **out, size_t *out_len)
{
	struct bx_store *s = snap->s;
	struct buf b = {0};
	unsigned char hdr[SNAP_HEADER], le[8], digest[SHA256_DIGEST_LENGTH] = {0};
	uint64_t count = 0;
	MDB_txn *txn = snap->txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = 0;

	*out = NULL;
	*out_len = 0;
	if (txn == NULL)
		return BX_EINVAL;
	/* Raft may drop log entries up to this snapshot once it is written:
	 * put the store's own copy of them on disk first. */
	rc = mdb_env_sync(s->env, 1);
	memcpy(hdr, SNAP_MAGIC, 8);
	put_le32(hdr + 8, SNAP_VERSION);
	put_le64(hdr + 12, snap->applied);
	buf_add(&b, hdr, sizeof hdr); /* count filled in at the end */
	for (int db = DB_META; db <= DB_NODES && rc == 0; db++) {
		rc = mdb_cursor_open(txn, s->dbi[db], &cur);
		if (rc != 0)
			break;
		for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			unsigned char tag = (unsigned char)db;
			if (db == DB_META && key.mv_size == strlen(KEY_APPLIED) &&
			    memcmp(key.mv_data, KEY_APPLIED, key.mv_size) == 0)
				continue;
			buf_add(&b, &tag, 1);
			put_le32(le, (uint32_t)key.mv_size);
			buf_add(&b, le, 4);
			buf_add(&b, key.mv_data, key.mv_size);
			put_le32(le, (uint32_t)val.mv_size);
			buf_add(&b, le, 4);
			buf_add(&b, val.mv_data, val.mv_size);
			count++;
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	snap_release(snap);
	if (rc != 0 || b.oom) {
		free(b.data);
		return rc != 0 ? lmdb_code(rc) : BX_ENOMEM;
	}
	put_le64(b.data + 20, count);
	buf_add(&b, digest, sizeof digest); /* room for the digest, computed below */
	if (b.oom) {
		free(b.data);
		return BX_ENOMEM;
	}
	SHA256(b.data, b.len - SHA256_DIGEST_LENGTH,
	       b.data + b.len - SHA256_DIGEST_LENGTH);
	*out = b.data;
	*out_len = b.len;
	return BX_OK;
}

void bx_store_snapshot_end(struct bx_store_snap *snap)
{
	if (snap == NULL)
		return;
	snap_release(snap);
	free(snap);
}

int bx_store_snapshot(struct bx_store *s, void **out, size_t *out_len)
{
	struct bx_store_snap *snap;
	int rc = bx_store_snapshot_begin(s, &snap);

	if (rc != 0) {
		*out = NULL;
		*out_len = 0;
		return rc;
	}
	rc = bx_store_snapshot_write(snap, out, out_len);
	bx_store_snapshot_end(snap);
	return rc;
}

struct snap_entry {
	int db;
	const unsigned char *key, *val;
	size_t key_len, val_len;
};

struct snap {
	uint64_t applied;
	size_t n;
	struct snap_entry *entries;
};

/* Check a snapshot buffer completely (nothing is written). */
static int snap_parse(const unsigned char *p, size_t len, struct snap *snap, char *errmsg)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t off = SNAP_HEADER, end;
	uint64_t count;

	memset(snap, 0, sizeof *snap);
	if (len < SNAP_HEADER + SHA256_DIGEST_LENGTH)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot truncated (%zu bytes)", len);
	if (memcmp(p, SNAP_MAGIC, 8) != 0)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: bad magic");
	if (get_le32(p + 8) != SNAP_VERSION)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: unknown version %" PRIu32,
			      get_le32(p + 8));
	end = len - SHA256_DIGEST_LENGTH;
	SHA256(p, end, digest);
	if (memcmp(digest, p + end, SHA256_DIGEST_LENGTH) != 0)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: checksum mismatch");
	snap->applied = get_le64(p + 12);
	count = get_le64(p + 20);
	/* Each entry takes at least 9 bytes + a 1-byte key: bound count first. */
	if (count > (end - off) / 10)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: bad entry count %" PRIu64,
			      count);
	snap->entries = calloc(count ? count : 1, sizeof *snap->entries);
	if (snap->entries == NULL)
		return bx_err(errmsg, BX_ENOMEM, "snapshot: out of memory");
	for (uint64_t i = 0; i < count; i++) {
		struct snap_entry *e = &snap->entries[i];
		if (end - off < 5)
			goto truncated;
		e->db = p[off];
		e->key_len = get_le32(p + off + 1);
		off += 5;
		if (e->db < DB_META || e->db > DB_NODES)
			goto bad;
		if (e->key_len == 0 || e->key_len > MAX_KEY || end - off < e->key_len)
			goto bad;
		e->key = p + off;
		off += e->key_len;
		if (end - off < 4)
			goto truncated;
		e->val_len = get_le32(p + off);
		off += 4;
		if (end - off < e->val_len)
			goto truncated;
		e->val = p + off;
		off += e->val_len;
		if (e->db != DB_META) {
			cJSON *j =
			    cJSON_ParseWithLength((const char *)e->val, e->val_len);
			bool ok = cJSON_IsObject(j);
			cJSON_Delete(j);
			if (!ok)
				goto bad;
		}
		snap->n++;
	}
	if (off != end) {
		free(snap->entries);
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: %zu trailing bytes",
			      end - off);
	}
	return BX_OK;
truncated:
	free(snap->entries);
	return bx_err(errmsg, BX_ECORRUPT, "snapshot: entry %zu truncated", snap->n);
bad:
	free(snap->entries);
	return bx_err(errmsg, BX_ECORRUPT, "snapshot: entry %zu malformed", snap->n);
}

static int write_snap(struct bx_store *s, MDB_txn *txn, void *arg)
{
	struct snap *snap = arg;
	int rc = 0;

	for (int db = DB_META; db <= DB_NODES && rc == 0; db++)
		rc = mdb_drop(txn, s->dbi[db], 0);
	for (size_t i = 0; i < snap->n && rc == 0; i++) {
		struct snap_entry *e = &snap->entries[i];
		MDB_val key = {e->key_len, (void *)e->key},
			val = {e->val_len, (void *)e->val};
		rc = mdb_put(txn, s->dbi[e->db], &key, &val, 0);
	}
	return rc ?: index_all(s, txn);
}

int bx_store_restore(struct bx_store *s, const void *buf, size_t len, char *errmsg)
{
	struct snap snap;
	int rc;

	if (s->txn_open)
		return bx_err(errmsg, BX_EBUSY, "restore: a write transaction is open");
	rc = snap_parse(buf, len, &snap, errmsg);
	if (rc != 0)
		return rc == BX_ENOMEM ? rc : BX_ECORRUPT;
	rc = write_txn(s, write_snap, &snap, snap.applied);
	free(snap.entries);
	if (rc != 0)
		return bx_err(errmsg, rc, "restore: write: %s", bx_strerror(rc));
	return BX_OK;
}

int bx_store_snapshot_index(const void *buf, size_t len, uint64_t *index)
{
	const unsigned char *p = buf;

	if (len < SNAP_HEADER + SHA256_DIGEST_LENGTH || memcmp(p, SNAP_MAGIC, 8) != 0 ||
	    get_le32(p + 8) != SNAP_VERSION)
		return BX_ECORRUPT;
	*index = get_le64(p + 12);
	return BX_OK;
}
