/* duties.c - a node's standing duties: cluster.init, scheduling, its own record. */
#include "src/node/duties.h"

#include "raft/node.h"
#include "src/base/clock.h"
#include "src/base/log.h"
#include "src/model/scheduler.h"
#include "src/node/proposer.h"
#include "src/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void init_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_duties *du = data;

	(void)code;
	(void)msg;
	(void)record;
	du->init_in_flight = false;
}

bool bx_duties_init_first(struct bx_duties *du)
{
	const char *have = bx_store_cluster_id(du->store);
	cJSON *init;

	if (du->cluster_id[0] == '\0' || (have != NULL && have[0] != '\0'))
		return false;
	if (du->init_in_flight)
		return true;
	init = bx_cmd_cluster_init(du->cluster_id);
	cJSON_AddNumberToObject(init, "ts", (double)bx_now_ms());
	du->init_in_flight = bx_proposer_submit(du->proposer, init, init_done, du) == BX_OK;
	return true;
}

/* --- standing duties, every tick ---------------------------------------- */

static void duty_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_duties *du = data;

	(void)record;
	du->duty_in_flight = false;
	if (code != BX_OK && code != BX_ECONFLICT)
		BX_WARN("daemon", "cluster bookkeeping failed: %s", msg);
}

/* The node record says where this node's API and Raft listen, what it
 * offers and its labels; keep it true. */
static bool own_record_current(struct bx_duties *du)
{
	const struct bx_node_info *self = &du->self;
	cJSON *node = NULL;
	const cJSON *api, *raft, *name;
	bool same;

	if (bx_store_get_node(du->store, self->id, &node) != 0)
		return false;
	api = cJSON_GetObjectItemCaseSensitive(node, "api");
	raft = cJSON_GetObjectItemCaseSensitive(node, "raft");
	name = cJSON_GetObjectItemCaseSensitive(node, "name");
	same =
	    cJSON_IsString(api) && cJSON_IsString(raft) && cJSON_IsString(name) &&
	    strcmp(api->valuestring, self->api ? self->api : "") == 0 &&
	    strcmp(raft->valuestring, self->raft ? self->raft : "") == 0 &&
	    strcmp(name->valuestring, self->name ? self->name : "") == 0 &&
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(node, "memory_mb")) ==
		(double)self->memory_mb &&
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(node, "vcpus")) ==
		(double)self->vcpus &&
	    cJSON_Compare(cJSON_GetObjectItemCaseSensitive(node, "labels"), self->labels,
			  true);
	cJSON_Delete(node);
	return same;
}

static void leader_duties(struct bx_duties *du)
{
	if (du->duty_in_flight || bx_duties_init_first(du))
		return;
	if (du->inflight_assign == 0)
		bx_duties_schedule(du);
}

/* --- scheduling ----------------------------------------------------------- */

#define MAX_MOVES_PER_PASS 1024

static void assign_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_duties *du = data;

	(void)record;
	if (du->inflight_assign > 0)
		du->inflight_assign--;
	/* BX_ECONFLICT: the record changed under the decision; the next pass
	 * decides again on the new state. */
	if (code != BX_OK && code != BX_ECONFLICT && code != BX_ENOENT)
		BX_WARN("scheduler", "placement not recorded: %s", msg);
}

/* The cluster's nodes as the scheduler sees them; their records stay alive in
 * `recs` (the labels point into them). */
struct sched_nodes {
	struct bx_sched_node *nodes;
	cJSON **recs;
	size_t n;
};

static void sched_nodes_free(struct sched_nodes *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		cJSON_Delete(sn->recs[i]);
	free(sn->recs);
	free(sn->nodes);
}

static uint32_t rec_u32(const cJSON *rec, const char *key)
{
	double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, key));
	return v > 0 && v <= 4294967295.0 ? (uint32_t)v : 0;
}

