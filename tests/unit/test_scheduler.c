/* test_scheduler.c - placement: fewest services first, no needless moves, generations
 * carried; capacity, labels, anti-affinity, draining nodes, and why a service waits. */
#include "src/model/scheduler.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *svc(const char *name, uint64_t node, uint64_t gen, const char *desired)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "name", name);
	cJSON_AddNumberToObject(s, "node", (double)node);
	cJSON_AddNumberToObject(s, "generation", (double)gen);
	cJSON_AddStringToObject(s, "desired", desired);
	return s;
}

/* A service record with a spec: memory, vCPUs, constraints, anti-affinity
 * (comma-separated lists, "" for none). */
static cJSON *svc_spec(const char *name, uint64_t node, unsigned mem, unsigned cpus,
		       const char *constraints, const char *avoid)
{
	cJSON *s = svc(name, node, 1, "running");
	cJSON *spec = cJSON_AddObjectToObject(s, "spec");
	cJSON *service = cJSON_AddObjectToObject(spec, "service");
	cJSON *placement = cJSON_AddObjectToObject(spec, "placement");
	const char *lists[2] = {constraints, avoid};
	const char *keys[2] = {"constraints", "anti_affinity"};

	cJSON_AddNumberToObject(service, "memory_mb", mem);
	cJSON_AddNumberToObject(service, "vcpus", cpus);
	for (int k = 0; k < 2; k++) {
		cJSON *arr = cJSON_AddArrayToObject(placement, keys[k]);
		char buf[256];
		snprintf(buf, sizeof buf, "%s", lists[k]);
		for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
		     t = strtok_r(NULL, ",", &save))
			cJSON_AddItemToArray(arr, cJSON_CreateString(t));
	}
	return s;
}

static const struct bx_sched_move *move_of(const struct bx_sched_move *moves, size_t n,
					   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(moves[i].name, name) == 0)
			return &moves[i];
	return NULL;
}

TEST(unplacedServiceGoesToLeastLoadedNode)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true},
					{.id = 2, .usable = true},
					{.id = 3, .usable = true}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc("a", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("b", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("c", 2, 2, "running"));
	cJSON_AddItemToArray(all, svc("new", 0, 1, "running"));
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 1);
	ASSERT_STR(moves[0].name, "new");
	ASSERT_INT(moves[0].node, 3);
	ASSERT_INT(moves[0].expect_generation, 1);
	ASSERT_INT(nodes[2].load, 1);
	free(moves);
	cJSON_Delete(all);
}

TEST(placedAndStoppedServicesDoNotMove)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true},
					{.id = 2, .usable = true}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc("a", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("b", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("idle", 0, 1, "stopped"));
	ASSERT_INT(bx_schedule(all, nodes, 2, 0, &moves, &n), 0);
	ASSERT_INT(n, 0);
	ASSERT_INT(nodes[0].load, 2);
	ASSERT_INT(nodes[1].load, 0);
	free(moves);
	cJSON_Delete(all);
}

TEST(servicesOnUnusableNodeAreSpreadEvenly)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = false},
					{.id = 2, .usable = true},
					{.id = 3, .usable = true}};
	struct bx_sched_move *moves;
	size_t n;

	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		cJSON_AddItemToArray(all, svc(name, 1, 5, "running"));
	}
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 6);
	ASSERT_INT(nodes[1].load, 3);
	ASSERT_INT(nodes[2].load, 3);
	for (size_t i = 0; i < n; i++) {
		ASSERT(moves[i].node != 1);
		ASSERT_INT(moves[i].expect_generation, 5);
	}
	free(moves);
	cJSON_Delete(all);
}

TEST(noUsableNodeMeansAWaitNotAMove)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = false}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc("a", 0, 1, "running"));
	ASSERT_INT(bx_schedule(all, nodes, 1, 0, &moves, &n), 0);
	ASSERT_INT(n, 1);
	ASSERT_INT(moves[0].kind, BX_SCHED_WAIT);
	free(moves);
	ASSERT_INT(bx_schedule(all, NULL, 0, 0, &moves, &n), 0);
	ASSERT_INT(n, 1);
	ASSERT_INT(moves[0].kind, BX_SCHED_WAIT);
	free(moves);
	cJSON_Delete(all);
}

