/* heartbeat.h - invariant 4 on the wire: heartbeats to the leader, its answers (leases),
 * nodes declared down. */
#ifndef BX_HEARTBEAT_H
#define BX_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "src/base/clock.h"
#include "src/model/liveness.h"
#include "src/node/submit.h"

struct bx_store;

/*
 * Every node sends a heartbeat to the leader every lease_ms (the leader
 * answers its own on the loop, without HTTP). The leader answers only once a
 * cluster.confirm command it proposed *after* the heartbeat arrived has
 * committed: the commit shows that a majority still followed it then, so no
 * other leader had been elected before the heartbeat was sent, and a new
 * leader (which counts node_timeout from its election, liveness.h) cannot
 * declare the sender down before the lease that answer gives has run out.
 * An old leader cut off from the majority answers nobody.
 *
 * The answer carries the leader's applied index. A node starts nothing until
 * it has applied that far: a service moved away while the node was cut off
 * is moved in its store before its lease lets it start anything again.
 *
 * The leader declares a node down (node.down, which takes its services off
 * it in the same entry) when it has not heard it for node_timeout, counted
 * from its election at the earliest and from the first sight of the node's
 * record; a down node heard again is brought up (node.up).
 */

struct bx_beat_waiter;

/* The answer to a heartbeat: BX_OK and the leader's applied index, or why not. */
typedef void (*bx_beat_cb)(void *data, int code, uint64_t index);

struct bx_heartbeat_config {
	uv_loop_t *loop;
	const struct bx_clock *clock; /* leases and silences are counted on it */
	struct bx_store *store;       /* node records, the applied index */
	uint64_t node_id;             /* this node */
	uint32_t lease_ms, fence_timeout_ms, node_timeout_ms; /* src/model/liveness.h */
	const struct bx_submitter *submitter; /* the leader's confirms, node.down/up */

	/* What it asks of the node (data first). Raft's view: the leader's id (0:
	 * none known), whether this node leads, the current term; whether the
	 * node is in a cluster yet (bootstrapped or joined). */
	void *data;
	uint64_t (*leader)(void *data);
	bool (*is_leader)(void *data);
	uint64_t (*term)(void *data);
	bool (*in_cluster)(void *data);
	/* Send this node's heartbeat to `leader`, another node: BX_OK and cb
	 * once, later, with its answer; or an error at once and no cb. */
	int (*send)(void *data, uint64_t leader, bx_beat_cb cb, void *cb_data);
	/* What it tells: the lease ran out (fence now); the lease is back, or
	 * held for the first time. Either may be NULL. */
	void (*on_fence)(void *data);
	void (*on_lease_changed)(void *data);
};

struct bx_heartbeat {
	struct bx_heartbeat_config cfg;
	uv_timer_t timer; /* every TICK: send when due, check the lease, leader duties */
	bool stopping;    /* bx_heartbeat_stop: nothing more is sent or proposed */

	/* This node's lease. */
	struct bx_lease lease; /* from the send time of the newest answered heartbeat */
	uint64_t lease_index;  /* the leader's applied index in the newest answer */
	bool lease_held;       /* an answer has come since this daemon started */
	bool lease_lost;       /* the lease ran out and has not come back (logged once) */
	uint64_t last_sent;    /* clock time of the last heartbeat sent */
	uint64_t last_leader;  /* the leader the last heartbeat went to */
	unsigned in_flight;    /* heartbeats sent to another node, not answered yet */

	/* The leader's side. */
	struct bx_liveness live;
	uint64_t lead_term; /* the term `live` counts from; 0 while not leading */
	/* heartbeats that arrived since the confirm under way was proposed */
	struct bx_beat_waiter *waiting;
	/* answered when the confirm under way commits; NULL: none under way */
	struct bx_beat_waiter *confirming;
	bool node_cmd_in_flight; /* a node.down or node.up is under way */

	void (*close_cb)(void *data); /* bx_heartbeat_close's */
	void *close_data;
};

/* Set up (the config is copied; the timer starts with bx_heartbeat_start).
 * The lease starts held for one fence_timeout: instances an earlier daemon
 * left running keep running while this one reaches the leader. */
int bx_heartbeat_init(struct bx_heartbeat *hb, const struct bx_heartbeat_config *cfg);

void bx_heartbeat_start(struct bx_heartbeat *hb);

/* Shutdown begins: nothing more is sent or proposed, whoever waits for a
 * confirm not yet proposed is answered (BX_ESHUTDOWN). */
void bx_heartbeat_stop(struct bx_heartbeat *hb);

/* Stop if not stopped, answer every waiter, close the timer, release what
 * it holds, then cb(data). The struct itself is the caller's. */
void bx_heartbeat_close(struct bx_heartbeat *hb, void (*cb)(void *data), void *data);

/* What the timer runs every 50 ms (tests call it directly): the leader's
 * down checks, a heartbeat when one is due, the lease's expiry. */
void bx_heartbeat_tick(struct bx_heartbeat *hb);

/*
 * Leader: node `id` sent a heartbeat. `cb` runs once, later, with BX_OK and
 * the applied index once leadership is confirmed, or with an error (not the
 * leader any more, shutting down). Returns BX_ENOTLEADER or BX_ENOENT (no
 * such node) at once, without calling cb.
 */
int bx_heartbeat_heard(struct bx_heartbeat *hb, uint64_t id, bx_beat_cb cb, void *data);

/* May this node's instances keep running (the lease holds, or the start-up grace)? */
bool bx_heartbeat_may_run(const struct bx_heartbeat *hb);

/* May this node start an instance: a lease from an answer, and applied past its index? */
bool bx_heartbeat_may_start(const struct bx_heartbeat *hb);

/* Leader: milliseconds since node `id` was last heard (from the election at
 * most); false when this node does not lead (no view). */
bool bx_heartbeat_silent_ms(const struct bx_heartbeat *hb, uint64_t id, uint64_t *ms);

#endif
