/* fake_clock.c - a clock that moves only when a test moves it. */
#include "tests/lib/fake_clock.h"

static uint64_t now_ms(const struct bx_clock *clock)
{
	return ((const struct bx_fake_clock *)clock->data)->now;
}

void bx_fake_clock_init(struct bx_fake_clock *c, uint64_t start_ms)
{
	c->clock.now_ms = now_ms;
	c->clock.data = c;
	c->now = start_ms;
}

void bx_fake_clock_advance(struct bx_fake_clock *c, uint64_t ms)
{
	c->now += ms;
}
