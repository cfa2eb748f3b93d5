/* cmd_invite.c - `blixard invite create|list|revoke`: tokens that let a new
 * node join (blixard daemon --join-token TOKEN). */
#include "cli.h"
#include "cli_fmt.h"
#include "cli_http.h"
#include "cli_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void utc(double ms, char *out, size_t size)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&sec, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "-");
}

static int create(struct bx_cli *cli, int argc, char **argv)
{
	cJSON *body = cJSON_CreateObject();
	struct bx_cli_reply r;
	char when[32];
	int rv;

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
	rv = bx_cli_request(cli, "invite", "POST", "/v1/invites", body, &r);
	cJSON_Delete(body);
	if (rv != 0)
		return rv;
	if (cli->json) {
		bx_cli_print_json(r.json);
	} else {
		utc(cJSON_GetNumberValue(
			cJSON_GetObjectItemCaseSensitive(r.json, "expires_at")),
		    when, sizeof when);
		fprintf(stderr,
			"invite %s: %s use(s) as %s, until %s; on the new node:\n",
			bx_fmt_str(r.json, "id"),
			bx_fmt_num(r.json, "uses", (char[24]){0}, 24, 0),
			bx_fmt_str(r.json, "role"), when);
		fprintf(stderr, "  blixard daemon --join-token TOKEN ...\n");
		printf("%s\n", bx_fmt_str(r.json, "token"));
	}
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

static int list(struct bx_cli *cli)
{
	static const char *const header[] = {"ID", "STATE", "USED", "EXPIRES", "CREATED"};
	struct bx_cli_reply r;
	struct bx_table t;
	const cJSON *inv;
	int rv = bx_cli_request(cli, "invite", "GET", "/v1/invites", NULL, &r);

	if (rv != 0)
		return rv;
	if (cli->json) {
		bx_cli_print_json(r.json);
		bx_cli_reply_free(&r);
		return BX_EXIT_OK;
	}
	bx_table_init(&t, 5, header);
	cJSON_ArrayForEach(inv, r.json)
	{
		char used[48], expires[32], created[32], a[24], b[24];
		const char *cells[5];

		snprintf(used, sizeof used, "%s/%s",
			 bx_fmt_num(inv, "used", a, sizeof a, 0),
			 bx_fmt_num(inv, "uses", b, sizeof b, 0));
		utc(cJSON_GetNumberValue(
			cJSON_GetObjectItemCaseSensitive(inv, "expires_at")),
		    expires, sizeof expires);
		utc(cJSON_GetNumberValue(
			cJSON_GetObjectItemCaseSensitive(inv, "created_at")),
		    created, sizeof created);
		cells[0] = bx_fmt_str(inv, "id");
		cells[1] = bx_fmt_str(inv, "state");
		cells[2] = used;
		cells[3] = expires;
		cells[4] = created;
		bx_table_row(&t, cells);
	}
	bx_table_print(&t, stdout);
	bx_table_free(&t);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

static int revoke(struct bx_cli *cli, const char *id)
{
	struct bx_cli_reply r;
	char path[128];
	size_t n = strlen(id);
	int rv;

	if (n == 0 || n > 64 || strspn(id, "0123456789abcdef") != n) {
		fprintf(stderr,
			"blixard invite: '%s' is not an invite id (see 'blixard invite "
			"list')\n",
			id);
		return BX_EXIT_USAGE;
	}
	snprintf(path, sizeof path, "/v1/invites/%s", id);
	rv = bx_cli_request(cli, "invite", "DELETE", path, NULL, &r);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	else
		printf("invite %s revoked\n", id);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

int bx_cmd_invite(struct bx_cli *cli, int argc, char **argv)
{
	char *rest[16];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		int opt = bx_cli_read_option(cli, argv[i], usage);
		if (opt == BX_OPT_HELP)
			return BX_EXIT_OK;
		if (opt == BX_OPT_TAKEN)
			continue;
		if (n == (int)(sizeof rest / sizeof rest[0])) {
			fprintf(stderr, "blixard invite: too many arguments\n%s", usage);
			return BX_EXIT_USAGE;
		}
		rest[n++] = argv[i];
	}
	if (n >= 1 && strcmp(rest[0], "create") == 0)
		return create(cli, n - 1, rest + 1);
	if (n == 1 && strcmp(rest[0], "list") == 0)
		return list(cli);
	if (n == 2 && strcmp(rest[0], "revoke") == 0)
		return revoke(cli, rest[1]);
	fprintf(stderr, "blixard invite: %s\n%s",
		n == 0 ? "create, list or revoke?" : "unexpected arguments", usage);
	return BX_EXIT_USAGE;
}
