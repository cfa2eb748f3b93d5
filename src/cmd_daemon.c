/* cmd_daemon.c - `blixard daemon`: parse the daemon's options and run it. */
#include "cli.h"

#include <stdio.h>

int bx_cmd_daemon(struct bx_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	fprintf(stderr, "blixard daemon: under construction\n");
	return BX_EXIT_ERROR;
}
