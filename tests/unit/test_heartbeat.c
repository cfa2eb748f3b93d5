/* test_heartbeat.c - the lease and the leader's view of who is alive
 * (src/node/heartbeat.c) on a fake clock, a fake way to the leader and a real FSM
 * and store: no daemon, no sockets, no sleeps. */
#include "raft/command.h"
#include "raft/fsm.h"
#include "src/base/error.h"
#include "src/node/heartbeat.h"
#include "src/store/store.h"
#include "tests/lib/fake_clock.h"
#include "tests/lib/fake_submit.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>

#define SELF 1
#define T0 100000 /* the clock when the heartbeat is set up */
#define LEASE_MS 500
#define FENCE_MS 3000
#define NODE_TIMEOUT_MS 5000
#define MAX_SENT 64

/* A heartbeat sent to another node, waiting for the test to answer it. */
struct sent {
	uint64_t to, at;
	bx_beat_cb cb;
	void *data;
	bool answered;
};

struct fx {
	uv_loop_t loop;
	struct bx_fake_clock clock;
	struct bx_fake_submit sub;
	struct bx_heartbeat hb;
	uint64_t leader, term; /* Raft's view, set by the test */
	struct sent sent[MAX_SENT];
	unsigned n_sent;
	unsigned fenced, lease_changed; /* what the heartbeat told */
};

static uint64_t leader(void *data)
{
	return ((struct fx *)data)->leader;
}

static bool is_leader(void *data)
{
	return ((struct fx *)data)->leader == SELF;
}

static uint64_t term(void *data)
{
	return ((struct fx *)data)->term;
}

static bool in_cluster(void *data)
{
	(void)data;
	return true;
}

static int send_beat(void *data, uint64_t to, bx_beat_cb cb, void *cb_data)
{
	struct fx *f = data;

	ASSERT(f->n_sent < MAX_SENT);
	ASSERT(to != SELF); /* its own heartbeat the leader hears without a send */
	f->sent[f->n_sent++] = (struct sent){.to = to,
					     .at = f->clock.now,
					     .cb = cb,
					     .data = cb_data};
	return BX_OK;
}

static void on_fence(void *data)
{
	((struct fx *)data)->fenced++;
}

static void on_lease_changed(void *data)
{
	((struct fx *)data)->lease_changed++;
}

static void ok(struct fx *f, cJSON *cmd)
{
	int code = bx_fake_submit_apply(&f->sub, cmd, NULL);

	ASSERT_MSG(code == BX_OK, "command refused: %s", bx_errname(code));
}

static void fx_open(struct fx *f, uint64_t leader_id)
{
	char dir[600];
	struct bx_heartbeat_config cfg = {.loop = &f->loop,
					  .clock = &f->clock.clock,
					  .node_id = SELF,
					  .lease_ms = LEASE_MS,
					  .fence_timeout_ms = FENCE_MS,
					  .node_timeout_ms = NODE_TIMEOUT_MS,
					  .submitter = &f->sub.port,
					  .data = f,
					  .leader = leader,
					  .is_leader = is_leader,
					  .term = term,
					  .in_cluster = in_cluster,
					  .send = send_beat,
					  .on_fence = on_fence,
					  .on_lease_changed = on_lease_changed};

	memset(f, 0, sizeof *f);
	ASSERT_INT(uv_loop_init(&f->loop), 0);
	bx_fake_clock_init(&f->clock, T0);
	snprintf(dir, sizeof dir, "%s/state", bx_test_tmpdir());
	bx_fake_submit_open(&f->sub, dir);
	ok(f, bx_cmd_cluster_init("c0ffee"));
	for (uint64_t id = 1; id <= 3; id++) {
		struct bx_node_info node = {.id = id, .raft = "127.0.0.1:1"};
		ok(f, bx_cmd_node_upsert(&node));
	}
	f->leader = leader_id;
	f->term = 1;
	f->sub.leader = leader_id == SELF;
	cfg.store = f->sub.store;
	ASSERT_INT(bx_heartbeat_init(&f->hb, &cfg), BX_OK);
}

static void hb_closed(void *data)
{
	*(bool *)data = true;
}

