/* routes.c - the API's route table: method, path pattern, handler and who may call it. */
#include "src/api/api.h"
#include "src/api/api_internal.h"

#include "net/http_server.h"
#include "src/model/spec.h"
#include "src/model/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every route is one line here. A path pattern's segments match literally,
 * but for one parameter, ":service", ":node", ":invite" or ":token", which
 * matches one segment; the router checks it (a 400 saying what is wrong)
 * before the method, and hands it to the handler. A path no pattern matches
 * is a 404; a path some pattern matches with another method, a 405 listing
 * the methods it takes. The flags say who may call the route (api_auth.c):
 * by default any token may GET and an admin token may do the rest.
 *
 * Writes are proposed on the leader and answered once applied; a follower
 * forwards them (the handlers, through bx_api_leader_body or
 * propose_or_forward). Routes and bodies: docs/API.md.
 */
struct route {
	const char *method;
	const char *path;
	bx_route_fn *handler;
	unsigned flags; /* BX_ROUTE_* (api_internal.h) */
};

static void leave_cluster(struct bx_api *api, struct bx_http_request *req,
			  const char *arg)
{
	(void)arg;
	bx_api_leave(api, req, 0);
}

static void remove_node(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	bx_api_leave(api, req, strtoull(arg, NULL, 10));
}

static const struct route routes[] = {
    {"GET", "/v1/health", bx_api_get_health, BX_ROUTE_OPEN},
    {"GET", "/v1/cluster", bx_api_get_cluster, 0},
    {"POST", "/v1/cluster/admit", bx_api_admit, BX_ROUTE_INVITE},
    {"POST", "/v1/cluster/join", bx_api_join, BX_ROUTE_INVITE},
    {"POST", "/v1/cluster/leave", leave_cluster, 0},
    {"GET", "/v1/nodes", bx_api_get_nodes, 0},
    {"DELETE", "/v1/nodes/:node", remove_node, 0},
    {"POST", "/v1/nodes/:node/drain", bx_api_drain_node, 0},
    {"POST", "/v1/nodes/:node/eligible", bx_api_drain_node, 0},
    {"GET", "/v1/services", bx_api_get_services, 0},
    {"GET", "/v1/services/:service", bx_api_get_service, 0},
    {"PUT", "/v1/services/:service", bx_api_put_service, 0},
    {"DELETE", "/v1/services/:service", bx_api_delete_service, 0},
    {"POST", "/v1/services/:service/start", bx_api_start_service, 0},
    {"POST", "/v1/services/:service/stop", bx_api_stop_service, 0},
    {"GET", "/v1/services/:service/logs", bx_api_get_logs, 0},
    {"GET", "/v1/services/:service/vm", bx_api_get_vm, 0},
    {"GET", "/v1/events", bx_api_events, 0},
    {"GET", "/v1/snapshot", bx_api_snapshot, BX_ROUTE_ADMIN},
    {"GET", "/v1/invites", bx_api_invites_list, BX_ROUTE_ADMIN},
    {"POST", "/v1/invites", bx_api_invites_create, BX_ROUTE_ADMIN},
    {"DELETE", "/v1/invites/:invite", bx_api_invite_revoke, BX_ROUTE_ADMIN},
    {"GET", "/v1/tokens", bx_api_tokens_list, BX_ROUTE_ADMIN},
    {"POST", "/v1/tokens", bx_api_tokens_create, BX_ROUTE_ADMIN},
    {"GET", "/v1/tokens/:token", bx_api_token_show, BX_ROUTE_ADMIN},
    {"DELETE", "/v1/tokens/:token", bx_api_token_revoke, BX_ROUTE_ADMIN},
    {"GET", "/v1/prometheus/targets", bx_api_prometheus_targets, 0},
    {"GET", "/metrics", bx_api_metrics, 0},
    {"POST", "/v1/local/join", bx_api_local_join, 0},
    {"POST", "/v1/local/leave", bx_api_local_leave, 0},
    {"POST", "/v1/internal/command", bx_api_internal_command, BX_ROUTE_MEMBERS},
    {"POST", "/v1/internal/heartbeat", bx_api_internal_heartbeat, BX_ROUTE_MEMBERS},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])
#define ARG_MAX 256

/* A path's parameter as the pattern names it. */
struct arg {
	const char *kind; /* "service", "node", …; NULL: the pattern has none */
	char value[ARG_MAX];
	size_t len; /* its whole length, even when longer than `value` holds */
};

