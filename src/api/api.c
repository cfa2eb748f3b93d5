/* api.c - route table, request checks, and the answers of the /v1/ API. */
#include "src/api/api.h"
#include "raft/command.h"
#include "raft/fsm.h"
#include "src/api/api_internal.h"
#include "src/base/metrics.h"
#include "src/base/utf8.h"
#include "src/node/heartbeat.h"
#include "src/node/proposer.h"
#include "src/store/store.h"

#include "net/http_client.h"
#include "net/http_server.h"
#include "raft/node.h"
#include "src/base/clock.h"
#include "src/base/log.h"
#include "src/base/version.h"
#include "src/model/spec.h"
#include "src/node/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void pending_abort(struct bx_http_request *req, void *data)
{
	struct pending *p = data;

	(void)req;
	p->req = NULL;
}

struct pending *bx_api_pending_new(struct bx_api *api, struct bx_http_request *req)
{
	struct pending *p = calloc(1, sizeof *p);

	if (p == NULL) {
		bx_http_respond_error(req, 500, "out of memory");
		return NULL;
	}
	p->req = req;
	p->api = api;
	bx_http_request_on_abort(req, pending_abort, p);
	return p;
}

void bx_api_pending_free(struct pending *p)
{
	if (p->req != NULL)
		bx_http_request_on_abort(p->req, NULL, NULL);
	free(p->name);
	free(p->node_api);
	free(p->raft);
	if (p->token != NULL) /* it holds a secret */
		OPENSSL_cleanse(p->token, strlen(p->token));
	free(p->token);
	free(p);
}

void bx_api_submit(struct bx_api *api, cJSON *cmd, bx_submit_cb cb, void *data)
{
	api->submitter->submit(api->submitter->data, cmd, cb, data);
}

int bx_api_propose(struct bx_api *api, cJSON *cmd, bx_submit_cb cb, void *data)
{
	return api->submitter->propose(api->submitter->data, cmd, cb, data);
}

const char *bx_api_leader_api(struct bx_api *api, char *buf, size_t size)
{
	return api->submitter->leader_api(api->submitter->data, buf, size);
}

void bx_api_stop(struct bx_api *api)
{
	api->stopping = true;
}

int bx_api_status(int code)
{
	switch (code) {
	case BX_OK:
		return 200;
	case BX_EINVAL:
	case BX_EPARSE:
		return 400;
	case BX_EPERM:
		return 403;
	case BX_ENOENT:
		return 404;
	case BX_EEXIST:
	case BX_ECONFLICT:
	case BX_EMISMATCH:
		return 409;
	case BX_ETOOBIG:
		return 413;
	case BX_ENOLEADER:
	case BX_ENOTLEADER:
	case BX_ESHUTDOWN:
	case BX_EUNAVAIL:
	case BX_EBUSY:
		return 503;
	case BX_ETIMEDOUT:
		return 504;
	default:
		return 500;
	}
}

void bx_api_respond_code(struct bx_http_request *req, int code, const char *msg)
{
	cJSON *body = cJSON_CreateObject();
	char text[1024];

	/* a message may quote what a client sent: only UTF-8 goes into JSON */
	snprintf(text, sizeof text, "%s", msg != NULL && msg[0] ? msg : bx_strerror(code));
	bx_utf8_clean(text, strlen(text));
	cJSON_AddStringToObject(body, "error", text);
	cJSON_AddNumberToObject(body, "code", code);
	bx_http_respond_json(req, bx_api_status(code), body);
	cJSON_Delete(body);
}

