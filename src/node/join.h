/* join.h - a fresh node joins a cluster through a member's API: admitted with an
 * invite first when it lacks the cluster secret, then added by the leader. */
#ifndef BX_JOIN_H
#define BX_JOIN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct bx_http_client;
struct bx_invite_token;

/*
 * A node without the cluster secret joins in two steps. Admission first
 * (POST /v1/cluster/admit): the cluster spends the invite and answers with the
 * secret, which the node keeps before anything else. Then the join proper
 * (POST /v1/cluster/join), as a holder of the secret: the leader adds the
 * server and catches it up, over Raft connections the node can now accept.
 * (In one step the leader would wait for a catch-up whose connections wait
 * for the answer.) A refusal the cluster will keep giving (4xx) is final; a
 * missing leader or an unreachable member is retried with a backoff, through
 * the invite's next member when it names several.
 */
struct bx_join {
	/* Set by the caller. */
	uv_loop_t *loop;
	struct bx_http_client *client;
	const char *const *headers; /* the cluster token once there is a secret */
	uint64_t node_id;
	const char *name, *api_addr, *raft_addr; /* what the node tells the leader */
	const char *cluster_id; /* this node's ("" before it joined) */
	void *data;
	bool (*has_secret)(void *data);
	/* keep the secret the admission answered (data dir, transport, header) */
	int (*take_secret)(void *data, const char *secret, char *errmsg);
	/* record the cluster joined (node.json); refuses another cluster's id */
	int (*adopt_cluster)(void *data, const char *cluster_id, char *errmsg);
	/* the cluster refused for good: the daemon stops, exit code 1 */
	void (*refused)(void *data);

	/* Its own. */
	struct bx_invite_token *invite; /* --join-token, decoded; NULL without */
	unsigned invite_member;         /* the token's member joined through now */
	bool joining;                   /* a join request is under way or due */
	bool in_flight;
	bool stopped;
	char target[256];
	uint64_t retry_at; /* uv_now() ms */
	unsigned attempts;
};

/* Decode --join-token into j->invite: 0, or BX_EINVAL (errmsg says why). */
int bx_join_use_invite(struct bx_join *j, const char *token, char *errmsg);

/* Can it join at all (an invite, or the secret)? Else BX_EINVAL saying how. */
int bx_join_check(struct bx_join *j, char *errmsg);

/* Start joining through a member's API at `target` ("HOST:PORT"); the next
 * tick sends the request. BX_EBUSY while a join is under way. */
int bx_join_start(struct bx_join *j, const char *target, char *errmsg);

/* Every tick: send the request when it is due. */
void bx_join_tick(struct bx_join *j);

/* Shutdown: answers still out are ignored. */
void bx_join_stop(struct bx_join *j);

/* Release the invite (after the loop has ended). */
void bx_join_free(struct bx_join *j);

#endif