/* Nodes that may keep and take work: in the Raft configuration, with a node
 * record, and not down (node.down took their services off them). */
static int load_nodes(struct bx_duties *du, struct sched_nodes *sn)
{
	struct raft *r = bx_raft_node_raft(du->raft);
	unsigned n = r->configuration.n;

	sn->n = 0;
	sn->nodes = calloc(n + 1, sizeof *sn->nodes);
	sn->recs = calloc(n + 1, sizeof *sn->recs);
	if (sn->nodes == NULL || sn->recs == NULL) {
		sched_nodes_free(sn);
		return BX_ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t id = r->configuration.servers[i].id;
		struct bx_sched_node *node = &sn->nodes[sn->n];
		cJSON *rec = NULL;
		if (bx_store_get_node(du->store, id, &rec) != 0)
			continue;
		node->id = id;
		node->usable = !bx_fsm_node_down(rec);
		node->draining =
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "draining"));
		node->memory_mb = rec_u32(rec, "memory_mb");
		node->vcpus = rec_u32(rec, "vcpus");
		node->labels = cJSON_GetObjectItemCaseSensitive(rec, "labels");
		sn->recs[sn->n++] = rec;
	}
	return BX_OK;
}

/*
 * Is there work a pass can see without reading every record? Through the
 * placement index: services that should run and sit on no node, on a node
 * that is not usable, or on a draining one. Failures in place are not in the
 * index: a failed report (or a node change, which may open room) sets
 * du->schedule_scan instead.
 */
static bool work_in_index(struct bx_duties *du, const struct sched_nodes *sn)
{
	struct bx_store_load *loads = NULL;
	size_t n_loads = 0;
	bool work = false;

	if (bx_store_loads(du->store, &loads, &n_loads) != 0)
		return true; /* cannot tell: look */
	for (size_t i = 0; i < n_loads && !work; i++) {
		const struct bx_sched_node *at = NULL;
		for (size_t j = 0; j < sn->n; j++)
			if (sn->nodes[j].id == loads[i].node)
				at = &sn->nodes[j];
		work =
		    loads[i].running > 0 && (at == NULL || !at->usable || at->draining);
	}
	free(loads);
	return work;
}

static void propose_move(struct bx_duties *du, const struct bx_sched_move *m)
{
	cJSON *cmd = NULL;
	char why[96];

	switch (m->kind) {
	case BX_SCHED_WAIT:
		cmd = bx_cmd_service_wait(m->name, m->expect_generation, m->reason);
		BX_SVC_INFO("scheduler", m->name, "waits for a node: %s", m->reason);
		break;
	case BX_SCHED_MIGRATE:
		cmd = bx_cmd_service_migrate(m->name, m->node, m->expect_generation);
		BX_INFO("scheduler",
			"service '%s' leaves draining node %llu for node %llu", m->name,
			(unsigned long long)m->from, (unsigned long long)m->node);
		break;
	case BX_SCHED_ASSIGN:
		if (!m->moved_failed) {
			cmd = bx_cmd_service_assign(m->name, m->node, m->expect_generation,
						    NULL);
			break;
		}
		snprintf(why, sizeof why, "moved: it failed on node %llu",
			 (unsigned long long)m->from);
		cmd = bx_cmd_service_assign(m->name, m->node, m->expect_generation, why);
		BX_INFO("scheduler",
			"service '%s' failed on node %llu: moving it to node %llu",
			m->name, (unsigned long long)m->from,
			(unsigned long long)m->node);
		break;
	}
	if (bx_submit_propose(du->submit, cmd, assign_done, du) == BX_OK)
		du->inflight_assign++;
}