TEST(maxMovesBoundsOnePass)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 7, .usable = true}};
	struct bx_sched_move *moves;
	size_t n;

	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		cJSON_AddItemToArray(all, svc(name, 0, 1, "running"));
	}
	ASSERT_INT(bx_schedule(all, nodes, 1, 4, &moves, &n), 0);
	ASSERT_INT(n, 4);
	ASSERT_STR(moves[3].name, "s3");
	free(moves);
	cJSON_Delete(all);
}

TEST(loadCountsEveryPlacedRecordAndAMigrationOnBothNodes)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true},
					{.id = 2, .usable = true}};
	struct bx_sched_move *moves;
	cJSON *moving = svc_spec("moving", 1, 300, 2, "", "");
	size_t n;

	cJSON_AddNumberToObject(moving, "move_to", 2);
	cJSON_AddItemToArray(all, moving);
	cJSON_AddItemToArray(all, svc_spec("idle", 2, 100, 1, "", ""));
	cJSON_GetObjectItem(cJSON_GetArrayItem(all, 1), "desired")->valuestring[0] = 's';
	ASSERT_INT(bx_schedule(all, nodes, 2, 0, &moves, &n), 0);
	ASSERT_INT(n, 0);
	ASSERT_INT(nodes[0].load, 1);
	ASSERT_INT(nodes[0].used_memory_mb, 300);
	ASSERT_INT(nodes[1].load, 2);
	ASSERT_INT(nodes[1].used_memory_mb, 400);
	ASSERT_INT(nodes[1].used_vcpus, 3);
	free(moves);
	cJSON_Delete(all);
}

static void failed_on(cJSON *s, uint64_t node)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(s, "failed_on");
	cJSON *e = cJSON_CreateObject();

	if (list == NULL)
		list = cJSON_AddArrayToObject(s, "failed_on");
	cJSON_AddNumberToObject(e, "node", (double)node);
	cJSON_AddNumberToObject(e, "at", 1);
	cJSON_AddItemToArray(list, e);
}

TEST(failedServiceMovesAwayFromNodesWhereItFailed)
{
	cJSON *all = cJSON_CreateArray();
	/* node 2 is the least loaded, but "bad" failed there before */
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true},
					{.id = 2, .usable = true},
					{.id = 3, .usable = true}};
	struct bx_sched_move *moves;
	cJSON *bad = svc("bad", 1, 4, "running"), *ok = svc("ok", 3, 2, "running");
	cJSON *done = svc("done", 1, 2, "stopped");
	size_t n;

	cJSON_AddStringToObject(bad, "state", "failed");
	failed_on(bad, 2);
	failed_on(bad, 1);
	cJSON_AddStringToObject(ok, "state", "running");
	cJSON_AddStringToObject(done, "state", "failed");
	cJSON_AddItemToArray(all, bad);
	cJSON_AddItemToArray(all, ok);
	cJSON_AddItemToArray(all, done);
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 1); /* a running service stays; a stopped failed one stays */
	ASSERT_STR(moves[0].name, "bad");
	ASSERT_INT(moves[0].node, 3);
	ASSERT_INT(moves[0].from, 1);
	ASSERT(moves[0].moved_failed);
	ASSERT_INT(moves[0].expect_generation, 4);
	free(moves);
	/* failed on every usable node: it stays where it is */
	failed_on(bad, 3);
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 0);
	free(moves);
	cJSON_Delete(all);
}

TEST(capacityKeepsAServiceOffAFullNode)
{
	cJSON *all = cJSON_CreateArray();
	/* node 1 is emptier but has 512 MB left; node 2 sets no limit */
	struct bx_sched_node nodes[] = {
	    {.id = 1, .usable = true, .memory_mb = 1024},
	    {.id = 2, .usable = true},
	    {.id = 3, .usable = true, .memory_mb = 4096, .vcpus = 1}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc_spec("a", 1, 512, 1, "", ""));
	cJSON_AddItemToArray(all, svc_spec("b", 2, 64, 1, "", ""));
	cJSON_AddItemToArray(all, svc_spec("c", 2, 64, 1, "", ""));
	cJSON_AddItemToArray(all, svc_spec("d", 3, 64, 1, "", ""));
	cJSON_AddItemToArray(all, svc_spec("e", 3, 64, 0, "", ""));
	cJSON_AddItemToArray(all, svc_spec("new", 0, 1024, 1, "", ""));
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 1);
	ASSERT_INT(moves[0].kind, BX_SCHED_ASSIGN);
	ASSERT_INT(moves[0].node, 2); /* 1: no memory; 3: no vCPU left */
	ASSERT_INT(nodes[1].used_memory_mb, 1152);
	free(moves);
	cJSON_Delete(all);
}

