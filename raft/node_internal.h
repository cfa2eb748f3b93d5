/* node_internal.h - the raft node's fields, shared by node.c and membership.c. */
#ifndef BX_RAFT_NODE_INTERNAL_H
#define BX_RAFT_NODE_INTERNAL_H

#include "raft/node.h"

enum bx_change_kind { BX_CHANGE_ADD, BX_CHANGE_ASSIGN, BX_CHANGE_REMOVE };

/* A queued configuration change. libraft accepts one change at a time. */
struct bx_change {
	enum bx_change_kind kind;
	uint64_t id;
	char *address;        /* ADD only */
	int role;             /* ASSIGN only */
	bx_raft_change_cb cb; /* may be NULL (changes the node makes on its own) */
	void *data;
	struct bx_change *next;
};

/* A server whose last role change failed is left alone for a while, so that a
 * dead spare does not make the leader retry its promotion every tick. */
#define BX_MEMBERSHIP_MAX_PINNED 64
#define BX_MEMBERSHIP_MAX_BACKOFF 16
struct bx_backoff {
	uint64_t id;
	uint64_t until_ms;
};

struct bx_raft_node {
	uv_loop_t *loop;
	struct raft raft;
	struct raft_io io;
	struct raft_uv_transport transport;
	uint64_t id;
	char *address;
	char *dir;
	unsigned max_voters;
	bool started;
	bool closing;
	bool close_started; /* close_now() ran: raft_close is under way */

	uv_timer_t watch;     /* polls libraft's state (no callback for it) */
	uint64_t last_leader; /* as last reported to state_cb */
	int last_state;
	/* Counted by the watch, for metrics: terms begun since the start (each
	 * term is one election, whoever started it) and leader changes seen. */
	uint64_t last_term, elections, leader_changes;
	bx_raft_state_cb state_cb;
	void *state_data;

	struct bx_change *queue;   /* pending changes, head first */
	struct bx_change *running; /* the one libraft is carrying out, or NULL */
	struct raft_change change_req;
	struct bx_backoff backoff[BX_MEMBERSHIP_MAX_BACKOFF];
	/* Servers never to be made voters: added so on this leader (pinned), or
	 * as the daemon's records say (keep_standby, for every leader). */
	uint64_t pinned[BX_MEMBERSHIP_MAX_PINNED];
	bool (*keep_standby)(void *data, uint64_t id);
	void *keep_data;

	/* the snapshot copy off the loop thread (snapshot_put.c) */
	struct {
		struct raft_fsm *fsm; /* NULL: not wrapped */
		int (*snapshot_async)(struct raft_fsm *fsm, struct raft_buffer *bufs[],
				      unsigned *n_bufs);
		int (*put)(struct raft_io *io, unsigned trailing,
			   struct raft_io_snapshot_put *req,
			   const struct raft_snapshot *snapshot,
			   raft_io_snapshot_put_cb cb);
		uv_work_t work;
		bool busy;        /* a copy is being made */
		bool close_after; /* the node's close waits for it */
		struct raft_io_snapshot_put *req;
		const struct raft_snapshot *snapshot;
		unsigned trailing;
		raft_io_snapshot_put_cb cb;
		int status;
	} fill;

	struct raft_transfer transfer;
	int handles_open; /* while closing: handles whose close callback is due */
	void (*close_cb)(void *data);
	void *close_data;
};

/* Make the FSM's snapshot copy (snapshot_async) on the thread pool: wraps
 * n->io.snapshot_put and takes snapshot_async away from libraft, which would
 * run it on the loop. unwrap gives it back to the FSM. */
void bx_snapshot_put_wrap(struct bx_raft_node *n, struct raft_fsm *fsm);
void bx_snapshot_put_unwrap(struct bx_raft_node *n);

/* Close libraft now (node.c); waits for a snapshot copy under way. */
void bx_raft_node_close_now(struct bx_raft_node *n);

/* Leader tick: start the next queued change, or rebalance roles. */
void bx_membership_tick(struct bx_raft_node *n);

/* Complete every queued change with `code` (leadership lost, shutdown). */
void bx_membership_fail_all(struct bx_raft_node *n, int code, const char *why);

#endif
