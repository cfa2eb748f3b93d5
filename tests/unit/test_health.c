/* test_health.c - the healthy/unhealthy decision (the probes run in the integration tests). */
#include "tests/unit/harness.h"

#include "src/node/health.h"

static void spec_with(struct bx_spec *s, uint32_t grace, uint32_t interval, uint32_t bad,
		      uint32_t good)
{
	bx_spec_init(s);
	s->health.type = BX_HEALTH_HTTP;
	s->health.grace_ms = grace;
	s->health.interval_ms = interval;
	s->health.unhealthy_after = bad;
	s->health.healthy_after = good;
}

TEST(passesMakeItHealthyFailuresUnhealthy)
{
	struct bx_spec s;
	struct bx_health_count c = {0};

	spec_with(&s, 0, 1000, 3, 2);
	ASSERT(!bx_health_record(&c, &s, true, 10));
	ASSERT_INT(c.state, BX_HEALTH_STARTING);
	ASSERT(bx_health_record(&c, &s, true, 1010)); /* 2nd pass in a row */
	ASSERT_INT(c.state, BX_HEALTH_HEALTHY);
	ASSERT(!bx_health_record(&c, &s, false, 2010));
	ASSERT(!bx_health_record(&c, &s, true, 3010)); /* a pass resets the failures */
	ASSERT(!bx_health_record(&c, &s, false, 4010));
	ASSERT(!bx_health_record(&c, &s, false, 5010));
	ASSERT(bx_health_record(&c, &s, false, 6010)); /* 3rd failure in a row */
	ASSERT_INT(c.state, BX_HEALTH_UNHEALTHY);
	ASSERT(!bx_health_record(&c, &s, true, 7010)); /* one pass of 2 needed */
	ASSERT(bx_health_record(&c, &s, true, 8010));
	ASSERT_INT(c.state, BX_HEALTH_HEALTHY);
	bx_spec_free(&s);
}

TEST(failuresWithinGraceDoNotCount)
{
	struct bx_spec s;
	struct bx_health_count c = {0};

	spec_with(&s, 5000, 1000, 2, 1);
	for (uint64_t t = 0; t < 5000; t += 50)
		ASSERT(!bx_health_record(&c, &s, false, t));
	ASSERT_INT(c.failures, 0);
	ASSERT(!bx_health_record(&c, &s, false, 5000));
	ASSERT(bx_health_record(&c, &s, false, 6000));
	ASSERT_INT(c.state, BX_HEALTH_UNHEALTHY);
	bx_spec_free(&s);
}

TEST(fastStartingProbesCountFailuresAtTheIntervalsPace)
{
	struct bx_spec s;
	struct bx_health_count c = {0};

	/* probes every 50 ms while starting; failures count once per 1000 ms */
	spec_with(&s, 0, 1000, 3, 1);
	for (uint64_t t = 0; t < 2000; t += 50)
		ASSERT(!bx_health_record(&c, &s, false, t));
	ASSERT_INT(c.failures, 2); /* at 0 and 1000 */
	ASSERT(bx_health_record(&c, &s, false, 2000));
	ASSERT_INT(c.state, BX_HEALTH_UNHEALTHY);
	bx_spec_free(&s);
}

TEST(onceHealthyEveryFailureCounts)
{
	struct bx_spec s;
	struct bx_health_count c = {0};

	spec_with(&s, 0, 1000, 2, 1);
	ASSERT(bx_health_record(&c, &s, true, 0));
	ASSERT(!bx_health_record(&c, &s, false, 10));
	ASSERT(bx_health_record(&c, &s, false, 20));
	ASSERT_INT(c.state, BX_HEALTH_UNHEALTHY);
	bx_spec_free(&s);
}

TEST(stateNames)
{
	ASSERT_STR(bx_health_state_name(BX_HEALTH_STARTING), "starting");
	ASSERT_STR(bx_health_state_name(BX_HEALTH_HEALTHY), "healthy");
	ASSERT_STR(bx_health_state_name(BX_HEALTH_UNHEALTHY), "unhealthy");
}
