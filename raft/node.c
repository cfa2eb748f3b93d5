/* node.c - one Raft server on the libuv loop: start, propose, watch state, shutdown. */
#include "raft/node.h"
#include "raft/node_internal.h"
#include "raft/transport.h"
#include "src/base/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How often the node looks at libraft's state (leader changes, role balance).
 * libraft's classic API has no state-change callback; polling a few fields
 * every 50 ms costs nothing measurable and bounds the reaction time. */
#define WATCH_INTERVAL_MS 50

struct proposal {
	struct raft_apply req;
	struct raft_buffer buf;
	struct bx_raft_node *node;
	bx_raft_propose_cb cb;
	void *data;
};

int bx_raft_code(int rv)
{
	switch (rv) {
	case 0:
		return BX_OK;
	case RAFT_NOMEM:
		return BX_ENOMEM;
	case RAFT_NOTLEADER:
		return BX_ENOTLEADER;
	case RAFT_LEADERSHIPLOST:
		return BX_ENOLEADER;
	case RAFT_SHUTDOWN:
		return BX_ESHUTDOWN;
	case RAFT_CANTCHANGE:
		return BX_EBUSY;
	case RAFT_BADID:
	case RAFT_NOTFOUND:
		return BX_ENOENT;
	case RAFT_DUPLICATEID:
	case RAFT_DUPLICATEADDRESS:
		return BX_EEXIST;
	case RAFT_CORRUPT:
		return BX_ECORRUPT;
	case RAFT_NOCONNECTION:
		return BX_EUNAVAIL;
	case RAFT_CANTBOOTSTRAP:
		return BX_EEXIST;
	default:
		return BX_EIO;
	}
}

const char *bx_raft_role_name(int role)
{
	switch (role) {
	case RAFT_VOTER:
		return "voter";
	case RAFT_STANDBY:
		return "standby";
	case RAFT_SPARE:
		return "spare";
	default:
		return NULL;
	}
}

bool bx_raft_node_is_fresh(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool fresh = true;

	if (d == NULL)
		return true;
	while ((e = readdir(d)) != NULL) {
		/* libraft writes metadata1/2, segments and snapshots; anything but
		 * its lock/probe files means state exists. */
		if (strncmp(e->d_name, "metadata", 8) == 0 ||
		    strncmp(e->d_name, "open-", 5) == 0 ||
		    strncmp(e->d_name, "snapshot-", 9) == 0 ||
		    (e->d_name[0] >= '0' && e->d_name[0] <= '9')) {
			fresh = false;
			break;
		}
	}
	closedir(d);
	return fresh;
}

