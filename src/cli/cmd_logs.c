/* cmd_logs.c - `blixard logs NAME`: the console output of a service's instance. */
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: blixard logs NAME[@I] [-n LINES] [-f]\n"
    "  The console log of the service's instance, which the daemon asked reads\n"
    "  from the node running it (so a node's local socket is enough);\n"
    "  NAME@I: instance I of a service with count > 1.\n"
    "  -n, --lines N   the last N lines (default 100, at most 100000)\n"
    "  -f, --follow    then keep printing what is added, until interrupted\n";

#define FOLLOW_POLL_MS 500

/* One request for the log; on success *out holds the parsed JSON form. */
static int fetch(struct bx_cli *cli, const char *addr, const char *path, cJSON **out)
{
	struct bx_cli_reply r;
	char errmsg[512];

	if (bx_cli_call(cli, addr, "GET", path, NULL, 30000, &r, errmsg) != 0) {
		fprintf(stderr, "blixard logs: %s\n", errmsg);
		return BX_EXIT_ERROR;
	}
	if (r.status != 200 || r.json == NULL) {
		fprintf(stderr, "blixard logs: %s (HTTP %ld)\n", bx_cli_reply_error(&r),
			r.status);
		bx_cli_reply_free(&r);
		return BX_EXIT_ERROR;
	}
	*out = r.json;
	r.json = NULL;
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

/* -f: print the tail, then what is added every FOLLOW_POLL_MS. */
static int follow(struct bx_cli *cli, const char *addr, const char *name, long lines)
{
	char path[200];
	double offset;
	cJSON *o = NULL;
	int rv;

	snprintf(path, sizeof path, "/v1/services/%s/logs?n=%ld&format=json", name, lines);
	for (;;) {
		if ((rv = fetch(cli, addr, path, &o)) != 0)
			return rv;
		fputs(bx_fmt_str(o, "data"), stdout);
		fflush(stdout);
		offset = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "offset"));
		cJSON_Delete(o);
		snprintf(path, sizeof path, "/v1/services/%s/logs?from=%.0f&format=json", name,
			 offset);
		struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int bx_cmd_logs(struct bx_cli *cli, int argc, char **argv)
{
	const char *name = NULL;
	long lines = 100;
	bool follow_on = false;
	char path[160], errmsg[512];
	struct bx_cli_reply r;
	const char *addr = NULL; /* this CLI's daemon: it asks the node running it */
	int rv;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return BX_EXIT_OK;
		} else if ((strcmp(argv[i], "-n") == 0 ||
			    strcmp(argv[i], "--lines") == 0) &&
			   i + 1 < argc) {
			char *end;
			lines = strtol(argv[++i], &end, 10);
			if (*end != '\0' || lines <= 0 || lines > 100000) {
				fprintf(stderr,
					"blixard logs: -n takes 1..100000, got '%s'\n",
					argv[i]);
				return BX_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0) {
			follow_on = true;
		} else if (argv[i][0] == '-' || name != NULL) {
			fprintf(stderr, "blixard logs: unexpected argument '%s'\n%s",
				argv[i], usage);
			return BX_EXIT_USAGE;
		} else {
			name = argv[i];
		}
	}
	if (name == NULL) {
		fprintf(stderr, "blixard logs: a service name is required\n%s", usage);
		return BX_EXIT_USAGE;
	}
	if ((rv = bx_cli_check_key("logs", name)) != 0)
		return rv;
	if (follow_on)
		return follow(cli, addr, name, lines);

	snprintf(path, sizeof path, "/v1/services/%s/logs?n=%ld", name, lines);
	if (bx_cli_call(cli, addr, "GET", path, NULL, 30000, &r, errmsg) != 0) {
		fprintf(stderr, "blixard logs: %s\n", errmsg);
		return BX_EXIT_ERROR;
	}
	if (r.status != 200) {
		fprintf(stderr, "blixard logs: %s (HTTP %ld)\n", bx_cli_reply_error(&r),
			r.status);
		bx_cli_reply_free(&r);
		return BX_EXIT_ERROR;
	}
	fwrite(r.body, 1, r.len, stdout);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}
