/* cmd_nodes.c - `blixard nodes`: the cluster's nodes; drain one, make it eligible,
 * remove a dead one. */
#include "src/base/error.h"
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_table.h"
#include "src/cli/cli_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: blixard [--json] nodes [list]\n"
    "       blixard nodes drain ID [--detach] [--timeout SECS]\n"
    "       blixard nodes eligible ID\n"
    "       blixard nodes remove ID\n"
    "\n"
    "drain: the node takes no new services and each of its services moves to\n"
    "another node, stopped there before it starts elsewhere; waits (default 300 s)\n"
    "until none is left on it. eligible: it takes services again.\n";

#define DRAIN_TIMEOUT_MS 300000
#define DRAIN_POLL_MS 250

/* "USED/OFFERED" of memory_mb or vcpus ("USED/-" where it sets no limit). */
static void amounts(const cJSON *node, const char *key, char *buf, size_t size)
{
	char used_key[32];
	double have = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(node, key));
	double used;

	snprintf(used_key, sizeof used_key, "used_%s", key);
	used = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(node, used_key));
	if (have > 0)
		snprintf(buf, size, "%.0f/%.0f", used > 0 ? used : 0, have);
	else
		snprintf(buf, size, "%.0f/-", used > 0 ? used : 0);
}

static void show_nodes(const cJSON *nodes)
{
	static const char *const header[] = {"ID",     "NAME",     "ROLE",   "STATUS",
					     "HEARD",  "SERVICES", "MEMORY", "VCPUS",
					     "LABELS", "API"};
	struct bx_table t;
	const cJSON *n;

	bx_table_init(&t, 10, header);
	cJSON_ArrayForEach(n, nodes)
	{
		char id[24], svcs[24], heard[32] = "-", mem[48], cpu[48],
				       labels[256] = "";
		const cJSON *l;
		size_t used = 0;
		const cJSON *age =
		    cJSON_GetObjectItemCaseSensitive(n, "heartbeat_age_ms");
		/* how long ago the leader heard it: only the leader knows */
		if (cJSON_IsNumber(age))
			snprintf(heard, sizeof heard, "%.1fs ago",
				 age->valuedouble / 1000.0);
		amounts(n, "memory_mb", mem, sizeof mem);
		amounts(n, "vcpus", cpu, sizeof cpu);
		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(n, "labels"))
		{
			if (cJSON_IsString(l) && used < sizeof labels)
				used += (size_t)snprintf(
				    labels + used, sizeof labels - used, "%s%s=%s",
				    used ? "," : "", l->string, l->valuestring);
		}
		const char *status = bx_fmt_str(n, "status");
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "draining")))
			status = strcmp(status, "up") == 0 ? "draining" : status;
		const char *row[] = {bx_fmt_num(n, "id", id, sizeof id, 0),
				     bx_fmt_str(n, "name"),
				     bx_fmt_str(n, "role"),
				     status,
				     heard,
				     bx_fmt_num(n, "services", svcs, sizeof svcs, 0),
				     mem,
				     cpu,
				     labels[0] ? labels : "-",
				     bx_fmt_str(n, "api")};
		bx_table_row(&t, row);
	}
	bx_table_print(&t, stdout);
	bx_table_free(&t);
}

static int list(struct bx_cli *cli)
{
	return bx_cli_show(cli, "nodes", "GET", "/v1/nodes", NULL, show_nodes);
}

/* A node id argument; 0 (after a usage message) if it is not one. */
static unsigned long long node_id(const char *verb, const char *arg)
{
	char *end;
	unsigned long long id = strtoull(arg, &end, 10);

	if (arg[0] == '\0' || *end != '\0' || id == 0 || arg[0] == '-') {
		fprintf(stderr,
			"blixard nodes %s: '%s' is not a node id (a number >= 1)\n", verb,
			arg);
		return 0;
	}
	return id;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Services still on node `id` that should run (desired "running"); with
 * `why`, print each and its reason to stderr. -1 if the list is unreadable. */
static int left_on(const struct bx_cli *cli, unsigned long long id, bool why)
{
	struct bx_cli_reply r;
	char errmsg[BX_ERRMSG_SIZE];
	const cJSON *s;
	int n = 0;

	if (bx_cli_call(cli, NULL, "GET", "/v1/services", NULL, 5000, &r, errmsg) != 0 ||
	    r.status != 200 || !cJSON_IsArray(r.json)) {
		bx_cli_reply_free(&r);
		return -1;
	}
	cJSON_ArrayForEach(s, r.json)
	{
		if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "node")) !=
			(double)id ||
		    strcmp(bx_fmt_str(s, "desired"), "running") != 0)
			continue;
		n++;
		if (why)
			fprintf(stderr, "  %s: %s%s%s\n", bx_fmt_str(s, "name"),
				bx_fmt_str(s, "state"),
				bx_fmt_str(s, "reason")[0] ? " - " : "",
				bx_fmt_str(s, "reason"));
	}
	bx_cli_reply_free(&r);
	return n;
}