void bx_duties_schedule(struct bx_duties *du)
{
	struct sched_nodes sn = {0};
	struct bx_sched_move *moves = NULL;
	size_t n_moves = 0;
	cJSON *all = NULL;

	/* A pass runs after an entry that can leave a service without a node
	 * (put, start, node changes, restore), and every 5 s in any case: Raft
	 * configuration changes (a node joining or leaving) are not FSM entries. */
	if (!du->schedule_due && uv_now(du->loop) - du->scheduled_at < 5000)
		return;
	if (uv_now(du->loop) - du->scheduled_at < BX_SCHEDULE_GAP_MS)
		return; /* at most ~3 passes a second during a burst of writes */
	du->schedule_due = false;
	du->scheduled_at = uv_now(du->loop);
	if (load_nodes(du, &sn) != 0)
		return;
	/* Reading every record costs a pass over the whole state: only when
	 * there is something to decide. */
	if ((du->schedule_scan || work_in_index(du, &sn)) &&
	    bx_store_list_services(du->store, &all) == 0) {
		du->schedule_scan = false;
		if (bx_schedule(all, sn.nodes, sn.n, MAX_MOVES_PER_PASS, &moves,
				&n_moves) == 0) {
			for (size_t i = 0; i < n_moves; i++)
				propose_move(du, &moves[i]);
			/* a full pass leaves more for the next one */
			if (n_moves == MAX_MOVES_PER_PASS)
				du->schedule_due = true;
		}
	}
	free(moves);
	cJSON_Delete(all);
	sched_nodes_free(&sn);
}

void bx_duties_tick(struct bx_duties *du)
{
	if (bx_raft_node_is_leader(du->raft))
		leader_duties(du);
	if (!du->duty_in_flight && bx_raft_node_leader(du->raft) != 0 &&
	    !own_record_current(du)) {
		du->duty_in_flight = true;
		bx_submit_send(du->submit, bx_cmd_node_upsert(&du->self), duty_done, du);
	}
}

uint64_t bx_duties_wait_ms(const struct bx_duties *du, uint64_t now)
{
	uint64_t since = now - du->scheduled_at;

	return since < BX_SCHEDULE_GAP_MS ? BX_SCHEDULE_GAP_MS - since : 0;
}

bool bx_duties_applied(struct bx_duties *du, enum bx_op op, const struct bx_fsm_result *res)
{
	const cJSON *rec = res != NULL ? res->record : NULL;
	const cJSON *desired = cJSON_GetObjectItemCaseSensitive(rec, "desired");
	bool to_run = cJSON_IsString(desired) && strcmp(desired->valuestring, "running") == 0;
	bool unplaced =
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "node")) == 0;

	/* Only these can leave a service that should run without a node, or
	 * open room for one. */
	switch (op) {
	case BX_OP_SERVICE_PUT:
	case BX_OP_SERVICE_START: {
		const cJSON *count = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(rec, "spec"), "service"),
		    "count");
		/* a stopped or already placed service needs no pass (its other
		 * instances, count > 1, are not in view: a pass looks) */
		if (rec == NULL || cJSON_GetNumberValue(count) > 1 || (to_run && unplaced))
			du->schedule_due = true;
		break;
	}
	case BX_OP_SERVICE_REPORT: {
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(rec, "state");
		/* handed over to a node that went down meanwhile: place it */
		if (to_run && unplaced)
			du->schedule_due = true;
		/* failed where it is: the leader's next pass moves it elsewhere */
		if (cJSON_IsString(state) && strcmp(state->valuestring, "failed") == 0 &&
		    to_run && du->raft != NULL && bx_raft_node_is_leader(du->raft)) {
			du->schedule_scan = true;
			du->schedule_due = true;
		}
		break;
	}
	case BX_OP_RESTORE:
	case BX_OP_CLUSTER_INIT:
	case BX_OP_SERVICE_DELETE:
		/* a deleted service leaves room; a node change may open some */
		du->schedule_scan = true;
		du->schedule_due = true;
		break;
	default:
		if (bx_op_is_node(op)) {
			du->schedule_scan = true;
			du->schedule_due = true;
		}
		break;
	}
	return du->schedule_due;
}
