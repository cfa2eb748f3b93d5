/* main.c - `blixard [GLOBAL OPTIONS] VERB ...`: parse global options, run the verb. */
#include "src/base/error.h"
#include "src/cli/cli.h"
#include "src/model/secret.h"
#include "src/model/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: blixard [--addr HOST:PORT | --socket PATH] [--token TOKEN | "
		     "--token-file PATH] [--json] VERB ...\n\n"
		     "verbs:\n");
	for (const struct bx_verb *v = bx_verbs; v->name != NULL; v++)
		if (v->usage != NULL)
			fprintf(out, "  %-44s %s\n", v->usage, v->summary);
	fprintf(out, "\nEnvironment: BLIXARD_ADDR, BLIXARD_SOCKET, BLIXARD_TOKEN.\n"
		     "Exit codes: 0 ok, 1 error, 2 usage.\n");
}

/* The first line of `path`, blanks around it dropped, into line (size bytes). */
static int read_first_line(const char *path, char *line, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	if (fgets(line, (int)size, f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strlen(line);
	while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
		line[--n] = '\0';
	n = strspn(line, " \t");
	memmove(line, line + n, strlen(line + n) + 1);
	return 0;
}

/*
 * The token to send: --token, else the first line of --token-file (into
 * line, size bytes), else BLIXARD_TOKEN; the flags' checked here (a usage
 * error), the variable's when a request is made (src/cli/cli_http.c). An exit
 * code when it cannot be used, after saying why.
 */
static int pick_token(struct bx_cli *cli, const char *flag, const char *file, char *line,
		      size_t size)
{
	char id[BX_TOKEN_ID_LEN + 1], secret[BX_TOKEN_SECRET_LEN + 1];
	char err[BX_ERRMSG_SIZE];
	const char *env = getenv("BLIXARD_TOKEN");

	if (flag != NULL && file != NULL) {
		fprintf(stderr, "blixard: give --token or --token-file, not both\n");
		return BX_EXIT_USAGE;
	}
	if (file != NULL && read_first_line(file, line, size) != 0) {
		fprintf(stderr, "blixard: --token-file '%s': %s\n", file,
			strerror(errno));
		return BX_EXIT_ERROR;
	}
	if (flag != NULL || file != NULL) {
		cli->token = flag != NULL ? flag : line;
		cli->token_from = flag != NULL ? "--token" : "--token-file";
		if (!bx_secret_token_valid(cli->token) &&
		    bx_token_parse(cli->token, id, secret, err) != 0) {
			fprintf(stderr, "blixard: %s%s%s: %s\n", cli->token_from,
				file ? " " : "", file ? file : "", err);
			return BX_EXIT_USAGE;
		}
	} else if (env != NULL && env[0] != '\0') { /* empty: none */
		cli->token = env;
		cli->token_from = "BLIXARD_TOKEN";
	}
	return BX_EXIT_OK;
}

/* Read by jemalloc (the daemon links it, see the Makefile) when it starts:
 * one arena, since the daemon allocates on one thread, and freed pages given
 * back within a second. bench/scale.sh, RSS with 10,000 services: 58.6 ->
 * 51.0 MiB, writes/s unchanged. glibc's malloc (sanitizer builds) ignores it. */
const char *malloc_conf = "narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";

int main(int argc, char **argv)
{
	static char token_line[512];
	struct bx_cli cli = {
	    .addr = getenv("BLIXARD_ADDR"),
	    .socket = getenv("BLIXARD_SOCKET"),
	    .json = false,
	};
	const char *token_flag = NULL, *token_file = NULL;
	int i = 1, rv;

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
		} else if (strcmp(a, "--token") == 0 && i + 1 < argc) {
			token_flag = argv[++i];
		} else if (strncmp(a, "--token=", 8) == 0) {
			token_flag = a + 8;
		} else if (strcmp(a, "--token-file") == 0 && i + 1 < argc) {
			token_file = argv[++i];
		} else if (strncmp(a, "--token-file=", 13) == 0) {
			token_file = a + 13;
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
	rv = pick_token(&cli, token_flag, token_file, token_line, sizeof token_line);
	if (rv != BX_EXIT_OK)
		return rv;
	for (const struct bx_verb *v = bx_verbs; v->name != NULL; v++)
		if (strcmp(v->name, argv[i]) == 0)
			return v->run(&cli, argc - i, argv + i);
	fprintf(stderr, "blixard: unknown verb '%s' (see 'blixard --help')\n", argv[i]);
	return 2;
}