/* After a drain was recorded: wait until no service that should run is left. */
static int wait_drained(const struct bx_cli *cli, unsigned long long id, long timeout_ms)
{
	bool tty = isatty(STDERR_FILENO);
	long start = now_ms();
	int last = -2;

	for (;;) {
		int left = left_on(cli, id, false);
		long elapsed = now_ms() - start;
		if (left == 0) {
			if (!cli->json)
				printf("node %llu is drained (%.1f s)\n", id,
				       (double)elapsed / 1000);
			return BX_EXIT_OK;
		}
		if (tty && left > 0 && left != last)
			fprintf(stderr, "  node %llu: %d service%s left (%.1fs)\n", id,
				left, left == 1 ? "" : "s", (double)elapsed / 1000);
		last = left;
		if (elapsed >= timeout_ms) {
			fprintf(
			    stderr,
			    "blixard nodes drain: %d service%s still on node %llu after "
			    "%.0f s:\n",
			    left, left == 1 ? "" : "s", id, (double)timeout_ms / 1000);
			left_on(cli, id, true);
			return BX_EXIT_ERROR;
		}
		usleep(DRAIN_POLL_MS * 1000);
	}
}

static int drain(struct bx_cli *cli, int argc, char **argv, bool on)
{
	const char *verb = on ? "drain" : "eligible";
	long timeout_ms = DRAIN_TIMEOUT_MS;
	unsigned long long id = 0;
	struct bx_cli_reply r;
	bool wait = on;
	char path[80];
	int rv;

	for (int i = 0; i < argc; i++) {
		int used = on ? bx_cli_wait_option("nodes drain", argc, argv, &i, &wait,
						   &timeout_ms)
			      : 0;
		if (used < 0)
			return BX_EXIT_USAGE;
		if (used > 0)
			continue;
		if (argv[i][0] == '-' || id != 0) {
			fprintf(stderr, "blixard nodes %s: unexpected argument '%s'\n%s",
				verb, argv[i], usage);
			return BX_EXIT_USAGE;
		}
		if ((id = node_id(verb, argv[i])) == 0)
			return BX_EXIT_USAGE;
	}
	if (id == 0) {
		fprintf(stderr,
			"blixard nodes %s: which node? (an id from 'blixard nodes')\n%s",
			verb, usage);
		return BX_EXIT_USAGE;
	}
	snprintf(path, sizeof path, "/v1/nodes/%llu/%s", id, verb);
	rv = bx_cli_request(cli, on ? "nodes drain" : "nodes eligible", "POST", path,
			    NULL, &r);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	bx_cli_reply_free(&r);
	if (!on) {
		if (!cli->json)
			printf("node %llu is eligible: it takes services again\n", id);
		return BX_EXIT_OK;
	}
	if (!wait) {
		if (!cli->json)
			printf("node %llu is draining: its services are moving away\n",
			       id);
		return BX_EXIT_OK;
	}
	return wait_drained(cli, id, timeout_ms);
}

static int remove_node(struct bx_cli *cli, const char *arg)
{
	struct bx_cli_reply r;
	char path[64];
	unsigned long long id = node_id("remove", arg);
	int rv;

	if (id == 0)
		return BX_EXIT_USAGE;
	snprintf(path, sizeof path, "/v1/nodes/%llu", id);
	rv = bx_cli_request(cli, "nodes remove", "DELETE", path, NULL, &r);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	else
		printf("node %llu removed from the cluster\n", id);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

int bx_cmd_nodes(struct bx_cli *cli, int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		int opt = bx_cli_read_option(cli, argv[i], usage);
		if (opt == BX_OPT_HELP)
			return BX_EXIT_OK;
		if (opt == BX_OPT_TAKEN)
			continue;
		{
			fprintf(stderr, "blixard nodes: unknown option '%s'\n%s", argv[i],
				usage);
			return BX_EXIT_USAGE;
		}
	}
	if (i == argc || (strcmp(argv[i], "list") == 0 && i + 1 == argc))
		return list(cli);
	if (strcmp(argv[i], "remove") == 0 && i + 2 == argc)
		return remove_node(cli, argv[i + 1]);
	if (strcmp(argv[i], "drain") == 0 || strcmp(argv[i], "eligible") == 0)
		return drain(cli, argc - i - 1, argv + i + 1,
			     strcmp(argv[i], "drain") == 0);
	fprintf(stderr, "blixard nodes: unexpected arguments\n%s", usage);
	return BX_EXIT_USAGE;
}
