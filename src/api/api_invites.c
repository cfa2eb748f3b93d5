/* api_invites.c - invites: create (the token), list, revoke. Writes go to
 * the leader, which draws the id and secret and proposes invite.create with
 * the secret's hash; the secret is in the answer and nowhere else. */
#include "src/api/api.h"
#include "src/api/api_internal.h"
#include "src/base/clock.h"

#include "net/http_server.h"
#include "raft/command.h"
#include "raft/node.h"
#include "src/base/log.h"
#include "src/model/invite.h"
#include "src/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TTL_MS (24.0 * 3600 * 1000)
#define MAX_TTL_MS (365.0 * 24 * 3600 * 1000)

/* What a client may see of an invite: no secret hash; its state now. */
static cJSON *public_view(const cJSON *rec)
{
	cJSON *o = cJSON_Duplicate(rec, 1);
	const char *state = "valid";
	double now = (double)bx_now_ms();

	cJSON_DeleteItemFromObjectCaseSensitive(o, "secret_hash");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "revoked")))
		state = "revoked";
	else if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "used")) >=
		 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "uses")))
		state = "used up";
	else if (now >= cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(rec, "expires_at")))
		state = "expired";
	cJSON_AddStringToObject(o, "state", state);
	return o;
}

/* An invite command applied: the invite as a client may see it, and for a
 * new one (p->token set) its token, 201. */
static void answered(void *data, int code, const char *msg, const cJSON *record)
{
	bx_api_answer_view(data, code, msg, code == BX_OK ? public_view(record) : NULL);
}

/* The members a new node can join through: their API addresses, this node's first. */
static void add_members(struct bx_api *api, struct bx_invite_token *t)
{
	cJSON *nodes = NULL, *n;

	if (api->api_addr[0] != '\0')
		snprintf(t->members[t->n_members++], sizeof t->members[0], "%s",
			 api->api_addr);
	if (bx_store_list_nodes(api->store, &nodes) != 0)
		return;
	cJSON_ArrayForEach(n, nodes)
	{
		const cJSON *addr = cJSON_GetObjectItemCaseSensitive(n, "api");
		bool dup = false;

		if (!cJSON_IsString(addr) || addr->valuestring[0] == '\0' ||
		    strlen(addr->valuestring) >= sizeof t->members[0] ||
		    t->n_members == BX_INVITE_MEMBERS_MAX)
			continue;
		for (size_t i = 0; i < t->n_members; i++)
			dup = dup || strcmp(t->members[i], addr->valuestring) == 0;
		if (!dup)
			snprintf(t->members[t->n_members++], sizeof t->members[0], "%s",
				 addr->valuestring);
	}
	cJSON_Delete(nodes);
}

static void create(struct bx_api *api, struct bx_http_request *req)
{
	static const char *const keys[] = {"ttl_ms", "uses", "role", NULL};
	struct bx_invite_token t = {0};
	const cJSON *ttl, *uses, *role;
	char hash[65];
	double ttl_ms = DEFAULT_TTL_MS, n_uses = 1;
	struct pending *p;
	cJSON *body, *cmd;
	int rv;

	body = bx_api_leader_body(api, req, keys);
	if (body == NULL)
		return;
	ttl = cJSON_GetObjectItemCaseSensitive(body, "ttl_ms");
	uses = cJSON_GetObjectItemCaseSensitive(body, "uses");
	role = cJSON_GetObjectItemCaseSensitive(body, "role");
	if (ttl != NULL) {
		ttl_ms = cJSON_GetNumberValue(ttl);
		if (!cJSON_IsNumber(ttl) || ttl_ms < 1 || ttl_ms > MAX_TTL_MS ||
		    ttl_ms != (double)(long long)ttl_ms) {
			bx_http_respond_error(
			    req, 400,
			    "field 'ttl_ms' must be a whole number of ms, 1 ms "
			    "to 365 days");
			goto out;
		}
	}
	if (uses != NULL) {
		n_uses = cJSON_GetNumberValue(uses);
		if (!cJSON_IsNumber(uses) || n_uses < 1 || n_uses > BX_INVITE_USES_MAX ||
		    n_uses != (double)(long long)n_uses) {
			bx_http_respond_error(req, 400,
					      "field 'uses' must be an integer 1..%d",
					      BX_INVITE_USES_MAX);
			goto out;
		}
	}
	if (role != NULL &&
	    (!cJSON_IsString(role) || (strcmp(role->valuestring, "voter") != 0 &&
				       strcmp(role->valuestring, "standby") != 0))) {
		bx_http_respond_error(req, 400,
				      "field 'role' must be \"voter\" or \"standby\"");
		goto out;
	}
	if (bx_invite_new_secret(t.id, t.secret) != 0) {
		bx_http_respond_error(req, 500,
				      "no random bytes for the invite's secret");
		goto out;
	}
	snprintf(t.cluster_id, sizeof t.cluster_id, "%s", api->cluster_id);
	t.expires_at = (double)bx_now_ms() + ttl_ms;
	add_members(api, &t);
	bx_invite_hash(t.secret, hash);
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		goto out;
	p->token = bx_invite_encode(&t);
	cmd = bx_cmd_invite_create(t.id, hash, role != NULL ? role->valuestring : "voter",
				   n_uses, t.expires_at);
	if (p->token == NULL) {
		cJSON_Delete(cmd);
		bx_api_pending_free(p);
		bx_http_respond_error(req, 500, "out of memory");
		goto out;
	}
	rv = bx_api_propose(api, cmd, answered, p);
	if (rv != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv, "propose the invite");
	} else {
		BX_INFO("api", "invite %s created: %.0f use(s), valid %.0f s", t.id,
			n_uses, ttl_ms / 1000);
	}
out:
	cJSON_Delete(body);
}

void bx_api_invites_list(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	bx_api_list_views(api, req, bx_store_list_invites, public_view);
}

void bx_api_invites_create(struct bx_api *api, struct bx_http_request *req,
			   const char *arg)
{
	(void)arg;
	create(api, req);
}

/* DELETE /v1/invites/ID (an id the router checked) */
void bx_api_invite_revoke(struct bx_api *api, struct bx_http_request *req, const char *id)
{
	bx_api_propose_id(api, req, bx_cmd_invite_revoke, id, answered);
}
