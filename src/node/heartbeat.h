/* heartbeat.h - invariant 4 on the wire: heartbeats to the leader, its answers (leases),
 * nodes declared down. */
#ifndef BX_HEARTBEAT_H
#define BX_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "src/model/liveness.h"

struct bx_daemon;

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

struct bx_heartbeat {
	struct bx_daemon *d;
	uv_timer_t timer; /* every TICK: send when due, check the lease, leader duties */

	/* This node's lease. */
	struct bx_lease lease; /* from the send time of the newest answered heartbeat */
	uint64_t lease_index;  /* the leader's applied index in the newest answer */
	bool lease_held;       /* an answer has come since this daemon started */
	bool lease_lost;       /* the lease ran out and has not come back (logged once) */
	uint64_t last_sent;    /* uv_now() of the last heartbeat sent */
	uint64_t last_leader;  /* the leader the last heartbeat went to */
	unsigned in_flight;    /* heartbeats sent over HTTP, not answered yet */

	/* The leader's side. */
	struct bx_liveness live;
	uint64_t lead_term; /* the term `live` counts from; 0 while not leading */
	/* heartbeats that arrived since the confirm under way was proposed */
	struct bx_beat_waiter *waiting;
	/* answered when the confirm under way commits; NULL: none under way */
	struct bx_beat_waiter *confirming;
	bool node_cmd_in_flight; /* a node.down or node.up is under way */
};

/* Set up (the timer starts with bx_heartbeat_start). */
int bx_heartbeat_init(struct bx_heartbeat *hb, struct bx_daemon *d);

void bx_heartbeat_start(struct bx_heartbeat *hb);

/* Daemon shutdown: stop the timer (the loop walk closes it), answer whoever waits. */
void bx_heartbeat_stop(struct bx_heartbeat *hb);

/* After the loop has ended. */
void bx_heartbeat_free(struct bx_heartbeat *hb);

/*
 * Leader: node `id` sent a heartbeat. `cb` runs once, later, with BX_OK and
 * the applied index once leadership is confirmed, or with an error (not the
 * leader any more, shutting down). Returns BX_ENOTLEADER or BX_ENOENT (no
 * such node) at once, without calling cb.
 */
typedef void (*bx_beat_cb)(void *data, int code, uint64_t index);
int bx_heartbeat_heard(struct bx_heartbeat *hb, uint64_t id, bx_beat_cb cb, void *data);

/* May this node's instances keep running (the lease holds, or the start-up grace)? */
bool bx_heartbeat_may_run(const struct bx_heartbeat *hb);

/* May this node start an instance: a lease from an answer, and applied past its index? */
bool bx_heartbeat_may_start(const struct bx_heartbeat *hb);

#endif
