/* cmd_token.c - `blixard token create|list|revoke`: bearer tokens for the
 * HTTP API (blixard --token TOKEN, or BLIXARD_TOKEN). */
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_table.h"
#include "src/model/token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: blixard [--json] token create [--role admin|read] [--name NAME]\n"
    "       blixard [--json] token list\n"
    "       blixard [--json] token revoke ID\n"
    "  create   a bearer token for the HTTP API, printed once on stdout: the cluster\n"
    "           keeps only its secret's hash. Give it to the CLI with --token TOKEN,\n"
    "           --token-file PATH or BLIXARD_TOKEN, or send 'Authorization: Bearer\n"
    "           TOKEN'. The local Unix socket needs none.\n"
    "           --role ROLE  admin (may do everything) or read (only reads; default)\n"
    "           --name NAME  what it is for: A-Z a-z 0-9 . _ @ -, at most 64\n"
    "  list     every token: id, name, role, when it was made (never a secret)\n"
    "  revoke   the token stops working on every node\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("blixard token: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return BX_EXIT_USAGE;
}

/* A new token on stdout; on a terminal, a word that it is not shown again. */
static void show_new(const cJSON *tok)
{
	const char *name = bx_fmt_str(tok, "name");

	if (isatty(STDERR_FILENO))
		fprintf(stderr,
			"token %s (%s%s%s): it is shown only this once; keep it safe\n",
			bx_fmt_str(tok, "id"), bx_fmt_str(tok, "role"),
			name[0] ? ", " : "", name);
	printf("%s\n", bx_fmt_str(tok, "token"));
}

static int create_token(struct bx_cli *cli, int argc, char **argv)
{
	cJSON *body = cJSON_CreateObject();

	for (int i = 0; i < argc; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		const char *bad = NULL;
		if (strcmp(opt, "--role") == 0 && val != NULL) {
			if (!bx_token_role_valid(val))
				bad = "--role is admin or read, got '%s'";
		} else if (strcmp(opt, "--name") == 0 && val != NULL) {
			if (!bx_token_name_valid(val))
				bad = "--name takes at most 64 characters of "
				      "A-Z a-z 0-9 . _ @ -, got '%s'";
		} else {
			cJSON_Delete(body);
			fprintf(stderr, "blixard token create: %s '%s'\n%s",
				val == NULL && opt[0] == '-' ? "a value must follow"
							     : "unexpected argument",
				opt, usage);
			return BX_EXIT_USAGE;
		}
		if (bad != NULL) {
			cJSON_Delete(body);
			return usage_error(bad, val);
		}
		/* "role" or "name"; given twice, the last counts */
		cJSON_DeleteItemFromObjectCaseSensitive(body, opt + 2);
		cJSON_AddStringToObject(body, opt + 2, val);
	}
	return bx_cli_show(cli, "token", "POST", "/v1/tokens", body, show_new);
}

static void print_table(const cJSON *tokens)
{
	static const char *const header[] = {"ID", "NAME", "ROLE", "CREATED"};
	struct bx_table t;
	const cJSON *tok;

	bx_table_init(&t, 4, header);
	cJSON_ArrayForEach(tok, tokens)
	{
		char created[32];
		const char *name = bx_fmt_str(tok, "name");
		const char *cells[4] = {
		    bx_fmt_str(tok, "id"), name[0] ? name : "-", bx_fmt_str(tok, "role"),
		    bx_fmt_utc(tok, "created_at", created, sizeof created)};
		bx_table_row(&t, cells);
	}
	bx_table_print(&t, stdout);
	bx_table_free(&t);
}

static int list_tokens(struct bx_cli *cli)
{
	return bx_cli_show(cli, "token", "GET", "/v1/tokens", NULL, print_table);
}

static int revoke_token(struct bx_cli *cli, const char *id)
{
	if (!bx_token_id_valid(id))
		return usage_error("'%s' is not a token id: 16 hex digits (see 'blixard "
				   "token list')",
				   id);
	return bx_cli_revoke(cli, "token", "/v1/tokens/", id);
}

int bx_cmd_token(struct bx_cli *cli, int argc, char **argv)
{
	static const struct bx_cli_credential_verbs verbs = {create_token, list_tokens,
							     revoke_token};

	return bx_cli_credential_verb(cli, argc, argv, usage, &verbs);
}
