/* cluster.c - commands from any node, joining, and the leader's standing duties. */
#include "src/node/cluster.h"
#include "raft/command.h"

#include "net/http_client.h"
#include "raft/node.h"
#include "src/base/log.h"
#include "src/daemon.h"
#include "src/model/invite.h"
#include "src/model/scheduler.h"
#include "src/node/discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Invariant 3: every decision is a command. A component that wants the state
 * changed calls bx_daemon_submit() with a command object; on the leader it is
 * proposed to Raft, on a follower it travels to the leader's API
 * (/v1/internal/command), which proposes it there. Either way the callback
 * runs once the command is applied (or has failed), with the FSM's verdict.
 */

#define JOIN_TIMEOUT_MS 60000
#define FORWARD_TIMEOUT_MS 10000

static void init_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_daemon *d = data;

	(void)code;
	(void)msg;
	(void)record;
	d->init_in_flight = false;
}

/*
 * The cluster id goes into the state ahead of any other command this leader
 * proposes, not at some later tick: a daemon stopped right after its first
 * write must still find it there next time (it checks node.json against it).
 * True while the state still lacks it (the init is then under way).
 */
static bool init_first(struct bx_daemon *d)
{
	const char *have = bx_store_cluster_id(d->store);
	cJSON *init;

	if (d->cluster_id[0] == '\0' || (have != NULL && have[0] != '\0'))
		return false;
	if (d->init_in_flight)
		return true;
	init = bx_cmd_cluster_init(d->cluster_id);
	cJSON_AddNumberToObject(init, "ts", (double)bx_now_ms());
	d->init_in_flight = bx_proposer_submit(&d->proposer, init, init_done, d) == BX_OK;
	return true;
}

int bx_daemon_propose(struct bx_daemon *d, cJSON *cmd, bx_submit_cb cb, void *data)
{
	init_first(d);
	if (!cJSON_HasObjectItem(cmd, "ts"))
		cJSON_AddNumberToObject(cmd, "ts", (double)bx_now_ms());
	return bx_proposer_submit(&d->proposer, cmd, cb, data);
}

const char *bx_daemon_leader_api(struct bx_daemon *d, char *buf, size_t size)
{
	uint64_t leader = bx_raft_node_leader(d->raft);
	cJSON *node = NULL;
	const cJSON *api;

	if (leader == 0 || bx_store_get_node(d->store, leader, &node) != 0)
		return NULL;
	api = cJSON_GetObjectItemCaseSensitive(node, "api");
	if (!cJSON_IsString(api) || api->valuestring[0] == '\0') {
		cJSON_Delete(node);
		return NULL;
	}
	snprintf(buf, size, "%s", api->valuestring);
	cJSON_Delete(node);
	return buf;
}

struct forward {
	bx_submit_cb cb;
	void *data;
};

static void forward_done(void *data, const struct bx_http_response *resp)
{
	struct forward *f = data;
	cJSON *body = NULL;
	const cJSON *jcode, *jerr, *jrecord;
	int code;

	if (resp->code != BX_OK) {
		f->cb(f->data, resp->code,
		      resp->errmsg ? resp->errmsg : bx_strerror(resp->code), NULL);
		free(f);
		return;
	}
	body = cJSON_ParseWithLength(resp->body, resp->body_len);
	jcode = cJSON_GetObjectItemCaseSensitive(body, "code");
	jerr = cJSON_GetObjectItemCaseSensitive(body, "error");
	jrecord = resp->status == 200 ? body : NULL;
	if (resp->status == 200)
		code = BX_OK;
	else if (cJSON_IsNumber(jcode))
		code = jcode->valueint;
	else
		code = resp->status == 503 ? BX_ENOLEADER : BX_EIO;
	f->cb(f->data, code, cJSON_IsString(jerr) ? jerr->valuestring : bx_strerror(code),
	      cJSON_IsObject(jrecord) ? jrecord : NULL);
	cJSON_Delete(body);
	free(f);
}

