/* cli_verbs.c - the table of verbs: one line each, usage and summary. */
#include "cli.h"

#include <stddef.h>

const struct bx_verb bx_verbs[] = {
	{"daemon", bx_cmd_daemon, "daemon [--config FILE] [flags]", "run the Blixard daemon"},
	{"version", bx_cmd_version, "version", "print the version"},
	{NULL, NULL, NULL, NULL},
};