/* Parse a JSON object body. On failure answers 400 and returns NULL. */
cJSON *bx_api_leader_body(struct bx_api *api, struct bx_http_request *req,
			  const char *const *allowed)
{
	cJSON *body;

	if (!bx_raft_node_is_leader(api->raft)) {
		bx_api_forward(api, req);
		return NULL;
	}
	body = bx_api_parse_object(req);
	if (body != NULL && !bx_api_only_keys(req, body, allowed)) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

cJSON *bx_api_parse_object(struct bx_http_request *req)
{
	size_t valid = bx_utf8_valid_prefix(req->body, req->body_len);
	cJSON *body;

	/* JSON text is UTF-8 (RFC 8259): what is not would be kept as bytes no
	 * answer could quote (cJSON does not check) */
	if (valid != req->body_len) {
		bx_http_respond_error(req, 400, "request body is not UTF-8 (at byte %zu)",
				      valid);
		return NULL;
	}
	body = cJSON_ParseWithLength(req->body, req->body_len);
	if (body == NULL) {
		size_t at = 0;
		const char *where = cJSON_GetErrorPtr();
		if (where != NULL && where >= req->body &&
		    where <= req->body + req->body_len)
			at = (size_t)(where - req->body);
		bx_http_respond_error(req, 400,
				      "request body is not valid JSON (at byte %zu)", at);
		return NULL;
	}
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		bx_http_respond_error(req, 400, "request body must be a JSON object");
		return NULL;
	}
	return body;
}

/* Answer 400 if `body` has a key not in `allowed` (NULL-terminated). */
bool bx_api_only_keys(struct bx_http_request *req, const cJSON *body,
		      const char *const *allowed)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, body)
	{
		bool ok = false;
		for (const char *const *k = allowed; *k != NULL && !ok; k++)
			ok = strcmp(item->string, *k) == 0;
		if (!ok) {
			bx_http_respond_error(req, 400, "unknown field '%s'",
					      item->string);
			return false;
		}
	}
	return true;
}

/* --- forwarding to the leader ----------------------------------------- */

bool bx_api_node_id(struct bx_http_request *req, const cJSON *body, uint64_t *id)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "id");

	if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	    v->valuedouble > 9007199254740991.0 ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble) {
		bx_http_respond_error(req, 400, "field 'id' must be a whole number >= 1");
		return false;
	}
	*id = (uint64_t)v->valuedouble;
	return true;
}

static bool was_forwarded(const struct bx_http_request *req)
{
	return strstr(req->query, "forwarded=1") != NULL;
}

void bx_api_relay_leader(void *data, const struct bx_http_response *resp)
{
	struct pending *p = data;

	if (p->req != NULL) {
		if (resp->code != BX_OK)
			bx_api_respond_code(p->req, BX_EUNAVAIL,
					    "the leader did not answer");
		else
			bx_http_respond(p->req, (int)resp->status, "application/json",
					resp->body, resp->body_len);
	}
	bx_api_pending_free(p);
}

/*
 * Writes reaching a follower go to the leader with "forwarded=1" added, and
 * the answer is relayed as is. A forwarded request that reaches a node that
 * is no longer leader is refused rather than forwarded again, so a leader
 * change can never bounce a request around.
 */
void bx_api_forward(struct bx_api *api, struct bx_http_request *req)
{
	struct bx_http_call_opts opts = {
	    .timeout_ms = 30000, .connect_timeout_ms = 2000, .headers = api->peer_headers};
	char leader[256], url[2048];
	struct pending *p;

	if (was_forwarded(req) || bx_api_leader_api(api, leader, sizeof leader) == NULL) {
		bx_api_respond_code(req, BX_ENOLEADER, "no leader");
		return;
	}
	snprintf(url, sizeof url, "http://%s%s?%s%sforwarded=1", leader, req->path,
		 req->query, req->query[0] ? "&" : "");
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		return;
	if (bx_http_client_request(api->client, req->method, url, req->body, req->body_len,
				   &opts, bx_api_relay_leader, p) != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, BX_EUNAVAIL, "cannot reach the leader");
	}
}

/* --- writes on the leader ------------------------------------------------ */

static void write_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct pending *p = data;

	if (p->req != NULL) {
		if (code != BX_OK)
			bx_api_respond_code(p->req, code, msg);
		else if (record != NULL)
			bx_http_respond_json(p->req, 200, record);
		else
			bx_http_respond(p->req, 200, "application/json", "{}", 2);
	}
	bx_api_pending_free(p);
}

/* Propose cmd (owned) on this node, the leader; req is answered when the
 * entry is applied or the proposal fails. */
