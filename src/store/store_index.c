/* store_index.c - the placement index: services by the node they are placed on. */
#include "src/store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"

/* The placement of a service record: its node (0: none) and whether it should run. */
void store_placement_of(const cJSON *rec, unsigned char place[PLACE_PREFIX])
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
int store_index_service(struct bx_store *s, MDB_txn *txn, const void *name, size_t len,
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
int store_index_all(struct bx_store *s, MDB_txn *txn)
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
		store_placement_of(rec, place);
		cJSON_Delete(rec);
		rc = store_index_service(s, txn, key.mv_data, key.mv_size, place);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
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
	rc = store_read_begin(s, &txn);
	if (rc != 0) {
		cJSON_Delete(arr);
		return store_lmdb_code(rc);
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
	store_read_end(s, txn);
	if (rc != MDB_NOTFOUND && rc != 0) {
		cJSON_Delete(arr);
		return store_lmdb_code(rc);
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
	rc = store_read_begin(s, &txn);
	if (rc != 0)
		return store_lmdb_code(rc);
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
	store_read_end(s, txn);
	if (rc != MDB_NOTFOUND && rc != 0) {
		free(loads);
		return store_lmdb_code(rc);
	}
	*out = loads;
	*n = len;
	return BX_OK;
}
