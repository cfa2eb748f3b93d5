/* cmd_version.c - `blixard version`: the CLI's version and libraries. */
#include "src/base/version.h"
#include "src/cli/cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <uv.h>

int bx_cmd_version(struct bx_cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "blixard version: takes no arguments\n");
		return BX_EXIT_USAGE;
	}
	if (cli->json) {
		printf("{\"version\":\"%s\",\"libuv\":\"%s\"}\n", BX_VERSION,
		       uv_version_string());
	} else {
		printf("blixard %s (libuv %s)\n", BX_VERSION, uv_version_string());
	}
	return BX_EXIT_OK;
}