TEST(noRoomWaitsWithTheReasonOnce)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {
	    {.id = 1, .usable = true, .memory_mb = 2048, .vcpus = 4},
	    {.id = 2, .usable = true, .memory_mb = 1024, .vcpus = 4}};
	struct bx_sched_move *moves;
	cJSON *big = svc_spec("big", 0, 4096, 2, "", "");
	size_t n;

	cJSON_AddItemToArray(all, svc_spec("a", 1, 1024, 1, "", ""));
	cJSON_AddItemToArray(all, big);
	ASSERT_INT(bx_schedule(all, nodes, 2, 0, &moves, &n), 0);
	ASSERT_INT(n, 1);
	ASSERT_INT(moves[0].kind, BX_SCHED_WAIT);
	ASSERT_STR(moves[0].name, "big");
	ASSERT_INT(moves[0].node, 0);
	ASSERT_INT(moves[0].expect_generation, 1);
	ASSERT_CONTAINS(moves[0].reason, "no room: it needs 4096 MB and 2 vCPUs");
	ASSERT_CONTAINS(moves[0].reason, "node 1: 1024 MB and 3 vCPUs");
	/* the record already says so: nothing to propose */
	cJSON_AddStringToObject(big, "reason", moves[0].reason);
	free(moves);
	ASSERT_INT(bx_schedule(all, nodes, 2, 0, &moves, &n), 0);
	ASSERT_INT(n, 0);
	free(moves);
	cJSON_Delete(all);
}

TEST(constraintsNeedEveryLabel)
{
	cJSON *all = cJSON_CreateArray();
	cJSON *l1 = cJSON_Parse("{\"zone\":\"a\",\"disk\":\"ssd\"}");
	cJSON *l2 = cJSON_Parse("{\"zone\":\"b\",\"disk\":\"ssd\"}");
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true, .labels = l1},
					{.id = 2, .usable = true, .labels = l2},
					{.id = 3, .usable = true}};
	struct bx_sched_move *moves;
	const struct bx_sched_move *m;
	size_t n;

	cJSON_AddItemToArray(all, svc_spec("fast", 0, 64, 1, "disk=ssd,zone=b", ""));
	cJSON_AddItemToArray(all, svc_spec("any-ssd", 0, 64, 1, "disk=ssd", ""));
	cJSON_AddItemToArray(all, svc_spec("gpu", 0, 64, 1, "zone=a,gpu=yes", ""));
	cJSON_AddItemToArray(all, svc_spec("free", 0, 64, 1, "", ""));
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 4);
	ASSERT((m = move_of(moves, n, "fast")) != NULL && m->node == 2);
	ASSERT((m = move_of(moves, n, "any-ssd")) != NULL && m->node == 1);
	ASSERT((m = move_of(moves, n, "gpu")) != NULL && m->kind == BX_SCHED_WAIT);
	ASSERT_STR(m->reason, "no node has the labels it needs: zone=a gpu=yes");
	ASSERT((m = move_of(moves, n, "free")) != NULL && m->node == 3);
	ASSERT(bx_sched_label_matches(l1, "zone=a"));
	ASSERT(!bx_sched_label_matches(l1, "zone=ab"));
	ASSERT(!bx_sched_label_matches(l1, "zone"));
	ASSERT(!bx_sched_label_matches(NULL, "zone=a"));
	free(moves);
	cJSON_Delete(all);
	cJSON_Delete(l1);
	cJSON_Delete(l2);
}

