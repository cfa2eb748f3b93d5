/* store_events.c - the replicated event log: reading it (the FSM adds events,
 * store_txn.c). */
#include "src/store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "src/base/error.h"

int store_last_event(struct bx_store *s, MDB_txn *txn, uint64_t *seq)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_cursor_open(txn, s->dbi[DB_EVENTS], &cur);

	*seq = 0;
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	if (rc == 0 && key.mv_size == 8)
		*seq = get_be64(key.mv_data);
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

uint64_t bx_store_last_event(struct bx_store *s)
{
	MDB_txn *txn;
	uint64_t seq = 0;

	if (store_read_begin(s, &txn) != 0)
		return 0;
	store_last_event(s, txn, &seq);
	store_read_end(s, txn);
	return seq;
}

/* Whether the event is about service `name` (NULL: any): its "service" is it.
 * The text is searched for the quoted name first, so that most events of
 * other services are not parsed at all. */
static bool may_match(const MDB_val *val, const char *quoted)
{
	return quoted == NULL ||
	       memmem(val->mv_data, val->mv_size, quoted, strlen(quoted));
}

static bool matches(const cJSON *ev, const char *name)
{
	const cJSON *svc = cJSON_GetObjectItemCaseSensitive(ev, "service");
	return name == NULL ||
	       (cJSON_IsString(svc) && strcmp(svc->valuestring, name) == 0);
}

int bx_store_list_events(struct bx_store *s, const struct bx_store_events_query *q,
			 cJSON **out)
{
	char quoted[96]; /* "NAME" */
	unsigned char start[8];
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key = {sizeof start, start}, val;
	MDB_cursor_op op, next;
	size_t n = 0;
	cJSON *arr;
	int rc;

	*out = NULL;
	if (q->service != NULL && strlen(q->service) + 3 > sizeof quoted)
		return BX_EINVAL;
	if (q->service != NULL)
		snprintf(quoted, sizeof quoted, "\"%s\"", q->service);
	arr = cJSON_CreateArray();
	if (arr == NULL)
		return BX_ENOMEM;
	rc = store_read_begin(s, &txn);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_open(txn, s->dbi[DB_EVENTS], &cur);
	if (rc != 0)
		goto out_txn;
	if (q->tail) {
		op = MDB_LAST;
		next = MDB_PREV;
	} else {
		put_be64(start, q->after + 1);
		op = MDB_SET_RANGE;
		next = MDB_NEXT;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, op); rc == 0 && n < q->limit;
	     rc = mdb_cursor_get(cur, &key, &val, next)) {
		cJSON *item;
		if (!may_match(&val, q->service != NULL ? quoted : NULL))
			continue;
		item = cJSON_ParseWithLength(val.mv_data, val.mv_size);
		if (item == NULL) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (!matches(item, q->service)) {
			cJSON_Delete(item);
			continue;
		}
		/* the tail is walked newest first: each goes in front */
		if (q->tail && arr->child != NULL)
			cJSON_InsertItemInArray(arr, 0, item);
		else
			cJSON_AddItemToArray(arr, item);
		n++;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
out_txn:
	store_read_end(s, txn);
out:
	if (rc != 0) {
		cJSON_Delete(arr);
		return store_lmdb_code(rc);
	}
	*out = arr;
	return BX_OK;
}
