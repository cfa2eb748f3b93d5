/* test_agent.c - the reconciler (src/node/agent.c) on a real FSM and store, a fake
 * driver and a fake clock: no daemon, no sockets, no sleeps. */
#include "raft/command.h"
#include "src/base/error.h"
#include "src/base/metrics.h"
#include "src/node/agent.h"
#include "src/store/store.h"
#include "tests/lib/fake_clock.h"
#include "tests/lib/fake_driver.h"
#include "tests/lib/fake_submit.h"
#include "tests/unit/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define SELF 1  /* the node the agent runs on */
#define OTHER 2 /* another member */

struct fx {
	uv_loop_t loop;
	struct bx_fake_clock clock;
	struct bx_fake_submit sub;
	struct bx_metrics metrics;
	struct bx_agent *agent;
	char data_dir[512];
	/* what the node's lease says (src/node/heartbeat.h), set by the test */
	bool may_run, may_start, in_cluster;
};

static bool may_run(void *data)
{
	return ((struct fx *)data)->may_run;
}

static bool may_start(void *data)
{
	return ((struct fx *)data)->may_start;
}

static bool in_cluster(void *data)
{
	return ((struct fx *)data)->in_cluster;
}

/* As the daemon does: every applied change is told to the agent. */
static void notify(void *data, enum bx_op op, const char *name, const cJSON *record)
{
	struct fx *f = data;

	if (f->agent != NULL)
		bx_agent_notify(f->agent, op, name, record);
}

static void ok(struct fx *f, cJSON *cmd)
{
	int code = bx_fake_submit_apply(&f->sub, cmd, NULL);

	ASSERT_MSG(code == BX_OK, "command refused: %s", bx_errname(code));
}

static void agent_new(struct fx *f)
{
	char errmsg[BX_ERRMSG_SIZE] = "";
	struct bx_agent_config cfg = {.loop = &f->loop,
				      .clock = &f->clock.clock,
				      .store = f->sub.store,
				      .node_id = SELF,
				      .data_dir = f->data_dir,
				      .fence_timeout_ms = 3000,
				      .metrics = &f->metrics,
				      .driver = &bx_fake_driver,
				      .submitter = &f->sub.port,
				      .data = f,
				      .may_run = may_run,
				      .may_start = may_start,
				      .in_cluster = in_cluster};

	ASSERT_MSG(bx_agent_init(&f->agent, &cfg, errmsg) == BX_OK, "%s", errmsg);
}

static void fx_open(struct fx *f)
{
	char dir[600];
	struct bx_node_info self = {.id = SELF, .raft = "127.0.0.1:1"};
	struct bx_node_info other = {.id = OTHER, .raft = "127.0.0.1:2"};

	memset(f, 0, sizeof *f);
	bx_fake_driver_reset();
	ASSERT_INT(uv_loop_init(&f->loop), 0);
	bx_fake_clock_init(&f->clock, 100000);
	snprintf(f->data_dir, sizeof f->data_dir, "%s/data", bx_test_tmpdir());
	ASSERT_INT(mkdir(f->data_dir, 0700), 0);
	snprintf(dir, sizeof dir, "%s/state", bx_test_tmpdir());
	bx_fake_submit_open(&f->sub, dir);
	f->sub.on_apply = notify;
	f->sub.on_apply_data = f;
	ok(f, bx_cmd_cluster_init("c0ffee"));
	ok(f, bx_cmd_node_upsert(&self));
	ok(f, bx_cmd_node_upsert(&other));
	f->may_run = f->may_start = f->in_cluster = true;
	agent_new(f);
}

static void closed(void *data)
{
	*(bool *)data = true;
}

/* Let go of the agent (its instances keep running, as at a daemon's exit). */
static void agent_close(struct fx *f)
{
	bool done = false;

	bx_agent_close(f->agent, closed, &done);
	f->agent = NULL;
	for (int i = 0; i < 10 && !done; i++) {
		bx_fake_driver_settle();
		bx_fake_submit_flush(&f->sub);
		uv_run(&f->loop, UV_RUN_NOWAIT);
	}
	ASSERT_MSG(done, "the agent did not close");
}

