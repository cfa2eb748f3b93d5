/* heartbeat.c - invariant 4 on the wire: heartbeats to the leader, its answers (leases),
 * nodes declared down. */
#include "src/node/heartbeat.h"
#include "raft/command.h"

#include "net/http_client.h"
#include "raft/node.h"
#include "src/base/log.h"
#include "src/daemon.h"
#include "src/node/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 50      /* lease checks and the leader's down checks */
#define RETRY_MS 100    /* after an unanswered heartbeat, the next one goes this soon */
#define MAX_IN_FLIGHT 8 /* heartbeats over HTTP not answered yet */

struct bx_beat_waiter {
	bx_beat_cb cb;
	void *data;
	struct bx_beat_waiter *next;
};

/* --- the leader's side ---------------------------------------------------- */

static void answer_all(struct bx_beat_waiter *w, int code, uint64_t index)
{
	while (w != NULL) {
		struct bx_beat_waiter *next = w->next;
		w->cb(w->data, code, index);
		free(w);
		w = next;
	}
}

static void confirm_start(struct bx_heartbeat *hb);

static void confirm_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_heartbeat *hb = data;
	struct bx_beat_waiter *batch = hb->confirming;

	(void)msg;
	(void)record;
	hb->confirming = NULL;
	answer_all(batch, code, code == BX_OK ? bx_store_applied_index(hb->d->store) : 0);
	confirm_start(hb);
}

/* Propose a confirm for every heartbeat that has arrived (none under way). */
static void confirm_start(struct bx_heartbeat *hb)
{
	cJSON *cmd;
	int rv;

	if (hb->confirming != NULL || hb->waiting == NULL || hb->d->stopping)
		return;
	hb->confirming = hb->waiting;
	hb->waiting = NULL;
	cmd = bx_cmd_cluster_confirm();
	rv = bx_daemon_propose(hb->d, cmd, confirm_done, hb);
	if (rv != BX_OK) {
		struct bx_beat_waiter *batch = hb->confirming;
		hb->confirming = NULL;
		answer_all(batch, rv, 0);
	}
}

static void node_cmd_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_heartbeat *hb = data;

	(void)record;
	hb->node_cmd_in_flight = false;
	if (code != BX_OK && code != BX_ENOENT && !hb->d->stopping)
		BX_WARN("failover", "node status not recorded: %s", msg);
}

/* node.up or node.down (cmd), one at a time */
static void propose_node(struct bx_heartbeat *hb, cJSON *cmd)
{
	hb->node_cmd_in_flight =
	    bx_daemon_propose(hb->d, cmd, node_cmd_done, hb) == BX_OK;
}

static const char *str_field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Leading in a new term: count from now; what an earlier term heard says
 * nothing of the leases given since. False when not leading. */
static bool sync_term(struct bx_heartbeat *hb, uint64_t now)
{
	struct bx_daemon *d = hb->d;
	uint64_t term = bx_raft_node_term(d->raft);

	if (!bx_raft_node_is_leader(d->raft)) {
		if (hb->lead_term != 0) {
			hb->lead_term = 0;
			answer_all(hb->waiting, BX_ENOTLEADER, 0);
			hb->waiting = NULL;
		}
		return false;
	}
	if (term != hb->lead_term) {
		bx_liveness_elected(&hb->live, now);
		hb->lead_term = term;
	}
	return true;
}

int bx_heartbeat_heard(struct bx_heartbeat *hb, uint64_t id, bx_beat_cb cb, void *data)
{
	struct bx_daemon *d = hb->d;
	struct bx_beat_waiter *w;
	cJSON *node = NULL;

	if (d->stopping)
		return BX_ESHUTDOWN;
	if (!sync_term(hb, uv_now(d->loop)))
		return BX_ENOTLEADER;
	/* not a member (removed, or not joined yet): no lease */
	if (bx_store_get_node(d->store, id, &node) != 0)
		return BX_ENOENT;
	if (bx_liveness_heard(&hb->live, id, uv_now(d->loop)) != 0) {
		cJSON_Delete(node);
		return BX_ENOMEM;
	}
	if (bx_fsm_node_down(node) && !hb->node_cmd_in_flight) {
		BX_INFO("failover", "node %llu (%s) is heard again: up",
			(unsigned long long)id, str_field(node, "name"));
		propose_node(hb, bx_cmd_node_up(id));
	}
	cJSON_Delete(node);
	w = malloc(sizeof *w);
	if (w == NULL)
		return BX_ENOMEM;
	w->cb = cb;
	w->data = data;
	w->next = hb->waiting;
	hb->waiting = w;
	confirm_start(hb);
	return BX_OK;
}

