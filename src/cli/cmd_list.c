/* cmd_list.c - `blixard list`: every service with its desired and observed state. */
#include "src/cli/cli.h"
#include "src/cli/cli_fmt.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_table.h"

#include <stdio.h>
#include <string.h>

static const char usage[] = "usage: blixard [--json] list\n";

void bx_cli_print_services(const cJSON *services, FILE *out)
{
	static const char *const header[] = {"NAME",     "DRIVER", "DESIRED", "STATE",
					     "HEALTH",   "NODE",   "PID",     "GEN",
					     "RESTARTS", "SINCE",  "REASON"};
	struct bx_table t;
	const cJSON *s;

	bx_table_init(&t, 11, header);
	cJSON_ArrayForEach(s, services)
	{
		char node[24], pid[24], gen[24], restarts[24], since[24];
		const cJSON *svc = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(s, "spec"), "service");
		const char *row[] = {
		    bx_fmt_str(s, "name"),
		    bx_fmt_str(svc, "driver"),
		    bx_fmt_str(s, "desired"),
		    bx_fmt_str(s, "state"),
		    bx_fmt_str(s, "health")[0] ? bx_fmt_str(s, "health") : "-",
		    bx_fmt_num(s, "node", node, sizeof node, 1),
		    bx_fmt_num(s, "pid", pid, sizeof pid, 1),
		    bx_fmt_num(s, "generation", gen, sizeof gen, 0),
		    bx_fmt_num(s, "restarts", restarts, sizeof restarts, 0),
		    bx_fmt_age(
			s, cJSON_HasObjectItem(s, "state_at") ? "state_at" : "updated_at",
			since, sizeof since),
		    bx_fmt_str(s, "reason"),
		};
		bx_table_row(&t, row);
	}
	bx_table_print(&t, out);
	bx_table_free(&t);
}

static void show_services(const cJSON *services)
{
	if (cJSON_GetArraySize(services) == 0)
		printf("no services (create one with 'blixard start FILE.toml')\n");
	else
		bx_cli_print_services(services, stdout);
}

int bx_cmd_list(struct bx_cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int opt = bx_cli_read_option(cli, argv[i], usage);
		if (opt == BX_OPT_HELP)
			return BX_EXIT_OK;
		if (opt == BX_OPT_TAKEN)
			continue;
		{
			fprintf(stderr, "blixard list: unexpected argument '%s'\n%s",
				argv[i], usage);
			return BX_EXIT_USAGE;
		}
	}
	return bx_cli_show(cli, "list", "GET", "/v1/services", NULL, show_services);
}
