/* api_ops.c - operations routes: GET /v1/events (the replicated event log) and GET
 * /v1/snapshot (the whole state, for disaster recovery). */
#include "src/api/api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_server.h"
#include "raft/command.h"
#include "raft/fsm.h"
#include "src/base/error.h"

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
void bx_api_events(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
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
	rc = bx_store_list_events(api->store, &q, &events);
	if (rc != 0) {
		bx_api_respond_code(req, rc, "read the events");
		return;
	}
	body = cJSON_CreateObject();
	if (body == NULL || !cJSON_AddItemToObject(body, "events", events) ||
	    cJSON_AddNumberToObject(body, "last",
				    (double)bx_store_last_event(api->store)) == NULL) {
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
 * events, cluster id) as one checksummed snapshot buffer (src/store/store.h), for
 * `blixard snapshot save`. What it holds is this node's applied state: ask
 * the leader for the newest. The state is fixed on the loop (a read
 * transaction) and copied on the libuv thread pool, as Raft's own snapshots
 * are (raft/snapshot_put.c): a large state would otherwise stop the node,
 * long enough to cost a leader its followers.
 */
struct snapshot_job {
	uv_work_t work;
	struct bx_store_snap *snap;
	struct bx_http_request *req; /* NULL once the client is gone */
	void *buf;
	size_t len;
	int rc;
};

static void snapshot_abort(struct bx_http_request *req, void *data)
{
	(void)req;
	((struct snapshot_job *)data)->req = NULL;
}

static void snapshot_copy(uv_work_t *work)
{
	struct snapshot_job *job = work->data;

	job->rc = bx_store_snapshot_write(job->snap, &job->buf, &job->len);
}

static void snapshot_copied(uv_work_t *work, int status)
{
	struct snapshot_job *job = work->data;

	bx_store_snapshot_end(job->snap);
	if (job->req != NULL) {
		bx_http_request_on_abort(job->req, NULL, NULL);
		if (status != 0 || job->rc != 0)
			bx_api_respond_code(job->req, status != 0 ? BX_EIO : job->rc,
					    "take the snapshot");
		else
			bx_http_respond(job->req, 200, "application/octet-stream",
					job->buf, job->len);
	}
	free(job->buf);
	free(job);
}

void bx_api_snapshot(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	struct snapshot_job *job = calloc(1, sizeof *job);
	int rc = job != NULL ? bx_store_snapshot_begin(api->store, &job->snap) : BX_ENOMEM;

	if (rc == 0) {
		job->req = req;
		job->work.data = job;
		if (uv_queue_work(api->loop, &job->work, snapshot_copy, snapshot_copied) ==
		    0) {
			bx_http_request_on_abort(req, snapshot_abort, job);
			return;
		}
		bx_store_snapshot_end(job->snap);
		rc = BX_EIO;
	}
	free(job);
	bx_api_respond_code(req, rc, "take the snapshot");
}
