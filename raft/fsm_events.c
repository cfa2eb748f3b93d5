/* fsm_events.c - the events apply writes: their JSON text, added to the store. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/command.h"
#include "raft/fsm_internal.h"
#include "src/base/error.h"
#include "src/model/spec.h"

/*
 * An event's members as JSON text, written directly (no cJSON tree: an event
 * is written with most commands, and its cost shows in write throughput).
 * Every number in an event is a whole number.
 */
struct event {
	char text[2048]; /* names, a reason of at most 255 bytes escaped: fits */
	size_t len;
	bool over; /* did not fit: the event is not written */
};

static void ev_add(struct event *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ev_add(struct event *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(e->text + e->len, sizeof e->text - e->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof e->text - e->len)
		e->over = true;
	else
		e->len += (size_t)n;
}

static void ev_num(struct event *e, const char *key, double v)
{
	ev_add(e, "%s\"%s\":%.0f", e->len ? "," : "", key, v);
}

/* "key":"value", the value escaped as JSON wants */
static void ev_str(struct event *e, const char *key, const char *v)
{
	ev_add(e, "%s\"%s\":\"", e->len ? "," : "", key);
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0' && !e->over;
	     p++) {
		if (*p == '"' || *p == '\\')
			ev_add(e, "\\%c", *p);
		else if (*p < 0x20)
			ev_add(e, "\\u%04x", *p);
		else
			ev_add(e, "%c", *p);
	}
	ev_add(e, "\"");
}

/* Add the event, with the command's time, type, node and reason, to the store. */
static int add_event(struct apply *a, struct event *e, const char *type, double node,
		     const char *reason)
{
	ev_num(e, "at", a->ts);
	ev_str(e, "type", type);
	ev_num(e, "node", node);
	ev_str(e, "reason", reason != NULL ? reason : "");
	if (e->over)
		return 0; /* cannot happen with our names and reasons; never fail apply */
	return bx_store_add_event(a->txn, e->text, BX_EVENTS_KEEP);
}

/* An event about the service instance `rec` (its node and generation now). */
int fsm_service_event(struct apply *a, const char *type, const cJSON *rec,
		      const char *reason)
{
	struct event e = {.len = 0};
	const char *key = fsm_str_of(rec, "name"), *service = fsm_str_of(rec, "service");

	ev_str(&e, "service", service[0] != '\0' ? service : key);
	if (service[0] != '\0')
		ev_str(&e, "instance", key);
	ev_num(&e, "generation", fsm_num_of(rec, "generation"));
	return add_event(a, &e, type, fsm_num_of(rec, "node"), reason);
}

/* An event about node `id` (record `rec`, NULL if gone). */
int fsm_node_event(struct apply *a, const char *type, uint64_t id, const cJSON *rec,
		   const char *reason)
{
	struct event e = {.len = 0};

	if (rec != NULL)
		ev_str(&e, "node_name", fsm_str_of(rec, "name"));
	return add_event(a, &e, type, (double)id, reason);
}
