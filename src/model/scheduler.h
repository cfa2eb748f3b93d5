/* scheduler.h - placement decisions: which node runs which service. Pure: no I/O, no
 * clock. */
#ifndef BX_SCHEDULER_H
#define BX_SCHEDULER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/model/spec.h"

/*
 * The leader calls bx_schedule() with every committed service record and
 * the nodes of the cluster; it proposes each decision as a command carrying
 * the generation it saw (invariant 3), so a decision made on stale state is
 * rejected by the FSM instead of applied.
 *
 * Which services move:
 * - one that should run (desired "running") and has no usable node: placed;
 * - one that failed where it is (state "failed": its restarts ran out, or it
 *   could not start there): moved, avoiding the nodes where it failed lately
 *   (its "failed_on", raft/fsm.h); with no other node it stays;
 * - one on a draining node: migrated (the node stops it first, then the
 *   FSM hands it over: never two running at once; raft/fsm.c);
 * - every other service stays where it is.
 *
 * Every record is one instance (src/model/spec.h): NAME@I records belong to service
 * NAME, and the rules below speak of services by that name.
 *
 * Where to: the nodes that are up and not draining, that carry every label
 * of its [placement] constraints, that run no other instance of the service
 * (count > 1 spreads one instance per node), that run none of the services it avoids
 * (anti_affinity, either way round: a service that avoids it keeps it away
 * as well), that it has not failed on lately, and that have room for its
 * memory_mb and vcpus; of those, the one with the fewest services, ties to
 * the lowest id. Candidates are taken in the order of `services` (the
 * store's: by name), so the decision depends only on the inputs.
 *
 * A service with nowhere to go gets a WAIT decision whose reason says which
 * rule left no node, issued only when the record's reason differs (a pass
 * that finds nothing new proposes nothing).
 */

struct bx_sched_node {
	uint64_t id;
	bool usable;   /* up: its services stay and it may take work */
	bool draining; /* drained by the user: takes nothing, its services leave */
	uint32_t memory_mb, vcpus; /* what it offers to services; 0: no limit */
	const cJSON *labels;       /* {"key": "value", …} or NULL; not owned */

	/* Set by bx_schedule: services placed on it (stopped ones too: they
	 * come back where they were; one migrating here counts here as well)
	 * and what they reserve, its own decisions included. */
	unsigned load;
	uint64_t used_memory_mb, used_vcpus;
};

enum bx_sched_kind {
	BX_SCHED_ASSIGN,  /* service.assign: place it on `node` now */
	BX_SCHED_MIGRATE, /* service.migrate: `from` stops it, then it goes to `node` */
	BX_SCHED_WAIT     /* service.wait: nowhere to go, `reason` says why */
};

struct bx_sched_move {
	enum bx_sched_kind kind;
	char name[BX_KEY_MAX + 1]; /* the record's key: NAME or NAME@I */
	uint64_t node; /* where to (0 for WAIT) */
	uint64_t expect_generation;
	uint64_t from;     /* the node it leaves (0: none) */
	bool moved_failed; /* it failed on `from`, which is usable */
	char reason[200];  /* WAIT: why no node can take it */
};

/*
 * Decide the moves for `services` (every service record) given `nodes`
 * (n entries; their load and used_* are recomputed and include the moves).
 * *moves is malloc'd (caller frees), *n_moves its length; at most
 * `max_moves` decisions are produced (0 = no limit). Returns 0 or BX_ENOMEM.
 */
int bx_schedule(const cJSON *services, struct bx_sched_node *nodes, size_t n,
		size_t max_moves, struct bx_sched_move **moves, size_t *n_moves);

/* True if a node's labels satisfy a "key=value" constraint. */
bool bx_sched_label_matches(const cJSON *labels, const char *constraint);

#endif
