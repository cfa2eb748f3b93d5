/* api_internal.h - what the API's route files share: pending requests, answers. */
#ifndef BX_API_INTERNAL_H
#define BX_API_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/api/api.h"
#include "src/base/error.h"

struct bx_api;
struct bx_http_request;
struct bx_http_response;

/* A request waiting for Raft (or for the leader, when forwarded). If the
 * client goes away first, `req` becomes NULL and the answer is dropped; the
 * write itself still completes. */
struct pending {
	struct bx_http_request *req;
	struct bx_api *api;
	uint64_t id;  /* join/leave: the server concerned */
	char *name;   /* join: the node's name */
	char *node_api; /* join: the node's API address */
	char *raft;   /* join: the node's Raft address */
	char *token;  /* invite or token create: the token to answer with */
	bool standby; /* join: its invite makes it a standby for good */
	bool text;    /* a proxied read answers text/plain (a console log) */
};

/*
 * A route's handler (routes.c holds the table): `arg` is the path's one
 * parameter, already checked by the router (a service key, a node id, an
 * invite or token id), or NULL for a path without one.
 */
typedef void bx_route_fn(struct bx_api *api, struct bx_http_request *req, const char *arg);

/* Who may call a route (api_auth.c). Without flags: any valid token may GET,
 * an admin token (or a member) may do the rest; the local socket may do all. */
enum {
	BX_ROUTE_OPEN = 1 << 0,    /* no token needed (health) */
	BX_ROUTE_INVITE = 1 << 1,  /* no token needed: its invite is checked where used */
	BX_ROUTE_MEMBERS = 1 << 2, /* members only: the cluster token (internal) */
	BX_ROUTE_ADMIN = 1 << 3,   /* an admin token even to read (secrets' hashes) */
};

/* The submitter's three functions (src/node/submit.h), for the routes. */
void bx_api_submit(struct bx_api *api, cJSON *cmd, bx_submit_cb cb, void *data);
int bx_api_propose(struct bx_api *api, cJSON *cmd, bx_submit_cb cb, void *data);
const char *bx_api_leader_api(struct bx_api *api, char *buf, size_t size);

/* api_auth.c: whether the request may go on to a route with these flags (else
 * it was answered 401 or 403 and counted); and a 401 for what the handler
 * finds unauthenticated. */
bool bx_api_authorize(struct bx_api *api, struct bx_http_request *req, unsigned flags);
void bx_api_unauthorized(struct bx_api *api, struct bx_http_request *req,
			 const char *why);

/* Allocate and hook into req's abort; on failure answers 500 and returns NULL. */
struct pending *bx_api_pending_new(struct bx_api *api, struct bx_http_request *req);
void bx_api_pending_free(struct pending *p);

/* {"error": msg or the code's text, "code": code} with bx_api_status(code). */
void bx_api_respond_code(struct bx_http_request *req, int code, const char *msg);

/* The body as a JSON object, or NULL after answering 400. */
cJSON *bx_api_parse_object(struct bx_http_request *req);

/* body's "id" as a node id (a whole number >= 1) into *id; false after
 * answering 400. */
bool bx_api_node_id(struct bx_http_request *req, const cJSON *body, uint64_t *id);

/* A write's body as a JSON object with no key outside `allowed`, on the
 * leader; NULL when the request was forwarded to the leader or answered 400. */
cJSON *bx_api_leader_body(struct bx_api *api, struct bx_http_request *req,
			  const char *const *allowed);

/* False (after answering 400) if body has a key not in `allowed`. */
bool bx_api_only_keys(struct bx_http_request *req, const cJSON *body,
		      const char *const *allowed);

/* The raw value of `key` in a query ("n=20&from=0": up to the next '&'), or NULL. */
const char *bx_api_query(const char *query, const char *key);

/* api_records.c, for records kept by id (invites, tokens). */
struct bx_store;
/* A collection's GET (/v1/invites): every record `list` reads, as `view` shows it. */
void bx_api_list_views(struct bx_api *api, struct bx_http_request *req,
		       int (*list)(struct bx_store *s, cJSON **out),
		       cJSON *(*view)(const cJSON *rec));
/* On the leader (else forwarded): propose command(id) (bx_cmd_invite_revoke,
 * …); cb (its data a struct pending) answers once it is applied. */
void bx_api_propose_id(struct bx_api *api, struct bx_http_request *req,
		       cJSON *(*command)(const char *id), const char *id,
		       void (*cb)(void *data, int code, const char *msg,
				  const cJSON *record));

/* Answer a record's command (invites, tokens): the error, or `view` (the
 * record as a client may see it; NULL: out of memory) with p->token added as
 * "token", 201, when p->token is set, else 200. Frees view and p. */
void bx_api_answer_view(struct pending *p, int code, const char *msg, cJSON *view);

/* Client callback (data = struct pending): relay the leader's answer as is. */
void bx_api_relay_leader(void *data, const struct bx_http_response *resp);

/* Send a write to the leader and relay its answer (or 503 without a leader). */
void bx_api_forward(struct bx_api *api, struct bx_http_request *req);

/* The Raft configuration with each member's name, addresses and role. */
cJSON *bx_api_members_json(struct bx_api *api);

void bx_api_leave(struct bx_api *api, struct bx_http_request *req, uint64_t id);

/* The routes' handlers, by file. api.c: health, cluster, nodes, services. */
bx_route_fn bx_api_get_health, bx_api_get_cluster, bx_api_get_nodes, bx_api_get_services,
    bx_api_get_service, bx_api_put_service, bx_api_delete_service, bx_api_start_service,
    bx_api_stop_service, bx_api_get_logs, bx_api_get_vm, bx_api_drain_node,
    bx_api_internal_command, bx_api_internal_heartbeat;
/* api_members.c: admission, join, leave */
bx_route_fn bx_api_admit, bx_api_join, bx_api_local_join, bx_api_local_leave;
/* api_metrics.c: GET /metrics, GET /v1/prometheus/targets */
bx_route_fn bx_api_metrics, bx_api_prometheus_targets;
/* api_invites.c and api_tokens.c: the collections and their records */
bx_route_fn bx_api_invites_list, bx_api_invites_create, bx_api_invite_revoke;
bx_route_fn bx_api_tokens_list, bx_api_tokens_create, bx_api_token_show,
    bx_api_token_revoke;
/* api_ops.c: GET /v1/events, GET /v1/snapshot */
bx_route_fn bx_api_events, bx_api_snapshot;

#endif
