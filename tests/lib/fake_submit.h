/* fake_submit.h - an in-memory submitter: commands applied, in order, to a real FSM and store. */
#ifndef BX_FAKE_SUBMIT_H
#define BX_FAKE_SUBMIT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "raft/fsm.h"
#include "src/node/submit.h"

/*
 * What a component submits (or proposes) is queued, as a Raft entry waits
 * for its commit, and applied by bx_fake_submit_flush() in order, each as
 * its own entry, to a real FSM over a real LMDB store in a test directory;
 * then its callback runs with the FSM's verdict. So a test decides when
 * "commits" happen, and the state the component reads is the state the
 * daemon would have. Commands applied are kept in `log` for the test to read.
 */
struct bx_fake_submit {
	struct bx_submitter port; /* hand &fake.port to the component */
	struct bx_store *store;
	struct bx_fsm fsm;
	uint64_t ts;     /* the next command's "ts" (ms), one more each time */
	bool leader;     /* false: propose() refuses BX_ENOTLEADER at once */
	int fail_submit; /* non-zero: submit() fails at once with it (no leader) */
	const char *leader_api; /* what leader_api() says; NULL: unknown */
	struct fake_entry *head, *tail; /* submitted, not applied yet */
	unsigned queued;
	cJSON *log; /* every command applied, in order (stamped with its ts) */
	/* Told of every applied change, as the daemon's on_apply tells the agent. */
	void (*on_apply)(void *data, enum bx_op op, const char *name, const cJSON *record);
	void *on_apply_data;
};

/* A store in `dir` (created) and an FSM over it with the real spec check. */
void bx_fake_submit_open(struct bx_fake_submit *f, const char *dir);
void bx_fake_submit_close(struct bx_fake_submit *f);

/* Apply what is queued, callbacks included, until nothing is (a callback may
 * submit again). Returns how many commands were applied. */
unsigned bx_fake_submit_flush(struct bx_fake_submit *f);

/* The queued commands never commit (this node lost its leadership): each
 * callback gets `code`, nothing is applied. Returns how many. */
unsigned bx_fake_submit_drop(struct bx_fake_submit *f, int code);

/* Apply `cmd` (taken) now, as another node's command: its result code, and
 * the record written into *record (a copy, the caller's) when record != NULL. */
int bx_fake_submit_apply(struct bx_fake_submit *f, cJSON *cmd, cJSON **record);

/* The number of commands of op `op` in the log. */
unsigned bx_fake_submit_count(const struct bx_fake_submit *f, enum bx_op op);

/* The n-th (0 first) command of op `op` in the log, or NULL. Borrowed. */
const cJSON *bx_fake_submit_find(const struct bx_fake_submit *f, enum bx_op op, unsigned n);

#endif
