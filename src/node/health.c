/* health.c - periodic http/tcp probes of an instance and the healthy/unhealthy decision.
 */
#include "src/node/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"

#define STARTING_PROBE_MS 50
#define STARTING_MAX_INFLIGHT 3 /* http probes at once while starting */

struct bx_health {
	uv_loop_t *loop;
	struct bx_http_client *http;
	const struct bx_spec *spec; /* borrowed: not used after stop */
	bx_health_cb cb;
	void *data;
	uv_timer_t timer;
	uint64_t started_ms;
	struct bx_health_count count;
	bool stopped;
	unsigned inflight; /* probes under way (more than one only while starting) */
	uint64_t launched; /* probes launched, numbered from 1 */
	uint64_t recorded; /* number of the latest probe whose outcome counted */
	uint64_t tcp_seq;  /* number of the tcp probe under way */
	uint64_t tcp_sent; /* uv_hrtime() when it was sent */
	struct bx_hist
	    *latency;       /* each probe that counted, or NULL (bx_health_observe) */
	uint64_t *failures; /* failed probes that counted, or NULL */
	unsigned open_handles;

	/* tcp probes */
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_timer_t tcp_timeout;
	bool tcp_open;
	bool tcp_passed;
	char tcp_detail[160];
	char url[512]; /* http probes */
};

const char *bx_health_state_name(enum bx_health_state state)
{
	switch (state) {
	case BX_HEALTH_HEALTHY:
		return "healthy";
	case BX_HEALTH_UNHEALTHY:
		return "unhealthy";
	default:
		return "starting";
	}
}

bool bx_health_record(struct bx_health_count *c, const struct bx_spec *spec, bool passed,
		      uint64_t elapsed_ms)
{
	enum bx_health_state before = c->state;

	if (passed) {
		c->failures = 0;
		if (++c->passes >= spec->health.healthy_after)
			c->state = BX_HEALTH_HEALTHY;
		return c->state != before;
	}
	c->passes = 0;
	if (elapsed_ms < spec->health.grace_ms)
		return false;
	/* Before the first healthy, probes come faster than the interval;
	 * failures still count at the interval's pace. */
	if (c->state == BX_HEALTH_STARTING && c->failures > 0 &&
	    elapsed_ms - c->last_failure_ms < spec->health.interval_ms)
		return false;
	c->last_failure_ms = elapsed_ms;
	if (++c->failures >= spec->health.unhealthy_after)
		c->state = BX_HEALTH_UNHEALTHY;
	return c->state != before;
}

/* ---- lifetime ---- */

static void handle_closed(uv_handle_t *h)
{
	struct bx_health *hc = h->data;

	if (--hc->open_handles == 0)
		free(hc);
}

/* Free once stopped, no probe is in flight, and the handles are closed. */
static void maybe_release(struct bx_health *h)
{
	if (!h->stopped || h->inflight > 0)
		return;
	if (!uv_is_closing((uv_handle_t *)&h->timer))
		uv_close((uv_handle_t *)&h->timer, handle_closed);
	if (!uv_is_closing((uv_handle_t *)&h->tcp_timeout))
		uv_close((uv_handle_t *)&h->tcp_timeout, handle_closed);
}

/* ---- probes ---- */

static void on_tick(uv_timer_t *t);

/*
 * While starting, http probes go out every STARTING_PROBE_MS whether or not
 * the last one has answered: a guest that is not up yet can hold a probe
 * until its timeout (user networking accepts the connection at once), and
 * the first answer should not wait for that. Otherwise one probe at a time,
 * interval_ms apart.
 */
static bool overlapping(const struct bx_health *h)
{
	return h->count.state == BX_HEALTH_STARTING &&
	       h->spec->health.type == BX_HEALTH_HTTP &&
	       h->spec->health.interval_ms > STARTING_PROBE_MS;
}

