/* fsm_tokens.c - the API token commands: create and revoke. A token's record
 * ("token/ID" in the store's meta, so snapshots carry it) holds its role and
 * its secret's hash; revoking deletes it, so that bx_token_check (src/model/token.h)
 * refuses the token on every node once the revocation is applied there. */
#include <stdio.h>

#include "raft/command.h"
#include "raft/fsm_internal.h"
#include "src/base/error.h"

int fsm_op_token_create(struct apply *a)
{
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(a->cmd, "created_by");
	cJSON *rec = NULL;
	int rc = fsm_create_by_id(a, bx_store_get_token, "token", &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	rc = fsm_set_str(rec, "name", bx_command_str(a->cmd, "name"));
	rc = rc ?: fsm_set_str(rec, "role", bx_command_str(a->cmd, "role"));
	rc = rc ?: fsm_set_str(rec, "secret_hash", bx_command_str(a->cmd, "secret_hash"));
	rc = rc ?: fsm_set_num(rec, "created_at", a->ts);
	if (rc == 0 && by != NULL)
		rc = fsm_set_str(rec, "created_by", by->valuestring);
	return rc ?: bx_store_put_token(a->txn, bx_command_str(a->cmd, "id"), rec);
}

int fsm_op_token_revoke(struct apply *a)
{
	cJSON *rec = NULL;
	int rc = fsm_load_by_id(a, bx_store_get_token, "token", &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	/* the result is the token as it was, and when it ended */
	rc = fsm_set_num(rec, "revoked_at", a->ts);
	return rc ?: bx_store_del_token(a->txn, bx_command_str(a->cmd, "id"));
}