/* Leader, every tick: count from the election, declare the silent down. */
static void leader_check(struct bx_heartbeat *hb, uint64_t now)
{
	struct bx_daemon *d = hb->d;
	cJSON *nodes = NULL, *node;

	if (!sync_term(hb, now))
		return;
	if (hb->node_cmd_in_flight || bx_store_list_nodes(d->store, &nodes) != 0)
		return;
	cJSON_ArrayForEach(node, nodes)
	{
		uint64_t id = (uint64_t)cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(node, "id"));
		if (id == 0 || bx_fsm_node_down(node))
			continue;
		bx_liveness_seen(&hb->live, id, now);
		if (!bx_liveness_down(&hb->live, id, now))
			continue;
		BX_WARN(
		    "failover",
		    "node %llu (%s) is down: no heartbeat for %llu ms; its services move",
		    (unsigned long long)id, str_field(node, "name"),
		    (unsigned long long)bx_liveness_silent_ms(&hb->live, id, now));
		propose_node(hb, bx_cmd_node_down(id));
		break; /* one at a time: the next tick takes the next */
	}
	cJSON_Delete(nodes);
}

/* --- this node's lease ----------------------------------------------------- */

struct send {
	struct bx_heartbeat *hb;
	uint64_t sent; /* uv_now() */
	bool http;
};

static void answered(void *data, int code, uint64_t index)
{
	struct send *s = data;
	struct bx_heartbeat *hb = s->hb;
	struct bx_daemon *d = hb->d;

	if (s->http && hb->in_flight > 0)
		hb->in_flight--;
	if (code != BX_OK && !d->stopping) {
		/* no lease from this one: try again soon rather than a lease_ms later */
		uint64_t soon = uv_now(d->loop) + RETRY_MS;
		if (hb->last_sent + d->cfg->lease_ms > soon)
			hb->last_sent = soon - d->cfg->lease_ms;
	}
	if (code == BX_OK && !d->stopping) {
		bool was_valid = bx_heartbeat_may_run(hb) && hb->lease_held;
		bx_lease_renewed(&hb->lease, s->sent);
		if (index > hb->lease_index)
			hb->lease_index = index;
		hb->lease_held = true;
		if (hb->lease_lost && bx_heartbeat_may_run(hb)) {
			hb->lease_lost = false;
			BX_INFO("failover", "lease renewed: services may run again");
		}
		if (!was_valid && d->agent != NULL)
			bx_agent_lease_changed(d->agent);
	}
	free(s);
}

static void http_answered(void *data, const struct bx_http_response *resp)
{
	cJSON *body = NULL;
	const cJSON *index = NULL;
	int code = resp->code;

	if (code != BX_OK) {
		BX_DEBUG("failover", "heartbeat not answered: %s",
			 resp->errmsg ? resp->errmsg : bx_strerror(code));
	} else if (resp->status != 200) {
		BX_DEBUG("failover", "heartbeat answered HTTP %d: %.*s",
			 (int)resp->status,
			 (int)(resp->body_len < 200 ? resp->body_len : 200), resp->body);
		code = BX_EUNAVAIL;
	} else {
		body = cJSON_ParseWithLength(resp->body, resp->body_len);
		index = cJSON_GetObjectItemCaseSensitive(body, "index");
		if (!cJSON_IsNumber(index) || index->valuedouble < 0)
			code = BX_EIO;
	}
	answered(data, code, code == BX_OK ? (uint64_t)index->valuedouble : 0);
	cJSON_Delete(body);
}

