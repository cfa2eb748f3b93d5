/* daemon_internal.h - the composition root's own: struct bx_daemon, known to
 * src/daemon*.c alone, and what those files share. */
#ifndef BX_DAEMON_INTERNAL_H
#define BX_DAEMON_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <uv.h>

#include "raft/fsm.h"
#include "src/api/api.h"
#include "src/base/error.h"
#include "src/base/metrics.h"
#include "src/daemon.h"
#include "src/model/config.h"
#include "src/model/secret.h"
#include "src/node/advertise.h"
#include "src/node/agent.h"
#include "src/node/discovery.h"
#include "src/node/duties.h"
#include "src/node/heartbeat.h"
#include "src/node/heartbeat_http.h"
#include "src/node/join.h"
#include "src/node/proposer.h"
#include "src/node/submit.h"
#include "src/store/store.h"

struct bx_raft_node;
struct bx_http_server;
struct bx_http_client;
struct bx_agent;
struct bx_invite_token;

/*
 * Everything runs on `loop`, on one thread: no locks anywhere. This struct
 * holds every component of the node; the components themselves never see
 * it: each is given ports (src/daemon_wiring.c) and has its own
 * init -> start/stop -> close.
 */
struct bx_daemon {
	uv_loop_t *loop;
	struct bx_config *cfg;
	uint64_t id;              /* this node's Raft id */
	char cluster_id[65];      /* "" until bootstrapped or joined */
	char identity_path[4096]; /* DATA_DIR/node.json */
	/* What this node offers to services (bx_config_capacity), and its
	 * labels {"key": "value"}: kept in its node record (duties.c). */
	uint32_t memory_mb, vcpus;
	cJSON *labels;

	/* The cluster secret (secret.h): "" until the data dir, the secret file,
	 * a bootstrap or a join with an invite gives it. From it, the header
	 * every call to another member carries (`peer_headers`, NULL-ended). */
	char secret[BX_SECRET_MAX + 1];
	char cluster_token[BX_SECRET_TOKEN_SIZE]; /* derived from it, "" without */
	/* What this node tells the others to reach it at (advertise.h): --api
	 * and --raft, a wildcard host replaced by its Tailscale IPv4. */
	char api_addr[BX_ADDR_MAX], raft_addr[BX_ADDR_MAX];
	char peer_auth[sizeof "Authorization: Bearer " + BX_SECRET_TOKEN_SIZE];
	const char *peer_headers[2];

	struct bx_store *store;
	struct bx_fsm fsm;
	struct bx_raft_node *raft;
	struct bx_http_server *http;
	struct bx_api api; /* what the API's routes see of the node (src/api/api.h) */
	struct bx_http_client *client;
	struct bx_agent *agent;
	struct bx_proposer proposer; /* the leader's commands, batched per loop turn */
	struct bx_heartbeat hb; /* this node's lease; the leader's view of who is alive */
	/* The ports the components are given (daemon.c, start_node). */
	struct bx_clock clock;         /* the loop's time */
	struct bx_submit submit;  /* commands: proposed, or forwarded to the leader */
	struct bx_heartbeat_http beat_http; /* the heartbeat's way to the leader */
	struct bx_metrics metrics; /* what this node counts (GET /metrics) */

	uv_timer_t tick; /* leader duties and join retries */
	uv_signal_t sigterm;
	uv_signal_t sigint;
	int lock_fd;

	/* Fresh, without --bootstrap or --join: Raft is not started until
	 * discovery (discovery.c) decides to bootstrap or join. */
	bool discovering;
	struct bx_discovery *disc;
	struct bx_join join;     /* a fresh node joining (src/node/join.h) */
	struct bx_duties duties; /* init, scheduling, own record (src/node/duties.h) */
	bool tick_kicked; /* the tick is due early (a placement due on the leader) */
	bool stopping;
	unsigned close_step; /* shutdown: the next of daemon.c's close_steps */
	int exit_code;
};

/* --- daemon.c: start-up, the tick, shutdown --- */

/* Begin an orderly shutdown (as on SIGTERM). */
void bx_daemon_shutdown(struct bx_daemon *d);

/*
 * Start Raft where start-up left it unstarted for discovery: with
 * `bootstrap`, as a new one-node cluster (a new cluster id); without, empty,
 * to join. Ends discovery. BX_OK if Raft was already started.
 */
int bx_daemon_begin(struct bx_daemon *d, bool bootstrap, char *errmsg);

/* A placement is due: run the tick early on the leader. */
void bx_daemon_kick_tick(struct bx_daemon *d);

/* --- daemon_identity.c: the data directory, identity, secret, addresses --- */

int bx_daemon_lock_dir(struct bx_daemon *d, char *errmsg);
/* Decide this node's identity from node.json, the flags and the raft dir. */
int bx_daemon_establish_identity(struct bx_daemon *d, bool raft_fresh, char *errmsg);
/* Write node.json atomically (temp file, fsync, rename). */
int bx_daemon_identity_save(struct bx_daemon *d, char *errmsg);
/* `bytes` random bytes as hex into out (2 x bytes + 1). */
void bx_daemon_random_hex(char *out, size_t bytes);
/* The secret in the data dir, or else the one of --cluster-secret-file. */
int bx_daemon_load_secret(struct bx_daemon *d, bool raft_fresh, char *errmsg);
/* Take the cluster secret: keep it in the data dir (unless it is there),
 * give it to the Raft transport, and derive the peer header. */
int bx_daemon_set_secret(struct bx_daemon *d, const char *secret, char *errmsg);
/* Record the cluster this node joined (node.json); refuses another cluster's id. */
int bx_daemon_adopt_cluster(struct bx_daemon *d, const char *cluster_id, char *errmsg);
/* The addresses to advertise (a wildcard host: the Tailscale address). */
int bx_daemon_resolve_addresses(struct bx_daemon *d, const sigset_t *stop, char *errmsg);

/* --- daemon_wiring.c: the ports --- */

/* The FSM's observer: tells the duties and the agent what was applied. */
void bx_daemon_on_apply(struct bx_fsm *fsm, const struct bx_fsm_result *res,
			enum bx_op op, const char *name);
/* Once Raft is made: the submitter, the standing duties, the join flow. */
void bx_daemon_wire_cluster(struct bx_daemon *d);
/* The heartbeat, the agent and the API's view of the node. */
int bx_daemon_start_node(struct bx_daemon *d, char *errmsg);
int bx_daemon_start_discovery(struct bx_daemon *d, char *errmsg);
/* Bootstrapped or joined: the node holds a cluster's state. */
bool bx_daemon_in_cluster(const struct bx_daemon *d);
/* Start the join flow towards a member's API at `target` ("HOST:PORT"): with
 * the invite of --join-token, or as a holder of the cluster secret; without
 * either, BX_EINVAL saying how to get one. Ends discovery. */
int bx_daemon_join(struct bx_daemon *d, const char *target, char *errmsg);

#endif
