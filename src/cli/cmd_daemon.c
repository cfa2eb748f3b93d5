/* cmd_daemon.c - `blixard daemon`: read the configuration and run the daemon. */
#include "src/base/error.h"
#include "src/base/log.h"
#include "src/cli/cli.h"
#include "src/daemon.h"
#include "src/model/config.h"

#include <stdio.h>

int bx_cmd_daemon(struct bx_cli *cli, int argc, char **argv)
{
	struct bx_config cfg;
	struct bx_diags diags = {0};
	bool help = false;
	int rv;

	(void)cli;
	bx_config_init(&cfg);
	rv = bx_config_load(&cfg, argc - 1, argv + 1, NULL, &help, &diags);
	if (help) {
		printf("usage: blixard daemon [--config FILE] [options]\n\n");
		bx_config_usage(stdout);
		bx_diags_free(&diags);
		bx_config_free(&cfg);
		return BX_EXIT_OK;
	}
	for (size_t i = 0; i < diags.len; i++)
		fprintf(stderr, "blixard daemon: %s\n", diags.items[i]);
	bx_diags_free(&diags);
	if (rv != 0) {
		bx_config_free(&cfg);
		if (rv == BX_EPARSE)
			fprintf(stderr, "see 'blixard daemon --help'\n");
		return rv == BX_EPARSE ? BX_EXIT_USAGE : BX_EXIT_ERROR;
	}
	if (cfg.log_level != NULL && bx_log_level_parse(cfg.log_level) >= 0)
		bx_log_set_level((enum bx_log_level)bx_log_level_parse(cfg.log_level));
	rv = bx_daemon_run(&cfg);
	bx_config_free(&cfg);
	return rv;
}
