/* api_members.c - joining and leaving: cluster join/leave, node removal, the local node's
 * own membership. */
#include "raft/command.h"
#include "src/api/api.h"
#include "src/api/api_internal.h"

#include "net/http_client.h"
#include "net/http_server.h"
#include "raft/node.h"
#include "src/base/clock.h"
#include "src/base/log.h"
#include "src/model/invite.h"
#include "src/model/spec.h"
#include "src/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Join, on the leader: add the server to the Raft configuration (as a spare,
 * then a role: raft/membership.c), then record its name and addresses with a
 * node.upsert command, then answer with the cluster's identity. A retried
 * join of a server already in the configuration at the same address is not
 * an error, so a joining node can retry blindly after a timeout.
 */

static bool valid_address(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || colon == s || strlen(s) > 255)
		return false;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port > 0 && port < 65536;
}

static const struct raft_server *server_by_id(struct bx_api *api, uint64_t id)
{
	struct raft *r = bx_raft_node_raft(api->raft);

	for (unsigned i = 0; i < r->configuration.n; i++)
		if (r->configuration.servers[i].id == id)
			return &r->configuration.servers[i];
	return NULL;
}

static const struct raft_server *server_by_address(struct bx_api *api,
						   const char *address)
{
	struct raft *r = bx_raft_node_raft(api->raft);

	for (unsigned i = 0; i < r->configuration.n; i++)
		if (strcmp(r->configuration.servers[i].address, address) == 0)
			return &r->configuration.servers[i];
	return NULL;
}

/* Answer a joining node, then free p: the error, or the cluster's id with
 * its members (a join) or its secret (an admission). */
static void answer_joiner(struct pending *p, int code, const char *msg, bool admission)
{
	if (p->req != NULL) {
		if (code != BX_OK) {
			bx_api_respond_code(p->req, code, msg);
		} else {
			cJSON *body = cJSON_CreateObject();
			cJSON_AddStringToObject(body, "cluster_id", p->api->cluster_id);
			if (admission)
				cJSON_AddStringToObject(body, "secret", p->api->secret);
			else
				cJSON_AddItemToObject(body, "members",
						      bx_api_members_json(p->api));
			bx_http_respond_json(p->req, 200, body);
			cJSON_Delete(body);
		}
	}
	bx_api_pending_free(p);
}

static void join_recorded(void *data, int code, const char *msg, const cJSON *record)
{
	(void)record;
	answer_joiner(data, code, msg, false);
}

static void join_added(void *data, int code, const char *errmsg)
{
	struct pending *p = data;
	int rv;

	if (code != BX_OK) {
		if (p->req != NULL)
			bx_api_respond_code(p->req, code, errmsg);
		bx_api_pending_free(p);
		return;
	}
	struct bx_node_info node = {.id = p->id,
				    .name = p->name,
				    .api = p->node_api,
				    .raft = p->raft,
				    .standby = p->standby};
	cJSON *cmd = bx_cmd_node_upsert(&node);
	rv = bx_api_propose(p->api, cmd, join_recorded, p);
	if (rv != 0) {
		if (p->req != NULL)
			bx_api_respond_code(p->req, rv, "record the new node");
		bx_api_pending_free(p);
	}
}

/* Propose an invite.use (taking `use`), completed by cb with p; when it
 * cannot be proposed, p's request is answered and p freed. */
static void spend_invite(struct pending *p, cJSON *use, bx_submit_cb cb)
{
	struct bx_http_request *req = p->req;
	int rv = bx_api_propose(p->api, use, cb, p);

	if (rv != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv, "propose the invite's use");
	}
}

/* Whether an invite record makes standby nodes. */
static bool is_standby(const cJSON *invite)
{
	const char *role =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(invite, "role"));

	return role != NULL && strcmp(role, "standby") == 0;
}

/* The join's invite was good (invite.use applied): now add the server. */
static void invite_used(void *data, int code, const char *msg, const cJSON *record)
{
	struct pending *p = data;
	int rv;

	if (code != BX_OK) {
		BX_WARN("api", "node %llu (%s) refused: %s", (unsigned long long)p->id,
			p->name ? p->name : "", msg);
		if (p->req != NULL)
			bx_api_respond_code(p->req, code, msg);
		bx_api_pending_free(p);
		return;
	}
	p->standby = is_standby(record);
	rv = bx_raft_node_add(p->api->raft, p->id, p->raft, p->standby, join_added, p);
	if (rv != 0) {
		if (p->req != NULL)
			bx_api_respond_code(p->req, rv,
					    "add the node to the Raft configuration");
		bx_api_pending_free(p);
	}
}

