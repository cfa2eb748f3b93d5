/* test_liveness.c - the leader's view of who is alive, a node's lease, and why they never
 * overlap. */
#include "tests/unit/harness.h"

#include "src/base/error.h"
#include "src/model/liveness.h"

TEST(aNodeHeardRecentlyIsUpSilentTooLongIsDown)
{
	struct bx_liveness l;

	bx_liveness_init(&l, 2000);
	bx_liveness_elected(&l, 1000);
	ASSERT_INT(bx_liveness_heard(&l, 2, 1500), 0);
	ASSERT(!bx_liveness_down(&l, 2, 3500)); /* 2000 ms: not more than the timeout */
	ASSERT(bx_liveness_down(&l, 2, 3501));
	ASSERT_INT(bx_liveness_heard(&l, 2, 3400), 0); /* heard again */
	ASSERT(!bx_liveness_down(&l, 2, 5000));
	ASSERT_INT(bx_liveness_silent_ms(&l, 2, 5000), 1600);
	bx_liveness_free(&l);
}

TEST(aNewLeaderDeclaresNobodyDownBeforeATimeoutAfterItsElection)
{
	struct bx_liveness l;

	bx_liveness_init(&l, 2000);
	ASSERT_INT(bx_liveness_heard(&l, 3, 100), 0);
	bx_liveness_elected(&l,
			    10000); /* a later term: what it heard before is forgotten */
	ASSERT(!bx_liveness_down(&l, 3, 11999));
	ASSERT(!bx_liveness_down(
	    &l, 7, 12000)); /* never heard at all: counted from the election */
	ASSERT(bx_liveness_down(&l, 7, 12001));
	ASSERT(bx_liveness_down(&l, 3, 12001));
	bx_liveness_free(&l);
}

TEST(anOutOfOrderHeartbeatNeverMovesTimeBack)
{
	struct bx_liveness l;

	bx_liveness_init(&l, 1000);
	bx_liveness_elected(&l, 0);
	ASSERT_INT(bx_liveness_heard(&l, 1, 5000), 0);
	ASSERT_INT(bx_liveness_heard(&l, 1, 4000), 0);
	ASSERT(!bx_liveness_down(&l, 1, 6000));
	bx_liveness_free(&l);
}

TEST(manyNodesAreTrackedApart)
{
	struct bx_liveness l;

	bx_liveness_init(&l, 1000);
	bx_liveness_elected(&l, 0);
	for (uint64_t id = 1; id <= 40; id++)
		ASSERT_INT(bx_liveness_heard(&l, id, 100 * id), 0);
	ASSERT(bx_liveness_down(&l, 1, 1101));
	ASSERT(!bx_liveness_down(&l, 40, 5000));
	ASSERT(bx_liveness_down(&l, 40, 5001));
	bx_liveness_free(&l);
}

TEST(theLeaseRunsFromTheSendTimeAndNeverShrinks)
{
	struct bx_lease lease;

	bx_lease_init(&lease, 1500);
	ASSERT(!bx_lease_valid(&lease, 0)); /* not held before the first answer */
	bx_lease_renewed(&lease, 1000);
	ASSERT(bx_lease_valid(&lease, 2499));
	ASSERT(!bx_lease_valid(&lease, 2500));
	bx_lease_renewed(&lease, 2000);
	bx_lease_renewed(&lease, 1200); /* a late answer to an older heartbeat */
	ASSERT(bx_lease_valid(&lease, 3499));
	ASSERT(!bx_lease_valid(&lease, 3500));
}

/*
 * The property the two exist for: whatever the delays, a node's lease has
 * ended before the leader can declare it down. Every send time s, delivery
 * delay d and election time e of a small grid; the node's last answered
 * heartbeat is the one sent at s.
 */
TEST(aNodeIsNeverDownWhileItsLeaseHolds)
{
	const uint32_t lease_ms = 500, fence = 1500, node_timeout = 2000;
	char errmsg[BX_ERRMSG_SIZE];

	ASSERT_INT(bx_liveness_check(lease_ms, fence, node_timeout, errmsg), 0);
	for (uint64_t s = 0; s <= 3000; s += 250)
		for (uint64_t d = 0; d <= 1000; d += 125)
			for (uint64_t e = 0; e <= 4000; e += 500) {
				struct bx_liveness l;
				struct bx_lease lease;
				bx_liveness_init(&l, node_timeout);
				bx_liveness_elected(&l, e);
				if (s + d >= e) /* heard in this term */
					ASSERT_INT(bx_liveness_heard(&l, 9, s + d), 0);
				bx_lease_init(&lease, fence);
				bx_lease_renewed(&lease, s);
				for (uint64_t now = 0; now <= 8000; now += 50)
					ASSERT_MSG(!(bx_liveness_down(&l, 9, now) &&
						     bx_lease_valid(&lease, now)),
						   "s=%llu d=%llu e=%llu now=%llu: down "
						   "while leased",
						   (unsigned long long)s,
						   (unsigned long long)d,
						   (unsigned long long)e,
						   (unsigned long long)now);
				bx_liveness_free(&l);
			}
}

TEST(unsafeTimeoutsAreRefusedWithTheReason)
{
	char errmsg[BX_ERRMSG_SIZE] = "";

	ASSERT_INT(bx_liveness_check(500, 900, 3000, errmsg), BX_EINVAL);
	ASSERT_CONTAINS(errmsg,
			"fence_timeout_ms (900) must be at least twice lease_ms (500)");
	ASSERT_INT(bx_liveness_check(500, 1500, 1800, errmsg), BX_EINVAL);
	ASSERT_CONTAINS(errmsg,
			"node_timeout_ms (1800) must exceed fence_timeout_ms (1500)");
	ASSERT_INT(bx_liveness_check(1000, 3000, 3900, errmsg),
		   BX_EINVAL); /* margin = lease_ms */
	ASSERT_INT(bx_liveness_check(1000, 3000, 4000, errmsg), 0);
	ASSERT_INT(bx_liveness_check(0, 3000, 4000, errmsg), BX_EINVAL);
	/* a leader's crash: a heartbeat's age, two election timeouts and a vote */
	ASSERT_INT(bx_liveness_least_fence(500, 500), 1750);
	ASSERT_INT(bx_liveness_check_election(500, 1750, 500, errmsg), 0);
	ASSERT_INT(bx_liveness_check_election(500, 1749, 500, errmsg), BX_EINVAL);
	ASSERT_CONTAINS(errmsg, "fence_timeout_ms (1749) must be at least lease_ms + 2 x "
				"election_ms + 250 (1750)");
	ASSERT_INT(bx_liveness_margin(200), 500);
	ASSERT_INT(bx_liveness_margin(800), 800);
}
