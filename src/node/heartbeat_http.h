/* heartbeat_http.h - a heartbeat sent to the leader over its API (POST /v1/internal/heartbeat). */
#ifndef BX_HEARTBEAT_HTTP_H
#define BX_HEARTBEAT_HTTP_H

#include <stdint.h>

#include "src/node/heartbeat.h"
#include "src/node/submit.h"

struct bx_http_client;

/*
 * The heartbeat's `send` port in the daemon: the body names this node and its
 * cluster, carries the cluster's credentials, and the leader answers once its
 * leadership is confirmed (src/node/heartbeat.h) with {"index": N}. An answer
 * later than two heartbeats is of little use (a newer one is out): the call
 * times out after 2 x lease_ms.
 */
struct bx_heartbeat_http {
	struct bx_http_client *client;
	const char *const *headers;           /* the cluster token, NULL-ended */
	const struct bx_submitter *submitter; /* for the leader's API address */
	uint64_t node_id;
	const char *cluster_id; /* read at each send: set once the node joins */
	uint32_t lease_ms;
};

/* bx_heartbeat_config.send, with data = struct bx_heartbeat_http *. BX_OK and
 * cb later; BX_ENOLEADER at once when the leader's address is unknown, or the
 * client's error. */
int bx_heartbeat_http_send(void *data, uint64_t leader, bx_beat_cb cb, void *cb_data);

#endif
