/* test_raft_fixture.c - three FSMs+stores under libraft's deterministic fixture. */
#include "tests/unit/harness.h"

#include <raft/fixture.h>
#include <stdio.h>
#include <stdlib.h>

#include "raft/fsm.h"
#include "src/base/error.h"

#define N_SERVERS 3
#define MAX_APPLIES 128

struct cluster {
	struct raft_fixture f;
	struct bx_store *stores[N_SERVERS];
	struct bx_fsm fsms[N_SERVERS];
	struct raft_apply reqs[MAX_APPLIES];
	int n_reqs;
	int done, failed; /* apply callbacks fired, with status or code != OK */
};

static int applies[N_SERVERS]; /* on_apply calls per server */

static void on_apply(struct bx_fsm *fsm, const struct bx_fsm_result *res, enum bx_op op,
		     const char *name)
{
	(void)res;
	(void)op;
	(void)name;
	applies[(intptr_t)fsm->data]++;
}

/* The fixture traces every step to stderr; keep it quiet unless asked for. */
static void quiet_emit(struct raft_tracer *t, int type, const void *info)
{
	(void)t;
	(void)type;
	(void)info;
}

static struct raft_tracer quiet_tracer = {.impl = NULL, .version = 2, .emit = quiet_emit};

static int accept_spec(const cJSON *spec, char *msg, size_t size)
{
	(void)spec;
	(void)msg;
	(void)size;
	return BX_OK;
}

static void cluster_start(struct cluster *c)
{
	struct raft_configuration conf;
	char dir[512], msg[BX_ERRMSG_SIZE] = "";

	memset(c, 0, sizeof *c);
	memset(applies, 0, sizeof applies);
	ASSERT_INT(raft_fixture_init(&c->f), 0);
	for (int i = 0; i < N_SERVERS; i++) {
		snprintf(dir, sizeof dir, "%s/s%d", bx_test_tmpdir(), i);
		ASSERT_MSG(bx_store_open(dir, NULL, &c->stores[i], msg) == 0, "%s", msg);
		bx_fsm_init(&c->fsms[i], c->stores[i], accept_spec, on_apply,
			    (void *)(intptr_t)i);
		ASSERT_INT(raft_fixture_grow(&c->f, &c->fsms[i].fsm), 0);
		bx_fsm_set_raft(&c->fsms[i], raft_fixture_get(&c->f, (unsigned)i));
		if (getenv("BX_TEST_TRACE") == NULL)
			raft_fixture_get(&c->f, (unsigned)i)->tracer = &quiet_tracer;
	}
	ASSERT_INT(raft_fixture_configuration(&c->f, N_SERVERS, &conf), 0);
	ASSERT_INT(raft_fixture_bootstrap(&c->f, &conf), 0);
	raft_configuration_close(&conf);
	ASSERT_INT(raft_fixture_start(&c->f), 0);
}

static void cluster_stop(struct cluster *c)
{
	raft_fixture_close(&c->f);
	for (int i = 0; i < N_SERVERS; i++) {
		bx_fsm_close(&c->fsms[i]);
		bx_store_close(c->stores[i]);
	}
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	struct cluster *c = req->data;
	const struct bx_fsm_results *res = result;

	c->done++;
	if (status != 0 || res == NULL || res->n != 1 || res->items[0].code != BX_OK)
		c->failed++;
}

/* Propose service.put NAME on the leader; returns the entry's index. */
static raft_index propose_put(struct cluster *c, const char *name, uint64_t ts)
{
	unsigned leader = raft_fixture_leader_index(&c->f);
	struct raft *r = raft_fixture_get(&c->f, leader);
	struct raft_apply *req = &c->reqs[c->n_reqs++];
	struct raft_buffer buf;
	char text[256];
	int n;

	ASSERT(c->n_reqs <= MAX_APPLIES);
	n = snprintf(text, sizeof text,
		     "{\"op\":\"service.put\",\"ts\":%llu,\"name\":\"%s\",\"start\":true,"
		     "\"spec\":{\"service\":{\"name\":\"%s\"}}}",
		     (unsigned long long)ts, name, name);
	buf.len = (size_t)n;
	buf.base = raft_malloc(buf.len);
	memcpy(buf.base, text, buf.len);
	req->data = c;
	ASSERT_INT(raft_apply(r, req, &buf, 1, apply_cb), 0);
	return raft_last_index(r);
}

static char *dump(struct bx_store *s)
{
	cJSON *services;
	char *text;

	ASSERT_INT(bx_store_list_services(s, &services), 0);
	text = cJSON_PrintUnformatted(services);
	cJSON_Delete(services);
	return text;
}

static int n_services(struct bx_store *s)
{
	cJSON *services;
	int n;

	ASSERT_INT(bx_store_list_services(s, &services), 0);
	n = cJSON_GetArraySize(services);
	cJSON_Delete(services);
	return n;
}