static void fx_close(struct fx *f)
{
	if (f->agent != NULL)
		agent_close(f);
	bx_fake_submit_close(&f->sub);
	ASSERT_INT(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	ASSERT_INT(uv_loop_close(&f->loop), 0);
	bx_metrics_free(&f->metrics);
}

/* One pass of the agent, then whatever it set going (exits, closes, its
 * reports' commits) until the host and the state are still. */
static void pass(struct fx *f)
{
	for (int i = 0; i < 20; i++) {
		bx_agent_tick(f->agent);
		if (bx_fake_driver_settle() + bx_fake_submit_flush(&f->sub) == 0)
			return;
	}
	ASSERT_MSG(false, "the agent never settled");
}

static cJSON *record(struct fx *f, const char *name)
{
	cJSON *rec = NULL;

	ASSERT_INT(bx_store_get_service(f->sub.store, name, &rec), BX_OK);
	return rec;
}

static uint64_t generation(struct fx *f, const char *name)
{
	cJSON *rec = record(f, name);
	uint64_t gen =
	    (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "generation"));

	cJSON_Delete(rec);
	return gen;
}

/* The record's "state" as the cluster knows it. */
static char state_buf[32];
static const char *state(struct fx *f, const char *name)
{
	cJSON *rec = record(f, name);

	snprintf(state_buf, sizeof state_buf, "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "state")) ?: "");
	cJSON_Delete(rec);
	return state_buf;
}

/* service.put of a process service; `extra` adds sections: ",\"restart\":{…}" */
static void put(struct fx *f, const char *name, const char *extra)
{
	char text[1024];

	snprintf(text, sizeof text,
		 "{\"service\":{\"name\":\"%s\",\"driver\":\"process\"},"
		 "\"process\":{\"command\":[\"/bin/sleep\",\"1000\"]}%s}",
		 name, extra);
	ok(f, bx_cmd_service_put(name, cJSON_Parse(text), true));
}

static void assign(struct fx *f, const char *name, uint64_t node)
{
	ok(f, bx_cmd_service_assign(name, node, generation(f, name), NULL));
}

/* A service put, placed on this node and started there. */
static void running_here(struct fx *f, const char *name, const char *extra)
{
	put(f, name, extra);
	assign(f, name, SELF);
	pass(f);
}

TEST(startsWhatIsAssignedHereAndReportsItRunning)
{
	struct fx f;

	fx_open(&f);
	put(&f, "web", "");
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 0); /* not placed yet */
	assign(&f, "web", SELF);
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 1);
	ASSERT(bx_fake_vm("web")->running);
	ASSERT_STR(state(&f, "web"), "running");
	ASSERT_INT(bx_agent_count(f.agent), 1);
	ASSERT_INT(f.metrics.starts, 1);
	/* a report names this node and the generation it is about */
	const cJSON *rep = bx_fake_submit_find(&f.sub, BX_OP_SERVICE_REPORT, 0);
	ASSERT_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(rep, "node")), SELF);
	ASSERT_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(rep, "generation")),
		   generation(&f, "web"));
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 1); /* once */
	fx_close(&f);
}

TEST(leavesAloneWhatIsAssignedToAnotherNode)
{
	struct fx f;

	fx_open(&f);
	put(&f, "web", "");
	assign(&f, "web", OTHER);
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 0);
	ASSERT_INT(bx_agent_count(f.agent), 0);
	ASSERT_INT(bx_fake_submit_count(&f.sub, BX_OP_SERVICE_REPORT), 0);
	fx_close(&f);
}

TEST(actsOnNothingBeforeTheNodeHoldsTheClustersState)
{
	struct fx f;

	fx_open(&f);
	f.in_cluster = false;
	running_here(&f, "web", "");
	ASSERT_INT(bx_fake_vm("web")->starts, 0);
	f.in_cluster = true;
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 1);
	fx_close(&f);
}

