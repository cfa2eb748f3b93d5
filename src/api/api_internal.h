/* api_internal.h - what the API's route files share: pending requests, answers. */
#ifndef BX_API_INTERNAL_H
#define BX_API_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct bx_daemon;
struct bx_http_request;
struct bx_http_response;

/* A request waiting for Raft (or for the leader, when forwarded). If the
 * client goes away first, `req` becomes NULL and the answer is dropped; the
 * write itself still completes. */
struct pending {
	struct bx_http_request *req;
	struct bx_daemon *d;
	uint64_t id;  /* join/leave: the server concerned */
	char *name;   /* join: the node's name */
	char *api;    /* join: the node's API address */
	char *raft;   /* join: the node's Raft address */
	char *token;  /* invite or token create: the token to answer with */
	bool standby; /* join: its invite makes it a standby for good */
};

/* POST /v1/cluster/admit: a node's invite spent, the cluster secret answered. */
void bx_api_admit(struct bx_daemon *d, struct bx_http_request *req);

/* api_auth.c: whether the request may go on (else it was answered 401 or
 * 403 and counted); and a 401 for what the handler finds unauthenticated. */
bool bx_api_authorize(struct bx_daemon *d, struct bx_http_request *req);
void bx_api_unauthorized(struct bx_daemon *d, struct bx_http_request *req,
			 const char *why);

/* Allocate and hook into req's abort; on failure answers 500 and returns NULL. */
struct pending *bx_api_pending_new(struct bx_daemon *d, struct bx_http_request *req);
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
cJSON *bx_api_leader_body(struct bx_daemon *d, struct bx_http_request *req,
			  const char *const *allowed);

/* False (after answering 400) if body has a key not in `allowed`. */
bool bx_api_only_keys(struct bx_http_request *req, const cJSON *body,
		      const char *const *allowed);

/* The raw value of `key` in a query ("n=20&from=0": up to the next '&'), or NULL. */
const char *bx_api_query(const char *query, const char *key);

/* api_records.c, for records kept by id (invites, tokens). */
struct bx_store;
/* The collection's route (/v1/invites): GET answers every record `list`
 * reads, as `view` shows it; POST runs `create`; other methods get 405. */
void bx_api_collection(struct bx_daemon *d, struct bx_http_request *req,
		       int (*list)(struct bx_store *s, cJSON **out),
		       cJSON *(*view)(const cJSON *rec),
		       void (*create)(struct bx_daemon *d, struct bx_http_request *req));
/* On the leader (else forwarded): propose command(id) (bx_cmd_invite_revoke,
 * …); cb (its data a struct pending) answers once it is applied. */
void bx_api_propose_id(struct bx_daemon *d, struct bx_http_request *req,
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
void bx_api_forward(struct bx_daemon *d, struct bx_http_request *req);

/* The Raft configuration with each member's name, addresses and role. */
cJSON *bx_api_members_json(struct bx_daemon *d);

/* Membership routes (api_members.c). */
void bx_api_join(struct bx_daemon *d, struct bx_http_request *req);
void bx_api_leave(struct bx_daemon *d, struct bx_http_request *req, uint64_t id);
void bx_api_local_join(struct bx_daemon *d, struct bx_http_request *req);
void bx_api_local_leave(struct bx_daemon *d, struct bx_http_request *req);

/* api_metrics.c: GET /metrics, GET /v1/prometheus/targets */
void bx_api_metrics(struct bx_daemon *d, struct bx_http_request *req);
void bx_api_prometheus_targets(struct bx_daemon *d, struct bx_http_request *req);

/* api_invites.c: /v1/invites (GET list, POST create), /v1/invites/ID
 * (DELETE revokes); bx_api_invite_use: a join's invite, on the leader */
void bx_api_invites(struct bx_daemon *d, struct bx_http_request *req);
void bx_api_invite(struct bx_daemon *d, struct bx_http_request *req, const char *id);

/* api_tokens.c: /v1/tokens (GET list, POST create), /v1/tokens/ID (GET shows,
 * DELETE revokes) */
void bx_api_tokens(struct bx_daemon *d, struct bx_http_request *req);
void bx_api_token(struct bx_daemon *d, struct bx_http_request *req, const char *id);

/* api_ops.c: GET /v1/events, GET /v1/snapshot */
void bx_api_events(struct bx_daemon *d, struct bx_http_request *req);
void bx_api_snapshot(struct bx_daemon *d, struct bx_http_request *req);

#endif
