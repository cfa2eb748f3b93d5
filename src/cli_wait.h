/* cli_wait.h - waiting from the CLI for a service to reach a state, with progress. */
#ifndef BX_CLI_WAIT_H
#define BX_CLI_WAIT_H

#include <stdbool.h>

#include "cli.h"
#include "cli_http.h"

/*
 * Poll GET /v1/services/NAME until `done(state)` holds or `fail(state)` holds
 * or timeout_ms passes. Prints progress to stderr when it is a terminal
 * (state changes, elapsed time). Returns BX_EXIT_OK when done, else prints
 * one line "blixard VERB: …" and returns BX_EXIT_ERROR.
 */
int bx_cli_wait_service(const struct bx_cli *cli, const char *verb, const char *name,
			bool want_running, long timeout_ms);

/* Parse "--timeout SECS" style values: seconds as a decimal, > 0. -1 if bad. */
long bx_cli_parse_seconds(const char *s);

/*
 * The options every waiting verb shares: "--no-wait" and "--timeout SECS" at
 * argv[*i]. Returns 1 if consumed (*i advanced past a value), 0 if argv[*i]
 * is neither, -1 after printing a usage error.
 */
int bx_cli_wait_option(const char *verb, int argc, char **argv, int *i, bool *wait,
		       long *timeout_ms);

/*
 * After a change was accepted: print the reply with --json, free it, then
 * wait for the service (want_running: until running, else until not), or
 * with !wait print `submitted` and return.
 */
int bx_cli_after_change(const struct bx_cli *cli, const char *verb, const char *name,
			struct bx_cli_reply *reply, bool wait, bool want_running,
			long timeout_ms, const char *submitted);

#endif
