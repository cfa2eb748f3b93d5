/* liveness.h - who is alive (the leader's view, from heartbeats) and whether this node
 * may run (its lease). Pure. */
#ifndef BX_LIVENESS_H
#define BX_LIVENESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Invariant 4 in numbers. Every node's agent sends a heartbeat to the leader
 * every lease_ms; the leader's answer renews that node's lease, counted from
 * when the heartbeat was *sent*. A node whose lease has run out (fence_timeout
 * since the last answered send) stops its instances: it may be cut off from
 * the cluster. The leader declares a node down when it has not heard from it
 * for node_timeout, counted at the earliest from its own election (a new
 * leader has heard no one yet), and node_timeout > fence_timeout + margin:
 *
 *   a heartbeat sent at s is heard at h >= s; the lease ends at s + fence;
 *   the node is down at max(h, elected) + node_timeout > s + fence + margin.
 *
 * So a node is declared down, and its services move, only after it stopped
 * them itself. The margin covers clock-rate differences between hosts and
 * the time the stop takes. Times are milliseconds of a monotonic clock,
 * passed in: nothing here reads a clock.
 */

struct bx_heard {
	uint64_t id;
	uint64_t at; /* last heartbeat heard */
};

/* The leader's view. */
struct bx_liveness {
	struct bx_heard *heard; /* this term's, in no order */
	size_t n, cap;
	uint64_t elected; /* when this node became leader */
	uint32_t node_timeout_ms;
};

void bx_liveness_init(struct bx_liveness *l, uint32_t node_timeout_ms);
void bx_liveness_free(struct bx_liveness *l);

/* This node became leader at `now`: what it heard in an earlier term is forgotten. */
void bx_liveness_elected(struct bx_liveness *l, uint64_t now);

/* A heartbeat from node `id` arrived at `now`. 0, or BX_ENOMEM (nothing changed). */
int bx_liveness_heard(struct bx_liveness *l, uint64_t id, uint64_t now);

/* The leader learnt of node `id` at `now` (a new node record): if it has not
 * heard it this term, count from now, so a node that joined long after the
 * election is not down at once. 0, or BX_ENOMEM. */
int bx_liveness_seen(struct bx_liveness *l, uint64_t id, uint64_t now);

/* Milliseconds since `id` was last heard, counting from the election at most. */
uint64_t bx_liveness_silent_ms(const struct bx_liveness *l, uint64_t id, uint64_t now);

/* Is `id` down at `now` (silent for more than node_timeout)? */
bool bx_liveness_down(const struct bx_liveness *l, uint64_t id, uint64_t now);

/* A node's own lease. */
struct bx_lease {
	uint64_t until; /* valid while now < until; 0: never held */
	uint32_t fence_timeout_ms;
};

void bx_lease_init(struct bx_lease *lease, uint32_t fence_timeout_ms);

/* The heartbeat sent at `sent` was answered by the leader. A late answer to
 * an older heartbeat never shortens the lease. */
void bx_lease_renewed(struct bx_lease *lease, uint64_t sent);

/* May this node run its instances at `now`? */
bool bx_lease_valid(const struct bx_lease *lease, uint64_t now);

/*
 * Are the timeouts safe together? fence_timeout must cover at least two
 * heartbeats (one lost heartbeat must not fence a node), and node_timeout
 * must exceed fence_timeout by a margin of at least one heartbeat interval
 * and 500 ms. 0, or BX_EINVAL with a message naming the settings.
 */
int bx_liveness_check(uint32_t lease_ms, uint32_t fence_timeout_ms,
		      uint32_t node_timeout_ms, char *errmsg);

/* The least node_timeout over fence_timeout: max(lease_ms, 500 ms). */
uint32_t bx_liveness_margin(uint32_t lease_ms);

/*
 * The least fence_timeout that survives a leader's crash without fencing
 * every node: they have no one to renew with for a heartbeat's age plus up
 * to two election timeouts (libraft draws it from [election, 2 x election])
 * and a vote: lease_ms + 2 x election_ms + 250 ms.
 */
uint32_t bx_liveness_least_fence(uint32_t lease_ms, uint32_t election_ms);

/* 0, or BX_EINVAL naming the settings if fence_timeout_ms is below that. */
int bx_liveness_check_election(uint32_t lease_ms, uint32_t fence_timeout_ms,
			       uint32_t election_ms, char *errmsg);

#endif
