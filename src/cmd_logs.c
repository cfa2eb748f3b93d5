/* cmd_logs.c - `blixard logs NAME`: the console output of a service's instance. */
#include "cli.h"
#include "cli_fmt.h"
#include "cli_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: blixard logs NAME [-n LINES]\n";

/* The API address of the node running `name` (static buffer), or NULL for "ask the
 * target". */
static const char *node_api(struct bx_cli *cli, const cJSON *service, char *buf,
			    size_t size)
{
	struct bx_cli_reply r;
	double node =
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(service, "node"));
	const cJSON *n;
	const char *found = NULL;

	if (node == 0 || bx_cli_request(cli, "logs", "GET", "/v1/nodes", NULL, &r) != 0)
		return NULL;
	cJSON_ArrayForEach(n, r.json)
	{
		if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "id")) ==
			node &&
		    bx_fmt_str(n, "api")[0] != '\0') {
			snprintf(buf, size, "%s", bx_fmt_str(n, "api"));
			found = buf;
		}
	}
	bx_cli_reply_free(&r);
	return found;
}

int bx_cmd_logs(struct bx_cli *cli, int argc, char **argv)
{
	const char *name = NULL;
	long lines = 100;
	char path[160], api[256], errmsg[512];
	struct bx_cli_reply r;
	const char *addr;
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
	if ((rv = bx_cli_check_name("logs", name)) != 0)
		return rv;
	snprintf(path, sizeof path, "/v1/services/%s", name);
	rv = bx_cli_request(cli, "logs", "GET", path, NULL, &r);
	if (rv != 0)
		return rv;
	addr = node_api(cli, r.json, api, sizeof api);
	bx_cli_reply_free(&r);

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
