/* api_ops.c - operations routes: GET /v1/events (the replicated event log) and GET
 * /v1/snapshot (the whole state, for disaster recovery). */
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "error.h"
#include "net/http_server.h"
#include "raft/command.h"
#include "raft/fsm.h"

#define EVENTS_LIMIT_DEFAULT 100

/* A whole number in the query under `key` into *v (kept when absent); false
 * after answering 400. */
static bool query_u64(struct bx_http_request *req, const char *key, uint64_t max,
		      uint64_t *v)
{
	const char *text = bx_api_query(req->query, key);
	char *end;
	unsigned long long n;

	if (text == NULL)
		return true;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\0' && *end != '&') ||
	    text[0] == '-' || n > max) {
		bx_http_respond_error(req, 400,
				      "query '%s' must be a whole number up to %llu", key,
				      (unsigned long long)max);
		return false;
	}
	*v = n;
	return true;
}

/*
 * GET /v1/events: the replicated event log as this node's store holds it.
 *   ?service=NAME  only the events of that service (all its instances)
 *   ?after=SEQ     the events after SEQ, oldest first (to follow the log)
 *   ?limit=N       at most N (default 100, at most BX_EVENTS_KEEP); without
 *                  after: the newest N, oldest first
 * {"events": [...], "last": the newest seq stored (0: none)}.
 */
void bx_api_events(struct bx_daemon *d, struct bx_http_request *req)
{
	const char *svc = bx_api_query(req->query, "service");
	char name[64] = "";
	uint64_t after = 0, limit = EVENTS_LIMIT_DEFAULT;
	struct bx_store_events_query q;
	cJSON *body, *events;
	int rc;

	if (!query_u64(req, "after", UINT64_MAX - 1, &after) ||
	    !query_u64(req, "limit", BX_EVENTS_KEEP, &limit))
		return;
	if (svc != NULL) {
		size_t len = strcspn(svc, "&");
		if (len < sizeof name)
			memcpy(name, svc, len);
		name[len < sizeof name ? len : 0] = '\0';
		if (!bx_command_valid_service_name(name)) {
			bx_http_respond_error(req, 400, "invalid service name '%.*s'",
					      (int)(len > 63 ? 63 : len), svc);
			return;
		}
	}
	q = (struct bx_store_events_query){.after = after,
					   .limit = limit,
					   .service = svc != NULL ? name : NULL,
					   .tail =
					       bx_api_query(req->query, "after") == NULL};
	rc = bx_store_list_events(d->store, &q, &events);
	if (rc != 0) {
		bx_api_respond_code(req, rc, "read the events");
		return;
	}
	body = cJSON_CreateObject();
	if (body == NULL || !cJSON_AddItemToObject(body, "events", events) ||
	    cJSON_AddNumberToObject(body, "last",
				    (double)bx_store_last_event(d->store)) == NULL) {
		if (body == NULL)
			cJSON_Delete(events);
		cJSON_Delete(body);
		bx_api_respond_code(req, BX_ENOMEM, NULL);
		return;
	}
	bx_http_respond_json(req, 200, body);
	cJSON_Delete(body);
}

/*
 * GET /v1/snapshot: this node's whole replicated state (services, nodes,
 * events, cluster id) as one checksummed snapshot buffer (src/store.h), for
 * `blixard snapshot save`. What it holds is this node's applied state: ask
 * the leader for the newest.
 */
void bx_api_snapshot(struct bx_daemon *d, struct bx_http_request *req)
{
	void *buf;
	size_t len;
	int rc = bx_store_snapshot(d->store, &buf, &len);

	if (rc != 0) {
		bx_api_respond_code(req, rc, "take the snapshot");
		return;
	}
	bx_http_respond(req, 200, "application/octet-stream", buf, len);
	free(buf);
}