static void propose(struct bx_api *api, struct bx_http_request *req, cJSON *cmd)
{
	struct pending *p = bx_api_pending_new(api, req);
	int rv;

	if (p == NULL) {
		cJSON_Delete(cmd);
		return;
	}
	rv = bx_api_propose(api, cmd, write_done, p);
	if (rv != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv, NULL);
	}
}

static void propose_or_forward(struct bx_api *api, struct bx_http_request *req,
			       cJSON *cmd)
{
	if (!bx_raft_node_is_leader(api->raft)) {
		cJSON_Delete(cmd);
		bx_api_forward(api, req);
		return;
	}
	propose(api, req, cmd);
}

void bx_api_put_service(struct bx_api *api, struct bx_http_request *req, const char *name)
{
	static const char *const keys[] = {"spec", "start", NULL};
	struct bx_diags diags = {0};
	struct bx_spec spec;
	cJSON *body, *spec_json, *cmd;
	const cJSON *start;

	body = bx_api_leader_body(api, req, keys);
	if (body == NULL)
		return;
	spec_json = cJSON_GetObjectItemCaseSensitive(body, "spec");
	start = cJSON_GetObjectItemCaseSensitive(body, "start");
	if (!cJSON_IsObject(spec_json)) {
		bx_http_respond_error(req, 400, "field 'spec' (an object) is required");
		goto out;
	}
	if (start != NULL && !cJSON_IsBool(start)) {
		bx_http_respond_error(req, 400, "field 'start' must be true or false");
		goto out;
	}
	/* The spec's own name, if given, must agree with the URL. */
	cJSON *svc = cJSON_GetObjectItemCaseSensitive(spec_json, "service");
	if (svc == NULL) {
		svc = cJSON_AddObjectToObject(spec_json, "service");
	}
	if (cJSON_IsObject(svc)) {
		cJSON *jname = cJSON_GetObjectItemCaseSensitive(svc, "name");
		if (jname == NULL)
			cJSON_AddStringToObject(svc, "name", name);
		else if (!cJSON_IsString(jname) || !bx_name_valid(jname->valuestring)) {
			/* checked before it is quoted: a name is short and plain */
			bx_http_respond_error(req, 400,
					      "field 'spec.service.name' must be a service "
					      "name (1 to 63 of a-z, 0-9 and '-')");
			goto out;
		} else if (strcmp(jname->valuestring, name) != 0) {
			bx_http_respond_error(
			    req, 400, "spec names service '%s' but the URL names '%s'",
			    jname->valuestring, name);
			goto out;
		}
	}
	bx_spec_init(&spec);
	if (bx_spec_from_json(spec_json, &spec, &diags) != 0) {
		char msg[4096] = "";
		size_t used = 0;
		for (size_t i = 0; i < diags.len && used < sizeof msg - 1; i++)
			used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s",
						 i ? "; " : "", diags.items[i]);
		bx_http_respond_error(req, 400, "invalid spec: %s", msg);
		bx_diags_free(&diags);
		bx_spec_free(&spec);
		goto out;
	}
	cmd = bx_cmd_service_put(name, bx_spec_to_json(&spec),
				 start == NULL || cJSON_IsTrue(start));
	bx_spec_free(&spec);
	bx_diags_free(&diags);
	propose_or_forward(api, req, cmd);
out:
	cJSON_Delete(body);
}

void bx_api_internal_command(struct bx_api *api, struct bx_http_request *req,
			     const char *arg)
{
	(void)arg;
	cJSON *cmd;

	if (!bx_raft_node_is_leader(api->raft)) {
		bx_api_respond_code(req, BX_ENOTLEADER, "not the leader");
		return;
	}
	cmd = bx_api_parse_object(req);
	if (cmd == NULL)
		return;
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cmd, "op"))) {
		cJSON_Delete(cmd);
		bx_http_respond_error(req, 400, "field 'op' (a string) is required");
		return;
	}
	propose(api, req, cmd);
}

