/* clock.c - the wall clock for command time stamps. */
#include "src/base/clock.h"

#include <stddef.h>
#include <sys/time.h>

uint64_t bx_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}