static void schedule(struct bx_health *h)
{
	uint64_t delay = h->spec->health.interval_ms;

	if (h->stopped || uv_is_active((uv_handle_t *)&h->timer))
		return;
	if (h->count.state == BX_HEALTH_STARTING && delay > STARTING_PROBE_MS)
		delay = STARTING_PROBE_MS;
	uv_timer_start(&h->timer, on_tick, delay, 0);
}

/* An http probe in flight: which one, for whom. */
struct probe {
	struct bx_health *h;
	uint64_t seq;
	uint64_t sent; /* uv_hrtime() */
};

/* Outcomes count in launch order: one that an answer to a later probe has
 * overtaken (a probe of a guest not up yet, timing out) says nothing new. */
static void probe_done(struct bx_health *h, uint64_t seq, uint64_t sent, bool passed,
		       const char *detail)
{
	uint64_t elapsed = uv_now(h->loop) - h->started_ms;

	h->inflight--;
	if (h->stopped) {
		maybe_release(h);
		return;
	}
	if (seq < h->recorded) {
		if (h->inflight == 0)
			schedule(h);
		return;
	}
	h->recorded = seq;
	if (h->latency != NULL)
		bx_hist_observe(h->latency, (double)(uv_hrtime() - sent) / 1e9);
	if (h->failures != NULL && !passed)
		(*h->failures)++;
	if (bx_health_record(&h->count, h->spec, passed, elapsed))
		h->cb(h->data, h->count.state, detail);
	if (h->count.state != BX_HEALTH_STARTING && h->inflight > 0)
		return; /* the last of the overlapping probes schedules the next */
	schedule(h);
}

static void http_done(void *data, const struct bx_http_response *resp)
{
	struct probe *probe = data;
	struct bx_health *h = probe->h;
	uint64_t seq = probe->seq, sent = probe->sent;
	char detail[200];
	bool passed = false;

	free(probe);
	if (h->stopped) { /* the spec may be gone with the owner */
		probe_done(h, seq, sent, false, "");
		return;
	}
	if (resp->code != BX_OK) {
		snprintf(detail, sizeof detail, "%s",
			 resp->errmsg ? resp->errmsg : "no answer");
	} else if (resp->status < 200 || resp->status > 299) {
		snprintf(detail, sizeof detail, "HTTP %ld", resp->status);
	} else if (h->spec->health.expect != NULL &&
		   (resp->body == NULL ||
		    strstr(resp->body, h->spec->health.expect) == NULL)) {
		snprintf(detail, sizeof detail, "HTTP %ld without \"%.60s\" in the body",
			 resp->status, h->spec->health.expect);
	} else {
		snprintf(detail, sizeof detail, "HTTP %ld", resp->status);
		passed = true;
	}
	probe_done(h, seq, sent, passed, detail);
}

static void tcp_closed(uv_handle_t *handle)
{
	struct bx_health *h = handle->data;

	h->tcp_open = false;
	probe_done(h, h->tcp_seq, h->tcp_sent, h->tcp_passed, h->tcp_detail);
}

static void tcp_finish(struct bx_health *h, bool passed, const char *detail)
{
	uv_timer_stop(&h->tcp_timeout);
	h->tcp_passed = passed;
	snprintf(h->tcp_detail, sizeof h->tcp_detail, "%s", detail);
	if (!uv_is_closing((uv_handle_t *)&h->tcp))
		uv_close((uv_handle_t *)&h->tcp, tcp_closed);
}

/* The connect's outcome (a libuv status) as the probe's. */
static void tcp_outcome(struct bx_health *h, int status)
{
	char detail[160];

	if (status == 0)
		snprintf(detail, sizeof detail, "connected to port %u",
			 (unsigned)h->spec->health.port);
	else
		snprintf(detail, sizeof detail, "connect to port %u: %s",
			 (unsigned)h->spec->health.port, uv_strerror(status));
	tcp_finish(h, status == 0, detail);
}

static void tcp_connected(uv_connect_t *req, int status)
{
	if (status != UV_ECANCELED) /* else the timeout closed it and owns the outcome */
		tcp_outcome(req->data, status);
}

