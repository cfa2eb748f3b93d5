/* fsm.h - the state machine: Raft entries (JSON commands) applied to the LMDB store. */
#ifndef BX_FSM_H
#define BX_FSM_H

#include <cjson/cJSON.h>
#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/ops.h"
#include "src/store/store.h"

/* A service record's "failed_on": the nodes where it failed within this
 * window (by command time), at most this many; a failed service is moved to
 * a node not on it (src/model/scheduler.h). */
#define BX_FAILED_ON_WINDOW_MS 600000.0
#define BX_FAILED_ON_MAX 8

/*
 * Apply also writes events (src/store/store.h): what happened to a service
 * instance or a node, with the command's time, the node and generation, and
 * why. The newest BX_EVENTS_KEEP are kept. Types:
 *   service: created, updated, scaled, deleted, start_requested,
 *            stop_requested, scheduled, unscheduled, waiting, moving, moved,
 *            fenced, starting, started, healthy, unhealthy, restarted,
 *            failed, exited, stopped
 *   node:    node_joined, node_removed, node_down, node_up, node_draining,
 *            node_eligible
 */
#define BX_EVENTS_KEEP 10000

/* Is this node record's status "down" (node.down, src/node/heartbeat.h)? */
bool bx_fsm_node_down(const cJSON *node);

/*
 * Every entry is one JSON command object {"op": …, "ts": ms, …} (raft/command.h
 * lists the ops and their fields) or a JSON array of them (a batch). Apply is a pure
 * function of (state, command): it validates the command again (a bad one is rejected
 * with a result code and changes nothing), writes the new records and the entry's index
 * in one transaction, and skips entries at or below the stored applied index (restarts
 * and restore are idempotent). Nothing else happens inside apply: `on_apply` only tells
 * the daemon that state changed.
 *
 * Results: one result per command of the entry (one for a single command).
 * libraft applies every newly committed entry first and only then calls the
 * proposers' callbacks, so a result must outlive later applies: the proposer
 * announces the index of its entry (bx_fsm_expect), and apply then hands
 * libraft a struct bx_fsm_results of its own, which the proposer's callback
 * frees with bx_fsm_results_free. Entries nobody waits for (a follower's, an
 * earlier leader's) get the FSM's scratch results, overwritten by the next
 * apply.
 */

struct bx_fsm_result {
	int code;      /* BX_OK, or why the command was rejected (BX_EINVAL, BX_ENOENT,
			  BX_ECONFLICT…) */
	char msg[256]; /* "" or the reason, for the API's error */
	cJSON *record; /* the record written (service or node), or NULL */
	/* service.report "running" of a service taken off a down node: it runs
	 * again, `failover_ms` after the node.down (both commands' ts). */
	bool failed_over;
	double failover_ms;
};

struct bx_fsm_results {
	size_t n;
	struct bx_fsm_result *items;
};

struct bx_fsm;

/* Deterministic spec check used at apply; 0 or BX_EINVAL with a message. */
typedef int (*bx_fsm_validate_fn)(const cJSON *spec, char *msg, size_t size);
/* After an entry changed state: its op (BX_OP_RESTORE: a snapshot replaced
 * the whole state) and the name/id it touched. */
typedef void (*bx_fsm_apply_fn)(struct bx_fsm *fsm, const struct bx_fsm_result *res,
				enum bx_op op, const char *name);

struct bx_fsm {
	struct raft_fsm fsm; /* handed to libraft; version 3 with snapshot_finalize */
	struct bx_store *store;
	struct raft *raft; /* for the index of the entry being applied */
	bx_fsm_validate_fn validate;
	bx_fsm_apply_fn on_apply;
	void *data;
	struct bx_fsm_results results; /* of the last apply (see above) */
	struct bx_fsm_note *notes;     /* per command, for on_apply */
	size_t cap;                    /* room in results.items and notes */
	uint64_t *expect; /* indexes of entries a local proposer waits for, ascending */
	size_t n_expect, expect_cap;
	struct bx_store_snap *snap; /* held between snapshot and snapshot_finalize */
};

int bx_fsm_init(struct bx_fsm *fsm, struct bx_store *store, bx_fsm_validate_fn validate,
		bx_fsm_apply_fn on_apply, void *data);
void bx_fsm_set_raft(struct bx_fsm *fsm, struct raft *raft);
void bx_fsm_close(struct bx_fsm *fsm);

/*
 * Apply one entry (a command or a batch) directly, as fsm.apply does with
 * raft->last_applied + 1; exposed for unit tests. Returns the results (owned
 * by the FSM, as above).
 */
const struct bx_fsm_results *bx_fsm_apply_json(struct bx_fsm *fsm, uint64_t index,
					       const char *buf, size_t len);

/* A local proposer waits for the results of entry `index` (see above);
 * bx_fsm_unexpect when its proposal failed instead. */
int bx_fsm_expect(struct bx_fsm *fsm, uint64_t index);
void bx_fsm_unexpect(struct bx_fsm *fsm, uint64_t index);
void bx_fsm_results_free(struct bx_fsm_results *res); /* NULL allowed */

/* The validator the daemon uses: bx_spec_from_json (raft/spec_check.c). */
int bx_fsm_validate_spec(const cJSON *spec, char *msg, size_t size);

#endif
