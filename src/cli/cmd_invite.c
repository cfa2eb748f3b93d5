/* cmd_invite.c - `blixard invite create|list|revoke`: tokens that let a new
 * node join (blixard daemon --join-token TOKEN). */
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: blixard [--json] invite create [--ttl DURATION] [--uses N] [--role ROLE]\n"
    "       blixard [--json] invite list\n"
    "       blixard invite revoke ID\n"
    "  create   a token for new nodes: 'blixard daemon --join-token TOKEN'. It names\n"
    "           the cluster and its members and carries a secret; the cluster keeps\n"
    "           only the secret's hash. Expiry and uses are enforced by the cluster.\n"
    "           --ttl DURATION  how long it is good: 90s, 30m, 24h (default), 7d\n"
    "           --uses N        how many nodes may join with it (default 1, at most "
    "1000)\n"
    "  list     every invite: uses, expiry, state (valid, expired, used up, revoked)\n"
    "  revoke   no node may join with it any more\n";

/* "90s", "30m", "24h", "7d" or plain seconds, into ms; -1 if bad. */
static double parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end), unit = 1000;

	if (end == s || v <= 0)
		return -1;
	if (strcmp(end, "d") == 0)
		unit = 86400000;
	else if (strcmp(end, "h") == 0)
		unit = 3600000;
	else if (strcmp(end, "m") == 0)
		unit = 60000;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		return -1;
	return v * unit;
}

/* A new invite: how to use it on stderr, the token on stdout. */
static void show(const cJSON *inv)
{
	char when[32];

	bx_fmt_utc(inv, "expires_at", when, sizeof when);
	fprintf(stderr, "invite %s: %s use(s) as %s, until %s; on the new node:\n",
		bx_fmt_str(inv, "id"), bx_fmt_num(inv, "uses", (char[24]){0}, 24, 0),
		bx_fmt_str(inv, "role"), when);
	fprintf(stderr, "  blixard daemon --join-token TOKEN ...\n");
	printf("%s\n", bx_fmt_str(inv, "token"));
}

static int create(struct bx_cli *cli, int argc, char **argv)
{
	cJSON *body = cJSON_CreateObject();

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			double ms = parse_duration(argv[++i]);
			if (ms < 1000 || ms > 365.0 * 86400000) {
				fprintf(stderr,
					"blixard invite: --ttl takes a duration from 1s "
					"to 365d "
					"(90s, 30m, 24h, 7d), got '%s'\n",
					argv[i]);
				cJSON_Delete(body);
				return BX_EXIT_USAGE;
			}
			cJSON_AddNumberToObject(body, "ttl_ms", (double)(long long)ms);
		} else if (strcmp(argv[i], "--uses") == 0 && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end != '\0' || n < 1 || n > 1000) {
				fprintf(
				    stderr,
				    "blixard invite: --uses takes 1..1000, got '%s'\n",
				    argv[i]);
				cJSON_Delete(body);
				return BX_EXIT_USAGE;
			}
			cJSON_AddNumberToObject(body, "uses", (double)n);
		} else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			const char *role = argv[++i];
			if (strcmp(role, "voter") != 0 && strcmp(role, "standby") != 0) {
				fprintf(stderr,
					"blixard invite: --role is voter or standby, got "
					"'%s'\n",
					role);
				cJSON_Delete(body);
				return BX_EXIT_USAGE;
			}
			cJSON_AddStringToObject(body, "role", role);
		} else {
			fprintf(stderr,
				"blixard invite create: unexpected argument '%s'\n%s",
				argv[i], usage);
			cJSON_Delete(body);
			return BX_EXIT_USAGE;
		}
	}
	return bx_cli_show(cli, "invite", "POST", "/v1/invites", body, show);
}

static void show_invites(const cJSON *invites)
{
	static const char *const header[] = {"ID", "STATE", "USED", "EXPIRES", "CREATED"};
	struct bx_table t;
	const cJSON *inv;

	bx_table_init(&t, 5, header);
	cJSON_ArrayForEach(inv, invites)
	{
		char used[48], expires[32], created[32], a[24], b[24];
		const char *cells[5];

		snprintf(used, sizeof used, "%s/%s",
			 bx_fmt_num(inv, "used", a, sizeof a, 0),
			 bx_fmt_num(inv, "uses", b, sizeof b, 0));
		bx_fmt_utc(inv, "expires_at", expires, sizeof expires);
		bx_fmt_utc(inv, "created_at", created, sizeof created);
		cells[0] = bx_fmt_str(inv, "id");
		cells[1] = bx_fmt_str(inv, "state");
		cells[2] = used;
		cells[3] = expires;
		cells[4] = created;
		bx_table_row(&t, cells);
	}
	bx_table_print(&t, stdout);
	bx_table_free(&t);
}

static int list(struct bx_cli *cli)
{
	return bx_cli_show(cli, "invite", "GET", "/v1/invites", NULL, show_invites);
}

static int revoke(struct bx_cli *cli, const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 || strspn(id, "0123456789abcdef") != n) {
		fprintf(stderr,
			"blixard invite: '%s' is not an invite id (see 'blixard invite "
			"list')\n",
			id);
		return BX_EXIT_USAGE;
	}
	return bx_cli_revoke(cli, "invite", "/v1/invites/", id);
}

int bx_cmd_invite(struct bx_cli *cli, int argc, char **argv)
{
	static const struct bx_cli_credential_verbs verbs = {create, list, revoke};

	return bx_cli_credential_verb(cli, argc, argv, usage, &verbs);
}
