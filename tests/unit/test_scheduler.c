/* test_scheduler.c - placement: fewest services first, no needless moves, generations
 * carried. */
#include "harness.h"
#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>

static cJSON *svc(const char *name, uint64_t node, uint64_t gen, const char *desired)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "name", name);
	cJSON_AddNumberToObject(s, "node", (double)node);
	cJSON_AddNumberToObject(s, "generation", (double)gen);
	cJSON_AddStringToObject(s, "desired", desired);
	return s;
}

TEST(unplacedServiceGoesToLeastLoadedNode)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{1, true, 0}, {2, true, 0}, {3, true, 0}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc("a", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("b", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("c", 2, 2, "running"));
	cJSON_AddItemToArray(all, svc("new", 0, 1, "running"));
	bx_sched_count(all, nodes, 3);
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
	struct bx_sched_node nodes[] = {{1, true, 0}, {2, true, 0}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc("a", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("b", 1, 2, "running"));
	cJSON_AddItemToArray(all, svc("idle", 0, 1, "stopped"));
	bx_sched_count(all, nodes, 2);
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
	struct bx_sched_node nodes[] = {{1, false, 0}, {2, true, 0}, {3, true, 0}};
	struct bx_sched_move *moves;
	size_t n;

	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		cJSON_AddItemToArray(all, svc(name, 1, 5, "running"));
	}
	bx_sched_count(all, nodes, 3);
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

TEST(noUsableNodeMeansNoMoves)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{1, false, 0}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(all, svc("a", 0, 1, "running"));
	bx_sched_count(all, nodes, 1);
	ASSERT_INT(bx_schedule(all, nodes, 1, 0, &moves, &n), 0);
	ASSERT_INT(n, 0);
	ASSERT_INT(bx_schedule(all, NULL, 0, 0, &moves, &n), 0);
	ASSERT_INT(n, 0);
	free(moves);
	cJSON_Delete(all);
}

TEST(maxMovesBoundsOnePass)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{7, true, 0}};
	struct bx_sched_move *moves;
	size_t n;

	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		cJSON_AddItemToArray(all, svc(name, 0, 1, "running"));
	}
	bx_sched_count(all, nodes, 1);
	ASSERT_INT(bx_schedule(all, nodes, 1, 4, &moves, &n), 0);
	ASSERT_INT(n, 4);
	ASSERT_STR(moves[3].name, "s3");
	free(moves);
	cJSON_Delete(all);
}

TEST(givenLoadsDecideWithoutTheOtherRecords)
{
	/* only the candidates are passed; the loads come from elsewhere (the index) */
	cJSON *cands = cJSON_CreateArray();
	struct bx_sched_node nodes[] = {{1, true, 5}, {2, true, 3}, {3, false, 0}};
	struct bx_sched_move *moves;
	size_t n;

	cJSON_AddItemToArray(cands, svc("x", 0, 1, "running"));
	cJSON_AddItemToArray(cands, svc("y", 3, 4, "running")); /* on an unusable node */
	cJSON_AddItemToArray(cands, svc("z", 0, 1, "stopped")); /* does not want to run */
	ASSERT_INT(bx_schedule(cands, nodes, 3, 0, &moves, &n), 0);
	ASSERT_INT(n, 2);
	ASSERT_STR(moves[0].name, "x");
	ASSERT_INT(moves[0].node, 2);
	ASSERT_STR(moves[1].name, "y");
	ASSERT_INT(moves[1].node, 2);
	ASSERT_INT(moves[1].expect_generation, 4);
	ASSERT_INT(nodes[1].load, 5);
	free(moves);
	cJSON_Delete(cands);
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
	struct bx_sched_node nodes[] = {{1, true, 0}, {2, true, 0}, {3, true, 0}};
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
	bx_sched_count(all, nodes, 3);
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
