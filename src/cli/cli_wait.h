/* cli_wait.h - waiting from the CLI for a service to reach a state, with progress. */
#ifndef BX_CLI_WAIT_H
#define BX_CLI_WAIT_H

#include <stdbool.h>

#include "src/cli/cli.h"
#include "src/cli/cli_http.h"

/*
 * Poll GET /v1/services/NAME until every instance runs (want_running; and is
 * healthy when the spec has [health] checks) or none does (!want_running),
 * or one failed, or timeout_ms passes. When stderr is a terminal, shows
 * progress there: the service's events after `mark` (placed, booting,
 * running, healthy, …, each with the time since the wait began), or its
 * state changes when mark < 0 or the daemon cannot list events. Returns
 * BX_EXIT_OK when done, else prints one line "blixard VERB: …" and returns
 * BX_EXIT_ERROR.
 */
int bx_cli_wait_service(const struct bx_cli *cli, const char *verb, const char *name,
			bool want_running, long timeout_ms, double mark);

/* The newest event's seq before a change (what bx_cli_wait_service shows the
 * events after), or -1 if the daemon does not say or stderr is no terminal
 * (no progress is shown then). */
double bx_cli_event_mark(const struct bx_cli *cli);

/* Parse "--timeout SECS" style values: seconds as a decimal, > 0. -1 if bad. */
long bx_cli_parse_seconds(const char *s);

/*
 * The options every waiting verb shares: "--detach" (or "-d", "--no-wait") and
 * "--timeout SECS" at
 * argv[*i]. Returns 1 if consumed (*i advanced past a value), 0 if argv[*i]
 * is neither, -1 after printing a usage error.
 */
int bx_cli_wait_option(const char *verb, int argc, char **argv, int *i, bool *wait,
		       long *timeout_ms);

/*
 * After a change was accepted: print the reply with --json, free it, then
 * wait for the service (want_running: until running, else until not), or
 * with !wait print `submitted` and return. `mark`: see bx_cli_wait_service.
 */
int bx_cli_after_change(const struct bx_cli *cli, const char *verb, const char *name,
			struct bx_cli_reply *reply, bool wait, bool want_running,
			long timeout_ms, const char *submitted, double mark);

#endif
