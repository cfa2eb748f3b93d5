/* heartbeat.c - invariant 4 on the wire: heartbeats to the leader, its answers (leases),
 * nodes declared down. */
#include "src/node/heartbeat.h"
#include "raft/command.h"

#include "raft/fsm.h"
#include "src/base/error.h"
#include "src/base/log.h"
#include "src/store/store.h"

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
	answer_all(batch, code, code == BX_OK ? bx_store_applied_index(hb->cfg.store) : 0);
	confirm_start(hb);
}

/* Propose a confirm for every heartbeat that has arrived (none under way). */
static void confirm_start(struct bx_heartbeat *hb)
{
	cJSON *cmd;
	int rv;

	if (hb->confirming != NULL || hb->waiting == NULL || hb->stopping)
		return;
	hb->confirming = hb->waiting;
	hb->waiting = NULL;
	cmd = bx_cmd_cluster_confirm();
	rv = hb->cfg.submitter->propose(hb->cfg.submitter->data, cmd, confirm_done, hb);
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
	if (code != BX_OK && code != BX_ENOENT && !hb->stopping)
		BX_WARN("failover", "node status not recorded: %s", msg);
}

/* node.up or node.down (cmd), one at a time */
static void propose_node(struct bx_heartbeat *hb, cJSON *cmd)
{
	hb->node_cmd_in_flight = hb->cfg.submitter->propose(hb->cfg.submitter->data, cmd,
							   node_cmd_done, hb) == BX_OK;
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
	uint64_t term = hb->cfg.term(hb->cfg.data);

	if (!hb->cfg.is_leader(hb->cfg.data)) {
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
	uint64_t now = bx_clock_now(hb->cfg.clock);
	struct bx_beat_waiter *w;
	cJSON *node = NULL;

	if (hb->stopping)
		return BX_ESHUTDOWN;
	if (!sync_term(hb, now))
		return BX_ENOTLEADER;
	/* not a member (removed, or not joined yet): no lease */
	if (bx_store_get_node(hb->cfg.store, id, &node) != 0)
		return BX_ENOENT;
	if (bx_liveness_heard(&hb->live, id, now) != 0) {
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
	cJSON *nodes = NULL, *node;

	if (!sync_term(hb, now))
		return;
	if (hb->node_cmd_in_flight || bx_store_list_nodes(hb->cfg.store, &nodes) != 0)
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
	uint64_t sent;    /* clock time */
	bool other_node; /* sent through cfg.send, counted in in_flight */
};

/*
 * An answer to the heartbeat sent at s->sent. The lease counts from the send
 * time, not the answer's arrival: the leader cannot have declared this node
 * down before node_timeout after it heard the heartbeat, which is after it
 * was sent (src/model/liveness.h). A late answer to an older heartbeat
 * renews from its older send time, which never shortens the lease
 * (bx_lease_renewed keeps the later end).
 */
static void answered(void *data, int code, uint64_t index)
{
	struct send *s = data;
	struct bx_heartbeat *hb = s->hb;
	const struct bx_heartbeat_config *cfg = &hb->cfg;

	if (s->other_node && hb->in_flight > 0)
		hb->in_flight--;
	if (code != BX_OK && !hb->stopping) {
		/* no lease from this one: try again soon rather than a lease_ms later */
		uint64_t soon = bx_clock_now(cfg->clock) + RETRY_MS;
		if (hb->last_sent + cfg->lease_ms > soon)
			hb->last_sent = soon - cfg->lease_ms;
	}
	if (code == BX_OK && !hb->stopping) {
		bool was_valid = bx_heartbeat_may_run(hb) && hb->lease_held;
		bx_lease_renewed(&hb->lease, s->sent);
		if (index > hb->lease_index)
			hb->lease_index = index;
		hb->lease_held = true;
		if (hb->lease_lost && bx_heartbeat_may_run(hb)) {
			hb->lease_lost = false;
			BX_INFO("failover", "lease renewed: services may run again");
		}
		if (!was_valid && cfg->on_lease_changed != NULL)
			cfg->on_lease_changed(cfg->data);
	}
	free(s);
}

static void send_heartbeat(struct bx_heartbeat *hb, uint64_t now)
{
	const struct bx_heartbeat_config *cfg = &hb->cfg;
	uint64_t leader = cfg->leader(cfg->data);
	struct send *s;

	if (leader == 0 || !cfg->in_cluster(cfg->data))
		return;
	s = malloc(sizeof *s);
	if (s == NULL)
		return;
	s->hb = hb;
	s->sent = now;
	s->other_node = false;
	if (leader != hb->last_leader)
		BX_DEBUG("failover", "heartbeats go to node %llu, the leader now",
			 (unsigned long long)leader);
	hb->last_sent = now;
	hb->last_leader = leader;
	if (leader == cfg->node_id) {
		if (bx_heartbeat_heard(hb, cfg->node_id, answered, s) != BX_OK)
			free(s);
		return;
	}
	if (hb->in_flight >= MAX_IN_FLIGHT) {
		free(s);
		return;
	}
	s->other_node = true;
	hb->in_flight++;
	if (cfg->send(cfg->data, leader, answered, s) != BX_OK) {
		hb->in_flight--;
		free(s);
	}
}

static void on_tick(uv_timer_t *t)
{
	bx_heartbeat_tick(t->data);
}

void bx_heartbeat_tick(struct bx_heartbeat *hb)
{
	const struct bx_heartbeat_config *cfg = &hb->cfg;
	uint64_t now = bx_clock_now(cfg->clock);
	uint64_t leader;

	if (hb->stopping)
		return;
	if (!cfg->in_cluster(cfg->data)) {
		/* in no cluster yet: nothing is placed here, no leader to ask */
		bx_lease_renewed(&hb->lease, now);
		return;
	}
	leader_check(hb, now);
	leader = cfg->leader(cfg->data);
	/* a new leader hears from this node at once: its lease is running */
	if (now - hb->last_sent >= cfg->lease_ms ||
	    (leader != 0 && leader != hb->last_leader))
		send_heartbeat(hb, now);
	if (!hb->lease_lost && !bx_heartbeat_may_run(hb)) {
		hb->lease_lost = true;
		BX_WARN(
		    "failover",
		    "lease ran out: no answer from a leader for %u ms; stopping services "
		    "with on_partition = \"stop\"",
		    cfg->fence_timeout_ms);
		if (cfg->on_fence != NULL)
			cfg->on_fence(cfg->data);
	}
}

int bx_heartbeat_init(struct bx_heartbeat *hb, const struct bx_heartbeat_config *cfg)
{
	memset(hb, 0, sizeof *hb);
	hb->cfg = *cfg;
	bx_lease_init(&hb->lease, cfg->fence_timeout_ms);
	/* Instances an earlier daemon left running keep running for one lease
	 * while this one reaches the leader; nothing new starts before an answer. */
	bx_lease_renewed(&hb->lease, bx_clock_now(cfg->clock));
	bx_liveness_init(&hb->live, cfg->node_timeout_ms);
	uv_timer_init(cfg->loop, &hb->timer);
	hb->timer.data = hb;
	return BX_OK;
}

void bx_heartbeat_start(struct bx_heartbeat *hb)
{
	uv_timer_start(&hb->timer, on_tick, TICK_MS, TICK_MS);
}

void bx_heartbeat_stop(struct bx_heartbeat *hb)
{
	hb->stopping = true;
	uv_timer_stop(&hb->timer);
	answer_all(hb->waiting, BX_ESHUTDOWN, 0);
	hb->waiting = NULL;
}

static void timer_closed(uv_handle_t *h)
{
	struct bx_heartbeat *hb = h->data;

	bx_liveness_free(&hb->live);
	hb->close_cb(hb->close_data);
}

void bx_heartbeat_close(struct bx_heartbeat *hb, void (*cb)(void *data), void *data)
{
	bx_heartbeat_stop(hb);
	/* a confirm under way may still end (Raft closes later): it finds
	 * nobody to answer, and proposes nothing new (stopping) */
	answer_all(hb->confirming, BX_ESHUTDOWN, 0);
	hb->confirming = NULL;
	hb->close_cb = cb;
	hb->close_data = data;
	uv_close((uv_handle_t *)&hb->timer, timer_closed);
}

bool bx_heartbeat_may_run(const struct bx_heartbeat *hb)
{
	return bx_lease_valid(&hb->lease, bx_clock_now(hb->cfg.clock));
}

bool bx_heartbeat_may_start(const struct bx_heartbeat *hb)
{
	return hb->lease_held && bx_heartbeat_may_run(hb) &&
	       bx_store_applied_index(hb->cfg.store) >= hb->lease_index;
}

bool bx_heartbeat_silent_ms(const struct bx_heartbeat *hb, uint64_t id, uint64_t *ms)
{
	if (hb->lead_term == 0 || !hb->cfg.is_leader(hb->cfg.data))
		return false;
	*ms = bx_liveness_silent_ms(&hb->live, id, bx_clock_now(hb->cfg.clock));
	return true;
}
