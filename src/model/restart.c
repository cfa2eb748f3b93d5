/* restart.c - restart policy: always | on-failure | never, attempts in a window, backoff. */
#include "src/model/restart.h"

#include <stdio.h>
#include <string.h>

static void describe_end(char *buf, size_t size, int64_t exit_status, int term_signal)
{
	if (term_signal != 0)
		snprintf(buf, size, "killed by signal %d", term_signal);
	else if (exit_status >= 0)
		snprintf(buf, size, "exit status %lld", (long long)exit_status);
	else
		snprintf(buf, size, "ended");
}

static void forget_old(const struct bx_spec *spec, struct bx_restart_state *st, uint64_t now)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < st->len; i++)
		if (now - st->at[i] < spec->restart.window_ms)
			st->at[keep++] = st->at[i];
	st->len = keep;
}

static void decide(const struct bx_spec *spec, struct bx_restart_state *st, bool failed,
		   const char *ended, uint64_t now_ms, double jitter,
		   struct bx_restart_decision *out)
{
	uint64_t delay;

	memset(out, 0, sizeof *out);
	if (spec->restart.policy == BX_RESTART_NEVER ||
	    (spec->restart.policy == BX_RESTART_ON_FAILURE && !failed)) {
		snprintf(out->reason, sizeof out->reason, "%s; restart policy %s", ended,
			 spec->restart.policy == BX_RESTART_NEVER ? "never" : "on-failure");
		return;
	}
	forget_old(spec, st, now_ms);
	if (st->len >= spec->restart.max_attempts || st->len >= BX_RESTART_HISTORY) {
		snprintf(out->reason, sizeof out->reason,
			 "%s; %u restarts within %u ms: giving up", ended, st->len,
			 spec->restart.window_ms);
		return;
	}
	delay = spec->restart.backoff_ms;
	for (unsigned i = 0; i < st->len && delay < spec->restart.backoff_max_ms; i++)
		delay *= 2;
	if (delay > spec->restart.backoff_max_ms)
		delay = spec->restart.backoff_max_ms;
	if (jitter < 0)
		jitter = 0;
	if (jitter >= 1)
		jitter = 0.999;
	delay = (uint64_t)((double)delay * (0.8 + 0.4 * jitter));
	st->at[st->len++] = now_ms;
	st->total++;
	out->restart = true;
	out->delay_ms = (uint32_t)delay;
	snprintf(out->reason, sizeof out->reason, "%s; restart %u of %u in %u ms", ended,
		 st->len, spec->restart.max_attempts, out->delay_ms);
}

void bx_restart_decide(const struct bx_spec *spec, struct bx_restart_state *st,
		       int64_t exit_status, int term_signal, uint64_t now_ms, double jitter,
		       struct bx_restart_decision *out)
{
	char ended[48];

	describe_end(ended, sizeof ended, exit_status, term_signal);
	decide(spec, st, term_signal != 0 || exit_status != 0, ended, now_ms, jitter, out);
}

void bx_restart_decide_failed(const struct bx_spec *spec, struct bx_restart_state *st,
			      const char *what, uint64_t now_ms, double jitter,
			      struct bx_restart_decision *out)
{
	decide(spec, st, true, what, now_ms, jitter, out);
}