/* Invariant 6: an instance left running by an earlier daemon is adopted, not
 * started a second time, and not stopped. */
TEST(aRestartedAgentAdoptsTheInstanceItLeftRunning)
{
	struct fx f;
	pid_t pid;

	fx_open(&f);
	running_here(&f, "web", "");
	pid = bx_fake_vm("web")->pid;
	agent_close(&f); /* the daemon exits: the instance keeps running */
	ASSERT(bx_fake_vm("web")->running);
	ASSERT_INT(bx_fake_vm("web")->stops + bx_fake_vm("web")->kills, 0);
	agent_new(&f);
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 1);
	ASSERT_INT(bx_fake_vm("web")->adopts, 1);
	ASSERT_INT(bx_fake_vm("web")->pid, pid);
	ASSERT_STR(state(&f, "web"), "running");
	fx_close(&f);
}

/* Moved elsewhere while this daemon was down: the instance it left must not
 * run beside its replacement. */
TEST(aRestartedAgentStopsAnInstanceNoLongerPlacedHere)
{
	struct fx f;
	char dir[700];

	fx_open(&f);
	running_here(&f, "web", "");
	agent_close(&f);
	snprintf(dir, sizeof dir, "%s/vms", f.data_dir); /* its run directory */
	mkdir(dir, 0700);
	snprintf(dir, sizeof dir, "%s/vms/web", f.data_dir);
	mkdir(dir, 0700);
	ok(&f, bx_cmd_node_down(SELF)); /* the cluster moved it off this node */
	assign(&f, "web", OTHER);
	agent_new(&f);
	pass(&f);
	ASSERT(!bx_fake_vm("web")->running);
	ASSERT_INT(bx_fake_vm("web")->stops, 1);
	ASSERT_INT(bx_fake_vm("web")->starts, 1);
	fx_close(&f);
}

TEST(restartsOnFailureAfterItsBackoffAndGivesUpAfterMaxAttempts)
{
	struct fx f;

	fx_open(&f);
	put(&f, "web",
	    ",\"restart\":{\"policy\":\"on-failure\",\"max_attempts\":2,\"backoff_ms\":1000}");
	assign(&f, "web", SELF);
	pass(&f);
	bx_fake_vm_exit("web", 1, 0);
	pass(&f);
	ASSERT_STR(state(&f, "web"), "exited");
	bx_fake_clock_advance(&f.clock, 700); /* the backoff is 1000 ms +-20 % */
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 1);
	bx_fake_clock_advance(&f.clock, 600);
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 2);
	ASSERT_STR(state(&f, "web"), "running");
	ASSERT_INT(f.metrics.restarts, 1);
	bx_fake_vm_exit("web", 1, 0);
	pass(&f);
	bx_fake_clock_advance(&f.clock, 5000);
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 3);
	bx_fake_vm_exit("web", 1, 0); /* a third failure within the window */
	pass(&f);
	bx_fake_clock_advance(&f.clock, 60000);
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 3);
	ASSERT_STR(state(&f, "web"), "failed");
	fx_close(&f);
}

TEST(aCleanExitIsNotRestartedUnderOnFailure)
{
	struct fx f;

	fx_open(&f);
	running_here(&f, "job", "");
	bx_fake_vm_exit("job", 0, 0);
	pass(&f);
	bx_fake_clock_advance(&f.clock, 60000);
	pass(&f);
	ASSERT_INT(bx_fake_vm("job")->starts, 1);
	ASSERT_STR(state(&f, "job"), "exited");
	fx_close(&f);
}

/* A new generation: the old instance is gone before the new one starts, so
 * the two never run at once. */
