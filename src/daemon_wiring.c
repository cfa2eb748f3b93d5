/* daemon_wiring.c - the composition root's wiring: which component answers which
 * port. Each component gets the loop, the store, the clock and the few functions
 * it needs; only these files know struct bx_daemon. */
#include "src/daemon_internal.h"

#include "net/http_client.h"
#include "raft/node.h"
#include "src/base/log.h"
#include "src/node/agent.h"

#include <string.h>

void bx_daemon_on_apply(struct bx_fsm *fsm, const struct bx_fsm_result *res, enum bx_op op,
		     const char *name)
{
	struct bx_daemon *d = fsm->data;

	if (op == BX_OP_RESTORE)
		BX_INFO("raft", "restored snapshot: state at index %llu",
			(unsigned long long)bx_store_applied_index(d->store));
	if (res != NULL && res->failed_over) {
		d->metrics.failovers++;
		bx_hist_observe(&d->metrics.failover, res->failover_ms / 1000);
	}
	if (bx_duties_applied(&d->duties, op, res))
		bx_daemon_kick_tick(d);
	if (d->agent != NULL)
		bx_agent_notify(d->agent, op, name, res != NULL ? res->record : NULL);
}

/* --- commands, joining, duties ------------------------------------------- */

static void before_propose(void *data)
{
	bx_duties_init_first(&((struct bx_daemon *)data)->duties);
}

static bool join_has_secret(void *data)
{
	return ((struct bx_daemon *)data)->secret[0] != '\0';
}

static int join_take_secret(void *data, const char *secret, char *errmsg)
{
	return bx_daemon_set_secret(data, secret, errmsg);
}

static int join_adopt_cluster(void *data, const char *cluster_id, char *errmsg)
{
	return bx_daemon_adopt_cluster(data, cluster_id, errmsg);
}

static void join_refused(void *data)
{
	struct bx_daemon *d = data;

	d->exit_code = 1;
	bx_daemon_shutdown(d);
}

/* Once Raft is made, before it starts (a replay applies entries at once):
 * the submitter, the standing duties and the join flow. The HTTP client
 * comes later (start_node): nothing sends before the loop runs. */
void bx_daemon_wire_cluster(struct bx_daemon *d)
{
	bx_submit_init(&d->submit);
	d->submit.raft = d->raft;
	d->submit.store = d->store;
	d->submit.proposer = &d->proposer;
	d->submit.headers = d->peer_headers;
	d->submit.before_propose = before_propose;
	d->submit.data = d;
	d->duties.loop = d->loop;
	d->duties.store = d->store;
	d->duties.raft = d->raft;
	d->duties.proposer = &d->proposer;
	d->duties.submit = &d->submit;
	d->duties.cluster_id = d->cluster_id;
	d->duties.self = (struct bx_node_info){.id = d->id,
					       .name = d->cfg->name,
					       .api = d->api_addr,
					       .raft = d->raft_addr,
					       .capacity = true,
					       .memory_mb = d->memory_mb,
					       .vcpus = d->vcpus,
					       .labels = d->labels};
	d->join.loop = d->loop;
	d->join.headers = d->peer_headers;
	d->join.node_id = d->id;
	d->join.name = d->cfg->name;
	d->join.api_addr = d->api_addr;
	d->join.raft_addr = d->raft_addr;
	d->join.cluster_id = d->cluster_id;
	d->join.data = d;
	d->join.has_secret = join_has_secret;
	d->join.take_secret = join_take_secret;
	d->join.adopt_cluster = join_adopt_cluster;
	d->join.refused = join_refused;
}

int bx_daemon_join(struct bx_daemon *d, const char *target, char *errmsg)
{
	int rv = bx_join_check(&d->join, errmsg);

	if (rv == 0)
		rv = bx_daemon_begin(d, false, errmsg); /* 'blixard join' ends discovery */
	if (rv == 0)
		rv = bx_join_start(&d->join, target, errmsg);
	return rv;
}




/* --- the ports: what the node's components ask of each other ------------
 * Each component gets the loop, the store, the clock and the few functions
 * it needs (src/node/submit.h, agent.h, heartbeat.h); only this file knows
 * struct bx_daemon and which component answers which port. */

static uint64_t loop_now(const struct bx_clock *clock)
{
	return uv_now(clock->data);
}

static uint64_t port_leader(void *data)
{
	struct bx_daemon *d = data;

	return d->raft != NULL ? bx_raft_node_leader(d->raft) : 0;
}

static bool port_is_leader(void *data)
{
	struct bx_daemon *d = data;

	return d->raft != NULL && bx_raft_node_is_leader(d->raft);
}

static uint64_t port_term(void *data)
{
	struct bx_daemon *d = data;

	return d->raft != NULL ? bx_raft_node_term(d->raft) : 0;
}

/* Bootstrapped or joined: the node holds a cluster's state. */
bool bx_daemon_in_cluster(const struct bx_daemon *d)
{

	return !d->discovering && !d->join.joining && d->cluster_id[0] != '\0';
}

