/* cmd_nodes.c - `blixard nodes [remove ID]`: the cluster's nodes; remove a dead one. */
#include "cli.h"
#include "cli_fmt.h"
#include "cli_http.h"
#include "cli_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: blixard [--json] nodes [list]\n"
			    "       blixard nodes remove ID\n";

static int list(struct bx_cli *cli)
{
	static const char *const header[] = {"ID",    "NAME",     "ROLE", "STATUS",
					     "HEARD", "SERVICES", "API",  "RAFT"};
	struct bx_cli_reply r;
	struct bx_table t;
	const cJSON *n;
	int rv = bx_cli_request(cli, "nodes", "GET", "/v1/nodes", NULL, &r);

	if (rv != 0)
		return rv;
	if (cli->json) {
		bx_cli_print_json(r.json);
		bx_cli_reply_free(&r);
		return BX_EXIT_OK;
	}
	bx_table_init(&t, 8, header);
	cJSON_ArrayForEach(n, r.json)
	{
		char id[24], svcs[24], heard[32] = "-";
		const cJSON *age =
		    cJSON_GetObjectItemCaseSensitive(n, "heartbeat_age_ms");
		/* how long ago the leader heard it: only the leader knows */
		if (cJSON_IsNumber(age))
			snprintf(heard, sizeof heard, "%.1fs ago",
				 age->valuedouble / 1000.0);
		const char *row[] = {bx_fmt_num(n, "id", id, sizeof id, 0),
				     bx_fmt_str(n, "name"),
				     bx_fmt_str(n, "role"),
				     bx_fmt_str(n, "status"),
				     heard,
				     bx_fmt_num(n, "services", svcs, sizeof svcs, 0),
				     bx_fmt_str(n, "api"),
				     bx_fmt_str(n, "raft")};
		bx_table_row(&t, row);
	}
	bx_table_print(&t, stdout);
	bx_table_free(&t);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

static int remove_node(struct bx_cli *cli, const char *arg)
{
	struct bx_cli_reply r;
	char path[64], *end;
	unsigned long long id = strtoull(arg, &end, 10);
	int rv;

	if (arg[0] == '\0' || *end != '\0' || id == 0 || arg[0] == '-') {
		fprintf(stderr,
			"blixard nodes remove: '%s' is not a node id (a number >= 1)\n",
			arg);
		return BX_EXIT_USAGE;
	}
	snprintf(path, sizeof path, "/v1/nodes/%llu", id);
	rv = bx_cli_request(cli, "nodes remove", "DELETE", path, NULL, &r);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	else
		printf("node %llu removed from the cluster\n", id);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

int bx_cmd_nodes(struct bx_cli *cli, int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return BX_EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			cli->json = true;
		} else {
			fprintf(stderr, "blixard nodes: unknown option '%s'\n%s", argv[i],
				usage);
			return BX_EXIT_USAGE;
		}
	}
	if (i == argc || (strcmp(argv[i], "list") == 0 && i + 1 == argc))
		return list(cli);
	if (strcmp(argv[i], "remove") == 0 && i + 2 == argc)
		return remove_node(cli, argv[i + 1]);
	fprintf(stderr, "blixard nodes: unexpected arguments\n%s", usage);
	return BX_EXIT_USAGE;
}
