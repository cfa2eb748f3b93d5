/* fake_clock.h - a clock that moves only when a test moves it. */
#ifndef BX_FAKE_CLOCK_H
#define BX_FAKE_CLOCK_H

#include <stdint.h>

#include "src/base/clock.h"

struct bx_fake_clock {
	struct bx_clock clock; /* hand &fake.clock to the component */
	uint64_t now;          /* ms */
};

void bx_fake_clock_init(struct bx_fake_clock *c, uint64_t start_ms);
void bx_fake_clock_advance(struct bx_fake_clock *c, uint64_t ms);

#endif
