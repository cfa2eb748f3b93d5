/* duties.h - a node's standing duties, every tick: the leader's cluster.init and
 * scheduling passes, and every node's own record. */
#ifndef BX_DUTIES_H
#define BX_DUTIES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "raft/command.h"
#include "raft/fsm.h"
#include "src/node/submit.h"

/* The least time between two scheduling passes (bursts of writes). */
#define BX_SCHEDULE_GAP_MS 300

struct bx_raft_node;
struct bx_store;
struct bx_proposer;

struct bx_duties {
	/* Set by the caller before the first tick. */
	uv_loop_t *loop;
	struct bx_store *store;
	struct bx_raft_node *raft;     /* leadership and the configuration's members */
	struct bx_proposer *proposer;  /* cluster.init goes straight into the entry */
	struct bx_submit *submit;      /* the leader's placements, the node's record */
	const char *cluster_id;        /* this node's ("" until known; read each tick) */
	struct bx_node_info self;      /* what the node record should say */

	/* Its own. */
	unsigned inflight_assign; /* scheduler proposals not yet applied */
	uint64_t scheduled_at;    /* uv_now() of the last scheduling pass */
	bool schedule_due;        /* an applied entry may need a placement */
	/* Leader: the next pass reads every record, as the placement index
	 * cannot show its work: a service failed in place, or a node changed. */
	bool schedule_scan;
	bool duty_in_flight; /* a bookkeeping command (init, node record) is out */
	bool init_in_flight; /* the cluster.init of bx_duties_init_first is out */
};

/* Every TICK, while the node is in a cluster: on the leader, cluster.init
 * first and then a scheduling pass when one is due; on every node, its own
 * record kept true (submitted to the leader). */
void bx_duties_tick(struct bx_duties *duties);

/*
 * The cluster id goes into the state ahead of any other command this leader
 * proposes, not at some later tick: a daemon stopped right after its first
 * write must still find it there next time (it checks node.json against it).
 * The submitter calls this before each proposal (bx_submit.before_propose).
 * True while the state still lacks it (the init is then under way).
 */
bool bx_duties_init_first(struct bx_duties *duties);

/* An entry was applied (raft/fsm.h's observer): note whether it calls for a
 * scheduling pass. True while a pass is due (the caller may run the tick
 * early: bx_duties_wait_ms). */
bool bx_duties_applied(struct bx_duties *duties, enum bx_op op,
		       const struct bx_fsm_result *res);

/* Milliseconds until the scheduler may pass again (0: now). */
uint64_t bx_duties_wait_ms(const struct bx_duties *duties, uint64_t now);

/* Leader: place services that need a node (src/model/scheduler.h) and propose the moves. */
void bx_duties_schedule(struct bx_duties *duties);

#endif
