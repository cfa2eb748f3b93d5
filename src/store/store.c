/* store.c - the replicated state in LMDB: open, close, meta, reads. */
#include "src/store/store_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/base/error.h"

int store_lmdb_code(int rc)
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

/* Begin a transaction, adopting a map grown by someone else if LMDB asks. */
int store_txn_begin(struct bx_store *s, unsigned flags, MDB_txn **txn)
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
int store_read_begin(struct bx_store *s, MDB_txn **txn)
{
	if (s->wtxn != NULL) {
		*txn = s->wtxn;
		return 0;
	}
	return store_txn_begin(s, MDB_RDONLY, txn);
}

void store_read_end(struct bx_store *s, MDB_txn *txn)
{
	if (txn != s->wtxn)
		mdb_txn_abort(txn);
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
	return store_lmdb_code(rc);
}

int store_load_meta(struct bx_store *s)
{
	MDB_txn *txn;
	int rc = store_txn_begin(s, MDB_RDONLY, &txn);

	if (rc != 0)
		return store_lmdb_code(rc);
	rc = read_meta(s, txn);
	mdb_txn_abort(txn);
	return rc;
}

int bx_store_open(const char *dir, const struct bx_store_options *opts,
		  struct bx_store **out, char *errmsg)
{
	static const char *const names[N_DBS] = {
	    NULL, "meta", "services", "nodes", "placed", "place_of", "events"};
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

	rc = store_txn_begin(s, 0, &txn);
	if (rc != 0)
		goto err_after_env;
	for (int i = DB_META; i < N_DBS; i++) {
		rc = mdb_dbi_open(txn, names[i], 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			/* a new store, or one from before the index */
			reindex = reindex || i == DB_PLACED || i == DB_PLACE_OF;
			rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &s->dbi[i]);
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			goto err_after_env;
		}
	}
	if (reindex)
		rc = store_index_all(s, txn);
	if (rc != 0) {
		mdb_txn_abort(txn);
		goto err_after_env;
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		goto err_after_env;
	rc = store_load_meta(s);
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
	return bx_err(errmsg, store_lmdb_code(rc), "open store '%s': %s", dir,
		      mdb_strerror(rc));
}