/* Does `path` match `pattern`? Its parameter into *arg. */
static bool match(const char *pattern, const char *path, struct arg *arg)
{
	arg->kind = NULL;
	while (*pattern != '\0' && *path != '\0') {
		if (*pattern == ':') {
			size_t klen = strcspn(pattern + 1, "/");
			size_t vlen = strcspn(path, "/");
			if (vlen == 0)
				return false;
			arg->kind = pattern + 1;
			arg->len = vlen;
			snprintf(arg->value, sizeof arg->value, "%.*s",
				 (int)(vlen < ARG_MAX ? vlen : ARG_MAX - 1), path);
			pattern += 1 + klen;
			path += vlen;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

static bool kind_is(const struct arg *arg, const char *kind)
{
	size_t n = strlen(kind);

	return strncmp(arg->kind, kind, n) == 0 && (arg->kind[n] == '/' || arg->kind[n] == '\0');
}

/* Reads take a record key (a service's name, or NAME@I for one of its
 * instances); writes act on a whole service and take its name. */
static bool valid_service(struct bx_http_request *req, const struct arg *arg)
{
	const char *name = arg->value;
	bool write = strcmp(req->method, "GET") != 0;
	char service[BX_NAME_MAX + 1];

	if (arg->len >= 128) {
		bx_http_respond_error(req, 400,
				      "invalid service name: longer than 63 characters");
		return false;
	}
	if (bx_name_valid(name) || (!write && bx_key_valid(name)))
		return true;
	if (bx_key_valid(name)) {
		unsigned i = bx_key_split(name, service);
		bx_http_respond_error(
		    req, 400,
		    "'%s' is instance %u of service '%s': %s %s acts on "
		    "the whole service, /v1/services/%s",
		    name, i, service, req->method, req->path, service);
		return false;
	}
	bx_http_respond_error(
	    req, 400,
	    "invalid service name '%.80s': use 1 to 63 of a-z, 0-9 and '-', "
	    "not starting with '-' (NAME@I names instance I of a service with "
	    "count > 1)",
	    name);
	return false;
}

/* A node id: a whole number 1..2^53. */
static bool valid_node(struct bx_http_request *req, const struct arg *arg)
{
	char *end;
	unsigned long long id;

	errno = 0;
	id = strtoull(arg->value, &end, 10);
	if (errno != 0 || end == arg->value || *end != '\0' || id == 0 ||
	    arg->value[0] == '-' || id > (1ull << 53) || arg->len >= ARG_MAX) {
		bx_http_respond_error(req, 400, "invalid node id '%.40s'", arg->value);
		return false;
	}
	return true;
}

static bool valid_arg(struct bx_http_request *req, const struct arg *arg)
{
	if (arg->kind == NULL)
		return true;
	if (kind_is(arg, "service"))
		return valid_service(req, arg);
	if (kind_is(arg, "node"))
		return valid_node(req, arg);
	if (kind_is(arg, "invite")) {
		if (arg->len <= 64 && strspn(arg->value, "0123456789abcdef") == arg->len)
			return true;
		bx_http_respond_error(req, 400, "'%.64s' is not an invite id (hex)",
				      arg->value);
		return false;
	}
	if (kind_is(arg, "token")) {
		if (arg->len < ARG_MAX && bx_token_id_valid(arg->value))
			return true;
		bx_http_respond_error(
		    req, 400, "'%.64s' is not a token id (16 hex digits, 0-9 a-f)",
		    arg->value);
		return false;
	}
	bx_http_respond_error(req, 500, "route parameter '%s' has no check", arg->kind);
	return false;
}

static void method_not_allowed(struct bx_http_request *req)
{
	char allowed[64] = "";
	size_t used = 0;
	struct arg arg;

	for (size_t i = 0; i < N_ROUTES; i++)
		if (match(routes[i].path, req->path, &arg) &&
		    strstr(allowed, routes[i].method) == NULL)
			used += (size_t)snprintf(allowed + used, sizeof allowed - used,
						 "%s%s", used ? ", " : "",
						 routes[i].method);
	bx_http_respond_error(req, 405, "method %s not allowed on %s (allowed: %s)",
			      req->method, req->path, allowed);
}

void bx_api_handle(void *data, struct bx_http_request *req)
{
	struct bx_api *api = data;
	const struct route *path_match = NULL, *hit = NULL;
	struct arg arg = {0};

	if (api->stopping) {
		bx_api_respond_code(req, BX_ESHUTDOWN, "the daemon is shutting down");
		return;
	}
	for (size_t i = 0; i < N_ROUTES && hit == NULL; i++) {
		struct arg here;
		if (!match(routes[i].path, req->path, &here))
			continue;
		if (path_match == NULL) {
			path_match = &routes[i];
			arg = here;
		}
		if (strcmp(routes[i].method, req->method) == 0)
			hit = &routes[i];
	}
	if (!bx_api_authorize(api, req, path_match != NULL ? path_match->flags : 0))
		return;
	if (path_match == NULL) {
		bx_http_respond_error(req, 404, "no route %s %s", req->method, req->path);
		return;
	}
	if (!valid_arg(req, &arg))
		return;
	if (hit == NULL) {
		method_not_allowed(req);
		return;
	}
	hit->handler(api, req, arg.kind != NULL ? arg.value : NULL);
}
