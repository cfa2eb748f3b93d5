/* api_records.c - what the routes of records kept by id share (invites in
 * api_invites.c, tokens in api_tokens.c): the list, a command naming one,
 * the answer with the record as a client may see it. */
#include "src/api/api.h"
#include "src/api/api_internal.h"

#include "net/http_server.h"
#include "raft/node.h"
#include "src/base/error.h"

#include <string.h>

void bx_api_list_views(struct bx_api *api, struct bx_http_request *req,
		       int (*list)(struct bx_store *s, cJSON **out),
		       cJSON *(*view)(const cJSON *rec))
{
	cJSON *all = NULL, *out = cJSON_CreateArray(), *rec;

	if (out == NULL || list(api->store, &all) != 0) {
		cJSON_Delete(out);
		bx_api_respond_code(req, BX_EIO, "read the state store");
		return;
	}
	cJSON_ArrayForEach(rec, all) cJSON_AddItemToArray(out, view(rec));
	bx_http_respond_json(req, 200, out);
	cJSON_Delete(out);
	cJSON_Delete(all);
}

void bx_api_propose_id(struct bx_api *api, struct bx_http_request *req,
		       cJSON *(*command)(const char *id), const char *id,
		       void (*cb)(void *data, int code, const char *msg,
				  const cJSON *record))
{
	struct pending *p;
	cJSON *cmd;
	int rv;

	if (!bx_raft_node_is_leader(api->raft)) {
		bx_api_forward(api, req);
		return;
	}
	p = bx_api_pending_new(api, req);
	if (p == NULL)
		return;
	cmd = command(id);
	rv = bx_api_propose(api, cmd, cb, p);
	if (rv != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv, NULL);
	}
}

void bx_api_answer_view(struct pending *p, int code, const char *msg, cJSON *view)
{
	bool ok = view != NULL &&
		  (p->token == NULL || cJSON_AddStringToObject(view, "token", p->token));

	if (p->req != NULL && code != BX_OK)
		bx_api_respond_code(p->req, code, msg);
	else if (p->req != NULL && !ok)
		bx_api_respond_code(p->req, BX_ENOMEM, NULL);
	else if (p->req != NULL)
		bx_http_respond_json(p->req, p->token != NULL ? 201 : 200, view);
	cJSON_Delete(view);
	bx_api_pending_free(p);
}
