/* cmd_join.c - `blixard join HOST:PORT`: make the local daemon join a cluster through a
 * member. */
#include "src/base/error.h"
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_wait.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: blixard join HOST:PORT [--no-wait] [--timeout SECS]\n"
			    "  HOST:PORT is the HTTP API of any member of the cluster.\n";

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int bx_cmd_join(struct bx_cli *cli, int argc, char **argv)
{
	const char *target = NULL;
	bool wait = true;
	long timeout_ms = 60000, start;
	struct bx_cli_reply r;
	cJSON *body;
	int rv;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return BX_EXIT_OK;
		} else if (strcmp(argv[i], "--no-wait") == 0) {
			wait = false;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout_ms = bx_cli_parse_seconds(argv[++i]);
			if (timeout_ms < 0) {
				fprintf(stderr,
					"blixard join: --timeout takes seconds > 0\n");
				return BX_EXIT_USAGE;
			}
		} else if (argv[i][0] == '-' || target != NULL) {
			fprintf(stderr, "blixard join: unexpected argument '%s'\n%s",
				argv[i], usage);
			return BX_EXIT_USAGE;
		} else {
			target = argv[i];
		}
	}
	if (target == NULL || strchr(target, ':') == NULL) {
		fprintf(stderr,
			"blixard join: the address of a member's API (HOST:PORT) is "
			"required\n%s",
			usage);
		return BX_EXIT_USAGE;
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "address", target);
	rv = bx_cli_request(cli, "join", "POST", "/v1/local/join", body, &r);
	cJSON_Delete(body);
	if (rv != 0)
		return rv;
	bx_cli_reply_free(&r);
	if (!wait) {
		printf("joining through %s\n", target);
		return BX_EXIT_OK;
	}
	start = now_ms();
	for (;;) {
		char errmsg[BX_ERRMSG_SIZE];
		if (bx_cli_call(cli, NULL, "GET", "/v1/cluster", NULL, 5000, &r,
				errmsg) == 0 &&
		    r.status == 200 && bx_fmt_str(r.json, "cluster_id")[0] != '\0') {
			if (cli->json)
				bx_cli_print_json(r.json);
			else
				printf("joined cluster %s\n",
				       bx_fmt_str(r.json, "cluster_id"));
			bx_cli_reply_free(&r);
			return BX_EXIT_OK;
		}
		bx_cli_reply_free(&r);
		if (now_ms() - start > timeout_ms) {
			fprintf(stderr,
				"blixard join: not a member after %.0f s; the daemon "
				"keeps trying "
				"(see its log)\n",
				(double)timeout_ms / 1000);
			return BX_EXIT_ERROR;
		}
		usleep(200 * 1000);
	}
}
