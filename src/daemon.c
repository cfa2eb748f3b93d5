/* daemon.c - start-up, identity, the loop's lifetime, and shutdown. */
#include "src/daemon.h"

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
#include "src/node/cluster.h"
#include "src/node/discovery.h"
#include "src/node/heartbeat_http.h"

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

uint64_t bx_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

static int path_join(char *out, size_t size, const char *dir, const char *name,
		     char *errmsg)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s/%s'", dir, name);
	return BX_OK;
}

static int mkdir_p(const char *path, mode_t mode, char *errmsg)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s'", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return bx_err(errmsg, BX_EIO, "create directory '%s': %s", buf,
				      strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	return BX_OK;
}

/* Read node.json. BX_ENOENT if absent; a clear error naming the file if bad. */
static int identity_load(struct bx_daemon *d, uint64_t *id, char *cluster_id,
			 char *errmsg)
{
	char buf[4096];
	ssize_t n;
	int fd = open(d->identity_path, O_RDONLY | O_CLOEXEC);
	cJSON *json, *jid, *jcluster;

	if (fd < 0) {
		if (errno == ENOENT)
			return BX_ENOENT;
		return bx_err(errmsg, BX_EIO, "read '%s': %s", d->identity_path,
			      strerror(errno));
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return bx_err(errmsg, BX_EIO, "read '%s': %s", d->identity_path,
			      strerror(errno));
	buf[n] = '\0';
	json = cJSON_Parse(buf);
	jid = cJSON_GetObjectItemCaseSensitive(json, "id");
	jcluster = cJSON_GetObjectItemCaseSensitive(json, "cluster_id");
	if (!cJSON_IsNumber(jid) || jid->valuedouble < 1 || !cJSON_IsString(jcluster) ||
	    strlen(jcluster->valuestring) > 64) {
		cJSON_Delete(json);
		return bx_err(
		    errmsg, BX_ECORRUPT,
		    "'%s' is corrupt (want {\"id\": N, \"cluster_id\": \"...\"})",
		    d->identity_path);
	}
	*id = (uint64_t)jid->valuedouble;
	snprintf(cluster_id, 65, "%s", jcluster->valuestring);
	cJSON_Delete(json);
	return BX_OK;
}

/* Write node.json atomically (temp file, fsync, rename). */
static int identity_save(struct bx_daemon *d, char *errmsg)
{
	char body[256];
	int len = snprintf(body, sizeof body, "{\"id\": %llu, \"cluster_id\": \"%s\"}\n",
			   (unsigned long long)d->id, d->cluster_id);

	return bx_file_replace(d->identity_path, body, (size_t)len, true, errmsg);
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char raw[32];

	if (bytes > sizeof raw)
		bytes = sizeof raw;
	if (getrandom(raw, bytes, 0) != (ssize_t)bytes) {
		/* getrandom on Linux ≥ 3.17 does not fail for ≤ 256 bytes once the
		 * pool is initialised; fall back to time and pid just in case. */
		uint64_t seed = bx_now_ms() ^ ((uint64_t)getpid() << 32);
		for (size_t i = 0; i < bytes; i++)
			raw[i] =
			    (unsigned char)(seed >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	out[2 * bytes] = '\0';
}

/* A fresh node id: random, below 2^31 so it survives JSON doubles anywhere. */
static uint64_t random_id(void)
{
	uint32_t v = 0;

	while (v == 0) {
		if (getrandom(&v, sizeof v, 0) != sizeof v)
			v = (uint32_t)(bx_now_ms() ^ (uint64_t)getpid());
		v &= 0x7fffffffu;
	}
	return v;
}

static int lock_data_dir(struct bx_daemon *d, char *errmsg)
{
	char path[PATH_MAX];
	int rv = path_join(path, sizeof path, d->cfg->data_dir, "lock", errmsg);

	if (rv != 0)
		return rv;
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return bx_err(errmsg, BX_EIO, "open '%s': %s", path, strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return bx_err(errmsg, BX_EBUSY,
			      "data directory '%s' is in use by another blixard daemon",
			      d->cfg->data_dir);
	return BX_OK;
}

/* Decide this node's identity from node.json, the flags and the raft dir. */
static int establish_identity(struct bx_daemon *d, bool raft_fresh, char *errmsg)
{
	uint64_t id = 0;
	char cluster[65] = "";
	int rv = identity_load(d, &id, cluster, errmsg);

	if (rv == BX_ENOENT) {
		if (!raft_fresh)
			return bx_err(errmsg, BX_ECORRUPT,
				      "'%s' is missing but '%s/raft' holds Raft state: "
				      "refusing to guess this node's identity",
				      d->identity_path, d->cfg->data_dir);
		d->id = d->cfg->node_id ? d->cfg->node_id : random_id();
		d->cluster_id[0] = '\0';
		return BX_OK;
	}
	if (rv != 0)
		return rv;
	if (d->cfg->node_id != 0 && d->cfg->node_id != id)
		return bx_err(errmsg, BX_EMISMATCH,
			      "data directory '%s' belongs to node %llu, not node %llu",
			      d->cfg->data_dir, (unsigned long long)id,
			      (unsigned long long)d->cfg->node_id);
	d->id = id;
	snprintf(d->cluster_id, sizeof d->cluster_id, "%s", cluster);
	return BX_OK;
}

/* --- the cluster secret --------------------------------------------------- */

static void use_secret(struct bx_daemon *d, const char *secret)
{
	snprintf(d->secret, sizeof d->secret, "%s", secret);
	if (d->raft != NULL)
		bx_raft_node_set_secret(d->raft, d->secret);
	/* derived once: the API compares every request's token with it */
	bx_secret_api_token(d->secret, d->cluster_token);
	snprintf(d->peer_auth, sizeof d->peer_auth, "Authorization: Bearer %s",
		 d->cluster_token);
	d->peer_headers[0] = d->peer_auth;
	d->peer_headers[1] = NULL;
}

int bx_daemon_set_secret(struct bx_daemon *d, const char *secret, char *errmsg)
{
	int rv = bx_secret_save(d->cfg->data_dir, secret, errmsg);

	if (rv != 0)
		return rv;
	use_secret(d, secret);
	return BX_OK;
}

/* The secret in the data dir, or else the one of --cluster-secret-file
 * (then kept in the data dir); the two must agree. A node with Raft state
 * must have one: it was written before that state. */
static int load_secret(struct bx_daemon *d, bool raft_fresh, char *errmsg)
{
	char path[PATH_MAX], kept[BX_SECRET_MAX + 1] = "", given[BX_SECRET_MAX + 1] = "";
	const char *file = d->cfg->cluster_secret_file;
	int rv = path_join(path, sizeof path, d->cfg->data_dir, BX_SECRET_FILE, errmsg);

	if (rv != 0)
		return rv;
	rv = bx_secret_read(path, kept, errmsg);
	if (rv != 0 && rv != BX_ENOENT)
		return rv;
	rv = BX_OK;
	if (file != NULL && file[0] != '\0') {
		rv = bx_secret_read(file, given, errmsg);
		if (rv == 0 && kept[0] != '\0' && strcmp(kept, given) != 0)
			rv = bx_err(
			    errmsg, BX_EMISMATCH,
			    "'%s' holds another cluster secret than '%s' (this node's "
			    "cluster): give the secret of the cluster it belongs to",
			    file, path);
	}
	if (rv == 0 && kept[0] != '\0')
		use_secret(d, kept);
	else if (rv == 0 && given[0] != '\0')
		rv = bx_daemon_set_secret(d, given, errmsg);
	else if (rv == 0 && !raft_fresh)
		rv = bx_err(
		    errmsg, BX_ECORRUPT,
		    "'%s/raft' holds Raft state but there is no cluster secret '%s': "
		    "copy it from another member, or give it with "
		    "--cluster-secret-file",
		    d->cfg->data_dir, path);
	OPENSSL_cleanse(kept, sizeof kept);
	OPENSSL_cleanse(given, sizeof given);
	return rv;
}

static int open_store(struct bx_daemon *d, char *errmsg)
{
	char dir[PATH_MAX];
	const char *stored;
	int rv = path_join(dir, sizeof dir, d->cfg->data_dir, "state", errmsg);

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

static void kick_tick(struct bx_daemon *d);

static void on_apply(struct bx_fsm *fsm, const struct bx_fsm_result *res, enum bx_op op,
		     const char *name)
{
	struct bx_daemon *d = fsm->data;
	const cJSON *rec = res != NULL ? res->record : NULL;
	const cJSON *desired = cJSON_GetObjectItemCaseSensitive(rec, "desired");
	bool to_run = cJSON_IsString(desired) && strcmp(desired->valuestring, "running") == 0;
	bool unplaced =
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "node")) == 0;

	if (op == BX_OP_RESTORE)
		BX_INFO("raft", "restored snapshot: state at index %llu",
			(unsigned long long)bx_store_applied_index(d->store));
	if (res != NULL && res->failed_over) {
		d->metrics.failovers++;
		bx_hist_observe(&d->metrics.failover, res->failover_ms / 1000);
	}
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
			d->schedule_due = true;
		break;
	}
	case BX_OP_SERVICE_REPORT: {
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(rec, "state");
		/* handed over to a node that went down meanwhile: place it */
		if (to_run && unplaced)
			d->schedule_due = true;
		/* failed where it is: the leader's next pass moves it elsewhere */
		if (cJSON_IsString(state) && strcmp(state->valuestring, "failed") == 0 &&
		    to_run && d->raft != NULL && bx_raft_node_is_leader(d->raft)) {
			d->schedule_scan = true;
			d->schedule_due = true;
		}
		break;
	}
	case BX_OP_RESTORE:
	case BX_OP_CLUSTER_INIT:
	case BX_OP_SERVICE_DELETE:
		/* a deleted service leaves room; a node change may open some */
		d->schedule_scan = true;
		d->schedule_due = true;
		break;
	default:
		if (bx_op_is_node(op)) {
			d->schedule_scan = true;
			d->schedule_due = true;
		}
		break;
	}
	if (d->schedule_due)
		kick_tick(d);
	if (d->agent != NULL)
		bx_agent_notify(d->agent, op, name, rec);
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
	int rv = path_join(dir, sizeof dir, d->cfg->data_dir, "raft", errmsg);

	if (rv != 0)
		return rv;
	fresh = bx_raft_node_is_fresh(dir);
	rv = establish_identity(d, fresh, errmsg);
	if (rv != 0)
		return rv;
	rv = open_store(d, errmsg);
	if (rv != 0)
		return rv;
	rv = load_secret(d, fresh, errmsg);
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
	rv = bx_fsm_init(&d->fsm, d->store, bx_fsm_validate_spec, on_apply, d);
	if (rv != 0)
		return bx_err(errmsg, rv, "initialise the state machine");
	rv = bx_raft_node_init(&d->raft, d->loop, &rc, &d->fsm.fsm, errmsg);
	if (rv != 0)
		return rv;
	bx_raft_node_keep_standby(d->raft, node_is_standby, d);
	bx_proposer_init(&d->proposer, d->loop, d->raft, &d->fsm);
	d->proposer.commit = &d->metrics.commit;
	bx_fsm_set_raft(&d->fsm, bx_raft_node_raft(d->raft));

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
		d->invite = calloc(1, sizeof *d->invite);
		if (d->invite == NULL)
			return bx_err(errmsg, BX_ENOMEM, "out of memory");
		if (bx_invite_decode(d->cfg->join_token, d->invite, errmsg) != 0)
			return BX_EINVAL;
		return bx_daemon_join(d, d->invite->members[0], errmsg);
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
		random_hex(d->cluster_id, 16);
		rv = bx_raft_node_bootstrap(d->raft, errmsg);
		if (rv != 0)
			return rv;
		rv = identity_save(d, errmsg);
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
	int rv = bx_http_server_init(&d->http, d->loop, bx_api_handle, d, BX_API_MAX_BODY,
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
			rv = mkdir_p(parent, 0755, errmsg);
			if (rv != 0)
				return rv;
		}
		rv = bx_http_server_listen_unix(d->http, d->cfg->socket, errmsg);
		if (rv != 0)
			return bx_errwrap(errmsg, rv, "listen on '%s'", d->cfg->socket);
	}
	return bx_http_client_init(&d->client, d->loop, errmsg);
}

