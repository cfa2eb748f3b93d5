/* cli_wait.c - waiting from the CLI for a service to reach a state, with progress. */
#include "cli_wait.h"

#include "cli_http.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 100

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static long num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

long bx_cli_parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > 86400)
		return -1;
	return (long)(v * 1000);
}

int bx_cli_wait_service(const struct bx_cli *cli, const char *verb, const char *name,
			bool want_running, long timeout_ms)
{
	char path[128], errmsg[BX_ERRMSG_SIZE], last[32] = "";
	bool tty = isatty(STDERR_FILENO);
	long start = now_ms();

	snprintf(path, sizeof path, "/v1/services/%s", name);
	for (;;) {
		struct bx_cli_reply r;
		const char *state;
		long elapsed = now_ms() - start;

		if (bx_cli_call(cli, NULL, "GET", path, NULL, 5000, &r, errmsg) == 0 &&
		    r.status == 200) {
			state = str(r.json, "state");
			if (tty && strcmp(state, last) != 0)
				fprintf(stderr, "  %s: %s (%.1fs)\n", name, state,
					(double)elapsed / 1000);
			snprintf(last, sizeof last, "%s", state);
			if (want_running && strcmp(state, "running") == 0) {
				if (!cli->json)
					printf("service '%s' is running on node %ld (pid "
					       "%ld)\n",
					       name, num(r.json, "node"),
					       num(r.json, "pid"));
				bx_cli_reply_free(&r);
				return BX_EXIT_OK;
			}
			if (want_running && strcmp(state, "failed") == 0) {
				fprintf(stderr, "blixard %s: service '%s' failed: %s\n",
					verb, name,
					str(r.json, "reason")[0] ? str(r.json, "reason")
								 : "no reason given");
				bx_cli_reply_free(&r);
				return BX_EXIT_ERROR;
			}
			if (!want_running && strcmp(state, "running") != 0 &&
			    strcmp(state, "starting") != 0 &&
			    !(strcmp(state, "pending") == 0 &&
			      num(r.json, "node") != 0)) {
				if (!cli->json)
					printf("service '%s' is %s\n", name, state);
				bx_cli_reply_free(&r);
				return BX_EXIT_OK;
			}
		} else if (r.status == 404) {
			fprintf(stderr, "blixard %s: service '%s' is gone\n", verb, name);
			bx_cli_reply_free(&r);
			return BX_EXIT_ERROR;
		}
		bx_cli_reply_free(&r);
		if (elapsed >= timeout_ms) {
			fprintf(stderr,
				"blixard %s: service '%s' is still '%s' after %.0f s "
				"(see 'blixard "
				"status %s')\n",
				verb, name, last[0] ? last : "unknown",
				(double)timeout_ms / 1000, name);
			return BX_EXIT_ERROR;
		}
		usleep(POLL_MS * 1000);
	}
}

int bx_cli_wait_option(const char *verb, int argc, char **argv, int *i, bool *wait,
		       long *timeout_ms)
{
	const char *a = argv[*i];

	if (strcmp(a, "--no-wait") == 0) {
		*wait = false;
		return 1;
	}
	if (strcmp(a, "--timeout") != 0)
		return 0;
	if (*i + 1 >= argc || (*timeout_ms = bx_cli_parse_seconds(argv[*i + 1])) < 0) {
		fprintf(stderr, "blixard %s: --timeout takes seconds > 0, got '%s'\n",
			verb, *i + 1 < argc ? argv[*i + 1] : "");
		return -1;
	}
	(*i)++;
	return 1;
}

int bx_cli_after_change(const struct bx_cli *cli, const char *verb, const char *name,
			struct bx_cli_reply *reply, bool wait, bool want_running,
			long timeout_ms, const char *submitted)
{
	if (cli->json)
		bx_cli_print_json(reply->json);
	bx_cli_reply_free(reply);
	if (!wait) {
		if (!cli->json)
			printf("service '%s' %s\n", name, submitted);
		return BX_EXIT_OK;
	}
	return bx_cli_wait_service(cli, verb, name, want_running, timeout_ms);
}