TEST(antiAffinityWorksBothWaysAndWithinAPass)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true},
					{.id = 2, .usable = true},
					{.id = 3, .usable = true}};
	struct bx_sched_move *moves;
	const struct bx_sched_move *m;
	size_t n;

	/* db on 1; cache on 2 avoids web; web avoids db: only 3 is left */
	cJSON_AddItemToArray(all, svc_spec("cache", 2, 64, 1, "", "web"));
	cJSON_AddItemToArray(all, svc_spec("db", 1, 64, 1, "", ""));
	cJSON_AddItemToArray(all, svc_spec("web", 0, 64, 1, "", "db"));
	/* placed in this same pass after web: avoids it, so not on 3 */
	cJSON_AddItemToArray(all, svc_spec("web2", 0, 64, 1, "", "web"));
	/* avoids everything: waits, saying why */
	cJSON_AddItemToArray(all, svc_spec("zz", 0, 64, 1, "", "db,cache,web"));
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 3);
	ASSERT((m = move_of(moves, n, "web")) != NULL && m->node == 3);
	ASSERT((m = move_of(moves, n, "web2")) != NULL && m->node != 3 &&
	       m->kind == BX_SCHED_ASSIGN);
	ASSERT((m = move_of(moves, n, "zz")) != NULL && m->kind == BX_SCHED_WAIT);
	ASSERT_CONTAINS(m->reason, "anti_affinity");
	free(moves);
	cJSON_Delete(all);
}

/* Instance `i` of service `name` (its record key NAME@I, i > 0). */
static cJSON *instance(const char *name, unsigned i, uint64_t node, const char *avoid)
{
	char key[80];
	cJSON *s;

	snprintf(key, sizeof key, "%s@%u", name, i);
	s = svc_spec(key, node, 0, 0, "", avoid);
	cJSON_AddStringToObject(s, "service", name);
	cJSON_AddNumberToObject(s, "instance", i);
	return s;
}

TEST(instancesSpreadOnePerNodeAndTheRestWait)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true},
					{.id = 2, .usable = true},
					{.id = 3, .usable = true}};
	struct bx_sched_move *moves;
	size_t n;

	/* "other" loads node 3, so without spread web@1 and web@2 would follow
	 * web to the emptiest nodes in turn: spread keeps them apart */
	cJSON_AddItemToArray(all, svc_spec("other", 3, 0, 0, "", ""));
	cJSON_AddItemToArray(all, svc_spec("web", 1, 0, 0, "", ""));
	cJSON_AddItemToArray(all, instance("web", 1, 0, ""));
	cJSON_AddItemToArray(all, instance("web", 2, 0, ""));
	cJSON_AddItemToArray(all, instance("web", 3, 0, ""));
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 3);
	ASSERT_INT(move_of(moves, n, "web@1")->node, 2);
	ASSERT_INT(move_of(moves, n, "web@2")->node, 3);
	ASSERT_INT(move_of(moves, n, "web@3")->kind, BX_SCHED_WAIT);
	ASSERT_STR(move_of(moves, n, "web@3")->reason,
		   "every node that could take it runs an instance of 'web' already "
		   "(instances go one per node)");
	free(moves);
	/* a service avoiding "web" avoids every instance of it */
	cJSON_AddItemToArray(all, svc_spec("cache", 0, 0, 0, "", "web"));
	cJSON_DeleteItemFromArray(all, 4); /* web@3 */
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(move_of(moves, n, "cache")->kind, BX_SCHED_WAIT);
	free(moves);
	cJSON_Delete(all);
}

TEST(aFailedInstanceMovesOnlyWhereNoSiblingRunsOrMoves)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true},
					{.id = 2, .usable = true},
					{.id = 3, .usable = true},
					{.id = 4, .usable = true}};
	struct bx_sched_move *moves;
	size_t n;
	cJSON *failed = instance("web", 1, 2, ""), *moving = instance("web", 2, 3, "");

	cJSON_AddStringToObject(failed, "state", "failed");
	/* web@2 is leaving node 3 for node 4: both count as taken */
	cJSON_AddNumberToObject(moving, "move_to", 4);
	cJSON_AddItemToArray(all, svc_spec("web", 1, 0, 0, "", ""));
	cJSON_AddItemToArray(all, failed);
	cJSON_AddItemToArray(all, moving);
	ASSERT_INT(bx_schedule(all, nodes, 4, 0, &moves, &n), 0);
	ASSERT_INT(n, 0); /* failed on 2, siblings on 1, 3 and 4: it stays */
	free(moves);
	cJSON_DeleteItemFromObject(moving, "move_to");
	ASSERT_INT(bx_schedule(all, nodes, 4, 0, &moves, &n), 0);
	ASSERT_INT(n, 1);
	ASSERT_STR(moves[0].name, "web@1");
	ASSERT_INT(moves[0].node, 4);
	ASSERT(moves[0].moved_failed);
	free(moves);
	cJSON_Delete(all);
}

