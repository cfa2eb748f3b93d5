/* membership.c - queued configuration changes and role balancing on the leader. */
#include "raft/node_internal.h"
#include "src/base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Policy. New servers join as spares (libraft's raft_add), which take no part
 * in replication; they are then assigned a role. While the configuration has
 * fewer than max_voters voters a spare or standby is made a voter, otherwise
 * a spare becomes a standby (replicates the log, does not vote). libraft
 * catches a server up before the promotion to voter commits, so a new voter
 * never weakens the quorum with an empty log.
 *
 * libraft refuses a second change while one is uncommitted (RAFT_CANTCHANGE),
 * so changes wait in a queue and run one at a time from the leader's tick.
 * The balance step runs only when the queue is empty; it is also what repairs
 * roles after a leader change or a failed promotion.
 */

#define BACKOFF_MS 5000

static void change_free(struct bx_change *c)
{
	free(c->address);
	free(c);
}

static void complete(struct bx_change *c, int code, const char *errmsg)
{
	if (c->cb != NULL)
		c->cb(c->data, code, errmsg);
	change_free(c);
}

void bx_membership_fail_all(struct bx_raft_node *n, int code, const char *why)
{
	while (n->queue != NULL) {
		struct bx_change *c = n->queue;
		n->queue = c->next;
		complete(c, code, why);
	}
}

static void enqueue(struct bx_raft_node *n, struct bx_change *c, bool front)
{
	if (front || n->queue == NULL) {
		c->next = n->queue;
		n->queue = c;
		return;
	}
	struct bx_change *last = n->queue;
	while (last->next != NULL)
		last = last->next;
	c->next = NULL;
	last->next = c;
}

static const struct raft_server *find_server(const struct raft *r, uint64_t id)
{
	for (unsigned i = 0; i < r->configuration.n; i++)
		if (r->configuration.servers[i].id == id)
			return &r->configuration.servers[i];
	return NULL;
}

static unsigned count_role(const struct raft *r, int role)
{
	unsigned k = 0;

	for (unsigned i = 0; i < r->configuration.n; i++)
		if (r->configuration.servers[i].role == role)
			k++;
	return k;
}

static bool standby_only(const struct bx_raft_node *n, uint64_t id)
{
	for (int i = 0; i < BX_MEMBERSHIP_MAX_PINNED; i++)
		if (n->pinned[i] == id)
			return true;
	return n->keep_standby != NULL && n->keep_standby(n->keep_data, id);
}

static int next_role(const struct bx_raft_node *n)
{
	return count_role(&n->raft, RAFT_VOTER) < n->max_voters ? RAFT_VOTER
								: RAFT_STANDBY;
}

static void set_backoff(struct bx_raft_node *n, uint64_t id)
{
	uint64_t now = uv_now(n->loop);
	int slot = 0;

	for (int i = 0; i < BX_MEMBERSHIP_MAX_BACKOFF; i++) {
		if (n->backoff[i].id == id) {
			slot = i;
			break;
		}
		if (n->backoff[i].until_ms < n->backoff[slot].until_ms)
			slot = i;
	}
	n->backoff[slot].id = id;
	n->backoff[slot].until_ms = now + BACKOFF_MS;
}

static bool in_backoff(const struct bx_raft_node *n, uint64_t id)
{
	uint64_t now = uv_now(n->loop);

	for (int i = 0; i < BX_MEMBERSHIP_MAX_BACKOFF; i++)
		if (n->backoff[i].id == id && n->backoff[i].until_ms > now)
			return true;
	return false;
}

static void change_cb(struct raft_change *req, int status)
{
	struct bx_raft_node *n = req->data;
	struct bx_change *c = n->running;
	char msg[BX_ERRMSG_SIZE] = "";

	n->running = NULL;
	if (c == NULL)
		return;
	if (status != 0) {
		snprintf(msg, sizeof msg, "%s", raft_strerror(status));
		BX_WARN("raft", "membership change for server %llu failed: %s",
			(unsigned long long)c->id, msg);
		set_backoff(n, c->id);
		complete(c, bx_raft_code(status), msg);
		return;
	}
	if (c->kind == BX_CHANGE_ADD) {
		/* The spare needs a role before it replicates anything; do that
		 * next, and complete the caller's request only when it has one. */
		struct bx_change *assign = calloc(1, sizeof *assign);
		if (assign == NULL) {
			complete(c, BX_ENOMEM, "out of memory");
			return;
		}
		assign->kind = BX_CHANGE_ASSIGN;
		assign->id = c->id;
		assign->role = standby_only(n, c->id) ? RAFT_STANDBY : next_role(n);
		assign->cb = c->cb;
		assign->data = c->data;
		c->cb = NULL;
		enqueue(n, assign, true);
		BX_INFO("raft", "server %llu added as spare", (unsigned long long)c->id);
		change_free(c);
		return;
	}
	BX_INFO("raft", "server %llu %s", (unsigned long long)c->id,
		c->kind == BX_CHANGE_REMOVE ? "removed" : bx_raft_role_name(c->role));
	complete(c, BX_OK, NULL);
}

