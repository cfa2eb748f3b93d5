/* discovery.h - a fresh node finds its cluster: static peers or Tailscale
 * peer tags, probed on their API; it joins a cluster one of them is in, or,
 * with --bootstrap-expect N, the one chosen among N fresh nodes bootstraps. */
#ifndef BX_DISCOVERY_H
#define BX_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "src/model/config.h"

struct bx_discovery;
struct bx_http_client;

/* What one probe of a candidate's GET /v1/cluster found. */
struct bx_probe {
	char api[272];     /* the candidate's API address HOST:PORT */
	bool answered;     /* a valid /v1/cluster came back */
	uint64_t node_id;  /* its node id */
	bool in_cluster;   /* it has a cluster id */
	bool has_leader;   /* and sees a leader */
};

enum bx_discovery_verdict {
	BX_DISC_WAIT,      /* not enough nodes yet: probe again */
	BX_DISC_JOIN,      /* join the cluster through probes[*join] */
	BX_DISC_BOOTSTRAP, /* this node bootstraps the cluster */
};

/*
 * The decision after a round of probes, the same on every node that sees the
 * same answers: a candidate in a cluster with a leader is joined (the first
 * such); else, with expect > 0, when this node and the fresh nodes that
 * answered are at least `expect`, the one with the lowest id bootstraps and
 * the others wait to find its cluster. `*visible`: the fresh nodes seen,
 * this one included.
 */
enum bx_discovery_verdict bx_discovery_decide(uint64_t self, unsigned expect,
					      const struct bx_probe *probes, size_t n,
					      size_t *join, unsigned *visible);

/* The node should discover: its Raft state is fresh, it has neither
 * --bootstrap nor --join, and discovery has somewhere to look. */
bool bx_discovery_wanted(const struct bx_config *cfg, bool raft_fresh);

struct bx_discovery_config {
	uv_loop_t *loop;
	const struct bx_config *settings; /* peers, tag, tailscaled, bootstrap_expect */
	struct bx_http_client *client;    /* probes and tailscaled's LocalAPI */
	const char *const *headers;       /* the cluster token for probes, NULL-ended */
	uint64_t node_id;
	const char *api_addr; /* this node's own, skipped among static peers */
	/* The verdict, once (BX_DISC_JOIN with the API to join through, or
	 * BX_DISC_BOOTSTRAP with NULL); no round starts after it. */
	void *data;
	void (*decided)(void *data, enum bx_discovery_verdict verdict, const char *join_api);
};

/* The config is copied; what it points to must outlive discovery. */
int bx_discovery_init(struct bx_discovery **out, const struct bx_discovery_config *cfg,
		      char *errmsg);
/* From the daemon's tick: start a round when one is due. */
void bx_discovery_tick(struct bx_discovery *disc);
/* No more rounds (the node bootstrapped or joined, or shuts down); answers
 * still out are ignored. NULL is fine. */
void bx_discovery_stop(struct bx_discovery *disc);
/* Release, once the loop has ended (no request of it can still answer). */
void bx_discovery_free(struct bx_discovery *disc);

#endif
