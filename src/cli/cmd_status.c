/* cmd_status.c - `blixard status [NAME]`: the cluster at a glance, or one service in
 * full. */
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_table.h"

#include <stdio.h>
#include <string.h>

#define STATUS_EVENTS 8

static const char usage[] = "usage: blixard [--json] status [NAME | NAME@I]\n"
			    "  NAME@I: instance I of a service with count > 1\n";

static int cluster_status(struct bx_cli *cli)
{
	struct bx_cli_reply cl, sv;
	const cJSON *leader, *m;
	char buf[32];
	int rv = bx_cli_request(cli, "status", "GET", "/v1/cluster", NULL, &cl);

	if (rv != 0)
		return rv;
	rv = bx_cli_request(cli, "status", "GET", "/v1/services", NULL, &sv);
	if (rv != 0) {
		bx_cli_reply_free(&cl);
		return rv;
	}
	if (cli->json) {
		cJSON *out = cJSON_CreateObject();
		cJSON_AddItemReferenceToObject(out, "cluster", cl.json);
		cJSON_AddItemReferenceToObject(out, "services", sv.json);
		bx_cli_print_json(out);
		cJSON_Delete(out);
		goto done;
	}
	leader = cJSON_GetObjectItemCaseSensitive(cl.json, "leader");
	printf("cluster:  %s\n", bx_fmt_str(cl.json, "cluster_id")[0]
				     ? bx_fmt_str(cl.json, "cluster_id")
				     : "(not part of a cluster yet)");
	printf("node:     %s\n", bx_fmt_num(cl.json, "node_id", buf, sizeof buf, 0));
	if (cJSON_IsObject(leader))
		printf("leader:   node %s at %s\n",
		       bx_fmt_num(leader, "id", buf, sizeof buf, 0),
		       bx_fmt_str(leader, "api"));
	else
		printf("leader:   none (no quorum?)\n");
	printf("term:     %s\n", bx_fmt_num(cl.json, "term", buf, sizeof buf, 0));
	printf("applied:  %s\n\n",
	       bx_fmt_num(cl.json, "applied_index", buf, sizeof buf, 0));
	{
		static const char *const header[] = {"ID", "NAME", "ROLE", "API", "RAFT"};
		struct bx_table t;
		bx_table_init(&t, 5, header);
		cJSON_ArrayForEach(m,
				   cJSON_GetObjectItemCaseSensitive(cl.json, "members"))
		{
			char id[24];
			const char *row[] = {bx_fmt_num(m, "id", id, sizeof id, 0),
					     bx_fmt_str(m, "name"), bx_fmt_str(m, "role"),
					     bx_fmt_str(m, "api"), bx_fmt_str(m, "raft")};
			bx_table_row(&t, row);
		}
		bx_table_print(&t, stdout);
		bx_table_free(&t);
	}
	printf("\n");
	if (cJSON_GetArraySize(sv.json) == 0)
		printf("no services\n");
	else
		bx_cli_print_services(sv.json, stdout);
done:
	bx_cli_reply_free(&cl);
	bx_cli_reply_free(&sv);
	return BX_EXIT_OK;
}

/*
 * What the node running the service says of its instance (GET
 * /v1/services/NAME/vm, passed there: phase, pid, the hypervisor's status), or
 * NULL when it runs nowhere or that node cannot be asked.
 */
static cJSON *instance_of(struct bx_cli *cli, const char *name, const cJSON *record)
{
	struct bx_cli_reply r;
	char path[128], errmsg[512];
	cJSON *out = NULL;

	if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(record, "node")) == 0)
		return NULL;
	/* the daemon asked passes it to the node running it */
	snprintf(path, sizeof path, "/v1/services/%s/vm", name);
	if (bx_cli_call(cli, NULL, "GET", path, NULL, 10000, &r, errmsg) != 0)
		return NULL;
	if (r.status == 200 && cJSON_IsObject(r.json)) {
		out = r.json;
		r.json = NULL;
	}
	bx_cli_reply_free(&r);
	return out;
}

/* count > 1: one line per instance (the lines above are the first's). */
static void print_instances(const cJSON *instances)
{
	static const char *const header[] = {"INSTANCE", "NODE",  "STATE", "HEALTH",
					     "RESTARTS", "SINCE", "REASON"};
	const cJSON *e;
	struct bx_table t;
	int running = 0;

	if (cJSON_GetArraySize(instances) < 2)
		return;
	cJSON_ArrayForEach(e, instances) running +=
	    strcmp(bx_fmt_str(e, "state"), "running") == 0;
	printf("\ninstances:  %d, %d running\n", cJSON_GetArraySize(instances), running);
	bx_table_init(&t, 7, header);
	cJSON_ArrayForEach(e, instances)
	{
		char node[24], restarts[24], since[32];
		const char *row[] = {
		    bx_fmt_str(e, "name"),
		    bx_fmt_num(e, "node", node, sizeof node, 1),
		    bx_fmt_str(e, "state"),
		    bx_fmt_str(e, "health")[0] ? bx_fmt_str(e, "health") : "-",
		    bx_fmt_num(e, "restarts", restarts, sizeof restarts, 0),
		    bx_fmt_age(e, "state_at", since, sizeof since),
		    bx_fmt_str(e, "reason")};
		bx_table_row(&t, row);
	}
	bx_table_print(&t, stdout);
	bx_table_free(&t);
}

