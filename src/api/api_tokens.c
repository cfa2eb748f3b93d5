/* api_tokens.c - API tokens: create (the token, once), list, show, revoke.
 * Writes go to the leader, which draws the id and secret and proposes
 * token.create with the secret's hash; the secret is in the answer and
 * nowhere else. Reads answer from this node's replicated state. */
#include "raft/command.h"
#include "src/api/api.h"
#include "src/api/api_internal.h"

#include "net/http_server.h"
#include "src/base/error.h"
#include "src/base/log.h"
#include "src/model/token.h"
#include "src/store/store.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a client may see of a token: everything but its secret's hash. */
static cJSON *public_view(const cJSON *rec)
{
	cJSON *o = cJSON_Duplicate(rec, 1);

	cJSON_DeleteItemFromObjectCaseSensitive(o, "secret_hash");
	return o;
}

/* A token command applied: the token as a client may see it, and for a new
 * one (p->token set) the token string, 201. */
static void answered(void *data, int code, const char *msg, const cJSON *record)
{
	bx_api_answer_view(data, code, msg, code == BX_OK ? public_view(record) : NULL);
}

/* Who asks, for the record: the token the request carries ("token ID";
 * checking it is the API middleware's job), "local" on the Unix socket, else
 * NULL (not known here, e.g. a request a follower forwarded). */
static const char *asker(const struct bx_http_request *req, char *buf, size_t size)
{
	char id[BX_TOKEN_ID_LEN + 1], secret[BX_TOKEN_SECRET_LEN + 1];

	if (req->authorization != NULL &&
	    bx_token_parse(req->authorization, id, secret, NULL) == 0) {
		OPENSSL_cleanse(secret, sizeof secret);
		snprintf(buf, size, "token %s", id);
		return buf;
	}
	return req->from_unix ? "local" : NULL;
}

/* The body's role (default "read") and name (default ""): false after
 * answering 400. */
static bool read_body(struct bx_http_request *req, const cJSON *body, const char **role,
		      const char **name)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "role");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "name");

	if (r != NULL && (!cJSON_IsString(r) || !bx_token_role_valid(r->valuestring))) {
		bx_http_respond_error(req, 400,
				      "field 'role' must be \"admin\" or \"read\"");
		return false;
	}
	if (n != NULL && (!cJSON_IsString(n) || !bx_token_name_valid(n->valuestring))) {
		bx_http_respond_error(
		    req, 400,
		    "field 'name' must be at most %d characters of A-Z, a-z, "
		    "0-9, '.', '_', '@' and '-'",
		    BX_TOKEN_NAME_MAX);
		return false;
	}
	*role = r != NULL ? r->valuestring : "read";
	*name = n != NULL ? n->valuestring : "";
	return true;
}

/* Draw a token's id and secret; propose token.create with the secret's hash
 * and answer the token once it is applied. */
static void propose_new(struct bx_api *api, struct bx_http_request *req,
			const char *role, const char *name)
{
	char id[BX_TOKEN_ID_LEN + 1], secret[BX_TOKEN_SECRET_LEN + 1];
	char hash[BX_TOKEN_SECRET_LEN + 1], by_buf[32];
	const char *by = asker(req, by_buf, sizeof by_buf);
	struct pending *p;
	cJSON *cmd;
	int rv;

	if (bx_token_new(id, secret) != 0) {
		bx_http_respond_error(req, 500, "no random bytes for the token's secret");
		return;
	}
	bx_token_hash(secret, hash);
	p = bx_api_pending_new(api, req);
	cmd = bx_cmd_token_create(id, hash, role, name, by);
	if (p != NULL && (p->token = malloc(BX_TOKEN_LEN + 1)) != NULL)
		bx_token_format(id, secret, p->token);
	OPENSSL_cleanse(secret, sizeof secret);
	if (p == NULL || p->token == NULL || cmd == NULL) {
		cJSON_Delete(cmd);
		if (p != NULL) {
			bx_api_pending_free(p);
			bx_http_respond_error(req, 500, "out of memory");
		}
		return;
	}
	rv = bx_api_propose(api, cmd, answered, p);
	if (rv != 0) {
		bx_api_pending_free(p);
		bx_api_respond_code(req, rv, "propose the token");
	} else {
		BX_INFO("api", "token %s created: role %s%s%s", id, role,
			name[0] != '\0' ? ", name " : "", name);
	}
}

static void create(struct bx_api *api, struct bx_http_request *req)
{
	static const char *const keys[] = {"role", "name", NULL};
	cJSON *body = bx_api_leader_body(api, req, keys);
	const char *role, *name;

	if (body != NULL && read_body(req, body, &role, &name))
		propose_new(api, req, role, name);
	cJSON_Delete(body);
}

static void show(struct bx_api *api, struct bx_http_request *req, const char *id)
{
	cJSON *rec = NULL, *view;
	int rc = bx_store_get_token(api->store, id, &rec);

	if (rc != 0) {
		char msg[64];
		snprintf(msg, sizeof msg, "no token %s", id);
		bx_api_respond_code(req, rc, rc == BX_ENOENT ? msg : NULL);
		return;
	}
	view = public_view(rec);
	bx_http_respond_json(req, 200, view);
	cJSON_Delete(view);
	cJSON_Delete(rec);
}

void bx_api_tokens_list(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	bx_api_list_views(api, req, bx_store_list_tokens, public_view);
}

void bx_api_tokens_create(struct bx_api *api, struct bx_http_request *req,
			  const char *arg)
{
	(void)arg;
	create(api, req);
}

/* GET /v1/tokens/ID (an id the router checked) */
void bx_api_token_show(struct bx_api *api, struct bx_http_request *req, const char *id)
{
	show(api, req, id);
}

/* DELETE /v1/tokens/ID */
void bx_api_token_revoke(struct bx_api *api, struct bx_http_request *req, const char *id)
{
	bx_api_propose_id(api, req, bx_cmd_token_revoke, id, answered);
}
