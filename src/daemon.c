/* daemon.c - start-up, identity, the loop's lifetime, and shutdown. */
#include "src/daemon_internal.h"

#include "net/http_client.h"
#include "net/http_server.h"
#include "raft/node.h"
#include "src/api/api.h"
#include "src/base/file.h"
#include "src/base/log.h"
#include "src/model/invite.h"
#include "src/model/secret.h"
#include "src/node/advertise.h"
#include "src/node/agent.h"
#include "src/node/discovery.h"
#include "src/node/duties.h"
#include "src/node/heartbeat_http.h"
#include "src/node/join.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * Data directory layout:
 *   node.json   identity: {"id": N, "cluster_id": "hex"}; written once at
 *               bootstrap/join, checked at every start
 *   cluster.secret  the cluster secret (secret.h), 0600; written before the
 *               Raft state it guards (bootstrap, join), so a node with Raft
 *               state always has it
 *   lock        flock()ed while a daemon uses the directory
 *   raft/       libraft's log, metadata and snapshots (the durable record)
 *   state/      LMDB, the applied state (a cache of the log's prefix)
 *   vms/NAME/   per-instance driver files (pidfile, console log, sockets)
 */

#define TICK_MS 100












static int open_store(struct bx_daemon *d, char *errmsg)
{
	char dir[PATH_MAX];
	const char *stored;
	int rv = bx_path_join(dir, sizeof dir, d->cfg->data_dir, "state", errmsg);

	if (rv != 0)
		return rv;
	rv = bx_store_open(dir, NULL, &d->store, errmsg);
	if (rv != 0)
		return rv;
	stored = bx_store_cluster_id(d->store);
	if (stored != NULL && stored[0] != '\0' && d->cluster_id[0] != '\0' &&
	    strcmp(stored, d->cluster_id) != 0)
		return bx_err(
		    errmsg, BX_EMISMATCH,
		    "'%s' holds the state of cluster %s, but '%s' says cluster %s", dir,
		    stored, d->identity_path, d->cluster_id);
	return BX_OK;
}




/* Start Raft: as a new one-node cluster (a new cluster id) with `bootstrap`. */
static int begin_raft(struct bx_daemon *d, bool bootstrap, char *errmsg);

/* A node joined with a standby invite: its record says so, on every node. */
static bool node_is_standby(void *data, uint64_t id)
{
	struct bx_daemon *d = data;
	cJSON *rec = NULL;
	bool standby = bx_store_get_node(d->store, id, &rec) == 0 &&
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "standby"));

	cJSON_Delete(rec);
	return standby;
}