static void tcp_timed_out(uv_timer_t *t)
{
	struct bx_health *h = t->data;
	char detail[160];

	snprintf(detail, sizeof detail, "connect to port %u: no answer in %u ms",
		 (unsigned)h->spec->health.port, h->spec->health.timeout_ms);
	tcp_finish(h, false, detail);
}

static void probe_tcp(struct bx_health *h)
{
	struct sockaddr_in sa;
	int rc;

	h->tcp_seq = h->launched;
	h->tcp_sent = uv_hrtime();
	uv_ip4_addr("127.0.0.1", h->spec->health.port, &sa);
	uv_tcp_init(h->loop, &h->tcp);
	h->tcp.data = h;
	h->tcp_open = true;
	h->connect.data = h;
	rc = uv_tcp_connect(&h->connect, &h->tcp, (const struct sockaddr *)&sa,
			    tcp_connected);
	if (rc != 0) {
		tcp_outcome(h, rc);
		return;
	}
	uv_timer_start(&h->tcp_timeout, tcp_timed_out, h->spec->health.timeout_ms, 0);
}

static void probe_http(struct bx_health *h)
{
	struct bx_http_call_opts opts = {
	    .timeout_ms = h->spec->health.timeout_ms,
	    .connect_timeout_ms = h->spec->health.timeout_ms,
	};
	struct probe *probe = malloc(sizeof *probe);
	int rc = BX_ENOMEM;

	if (probe != NULL) {
		probe->h = h;
		probe->seq = h->launched;
		probe->sent = uv_hrtime();
		rc = bx_http_client_request(h->http, "GET", h->url, NULL, 0, &opts,
					    http_done, probe);
		if (rc != 0)
			free(probe);
	}
	if (rc != 0) /* not sent: a failed probe all the same */
		probe_done(h, h->launched, uv_hrtime(), false, bx_strerror(rc));
}

static void on_tick(uv_timer_t *t)
{
	struct bx_health *h = t->data;
	bool overlap;

	if (h->stopped)
		return;
	overlap = overlapping(h);
	if (overlap)
		schedule(h); /* the next starting probe, whatever becomes of this one */
	if (h->inflight >= (overlap ? STARTING_MAX_INFLIGHT : 1))
		return;
	h->inflight++;
	h->launched++;
	if (h->spec->health.type == BX_HEALTH_TCP)
		probe_tcp(h);
	else
		probe_http(h);
}

int bx_health_start(struct bx_health **out, uv_loop_t *loop, struct bx_http_client *http,
		    const struct bx_spec *spec, bx_health_cb cb, void *data)
{
	struct bx_health *h;
	const char *path;

	if (spec->health.type == BX_HEALTH_NONE)
		return BX_EINVAL;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		return BX_ENOMEM;
	h->loop = loop;
	h->http = http;
	h->spec = spec;
	h->cb = cb;
	h->data = data;
	h->started_ms = uv_now(loop);
	path = spec->health.path != NULL ? spec->health.path : "/";
	snprintf(h->url, sizeof h->url, "http://127.0.0.1:%u%s%s",
		 (unsigned)spec->health.port, path[0] == '/' ? "" : "/", path);
	uv_timer_init(loop, &h->timer);
	uv_timer_init(loop, &h->tcp_timeout);
	h->timer.data = h;
	h->tcp_timeout.data = h;
	h->open_handles = 2;
	uv_timer_start(&h->timer, on_tick, 0, 0);
	*out = h;
	return 0;
}

void bx_health_observe(struct bx_health *h, struct bx_hist *latency, uint64_t *failures)
{
	h->latency = latency;
	h->failures = failures;
}

void bx_health_stop(struct bx_health *h)
{
	if (h == NULL || h->stopped)
		return;
	h->stopped = true;
	uv_timer_stop(&h->timer);
	if (h->tcp_open)
		tcp_finish(h, false, "stopped");
	maybe_release(h);
}
