/* test_discovery.c - the decision after a round of probes: join a cluster
 * with a leader, else with --bootstrap-expect N exactly one of N fresh nodes
 * (the lowest id) bootstraps, else wait. */
#include "tests/unit/harness.h"

#include "src/node/discovery.h"

static struct bx_probe fresh(uint64_t id)
{
	struct bx_probe p = {.answered = true, .node_id = id};
	return p;
}

TEST(nothingSeenWaits)
{
	unsigned visible = 0;
	size_t join = 99;

	ASSERT_INT(bx_discovery_decide(5, 0, NULL, 0, &join, &visible), BX_DISC_WAIT);
	ASSERT_INT(visible, 1);
	ASSERT_INT(bx_discovery_decide(5, 3, NULL, 0, &join, &visible), BX_DISC_WAIT);
	/* expect 1: a node alone bootstraps */
	ASSERT_INT(bx_discovery_decide(5, 1, NULL, 0, &join, &visible),
		   BX_DISC_BOOTSTRAP);
}

TEST(lowestOfExpectedBootstraps)
{
	struct bx_probe p[2] = {fresh(20), fresh(30)};
	unsigned visible;
	size_t join;

	ASSERT_INT(bx_discovery_decide(10, 3, p, 2, &join, &visible), BX_DISC_BOOTSTRAP);
	ASSERT_INT(visible, 3);
	/* the others, seeing the same nodes, wait for its cluster */
	struct bx_probe q[2] = {fresh(10), fresh(30)};
	ASSERT_INT(bx_discovery_decide(20, 3, q, 2, &join, &visible), BX_DISC_WAIT);
	struct bx_probe r[2] = {fresh(10), fresh(20)};
	ASSERT_INT(bx_discovery_decide(30, 3, r, 2, &join, &visible), BX_DISC_WAIT);
	/* fewer than expected: nobody */
	ASSERT_INT(bx_discovery_decide(10, 3, p, 1, &join, &visible), BX_DISC_WAIT);
	ASSERT_INT(visible, 2);
}

TEST(exactlyOneOfManyBootstraps)
{
	uint64_t ids[5] = {77, 12, 940, 3001, 55};
	int bootstraps = 0;

	for (int me = 0; me < 5; me++) {
		struct bx_probe p[4];
		unsigned visible;
		size_t join, n = 0;

		for (int j = 0; j < 5; j++)
			if (j != me)
				p[n++] = fresh(ids[j]);
		if (bx_discovery_decide(ids[me], 3, p, n, &join, &visible) ==
		    BX_DISC_BOOTSTRAP) {
			bootstraps++;
			ASSERT_INT(ids[me], 12);
		}
		ASSERT_INT(visible, 5);
	}
	ASSERT_INT(bootstraps, 1);
}

TEST(aClusterWithALeaderIsJoined)
{
	struct bx_probe p[3] = {fresh(2), fresh(3), fresh(4)};
	unsigned visible;
	size_t join = 99;

	p[2].in_cluster = true;
	p[2].has_leader = true;
	/* even with a lower id and enough fresh nodes: join, never a second cluster */
	ASSERT_INT(bx_discovery_decide(1, 3, p, 3, &join, &visible), BX_DISC_JOIN);
	ASSERT_INT(join, 2);
	/* without a leader yet: wait, and it is not counted as fresh */
	p[2].has_leader = false;
	ASSERT_INT(bx_discovery_decide(1, 4, p, 3, &join, &visible), BX_DISC_WAIT);
	ASSERT_INT(visible, 3);
}

TEST(silentAndSelfProbesDoNotCount)
{
	struct bx_probe p[3] = {fresh(7), fresh(1), fresh(9)};
	unsigned visible;
	size_t join;

	p[0].node_id = 7; /* this node, through another of its addresses */
	p[1].answered = false;
	ASSERT_INT(bx_discovery_decide(7, 3, p, 3, &join, &visible), BX_DISC_WAIT);
	ASSERT_INT(visible, 2);
	ASSERT_INT(bx_discovery_decide(7, 2, p, 3, &join, &visible), BX_DISC_BOOTSTRAP);
}
