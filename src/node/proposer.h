/* proposer.h - the leader's proposals, batched: the commands of one loop turn in one entry. */
#ifndef BX_PROPOSER_H
#define BX_PROPOSER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "raft/fsm.h"
#include "raft/node.h"
#include "src/base/metrics.h"

/*
 * Every command proposed during one turn of the loop (the HTTP requests read
 * in one poll, a scheduling pass's placements, the agents' reports) goes into
 * one Raft entry, a JSON array the FSM applies in one store transaction with
 * a result per command (raft/fsm.h). A batch is proposed just before the loop
 * next waits (a uv_prepare handle), or at once when it reaches MAX_BATCH
 * commands or MAX_BATCH_BYTES. One command alone is proposed as it is.
 *
 * Under load this turns N entries, N disk appends, N store transactions and
 * N round trips to the followers into one; alone, a command waits for
 * nothing (the same turn ends it).
 */

#define BX_PROPOSER_MAX_BATCH 256
#define BX_PROPOSER_MAX_BATCH_BYTES (1u << 20)

/* Called once per command with the FSM's code, message and record (borrowed). */
typedef void (*bx_proposer_cb)(void *data, int code, const char *msg, const cJSON *record);

struct bx_proposer_item {
	bx_proposer_cb cb;
	void *data;
};

struct bx_proposer {
	uv_prepare_t prepare; /* closed with the loop's other handles */
	struct bx_raft_node *raft;
	struct bx_fsm *fsm; /* told which entries' results to keep (raft/fsm.h) */
	char *buf; /* "[cmd,cmd,…" of the batch being gathered */
	size_t len, cap;
	struct bx_proposer_item *items;
	size_t n, items_cap;
	unsigned long entries, commands; /* proposed so far, for the log and tests */
	struct bx_hist *commit; /* each entry from proposal to apply, or NULL */
};

void bx_proposer_init(struct bx_proposer *p, uv_loop_t *loop, struct bx_raft_node *raft,
		       struct bx_fsm *fsm);

/*
 * Queue `cmd` (consumed) for the next entry. BX_OK: cb runs exactly once,
 * later (never from inside this call; a full batch proposed by this call may
 * answer earlier commands at once if Raft refuses it). Otherwise (not the leader, out of
 * memory) the error code, and cb never runs.
 */
int bx_proposer_submit(struct bx_proposer *p, cJSON *cmd, bx_proposer_cb cb, void *data);

/* Propose the gathered batch now (before closing Raft, for one). */
void bx_proposer_flush(struct bx_proposer *p);

#endif
