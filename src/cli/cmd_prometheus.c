/* cmd_prometheus.c - `blixard prometheus targets`: Prometheus' file_sd targets for
 * every node, printed once or kept up to date in a file. */
#include "src/base/error.h"
#include "src/cli/cli.h"
#include "src/cli/cli_http.h"
#include "src/cli/cli_wait.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: blixard prometheus targets [--watch FILE] [--interval SECS]\n"
    "  Every node's /metrics as a Prometheus file_sd target list (JSON), each\n"
    "  labelled with node, node_name and cluster, and the exporter of every running\n"
    "  instance whose spec has [metrics] port (labelled service, service_instance).\n"
    "  Printed once, or with --watch written to FILE and rewritten (atomically: a\n"
    "  new file renamed over it) whenever the list changes, checked every\n"
    "  --interval seconds (default 5), until interrupted. Point file_sd_configs at\n"
    "  FILE.\n";

#define DEFAULT_INTERVAL_MS 5000

/* The target list, or NULL (the error is printed). */
static cJSON *fetch(struct bx_cli *cli)
{
	struct bx_cli_reply r;
	cJSON *list;

	if (bx_cli_request(cli, "prometheus", "GET", "/v1/prometheus/targets", NULL,
			   &r) != 0)
		return NULL;
	list = r.json;
	r.json = NULL;
	bx_cli_reply_free(&r);
	return list;
}

/* Write `text` to `path` through PATH.tmp and rename: a reader (Prometheus)
 * sees the old file or the new one, never half of one. */
static bool write_atomically(const char *path, const char *tmp, const char *text)
{
	FILE *f = fopen(tmp, "w");
	bool ok = f != NULL;

	if (ok) {
		ok = fprintf(f, "%s\n", text) >= 0;
		ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
		ok = fclose(f) == 0 && ok;
	}
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "blixard prometheus: cannot write '%s': %s\n", path,
			strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

/* Rewrite `path` whenever the list changes; runs until killed. A daemon that
 * cannot be reached is reported and asked again next round: the file keeps
 * the last list meanwhile. */
static int watch(struct bx_cli *cli, const char *path, long interval_ms)
{
	char tmp[4096], *last = NULL;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
		fprintf(stderr, "blixard prometheus: path too long: '%s'\n", path);
		return BX_EXIT_USAGE;
	}
	for (;;) {
		cJSON *list = fetch(cli);
		char *text = list != NULL ? cJSON_Print(list) : NULL;
		if (text != NULL && (last == NULL || strcmp(text, last) != 0) &&
		    write_atomically(path, tmp, text)) {
			fprintf(stderr, "blixard prometheus: wrote %s: %d targets\n",
				path, cJSON_GetArraySize(list));
			free(last);
			last = text;
			text = NULL;
		}
		free(text);
		cJSON_Delete(list);
		usleep((useconds_t)interval_ms * 1000);
	}
}

int bx_cmd_prometheus(struct bx_cli *cli, int argc, char **argv)
{
	const char *file = NULL;
	long interval_ms = DEFAULT_INTERVAL_MS;
	cJSON *list;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? BX_EXIT_USAGE : BX_EXIT_OK;
	}
	if (strcmp(argv[1], "targets") != 0) {
		fprintf(stderr, "blixard prometheus: unknown command '%s'\n%s", argv[1],
			usage);
		return BX_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc) {
			file = argv[++i];
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			interval_ms = bx_cli_parse_seconds(argv[++i]);
			if (interval_ms < 100) {
				fprintf(stderr,
					"blixard prometheus: --interval takes seconds, "
					"0.1 to "
					"86400, got '%s'\n",
					argv[i]);
				return BX_EXIT_USAGE;
			}
		} else {
			fprintf(stderr,
				"blixard prometheus: unexpected argument '%s'\n%s",
				argv[i], usage);
			return BX_EXIT_USAGE;
		}
	}
	if (file != NULL)
		return watch(cli, file, interval_ms);
	list = fetch(cli);
	if (list == NULL)
		return BX_EXIT_ERROR;
	bx_cli_print_json(list);
	cJSON_Delete(list);
	return BX_EXIT_OK;
}
