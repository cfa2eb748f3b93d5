/* cli_wait.c - waiting from the CLI for a service to reach a state, with progress. */
#include "src/cli/cli_wait.h"

#include "src/base/error.h"
#include "src/cli/cli_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 100
/* A follower answers after the leader applied the change, so its own store
 * may not have the service yet: 404 means gone once seen, or after this. */
#define GONE_MS 5000

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
 * "instances" for count > 1) counted as running, healthy, at rest and failed
 * (the first such in `failed`); `checked`: its spec has [health] checks, so
 * a start waits for healthy; `vm`: a VM driver runs it (so running before
 * healthy is a guest booting); `label` is what to show: the state (with the
 * health while running), or "2/3 running".
 */
struct standing {
	int n, running, healthy, resting;
	bool checked, vm;
	const cJSON *failed;
	const cJSON *waiting; /* the first instance no node can take (its reason says why) */
	char label[48];
};

static void count_one(struct standing *st, const cJSON *inst)
{
	bool running = strcmp(str(inst, "state"), "running") == 0;

	st->n++;
	st->running += running;
	st->healthy += running && strcmp(str(inst, "health"), "healthy") == 0;
	st->resting += at_rest(inst);
	if (st->failed == NULL && strcmp(str(inst, "state"), "failed") == 0)
		st->failed = inst;
	/* to run, on no node, with the scheduler's reason (service.wait) */
	if (st->waiting == NULL && strcmp(str(inst, "desired"), "running") == 0 &&
	    num(inst, "node") == 0 && strcmp(str(inst, "state"), "pending") == 0 &&
	    str(inst, "reason")[0] != '\0')
		st->waiting = inst;
}

static void stand(const cJSON *record, struct standing *st)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(record, "instances"), *e;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(record, "spec");
	const char *check = str(cJSON_GetObjectItemCaseSensitive(spec, "health"), "type");

	memset(st, 0, sizeof *st);
	st->checked = check[0] != '\0' && strcmp(check, "none") != 0;
	st->vm = strcmp(str(cJSON_GetObjectItemCaseSensitive(spec, "service"), "driver"),
			"process") != 0;
	if (cJSON_GetArraySize(list) < 2) {
		count_one(st, record);
		if (st->running && st->checked)
			snprintf(st->label, sizeof st->label, "running, %s",
				 str(record, "health")[0] ? str(record, "health")
							  : "not checked yet");
		else if (strcmp(str(record, "state"), "pending") == 0 &&
			 num(record, "node") != 0)
			snprintf(st->label, sizeof st->label, "placed on node %ld",
				 num(record, "node"));
		else
			snprintf(st->label, sizeof st->label, "%s", str(record, "state"));
		return;
	}
	cJSON_ArrayForEach(e, list) count_one(st, e);
	if (st->checked)
		snprintf(st->label, sizeof st->label, "%d/%d running, %d healthy",
			 st->running, st->n, st->healthy);
	else
		snprintf(st->label, sizeof st->label, "%d/%d running", st->running,
			 st->n);
}

double bx_cli_event_mark(const struct bx_cli *cli)
{
	struct bx_cli_reply r;
	char errmsg[BX_ERRMSG_SIZE];
	double mark = -1;

	if (!isatty(STDERR_FILENO))
		return -1; /* no progress shown: spare the request */
	if (bx_cli_call(cli, NULL, "GET", "/v1/events?limit=1", NULL, 5000, &r, errmsg) ==
		0 &&
	    r.status == 200 &&
	    cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.json, "last")))
		mark = cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(r.json, "last"));
	bx_cli_reply_free(&r);
	return mark;
}

/*
 * How an event reads as a step of progress, "  1.2s  web: placed on node 2":
 * for a service with health checks, running is not the end: a VM's guest is
 * booting, a process starting up, until the first check passes.
 */
