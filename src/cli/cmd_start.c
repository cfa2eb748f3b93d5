/* cmd_start.c - `blixard start`: create or update a service from a TOML spec, or start
 * one. */
#include "src/base/error.h"
#include "src/cli/cli.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_wait.h"
#include "src/model/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 *   blixard start web.toml              the name comes from the file
 *   blixard start web --config web.toml the name is given (the file may omit it)
 *   blixard start web                   start an existing, stopped service
 *
 * Then it waits until every instance runs, and is healthy when the spec has
 * [health] checks, or one fails; unless --detach.
 */

static const char usage[] =
    "usage: blixard start FILE.toml | NAME [--config FILE.toml] [--detach] "
    "[--timeout SECS]\n"
    "  Create or update the service a spec file describes and start it, or start\n"
    "  an existing, stopped service. Then wait until every instance runs (and is\n"
    "  healthy, when the spec has [health] checks) or one fails; on a terminal,\n"
    "  show its progress: placed, booting, running, healthy.\n"
    "  --config FILE    the spec, for a service named on the command line\n"
    "  -d, --detach     return once the change is committed (alias --no-wait)\n"
    "  --timeout SECS   give up waiting after SECS seconds (default 120)\n";

static bool is_file_arg(const char *a)
{
	size_t n = strlen(a);
	return strchr(a, '/') != NULL || (n > 5 && strcmp(a + n - 5, ".toml") == 0);
}

/* Read and check the spec; with `name`, that name is the default and must agree. */
static int load(const char *file, const char *name, struct bx_spec *spec)
{
	struct bx_diags diags = {0};
	char *src = NULL;
	size_t len = 0;
	int rv;

	if (name == NULL) {
		rv = bx_spec_load_file(file, spec, &diags);
	} else {
		FILE *f = fopen(file, "r");
		if (f == NULL) {
			fprintf(stderr, "blixard start: cannot open '%s': %s\n", file,
				strerror(errno));
			return BX_EXIT_ERROR;
		}
		FILE *mem = open_memstream(&src, &len);
		char chunk[8192];
		size_t n;
		while (mem != NULL && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
			fwrite(chunk, 1, n, mem);
		bool failed = ferror(f) || mem == NULL;
		fclose(f);
		if (mem != NULL)
			fclose(mem);
		if (failed) {
			fprintf(stderr, "blixard start: cannot read '%s'\n", file);
			free(src);
			return BX_EXIT_ERROR;
		}
		rv = bx_spec_parse_toml(file, src, len, name, spec, &diags);
		free(src);
	}
	for (size_t i = 0; i < diags.len; i++)
		fprintf(stderr, "%s\n", diags.items[i]);
	bx_diags_free(&diags);
	if (rv != 0) {
		fprintf(stderr, "blixard start: '%s' is not a valid service spec\n",
			file);
		return BX_EXIT_ERROR;
	}
	if (name != NULL && strcmp(spec->name, name) != 0) {
		fprintf(stderr, "blixard start: '%s' names service '%s', not '%s'\n",
			file, spec->name, name);
		return BX_EXIT_ERROR;
	}
	return BX_EXIT_OK;
}

int bx_cmd_start(struct bx_cli *cli, int argc, char **argv)
{
	const char *name = NULL, *file = NULL;
	bool wait = true;
	long timeout_ms = 120000;
	struct bx_cli_reply r;
	char path[128], spec_name[BX_KEY_MAX + 1];
	double mark;
	int rv, opt;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return BX_EXIT_OK;
		} else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
			file = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			file = a + 9;
		} else if ((opt = bx_cli_wait_option("start", argc, argv, &i, &wait,
						     &timeout_ms)) != 0) {
			if (opt < 0)
				return BX_EXIT_USAGE;
		} else if (a[0] == '-') {
			fprintf(stderr, "blixard start: unknown option '%s'\n%s", a,
				usage);
			return BX_EXIT_USAGE;
		} else if (name == NULL) {
			name = a;
		} else {
			fprintf(stderr, "blixard start: unexpected argument '%s'\n%s", a,
				usage);
			return BX_EXIT_USAGE;
		}
	}
	if (name == NULL) {
		fprintf(stderr,
			"blixard start: a service name or spec file is required\n%s",
			usage);
		return BX_EXIT_USAGE;
	}
	if (file == NULL && is_file_arg(name)) {
		file = name;
		name = NULL;
	}

	if (file != NULL) {
		struct bx_spec spec;
		cJSON *body;

		if (name != NULL && (rv = bx_cli_check_name("start", name)) != 0)
			return rv;
		bx_spec_init(&spec);
		rv = load(file, name, &spec);
		if (rv != 0) {
			bx_spec_free(&spec);
			return rv;
		}
		body = cJSON_CreateObject();
		cJSON_AddItemToObject(body, "spec", bx_spec_to_json(&spec));
		cJSON_AddBoolToObject(body, "start", true);
		snprintf(path, sizeof path, "/v1/services/%s", spec.name);
		mark = wait ? bx_cli_event_mark(cli) : -1;
		rv = bx_cli_request(cli, "start", "PUT", path, body, &r);
		cJSON_Delete(body);
		snprintf(spec_name, sizeof spec_name, "%s", spec.name);
		name = spec_name;
		bx_spec_free(&spec);
		if (rv != 0)
			return rv;
	} else {
		if ((rv = bx_cli_check_name("start", name)) != 0)
			return rv;
		snprintf(path, sizeof path, "/v1/services/%s/start", name);
		mark = wait ? bx_cli_event_mark(cli) : -1;
		rv = bx_cli_request(cli, "start", "POST", path, NULL, &r);
		if (rv != 0)
			return rv;
	}
	return bx_cli_after_change(cli, "start", name, &r, wait, true, timeout_ms,
				   "submitted", mark);
}