static void heartbeat_answered(void *data, int code, uint64_t index)
{
	struct pending *p = data;

	if (p->req != NULL) {
		if (code == BX_OK) {
			cJSON *body = cJSON_CreateObject();
			cJSON_AddNumberToObject(body, "index", (double)index);
			cJSON_AddNumberToObject(body, "leader", (double)p->api->node_id);
			bx_http_respond_json(p->req, 200, body);
			cJSON_Delete(body);
		} else {
			bx_api_respond_code(p->req, code, NULL);
		}
	}
	bx_api_pending_free(p);
}

/* POST /v1/internal/heartbeat {"id": N, "cluster_id": "hex"}: answered when
 * leadership is confirmed (src/node/heartbeat.h). */
void bx_api_internal_heartbeat(struct bx_api *api, struct bx_http_request *req,
			       const char *arg)
{
	(void)arg;
	static const char *const keys[] = {"id", "cluster_id", NULL};
	cJSON *body = bx_api_parse_object(req);
	const cJSON *cluster;
	struct pending *p;
	uint64_t id;
	int rv;

	if (body == NULL)
		return;
	cluster = cJSON_GetObjectItemCaseSensitive(body, "cluster_id");
	if (!bx_api_only_keys(req, body, keys) || !bx_api_node_id(req, body, &id))
		goto out;
	if (cluster != NULL && (!cJSON_IsString(cluster) ||
				strcmp(cluster->valuestring, api->cluster_id) != 0)) {
		bx_api_respond_code(req, BX_EMISMATCH, "heartbeat from another cluster");
		goto out;
	}
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		goto out;
	rv = bx_heartbeat_heard(api->hb, id, heartbeat_answered, p);
	if (rv != BX_OK) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv,
				    rv == BX_ENOENT       ? "not a member of this cluster"
				    : rv == BX_ENOTLEADER ? "not the leader"
							  : NULL);
	}
out:
	cJSON_Delete(body);
}

/* --- reads --------------------------------------------------------------- */

cJSON *bx_api_members_json(struct bx_api *api)
{
	struct raft *r = bx_raft_node_raft(api->raft);
	cJSON *arr = cJSON_CreateArray();

	for (unsigned i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		cJSON *m = cJSON_CreateObject();
		cJSON *node = NULL;
		const cJSON *addr = NULL, *name = NULL;

		if (bx_store_get_node(api->store, s->id, &node) == 0) {
			addr = cJSON_GetObjectItemCaseSensitive(node, "api");
			name = cJSON_GetObjectItemCaseSensitive(node, "name");
		}
		cJSON_AddNumberToObject(m, "id", (double)s->id);
		cJSON_AddStringToObject(m, "name",
					cJSON_IsString(name) ? name->valuestring : "");
		cJSON_AddStringToObject(m, "raft", s->address);
		cJSON_AddStringToObject(m, "api",
					cJSON_IsString(addr) ? addr->valuestring : "");
		cJSON_AddStringToObject(m, "role", bx_raft_role_name(s->role));
		cJSON_AddItemToArray(arr, m);
		cJSON_Delete(node);
	}
	return arr;
}

void bx_api_get_cluster(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	cJSON *body = cJSON_CreateObject();
	uint64_t leader = bx_raft_node_leader(api->raft);
	char leader_api[256];

	cJSON_AddStringToObject(body, "cluster_id", api->cluster_id);
	cJSON_AddNumberToObject(body, "node_id", (double)api->node_id);
	cJSON_AddBoolToObject(body, "discovering", api->discovering(api->data));
	if (leader != 0) {
		cJSON *l = cJSON_AddObjectToObject(body, "leader");
		cJSON_AddNumberToObject(l, "id", (double)leader);
		cJSON_AddStringToObject(
		    l, "api",
		    bx_api_leader_api(api, leader_api, sizeof leader_api) ? leader_api : "");
	} else {
		cJSON_AddNullToObject(body, "leader");
	}
	cJSON_AddNumberToObject(body, "term", (double)bx_raft_node_term(api->raft));
	cJSON_AddNumberToObject(body, "commit_index",
				(double)bx_raft_node_commit_index(api->raft));
	cJSON_AddNumberToObject(body, "applied_index",
				(double)bx_raft_node_last_applied(api->raft));
	/* proposals made while this node led: commands per Raft entry */
	cJSON *prop = cJSON_AddObjectToObject(body, "proposals");
	cJSON_AddNumberToObject(prop, "entries", (double)api->proposer->entries);
	cJSON_AddNumberToObject(prop, "commands", (double)api->proposer->commands);
	cJSON_AddItemToObject(body, "members", bx_api_members_json(api));
	bx_http_respond_json(req, 200, body);
	cJSON_Delete(body);
}