void bx_daemon_submit(struct bx_daemon *d, cJSON *cmd, bx_submit_cb cb, void *data)
{
	char api[256], url[300];
	struct bx_http_call_opts opts = {.timeout_ms = FORWARD_TIMEOUT_MS,
					 .connect_timeout_ms = 1000,
					 .headers = d->peer_headers};
	struct forward *f;
	char *body;
	int rv;

	if (bx_raft_node_is_leader(d->raft)) {
		rv = bx_daemon_propose(d, cmd, cb, data);
		if (rv != 0)
			cb(data, rv, bx_strerror(rv), NULL);
		return;
	}
	if (bx_daemon_leader_api(d, api, sizeof api) == NULL) {
		cJSON_Delete(cmd);
		cb(data, BX_ENOLEADER, "no leader", NULL);
		return;
	}
	if (!cJSON_HasObjectItem(cmd, "ts"))
		cJSON_AddNumberToObject(cmd, "ts", (double)bx_now_ms());
	body = cJSON_PrintUnformatted(cmd);
	cJSON_Delete(cmd);
	f = malloc(sizeof *f);
	if (body == NULL || f == NULL) {
		free(body);
		free(f);
		cb(data, BX_ENOMEM, "out of memory", NULL);
		return;
	}
	f->cb = cb;
	f->data = data;
	snprintf(url, sizeof url, "http://%s/v1/internal/command", api);
	rv = bx_http_client_request(d->client, "POST", url, body, strlen(body), &opts,
				    forward_done, f);
	free(body);
	if (rv != 0) {
		free(f);
		cb(data, rv, bx_strerror(rv), NULL);
	}
}

/* --- joining ----------------------------------------------------------- */

/*
 * A node without the cluster secret joins in two steps. Admission first
 * (POST /v1/cluster/admit): the cluster spends the invite and answers with the
 * secret, which the node keeps before anything else. Then the join proper,
 * as a holder of the secret: the leader adds the server and catches it up,
 * over Raft connections the node can now accept. (In one step the leader
 * would wait for a catch-up whose connections wait for the answer.)
 */
static int take_secret(struct bx_daemon *d, const cJSON *answer, char *errmsg)
{
	const char *secret =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(answer, "secret"));
	int rv;

	if (secret == NULL)
		return bx_err(errmsg, BX_EINVAL,
			      "the cluster's answer to the admission carries no secret");
	rv = bx_secret_check(secret, "the cluster's answer to the admission", errmsg);
	if (rv == 0)
		rv = bx_daemon_set_secret(d, secret, errmsg);
	return rv;
}

static void join_done(void *data, const struct bx_http_response *resp)
{
	struct bx_daemon *d = data;
	char errmsg[BX_ERRMSG_SIZE] = "";
	cJSON *body = NULL;
	const cJSON *cluster, *err;
	unsigned delay;

	d->join_in_flight = false;
	if (d->stopping)
		return;
	if (resp->code == BX_OK && resp->status == 200) {
		body = cJSON_ParseWithLength(resp->body, resp->body_len);
		cluster = cJSON_GetObjectItemCaseSensitive(body, "cluster_id");
		if (cJSON_IsString(cluster)) {
			int rv;
			if (d->secret[0] == '\0') { /* the answer to the admission */
				rv = take_secret(d, body, errmsg);
				if (rv == 0) {
					BX_INFO("daemon",
						"admitted to cluster %s: joining",
						cluster->valuestring);
					cJSON_Delete(body);
					/* the join proper, at the next tick */
					d->join_attempts = 0;
					d->join_retry_at = 0;
					return;
				}
			} else {
				rv = bx_daemon_adopt_cluster(d, cluster->valuestring,
							     errmsg);
			}
			cJSON_Delete(body);
			if (rv != 0) {
				BX_ERROR("daemon", "join refused: %s", errmsg);
				d->exit_code = 1;
				bx_daemon_shutdown(d);
				return;
			}
			d->joining = false;
			BX_INFO("daemon", "joined cluster %s through %s", d->cluster_id,
				d->join_target);
			return;
		}
		cJSON_Delete(body);
	}
	body = resp->body_len ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
	err = cJSON_GetObjectItemCaseSensitive(body, "error");
	/* A refusal the cluster will keep giving (4xx) is final; a missing
	 * leader or an unreachable member (5xx, transport) is worth retrying. */
	if (resp->code == BX_OK && resp->status >= 400 && resp->status < 500) {
		BX_ERROR("daemon", "join through %s refused: %s", d->join_target,
			 cJSON_IsString(err) ? err->valuestring : "HTTP error");
		cJSON_Delete(body);
		d->exit_code = 1;
		bx_daemon_shutdown(d);
		return;
	}
	delay = 250u << (d->join_attempts < 5 ? d->join_attempts : 5);
	/* an invite names several members: try the next one */
	if (d->invite != NULL && d->invite->n_members > 1) {
		d->invite_member =
		    (d->invite_member + 1) % (unsigned)d->invite->n_members;
		snprintf(d->join_target, sizeof d->join_target, "%s",
			 d->invite->members[d->invite_member]);
	}
	BX_WARN(
	    "daemon", "join through %s failed (%s); retrying in %u ms", d->join_target,
	    cJSON_IsString(err) ? err->valuestring
				: (resp->errmsg ? resp->errmsg : bx_strerror(resp->code)),
	    delay);
	cJSON_Delete(body);
	d->join_attempts++;
	d->join_retry_at = uv_now(d->loop) + delay;
}

