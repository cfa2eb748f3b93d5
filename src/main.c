/* main.c - `blixard [GLOBAL OPTIONS] VERB ...`: parse global options, run the verb. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: blixard [--addr HOST:PORT | --socket PATH] [--json] VERB ...\n\n"
		     "verbs:\n");
	for (const struct bx_verb *v = bx_verbs; v->name != NULL; v++)
		fprintf(out, "  %-44s %s\n", v->usage, v->summary);
	fprintf(out, "\nEnvironment: BLIXARD_ADDR, BLIXARD_SOCKET.\n"
		     "Exit codes: 0 ok, 1 error, 2 usage.\n");
}

int main(int argc, char **argv)
{
	struct bx_cli cli = {
		.addr = getenv("BLIXARD_ADDR"),
		.socket = getenv("BLIXARD_SOCKET"),
		.json = false,
	};
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			cli.json = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if ((strcmp(a, "--addr") == 0 || strcmp(a, "--socket") == 0) &&
			   i + 1 < argc) {
			if (a[2] == 'a')
				cli.addr = argv[++i];
			else
				cli.socket = argv[++i];
		} else if (strncmp(a, "--addr=", 7) == 0) {
			cli.addr = a + 7;
		} else if (strncmp(a, "--socket=", 9) == 0) {
			cli.socket = a + 9;
		} else {
			fprintf(stderr, "blixard: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	for (const struct bx_verb *v = bx_verbs; v->name != NULL; v++)
		if (strcmp(v->name, argv[i]) == 0)
			return v->run(&cli, argc - i, argv + i);
	fprintf(stderr, "blixard: unknown verb '%s' (see 'blixard --help')\n", argv[i]);
	return 2;
}
