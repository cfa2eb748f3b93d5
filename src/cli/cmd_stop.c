/* cmd_stop.c - `blixard stop NAME`: stop a service (it stays defined). */
#include "src/cli/cli.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_wait.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: blixard stop NAME [--detach] [--timeout SECS]\n"
    "  Stop a service (it stays defined) and wait until no instance runs,\n"
    "  showing its events on a terminal.\n"
    "  -d, --detach     return once the stop is committed (alias --no-wait)\n"
    "  --timeout SECS   give up waiting after SECS seconds (default 120)\n";

int bx_cmd_stop(struct bx_cli *cli, int argc, char **argv)
{
	const char *name = NULL;
	bool wait = true;
	long timeout_ms = 120000;
	struct bx_cli_reply r;
	char path[128];
	double mark;
	int rv, opt;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return BX_EXIT_OK;
		} else if ((opt = bx_cli_wait_option("stop", argc, argv, &i, &wait,
						     &timeout_ms)) != 0) {
			if (opt < 0)
				return BX_EXIT_USAGE;
		} else if (a[0] == '-' || name != NULL) {
			fprintf(stderr, "blixard stop: unexpected argument '%s'\n%s", a,
				usage);
			return BX_EXIT_USAGE;
		} else {
			name = a;
		}
	}
	if (name == NULL) {
		fprintf(stderr, "blixard stop: a service name is required\n%s", usage);
		return BX_EXIT_USAGE;
	}
	if ((rv = bx_cli_check_name("stop", name)) != 0)
		return rv;
	snprintf(path, sizeof path, "/v1/services/%s/stop", name);
	mark = wait ? bx_cli_event_mark(cli) : -1;
	rv = bx_cli_request(cli, "stop", "POST", path, NULL, &r);
	if (rv != 0)
		return rv;
	return bx_cli_after_change(cli, "stop", name, &r, wait, false, timeout_ms,
				   "told to stop", mark);
}
