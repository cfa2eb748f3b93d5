/* api_auth.c - who may do what on the TCP API.
 *
 * The local socket is mode 0600: whoever reaches it is root or the daemon's
 * user, and needs no token. On TCP every request but GET /v1/health carries
 * "Authorization: Bearer TOKEN", one of:
 *   - the cluster token (secret.h), derived from the cluster secret: other
 *     members of the cluster; it may do anything, and only it may use the
 *     /v1/internal/ routes;
 *   - a token of 'blixard token create', with its role: admin may do anything
 *     else, read only GET (but not the tokens, invites or a snapshot).
 * A join or an admission may come without a token: its invite is its
 * credential, which the handler checks (api_members.c). Refusals are 401 (no or unknown
 * token) or 403 (a token that may not), counted by reason. */
#include "src/api/api.h"
#include "src/api/api_internal.h"
#include "src/base/metrics.h"

#include "net/http_server.h"
#include "src/base/log.h"
#include "src/model/secret.h"
#include "src/model/token.h"
#include "src/store/token_check.h"

#include <strings.h>
#include <string.h>

enum role { ROLE_NONE, ROLE_READ, ROLE_ADMIN, ROLE_CLUSTER };

void bx_api_unauthorized(struct bx_api *api, struct bx_http_request *req,
			 const char *why)
{
	api->metrics->auth_refused[req->authorization == NULL ? BX_AUTH_MISSING
							   : BX_AUTH_INVALID]++;
	bx_http_respond_error(req, 401, "%s", why);
}

static void forbidden(struct bx_api *api, struct bx_http_request *req, const char *role)
{
	api->metrics->auth_refused[BX_AUTH_FORBIDDEN]++;
	bx_http_respond_error(req, 403, "a token with the %s role may not %s %s", role,
			      req->method, req->path);
}

/* The token of "Bearer TOKEN" (the scheme in any case), or NULL. */
static const char *bearer(const char *authorization)
{
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	return *authorization != '\0' ? authorization : NULL;
}

static enum role role_of(struct bx_api *api, const char *token)
{
	char role[BX_TOKEN_ROLE_SIZE], errmsg[BX_ERRMSG_SIZE] = "";
	int rv;

	if (bx_secret_token_is(api->cluster_token, token))
		return ROLE_CLUSTER;
	rv = bx_token_check(api->store, token, role, errmsg);
	if (rv == BX_OK)
		return strcmp(role, "admin") == 0 ? ROLE_ADMIN : ROLE_READ;
	/* a refusal is the client's business (401); a store that cannot be
	 * read, or a damaged record, is the operator's */
	if (rv != BX_EINVAL && rv != BX_EPERM)
		BX_WARN("api", "token check: %s", errmsg[0] ? errmsg : bx_strerror(rv));
	return ROLE_NONE;
}

bool bx_api_authorize(struct bx_api *api, struct bx_http_request *req, unsigned flags)
{
	const char *token;
	enum role role;

	if (req->from_unix || (flags & BX_ROUTE_OPEN))
		return true;
	if (req->authorization == NULL) {
		if (flags & BX_ROUTE_INVITE)
			return true; /* its invite is checked where it is used */
		bx_api_unauthorized(
		    api, req,
		    "this API needs a token: 'Authorization: Bearer TOKEN' "
		    "('blixard token create' on the node's local socket)");
		return false;
	}
	token = bearer(req->authorization);
	role = token != NULL ? role_of(api, token) : ROLE_NONE;
	if (role == ROLE_NONE) {
		bx_api_unauthorized(api, req,
				    "the token is not valid here (unknown, revoked, "
				    "or not a Bearer token)");
		return false;
	}
	if (role == ROLE_CLUSTER)
		return true;
	if (flags & BX_ROUTE_MEMBERS) {
		forbidden(api, req, role == ROLE_ADMIN ? "admin" : "read");
		return false;
	}
	/* a snapshot holds the hashes of tokens and invites: admin's too */
	if (role == ROLE_READ &&
	    (strcmp(req->method, "GET") != 0 || (flags & BX_ROUTE_ADMIN))) {
		forbidden(api, req, "read");
		return false;
	}
	return true;
}