static int start_raft(struct bx_daemon *d, char *errmsg)
{
	char dir[PATH_MAX];
	struct bx_raft_node_config rc;
	bool fresh;
	int rv = bx_path_join(dir, sizeof dir, d->cfg->data_dir, "raft", errmsg);

	if (rv != 0)
		return rv;
	fresh = bx_raft_node_is_fresh(dir);
	rv = bx_daemon_establish_identity(d, fresh, errmsg);
	if (rv != 0)
		return rv;
	rv = open_store(d, errmsg);
	if (rv != 0)
		return rv;
	rv = bx_daemon_load_secret(d, fresh, errmsg);
	if (rv != 0)
		return rv;

	memset(&rc, 0, sizeof rc);
	rc.id = d->id;
	rc.address = d->raft_addr;
	rc.bind = d->cfg->raft;
	rc.dir = dir;
	rc.heartbeat_ms = d->cfg->heartbeat_ms;
	rc.election_ms = d->cfg->election_ms;
	rc.snapshot_threshold = d->cfg->snapshot_threshold;
	rc.snapshot_trailing = d->cfg->snapshot_trailing;
	rc.max_voters = d->cfg->max_voters;
	rc.secret = d->secret;
	rv = bx_fsm_init(&d->fsm, d->store, bx_fsm_validate_spec, bx_daemon_on_apply, d);
	if (rv != 0)
		return bx_err(errmsg, rv, "initialise the state machine");
	rv = bx_raft_node_init(&d->raft, d->loop, &rc, &d->fsm.fsm, errmsg);
	if (rv != 0)
		return rv;
	bx_raft_node_keep_standby(d->raft, node_is_standby, d);
	bx_proposer_init(&d->proposer, d->loop, d->raft, &d->fsm);
	d->proposer.commit = &d->metrics.commit;
	bx_fsm_set_raft(&d->fsm, bx_raft_node_raft(d->raft));
	bx_daemon_wire_cluster(d);

	if (!fresh && d->cfg->bootstrap)
		BX_INFO("daemon", "'%s' already holds Raft state: --bootstrap ignored",
			dir);
	if (bx_discovery_wanted(d->cfg, fresh)) {
		/* the nodes that find each other prove membership to each other
		 * before any of them has bootstrapped: they share the secret */
		if (d->secret[0] == '\0')
			return bx_err(
			    errmsg, BX_EINVAL,
			    "discovery needs the cluster secret every node shares: "
			    "give it with --cluster-secret-file (or join with "
			    "--join-token)");
		d->discovering = true; /* bx_daemon_begin, once discovery decides */
		return BX_OK;
	}
	rv = begin_raft(d, fresh && d->cfg->bootstrap, errmsg);
	if (rv != 0)
		return rv;
	if (fresh && !d->cfg->bootstrap && d->cfg->join_token != NULL &&
	    d->cfg->join_token[0] != '\0') {
		rv = bx_join_use_invite(&d->join, d->cfg->join_token, errmsg);
		if (rv != 0)
			return rv;
		return bx_daemon_join(d, d->join.invite->members[0], errmsg);
	}
	if (fresh && !d->cfg->bootstrap && d->cfg->join != NULL &&
	    d->cfg->join[0] != '\0')
		return bx_daemon_join(d, d->cfg->join, errmsg);
	if (fresh && !d->cfg->bootstrap)
		BX_INFO(
		    "daemon",
		    "node %llu is not part of a cluster yet: start it with --bootstrap, "
		    "or run 'blixard join HOST:PORT'",
		    (unsigned long long)d->id);
	return BX_OK;
}

int bx_daemon_begin(struct bx_daemon *d, bool bootstrap, char *errmsg)
{
	int rv;

	if (!d->discovering)
		return BX_OK;
	rv = begin_raft(d, bootstrap, errmsg);
	if (rv != 0)
		return rv;
	d->discovering = false;
	bx_discovery_stop(d->disc);
	return BX_OK;
}

static int begin_raft(struct bx_daemon *d, bool bootstrap, char *errmsg)
{
	int rv;

	if (bootstrap) {
		char secret[BX_SECRET_MAX + 1];
		if (d->secret[0] == '\0') {
			if (bx_secret_generate(secret) != 0)
				return bx_err(errmsg, BX_EIO,
					      "no random source for the cluster secret");
			rv = bx_daemon_set_secret(d, secret, errmsg);
			OPENSSL_cleanse(secret, sizeof secret);
			if (rv != 0)
				return rv;
		}
		bx_daemon_random_hex(d->cluster_id, 16);
		rv = bx_raft_node_bootstrap(d->raft, errmsg);
		if (rv != 0)
			return rv;
		rv = bx_daemon_identity_save(d, errmsg);
		if (rv != 0)
			return rv;
		BX_INFO("daemon", "bootstrapped new cluster %s as node %llu",
			d->cluster_id, (unsigned long long)d->id);
	}
	return bx_raft_node_start(d->raft, errmsg);
}

static void observe_api(void *data, const struct bx_http_request *req, int status,
			double seconds)
{
	struct bx_daemon *d = data;

	bx_metrics_api(&d->metrics, req->method, req->path, status, seconds);
}