static bool port_in_cluster(void *data)
{
	return bx_daemon_in_cluster(data);
}

static int port_send_beat(void *data, uint64_t leader, bx_beat_cb cb, void *cb_data)
{
	return bx_heartbeat_http_send(&((struct bx_daemon *)data)->beat_http, leader, cb,
				      cb_data);
}

static bool port_may_run(void *data)
{
	return bx_heartbeat_may_run(&((struct bx_daemon *)data)->hb);
}

static bool port_may_start(void *data)
{
	return bx_heartbeat_may_start(&((struct bx_daemon *)data)->hb);
}

static void port_fence(void *data)
{
	struct bx_daemon *d = data;

	if (d->agent != NULL)
		bx_agent_fence(d->agent);
}

static void port_lease_changed(void *data)
{
	struct bx_daemon *d = data;

	if (d->agent != NULL)
		bx_agent_lease_changed(d->agent);
}

/* Discovery's verdict: start Raft as it says (and join), or stop, saying why. */
static void discovered(void *data, enum bx_discovery_verdict verdict, const char *join_api)
{
	struct bx_daemon *d = data;
	char errmsg[BX_ERRMSG_SIZE] = "";
	int rv = bx_daemon_begin(d, verdict == BX_DISC_BOOTSTRAP, errmsg);

	if (rv == 0 && verdict == BX_DISC_JOIN)
		rv = bx_daemon_join(d, join_api, errmsg);
	if (rv != 0) {
		BX_ERROR("discovery", "%s", errmsg);
		d->exit_code = 1;
		bx_daemon_shutdown(d);
	}
}

int bx_daemon_start_discovery(struct bx_daemon *d, char *errmsg)
{
	struct bx_discovery_config cfg = {.loop = d->loop,
					  .settings = d->cfg,
					  .client = d->client,
					  .headers = d->peer_headers,
					  .node_id = d->id,
					  .api_addr = d->api_addr,
					  .data = d,
					  .decided = discovered};

	return bx_discovery_init(&d->disc, &cfg, errmsg);
}

static bool api_discovering(void *data)
{
	return ((struct bx_daemon *)data)->discovering;
}

static int api_join(void *data, const char *target, char *errmsg)
{
	return bx_daemon_join(data, target, errmsg);
}

/* The heartbeat (this node's lease, the leader's view of who is alive), the
 * agent and the API's view of the node, wired to each other here. */
int bx_daemon_start_node(struct bx_daemon *d, char *errmsg)
{
	d->clock = (struct bx_clock){.now_ms = loop_now, .data = d->loop};
	d->submit.client = d->client;
	d->join.client = d->client;
	d->beat_http = (struct bx_heartbeat_http){.client = d->client,
						  .headers = d->peer_headers,
						  .submitter = &d->submit.port,
						  .node_id = d->id,
						  .cluster_id = d->cluster_id,
						  .lease_ms = d->cfg->lease_ms};
	struct bx_heartbeat_config hb = {.loop = d->loop,
					 .clock = &d->clock,
					 .store = d->store,
					 .node_id = d->id,
					 .lease_ms = d->cfg->lease_ms,
					 .fence_timeout_ms = d->cfg->fence_timeout_ms,
					 .node_timeout_ms = d->cfg->node_timeout_ms,
					 .submitter = &d->submit.port,
					 .data = d,
					 .leader = port_leader,
					 .is_leader = port_is_leader,
					 .term = port_term,
					 .in_cluster = port_in_cluster,
					 .send = port_send_beat,
					 .on_fence = port_fence,
					 .on_lease_changed = port_lease_changed};
	struct bx_agent_config agent = {.loop = d->loop,
					.clock = &d->clock,
					.store = d->store,
					.node_id = d->id,
					.data_dir = d->cfg->data_dir,
					.fence_timeout_ms = d->cfg->fence_timeout_ms,
					.client = d->client,
					.metrics = &d->metrics,
					.submitter = &d->submit.port,
					.data = d,
					.may_run = port_may_run,
					.may_start = port_may_start,
					.in_cluster = port_in_cluster};
	int rv = bx_heartbeat_init(&d->hb, &hb);

	if (rv != 0)
		return bx_err(errmsg, rv, "set up the heartbeat");
	rv = bx_agent_init(&d->agent, &agent, errmsg);
	if (rv != 0)
		return rv;
	d->api = (struct bx_api){.loop = d->loop,
				 .store = d->store,
				 .raft = d->raft,
				 .submitter = &d->submit.port,
				 .client = d->client,
				 .metrics = &d->metrics,
				 .proposer = &d->proposer,
				 .agent = d->agent,
				 .hb = &d->hb,
				 .node_id = d->id,
				 .cluster_id = d->cluster_id,
				 .api_addr = d->api_addr,
				 .peer_headers = d->peer_headers,
				 .cluster_token = d->cluster_token,
				 .secret = d->secret,
				 .data = d,
				 .discovering = api_discovering,
				 .join = api_join};
	return BX_OK;
}