void bx_store_close(struct bx_store *s)
{
	if (s == NULL)
		return;
	store_wait_snapshots(s);
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
	rc = store_read_begin(s, &txn);
	if (rc != 0)
		return store_lmdb_code(rc);
	rc = mdb_get(txn, s->dbi[db], &key, &val);
	if (rc == 0) {
		*out = cJSON_ParseWithLength(val.mv_data, val.mv_size);
		if (*out == NULL)
			rc = MDB_CORRUPTED;
	}
	store_read_end(s, txn);
	return store_lmdb_code(rc);
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

/* The values of one database whose keys start with `prefix` (every value:
 * ""), parsed, as an array in key order. */
static int list_json(struct bx_store *s, int db, const char *prefix, cJSON **out)
{
	size_t plen = strlen(prefix);
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key = {plen, (void *)prefix}, val;
	cJSON *arr;
	int rc;

	*out = NULL;
	arr = cJSON_CreateArray();
	if (arr == NULL)
		return BX_ENOMEM;
	rc = store_read_begin(s, &txn);
	if (rc != 0)
		goto err_after_arr;
	rc = mdb_cursor_open(txn, s->dbi[db], &cur);
	if (rc != 0)
		goto err_after_txn;
	for (rc = mdb_cursor_get(cur, &key, &val, plen > 0 ? MDB_SET_RANGE : MDB_FIRST);
	     rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		cJSON *item;
		if (key.mv_size < plen || memcmp(key.mv_data, prefix, plen) != 0) {
			rc = MDB_NOTFOUND; /* past the keys with the prefix */
			break;
		}
		item = cJSON_ParseWithLength(val.mv_data, val.mv_size);
		if (item == NULL) {
			rc = MDB_CORRUPTED;
			break;
		}
		cJSON_AddItemToArray(arr, item);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		goto err_after_txn;
	store_read_end(s, txn);
	*out = arr;
	return BX_OK;

err_after_txn:
	store_read_end(s, txn);
err_after_arr:
	cJSON_Delete(arr);
	return store_lmdb_code(rc);
}

int bx_store_list_services(struct bx_store *s, cJSON **out)
{
	/* Names are [a-z0-9-]: LMDB's byte order is the order by name. */
	return list_json(s, DB_SERVICES, "", out);
}

int bx_store_list_instances(struct bx_store *s, const char *name, cJSON **out)
{
	char prefix[MAX_KEY];
	int n = snprintf(prefix, sizeof prefix, "%s@", name);

	if (n <= 1 || (size_t)n >= sizeof prefix) {
		*out = NULL;
		return BX_EINVAL;
	}
	return list_json(s, DB_SERVICES, prefix, out);
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
	rc = store_read_begin(s, &txn);
	if (rc != 0) {
		fclose(f);
		free(buf);
		return store_lmdb_code(rc);
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
	store_read_end(s, txn);
	if (fclose(f) != 0 || rc != MDB_NOTFOUND) {
		free(buf);
		return rc == MDB_NOTFOUND ? BX_ENOMEM : store_lmdb_code(rc);
	}
	*out = buf;
	*len = used;
	return BX_OK;
}

/*
 * Services by state without parsing records: a record is the FSM's
 * bx_json_print() output (cJSON_PrintUnformatted()'s text), and no key inside "spec" (a
 * fixed schema, src/model/spec.c) or any other nested value is named "state", while a "state"
 * inside a string would be escaped (\"state\"); so the first "state":" of
 * a record is its own. Reads 10,000 records in a few milliseconds.
 */
int bx_store_count_states(struct bx_store *s, const char *const *states, size_t n,
			  uint64_t *counts, uint64_t *other)
{
	static const char key[] = "\"state\":\"";
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, val;
	int rc;

	memset(counts, 0, n * sizeof *counts);
	*other = 0;
	rc = store_read_begin(s, &txn);
	if (rc != 0)
		return store_lmdb_code(rc);
	rc = mdb_cursor_open(txn, s->dbi[DB_SERVICES], &cur);
	if (rc == 0) {
		for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
			const char *at =
			    memmem(val.mv_data, val.mv_size, key, sizeof key - 1);
			const char *v = at != NULL ? at + sizeof key - 1 : NULL;
			size_t left =
			    v != NULL ? val.mv_size - (size_t)(v - (char *)val.mv_data)
				      : 0;
			size_t i;
			for (i = 0; v != NULL && i < n; i++) {
				size_t len = strlen(states[i]);
				if (left > len && memcmp(v, states[i], len) == 0 &&
				    v[len] == '"')
					break;
			}
			if (v != NULL && i < n)
				counts[i]++;
			else
				(*other)++;
		}
		mdb_cursor_close(cur);
	}
	store_read_end(s, txn);
	return rc == MDB_NOTFOUND ? BX_OK : store_lmdb_code(rc);
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

/* The meta record "KIND/ID" (ids are at most 64 characters). */
static int get_meta_record(struct bx_store *s, const char *kind, const char *id,
			   cJSON **out)
{
	char key[80];
	int n = snprintf(key, sizeof key, "%s/%.64s", kind, id);
	return get_json(s, DB_META, key, (size_t)n, out);
}

int bx_store_get_invite(struct bx_store *s, const char *id, cJSON **out)
{
	return get_meta_record(s, "invite", id, out);
}

int bx_store_list_invites(struct bx_store *s, cJSON **out)
{
	return list_json(s, DB_META, "invite/", out);
}

int bx_store_get_token(struct bx_store *s, const char *id, cJSON **out)
{
	return get_meta_record(s, "token", id, out);
}

int bx_store_list_tokens(struct bx_store *s, cJSON **out)
{
	return list_json(s, DB_META, "token/", out);
}

int bx_store_list_nodes(struct bx_store *s, cJSON **out)
{
	cJSON *arr, **items, *item;
	size_t n = 0, i = 0;
	int rc;

	rc = list_json(s, DB_NODES, "", &arr);
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

int bx_store_sync(struct bx_store *s)
{
	return store_lmdb_code(mdb_env_sync(s->env, 1));
}

/* Double the map. No transaction of this process may be open. */
int store_grow(struct bx_store *s)
{
	int rc;

	if (s->map_size >= MAX_MAP_SIZE)
		return BX_EFULL;
	store_wait_snapshots(s);
	rc = mdb_env_set_mapsize(s->env, s->map_size * 2);
	if (rc != 0)
		return store_lmdb_code(rc);
	s->map_size *= 2;
	return BX_OK;
}