/* The join's "invite": {"id": hex, "secret": hex}, as an invite.use for
 * node_id; NULL (nothing to use) when the invite already counts this node (a
 * join after its admission, or retried after a lost answer): then *standby
 * says whether it makes a standby. False after answering 400. */
static bool invite_use_cmd(struct bx_api *api, struct bx_http_request *req,
			   const cJSON *invite, uint64_t node_id, cJSON **cmd,
			   bool *standby)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(invite, "id");
	const cJSON *secret = cJSON_GetObjectItemCaseSensitive(invite, "secret");
	cJSON *rec = NULL, *by;
	char hash[65];
	bool again = false;

	*cmd = NULL;
	if (!cJSON_IsObject(invite) || !cJSON_IsString(id) || !cJSON_IsString(secret) ||
	    strlen(id->valuestring) > 64 || strlen(secret->valuestring) > 64 ||
	    id->valuestring[0] == '\0' ||
	    strspn(id->valuestring, "0123456789abcdef") != strlen(id->valuestring)) {
		bx_http_respond_error(
		    req, 400, "field 'invite' must be {\"id\": hex, \"secret\": hex}");
		return false;
	}
	bx_invite_hash(secret->valuestring, hash);
	if (bx_store_get_invite(api->store, id->valuestring, &rec) == 0) {
		by = cJSON_GetObjectItemCaseSensitive(rec, "used_by");
		cJSON *e;
		cJSON_ArrayForEach(e, by) again =
		    again || cJSON_GetNumberValue(e) == (double)node_id;
		/* the same node again, with the same secret */
		again = again &&
			strcmp(cJSON_GetStringValue(
				   cJSON_GetObjectItemCaseSensitive(rec, "secret_hash"))
				   ?: "",
			       hash) == 0;
		*standby = is_standby(rec);
		cJSON_Delete(rec);
	}
	if (again)
		return true;
	*cmd = bx_cmd_invite_use(id->valuestring, hash, node_id);
	return true;
}

void bx_api_join(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	static const char *const keys[] = {"id",         "name",   "raft", "api",
					   "cluster_id", "invite", NULL};
	const cJSON *name, *raft, *addr, *cluster, *invite;
	cJSON *use = NULL;
	const struct raft_server *s;
	struct pending *p;
	uint64_t node_id;
	bool standby = false;
	cJSON *body;
	int rv;

	body = bx_api_leader_body(api, req, keys);
	if (body == NULL)
		return;
	name = cJSON_GetObjectItemCaseSensitive(body, "name");
	raft = cJSON_GetObjectItemCaseSensitive(body, "raft");
	addr = cJSON_GetObjectItemCaseSensitive(body, "api");
	cluster = cJSON_GetObjectItemCaseSensitive(body, "cluster_id");
	invite = cJSON_GetObjectItemCaseSensitive(body, "invite");
	if (!bx_api_node_id(req, body, &node_id))
		goto out;
	if (invite == NULL && !req->from_unix && req->authorization == NULL) {
		/* the API let it through for its invite: there is none */
		bx_api_unauthorized(api, req,
				    "joining needs an invite ('blixard invite create')");
		goto out;
	}
	if (invite != NULL && !invite_use_cmd(api, req, invite, node_id, &use, &standby))
		goto out;
	if (!cJSON_IsString(raft) || !valid_address(raft->valuestring)) {
		bx_http_respond_error(req, 400, "field 'raft' must be \"HOST:PORT\"");
		goto out;
	}
	if (addr != NULL && (!cJSON_IsString(addr) || (addr->valuestring[0] != '\0' &&
						       !valid_address(addr->valuestring)))) {
		bx_http_respond_error(req, 400, "field 'api' must be \"HOST:PORT\"");
		goto out;
	}
	if (name != NULL &&
	    (!cJSON_IsString(name) ||
	     (name->valuestring[0] != '\0' && !bx_name_valid(name->valuestring)))) {
		bx_http_respond_error(req, 400, "field 'name' must be a valid node name");
		goto out;
	}
	if (cluster != NULL && (!cJSON_IsString(cluster) ||
				(cluster->valuestring[0] != '\0' &&
				 strcmp(cluster->valuestring, api->cluster_id) != 0))) {
		bx_http_respond_error(
		    req, 409,
		    "the joining node belongs to cluster %s, this is cluster %s",
		    cJSON_IsString(cluster) ? cluster->valuestring : "?", api->cluster_id);
		goto out;
	}
	s = server_by_id(api, node_id);
	if (s != NULL && strcmp(s->address, raft->valuestring) != 0) {
		bx_http_respond_error(req, 409, "node id %llu is already a member at %s",
				      (unsigned long long)s->id, s->address);
		goto out;
	}
	s = server_by_address(api, raft->valuestring);
	if (s != NULL && s->id != node_id) {
		bx_http_respond_error(req, 409,
				      "raft address %s is already used by node %llu",
				      raft->valuestring, (unsigned long long)s->id);
		goto out;
	}
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		goto out;
	p->id = node_id;
	p->name = strdup(cJSON_IsString(name) ? name->valuestring : "");
	p->node_api = strdup(cJSON_IsString(addr) ? addr->valuestring : "");
	p->raft = strdup(raft->valuestring);
	BX_INFO("api", "node %llu (%s) asks to join from %s%s", (unsigned long long)p->id,
		p->name ? p->name : "", p->raft ? p->raft : "",
		invite != NULL ? ", with an invite" : "");
	if (use != NULL) {
		/* the invite is spent (or refused) at apply, before the node is added */
		spend_invite(p, use, invite_used);
		use = NULL;
		goto out;
	}
	p->standby = standby; /* an invite spent at admission says */
	rv = bx_raft_node_add(api->raft, p->id, raft->valuestring, standby, join_added, p);
	if (rv != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv, "add the node to the Raft configuration");
	}