void bx_api_get_nodes(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	struct raft *r = bx_raft_node_raft(api->raft);
	cJSON *nodes = NULL, *services = NULL, *node;

	if (bx_store_list_nodes(api->store, &nodes) != 0 ||
	    bx_store_list_services(api->store, &services) != 0) {
		cJSON_Delete(nodes);
		bx_api_respond_code(req, BX_EIO, "read the state store");
		return;
	}
	cJSON_ArrayForEach(node, nodes)
	{
		uint64_t id =
		    (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(node, "id"));
		const char *role = NULL;
		int count = 0;
		double used_mem = 0, used_cpu = 0;
		const cJSON *svc;

		for (unsigned i = 0; i < r->configuration.n; i++)
			if (r->configuration.servers[i].id == id)
				role =
				    bx_raft_role_name(r->configuration.servers[i].role);
		cJSON_ArrayForEach(svc, services)
		{
			const cJSON *res = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(svc, "spec"), "service");
			if ((uint64_t)cJSON_GetNumberValue(
				cJSON_GetObjectItem(svc, "node")) != id)
				continue;
			count++;
			used_mem += cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(res, "memory_mb"));
			used_cpu += cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(res, "vcpus"));
		}
		bool down = bx_fsm_node_down(node);
		cJSON_AddStringToObject(node, "role", role ? role : "none");
		if (!cJSON_HasObjectItem(node, "status"))
			cJSON_AddStringToObject(node, "status", "up");
		/* alive: a member the leader has not declared down (src/node/heartbeat.h) */
		cJSON_AddBoolToObject(node, "alive", role != NULL && !down);
		uint64_t silent_ms;
		if (bx_heartbeat_silent_ms(api->hb, id, &silent_ms))
			cJSON_AddNumberToObject(node, "heartbeat_age_ms", (double)silent_ms);
		cJSON_AddNumberToObject(node, "services", count);
		/* what its services reserve (stopped ones too: they return there) */
		cJSON_AddNumberToObject(node, "used_memory_mb", used_mem);
		cJSON_AddNumberToObject(node, "used_vcpus", used_cpu);
		if (!cJSON_HasObjectItem(node, "draining"))
			cJSON_AddBoolToObject(node, "draining", false);
	}
	bx_http_respond_json(req, 200, nodes);
	cJSON_Delete(nodes);
	cJSON_Delete(services);
}

void bx_api_get_services(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	char *body;
	size_t len;

	/* records go out as stored: no parse and print of every record */
	if (bx_store_list_services_raw(api->store, &body, &len) != 0) {
		bx_api_respond_code(req, BX_EIO, "read the state store");
		return;
	}
	bx_http_respond(req, 200, "application/json", body, len);
	free(body);
}

static int by_instance(const void *a, const void *b)
{
	double x = cJSON_GetNumberValue(
		   cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)a, "instance")),
	       y = cJSON_GetNumberValue(
		   cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)b, "instance"));
	return (x > y) - (x < y);
}

/*
 * "instances": one summary per instance of the service, in order (the first
 * is the record itself; more with count > 1), what `blixard status NAME`
 * lists.
 */
