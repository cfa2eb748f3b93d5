/* cmd_version.c - `blixard version`: the CLI's version and libraries. */
#include "src/base/version.h"
#include "src/cli/cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

int bx_cmd_version(struct bx_cli *cli, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs("usage: blixard [--json] version\n"
		      "  The CLI's version and the libuv it runs on.\n",
		      stdout);
		return BX_EXIT_OK;
	}
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