static int start_api(struct bx_daemon *d, char *errmsg)
{
	int rv = bx_http_server_init(&d->http, d->loop, bx_api_handle, &d->api,
				     BX_API_MAX_BODY,
				     errmsg);

	if (rv != 0)
		return rv;
	bx_http_server_observe(d->http, observe_api, d);
	if (d->cfg->api != NULL && d->cfg->api[0] != '\0') {
		rv = bx_http_server_listen_tcp(d->http, d->cfg->api, errmsg);
		if (rv != 0)
			return bx_errwrap(errmsg, rv, "listen for the API on '%s'",
					  d->cfg->api);
	}
	if (d->cfg->socket != NULL && d->cfg->socket[0] != '\0') {
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s", d->cfg->socket);
		char *slash = strrchr(parent, '/');
		if (slash != NULL && slash != parent) {
			*slash = '\0';
			rv = bx_mkdir_p(parent, 0755, errmsg);
			if (rv != 0)
				return rv;
		}
		rv = bx_http_server_listen_unix(d->http, d->cfg->socket, errmsg);
		if (rv != 0)
			return bx_errwrap(errmsg, rv, "listen on '%s'", d->cfg->socket);
	}
	return bx_http_client_init(&d->client, d->loop, errmsg);
}


























/* --- shutdown -------------------------------------------------------------
 * Stop first: nothing new is sent, proposed, started or answered. Then close
 * the components one after the other, each once the one before has called
 * back: the API (no request is taken), the agent (it lets go of its VMs,
 * which keep running: invariant 6), the heartbeat (whoever waits for a
 * lease is answered), the HTTP client (requests out end),
 * Raft (a leader hands over first; proposals still queued are answered),
 * and last the FSM and the store. */

static void close_next(void *data);

static void closed_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void close_http(struct bx_daemon *d)
{
	struct bx_http_server *http = d->http;

	d->http = NULL;
	if (http != NULL)
		bx_http_server_close(http, close_next, d);
	else
		close_next(d);
}

static void close_agent(struct bx_daemon *d)
{
	struct bx_agent *agent = d->agent;

	d->agent = NULL;
	d->api.agent = NULL;
	if (agent != NULL)
		bx_agent_close(agent, close_next, d);
	else
		close_next(d);
}

static void close_heartbeat(struct bx_daemon *d)
{
	bx_heartbeat_close(&d->hb, close_next, d);
}

static void close_client(struct bx_daemon *d)
{
	struct bx_http_client *client = d->client;

	d->client = NULL;
	if (client != NULL)
		bx_http_client_close(client, close_next, d);
	else
		close_next(d);
}

static void close_raft(struct bx_daemon *d)
{
	struct bx_raft_node *raft = d->raft;

	bx_proposer_flush(&d->proposer); /* Raft answers them, if only "shut down" */
	d->raft = NULL;
	bx_raft_node_close(raft, close_next, d);
}

static void close_store(struct bx_daemon *d)
{
	bx_fsm_close(&d->fsm);
	bx_store_close(d->store);
	d->store = NULL;
	BX_INFO("daemon", "stopped");
	uv_walk(d->loop, closed_walk, NULL); /* the timers and signals */
}

/* The order components close in; each but the last calls close_next when done. */
static void (*const close_steps[])(struct bx_daemon *d) = {
    close_http, close_agent, close_heartbeat, close_client, close_raft, close_store,
};

static void close_next(void *data)
{
	struct bx_daemon *d = data;

	if (d->close_step < sizeof close_steps / sizeof close_steps[0])
		close_steps[d->close_step++](d);
}

