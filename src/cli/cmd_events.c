/* cmd_events.c - `blixard events`: the cluster's replicated event log, or one
 * service's, once or followed. */
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: blixard [--json] events [--service NAME] [-n N] [-f]\n"
    "  What happened in the cluster, oldest first: services scheduled, started,\n"
    "  healthy, restarted, failed, moved, fenced; nodes joining, down, up.\n"
    "  Replicated: every node answers the same. The newest 10000 are kept.\n"
    "  --service NAME  only that service's events (all its instances)\n"
    "  -n, --last N    the last N events (default 20, at most 10000)\n"
    "  -f, --follow    then print new events as they happen, until interrupted\n"
    "  --json          a JSON array; with -f one JSON object per line\n";

#define FOLLOW_POLL_MS 500
#define FOLLOW_BATCH 1000

/* GET /v1/events?QUERY: the reply's JSON, or NULL (the error is printed). */
static cJSON *fetch(struct bx_cli *cli, const char *query)
{
	struct bx_cli_reply r;
	char path[256];
	cJSON *out;

	snprintf(path, sizeof path, "/v1/events?%s", query);
	if (bx_cli_request(cli, "events", "GET", path, NULL, &r) != 0)
		return NULL;
	out = r.json;
	r.json = NULL;
	bx_cli_reply_free(&r);
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(out, "events"))) {
		fprintf(stderr,
			"blixard events: the daemon's answer has no event list\n");
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

static void print(const struct bx_cli *cli, const cJSON *events, bool lines)
{
	const cJSON *ev;

	if (!cli->json) {
		bx_cli_print_events(events, stdout);
	} else if (!lines) {
		bx_cli_print_json(events);
	} else {
		cJSON_ArrayForEach(ev, events)
		{
			char *text = cJSON_PrintUnformatted(ev);
			if (text != NULL)
				printf("%s\n", text);
			free(text);
		}
	}
	fflush(stdout);
}

/* The seq of the newest event in the reply, or `seen` if it has none. */
static double newest(const cJSON *reply, double seen)
{
	const cJSON *events = cJSON_GetObjectItemCaseSensitive(reply, "events");
	const cJSON *last = cJSON_GetArrayItem(events, cJSON_GetArraySize(events) - 1);
	double seq = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(last, "seq"));

	return last != NULL && seq > seen ? seq : seen;
}

int bx_cmd_events(struct bx_cli *cli, int argc, char **argv)
{
	const char *service = NULL;
	bool follow = false;
	long last = 20;
	char filter[96] = "", query[160];
	double seen;
	cJSON *reply;

	for (int i = 1; i < argc; i++) {
		int opt = bx_cli_read_option(cli, argv[i], usage);
		if (opt == BX_OPT_HELP)
			return BX_EXIT_OK;
		if (opt == BX_OPT_TAKEN)
			continue;
		if (strcmp(argv[i], "--service") == 0 && i + 1 < argc) {
			service = argv[++i];
		} else if ((strcmp(argv[i], "-n") == 0 ||
			    strcmp(argv[i], "--last") == 0) &&
			   i + 1 < argc) {
			char *end;
			last = strtol(argv[++i], &end, 10);
			if (*end != '\0' || last <= 0 || last > 10000) {
				fprintf(stderr,
					"blixard events: -n takes 1..10000, got '%s'\n",
					argv[i]);
				return BX_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "-f") == 0 ||
			   strcmp(argv[i], "--follow") == 0) {
			follow = true;
		} else {
			fprintf(stderr, "blixard events: unexpected argument '%s'\n%s",
				argv[i], usage);
			return BX_EXIT_USAGE;
		}
	}
	if (service != NULL) {
		int rv = bx_cli_check_name("events", service);
		if (rv != 0)
			return rv;
		snprintf(filter, sizeof filter, "&service=%s", service);
	}
	snprintf(query, sizeof query, "limit=%ld%s", last, filter);
	reply = fetch(cli, query);
	if (reply == NULL)
		return BX_EXIT_ERROR;
	if (!cli->json)
		printf("%-24s  %-20s  %-4s  %-4s  %-15s  %s\n", "TIME", "SERVICE", "NODE",
		       "GEN", "EVENT", "REASON");
	print(cli, cJSON_GetObjectItemCaseSensitive(reply, "events"), follow);
	/* follow from the newest stored, even when none of them matched */
	seen = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "last"));
	seen = newest(reply, seen);
	cJSON_Delete(reply);
	while (follow) {
		struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
		snprintf(query, sizeof query, "after=%.0f&limit=%d%s", seen, FOLLOW_BATCH,
			 filter);
		reply = fetch(cli, query);
		if (reply == NULL)
			return BX_EXIT_ERROR;
		print(cli, cJSON_GetObjectItemCaseSensitive(reply, "events"), true);
		/* with a filter, skip past what did not match too */
		if (cJSON_GetArraySize(
			cJSON_GetObjectItemCaseSensitive(reply, "events")) < FOLLOW_BATCH)
			seen = cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(reply, "last"));
		seen = newest(reply, seen);
		cJSON_Delete(reply);
	}
	return BX_EXIT_OK;
}