static void join_send(struct bx_daemon *d)
{
	struct bx_http_call_opts opts = {.timeout_ms = JOIN_TIMEOUT_MS,
					 .connect_timeout_ms = 2000,
					 .headers = d->peer_headers};
	char url[320];
	cJSON *req = cJSON_CreateObject();
	bool admit = d->secret[0] == '\0'; /* only with an invite: bx_daemon_join */
	char *body;

	cJSON_AddNumberToObject(req, "id", (double)d->id);
	if (!admit) {
		cJSON_AddStringToObject(req, "name", d->cfg->name ? d->cfg->name : "");
		cJSON_AddStringToObject(req, "raft", d->raft_addr);
		cJSON_AddStringToObject(req, "api", d->api_addr);
	}
	if (d->cluster_id[0] != '\0')
		cJSON_AddStringToObject(req, "cluster_id", d->cluster_id);
	else if (d->invite != NULL)
		cJSON_AddStringToObject(req, "cluster_id", d->invite->cluster_id);
	if (d->invite != NULL) {
		cJSON *inv = cJSON_AddObjectToObject(req, "invite");
		cJSON_AddStringToObject(inv, "id", d->invite->id);
		cJSON_AddStringToObject(inv, "secret", d->invite->secret);
	}
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (body == NULL)
		return;
	snprintf(url, sizeof url, "http://%s/v1/cluster/%s", d->join_target,
		 admit ? "admit" : "join");
	d->join_in_flight = true;
	if (bx_http_client_request(d->client, "POST", url, body, strlen(body), &opts,
				   join_done, d) != 0) {
		d->join_in_flight = false;
		d->join_retry_at = uv_now(d->loop) + 1000;
	}
	free(body);
}

int bx_daemon_join(struct bx_daemon *d, const char *target, char *errmsg)
{
	int rv;

	if (d->invite == NULL && d->secret[0] == '\0')
		return bx_err(
		    errmsg, BX_EINVAL,
		    "joining needs an invite or the cluster secret: start the node "
		    "with --join-token TOKEN ('blixard invite create' on a member), "
		    "or give it the secret with --cluster-secret-file");
	rv = bx_daemon_begin(d, false, errmsg); /* 'blixard join' ends discovery */

	if (rv != 0)
		return rv;
	if (strlen(target) >= sizeof d->join_target)
		return bx_err(errmsg, BX_EINVAL, "join address too long: '%s'", target);
	if (d->joining)
		return bx_err(errmsg, BX_EBUSY, "already joining through %s",
			      d->join_target);
	snprintf(d->join_target, sizeof d->join_target, "%s", target);
	d->joining = true;
	d->join_attempts = 0;
	d->join_retry_at = 0; /* the next tick sends it: the client may not exist yet */
	BX_INFO("daemon", "joining the cluster through %s as node %llu", target,
		(unsigned long long)d->id);
	return BX_OK;
}

/* --- standing duties, every tick ---------------------------------------- */

static void duty_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_daemon *d = data;

	(void)record;
	d->duty_in_flight = false;
	if (code != BX_OK && code != BX_ECONFLICT)
		BX_WARN("daemon", "cluster bookkeeping failed: %s", msg);
}

/* The node record says where this node's API and Raft listen, what it
 * offers and its labels; keep it true. */
static bool own_record_current(struct bx_daemon *d)
{
	cJSON *node = NULL;
	const cJSON *api, *raft, *name;
	bool same;

	if (bx_store_get_node(d->store, d->id, &node) != 0)
		return false;
	api = cJSON_GetObjectItemCaseSensitive(node, "api");
	raft = cJSON_GetObjectItemCaseSensitive(node, "raft");
	name = cJSON_GetObjectItemCaseSensitive(node, "name");
	same =
	    cJSON_IsString(api) && cJSON_IsString(raft) && cJSON_IsString(name) &&
	    strcmp(api->valuestring, d->api_addr) == 0 &&
	    strcmp(raft->valuestring, d->raft_addr) == 0 &&
	    strcmp(name->valuestring, d->cfg->name ? d->cfg->name : "") == 0 &&
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(node, "memory_mb")) ==
		(double)d->memory_mb &&
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(node, "vcpus")) ==
		(double)d->vcpus &&
	    cJSON_Compare(cJSON_GetObjectItemCaseSensitive(node, "labels"), d->labels,
			  true);
	cJSON_Delete(node);
	return same;
}