/* Start c with libraft. Returns false if it finished at once (done or failed). */
static bool start_change(struct bx_raft_node *n, struct bx_change *c)
{
	const struct raft_server *s = find_server(&n->raft, c->id);
	int rv;

	n->change_req.data = n;
	switch (c->kind) {
	case BX_CHANGE_ADD:
		if (s != NULL) { /* a retried join: already a member */
			complete(c, BX_OK, NULL);
			return false;
		}
		rv = raft_add(&n->raft, &n->change_req, c->id, c->address, change_cb);
		break;
	case BX_CHANGE_ASSIGN:
		if (s != NULL && s->role == c->role) {
			complete(c, BX_OK, NULL);
			return false;
		}
		rv = raft_assign(&n->raft, &n->change_req, c->id, c->role, change_cb);
		break;
	case BX_CHANGE_REMOVE:
	default:
		if (s == NULL) {
			complete(c, BX_OK, NULL);
			return false;
		}
		rv = raft_remove(&n->raft, &n->change_req, c->id, change_cb);
		break;
	}
	if (rv == RAFT_CANTCHANGE) { /* an earlier change is still uncommitted */
		enqueue(n, c, true);
		return false;
	}
	if (rv != 0) {
		complete(c, bx_raft_code(rv), raft_errmsg(&n->raft));
		return false;
	}
	n->running = c;
	return true;
}

/* Pick one role change that brings the configuration closer to the policy. */
static struct bx_change *balance(struct bx_raft_node *n)
{
	const struct raft *r = &n->raft;
	unsigned voters = count_role(r, RAFT_VOTER);
	struct bx_change *c;
	uint64_t id = 0;
	int role = 0;

	for (unsigned i = 0; i < r->configuration.n && id == 0; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		if (in_backoff(n, s->id))
			continue;
		if (voters < n->max_voters && s->role != RAFT_VOTER &&
		    !standby_only(n, s->id)) {
			id = s->id;
			role = RAFT_VOTER;
		} else if (s->role == RAFT_SPARE) {
			id = s->id;
			role = RAFT_STANDBY;
		}
	}
	if (id == 0)
		return NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->kind = BX_CHANGE_ASSIGN;
	c->id = id;
	c->role = role;
	return c;
}

void bx_membership_tick(struct bx_raft_node *n)
{
	if (n->running != NULL || n->closing)
		return;
	/* An uncommitted configuration blocks every change; wait for it. */
	if (n->raft.configuration_uncommitted_index != 0)
		return;
	while (n->queue != NULL) {
		struct bx_change *c = n->queue;
		n->queue = c->next;
		if (start_change(n, c))
			return;
		if (n->queue == c) /* requeued: libraft is not ready */
			return;
	}
	struct bx_change *c = balance(n);
	if (c != NULL)
		start_change(n, c);
}

static int queue_change(struct bx_raft_node *n, struct bx_change *c)
{
	if (n->closing) {
		change_free(c);
		return BX_ESHUTDOWN;
	}
	if (raft_state(&n->raft) != RAFT_LEADER) {
		change_free(c);
		return BX_ENOTLEADER;
	}
	enqueue(n, c, false);
	bx_membership_tick(n);
	return BX_OK;
}

int bx_raft_node_add(struct bx_raft_node *n, uint64_t id, const char *address,
		     bool standby, bx_raft_change_cb cb, void *data)
{
	struct bx_change *c = calloc(1, sizeof *c);

	if (c == NULL)
		return BX_ENOMEM;
	if (standby) {
		int slot = 0;
		for (int i = 0; i < BX_MEMBERSHIP_MAX_PINNED; i++)
			if (n->pinned[i] == 0 || n->pinned[i] == id) {
				slot = i;
				break;
			}
		n->pinned[slot] = id;
	}
	c->kind = BX_CHANGE_ADD;
	c->id = id;
	c->address = strdup(address);
	c->cb = cb;
	c->data = data;
	if (c->address == NULL) {
		free(c);
		return BX_ENOMEM;
	}
	return queue_change(n, c);
}

int bx_raft_node_remove(struct bx_raft_node *n, uint64_t id, bx_raft_change_cb cb,
			void *data)
{
	struct bx_change *c = calloc(1, sizeof *c);

	if (c == NULL)
		return BX_ENOMEM;
	c->kind = BX_CHANGE_REMOVE;
	c->id = id;
	c->cb = cb;
	c->data = data;
	return queue_change(n, c);
}

void bx_raft_node_keep_standby(struct bx_raft_node *n,
			       bool (*fn)(void *data, uint64_t id), void *data)
{
	n->keep_standby = fn;
	n->keep_data = data;
}