static void send_heartbeat(struct bx_heartbeat *hb, uint64_t now)
{
	struct bx_daemon *d = hb->d;
	uint64_t leader = bx_raft_node_leader(d->raft);
	/* an answer later than two heartbeats is of little use: a newer one is out */
	struct bx_http_call_opts opts = {.timeout_ms = 2 * d->cfg->lease_ms,
					 .connect_timeout_ms = d->cfg->lease_ms,
					 .headers = d->peer_headers};
	char api[256], url[320], body[160];
	struct send *s;

	if (leader == 0 || d->joining || d->cluster_id[0] == '\0')
		return;
	s = malloc(sizeof *s);
	if (s == NULL)
		return;
	s->hb = hb;
	s->sent = now;
	s->http = false;
	if (leader != hb->last_leader)
		BX_DEBUG("failover", "heartbeats go to node %llu, the leader now",
			 (unsigned long long)leader);
	hb->last_sent = now;
	hb->last_leader = leader;
	if (leader == d->id) {
		if (bx_heartbeat_heard(hb, d->id, answered, s) != BX_OK)
			free(s);
		return;
	}
	if (hb->in_flight >= MAX_IN_FLIGHT ||
	    bx_daemon_leader_api(d, api, sizeof api) == NULL) {
		free(s);
		return;
	}
	s->http = true;
	snprintf(url, sizeof url, "http://%s/v1/internal/heartbeat", api);
	snprintf(body, sizeof body, "{\"id\":%llu,\"cluster_id\":\"%s\"}",
		 (unsigned long long)d->id, d->cluster_id);
	hb->in_flight++;
	if (bx_http_client_request(d->client, "POST", url, body, strlen(body), &opts,
				   http_answered, s) != 0) {
		hb->in_flight--;
		free(s);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct bx_heartbeat *hb = t->data;
	struct bx_daemon *d = hb->d;
	uint64_t now = uv_now(d->loop);
	uint64_t leader;

	if (d->stopping || d->raft == NULL)
		return;
	if (d->discovering || d->cluster_id[0] == '\0') {
		/* in no cluster yet: nothing is placed here, no leader to ask */
		bx_lease_renewed(&hb->lease, now);
		return;
	}
	leader_check(hb, now);
	leader = bx_raft_node_leader(d->raft);
	/* a new leader hears from this node at once: its lease is running */
	if (now - hb->last_sent >= d->cfg->lease_ms ||
	    (leader != 0 && leader != hb->last_leader))
		send_heartbeat(hb, now);
	if (!hb->lease_lost && !bx_heartbeat_may_run(hb)) {
		hb->lease_lost = true;
		BX_WARN(
		    "failover",
		    "lease ran out: no answer from a leader for %u ms; stopping services "
		    "with on_partition = \"stop\"",
		    d->cfg->fence_timeout_ms);
		if (d->agent != NULL)
			bx_agent_fence(d->agent);
	}
}

int bx_heartbeat_init(struct bx_heartbeat *hb, struct bx_daemon *d)
{
	memset(hb, 0, sizeof *hb);
	hb->d = d;
	bx_lease_init(&hb->lease, d->cfg->fence_timeout_ms);
	/* Instances an earlier daemon left running keep running for one lease
	 * while this one reaches the leader; nothing new starts before an answer. */
	bx_lease_renewed(&hb->lease, uv_now(d->loop));
	bx_liveness_init(&hb->live, d->cfg->node_timeout_ms);
	uv_timer_init(d->loop, &hb->timer);
	hb->timer.data = hb;
	return BX_OK;
}

void bx_heartbeat_start(struct bx_heartbeat *hb)
{
	uv_timer_start(&hb->timer, on_tick, TICK_MS, TICK_MS);
}

void bx_heartbeat_stop(struct bx_heartbeat *hb)
{
	uv_timer_stop(&hb->timer);
	answer_all(hb->waiting, BX_ESHUTDOWN, 0);
	hb->waiting = NULL;
}

void bx_heartbeat_free(struct bx_heartbeat *hb)
{
	answer_all(hb->waiting, BX_ESHUTDOWN, 0);
	answer_all(hb->confirming, BX_ESHUTDOWN, 0);
	hb->waiting = hb->confirming = NULL;
	bx_liveness_free(&hb->live);
}

bool bx_heartbeat_may_run(const struct bx_heartbeat *hb)
{
	return bx_lease_valid(&hb->lease, uv_now(hb->d->loop));
}

bool bx_heartbeat_may_start(const struct bx_heartbeat *hb)
{
	return hb->lease_held && bx_heartbeat_may_run(hb) &&
	       bx_store_applied_index(hb->d->store) >= hb->lease_index;
}