static cJSON *own_upsert(struct bx_daemon *d)
{
	struct bx_node_info self = {.id = d->id,
				    .name = d->cfg->name,
				    .api = d->api_addr,
				    .raft = d->raft_addr,
				    .capacity = true,
				    .memory_mb = d->memory_mb,
				    .vcpus = d->vcpus,
				    .labels = d->labels};

	return bx_cmd_node_upsert(&self);
}

static void leader_duties(struct bx_daemon *d)
{
	if (d->duty_in_flight || init_first(d))
		return;
	if (d->inflight_assign == 0)
		bx_cluster_schedule(d);
}

/* --- scheduling ----------------------------------------------------------- */

#define MAX_MOVES_PER_PASS 1024

static void assign_done(void *data, int code, const char *msg, const cJSON *record)
{
	struct bx_daemon *d = data;

	(void)record;
	if (d->inflight_assign > 0)
		d->inflight_assign--;
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
static int load_nodes(struct bx_daemon *d, struct sched_nodes *sn)
{
	struct raft *r = bx_raft_node_raft(d->raft);
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
		if (bx_store_get_node(d->store, id, &rec) != 0)
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
 * d->schedule_scan instead.
 */
static bool work_in_index(struct bx_daemon *d, const struct sched_nodes *sn)
{
	struct bx_store_load *loads = NULL;
	size_t n_loads = 0;
	bool work = false;

	if (bx_store_loads(d->store, &loads, &n_loads) != 0)
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

static void propose_move(struct bx_daemon *d, const struct bx_sched_move *m)
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
	if (bx_daemon_propose(d, cmd, assign_done, d) == BX_OK)
		d->inflight_assign++;
}

void bx_cluster_schedule(struct bx_daemon *d)
{
	struct sched_nodes sn = {0};
	struct bx_sched_move *moves = NULL;
	size_t n_moves = 0;
	cJSON *all = NULL;

	/* A pass runs after an entry that can leave a service without a node
	 * (put, start, node changes, restore), and every 5 s in any case: Raft
	 * configuration changes (a node joining or leaving) are not FSM entries. */
	if (!d->schedule_due && uv_now(d->loop) - d->scheduled_at < 5000)
		return;
	if (uv_now(d->loop) - d->scheduled_at < BX_SCHEDULE_GAP_MS)
		return; /* at most ~3 passes a second during a burst of writes */
	d->schedule_due = false;
	d->scheduled_at = uv_now(d->loop);
	if (load_nodes(d, &sn) != 0)
		return;
	/* Reading every record costs a pass over the whole state: only when
	 * there is something to decide. */
	if ((d->schedule_scan || work_in_index(d, &sn)) &&
	    bx_store_list_services(d->store, &all) == 0) {
		d->schedule_scan = false;
		if (bx_schedule(all, sn.nodes, sn.n, MAX_MOVES_PER_PASS, &moves,
				&n_moves) == 0) {
			for (size_t i = 0; i < n_moves; i++)
				propose_move(d, &moves[i]);
			/* a full pass leaves more for the next one */
			if (n_moves == MAX_MOVES_PER_PASS)
				d->schedule_due = true;
		}
	}
	free(moves);
	cJSON_Delete(all);
	sched_nodes_free(&sn);
}

void bx_cluster_tick(struct bx_daemon *d)
{
	if (d->stopping)
		return;
	if (d->discovering) {
		bx_discovery_tick(d->disc);
		return;
	}
	if (d->joining && !d->join_in_flight && uv_now(d->loop) >= d->join_retry_at)
		join_send(d);
	if (d->joining || d->cluster_id[0] == '\0')
		return;
	if (bx_raft_node_is_leader(d->raft))
		leader_duties(d);
	if (!d->duty_in_flight && bx_raft_node_leader(d->raft) != 0 &&
	    !own_record_current(d)) {
		d->duty_in_flight = true;
		bx_daemon_submit(d, own_upsert(d), duty_done, d);
	}
}
