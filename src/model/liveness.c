/* liveness.c - who is alive (the leader's view, from heartbeats) and whether this node
 * may run (its lease). Pure. */
#include "src/model/liveness.h"

#include <stdlib.h>

#include "src/base/error.h"

#define MIN_MARGIN_MS 500
#define ELECTION_SLACK_MS 250 /* a pre-vote, a vote, a new leader's first commit */

void bx_liveness_init(struct bx_liveness *l, uint32_t node_timeout_ms)
{
	l->heard = NULL;
	l->n = l->cap = 0;
	l->elected = 0;
	l->node_timeout_ms = node_timeout_ms;
}

void bx_liveness_free(struct bx_liveness *l)
{
	if (l == NULL)
		return;
	free(l->heard);
	l->heard = NULL;
	l->n = l->cap = 0;
}

void bx_liveness_elected(struct bx_liveness *l, uint64_t now)
{
	l->n = 0;
	l->elected = now;
}

static struct bx_heard *find(const struct bx_liveness *l, uint64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->heard[i].id == id)
			return &l->heard[i];
	return NULL;
}

int bx_liveness_heard(struct bx_liveness *l, uint64_t id, uint64_t now)
{
	struct bx_heard *h = find(l, id);

	if (h == NULL) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 8;
			struct bx_heard *v = realloc(l->heard, cap * sizeof *v);
			if (v == NULL)
				return BX_ENOMEM;
			l->heard = v;
			l->cap = cap;
		}
		h = &l->heard[l->n++];
		h->id = id;
		h->at = now;
	}
	if (now > h->at)
		h->at = now;
	return 0;
}

int bx_liveness_seen(struct bx_liveness *l, uint64_t id, uint64_t now)
{
	return find(l, id) != NULL ? 0 : bx_liveness_heard(l, id, now);
}

uint64_t bx_liveness_silent_ms(const struct bx_liveness *l, uint64_t id, uint64_t now)
{
	const struct bx_heard *h = find(l, id);
	uint64_t since = l->elected;

	if (h != NULL && h->at > since)
		since = h->at;
	return now > since ? now - since : 0;
}

bool bx_liveness_down(const struct bx_liveness *l, uint64_t id, uint64_t now)
{
	return bx_liveness_silent_ms(l, id, now) > l->node_timeout_ms;
}

void bx_lease_init(struct bx_lease *lease, uint32_t fence_timeout_ms)
{
	lease->until = 0;
	lease->fence_timeout_ms = fence_timeout_ms;
}

void bx_lease_renewed(struct bx_lease *lease, uint64_t sent)
{
	uint64_t until = sent + lease->fence_timeout_ms;

	if (until > lease->until)
		lease->until = until;
}

bool bx_lease_valid(const struct bx_lease *lease, uint64_t now)
{
	return now < lease->until;
}

int bx_liveness_check(uint32_t lease_ms, uint32_t fence_timeout_ms,
		      uint32_t node_timeout_ms, char *errmsg)
{
	uint32_t margin = bx_liveness_margin(lease_ms);

	if (lease_ms == 0)
		return bx_err(errmsg, BX_EINVAL, "lease_ms must be > 0");
	if (fence_timeout_ms < 2 * (uint64_t)lease_ms)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "fence_timeout_ms (%u) must be at least twice lease_ms (%u): "
		    "one lost heartbeat must not stop a node's services",
		    fence_timeout_ms, lease_ms);
	if ((uint64_t)node_timeout_ms < (uint64_t)fence_timeout_ms + margin)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "node_timeout_ms (%u) must exceed fence_timeout_ms (%u) by at least "
		    "%u ms: a node must have stopped its services before they move",
		    node_timeout_ms, fence_timeout_ms, margin);
	return 0;
}

uint32_t bx_liveness_margin(uint32_t lease_ms)
{
	return lease_ms > MIN_MARGIN_MS ? lease_ms : MIN_MARGIN_MS;
}

uint32_t bx_liveness_least_fence(uint32_t lease_ms, uint32_t election_ms)
{
	return lease_ms + 2 * election_ms + ELECTION_SLACK_MS;
}

int bx_liveness_check_election(uint32_t lease_ms, uint32_t fence_timeout_ms,
			       uint32_t election_ms, char *errmsg)
{
	uint32_t least = bx_liveness_least_fence(lease_ms, election_ms);

	if (fence_timeout_ms >= least)
		return 0;
	return bx_err(
	    errmsg, BX_EINVAL,
	    "fence_timeout_ms (%u) must be at least lease_ms + 2 x election_ms + "
	    "%u (%u): electing a new leader must not stop every node's services",
	    fence_timeout_ms, ELECTION_SLACK_MS, least);
}
