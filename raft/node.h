/* node.h - one Raft server on the libuv loop: start, propose, membership, shutdown. */
#ifndef BX_RAFT_NODE_H
#define BX_RAFT_NODE_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "src/base/error.h"

/*
 * The node owns libraft's uv I/O and TCP transport, and drives one struct raft
 * whose FSM the caller provides (raft/fsm.h). It adds what libraft leaves to
 * the application:
 *
 * - proposals with a callback that carries the FSM's result, fired only after
 *   the entry is committed AND applied locally;
 * - membership: new servers join as spares and are then assigned a role
 *   (voter while there are fewer than max_voters, else standby); when a voter
 *   goes, a standby is promoted. libraft allows one configuration change in
 *   flight, so changes are queued and run one after another (membership.c).
 * - graceful shutdown: leadership is transferred before closing.
 */

struct bx_raft_node_config {
	uint64_t id;
	const char *address;   /* "HOST:PORT" other servers reach */
	const char *bind;      /* "HOST:PORT" listened on; NULL: address */
	const char *dir;       /* libraft's data directory (created 0700) */
	unsigned heartbeat_ms; /* default 100 */
	unsigned election_ms;  /* default 1000 */
	unsigned snapshot_threshold;
	unsigned snapshot_trailing;
	unsigned max_voters; /* default 5 */
	const char *secret;  /* the cluster secret, or NULL until a join brings it */
};

struct bx_raft_node;

/*
 * Proposal completion. `code` is BX_OK once the entry is committed and applied
 * locally (then `result` is what the FSM's apply returned: the callback owns
 * it), BX_ENOTLEADER / BX_ENOLEADER if leadership was lost before commit (the
 * entry may still commit later), BX_ESHUTDOWN on close.
 */
typedef void (*bx_raft_propose_cb)(void *data, int code, void *result);

/* Membership change completion: BX_OK, or an error with a message. */
typedef void (*bx_raft_change_cb)(void *data, int code, const char *errmsg);

/* Called after every change of leader or role of this node. */
typedef void (*bx_raft_state_cb)(struct bx_raft_node *node, void *data);

/*
 * Create the node (nothing runs yet). `fsm` must outlive the node. On success
 * *out belongs to the caller and is released by bx_raft_node_close().
 */
int bx_raft_node_init(struct bx_raft_node **out, uv_loop_t *loop,
		      const struct bx_raft_node_config *cfg, struct raft_fsm *fsm,
		      char *errmsg);

/* True if libraft's directory holds no state yet (a fresh node). */
bool bx_raft_node_is_fresh(const char *dir);

/* Write the initial one-voter configuration (this node). Only on a fresh dir. */
int bx_raft_node_bootstrap(struct bx_raft_node *node, char *errmsg);

/* Load state from disk and start taking part (listen, elections, replication). */
int bx_raft_node_start(struct bx_raft_node *node, char *errmsg);

void bx_raft_node_on_state(struct bx_raft_node *node, bx_raft_state_cb cb, void *data);

/*
 * Propose a command. `buf` (malloc'd, `len` bytes) belongs to the node from
 * the call on, whatever the result. Returns BX_ENOTLEADER at once if this node
 * is not the leader (nothing is proposed, cb is not called).
 */
int bx_raft_node_propose(struct bx_raft_node *node, void *buf, size_t len,
			 bx_raft_propose_cb cb, void *data, uint64_t *index);

/* Leader only: queue adding server `id` at `address` (spare, then a role;
 * with `standby`, never a voter). */
int bx_raft_node_add(struct bx_raft_node *node, uint64_t id, const char *address,
		     bool standby, bx_raft_change_cb cb, void *data);

/* Servers `fn` says so of stay standbys when voters are missing (asked by
 * whichever node leads: the daemon answers from its replicated node records). */
void bx_raft_node_keep_standby(struct bx_raft_node *node,
			       bool (*fn)(void *data, uint64_t id), void *data);

/* Leader only: queue removing server `id` (then promote a standby if needed). */
int bx_raft_node_remove(struct bx_raft_node *node, uint64_t id, bx_raft_change_cb cb,
			void *data);

/* Queries; cheap, for the API. */
uint64_t bx_raft_node_id(const struct bx_raft_node *node);
bool bx_raft_node_is_leader(struct bx_raft_node *node);
uint64_t bx_raft_node_leader(struct bx_raft_node *node); /* 0 if unknown */
uint64_t bx_raft_node_term(const struct bx_raft_node *node);
/* Since this node started: Raft terms begun (one election each) and the
 * times a new leader became known (checked every 50 ms). */
uint64_t bx_raft_node_elections(const struct bx_raft_node *node);
uint64_t bx_raft_node_leader_changes(const struct bx_raft_node *node);
uint64_t bx_raft_node_commit_index(const struct bx_raft_node *node);
uint64_t bx_raft_node_last_applied(struct bx_raft_node *node);
struct raft *bx_raft_node_raft(struct bx_raft_node *node);

/* "voter", "standby", "spare", or NULL if `id` is not in the configuration. */
const char *bx_raft_role_name(int role);

/*
 * Shut down: if leader, try to hand leadership to another voter (bounded by
 * the election timeout), then close libraft. Pending proposals complete with
 * BX_ESHUTDOWN. `cb` runs once everything is released (the node is freed).
 */
void bx_raft_node_close(struct bx_raft_node *node, void (*cb)(void *data), void *data);

/* The cluster secret every Raft connection proves (raft/transport.h): set
 * once a join with an invite brings it. */
void bx_raft_node_set_secret(struct bx_raft_node *node, const char *secret);

/* Raft connections refused so far: accepted ones that failed the handshake
 * (`in`: someone without the secret), outgoing ones whose peer refused us. */
void bx_raft_node_refused(const struct bx_raft_node *node, uint64_t *in, uint64_t *out);

/* Map a libraft error code to a BX_E* code. */
int bx_raft_code(int raft_rv);

#endif