static int make_dir(const char *path, char *errmsg)
{
	char buf[4096];

	if (strlen(path) >= sizeof buf)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s'", path);
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return bx_err(errmsg, BX_EIO, "create directory '%s': %s", buf,
				      strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return bx_err(errmsg, BX_EIO, "create directory '%s': %s", buf,
			      strerror(errno));
	return BX_OK;
}

int bx_raft_node_init(struct bx_raft_node **out, uv_loop_t *loop,
		      const struct bx_raft_node_config *cfg, struct raft_fsm *fsm,
		      char *errmsg)
{
	struct bx_raft_node *n;
	int rv;

	*out = NULL;
	rv = make_dir(cfg->dir, errmsg);
	if (rv != 0)
		return rv;
	n = calloc(1, sizeof *n);
	if (n == NULL)
		return bx_err(errmsg, BX_ENOMEM, "allocate raft node");
	n->loop = loop;
	n->id = cfg->id;
	n->address = strdup(cfg->address);
	n->dir = strdup(cfg->dir);
	n->max_voters = cfg->max_voters ? cfg->max_voters : 5;
	if (n->address == NULL || n->dir == NULL) {
		rv = bx_err(errmsg, BX_ENOMEM, "allocate raft node");
		goto err_after_alloc;
	}

	rv = bx_transport_init(&n->transport, loop);
	if (rv != 0) {
		rv = bx_err(errmsg, bx_raft_code(rv), "raft transport: %s",
			    raft_strerror(rv));
		goto err_after_alloc;
	}
	n->transport.data = n;
	bx_transport_set_secret(&n->transport, cfg->secret);
	if (cfg->bind != NULL && strcmp(cfg->bind, cfg->address) != 0)
		bx_transport_set_bind(&n->transport, cfg->bind);
	rv = raft_uv_init(&n->io, loop, n->dir, &n->transport);
	if (rv != 0) {
		rv = bx_err(errmsg, bx_raft_code(rv), "raft storage in '%s': %s", n->dir,
			    n->io.errmsg[0] ? n->io.errmsg : raft_strerror(rv));
		goto err_after_transport;
	}
	rv = raft_init(&n->raft, &n->io, fsm, cfg->id, n->address);
	if (rv != 0) {
		rv = bx_err(errmsg, bx_raft_code(rv), "raft init: %s",
			    raft_errmsg(&n->raft));
		goto err_after_io;
	}
	n->raft.data = n;
	bx_snapshot_put_wrap(n, fsm);
	raft_set_heartbeat_timeout(&n->raft, cfg->heartbeat_ms ? cfg->heartbeat_ms : 100);
	raft_set_election_timeout(&n->raft, cfg->election_ms ? cfg->election_ms : 1000);
	if (cfg->snapshot_threshold)
		raft_set_snapshot_threshold(&n->raft, cfg->snapshot_threshold);
	if (cfg->snapshot_trailing)
		raft_set_snapshot_trailing(&n->raft, cfg->snapshot_trailing);
	/* Pre-vote: a server cut off by a partition keeps bumping its term; without
	 * pre-vote it would depose a healthy leader the moment it comes back. */
	raft_set_pre_vote(&n->raft, true);

	uv_timer_init(loop, &n->watch);
	n->watch.data = n;
	*out = n;
	return BX_OK;

err_after_io:
	raft_uv_close(&n->io);
err_after_transport:
	bx_transport_free(&n->transport);
err_after_alloc:
	free(n->address);
	free(n->dir);
	free(n);
	return rv;
}

int bx_raft_node_bootstrap(struct bx_raft_node *n, char *errmsg)
{
	struct raft_configuration conf;
	int rv;

	raft_configuration_init(&conf);
	rv = raft_configuration_add(&conf, n->id, n->address, RAFT_VOTER);
	if (rv == 0)
		rv = raft_bootstrap(&n->raft, &conf);
	raft_configuration_close(&conf);
	if (rv != 0)
		return bx_err(
		    errmsg, bx_raft_code(rv), "bootstrap raft in '%s': %s", n->dir,
		    raft_errmsg(&n->raft)[0] ? raft_errmsg(&n->raft) : raft_strerror(rv));
	return BX_OK;
}

static void watch_cb(uv_timer_t *timer)
{
	struct bx_raft_node *n = timer->data;
	raft_id leader = 0;
	const char *addr = NULL;
	int state = raft_state(&n->raft);

	raft_leader(&n->raft, &leader, &addr);
	if (n->last_term != 0 && n->raft.current_term > n->last_term)
		n->elections += n->raft.current_term - n->last_term;
	n->last_term = n->raft.current_term;
	if (leader != n->last_leader && leader != 0)
		n->leader_changes++;
	if (leader != n->last_leader || state != n->last_state) {
		if (n->last_state == RAFT_LEADER && state != RAFT_LEADER)
			bx_membership_fail_all(n, BX_ENOTLEADER, "leadership lost");
		n->last_leader = leader;
		n->last_state = state;
		if (n->state_cb != NULL)
			n->state_cb(n, n->state_data);
	}
	if (state == RAFT_LEADER)
		bx_membership_tick(n);
}

int bx_raft_node_start(struct bx_raft_node *n, char *errmsg)
{
	int rv = raft_start(&n->raft);

	if (rv != 0)
		return bx_err(
		    errmsg, bx_raft_code(rv), "start raft from '%s': %s", n->dir,
		    raft_errmsg(&n->raft)[0] ? raft_errmsg(&n->raft) : raft_strerror(rv));
	n->started = true;
	uv_timer_start(&n->watch, watch_cb, WATCH_INTERVAL_MS, WATCH_INTERVAL_MS);
	return BX_OK;
}

void bx_raft_node_on_state(struct bx_raft_node *n, bx_raft_state_cb cb, void *data)
{
	n->state_cb = cb;
	n->state_data = data;
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	struct proposal *p = req->data;

	if (status != 0)
		BX_WARN("raft", "proposal failed: %s (%d)", raft_strerror(status),
			status);
	/* libraft frees the entry's buffer once it is committed and applied, or
	 * on failure: p->buf is not ours to free any more. */
	p->cb(p->data, bx_raft_code(status), result);
	free(p);
}

int bx_raft_node_propose(struct bx_raft_node *n, void *buf, size_t len,
			 bx_raft_propose_cb cb, void *data, uint64_t *index)
{
	struct proposal *p;
	int rv;

	if (n->closing || raft_state(&n->raft) != RAFT_LEADER) {
		free(buf);
		return n->closing ? BX_ESHUTDOWN : BX_ENOTLEADER;
	}
	p = malloc(sizeof *p);
	if (p == NULL) {
		free(buf);
		return BX_ENOMEM;
	}
	/* libraft releases entry buffers with raft_free(): copy into its heap.
	 * Its on-disk format wants entry lengths in multiples of 8 bytes
	 * (raft_apply answers RAFT_INVALID otherwise): pad with spaces, which
	 * the JSON commands ignore. */
	size_t padded = (len + 7) & ~(size_t)7;
	p->buf.base = raft_malloc(padded);
	if (p->buf.base == NULL) {
		free(buf);
		free(p);
		return BX_ENOMEM;
	}
	memcpy(p->buf.base, buf, len);
	memset((char *)p->buf.base + len, ' ', padded - len);
	free(buf);
	p->buf.len = padded;
	p->node = n;
	p->cb = cb;
	p->data = data;
	p->req.data = p;
	rv = raft_apply(&n->raft, &p->req, &p->buf, 1, apply_cb);
	if (rv != 0) {
		BX_WARN("raft", "raft_apply: %s (%d)", raft_strerror(rv), rv);
		/* libraft 0.22 releases the entry's buffer itself when raft_apply
		 * fails (observed under ASan): it is not ours to free here. */
		free(p);
		return bx_raft_code(rv);
	}
	*index = p->req.index; /* set by raft_apply: the entry's place in the log */
	return BX_OK;
}

uint64_t bx_raft_node_id(const struct bx_raft_node *n)
{
	return n->id;
}

bool bx_raft_node_is_leader(struct bx_raft_node *n)
{
	return raft_state(&n->raft) == RAFT_LEADER;
}

uint64_t bx_raft_node_leader(struct bx_raft_node *n)
{
	raft_id id = 0;
	const char *addr = NULL;

	raft_leader(&n->raft, &id, &addr);
	return id;
}

uint64_t bx_raft_node_elections(const struct bx_raft_node *n)
{
	return n->elections;
}

uint64_t bx_raft_node_leader_changes(const struct bx_raft_node *n)
{
	return n->leader_changes;
}

uint64_t bx_raft_node_term(const struct bx_raft_node *n)
{
	return n->raft.current_term;
}

uint64_t bx_raft_node_commit_index(const struct bx_raft_node *n)
{
	return raft_commit_index(&n->raft);
}

uint64_t bx_raft_node_last_applied(struct bx_raft_node *n)
{
	return raft_last_applied(&n->raft);
}

struct raft *bx_raft_node_raft(struct bx_raft_node *n)
{
	return &n->raft;
}

static void transport_closed(struct bx_raft_node *n)
{
	void (*cb)(void *) = n->close_cb;
	void *data = n->close_data;

	bx_snapshot_put_unwrap(n);
	raft_uv_close(&n->io);
	bx_transport_free(&n->transport);
	free(n->address);
	free(n->dir);
	free(n);
	if (cb != NULL)
		cb(data);
}

static void watch_closed(uv_handle_t *handle)
{
	struct bx_raft_node *n = handle->data;

	n->handles_open--;
	if (n->handles_open == 0)
		transport_closed(n);
}

static void raft_closed(struct raft *r)
{
	struct bx_raft_node *n = r->data;

	bx_membership_fail_all(n, BX_ESHUTDOWN, "shutting down");
	n->handles_open--;
	if (n->handles_open == 0)
		transport_closed(n);
}

void bx_raft_node_close_now(struct bx_raft_node *n)
{
	/* reached from the transfer's callback, its deadline, or directly */
	if (n->close_started)
		return;
	if (n->fill.busy) { /* libraft's snapshot is ours until the copy ends */
		n->fill.close_after = true;
		return;
	}
	n->close_started = true;
	n->handles_open = 2;
	uv_timer_stop(&n->watch);
	uv_close((uv_handle_t *)&n->watch, watch_closed);
	raft_close(&n->raft, raft_closed);
}

static void transfer_done(struct raft_transfer *req)
{
	bx_raft_node_close_now(req->data);
}

/* libraft does not always end a transfer that cannot succeed (no other voter
 * alive): close anyway after twice the election timeout. */
static void transfer_deadline(uv_timer_t *timer)
{
	bx_raft_node_close_now(timer->data);
}

void bx_raft_node_close(struct bx_raft_node *n, void (*cb)(void *data), void *data)
{
	if (n == NULL) {
		if (cb != NULL)
			cb(data);
		return;
	}
	n->closing = true;
	n->close_cb = cb;
	n->close_data = data;
	/* A leader that simply stops costs the cluster an election timeout of
	 * unavailability; handing over first makes planned restarts invisible.
	 * libraft bounds the transfer by the election timeout. */
	if (n->started && raft_state(&n->raft) == RAFT_LEADER) {
		n->transfer.data = n;
		if (raft_transfer(&n->raft, &n->transfer, 0, transfer_done) == 0) {
			uv_timer_stop(&n->watch);
			uv_timer_start(&n->watch, transfer_deadline,
				       2 * (uint64_t)n->raft.election_timeout, 0);
			return;
		}
	}
	bx_raft_node_close_now(n);
}

void bx_raft_node_set_secret(struct bx_raft_node *n, const char *secret)
{
	bx_transport_set_secret(&n->transport, secret);
}

void bx_raft_node_refused(const struct bx_raft_node *n, uint64_t *in, uint64_t *out)
{
	*in = bx_transport_refused_in(&n->transport);
	*out = bx_transport_refused_out(&n->transport);
}
