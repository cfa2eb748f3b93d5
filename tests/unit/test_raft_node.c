/* test_raft_node.c - a real one-server node (libraft's uv storage in a temp
 * dir, the real transport) with a counting state machine whose snapshot copy
 * is slow: the copy runs off the loop thread, writes commit and the loop keeps
 * turning while it runs, the snapshot reaches the disk, and closing the node
 * waits for a copy under way. */
#include "tests/unit/harness.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "raft/node.h"

struct tfsm {
	struct raft_fsm fsm;
	pthread_t loop_thread;
	uint64_t count;      /* entries applied */
	uint64_t snap_count; /* count when the snapshot was fixed */
	bool held;           /* between snapshot and snapshot_finalize */
	unsigned copy_ms;
	atomic_int copying; /* a copy is sleeping in snapshot_async */
	atomic_int copies, copies_on_loop, finalized;
};

static int t_apply(struct raft_fsm *f, const struct raft_buffer *buf, void **result)
{
	struct tfsm *t = f->data;

	(void)buf;
	t->count++;
	*result = NULL;
	return 0;
}

static int t_snapshot(struct raft_fsm *f, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct tfsm *t = f->data;
	struct raft_buffer *arr;

	if (t->held)
		return RAFT_BUSY;
	arr = raft_malloc(sizeof *arr);
	if (arr == NULL)
		return RAFT_NOMEM;
	arr[0].base = NULL;
	arr[0].len = 0;
	t->held = true;
	t->snap_count = t->count;
	*bufs = arr;
	*n_bufs = 1;
	return 0;
}

static int t_snapshot_async(struct raft_fsm *f, struct raft_buffer *bufs[],
			    unsigned *n_bufs)
{
	struct tfsm *t = f->data;
	uint64_t *data;

	if (*n_bufs != 1)
		return RAFT_INVALID;
	if (pthread_equal(pthread_self(), t->loop_thread))
		atomic_fetch_add(&t->copies_on_loop, 1);
	atomic_store(&t->copying, 1);
	usleep(t->copy_ms * 1000);
	data = malloc(sizeof *data);
	if (data != NULL)
		*data = t->snap_count;
	(*bufs)[0].base = data;
	(*bufs)[0].len = data != NULL ? sizeof *data : 0;
	atomic_fetch_add(&t->copies, 1);
	atomic_store(&t->copying, 0);
	return data != NULL ? 0 : RAFT_NOMEM;
}

static int t_snapshot_finalize(struct raft_fsm *f, struct raft_buffer *bufs[],
			       unsigned *n_bufs)
{
	struct tfsm *t = f->data;

	if (*bufs != NULL) {
		free((*bufs)[0].base);
		raft_free(*bufs);
	}
	*bufs = NULL;
	*n_bufs = 0;
	t->held = false;
	atomic_fetch_add(&t->finalized, 1);
	return 0;
}

static int t_restore(struct raft_fsm *f, struct raft_buffer *buf)
{
	struct tfsm *t = f->data;

	if (buf->len == sizeof t->count)
		memcpy(&t->count, buf->base, sizeof t->count);
	raft_free(buf->base);
	return 0;
}

static void tfsm_init(struct tfsm *t, unsigned copy_ms)
{
	memset(t, 0, sizeof *t);
	t->fsm.version = 3;
	t->fsm.data = t;
	t->fsm.apply = t_apply;
	t->fsm.snapshot = t_snapshot;
	t->fsm.snapshot_finalize = t_snapshot_finalize;
	t->fsm.snapshot_async = t_snapshot_async;
	t->fsm.restore = t_restore;
	t->loop_thread = pthread_self();
	t->copy_ms = copy_ms;
}

/* --- a node on the loop --------------------------------------------------- */

static uv_loop_t loop;
static struct bx_raft_node *node;
static bool node_closed;
static int done, failed;