static int add_instances(struct bx_api *api, cJSON *record)
{
	static const char *const keep[] = {
	    "name", "instance",   "node",     "desired", "state",    "health",
	    "pid",  "generation", "restarts", "reason",  "state_at", "move_to"};
	cJSON *others, *list, **sorted = NULL, *e;
	int n = 0,
	    rv = bx_store_list_instances(
		api->store,
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "name")),
		&others);

	if (rv != 0)
		return rv;
	list = cJSON_AddArrayToObject(record, "instances");
	sorted = calloc((size_t)cJSON_GetArraySize(others) + 1, sizeof *sorted);
	if (list == NULL || sorted == NULL) {
		cJSON_Delete(others);
		free(sorted);
		return BX_ENOMEM;
	}
	sorted[n++] = record;
	cJSON_ArrayForEach(e, others) sorted[n++] = e;
	qsort(sorted + 1, (size_t)n - 1, sizeof *sorted, by_instance);
	for (int i = 0; i < n; i++) {
		cJSON *sum = cJSON_CreateObject();
		if (sum == NULL || !cJSON_AddItemToArray(list, sum)) {
			cJSON_Delete(sum);
			rv = BX_ENOMEM;
			break;
		}
		for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
			const cJSON *v =
			    cJSON_GetObjectItemCaseSensitive(sorted[i], keep[k]);
			if (v != NULL)
				cJSON_AddItemToObject(sum, keep[k],
						      cJSON_Duplicate(v, 1));
		}
		if (i == 0)
			cJSON_AddNumberToObject(sum, "instance", 0);
	}
	free(sorted);
	cJSON_Delete(others);
	return rv;
}

void bx_api_get_service(struct bx_api *api, struct bx_http_request *req, const char *name)
{
	cJSON *record = NULL;
	int rv = bx_store_get_service(api->store, name, &record);

	if (rv == BX_ENOENT) {
		bx_http_respond_error(req, 404, "no service named '%s'", name);
		return;
	}
	if (rv == 0 && bx_name_valid(name))
		rv = add_instances(api, record);
	if (rv != 0) {
		cJSON_Delete(record);
		bx_api_respond_code(req, rv, "read the state store");
		return;
	}
	bx_http_respond_json(req, 200, record);
	cJSON_Delete(record);
}

/* GET /v1/services/NAME/vm: this node's instance, with the hypervisor's view. */
struct vm_query {
	struct bx_http_request *req;
	cJSON *info;
};

/* The client went away (or the server closed) before the hypervisor answered:
 * the answer goes nowhere. */
static void vm_query_abort(struct bx_http_request *req, void *data)
{
	struct vm_query *q = data;

	(void)req;
	q->req = NULL;
}

static void vm_status_done(void *data, int code, const cJSON *status, const char *errmsg)
{
	struct vm_query *q = data;

	if (q->req == NULL) {
		cJSON_Delete(q->info);
		free(q);
		return;
	}
	bx_http_request_on_abort(q->req, NULL, NULL);
	if (code == BX_OK)
		cJSON_AddItemToObject(q->info, "hypervisor",
				      cJSON_Duplicate(status, true));
	else
		cJSON_AddStringToObject(q->info, "hypervisor_error", errmsg);
	bx_http_respond_json(q->req, 200, q->info);
	cJSON_Delete(q->info);
	free(q);
}

/* --- reads only the instance's node can answer ----------------------------- */

/* Client callback (data = struct pending): relay the node's answer as is. */
static void relay_node(void *data, const struct bx_http_response *resp)
{
	struct pending *p = data;

	if (p->req != NULL) {
		if (resp->code != BX_OK) {
			char why[300];
			snprintf(why, sizeof why, "node %llu, which runs it, did not answer: %s",
				 (unsigned long long)p->id,
				 resp->errmsg ? resp->errmsg : bx_strerror(resp->code));
			bx_api_respond_code(p->req, BX_EUNAVAIL, why);
		} else {
			bx_http_respond(p->req, (int)resp->status,
					p->text && resp->status == 200
					    ? "text/plain; charset=utf-8"
					    : "application/json",
					resp->body, resp->body_len);
		}
	}
	bx_api_pending_free(p);
}

/*
 * An instance's console and its VM are known only to the node that runs it.
 * Asked of another node, the request is passed to that one with the
 * cluster's credentials and its answer relayed, so every verb works through
 * any node's local socket, with no token. A request passed once is marked
 * (proxied=1) and answered where it lands: never passed around. True when
 * the request was passed on (it is then answered later).
 */