void bx_daemon_shutdown(struct bx_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	BX_INFO("daemon", "stopping");
	uv_timer_stop(&d->tick);
	uv_signal_stop(&d->sigterm);
	uv_signal_stop(&d->sigint);
	bx_heartbeat_stop(&d->hb);
	bx_discovery_stop(d->disc);
	bx_join_stop(&d->join);
	bx_api_stop(&d->api);
	if (d->agent != NULL)
		bx_agent_stop(d->agent);
	close_next(d);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct bx_daemon *d = sig->data;

	BX_INFO("daemon", "received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	bx_daemon_shutdown(d);
}

static void on_tick(uv_timer_t *timer)
{
	struct bx_daemon *d = timer->data;

	d->tick_kicked = false;
	if (d->stopping)
		return;
	if (d->discovering) {
		bx_discovery_tick(d->disc);
		return;
	}
	bx_join_tick(&d->join);
	if (bx_daemon_in_cluster(d))
		bx_duties_tick(&d->duties);
}

/*
 * A placement is due: on the leader, run the tick as soon as the scheduler
 * may pass again (BX_SCHEDULE_GAP_MS after the last) rather than at the next
 * TICK_MS, so that a start reaches its node without waiting for the tick.
 */
void bx_daemon_kick_tick(struct bx_daemon *d)
{
	uint64_t delay;

	if (d->tick_kicked || d->stopping || d->raft == NULL ||
	    !bx_raft_node_is_leader(d->raft))
		return;
	delay = bx_duties_wait_ms(&d->duties, uv_now(d->loop));
	if (delay >= TICK_MS)
		return; /* the regular tick comes first */
	d->tick_kicked = true;
	uv_timer_start(&d->tick, on_tick, delay, TICK_MS);
}


int bx_daemon_run(struct bx_config *cfg)
{
	char errmsg[BX_ERRMSG_SIZE] = "";
	struct bx_daemon d;
	uv_loop_t loop;
	int rv;

	memset(&d, 0, sizeof d);
	d.cfg = cfg;
	d.lock_fd = -1;
	d.loop = &loop;
	uv_loop_init(&loop);
	/* ready before Raft starts: replaying a one-node cluster's log inside
	 * raft_start can already ask for the tick (kick_tick) */
	uv_timer_init(&loop, &d.tick);
	d.tick.data = &d;
	signal(SIGPIPE, SIG_IGN);
	/* A SIGTERM during start-up (between the Raft bootstrap and node.json,
	 * say) must not kill the daemon half-way: held until the loop's handlers
	 * are in place, then an orderly stop. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);

	rv = bx_config_capacity(cfg, &d.memory_mb, &d.vcpus, errmsg);
	d.labels = cJSON_CreateObject();
	for (size_t i = 0; rv == 0 && i < cfg->labels_len; i++) {
		char key[BX_LABEL_KEY_MAX + 1];
		size_t n = strcspn(cfg->labels[i], "=");
		snprintf(key, sizeof key, "%.*s", (int)n, cfg->labels[i]);
		if (d.labels == NULL ||
		    cJSON_AddStringToObject(d.labels, key, cfg->labels[i] + n + 1) ==
			NULL)
			rv = bx_err(errmsg, BX_ENOMEM, "out of memory");
	}
	if (rv == 0)
		rv = bx_daemon_resolve_addresses(&d, &stop_signals, errmsg);
	if (rv == 0)
		rv = bx_mkdir_p(cfg->data_dir, 0700, errmsg);
	if (rv == 0)
		rv = bx_daemon_lock_dir(&d, errmsg);
	if (rv == 0)
		rv = bx_path_join(d.identity_path, sizeof d.identity_path, cfg->data_dir,
			       "node.json", errmsg);
	if (rv == 0)
		rv = start_raft(&d, errmsg);
	if (rv == 0)
		rv = start_api(&d, errmsg);
	if (rv == 0) {
		uv_update_time(&loop);
		rv = bx_daemon_start_node(&d, errmsg);
	}
	if (rv == 0 && d.discovering)
		rv = bx_daemon_start_discovery(&d, errmsg);
	if (rv != 0) {
		fprintf(stderr, "blixard daemon: %s\n",
			errmsg[0] ? errmsg : bx_strerror(rv));
		/* Start-up failed before the loop ran: no request was served and
		 * nothing was proposed, so leaving at once loses nothing. The
		 * kernel releases the lock, sockets and maps. */
		exit(1);
	}
	BX_INFO("daemon", "node %llu serving API on %s and %s, raft on %s",
		(unsigned long long)d.id, cfg->api && cfg->api[0] ? cfg->api : "-",
		cfg->socket && cfg->socket[0] ? cfg->socket : "-", cfg->raft);

	if (!uv_is_active((uv_handle_t *)&d.tick)) /* else kicked during start-up */
		uv_timer_start(&d.tick, on_tick, TICK_MS, TICK_MS);
	bx_heartbeat_start(&d.hb);
	bx_agent_start(d.agent);
	uv_signal_init(&loop, &d.sigterm);
	uv_signal_init(&loop, &d.sigint);
	d.sigterm.data = &d;
	d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);

	uv_run(&loop, UV_RUN_DEFAULT);
	bx_discovery_free(d.disc);
	bx_join_free(&d.join);
	bx_metrics_free(&d.metrics);
	cJSON_Delete(d.labels);
	uv_loop_close(&loop);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	return d.exit_code;
}