static void fx_close(struct fx *f)
{
	/* answer what is still out, as the client would at its close */
	for (unsigned i = 0; i < f->n_sent; i++)
		if (!f->sent[i].answered) {
			f->sent[i].answered = true;
			f->sent[i].cb(f->sent[i].data, BX_ESHUTDOWN, 0);
		}
	bool closed = false;

	bx_heartbeat_close(&f->hb, hb_closed, &closed);
	bx_fake_submit_flush(&f->sub); /* a confirm under way ends: nobody to answer */
	ASSERT_INT(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	ASSERT(closed);
	bx_fake_submit_close(&f->sub);
	ASSERT_INT(uv_loop_close(&f->loop), 0);
}

/* Move the clock to T0 + ms and run one tick. */
static void at(struct fx *f, uint64_t ms)
{
	ASSERT(T0 + ms >= f->clock.now);
	f->clock.now = T0 + ms;
	bx_heartbeat_tick(&f->hb);
}

static void answer(struct fx *f, unsigned i, int code, uint64_t index)
{
	ASSERT(i < f->n_sent && !f->sent[i].answered);
	f->sent[i].answered = true;
	f->sent[i].cb(f->sent[i].data, code, index);
}

/* --- this node's lease ---------------------------------------------------- */

/* The lease counts from when the answered heartbeat was sent, not from when
 * its answer came: the leader heard it no earlier than that (liveness.h). */
TEST(anAnswerRenewsTheLeaseFromWhenItsHeartbeatWasSent)
{
	struct fx f;

	fx_open(&f, 2);
	at(&f, 1000);
	ASSERT_INT(f.n_sent, 1);
	ASSERT_INT(f.sent[0].to, 2);
	at(&f, 2500); /* a lease_ms later: the next one */
	ASSERT_INT(f.n_sent, 2);
	answer(&f, 0, BX_OK, 0); /* the answer to the one sent at 1000 */
	ASSERT_INT(f.lease_changed, 1);
	at(&f, 1000 + FENCE_MS - 1);
	ASSERT(bx_heartbeat_may_run(&f.hb));
	ASSERT_INT(f.fenced, 0);
	for (unsigned i = 1; i < f.n_sent; i++)
		answer(&f, i, BX_ETIMEDOUT, 0); /* nothing else gets through */
	at(&f, 1000 + FENCE_MS);
	ASSERT(!bx_heartbeat_may_run(&f.hb));
	ASSERT_INT(f.fenced, 1);
	fx_close(&f);
}

TEST(aLateAnswerToAnOlderHeartbeatNeverShortensTheLease)
{
	struct fx f;

	fx_open(&f, 2);
	at(&f, 1000);
	at(&f, 1600);
	ASSERT_INT(f.n_sent, 2);
	answer(&f, 1, BX_OK, 0); /* the newer first: until 1600 + FENCE_MS */
	answer(&f, 0, BX_OK, 0); /* then the older, late */
	f.clock.now = T0 + 1600 + FENCE_MS - 1;
	ASSERT(bx_heartbeat_may_run(&f.hb));
	f.clock.now = T0 + 1600 + FENCE_MS;
	ASSERT(!bx_heartbeat_may_run(&f.hb));
	fx_close(&f);
}

/* A daemon that starts keeps the instances an earlier one left running for
 * one fence_timeout while it reaches the leader; with no answer, it fences
 * once, and tells the agent again when a lease comes back. */
TEST(withoutAnswersTheLeaseRunsOutAndFencesOnceUntilItIsBack)
{
	struct fx f;
	unsigned last;

	fx_open(&f, 2);
	ASSERT(bx_heartbeat_may_run(&f.hb));
	ASSERT(!bx_heartbeat_may_start(&f.hb)); /* the grace runs, starts nothing */
	at(&f, FENCE_MS - 1);
	ASSERT_INT(f.fenced, 0);
	at(&f, FENCE_MS);
	ASSERT_INT(f.fenced, 1);
	at(&f, FENCE_MS + 50);
	at(&f, FENCE_MS + 5000);
	ASSERT_INT(f.fenced, 1);
	ASSERT_INT(f.lease_changed, 0);
	last = f.n_sent - 1;
	answer(&f, last, BX_OK, 0);
	ASSERT(bx_heartbeat_may_run(&f.hb));
	ASSERT(bx_heartbeat_may_start(&f.hb));
	ASSERT_INT(f.lease_changed, 1);
	fx_close(&f);
}

/* A service moved away while this node was cut off is moved in its store
 * before the node may start anything: the answer's index says how far. */
TEST(mayStartOnlyOnceTheStoreHasAppliedTheAnswersIndex)
{
	struct fx f;
	uint64_t applied;

	fx_open(&f, 2);
	at(&f, 500);
	applied = bx_store_applied_index(f.sub.store);
	answer(&f, 0, BX_OK, applied + 2);
	ASSERT(bx_heartbeat_may_run(&f.hb));
	ASSERT(!bx_heartbeat_may_start(&f.hb));
	ok(&f, bx_cmd_node_drain(3, true));
	ASSERT(!bx_heartbeat_may_start(&f.hb));
	ok(&f, bx_cmd_node_drain(3, false));
	ASSERT(bx_heartbeat_may_start(&f.hb));
	fx_close(&f);
}

TEST(anUnansweredHeartbeatIsSentAgainSoonNotALeaseLater)
{
	struct fx f;

	fx_open(&f, 2);
	at(&f, 1000);
	answer(&f, 0, BX_EUNAVAIL, 0);
	at(&f, 1050);
	ASSERT_INT(f.n_sent, 1);
	at(&f, 1100); /* 100 ms after the failure, not LEASE_MS after the send */
	ASSERT_INT(f.n_sent, 2);
	fx_close(&f);
}

TEST(aNewLeaderHearsFromThisNodeAtOnce)
{
	struct fx f;

	fx_open(&f, 2);
	at(&f, 1000);
	ASSERT_INT(f.n_sent, 1);
	f.leader = 3;
	at(&f, 1050);
	ASSERT_INT(f.n_sent, 2);
	ASSERT_INT(f.sent[1].to, 3);
	fx_close(&f);
}

/* --- the leader's side ------------------------------------------------------ */

struct beat {
	int calls, code;
	uint64_t index;
	int order;
};
static int answers;

static void beat_answered(void *data, int code, uint64_t index)
{
	struct beat *b = data;

	b->calls++;
	b->code = code;
	b->index = index;
	b->order = ++answers;
}

/* A majority still following this leader is shown by a cluster.confirm it
 * proposed after the heartbeat came: only its commit answers the heartbeat. */
TEST(theLeaderAnswersOnlyOnceAConfirmProposedAfterTheHeartbeatCommits)
{
	struct fx f;
	struct beat two = {0}, three = {0};

	fx_open(&f, SELF);
	answers = 0;
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 2, beat_answered, &two), BX_OK);
	ASSERT_INT(two.calls, 0);
	ASSERT_INT(f.sub.queued, 1); /* the confirm, not committed yet */
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 3, beat_answered, &three), BX_OK);
	ASSERT_INT(f.sub.queued, 1); /* waits for a confirm of its own */
	bx_fake_submit_flush(&f.sub);
	ASSERT_INT(two.calls, 1);
	ASSERT_INT(two.code, BX_OK);
	ASSERT_INT(three.calls, 1);
	ASSERT(two.order < three.order);
	ASSERT_INT(bx_fake_submit_count(&f.sub, BX_OP_CLUSTER_CONFIRM), 2);
	ASSERT_INT(three.index, bx_store_applied_index(f.sub.store));
	fx_close(&f);
}

