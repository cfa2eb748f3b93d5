/* clock.h - a monotonic millisecond clock as a port: the loop's in the daemon, a fake in tests. */
#ifndef BX_CLOCK_H
#define BX_CLOCK_H

#include <stdint.h>

/*
 * Components that count time (the agent's restart backoff and full passes,
 * the lease and the leader's view of who is alive) read it through one of
 * these instead of calling uv_now(), so a unit test can move time by hand
 * (tests/lib/fake_clock.h) and never sleep. The daemon's reads its loop's
 * cached time (uv_now), so every component sees the same "now" in one loop
 * turn.
 */
struct bx_clock {
	uint64_t (*now_ms)(const struct bx_clock *clock); /* monotonic, in ms */
	void *data;                                       /* the clock's own */
};

static inline uint64_t bx_clock_now(const struct bx_clock *clock)
{
	return clock->now_ms(clock);
}

/* Milliseconds since the epoch (the wall clock), for the "ts" a proposer
 * stamps on a command: apply reads no clock (raft/command.h). */
uint64_t bx_now_ms(void);

#endif
