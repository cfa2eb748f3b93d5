/* cli_wait.h - waiting from the CLI for a service to reach a state, with progress. */
#ifndef BX_CLI_WAIT_H
#define BX_CLI_WAIT_H

#include <stdbool.h>

#include "cli.h"

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

#endif
