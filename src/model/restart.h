/* restart.h - restart policy decisions: pure, so they are tested without processes. */
#ifndef BX_RESTART_H
#define BX_RESTART_H

#include <stdbool.h>
#include <stdint.h>

#include "src/model/spec.h"

/* Restarts within the policy's window; the oldest ones age out. */
#define BX_RESTART_HISTORY 64
struct bx_restart_state {
	uint64_t at[BX_RESTART_HISTORY]; /* ms times of recent restarts, oldest first */
	unsigned len;
	unsigned total; /* every restart since the instance was placed here */
};

struct bx_restart_decision {
	bool restart;
	uint32_t delay_ms; /* before starting again */
	char reason[160];  /* "exit status 3; restart 2 of 3 in 1000 ms" or why not */
};

/*
 * Decide after an instance ended by itself (not stopped by us): exit_status
 * (-1 if unknown), term_signal (0 if none), at time now_ms. `jitter` in [0,1)
 * spreads the delay by up to ±20 % so that many instances failing together
 * do not restart in lockstep. On restart the attempt is recorded in `state`.
 */
void bx_restart_decide(const struct bx_spec *spec, struct bx_restart_state *state,
		       int64_t exit_status, int term_signal, uint64_t now_ms, double jitter,
		       struct bx_restart_decision *out);

/*
 * The same, for an instance the agent ended because it failed in another
 * way (its health checks): always a failure, described by `what`
 * ("unhealthy: HTTP 503").
 */
void bx_restart_decide_failed(const struct bx_spec *spec, struct bx_restart_state *state,
			      const char *what, uint64_t now_ms, double jitter,
			      struct bx_restart_decision *out);

#endif