out:
	cJSON_Delete(use);
	cJSON_Delete(body);
}

/*
 * Admission: the first step of a join with an invite, for a node without the
 * cluster secret (src/node/join.h says why two steps). The invite is spent at
 * apply, like a join's; the answer is the cluster's id and its secret, and
 * only a good invite gets one.
 */
static void admitted(void *data, int code, const char *msg, const cJSON *record)
{
	struct pending *p = data;

	(void)record;
	if (code != BX_OK)
		BX_WARN("api", "node %llu refused admission: %s",
			(unsigned long long)p->id, msg);
	answer_joiner(p, code, msg, true);
}

void bx_api_admit(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	static const char *const keys[] = {"id", "cluster_id", "invite", NULL};
	const cJSON *invite, *cluster;
	cJSON *use = NULL, *body = bx_api_leader_body(api, req, keys);
	struct pending *p;
	uint64_t node_id;
	bool standby;

	if (body == NULL)
		return;
	invite = cJSON_GetObjectItemCaseSensitive(body, "invite");
	cluster = cJSON_GetObjectItemCaseSensitive(body, "cluster_id");
	if (!bx_api_node_id(req, body, &node_id))
		goto out;
	if (invite == NULL) {
		bx_http_respond_error(req, 400, "field 'invite' is required");
		goto out;
	}
	if (!invite_use_cmd(api, req, invite, node_id, &use, &standby))
		goto out;
	if (cJSON_IsString(cluster) && strcmp(cluster->valuestring, api->cluster_id) != 0) {
		bx_http_respond_error(req, 409,
				      "the invite is for cluster %s, this is cluster %s",
				      cluster->valuestring, api->cluster_id);
		goto out;
	}
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		goto out;
	p->id = node_id;
	BX_INFO("api", "node %llu asks for admission with an invite",
		(unsigned long long)node_id);
	if (use == NULL) { /* admitted before: its answer was lost */
		admitted(p, BX_OK, NULL, NULL);
		goto out;
	}
	spend_invite(p, use, admitted);
	use = NULL;
out:
	cJSON_Delete(use);
	cJSON_Delete(body);
}

/* --- leave / remove ------------------------------------------------------- */