static void run_until(bool (*cond)(void), int ms)
{
	uint64_t end = uv_now(&loop) + (uint64_t)ms;

	while (!cond() && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
}

static bool is_leader(void)
{
	return bx_raft_node_is_leader(node);
}

static bool is_closed(void)
{
	return node_closed;
}

static void closed(void *data)
{
	(void)data;
	node_closed = true;
}

/* ticks every 5 ms: the largest gap says how long the loop stood still */
static uv_timer_t ticker;
static uint64_t last_tick, max_gap;

static void tick(uv_timer_t *t)
{
	uint64_t now = uv_hrtime() / 1000000;

	(void)t;
	if (last_tick != 0 && now - last_tick > max_gap)
		max_gap = now - last_tick;
	last_tick = now;
}

static void start_node(struct tfsm *t)
{
	char dir[512], address[32], err[256] = "";
	struct bx_raft_node_config cfg = {0};

	uv_loop_init(&loop);
	node_closed = false;
	snprintf(dir, sizeof dir, "%s/raft", bx_test_tmpdir());
	snprintf(address, sizeof address, "127.0.0.1:%d",
		 12000 + (int)(uv_hrtime() % 18000));
	cfg.id = 1;
	cfg.address = address;
	cfg.dir = dir;
	cfg.heartbeat_ms = 20;
	cfg.election_ms = 100;
	cfg.snapshot_threshold = 16;
	cfg.snapshot_trailing = 8;
	cfg.secret = "a test secret";
	ASSERT_MSG(bx_raft_node_init(&node, &loop, &cfg, &t->fsm, err) == BX_OK, "%s",
		   err);
	ASSERT_MSG(bx_raft_node_bootstrap(node, err) == BX_OK, "%s", err);
	ASSERT_MSG(bx_raft_node_start(node, err) == BX_OK, "%s", err);
	run_until(is_leader, 5000);
	ASSERT(bx_raft_node_is_leader(node));
}

static void close_loop(void)
{
	for (int i = 0; i < 10; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_MSG(uv_loop_close(&loop) == 0, "handles left open on the loop");
}

static void stop_node(void)
{
	bx_raft_node_close(node, closed, NULL);
	run_until(is_closed, 5000);
	ASSERT(node_closed);
	close_loop();
}

static void proposed(void *data, int code, void *result)
{
	(void)data;
	(void)result;
	if (code == BX_OK)
		done++;
	else
		failed++;
}

static void propose(void)
{
	char *buf = strdup("entry");
	uint64_t index;

	ASSERT(buf != NULL);
	ASSERT_INT(bx_raft_node_propose(node, buf, strlen(buf), proposed, NULL, &index),
		   BX_OK);
}

static int want;
static bool all_done(void)
{
	return done + failed >= want;
}

static struct tfsm *current;
static bool copying(void)
{
	return atomic_load(&current->copying) != 0;
}

static bool copied(void)
{
	return atomic_load(&current->copies) > 0 && atomic_load(&current->finalized) > 0;
}

static bool snapshot_on_disk(void)
{
	char dir[512];
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(dir, sizeof dir, "%s/raft", bx_test_tmpdir());
	d = opendir(dir);
	if (d == NULL)
		return false;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "snapshot-", 9) == 0 &&
		    strstr(e->d_name, ".meta") == NULL)
			found = true;
	closedir(d);
	return found;
}

/* A node whose copies take `copy_ms`; entries committed one by one until the
 * snapshot threshold starts a copy. */
static void start_copying(struct tfsm *t, unsigned copy_ms)
{
	tfsm_init(t, copy_ms);
	current = t;
	start_node(t);
	done = failed = 0;
	for (int i = 0; i < 64 && !copying() && atomic_load(&current->copies) == 0; i++) {
		want = done + failed + 1;
		propose();
		run_until(all_done, 5000);
		ASSERT_INT(failed, 0);
	}
	ASSERT_MSG(atomic_load(&current->copies_on_loop) == 0,
		   "the snapshot copy ran on the loop thread");
	run_until(copying, 2000);
	ASSERT_MSG(copying(), "no snapshot copy began after %d entries", done);
}

TEST(theSnapshotCopyRunsOffTheLoopWhileWritesCommit)
{
	struct tfsm t;

	start_copying(&t, 600);
	/* while the copy sleeps: the loop turns and new writes commit */
	uv_timer_init(&loop, &ticker);
	last_tick = max_gap = 0;
	uv_timer_start(&ticker, tick, 5, 5);
	want = done + failed + 8;
	for (int i = 0; i < 8; i++)
		propose();
	run_until(all_done, 5000);
	ASSERT_INT(failed, 0);
	ASSERT_MSG(copying(), "8 writes waited for the copy to end");
	run_until(copied, 5000);
	uv_timer_stop(&ticker);
	uv_close((uv_handle_t *)&ticker, NULL);
	ASSERT_INT(atomic_load(&t.copies_on_loop), 0);
	ASSERT_MSG(max_gap < 300, "the loop stood still for %llu ms during the copy",
		   (unsigned long long)max_gap);
	run_until(snapshot_on_disk, 5000);
	ASSERT_MSG(snapshot_on_disk(), "no snapshot file in the raft directory");
	stop_node();
	ASSERT_INT(atomic_load(&t.finalized), atomic_load(&t.copies));
}

TEST(closingWaitsForACopyUnderWay)
{
	struct tfsm t;

	start_copying(&t, 400);
	bx_raft_node_close(node, closed, NULL);
	run_until(is_closed, 5000);
	ASSERT(node_closed);
	/* the copy ended before the node was released, and libraft let go of it */
	ASSERT_INT(atomic_load(&t.copying), 0);
	ASSERT_INT(atomic_load(&t.copies), 1);
	ASSERT_INT(atomic_load(&t.finalized), 1);
	ASSERT(!t.held);
	close_loop();
}