TEST(aLeaderThatLosesLeadershipAnswersNoOneWithALease)
{
	struct fx f;
	struct beat two = {0}, three = {0};

	fx_open(&f, SELF);
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 2, beat_answered, &two), BX_OK);
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 3, beat_answered, &three), BX_OK);
	f.leader = 2; /* deposed before the confirm under way commits */
	f.sub.leader = false;
	at(&f, 100);
	/* the heartbeat waiting for the next confirm is refused at once */
	ASSERT_INT(three.calls, 1);
	ASSERT_INT(three.code, BX_ENOTLEADER);
	ASSERT_INT(two.calls, 0);
	/* the confirm under way never commits: refused too */
	bx_fake_submit_drop(&f.sub, BX_ENOTLEADER);
	ASSERT_INT(two.calls, 1);
	ASSERT_INT(two.code, BX_ENOTLEADER);
	fx_close(&f);
}

TEST(onlyTheLeaderTakesHeartbeatsAndOnlyFromMembers)
{
	struct fx f;
	struct beat b = {0};

	fx_open(&f, 2);
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 3, beat_answered, &b), BX_ENOTLEADER);
	fx_close(&f);
	fx_open(&f, SELF);
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 9, beat_answered, &b), BX_ENOENT);
	ASSERT_INT(b.calls, 0);
	fx_close(&f);
}

