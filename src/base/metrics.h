/* metrics.h - counters and latency histograms, written in Prometheus' text format. */
#ifndef BX_METRICS_H
#define BX_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * What the daemon counts as it goes, kept per node and never replicated (a
 * restart starts them at 0, which Prometheus' rate() understands). Values
 * that can be read when asked (the Raft term, services by state) are not
 * kept here: GET /metrics reads them then (src/api/api_metrics.c).
 *
 * Everything here is plain memory on the daemon's one thread; no I/O but the
 * FILE the writers are given. Names follow Prometheus' conventions:
 * blixard_ prefix, _total for counters, base units (seconds).
 */

/* Latency: fixed upper bounds from 0.5 ms to 10 s, then +Inf. */
#define BX_HIST_BOUNDS 14
extern const double bx_hist_bounds[BX_HIST_BOUNDS];

struct bx_hist {
	uint64_t counts[BX_HIST_BOUNDS + 1]; /* per bucket, not cumulative; last: +Inf */
	uint64_t n;
	double sum;
};

void bx_hist_observe(struct bx_hist *h, double seconds);

/* API requests by route, method and status; latency by route. Routes are a
 * fixed list (bx_metrics_route), so the series stay few. */
struct bx_api_count {
	const char *route, *method; /* static strings */
	int status;
	uint64_t n;
};

struct bx_api_latency {
	const char *route;
	struct bx_hist hist;
};

struct bx_metrics {
	struct bx_api_count *api;
	size_t n_api, cap_api;
	struct bx_api_latency *latency;
	size_t n_latency, cap_latency;

	struct bx_hist commit;   /* a proposal of this node, until applied here */

	uint64_t starts;         /* instances started by this node's agent */
	uint64_t start_failures; /* a start that failed (driver refused, died at once) */
	uint64_t restarts;       /* starts by the restart policy */
	uint64_t fenced;         /* instances this node stopped: its lease ran out */
	struct bx_hist health;   /* one health probe */
	uint64_t health_failures;

	/* Services taken off a down node that run again (raft/fsm.h), as this
	 * node applied them: every node counts the same. */
	uint64_t failovers;
	struct bx_hist failover; /* from the node.down until running */

	/* TCP API requests refused by src/api/api_auth.c, by BX_AUTH_* reason */
	uint64_t auth_refused[3];
	/* Raft connections that failed the handshake (raft/transport.h), copied
	 * from the transport when the metrics are written */
	uint64_t raft_refused_in, raft_refused_out;
};

enum { BX_AUTH_MISSING, BX_AUTH_INVALID, BX_AUTH_FORBIDDEN };

void bx_metrics_free(struct bx_metrics *m); /* the struct itself is the caller's */

/*
 * The route label of a request path: "/v1/services/:name/start", … one of a
 * fixed set, "other" for anything else. Returns a static string.
 */
const char *bx_metrics_route(const char *path);

/* Count one answered API request. Out of memory: it is not counted. */
void bx_metrics_api(struct bx_metrics *m, const char *method, const char *path, int status,
		    double seconds);

/* --- the text format ------------------------------------------------------ */

/* "# HELP name help\n# TYPE name type\n" */
void bx_prom_head(FILE *f, const char *name, const char *type, const char *help);
/* "name{labels} value\n"; labels is "" or `key="value",…` (already escaped). */
void bx_prom_value(FILE *f, const char *name, const char *labels, double value);
/* A metric of one unlabelled sample, with its head: type "gauge" or "counter". */
void bx_prom_one(FILE *f, const char *name, const char *type, const char *help,
		 double value);
/* A histogram's _bucket, _sum and _count lines (no head). */
void bx_prom_hist(FILE *f, const char *name, const char *labels, const struct bx_hist *h);
/* A label value escaped for the text format (\\, \", \n) into out. */
void bx_prom_escape(const char *value, char *out, size_t size);

/* Every metric of `m`, each with its head. */
void bx_metrics_write(const struct bx_metrics *m, FILE *f);

#endif