/* Every store holds the same services and the same applied index. */
static void assert_stores_equal(struct cluster *c, int want_services)
{
	char *first = dump(c->stores[0]);

	ASSERT_INT(n_services(c->stores[0]), want_services);
	for (int i = 1; i < N_SERVERS; i++) {
		char *other = dump(c->stores[i]);
		ASSERT_MSG(strcmp(first, other) == 0, "store %d differs from store 0", i);
		ASSERT_INT(bx_store_applied_index(c->stores[i]),
			   bx_store_applied_index(c->stores[0]));
		free(other);
	}
	free(first);
}

TEST(threeServersApplyTheSameFiftyCommands)
{
	static struct cluster c;
	raft_index last = 0;
	char name[32];

	cluster_start(&c);
	raft_fixture_elect(&c.f, 0);
	ASSERT_INT(raft_fixture_leader_index(&c.f), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "svc-%02d", i);
		last = propose_put(&c, name, 1000 + (uint64_t)i);
	}
	ASSERT(raft_fixture_step_until_applied(&c.f, N_SERVERS, last, 10000));
	ASSERT_INT(c.done, 50);
	ASSERT_INT(c.failed, 0);
	assert_stores_equal(&c, 50);
	ASSERT_INT(bx_store_applied_index(c.stores[0]), last);
	for (int i = 0; i < N_SERVERS; i++)
		ASSERT_INT(applies[i], 50);
	cluster_stop(&c);
}

TEST(laggingServerCatchesUpThroughSnapshotInstall)
{
	static struct cluster c;
	raft_index last = 0;
	char name[32];

	cluster_start(&c);
	for (unsigned i = 0; i < N_SERVERS; i++) {
		raft_set_snapshot_threshold(raft_fixture_get(&c.f, i), 8);
		raft_set_snapshot_trailing(raft_fixture_get(&c.f, i), 2);
	}
	raft_fixture_elect(&c.f, 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "svc-%02d", i);
		last = propose_put(&c, name, (uint64_t)i);
	}
	ASSERT(raft_fixture_step_until_applied(&c.f, N_SERVERS, last, 10000));
	assert_stores_equal(&c, 20);

	/* Server 2 misses 30 entries while the others snapshot past them. */
	raft_fixture_disconnect(&c.f, 0, 2);
	raft_fixture_disconnect(&c.f, 2, 0);
	raft_fixture_disconnect(&c.f, 1, 2);
	raft_fixture_disconnect(&c.f, 2, 1);
	for (int i = 20; i < 50; i++) {
		snprintf(name, sizeof name, "svc-%02d", i);
		last = propose_put(&c, name, (uint64_t)i);
	}
	ASSERT(raft_fixture_step_until_applied(&c.f, 0, last, 10000));
	ASSERT(raft_fixture_step_until_applied(&c.f, 1, last, 10000));
	ASSERT_INT(raft_fixture_leader_index(&c.f), 0);
	ASSERT_INT(n_services(c.stores[2]), 20);

	raft_fixture_reconnect(&c.f, 0, 2);
	raft_fixture_reconnect(&c.f, 2, 0);
	raft_fixture_reconnect(&c.f, 1, 2);
	raft_fixture_reconnect(&c.f, 2, 1);
	ASSERT(raft_fixture_step_until_applied(&c.f, 2, last, 20000));
	assert_stores_equal(&c, 50);
	ASSERT_INT(c.failed, 0);
	/* Server 2 got most of the 30 through restore, not apply. */
	ASSERT_MSG(applies[2] < 50, "server 2 applied %d entries one by one", applies[2]);
	ASSERT_INT(applies[0], 50);
	cluster_stop(&c);
}

TEST(leaderKilledSurvivorsContinueAndAllFsmsAgree)
{
	static struct cluster c;
	raft_index last = 0;
	unsigned leader;
	char name[32];

	cluster_start(&c);
	raft_fixture_elect(&c.f, 0);
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof name, "svc-%02d", i);
		last = propose_put(&c, name, (uint64_t)i);
	}
	ASSERT(raft_fixture_step_until_applied(&c.f, N_SERVERS, last, 10000));

	/* The leader dies; the other two elect one of themselves and go on. */
	raft_fixture_kill(&c.f, 0);
	ASSERT(raft_fixture_step_until_has_no_leader(&c.f, 10000));
	ASSERT(raft_fixture_step_until_has_leader(&c.f, 20000));
	leader = raft_fixture_leader_index(&c.f);
	ASSERT(leader == 1 || leader == 2);
	for (int i = 30; i < 50; i++) {
		snprintf(name, sizeof name, "svc-%02d", i);
		last = propose_put(&c, name, (uint64_t)i);
	}
	ASSERT(raft_fixture_step_until_applied(&c.f, leader, last, 10000));
	ASSERT(raft_fixture_step_until_applied(&c.f, leader == 1 ? 2 : 1, last, 10000));

	/* It comes back and catches up: every FSM holds the same 50. */
	raft_fixture_revive(&c.f, 0);
	ASSERT(raft_fixture_step_until_applied(&c.f, N_SERVERS, last, 20000));
	assert_stores_equal(&c, 50);
	ASSERT_INT(c.failed, 0);
	cluster_stop(&c);
}