static bool pass_to_instance_node(struct bx_api *api, struct bx_http_request *req,
				  const char *name, bool text)
{
	/* a console read is small: a node silent for 10 s is not answering
	 * (and the CLI, which waits 30 s, hears so from here) */
	struct bx_http_call_opts opts = {
	    .timeout_ms = 10000, .connect_timeout_ms = 2000, .headers = api->peer_headers};
	cJSON *rec = NULL, *node = NULL;
	uint64_t id;
	const char *addr;
	char url[2048];
	struct pending *p;

	if (bx_api_query(req->query, "proxied") != NULL ||
	    bx_store_get_service(api->store, name, &rec) != 0)
		return false;
	id = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "node"));
	cJSON_Delete(rec);
	if (id == 0 || id == api->node_id || bx_store_get_node(api->store, id, &node) != 0)
		return false;
	addr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(node, "api"));
	if (addr == NULL || addr[0] == '\0' ||
	    /* the marker first: whatever the client's query holds ('#'), it is sent */
	    snprintf(url, sizeof url, "http://%s%s?proxied=1%s%s", addr, req->path,
		     req->query[0] ? "&" : "", req->query) >= (int)sizeof url) {
		cJSON_Delete(node);
		return false;
	}
	cJSON_Delete(node);
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		return true; /* answered 500 */
	p->id = id;
	p->text = text;
	if (bx_http_client_request(api->client, "GET", url, NULL, 0, &opts, relay_node, p) !=
	    0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, BX_EUNAVAIL, "cannot reach the node that runs it");
	}
	return true;
}

/* 404: no such service, or it runs nowhere this node can pass the request to. */
static void no_instance(struct bx_api *api, struct bx_http_request *req, const char *name)
{
	cJSON *rec = NULL;

	if (bx_store_get_service(api->store, name, &rec) == BX_ENOENT)
		bx_http_respond_error(req, 404, "no service named '%s'", name);
	else
		bx_http_respond_error(req, 404, "service '%s' has no instance on node %llu",
				      name, (unsigned long long)api->node_id);
	cJSON_Delete(rec);
}

void bx_api_get_vm(struct bx_api *api, struct bx_http_request *req, const char *name)
{
	cJSON *info = api->agent != NULL ? bx_agent_instance_info(api->agent, name) : NULL;
	struct vm_query *q;

	if (info == NULL && pass_to_instance_node(api, req, name, false))
		return;
	if (info == NULL) {
		no_instance(api, req, name);
		return;
	}
	q = calloc(1, sizeof *q);
	if (q != NULL) {
		q->req = req;
		q->info = info;
		bx_http_request_on_abort(req, vm_query_abort, q);
		if (bx_agent_vm_status(api->agent, name, vm_status_done, q) == BX_OK)
			return;
		bx_http_request_on_abort(req, NULL, NULL);
		free(q);
	}
	/* no hypervisor's view to add: what the agent knows */
	bx_http_respond_json(req, 200, info);
	cJSON_Delete(info);
}

const char *bx_api_query(const char *query, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = query; p != NULL && *p != '\0';) {
		if (strncmp(p, key, len) == 0 && p[len] == '=')
			return p + len + 1;
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return NULL;
}

/*
 * GET /v1/services/NAME/logs: the console log of the instance on this node.
 *   ?n=N        the last N lines (default 100), as text
 *   ?from=OFF   the bytes from offset OFF to the end (at most 4 MiB), as text
 *   &format=json  {"offset": END, "data": "...", "rotated": bool} instead, for
 *               `blixard logs -f`: the next call asks from=END. When the file
 *               is shorter than OFF (it was rotated), it is read from 0.
 */