TEST(aNewGenerationStopsTheOldInstanceBeforeStartingTheNew)
{
	struct fx f;
	uint64_t gen;

	fx_open(&f);
	running_here(&f, "web", "");
	gen = generation(&f, "web");
	put(&f, "web", ",\"restart\":{\"policy\":\"always\"}"); /* a new spec */
	ASSERT(generation(&f, "web") > gen);
	bx_agent_tick(f.agent);
	/* asked to stop, and nothing new started while it still runs */
	ASSERT_INT(bx_fake_vm("web")->stops, 1);
	ASSERT_INT(bx_fake_vm("web")->starts, 1);
	bx_fake_driver_settle();
	bx_fake_submit_flush(&f.sub);
	ASSERT_INT(bx_fake_driver_running(), 0);
	pass(&f);
	ASSERT_INT(bx_fake_vm("web")->starts, 2);
	ASSERT_INT(bx_fake_driver_running(), 1);
	ASSERT_STR(state(&f, "web"), "running");
	fx_close(&f);
}

/* service.migrate: this node stops it, and its "stopped" report for that
 * generation hands it to the target (raft/fsm.c). */
TEST(aMoveStopsItHereAndTheStopReportHandsItOver)
{
	struct fx f;
	cJSON *rec;

	fx_open(&f);
	running_here(&f, "web", "");
	ok(&f, bx_cmd_service_migrate("web", OTHER, generation(&f, "web")));
	pass(&f);
	ASSERT(!bx_fake_vm("web")->running);
	ASSERT_INT(bx_fake_vm("web")->stops, 1);
	rec = record(&f, "web");
	ASSERT_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "node")), OTHER);
	cJSON_Delete(rec);
	ASSERT_INT(bx_agent_count(f.agent), 0);
	fx_close(&f);
}

TEST(aStoppedServiceIsStoppedAndReportedStopped)
{
	struct fx f;

	fx_open(&f);
	running_here(&f, "web", "");
	ok(&f, bx_cmd_service_stop("web"));
	pass(&f);
	ASSERT(!bx_fake_vm("web")->running);
	ASSERT_STR(state(&f, "web"), "stopped");
	ASSERT_INT(bx_agent_count(f.agent), 0);
	fx_close(&f);
}

/* Invariant 4: the lease ran out; instances of on_partition = "stop" services
 * die at once, those of "keep" services stay, and a fenced one says so. */
TEST(fencingKillsStopInstancesAndKeepsKeepOnes)
{
	struct fx f;

	fx_open(&f);
	put(&f, "db", "");
	put(&f, "cache", ",\"placement\":{\"on_partition\":\"keep\"}");
	assign(&f, "db", SELF);
	assign(&f, "cache", SELF);
	pass(&f);
	ASSERT_INT(bx_fake_driver_running(), 2);
	f.may_run = f.may_start = false;
	bx_agent_fence(f.agent); /* as the heartbeat calls it when the lease runs out */
	ASSERT_INT(bx_fake_vm("db")->kills, 1);
	ASSERT_INT(bx_fake_vm("cache")->kills, 0);
	pass(&f);
	ASSERT(!bx_fake_vm("db")->running);
	ASSERT(bx_fake_vm("cache")->running);
	ASSERT_STR(state(&f, "db"), "fenced");
	ASSERT_INT(f.metrics.fenced, 1);
	fx_close(&f);
}

/* Without the heartbeat's call, a pass that finds the lease gone fences too. */
TEST(aPassWithoutTheLeaseFencesByItself)
{
	struct fx f;

	fx_open(&f);
	running_here(&f, "db", "");
	f.may_run = f.may_start = false;
	pass(&f);
	ASSERT(!bx_fake_vm("db")->running);
	ASSERT_INT(bx_fake_vm("db")->kills, 1);
	fx_close(&f);
}

TEST(nothingStartsWhileTheLeaseIsOutAndItStartsWhenItIsBack)
{
	struct fx f;

	fx_open(&f);
	f.may_start = false;
	put(&f, "db", "");
	put(&f, "cache", ",\"placement\":{\"on_partition\":\"keep\"}");
	assign(&f, "db", SELF);
	assign(&f, "cache", SELF);
	pass(&f);
	bx_fake_clock_advance(&f.clock, 10000);
	pass(&f);
	ASSERT_INT(bx_fake_vm("db")->starts, 0);
	ASSERT_INT(bx_fake_vm("cache")->starts, 1); /* "keep" tolerates twice */
	f.may_start = true;
	bx_agent_lease_changed(f.agent);
	pass(&f);
	ASSERT_INT(bx_fake_vm("db")->starts, 1);
	ASSERT_STR(state(&f, "db"), "running");
	fx_close(&f);
}

