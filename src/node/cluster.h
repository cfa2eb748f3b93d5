/* cluster.h - commands from any node, joining, and the leader's standing duties. */
#ifndef BX_CLUSTER_H
#define BX_CLUSTER_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* The least time between two scheduling passes (bursts of writes). */
#define BX_SCHEDULE_GAP_MS 300

struct bx_daemon;

/* Every TICK: join retries, cluster.init, the node's own record, scheduling. */
void bx_cluster_tick(struct bx_daemon *d);

/* Leader: place services that need a node (scheduler.h) and propose the moves. */
void bx_cluster_schedule(struct bx_daemon *d);

#endif