static bool node_down(struct fx *f, uint64_t id)
{
	cJSON *rec = NULL;
	bool down;

	ASSERT_INT(bx_store_get_node(f->sub.store, id, &rec), BX_OK);
	down = bx_fsm_node_down(rec);
	cJSON_Delete(rec);
	return down;
}

/* Invariant 4: a node is declared down only node_timeout after it was last
 * heard, counted from this leader's election at the earliest, so its lease
 * (fence_timeout < node_timeout) has run out first. */
TEST(aNewLeaderDeclaresASilentNodeDownOnlyANodeTimeoutAfterItsElection)
{
	struct fx f;
	struct beat b = {0};

	fx_open(&f, SELF);
	at(&f, 0); /* elected now */
	at(&f, 2000);
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 3, beat_answered, &b), BX_OK);
	bx_fake_submit_flush(&f.sub);
	for (uint64_t t = 2050; t <= NODE_TIMEOUT_MS; t += 50)
		at(&f, t);
	ASSERT_INT(bx_fake_submit_count(&f.sub, BX_OP_NODE_DOWN), 0);
	at(&f, NODE_TIMEOUT_MS + 50);
	bx_fake_submit_flush(&f.sub);
	ASSERT_INT(bx_fake_submit_count(&f.sub, BX_OP_NODE_DOWN), 1);
	ASSERT(node_down(&f, 2));
	ASSERT(!node_down(&f, 3)); /* heard at 2000: not before 7000 */
	ASSERT(!node_down(&f, SELF));
	for (uint64_t t = NODE_TIMEOUT_MS + 100; t <= 2000 + NODE_TIMEOUT_MS; t += 50)
		at(&f, t);
	bx_fake_submit_flush(&f.sub);
	ASSERT(!node_down(&f, 3));
	at(&f, 2000 + NODE_TIMEOUT_MS + 50);
	bx_fake_submit_flush(&f.sub);
	ASSERT(node_down(&f, 3));
	fx_close(&f);
}

TEST(aNewTermCountsFromItsOwnElection)
{
	struct fx f;

	fx_open(&f, SELF);
	at(&f, 0);
	at(&f, 4000);
	f.term = 2; /* re-elected: what term 1 heard says nothing of term 2's leases */
	at(&f, 4500);
	for (uint64_t t = 4550; t <= 4500 + NODE_TIMEOUT_MS; t += 50)
		at(&f, t);
	bx_fake_submit_flush(&f.sub);
	ASSERT_INT(bx_fake_submit_count(&f.sub, BX_OP_NODE_DOWN), 0);
	at(&f, 4500 + NODE_TIMEOUT_MS + 50);
	bx_fake_submit_flush(&f.sub);
	ASSERT_INT(bx_fake_submit_count(&f.sub, BX_OP_NODE_DOWN), 1);
	fx_close(&f);
}

TEST(aDownNodeHeardAgainIsBroughtUp)
{
	struct fx f;
	struct beat b = {0};

	fx_open(&f, SELF);
	ok(&f, bx_cmd_node_down(2));
	ASSERT(node_down(&f, 2));
	ASSERT_INT(bx_heartbeat_heard(&f.hb, 2, beat_answered, &b), BX_OK);
	bx_fake_submit_flush(&f.sub);
	ASSERT_INT(bx_fake_submit_count(&f.sub, BX_OP_NODE_UP), 1);
	ASSERT(!node_down(&f, 2));
	ASSERT_INT(b.code, BX_OK);
	fx_close(&f);
}
