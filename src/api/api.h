/* api.h - the HTTP API's routes under /v1/, served on TCP and the unix socket. */
#ifndef BX_API_H
#define BX_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "src/node/submit.h"

struct bx_agent;
struct bx_heartbeat;
struct bx_http_client;
struct bx_http_request;
struct bx_metrics;
struct bx_proposer;
struct bx_raft_node;
struct bx_store;

/* Bodies above this are answered 413 by the server before any route runs. */
#define BX_API_MAX_BODY (1u << 20)

/*
 * What the routes use of the node: its state and Raft's view to read, the
 * submitter to change the state (writes reach the FSM only as commands), the
 * agent and the heartbeat for what only this node knows (its instances, who
 * the leader has heard), and the node's identity. The composition root fills
 * it; what it points to outlives the API. Strings are the node's own buffers,
 * read at each request (the cluster id and secret arrive with a join).
 */
struct bx_api {
	uv_loop_t *loop;
	struct bx_store *store;
	struct bx_raft_node *raft;
	const struct bx_submitter *submitter;
	struct bx_http_client *client;  /* forwarding to the leader, peers' answers */
	struct bx_metrics *metrics;
	struct bx_proposer *proposer;   /* its counts, for GET /v1/cluster */
	struct bx_agent *agent;         /* this node's instances: logs, vm */
	struct bx_heartbeat *hb;        /* heartbeats heard, when each was last */
	uint64_t node_id;
	const char *cluster_id;         /* "" until bootstrapped or joined */
	const char *api_addr;           /* what the others reach this API at */
	const char *const *peer_headers; /* the cluster token, NULL-ended */
	const char *cluster_token;      /* a request bearing it is a member's */
	const char *secret;             /* what an admission answers */
	void *data;                     /* first argument of the two below */
	bool (*discovering)(void *data); /* still looking for its cluster */
	/* POST /v1/local/join: start joining through `target` */
	int (*join)(void *data, const char *target, char *errmsg);
	bool stopping; /* bx_api_stop: every request is answered 503 */
};

/*
 * The handler for every request (data = struct bx_api *). Reads are served
 * from the local store. Writes are proposed on the leader and answered only
 * once committed and applied; a follower forwards them to the leader's API
 * and relays the answer. Routes and bodies: docs/API.md.
 */
void bx_api_handle(void *data, struct bx_http_request *req);

/* Shutdown begins: every request from now on is answered 503. */
void bx_api_stop(struct bx_api *api);

/* Map a BX_E* code from the FSM or Raft to an HTTP status. */
int bx_api_status(int code);

#endif