static void leave_recorded(void *data, int code, const char *msg, const cJSON *record)
{
	struct pending *p = data;

	(void)record;
	if (p->req != NULL) {
		if (code != BX_OK && code != BX_ENOENT) {
			bx_api_respond_code(p->req, code, msg);
		} else {
			cJSON *body = cJSON_CreateObject();
			cJSON_AddNumberToObject(body, "removed", (double)p->id);
			bx_http_respond_json(p->req, 200, body);
			cJSON_Delete(body);
		}
	}
	bx_api_pending_free(p);
}

static void leave_removed(void *data, int code, const char *errmsg)
{
	struct pending *p = data;
	cJSON *cmd;
	int rv;

	if (code != BX_OK) {
		if (p->req != NULL)
			bx_api_respond_code(p->req, code, errmsg);
		bx_api_pending_free(p);
		return;
	}
	cmd = bx_cmd_node_remove(p->id);
	/* The removed server may have been this leader: then the command must go
	 * through whoever leads now. */
	bx_api_submit(p->api, cmd, leave_recorded, p);
	(void)rv;
}

void bx_api_leave(struct bx_api *api, struct bx_http_request *req, uint64_t id)
{
	static const char *const keys[] = {"id", NULL};
	cJSON *node = NULL;
	struct pending *p;
	int rv;

	if (!bx_raft_node_is_leader(api->raft)) {
		bx_api_forward(api, req);
		return;
	}
	if (id == 0) {
		cJSON *body = bx_api_parse_object(req);
		bool ok;
		if (body == NULL)
			return;
		if (!bx_api_only_keys(req, body, keys)) {
			cJSON_Delete(body);
			return;
		}
		ok = bx_api_node_id(req, body, &id);
		cJSON_Delete(body);
		if (!ok)
			return;
	}
	if (server_by_id(api, id) == NULL && bx_store_get_node(api->store, id, &node) != 0) {
		bx_http_respond_error(req, 404, "no node %llu in the cluster",
				      (unsigned long long)id);
		return;
	}
	cJSON_Delete(node);
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		return;
	p->id = id;
	rv = bx_raft_node_remove(api->raft, id, leave_removed, p);
	if (rv != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv,
				    "remove the node from the Raft configuration");
	}
}

/* --- the local node's own membership ------------------------------------- */

void bx_api_local_join(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	static const char *const keys[] = {"address", NULL};
	char errmsg[BX_ERRMSG_SIZE] = "";
	const cJSON *address;
	cJSON *body = bx_api_parse_object(req);

	if (body == NULL)
		return;
	if (!bx_api_only_keys(req, body, keys))
		goto out;
	address = cJSON_GetObjectItemCaseSensitive(body, "address");
	if (!cJSON_IsString(address) || !valid_address(address->valuestring)) {
		bx_http_respond_error(req, 400, "field 'address' must be \"HOST:PORT\"");
		goto out;
	}
	if (api->cluster_id[0] != '\0') {
		bx_http_respond_error(req, 409,
				      "node %llu is already a member of cluster %s",
				      (unsigned long long)api->node_id, api->cluster_id);
		goto out;
	}
	if (api->join(api->data, address->valuestring, errmsg) != 0) {
		bx_http_respond_error(req, 409, "%s", errmsg);
		goto out;
	}
	cJSON *ans = cJSON_CreateObject();
	cJSON_AddStringToObject(ans, "joining", address->valuestring);
	cJSON_AddNumberToObject(ans, "node_id", (double)api->node_id);
	bx_http_respond_json(req, 202, ans);
	cJSON_Delete(ans);
out:
	cJSON_Delete(body);
}

void bx_api_local_leave(struct bx_api *api, struct bx_http_request *req,
			const char *arg)
{
	(void)arg;
	struct bx_http_call_opts opts = {
	    .timeout_ms = 30000, .connect_timeout_ms = 2000, .headers = api->peer_headers};
	char leader[256], url[300], body[64];
	struct pending *p;

	if (bx_api_leader_api(api, leader, sizeof leader) == NULL) {
		bx_api_respond_code(req, BX_ENOLEADER, "no leader");
		return;
	}
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		return;
	snprintf(url, sizeof url, "http://%s/v1/cluster/leave", leader);
	snprintf(body, sizeof body, "{\"id\":%llu}", (unsigned long long)api->node_id);
	if (bx_http_client_request(api->client, "POST", url, body, strlen(body), &opts,
				   bx_api_relay_leader, p) != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, BX_EUNAVAIL, "cannot reach the leader");
	}
}