/* The service's last STATUS_EVENTS events (of every instance) as its "events";
 * none when they cannot be read (an older daemon). */
static void add_events(struct bx_cli *cli, const char *key, cJSON *record)
{
	struct bx_cli_reply r;
	char path[160], errmsg[512];
	const char *name =
	    bx_fmt_str(record, "service")[0] ? bx_fmt_str(record, "service") : key;
	cJSON *events;

	snprintf(path, sizeof path, "/v1/events?service=%s&limit=%d", name,
		 STATUS_EVENTS);
	if (bx_cli_call(cli, NULL, "GET", path, NULL, 10000, &r, errmsg) != 0)
		return;
	events = cJSON_DetachItemFromObjectCaseSensitive(r.json, "events");
	if (r.status == 200 && cJSON_IsArray(events))
		cJSON_AddItemToObject(record, "events", events);
	else
		cJSON_Delete(events);
	bx_cli_reply_free(&r);
}

static int service_status(struct bx_cli *cli, const char *name)
{
	struct bx_cli_reply r;
	char path[128], buf[32];
	const cJSON *svc, *hv;
	cJSON *instance;
	int rv;

	if ((rv = bx_cli_check_key("status", name)) != 0)
		return rv;
	snprintf(path, sizeof path, "/v1/services/%s", name);
	rv = bx_cli_request(cli, "status", "GET", path, NULL, &r);
	if (rv != 0)
		return rv;
	instance = instance_of(cli, name, r.json);
	if (instance != NULL)
		cJSON_AddItemToObject(r.json, "instance", instance);
	add_events(cli, name, r.json);
	if (cli->json) {
		bx_cli_print_json(r.json);
		bx_cli_reply_free(&r);
		return BX_EXIT_OK;
	}
	svc = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r.json, "spec"), "service");
	printf("service:    %s\n", bx_fmt_str(r.json, "name"));
	printf("driver:     %s\n", bx_fmt_str(svc, "driver"));
	printf("desired:    %s\n", bx_fmt_str(r.json, "desired"));
	printf("state:      %s", bx_fmt_str(r.json, "state"));
	if (bx_fmt_str(r.json, "reason")[0])
		printf(" (%s)", bx_fmt_str(r.json, "reason"));
	printf("\nhealth:     %s\n",
	       bx_fmt_str(r.json, "health")[0] ? bx_fmt_str(r.json, "health") : "-");
	printf("node:       %s\n", bx_fmt_num(r.json, "node", buf, sizeof buf, 1));
	printf("pid:        %s\n", bx_fmt_num(r.json, "pid", buf, sizeof buf, 1));
	printf("generation: %s\n", bx_fmt_num(r.json, "generation", buf, sizeof buf, 0));
	printf("restarts:   %s\n", bx_fmt_num(r.json, "restarts", buf, sizeof buf, 0));
	printf("since:      %s\n", bx_fmt_age(r.json, "state_at", buf, sizeof buf));
	printf("memory:     %s MiB\n", bx_fmt_num(svc, "memory_mb", buf, sizeof buf, 0));
	printf("vcpus:      %s\n", bx_fmt_num(svc, "vcpus", buf, sizeof buf, 0));
	instance = cJSON_GetObjectItemCaseSensitive(r.json, "instance");
	hv = cJSON_GetObjectItemCaseSensitive(instance, "hypervisor");
	if (hv != NULL)
		printf("hypervisor: %s\n", bx_fmt_str(hv, "status"));
	else if (bx_fmt_str(instance, "hypervisor_error")[0] != '\0')
		printf("hypervisor: unknown (%s)\n",
		       bx_fmt_str(instance, "hypervisor_error"));
	if (instance != NULL)
		printf("run dir:    %s\n", bx_fmt_str(instance, "run_dir"));
	print_instances(cJSON_GetObjectItemCaseSensitive(r.json, "instances"));
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "events")) > 0) {
		printf("\nlast events:\n");
		bx_cli_print_events(cJSON_GetObjectItemCaseSensitive(r.json, "events"),
				    stdout);
	}
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

int bx_cmd_status(struct bx_cli *cli, int argc, char **argv)
{
	const char *name = NULL;

	for (int i = 1; i < argc; i++) {
		int opt = bx_cli_read_option(cli, argv[i], usage);
		if (opt == BX_OPT_HELP)
			return BX_EXIT_OK;
		if (opt == BX_OPT_TAKEN)
			continue;
		if (argv[i][0] == '-' || name != NULL) {
			fprintf(stderr, "blixard status: unexpected argument '%s'\n%s",
				argv[i], usage);
			return BX_EXIT_USAGE;
		} else {
			name = argv[i];
		}
	}
	return name ? service_status(cli, name) : cluster_status(cli);
}
