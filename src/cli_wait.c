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

/* An instance no longer running nor about to (what a stop waits for). */
static bool at_rest(const cJSON *inst)
{
	const char *state = str(inst, "state");

	return strcmp(state, "running") != 0 && strcmp(state, "starting") != 0 &&
	       !(strcmp(state, "pending") == 0 && num(inst, "node") != 0);
}

/*
 * Where a service stands: its instances (the record alone, or its
 * "instances" for count > 1) counted as running, at rest, and failed (the
 * first such in `failed`); `label` is what to show: the state, or
 * "2/3 running".
 */
struct standing {
	int n, running, resting;
	const cJSON *failed;
	char label[40];
};

static void count_one(struct standing *st, const cJSON *inst)
{
	st->n++;
	st->running += strcmp(str(inst, "state"), "running") == 0;
	st->resting += at_rest(inst);
	if (st->failed == NULL && strcmp(str(inst, "state"), "failed") == 0)
		st->failed = inst;
}

static void stand(const cJSON *record, struct standing *st)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(record, "instances"), *e;

	memset(st, 0, sizeof *st);
	if (cJSON_GetArraySize(list) < 2) {
		count_one(st, record);
		snprintf(st->label, sizeof st->label, "%s", str(record, "state"));
		return;
	}
	cJSON_ArrayForEach(e, list) count_one(st, e);
	snprintf(st->label, sizeof st->label, "%d/%d running", st->running, st->n);
}

int bx_cli_wait_service(const struct bx_cli *cli, const char *verb, const char *name,
			bool want_running, long timeout_ms)
{
	char path[128], errmsg[BX_ERRMSG_SIZE], last[40] = "";
	bool tty = isatty(STDERR_FILENO);
	long start = now_ms();

	snprintf(path, sizeof path, "/v1/services/%s", name);
	for (;;) {
		struct bx_cli_reply r;
		struct standing st;
		long elapsed = now_ms() - start;

		if (bx_cli_call(cli, NULL, "GET", path, NULL, 5000, &r, errmsg) == 0 &&
		    r.status == 200) {
			stand(r.json, &st);
			if (tty && strcmp(st.label, last) != 0)
				fprintf(stderr, "  %s: %s (%.1fs)\n", name, st.label,
					(double)elapsed / 1000);
			snprintf(last, sizeof last, "%s", st.label);
			if (want_running && st.running == st.n) {
				if (!cli->json && st.n > 1)
					printf("service '%s' is running: %d instances\n",
					       name, st.n);
				else if (!cli->json)
					printf("service '%s' is running on node %ld (pid "
					       "%ld)\n",
					       name, num(r.json, "node"),
					       num(r.json, "pid"));
				bx_cli_reply_free(&r);
				return BX_EXIT_OK;
			}
			if (want_running && st.failed != NULL) {
				fprintf(stderr, "blixard %s: service '%s' failed: %s\n",
					verb, str(st.failed, "name"),
					str(st.failed, "reason")[0]
					    ? str(st.failed, "reason")
					    : "no reason given");
				bx_cli_reply_free(&r);
				return BX_EXIT_ERROR;
			}
			if (!want_running && st.resting == st.n) {
				if (!cli->json)
					printf("service '%s' is %s\n", name,
					       st.n > 1 ? "stopped" : st.label);
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
