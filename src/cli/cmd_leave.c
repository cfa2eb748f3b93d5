/* cmd_leave.c - `blixard leave`: take the local node out of its cluster, gracefully. */
#include "src/cli/cli.h"
#include "src/cli/cli_http.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: blixard leave\n"
    "  Removes the local node from the Raft group; its services are\n"
    "  placed elsewhere. To remove a dead node use 'blixard nodes remove ID'.\n";

int bx_cmd_leave(struct bx_cli *cli, int argc, char **argv)
{
	struct bx_cli_reply r;
	int rv;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return BX_EXIT_OK;
	}
	if (argc != 1) {
		fprintf(stderr, "blixard leave: takes no arguments\n%s", usage);
		return BX_EXIT_USAGE;
	}
	rv = bx_cli_request(cli, "leave", "POST", "/v1/local/leave", NULL, &r);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	else
		printf("left the cluster\n");
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}
