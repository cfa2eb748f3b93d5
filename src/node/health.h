/* health.h - health checks of one instance, on the loop: http (libcurl multi) or tcp. */
#ifndef BX_HEALTH_H
#define BX_HEALTH_H

#include <uv.h>

#include "net/http_client.h"
#include "src/base/metrics.h"
#include "src/model/spec.h"

/*
 * A checker probes 127.0.0.1:[health] port every interval_ms, each probe
 * bounded by timeout_ms:
 *
 *   http  GET http://127.0.0.1:PORT/PATH passes on a 2xx status whose body
 *         contains [health] expect (when set);
 *   tcp   passes when a connection is accepted.
 *
 * It starts STARTING. healthy_after consecutive passes make it HEALTHY;
 * unhealthy_after consecutive failures make it UNHEALTHY, except that
 * failures within grace_ms of the start do not count (a guest booting is not
 * a sick guest). Until the first HEALTHY it probes every 50 ms (when the
 * interval is longer), up to 3 http probes at once, so that a guest is seen
 * healthy as soon as it is, but counts at most one failure per interval_ms:
 * the fast pace never makes it give up sooner. Outcomes count in the order
 * the probes were sent: an answer overtaken by a later probe's is ignored. The owner is told of every change of state, with the
 * last probe's outcome as text ("HTTP 503", "connect: connection refused").
 */

enum bx_health_state { BX_HEALTH_STARTING, BX_HEALTH_HEALTHY, BX_HEALTH_UNHEALTHY };

typedef void (*bx_health_cb)(void *data, enum bx_health_state state, const char *detail);

struct bx_health;

/* Start checking: the first probe right away. 0, or BX_EINVAL (no [health]). */
int bx_health_start(struct bx_health **out, uv_loop_t *loop, struct bx_http_client *http,
		    const struct bx_spec *spec, bx_health_cb cb, void *data);

/* Count every probe whose outcome counts: its time into `latency`, a failure
 * into *failures (either NULL: not counted; both must outlive the checker). */
void bx_health_observe(struct bx_health *h, struct bx_hist *latency, uint64_t *failures);

/* Stop: no callback after this; the checker frees itself once idle. */
void bx_health_stop(struct bx_health *h);

/* "starting", "healthy", "unhealthy". */
const char *bx_health_state_name(enum bx_health_state state);

/*
 * The decision, apart from the probes, for unit tests: record one probe
 * outcome at `elapsed_ms` since the start; returns true if the state changed.
 */
struct bx_health_count {
	enum bx_health_state state;
	uint32_t passes, failures; /* consecutive */
	uint64_t last_failure_ms;  /* when a failure last counted */
};
bool bx_health_record(struct bx_health_count *c, const struct bx_spec *spec, bool passed,
		      uint64_t elapsed_ms);

#endif
