/* fsm_invites.c - the invite commands: create, revoke, and use by a joining
 * node. Expiry and use counts are decided here, at apply, against the
 * command's time stamp: every node agrees on whether an invite was good. */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "raft/command.h"
#include "raft/fsm_internal.h"
#include "src/base/error.h"

int fsm_op_invite_create(struct apply *a)
{
	cJSON *rec = NULL;
	int rc = fsm_create_by_id(a, bx_store_get_invite, "invite", &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	rc = fsm_set_str(rec, "secret_hash", bx_command_str(a->cmd, "secret_hash"));
	rc = rc ?: fsm_set_str(rec, "role", bx_command_str(a->cmd, "role"));
	rc = rc ?: fsm_set_num(rec, "uses", (double)bx_command_u64(a->cmd, "uses"));
	rc = rc ?: fsm_set_num(rec, "used", 0);
	rc = rc ?: fsm_set_item(rec, "used_by", cJSON_CreateArray());
	rc = rc
		 ?: fsm_set_num(rec, "expires_at",
				(double)bx_command_u64(a->cmd, "expires_at"));
	rc = rc ?: fsm_set_num(rec, "created_at", a->ts);
	rc = rc ?: fsm_set_item(rec, "revoked", cJSON_CreateFalse());
	return rc ?: bx_store_put_invite(a->txn, bx_command_str(a->cmd, "id"), rec);
}

int fsm_op_invite_revoke(struct apply *a)
{
	cJSON *rec = NULL;
	int rc = fsm_load_by_id(a, bx_store_get_invite, "invite", &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "revoked"))) {
		a->changed = false;
		return 0;
	}
	rc = fsm_set_item(rec, "revoked", cJSON_CreateTrue());
	rc = rc ?: fsm_set_num(rec, "revoked_at", a->ts);
	return rc ?: bx_store_put_invite(a->txn, bx_command_str(a->cmd, "id"), rec);
}

/* "2026-11-24T10:00:00Z" */
static void stamp(double ms, char *out, size_t size)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%.0f ms", ms);
}

int fsm_op_invite_use(struct apply *a)
{
	const char *id = bx_command_str(a->cmd, "id");
	const char *hash = bx_command_str(a->cmd, "secret_hash");
	uint64_t node = bx_command_u64(a->cmd, "node");
	cJSON *rec = NULL, *by;
	const char *want;
	double used, uses, expires;
	char when[40];
	int rc = fsm_load_by_id(a, bx_store_get_invite, "invite", &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	want = fsm_str_of(rec, "secret_hash");
	used = fsm_num_of(rec, "used");
	uses = fsm_num_of(rec, "uses");
	expires = fsm_num_of(rec, "expires_at");
	/* the secret first: without it, say nothing more of the invite */
	if (strlen(want) != strlen(hash) || CRYPTO_memcmp(want, hash, strlen(hash)) != 0)
		return fsm_reject(a, BX_EPERM, "invite %s: wrong secret", id);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "revoked")))
		return fsm_reject(a, BX_EPERM, "invite %s was revoked", id);
	if (a->ts >= expires) {
		stamp(expires, when, sizeof when);
		return fsm_reject(a, BX_EPERM, "invite %s expired at %s", id, when);
	}
	if (used >= uses)
		return fsm_reject(a, BX_EPERM, "invite %s is used up (%.0f of %.0f uses)",
				  id, used, uses);
	by = cJSON_GetObjectItemCaseSensitive(rec, "used_by");
	if (!cJSON_IsArray(by)) {
		rc = fsm_set_item(rec, "used_by", cJSON_CreateArray());
		by = cJSON_GetObjectItemCaseSensitive(rec, "used_by");
	}
	if (rc == 0 && !cJSON_AddItemToArray(by, cJSON_CreateNumber((double)node)))
		rc = BX_ENOMEM;
	rc = rc ?: fsm_set_num(rec, "used", used + 1);
	rc = rc ?: fsm_set_num(rec, "used_at", a->ts);
	return rc ?: bx_store_put_invite(a->txn, id, rec);
}
