/* fsm_record.c - record fields for the state machine, records kept by id, and
 * rejecting a command. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/command.h"
#include "raft/fsm_internal.h"
#include "src/base/error.h"
#include "src/model/spec.h"

int fsm_reject(struct apply *a, int code, const char *fmt, ...)
{
	va_list ap;

	a->res->code = code;
	va_start(ap, fmt);
	vsnprintf(a->res->msg, sizeof a->res->msg, fmt, ap);
	va_end(ap);
	return 0;
}

/* Set obj[key] to item (replacing any), taking ownership of item. */
int fsm_set_item(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return BX_ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? 0
									      : BX_ENOMEM;
	return cJSON_AddItemToObject(obj, key, item) ? 0 : BX_ENOMEM;
}

int fsm_set_num(cJSON *obj, const char *key, double v)
{
	return fsm_set_item(obj, key, cJSON_CreateNumber(v));
}

int fsm_set_str(cJSON *obj, const char *key, const char *v)
{
	return fsm_set_item(obj, key, cJSON_CreateString(v));
}

double fsm_num_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char *fsm_str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

int fsm_load_by_id(struct apply *a, fsm_get_fn get, const char *kind, cJSON **rec)
{
	const char *id = bx_command_str(a->cmd, "id");
	int rc;

	snprintf(a->key, sizeof a->key, "%s", id);
	rc = get(a->fsm->store, id, rec);
	if (rc == BX_ENOENT)
		return fsm_reject(a, BX_ENOENT, "%s: no %s %s",
				  bx_command_str(a->cmd, "op"), kind, id);
	if (rc == 0)
		a->res->record = *rec;
	return rc;
}

int fsm_create_by_id(struct apply *a, fsm_get_fn get, const char *kind, cJSON **rec)
{
	const char *id = bx_command_str(a->cmd, "id");
	int rc;

	snprintf(a->key, sizeof a->key, "%s", id);
	rc = get(a->fsm->store, id, rec);
	if (rc == 0) {
		cJSON_Delete(*rec);
		*rec = NULL;
		return fsm_reject(a, BX_EEXIST, "%s: %s %s exists",
				  bx_command_str(a->cmd, "op"), kind, id);
	}
	if (rc != BX_ENOENT)
		return rc;
	*rec = a->res->record = cJSON_CreateObject();
	return *rec != NULL ? fsm_set_str(*rec, "id", id) : BX_ENOMEM;
}

/* The result record becomes the FSM's (its result), written to the store too. */
int fsm_keep_service(struct apply *a, cJSON *rec)
{
	int rc = bx_store_put_service(a->txn, fsm_str_of(rec, "name"), rec);
	a->res->record = rec;
	return rc;
}

/* A fresh instance of the service: the next generation, not placed-run yet. */
int fsm_new_instance(cJSON *rec, double ts)
{
	int rc = fsm_set_num(rec, "generation", fsm_num_of(rec, "generation") + 1);
	rc = rc ?: fsm_set_str(rec, "state", "pending");
	rc = rc ?: fsm_set_num(rec, "pid", 0);
	rc = rc ?: fsm_set_num(rec, "restarts", 0);
	rc = rc ?: fsm_set_str(rec, "reason", "");
	rc = rc ?: fsm_set_str(rec, "health", "");
	rc = rc ?: fsm_set_num(rec, "state_at", ts);
	return rc;
}