void bx_api_get_logs(struct bx_api *api, struct bx_http_request *req, const char *name)
{
	const char *path = api->agent ? bx_agent_console_path(api->agent, name) : NULL;
	const char *nq = bx_api_query(req->query, "n"),
		   *fq = bx_api_query(req->query, "from");
	const char *format = bx_api_query(req->query, "format");
	bool json = format != NULL && strncmp(format, "json", 4) == 0, rotated = false;
	long n = nq != NULL ? strtol(nq, NULL, 10) : 100;
	long long from_q = fq != NULL ? strtoll(fq, NULL, 10) : -1;
	char *buf;
	struct stat st;
	off_t from, want;
	int fd;

	if (n <= 0 || n > 100000)
		n = 100;
	if (path == NULL && pass_to_instance_node(api, req, name, !json))
		return;
	if (path == NULL) {
		no_instance(api, req, name);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) != 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		st.st_size = 0; /* nothing written yet */
	if (from_q >= 0) {
		from = (off_t)from_q;
		if (from > st.st_size) {
			from = 0;
			rotated = true;
		}
		want = st.st_size - from > (4 << 20) ? 4 << 20 : st.st_size - from;
	} else {
		/* The last n lines live in the last n * 1 KiB or so; at most 4 MiB. */
		want = (off_t)n * 1024 > (4 << 20) ? 4 << 20 : (off_t)n * 1024;
		from = st.st_size > want ? st.st_size - want : 0;
		want = st.st_size - from;
	}
	buf = malloc((size_t)want + 1);
	ssize_t got = buf == NULL ? -1 : fd < 0 ? 0 : pread(fd, buf, (size_t)want, from);
	if (fd >= 0)
		close(fd);
	if (got < 0) {
		free(buf);
		bx_api_respond_code(req, BX_EIO, "read the console log");
		return;
	}
	buf[got] = '\0';
	const char *start = buf;
	if (from_q < 0) {
		long lines = 0;
		for (const char *p = buf + got; p > buf; p--) {
			if (p[-1] == '\n' && p != buf + got && ++lines >= n) {
				start = p;
				break;
			}
		}
	}
	if (json) {
		cJSON *o = cJSON_CreateObject();
		bx_utf8_clean(buf, (size_t)got); /* console bytes into JSON */
		cJSON_AddNumberToObject(o, "offset", (double)(from + got));
		cJSON_AddStringToObject(o, "data", start);
		cJSON_AddBoolToObject(o, "rotated", rotated);
		bx_http_respond_json(req, 200, o);
		cJSON_Delete(o);
	} else {
		bx_http_respond(req, 200, "text/plain; charset=utf-8", start,
				(size_t)(buf + got - start));
	}
	free(buf);
}

void bx_api_get_health(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	cJSON *body = cJSON_CreateObject();

	cJSON_AddStringToObject(body, "status", "ok");
	cJSON_AddNumberToObject(body, "node_id", (double)api->node_id);
	cJSON_AddNumberToObject(body, "leader_id", (double)bx_raft_node_leader(api->raft));
	cJSON_AddStringToObject(body, "version", BX_VERSION);
	bx_http_respond_json(req, 200, body);
	cJSON_Delete(body);
}

/* --- writes the router sends here ---------------------------------------- */

void bx_api_delete_service(struct bx_api *api, struct bx_http_request *req,
			   const char *name)
{
	propose_or_forward(api, req, bx_cmd_service_delete(name));
}

void bx_api_start_service(struct bx_api *api, struct bx_http_request *req,
			  const char *name)
{
	propose_or_forward(api, req, bx_cmd_service_start(name));
}

void bx_api_stop_service(struct bx_api *api, struct bx_http_request *req, const char *name)
{
	propose_or_forward(api, req, bx_cmd_service_stop(name));
}

/* POST /v1/nodes/ID/drain: the node takes nothing new and its services leave
 * (two-phase, raft/fsm.c); POST /v1/nodes/ID/eligible: it takes work again. */
void bx_api_drain_node(struct bx_api *api, struct bx_http_request *req, const char *id)
{
	size_t n = strlen(req->path);
	bool drain = n >= 6 && strcmp(req->path + n - 6, "/drain") == 0;

	propose_or_forward(api, req, bx_cmd_node_drain(strtoull(id, NULL, 10), drain));
}