/* --- the ports: what the node's components ask of each other ------------
 * Each component gets the loop, the store, the clock and the few functions
 * it needs (src/node/submit.h, agent.h, heartbeat.h); only this file knows
 * struct bx_daemon and which component answers which port. */

static uint64_t loop_now(const struct bx_clock *clock)
{
	return uv_now(clock->data);
}

static void port_submit(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data)
{
	bx_daemon_submit(data, cmd, cb, cb_data);
}

static int port_propose(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data)
{
	return bx_daemon_propose(data, cmd, cb, cb_data);
}

static const char *port_leader_api(void *data, char *buf, size_t size)
{
	return bx_daemon_leader_api(data, buf, size);
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
static bool port_in_cluster(void *data)
{
	struct bx_daemon *d = data;

	return !d->discovering && !d->joining && d->cluster_id[0] != '\0';
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

/* The heartbeat (this node's lease, the leader's view of who is alive) and
 * the agent, wired to each other through the daemon. */
static int start_node(struct bx_daemon *d, char *errmsg)
{
	d->clock = (struct bx_clock){.now_ms = loop_now, .data = d->loop};
	d->submitter = (struct bx_submitter){.data = d,
					     .submit = port_submit,
					     .propose = port_propose,
					     .leader_api = port_leader_api};
	d->beat_http = (struct bx_heartbeat_http){.client = d->client,
						  .headers = d->peer_headers,
						  .submitter = &d->submitter,
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
					 .submitter = &d->submitter,
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
					.submitter = &d->submitter,
					.data = d,
					.may_run = port_may_run,
					.may_start = port_may_start,
					.in_cluster = port_in_cluster};
	int rv = bx_heartbeat_init(&d->hb, &hb);

	if (rv != 0)
		return bx_err(errmsg, rv, "set up the heartbeat");
	return bx_agent_init(&d->agent, &agent, errmsg);
}

/* --- shutdown -------------------------------------------------------------
 * Order: stop taking requests, let the agent let go of its VMs (they keep
 * running: invariant 6), close Raft (a leader hands over first), then the
 * store. Each step starts in the previous one's close callback. */

static void closed_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void raft_closed(void *data)
{
	struct bx_daemon *d = data;

	d->raft = NULL;
	bx_fsm_close(&d->fsm);
	bx_store_close(d->store);
	d->store = NULL;
	BX_INFO("daemon", "stopped");
	uv_walk(d->loop, closed_walk, NULL);
}

static void client_closed(void *data)
{
	struct bx_daemon *d = data;

	d->client = NULL;
	bx_proposer_flush(&d->proposer); /* Raft answers them, if only "shut down" */
	bx_raft_node_close(d->raft, raft_closed, d);
}

static void agent_closed(void *data)
{
	struct bx_daemon *d = data;

	d->agent = NULL;
	if (d->client != NULL)
		bx_http_client_close(d->client, client_closed, d);
	else
		client_closed(d);
}

static void http_closed(void *data)
{
	struct bx_daemon *d = data;

	d->http = NULL;
	if (d->agent != NULL)
		bx_agent_close(d->agent, agent_closed, d);
	else
		agent_closed(d);
}

void bx_daemon_shutdown(struct bx_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	BX_INFO("daemon", "stopping");
	uv_timer_stop(&d->tick);
	bx_heartbeat_stop(&d->hb);
	if (d->agent != NULL)
		bx_agent_stop(d->agent);
	uv_signal_stop(&d->sigterm);
	uv_signal_stop(&d->sigint);
	if (d->http != NULL)
		bx_http_server_close(d->http, http_closed, d);
	else
		http_closed(d);
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
	bx_cluster_tick(d);
}

/*
 * A placement is due: on the leader, run the tick as soon as the scheduler
 * may pass again (BX_SCHEDULE_GAP_MS after the last) rather than at the next
 * TICK_MS, so that a start reaches its node without waiting for the tick.
 */
static void kick_tick(struct bx_daemon *d)
{
	uint64_t since, delay = 0;

	if (d->tick_kicked || d->stopping || d->raft == NULL ||
	    !bx_raft_node_is_leader(d->raft))
		return;
	since = uv_now(d->loop) - d->scheduled_at;
	if (since < BX_SCHEDULE_GAP_MS)
		delay = BX_SCHEDULE_GAP_MS - since;
	if (delay >= TICK_MS)
		return; /* the regular tick comes first */
	d->tick_kicked = true;
	uv_timer_start(&d->tick, on_tick, delay, TICK_MS);
}

/*
 * The addresses to advertise. A wildcard host needs tailscaled, which may be
 * starting along with this daemon: asked a few times over ~15 s (a SIGTERM
 * meanwhile ends the wait), then a clear error.
 */
static int resolve_addresses(struct bx_daemon *d, const sigset_t *stop, char *errmsg)
{
	const char *api = d->cfg->api != NULL ? d->cfg->api : "";
	char ip[16] = "";
	unsigned wait_ms = 500;
	int rv;

	snprintf(d->api_addr, sizeof d->api_addr, "%s", api);
	snprintf(d->raft_addr, sizeof d->raft_addr, "%s", d->cfg->raft);
	if (!bx_advertise_wildcard(d->cfg->raft) &&
	    (api[0] == '\0' || !bx_advertise_wildcard(api)))
		return BX_OK;
	if (strcmp(d->cfg->discovery, "tailscale") != 0)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "'%s' listens on every address: give the one other nodes reach "
		    "(HOST:PORT), or use --discovery tailscale to advertise the "
		    "Tailscale address",
		    bx_advertise_wildcard(d->cfg->raft) ? d->cfg->raft : api);
	for (;;) {
		struct timespec ts = {.tv_sec = wait_ms / 1000,
				      .tv_nsec = (long)(wait_ms % 1000) * 1000000L};
		rv = bx_advertise_tailscale_ip(d->cfg->tailscale_socket, ip, errmsg);
		if (rv == 0 || wait_ms > 8000)
			break;
		BX_WARN("daemon", "%s; the address to advertise: asking again in %u ms",
			errmsg, wait_ms);
		if (sigtimedwait(stop, NULL, &ts) > 0)
			return bx_err(errmsg, BX_ESHUTDOWN,
				      "stopped while waiting for tailscaled");
		wait_ms *= 2;
	}
	if (rv != 0)
		return bx_errwrap(errmsg, rv, "the Tailscale address to advertise");
	bx_advertise_with(api, ip, d->api_addr);
	bx_advertise_with(d->cfg->raft, ip, d->raft_addr);
	BX_INFO("daemon", "advertising API %s and raft %s (the Tailscale address)",
		d->api_addr[0] ? d->api_addr : "-", d->raft_addr);
	return BX_OK;
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
		rv = resolve_addresses(&d, &stop_signals, errmsg);
	if (rv == 0)
		rv = mkdir_p(cfg->data_dir, 0700, errmsg);
	if (rv == 0)
		rv = lock_data_dir(&d, errmsg);
	if (rv == 0)
		rv = path_join(d.identity_path, sizeof d.identity_path, cfg->data_dir,
			       "node.json", errmsg);
	if (rv == 0)
		rv = start_raft(&d, errmsg);
	if (rv == 0)
		rv = start_api(&d, errmsg);
	if (rv == 0) {
		uv_update_time(&loop);
		rv = start_node(&d, errmsg);
	}
	if (rv == 0 && d.discovering)
		rv = bx_discovery_init(&d.disc, &d, errmsg);
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
	free(d.invite);
	bx_heartbeat_free(&d.hb);
	bx_metrics_free(&d.metrics);
	cJSON_Delete(d.labels);
	uv_loop_close(&loop);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	return d.exit_code;
}

/* --- identity after a join --------------------------------------------- */

int bx_daemon_adopt_cluster(struct bx_daemon *d, const char *cluster_id, char *errmsg)
{
	if (d->cluster_id[0] != '\0') {
		if (strcmp(d->cluster_id, cluster_id) == 0)
			return BX_OK;
		return bx_err(errmsg, BX_EMISMATCH,
			      "data directory '%s' belongs to cluster %s, not cluster %s",
			      d->cfg->data_dir, d->cluster_id, cluster_id);
	}
	snprintf(d->cluster_id, sizeof d->cluster_id, "%s", cluster_id);
	return identity_save(d, errmsg);
}