TEST(drainingNodeMigratesItsRunningServicesAndTakesNothing)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = true, .draining = true},
					{.id = 2, .usable = true},
					{.id = 3, .usable = true, .memory_mb = 100}};
	struct bx_sched_move *moves;
	const struct bx_sched_move *m;
	cJSON *moving = svc_spec("moving", 1, 64, 1, "", "");
	cJSON *idle = svc_spec("idle", 1, 64, 1, "", "");
	size_t n;

	cJSON_AddNumberToObject(moving, "move_to", 2); /* under way: left alone */
	cJSON_GetObjectItem(idle, "desired")->valuestring[0] = 's';
	cJSON_AddItemToArray(all, svc_spec("a", 1, 64, 1, "", ""));
	cJSON_AddItemToArray(all, svc_spec("b", 1, 512, 1, "", ""));
	cJSON_AddItemToArray(all, idle);
	cJSON_AddItemToArray(all, moving);
	cJSON_AddItemToArray(all, svc_spec("new", 0, 64, 1, "", ""));
	cJSON_AddItemToArray(all, svc_spec("pinned", 1, 64, 1, "only=here", ""));
	ASSERT_INT(bx_schedule(all, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 4);
	ASSERT((m = move_of(moves, n, "a")) != NULL && m->kind == BX_SCHED_MIGRATE &&
	       m->from == 1 && m->node == 3);
	ASSERT((m = move_of(moves, n, "b")) != NULL && m->kind == BX_SCHED_MIGRATE &&
	       m->node == 2); /* no room on 3 */
	ASSERT((m = move_of(moves, n, "new")) != NULL && m->kind == BX_SCHED_ASSIGN &&
	       m->node != 1);
	ASSERT((m = move_of(moves, n, "pinned")) != NULL && m->kind == BX_SCHED_WAIT &&
	       m->from == 1);
	ASSERT_CONTAINS(m->reason, "only=here");
	ASSERT(move_of(moves, n, "idle") == NULL && move_of(moves, n, "moving") == NULL);
	free(moves);
	cJSON_Delete(all);
}

TEST(nothingUpSaysSo)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{.id = 1, .usable = false},
					{.id = 2, .usable = true, .draining = true}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc_spec("a", 0, 64, 1, "", ""));
	ASSERT_INT(bx_schedule(all, nodes, 2, 0, &moves, &n), 0);
	ASSERT_INT(n, 1);
	ASSERT_INT(moves[0].kind, BX_SCHED_WAIT);
	ASSERT_STR(moves[0].reason, "no node is up and not draining");
	free(moves);
	cJSON_Delete(all);
}

TEST(sameInputsSameDecisions)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node a[4], b[4];
	struct bx_sched_move *m1, *m2;
	size_t n1, n2;

	for (int i = 0; i < 4; i++)
		a[i] = (struct bx_sched_node){
		    .id = (uint64_t)(10 - i), .usable = true, .memory_mb = 1000};
	memcpy(b, a, sizeof a);
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%02d", i);
		cJSON_AddItemToArray(all, svc_spec(name, 0, 50u + (unsigned)i * 7, 1, "",
						   i % 3 ? "" : "s00"));
	}
	ASSERT_INT(bx_schedule(all, a, 4, 0, &m1, &n1), 0);
	ASSERT_INT(bx_schedule(all, b, 4, 0, &m2, &n2), 0);
	ASSERT_INT(n1, n2);
	ASSERT(n1 > 0 && memcmp(m1, m2, n1 * sizeof *m1) == 0);
	for (int i = 0; i < 4; i++)
		ASSERT(a[i].used_memory_mb <= a[i].memory_mb);
	free(m1);
	free(m2);
	cJSON_Delete(all);
}
