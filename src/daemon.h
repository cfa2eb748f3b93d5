/* daemon.h - the daemon: one loop holding Raft, the store, the API, the agent. */
#ifndef BX_DAEMON_H
#define BX_DAEMON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "raft/fsm.h"
#include "src/base/error.h"
#include "src/base/metrics.h"
#include "src/model/config.h"
#include "src/model/secret.h"
#include "src/node/advertise.h"
#include "src/node/heartbeat.h"
#include "src/node/heartbeat_http.h"
#include "src/node/proposer.h"
#include "src/node/submit.h"
#include "src/store/store.h"

struct bx_raft_node;
struct bx_http_server;
struct bx_http_client;
struct bx_agent;
struct bx_invite_token;

/*
 * Everything runs on `loop`, on one thread: no locks anywhere. Components
 * reach each other through this struct; each has its own init/close.
 */
struct bx_daemon {
	uv_loop_t *loop;
	struct bx_config *cfg;
	uint64_t id;              /* this node's Raft id */
	char cluster_id[65];      /* "" until bootstrapped or joined */
	char identity_path[4096]; /* DATA_DIR/node.json */
	/* What this node offers to services (bx_config_capacity), and its
	 * labels {"key": "value"}: kept in its node record (cluster.c). */
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
	struct bx_http_client *client;
	struct bx_agent *agent;
	struct bx_proposer proposer; /* the leader's commands, batched per loop turn */
	struct bx_heartbeat hb; /* this node's lease; the leader's view of who is alive */
	/* The ports the components are given (daemon.c, start_node). */
	struct bx_clock clock;         /* the loop's time */
	struct bx_submitter submitter; /* submit, propose, leader_api */
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
	struct bx_invite_token *invite; /* --join-token, decoded; NULL without */
	unsigned invite_member;         /* the token's member joined through now */
	bool joining;                   /* a join request is under way or due */
	bool join_in_flight;
	char join_target[256];
	uint64_t join_retry_at; /* uv_now() ms */
	unsigned join_attempts;

	unsigned inflight_assign; /* scheduler proposals not yet applied */
	uint64_t scheduled_at;    /* uv_now() of the last scheduling pass */
	bool schedule_due;        /* an applied entry may need a placement */
	/* Leader: the next pass reads every record, as the placement index
	 * cannot show its work: a service failed in place, or a node changed. */
	bool schedule_scan;
	bool tick_kicked;    /* the tick is due early (schedule_due on the leader) */
	bool duty_in_flight; /* a bookkeeping command (init, node record) is out */
	bool init_in_flight; /* the cluster.init of init_first (cluster.c) is out */
	bool stopping;
	int exit_code;
};

/* Run the daemon until SIGTERM/SIGINT; returns the process exit code. */
int bx_daemon_run(struct bx_config *cfg);

/*
 * Submit a command from any node. On the leader it is proposed directly; on a
 * follower it is sent to the leader's API (/v1/internal/command). `cb` gets
 * the FSM's result code and message, and the record (borrowed, may be NULL),
 * once the command is applied on the node that proposed it. `cmd` is
 * consumed. (The components get it as a port: src/node/submit.h.)
 */
void bx_daemon_submit(struct bx_daemon *d, cJSON *cmd, bx_submit_cb cb, void *data);

/* Propose `cmd` (consumed) on this node, which must be the leader: queued for
 * the entry of this loop turn (src/node/proposer.h). BX_OK: cb runs once, later. */
int bx_daemon_propose(struct bx_daemon *d, cJSON *cmd, bx_submit_cb cb, void *data);

/* "HOST:PORT" of the leader's API, or NULL if unknown. Borrowed until the next apply. */
const char *bx_daemon_leader_api(struct bx_daemon *d, char *buf, size_t size);

/* Milliseconds since the epoch, for command time stamps. */
uint64_t bx_now_ms(void);

/* Record the cluster this node joined (node.json); refuses another cluster's id. */
int bx_daemon_adopt_cluster(struct bx_daemon *d, const char *cluster_id, char *errmsg);

/* Begin an orderly shutdown (as on SIGTERM). */
void bx_daemon_shutdown(struct bx_daemon *d);

/*
 * Start Raft where start-up left it unstarted for discovery: with
 * `bootstrap`, as a new one-node cluster (a new cluster id); without, empty,
 * to join. Ends discovery. BX_OK if Raft was already started.
 */
int bx_daemon_begin(struct bx_daemon *d, bool bootstrap, char *errmsg);

/* Take the cluster secret: keep it in the data dir (unless it is there),
 * give it to the Raft transport, and derive the peer header. */
int bx_daemon_set_secret(struct bx_daemon *d, const char *secret, char *errmsg);

/* Start the join flow towards a member's API at `target` ("HOST:PORT"): with
 * the invite of --join-token, or as a holder of the cluster secret; without
 * either, BX_EINVAL saying how to get one. */
int bx_daemon_join(struct bx_daemon *d, const char *target, char *errmsg);

#endif