static void say_event(const cJSON *ev, const struct standing *st, double elapsed_s)
{
	static const struct {
		const char *type, *step;
		bool node; /* followed by " on node N" */
	} steps[] = {
	    {"scheduled", "placed", true},     {"starting", "booting", true},
	    {"started", "running", true},      {"healthy", "healthy", true},
	    {"moved", "moved", true},          {"waiting", "waiting to be placed", false},
	    {"unscheduled", "unplaced", false}};
	const char *type = str(ev, "type"), *reason = str(ev, "reason");
	const char *who =
	    str(ev, "instance")[0] ? str(ev, "instance") : str(ev, "service");
	char step[96];

	snprintf(step, sizeof step, "%s", type);
	for (char *c = step; *c != '\0'; c++)
		*c = *c == '_' ? ' ' : *c; /* stop_requested: "stop requested" */
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const char *word = steps[i].step;

		if (strcmp(steps[i].type, type) != 0)
			continue;
		if (strcmp(type, "started") == 0 && st->checked)
			word = st->vm ? "booting" : "started";
		if (steps[i].node && num(ev, "node") != 0)
			snprintf(step, sizeof step, "%s on node %ld%s", word,
				 num(ev, "node"),
				 word != steps[i].step ? ", waiting for its health check"
						       : "");
		else
			snprintf(step, sizeof step, "%s", word);
		break;
	}
	fprintf(stderr, "  %5.1fs  %s: %s%s%s\n", elapsed_s, who, step,
		reason[0] ? ": " : "", reason);
}

/* Show the service's events after *seen (advancing it); false if the
 * daemon cannot list them (then the caller shows state changes instead). */
static bool show_events(const struct bx_cli *cli, const char *name,
			const struct standing *st, double *seen, double elapsed_s)
{
	struct bx_cli_reply r;
	char path[192], errmsg[BX_ERRMSG_SIZE];
	const cJSON *events, *ev;
	bool ok;

	snprintf(path, sizeof path, "/v1/events?service=%s&after=%.0f&limit=100", name,
		 *seen);
	ok = bx_cli_call(cli, NULL, "GET", path, NULL, 5000, &r, errmsg) == 0 &&
	     r.status == 200;
	events = cJSON_GetObjectItemCaseSensitive(r.json, "events");
	ok = ok && cJSON_IsArray(events);
	if (ok) {
		cJSON_ArrayForEach(ev, events)
		{
			say_event(ev, st, elapsed_s);
			*seen = cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(ev, "seq"));
		}
		/* fewer than asked for: nothing else of ours up to "last" */
		if (cJSON_GetArraySize(events) < 100)
			*seen = cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(r.json, "last"));
	}
	bx_cli_reply_free(&r);
	fflush(stderr);
	return ok;
}

/* The line that ends a successful wait for running (or healthy). */
static void say_done(const char *name, const cJSON *record, const struct standing *st)
{
	const char *how = st->checked ? "healthy" : "running";

	if (st->n > 1)
		printf("service '%s' is %s: %d instances\n", name, how, st->n);
	else
		printf("service '%s' is %s on node %ld (pid %ld)\n", name, how,
		       num(record, "node"), num(record, "pid"));
}

/* A wait in progress. */
struct waiter {
	const struct bx_cli *cli;
	const char *verb, *name;
	bool want_running, tty, events, seen;
	double mark; /* the newest event shown */
	char last[sizeof((struct standing *)0)->label];
	char waits[200]; /* why it waits for a node, as last said ("": not said) */
	bool waiting;    /* it waits for a node now */
};

/* The service waits for a node: say why, once for each reason, where the
 * event log does not (no terminal, or no events). */
static void say_waiting(struct waiter *w, const struct standing *st)
{
	const char *why;
	bool news;

	w->waiting = st->waiting != NULL;
	if (st->waiting == NULL)
		return;
	why = str(st->waiting, "reason");
	news = strcmp(why, w->waits) != 0;
	snprintf(w->waits, sizeof w->waits, "%s", why);
	if (w->events || !news)
		return;
	fprintf(stderr, "blixard %s: service '%s' waits for a node: %s\n", w->verb,
		str(st->waiting, "name"), why);
	fflush(stderr);
}

/* Whether the service got where the wait wants it: BX_EXIT_OK, BX_EXIT_ERROR
 * (said why), or -1 to go on. */
static int judge(struct waiter *w, const cJSON *record, const struct standing *st)
{
	if (w->want_running && st->running == st->n &&
	    (!st->checked || st->healthy == st->n)) {
		if (!w->cli->json)
			say_done(w->name, record, st);
		return BX_EXIT_OK;
	}
	if (w->want_running && st->failed != NULL) {
		fprintf(stderr, "blixard %s: service '%s' failed: %s\n", w->verb,
			str(st->failed, "name"),
			str(st->failed, "reason")[0] ? str(st->failed, "reason")
						     : "no reason given");
		return BX_EXIT_ERROR;
	}
	if (!w->want_running && st->resting == st->n) {
		if (!w->cli->json)
			printf("service '%s' is %s\n", w->name,
			       st->n > 1 ? "stopped" : str(record, "state"));
		return BX_EXIT_OK;
	}
	return -1;
}

