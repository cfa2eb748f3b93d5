/* submit.h - the submitter port: how a component asks for a replicated command. */
#ifndef BX_SUBMIT_H
#define BX_SUBMIT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Invariant 3: every decision is a command. A component that wants the state
 * changed hands a command (raft/command.h's constructors) to a submitter and
 * learns the FSM's verdict in the callback, once the command is applied on the
 * node that proposed it (or has failed). The daemon's submitter proposes on
 * the leader and forwards to the leader's API from a follower
 * (src/node/cluster.c); tests use an in-memory one that applies to a real FSM
 * and store (tests/lib/fake_submit.h).
 */

/* The FSM's result code and message, and the record written (borrowed, may
 * be NULL). Runs once per submitted command: later, or from inside submit()
 * when the command cannot even be sent (no leader known, out of memory). */
typedef void (*bx_submit_cb)(void *data, int code, const char *msg, const cJSON *record);

struct bx_submitter {
	void *data; /* the submitter's own, first argument of each function */
	/* From any node: proposed here on the leader, else forwarded to it.
	 * `cmd` is taken (NULL: out of memory, said to cb). */
	void (*submit)(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data);
	/* This node must be the leader: queued for this loop turn's entry. `cmd`
	 * is taken. BX_OK: cb runs once, later; else it never runs. */
	int (*propose)(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data);
	/* "HOST:PORT" of the leader's API into buf, or NULL when unknown. */
	const char *(*leader_api)(void *data, char *buf, size_t size);
};

#endif
