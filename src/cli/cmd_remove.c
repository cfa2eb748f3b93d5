/* cmd_remove.c - `blixard remove NAME`: delete a service (its instance is stopped). */
#include "src/cli/cli.h"
#include "src/cli/cli_http.h"

#include <stdio.h>
#include <string.h>

static const char usage[] = "usage: blixard remove NAME\n";

int bx_cmd_remove(struct bx_cli *cli, int argc, char **argv)
{
	struct bx_cli_reply r;
	char path[128];
	int rv;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return BX_EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr,
			"blixard remove: exactly one service name is required\n%s",
			usage);
		return BX_EXIT_USAGE;
	}
	if ((rv = bx_cli_check_name("remove", argv[1])) != 0)
		return rv;
	snprintf(path, sizeof path, "/v1/services/%s", argv[1]);
	rv = bx_cli_request(cli, "remove", "DELETE", path, NULL, &r);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	else
		printf("service '%s' removed\n", argv[1]);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}
