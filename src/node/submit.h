/* submit.h - the submitter port: how a component asks for a replicated command. */
#ifndef BX_SUBMIT_H
#define BX_SUBMIT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Invariant 3: every decision is a command. A component that wants the state
 * changed hands a command (raft/command.h's constructors) to a submitter and
 * learns the FSM's verdict in the callback, once the command is applied on the
 * node that proposed it (or has failed). The daemon's submitter proposes on
 * the leader and forwards to the leader's API from a follower
 * (struct bx_submit below); tests use an in-memory one that applies to a real FSM
 * and store (tests/lib/fake_submit.h).
 */

/* The FSM's result code and message, and the record written (borrowed, may
 * be NULL). Runs once per submitted command: later, or from inside submit()
 * when the command cannot even be sent (no leader known, out of memory). */
typedef void (*bx_submit_cb)(void *data, int code, const char *msg, const cJSON *record);

struct bx_submitter {
	void *data; /* the submitter's own, first argument of each function */
	/* From any node: proposed here on the leader, else forwarded to it.
	 * `cmd` is taken (NULL: out of memory, said to cb). */
	void (*submit)(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data);
	/* This node must be the leader: queued for this loop turn's entry. `cmd`
	 * is taken. BX_OK: cb runs once, later; else it never runs. */
	int (*propose)(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data);
	/* "HOST:PORT" of the leader's API into buf, or NULL when unknown. */
	const char *(*leader_api)(void *data, char *buf, size_t size);
};

/*
 * The daemon's submitter. A command reaches the FSM from any node: on the
 * leader it is stamped and queued for this loop turn's entry (the proposer,
 * src/node/proposer.h); on a follower it travels to the leader's API
 * (POST /v1/internal/command) with the cluster's credentials, and the
 * leader's answer comes back as the FSM's verdict. Either way the callback
 * runs once the command is applied on the node that proposed it.
 */
struct bx_raft_node;
struct bx_store;
struct bx_proposer;
struct bx_http_client;

struct bx_submit {
	struct bx_submitter port; /* hand &submit.port to components */
	struct bx_raft_node *raft;
	struct bx_store *store;        /* node records: the leader's API address */
	struct bx_proposer *proposer;  /* this node's proposals when it leads */
	struct bx_http_client *client; /* forwarding to the leader */
	const char *const *headers;    /* the cluster token, NULL-ended */
	/* Called before every proposal of this node as leader, so a duty can put
	 * its own command ahead of it (cluster.init: src/node/duties.h). May be NULL. */
	void (*before_propose)(void *data);
	void *data;
};

/* Fill s->port; the fields above are the caller's to set (all but
 * before_propose before the first submit). */
void bx_submit_init(struct bx_submit *s);

/* The port's three functions, for a caller that holds the struct. */
void bx_submit_send(struct bx_submit *s, cJSON *cmd, bx_submit_cb cb, void *data);
int bx_submit_propose(struct bx_submit *s, cJSON *cmd, bx_submit_cb cb, void *data);
const char *bx_submit_leader_api(struct bx_submit *s, char *buf, size_t size);

#endif
