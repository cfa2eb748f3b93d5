/* cmd_validate.c - `blixard validate FILE…`: check spec files (or a daemon config)
 * without a cluster. */
#include "src/cli/cli.h"
#include "src/model/config.h"
#include "src/model/spec.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: blixard [--json] validate FILE.toml...\n"
    "       blixard [--json] validate --config FILE.toml   (a daemon config)\n";

/* Check a daemon config file: the same loader the daemon uses, with no flags. */
static int check_config(const char *file, struct bx_diags *diags)
{
	struct bx_config cfg;
	char *argv[] = {"--config", (char *)file, NULL};
	char *envp[] = {NULL};
	bool help;
	int rv;

	bx_config_init(&cfg);
	rv = bx_config_load(&cfg, 2, argv, envp, &help, diags);
	bx_config_free(&cfg);
	return rv;
}

int bx_cmd_validate(struct bx_cli *cli, int argc, char **argv)
{
	bool config = false;
	int files = 0, bad = 0;
	cJSON *out = cli->json ? cJSON_CreateArray() : NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			cJSON_Delete(out);
			return BX_EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0 && out == NULL) {
			cli->json = true;
			out = cJSON_CreateArray();
		}
	}
	for (int i = 1; i < argc; i++) {
		struct bx_diags diags = {0};
		struct bx_spec spec;
		int rv;

		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--config") == 0) {
			config = true;
			continue;
		}
		if (argv[i][0] == '-') {
			fprintf(stderr, "blixard validate: unknown option '%s'\n%s",
				argv[i], usage);
			cJSON_Delete(out);
			return BX_EXIT_USAGE;
		}
		files++;
		if (config) {
			rv = check_config(argv[i], &diags);
		} else {
			bx_spec_init(&spec);
			rv = bx_spec_load_file(argv[i], &spec, &diags);
			bx_spec_free(&spec);
		}
		if (rv != 0)
			bad++;
		if (out != NULL) {
			cJSON *r = cJSON_CreateObject();
			cJSON *errs = cJSON_CreateArray();
			cJSON_AddStringToObject(r, "file", argv[i]);
			cJSON_AddBoolToObject(r, "ok", rv == 0);
			for (size_t k = 0; k < diags.len; k++)
				cJSON_AddItemToArray(errs,
						     cJSON_CreateString(diags.items[k]));
			cJSON_AddItemToObject(r, "errors", errs);
			cJSON_AddItemToArray(out, r);
		} else if (rv == 0) {
			printf("%s: ok\n", argv[i]);
		} else {
			for (size_t k = 0; k < diags.len; k++)
				fprintf(stderr, "%s\n", diags.items[k]);
		}
		bx_diags_free(&diags);
	}
	if (files == 0) {
		fprintf(stderr, "blixard validate: no files given\n%s", usage);
		cJSON_Delete(out);
		return BX_EXIT_USAGE;
	}
	if (out != NULL) {
		char *s = cJSON_Print(out);
		puts(s);
		cJSON_free(s);
		cJSON_Delete(out);
	}
	return bad ? BX_EXIT_ERROR : BX_EXIT_OK;
}
