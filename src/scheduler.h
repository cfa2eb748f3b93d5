/* scheduler.h - placement decisions: which node runs which service. Pure: no I/O, no
 * clock. */
#ifndef BX_SCHEDULER_H
#define BX_SCHEDULER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The leader calls bx_schedule() with the committed service records and the
 * nodes it believes usable; it proposes each move as a service.assign
 * command carrying the generation it saw (invariant 3), so a decision made
 * on stale state is rejected by the FSM instead of applied.
 *
 * Policy (for now): a service that should run (desired "running") and has
 * no usable node goes to the usable node with the fewest services, ties to
 * the lowest id. A service that failed where it is (state "failed": its
 * restarts ran out, or it could not start there) moves the same way. Either
 * avoids the nodes where it failed lately (its "failed_on", raft/fsm.h); with
 * none left it stays. Other services on usable nodes never move.
 */

struct bx_sched_node {
	uint64_t id;
	bool usable;   /* alive and allowed to take work */
	unsigned load; /* services placed on it (stopped ones too: they come
			  back where they were); bx_schedule adds its moves */
};

struct bx_sched_move {
	char name[64];
	uint64_t node;
	uint64_t expect_generation;
	uint64_t from;     /* the node it leaves (0: none) */
	bool moved_failed; /* it failed on `from`, which is usable */
};

/* Set each node's load from a list of service records (all of them). */
void bx_sched_count(const cJSON *services, struct bx_sched_node *nodes, size_t n);

/*
 * Compute the moves for `services` (the candidates: any records, typically
 * those without a usable node; the others are left alone) given the nodes
 * and their current load. `nodes` (n entries) is updated with the load after
 * the moves. *moves is malloc'd (caller frees), *n_moves its length; at most
 * `max_moves` moves are produced (0 = no limit). Returns 0 or BX_ENOMEM.
 */
int bx_schedule(const cJSON *services, struct bx_sched_node *nodes, size_t n,
		size_t max_moves, struct bx_sched_move **moves, size_t *n_moves);

#endif
