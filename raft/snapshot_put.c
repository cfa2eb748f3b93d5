/* snapshot_put.c - the state machine's snapshot copy, made off the loop thread.
 *
 * libraft 0.22's classic API calls fsm->snapshot_async on the loop thread,
 * right after fsm->snapshot (legacy.c takeSnapshot), although the field exists
 * so that the copy can be made elsewhere. With a large state that copy
 * stopped the whole daemon: ~160 MB of services took ~0.5 s, and all three
 * servers of a cluster snapshot at about the same index, so writes stalled
 * (p99 at one connection 450-670 ms).
 *
 * So the node hides snapshot_async from libraft and wraps the storage's
 * snapshot_put. libraft takes a snapshot with fsm->snapshot (which only fixes
 * the state to copy and leaves the buffers empty) and hands it to
 * snapshot_put; the wrapper runs snapshot_async on the libuv thread pool,
 * then passes the filled snapshot to the real snapshot_put, which writes it on
 * the thread pool too. Applies go on meanwhile; the FSM's copy reads a fixed
 * read transaction. A snapshot received from the leader (trailing 0) goes
 * through unchanged.
 */
#include "raft/node_internal.h"

#include <stddef.h>

static struct bx_raft_node *node_of(struct raft_io *io)
{
	return (struct bx_raft_node *)((char *)io - offsetof(struct bx_raft_node, io));
}

static void fill_work(uv_work_t *work)
{
	struct bx_raft_node *n = work->data;
	/* libraft's own snapshot object (raft->snapshot), handed to us const */
	struct raft_snapshot *s = (struct raft_snapshot *)n->fill.snapshot;

	n->fill.status = n->fill.snapshot_async(n->fill.fsm, &s->bufs, &s->n_bufs);
}

static void fill_done(uv_work_t *work, int status)
{
	struct bx_raft_node *n = work->data;
	struct raft_io_snapshot_put *req = n->fill.req;
	raft_io_snapshot_put_cb cb = n->fill.cb;
	int rv = status != 0 ? RAFT_CANCELED : n->fill.status;

	n->fill.busy = false;
	if (rv == 0 && n->closing)
		rv = RAFT_CANCELED;
	if (rv == 0)
		rv = n->fill.put(&n->io, n->fill.trailing, req, n->fill.snapshot, cb);
	/* libraft learns of a failure through its callback, as from the put */
	if (rv != 0)
		cb(req, rv);
	if (n->fill.close_after)
		bx_raft_node_close_now(n);
}

static int put_filled(struct raft_io *io, unsigned trailing,
		      struct raft_io_snapshot_put *req,
		      const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
	struct bx_raft_node *n = node_of(io);
	int rv;

	if (trailing == 0) /* installing the leader's snapshot: already whole */
		return n->fill.put(io, trailing, req, snapshot, cb);
	if (n->fill.busy || n->closing)
		return RAFT_BUSY;
	n->fill.req = req;
	n->fill.snapshot = snapshot;
	n->fill.trailing = trailing;
	n->fill.cb = cb;
	n->fill.status = 0;
	rv = uv_queue_work(n->loop, &n->fill.work, fill_work, fill_done);
	if (rv != 0)
		return RAFT_IOERR;
	n->fill.busy = true;
	return 0;
}

void bx_snapshot_put_wrap(struct bx_raft_node *n, struct raft_fsm *fsm)
{
	if (fsm->version < 3 || fsm->snapshot_async == NULL)
		return;
	n->fill.fsm = fsm;
	n->fill.snapshot_async = fsm->snapshot_async;
	fsm->snapshot_async = NULL; /* libraft would call it on the loop */
	n->fill.put = n->io.snapshot_put;
	n->fill.work.data = n;
	n->io.snapshot_put = put_filled;
}

void bx_snapshot_put_unwrap(struct bx_raft_node *n)
{
	if (n->fill.fsm == NULL)
		return;
	n->fill.fsm->snapshot_async = n->fill.snapshot_async;
	n->fill.fsm = NULL;
}