TEST(aFencedInstanceStartsAgainOnlyOnceTheLeaseIsBack)
{
	struct fx f;

	fx_open(&f);
	running_here(&f, "db", "");
	f.may_run = f.may_start = false;
	bx_agent_fence(f.agent);
	pass(&f);
	bx_fake_clock_advance(&f.clock, 60000);
	pass(&f);
	ASSERT_INT(bx_fake_vm("db")->starts, 1);
	ASSERT(!bx_fake_vm("db")->running);
	/* the lease is back, but the store has not caught up: may_start waits */
	f.may_run = true;
	pass(&f);
	ASSERT_INT(bx_fake_vm("db")->starts, 1);
	f.may_start = true;
	bx_agent_lease_changed(f.agent);
	pass(&f);
	ASSERT_INT(bx_fake_vm("db")->starts, 2);
	ASSERT_STR(state(&f, "db"), "running");
	fx_close(&f);
}

TEST(aStartTheDriverRefusesIsReportedFailedAndNotRetried)
{
	struct fx f;

	fx_open(&f);
	snprintf(bx_fake_vm("web")->fail_start, sizeof bx_fake_vm("web")->fail_start,
		 "port 8080 is in use");
	running_here(&f, "web", "");
	bx_fake_clock_advance(&f.clock, 60000);
	pass(&f);
	ASSERT_STR(state(&f, "web"), "failed");
	ASSERT_INT(bx_fake_vm("web")->starts, 0);
	ASSERT_INT(f.metrics.start_failures, 1);
	cJSON *rec = record(&f, "web");
	ASSERT_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "reason")),
			"port 8080 is in use");
	cJSON_Delete(rec);
	fx_close(&f);
}

/* A report the cluster could not take (no leader) is sent again later. */
TEST(aReportThatFindsNoLeaderIsSentAgain)
{
	struct fx f;

	fx_open(&f);
	f.sub.fail_submit = BX_ENOLEADER;
	running_here(&f, "web", "");
	ASSERT(bx_fake_vm("web")->running);
	ASSERT(strcmp(state(&f, "web"), "running") != 0);
	f.sub.fail_submit = 0;
	pass(&f);
	ASSERT_STR(state(&f, "web"), "running");
	fx_close(&f);
}

/* An instance let go of while the agent runs (the old generation, once it
 * ended) may still be closing when the agent closes: the agent waits for
 * that close too, as its callback touches the agent (the ASan build catches
 * a use after free otherwise). */
TEST(closingWaitsForADriverCloseStillUnderWay)
{
	struct fx f;
	bool done = false;

	fx_open(&f);
	running_here(&f, "web", "");
	put(&f, "web", ",\"restart\":{\"policy\":\"always\"}"); /* a new generation */
	bx_agent_tick(f.agent);               /* the old one is asked to stop */
	bx_fake_driver_deliver_exits();       /* it ends; its close not yet */
	bx_agent_tick(f.agent);               /* let go of (closing), the new one starts */
	ASSERT_INT(bx_fake_vm("web")->starts, 2);
	ASSERT_INT(bx_fake_vm("web")->n_closing, 1);
	bx_agent_close(f.agent, closed, &done);
	f.agent = NULL;
	uv_run(&f.loop, UV_RUN_NOWAIT); /* the timer closes first */
	ASSERT(!done);
	bx_fake_driver_settle(); /* both closes: only now is the agent done */
	bx_fake_submit_flush(&f.sub);
	uv_run(&f.loop, UV_RUN_NOWAIT);
	ASSERT(done);
	fx_close(&f);
}