/* One look at the service, showing progress: as judge(). */
static int look(struct waiter *w, const char *path, long elapsed)
{
	struct bx_cli_reply r;
	struct standing st = {0};
	char errmsg[BX_ERRMSG_SIZE];
	int rv = -1;

	/* the record first: the events read after it are at least as new */
	bool got = bx_cli_call(w->cli, NULL, "GET", path, NULL, 5000, &r, errmsg) == 0 &&
		   r.status == 200;
	if (got) {
		w->seen = true;
		stand(r.json, &st);
	}
	if (w->events)
		w->events =
		    show_events(w->cli, w->name, &st, &w->mark, (double)elapsed / 1000);
	if (got) {
		if (w->tty && !w->events && strcmp(st.label, w->last) != 0)
			fprintf(stderr, "  %5.1fs  %s: %s\n", (double)elapsed / 1000,
				w->name, st.label);
		snprintf(w->last, sizeof w->last, "%s", st.label);
		if (w->want_running)
			say_waiting(w, &st);
		rv = judge(w, r.json, &st);
	} else if (r.status == 404 && (w->seen || elapsed > GONE_MS)) {
		fprintf(stderr, "blixard %s: service '%s' is gone\n", w->verb, w->name);
		rv = BX_EXIT_ERROR;
	}
	bx_cli_reply_free(&r);
	return rv;
}

int bx_cli_wait_service(const struct bx_cli *cli, const char *verb, const char *name,
			bool want_running, long timeout_ms, double mark)
{
	struct waiter w = {.cli = cli,
			   .verb = verb,
			   .name = name,
			   .want_running = want_running,
			   .tty = isatty(STDERR_FILENO),
			   .mark = mark};
	char path[128];
	long start = now_ms();

	w.events = w.tty && mark >= 0;
	snprintf(path, sizeof path, "/v1/services/%s", name);
	for (;;) {
		long elapsed = now_ms() - start;
		int rv = look(&w, path, elapsed);

		if (rv >= 0)
			return rv;
		if (elapsed >= timeout_ms && w.waiting) {
			fprintf(stderr,
				"blixard %s: service '%s' still waits for a node after "
				"%.0f s: %s (see 'blixard status %s')\n",
				verb, name, (double)timeout_ms / 1000, w.waits, name);
			return BX_EXIT_ERROR;
		}
		if (elapsed >= timeout_ms) {
			fprintf(stderr,
				"blixard %s: service '%s' is still '%s' after %.0f s "
				"(see 'blixard status %s')\n",
				verb, name, w.last[0] ? w.last : "unknown",
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

	if (strcmp(a, "--detach") == 0 || strcmp(a, "-d") == 0 ||
	    strcmp(a, "--no-wait") == 0) {
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

/*
 * --detach: no wait for running, but the scheduler decides within a
 * fraction of a second: if no node can take the service, say why now rather
 * than leave it to 'blixard status'. Looks for at most DECIDE_MS.
 */
#define DECIDE_MS 2000
static void look_once_placed(const struct bx_cli *cli, const char *verb, const char *name)
{
	struct waiter w = {.cli = cli, .verb = verb, .name = name, .want_running = true};
	char path[128];
	long start = now_ms();

	snprintf(path, sizeof path, "/v1/services/%s", name);
	while (now_ms() - start < DECIDE_MS) {
		struct bx_cli_reply r;
		struct standing st;
		char errmsg[BX_ERRMSG_SIZE];
		bool placed = false;

		if (bx_cli_call(cli, NULL, "GET", path, NULL, 5000, &r, errmsg) == 0 &&
		    r.status == 200) {
			stand(r.json, &st);
			say_waiting(&w, &st);
			placed = num(r.json, "node") != 0 && st.waiting == NULL;
		}
		bx_cli_reply_free(&r);
		if (w.waiting || placed)
			return;
		usleep(POLL_MS * 1000);
	}
}

int bx_cli_after_change(const struct bx_cli *cli, const char *verb, const char *name,
			struct bx_cli_reply *reply, bool wait, bool want_running,
			long timeout_ms, const char *submitted, double mark)
{
	if (cli->json)
		bx_cli_print_json(reply->json);
	bx_cli_reply_free(reply);
	if (!wait) {
		if (!cli->json)
			printf("service '%s' %s\n", name, submitted);
		if (want_running)
			look_once_placed(cli, verb, name);
		return BX_EXIT_OK;
	}
	return bx_cli_wait_service(cli, verb, name, want_running, timeout_ms, mark);
}
