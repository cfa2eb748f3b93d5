/* metrics.c - counters and latency histograms, written in Prometheus' text format. */
#include "src/base/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double bx_hist_bounds[BX_HIST_BOUNDS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void bx_hist_observe(struct bx_hist *h, double seconds)
{
	size_t i = 0;

	if (!(seconds >= 0)) /* NaN or a clock that went back */
		seconds = 0;
	while (i < BX_HIST_BOUNDS && seconds > bx_hist_bounds[i])
		i++;
	h->counts[i]++;
	h->n++;
	h->sum += seconds;
}

void bx_metrics_free(struct bx_metrics *m)
{
	if (m == NULL)
		return;
	free(m->api);
	free(m->latency);
	m->api = NULL;
	m->latency = NULL;
	m->n_api = m->cap_api = m->n_latency = m->cap_latency = 0;
}

/* --- routes ----------------------------------------------------------------- */

/* Every route the API has (src/api/api.c); a path is labelled with one of them. */
static const char *const exact[] = {
    "/v1/health",
    "/v1/cluster",
    "/v1/cluster/admit",
    "/v1/cluster/join",
    "/v1/cluster/leave",
    "/v1/invites",
    "/v1/tokens",
    "/v1/nodes",
    "/v1/services",
    "/v1/internal/command",
    "/v1/internal/heartbeat",
    "/v1/local/join",
    "/v1/local/leave",
    "/metrics",
    "/v1/prometheus/targets",
    "/v1/events",
    "/v1/snapshot",
};

struct pattern {
	const char *prefix;         /* then one segment (a name, an id) */
	const char *route;          /* for the path that ends there */
	const char *const *actions; /* the segments that may follow, NULL-ended */
	const char *const *routes;  /* the route of each */
};

static const char *const service_actions[] = {"start", "stop", "logs", "vm", NULL};
static const char *const service_routes[] = {
    "/v1/services/:name/start", "/v1/services/:name/stop", "/v1/services/:name/logs",
    "/v1/services/:name/vm"};
static const char *const node_actions[] = {"drain", "eligible", NULL};
static const char *const node_routes[] = {"/v1/nodes/:id/drain",
					  "/v1/nodes/:id/eligible"};

static const char *const no_actions[] = {NULL};

static const struct pattern patterns[] = {
    {"/v1/services/", "/v1/services/:name", service_actions, service_routes},
    {"/v1/nodes/", "/v1/nodes/:id", node_actions, node_routes},
    {"/v1/invites/", "/v1/invites/:id", no_actions, NULL},
    {"/v1/tokens/", "/v1/tokens/:id", no_actions, NULL},
};

const char *bx_metrics_route(const char *path)
{
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(path, exact[i]) == 0)
			return exact[i];
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		const struct pattern *p = &patterns[i];
		size_t n = strlen(p->prefix);
		const char *seg, *slash;
		if (strncmp(path, p->prefix, n) != 0 || path[n] == '\0' || path[n] == '/')
			continue;
		seg = path + n;
		slash = strchr(seg, '/');
		if (slash == NULL)
			return p->route;
		for (size_t k = 0; p->actions[k] != NULL; k++)
			if (strcmp(slash + 1, p->actions[k]) == 0)
				return p->routes[k];
	}
	return "other";
}

/* --- API requests ----------------------------------------------------------- */

static const char *method_label(const char *method)
{
	static const char *const known[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "other";
}

/* `*items` (n used of *cap, `size` each) with room for one more, or NULL. */
static void *grow(void *items, size_t n, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *bigger;

	if (n < *cap)
		return items;
	bigger = realloc(items, ncap * size);
	if (bigger != NULL)
		*cap = ncap;
	return bigger;
}

void bx_metrics_api(struct bx_metrics *m, const char *method, const char *path,
		    int status, double seconds)
{
	const char *route = bx_metrics_route(path);
	const char *meth = method_label(method);
	size_t i;

	/* routes and methods are static strings: compared by address */
	for (i = 0; i < m->n_api; i++)
		if (m->api[i].route == route && m->api[i].method == meth &&
		    m->api[i].status == status)
			break;
	if (i == m->n_api) {
		struct bx_api_count *api =
		    grow(m->api, m->n_api, &m->cap_api, sizeof *api);
		if (api == NULL)
			return;
		m->api = api;
		m->api[m->n_api++] = (struct bx_api_count){route, meth, status, 0};
	}
	m->api[i].n++;
	for (i = 0; i < m->n_latency; i++)
		if (m->latency[i].route == route)
			break;
	if (i == m->n_latency) {
		struct bx_api_latency *lat =
		    grow(m->latency, m->n_latency, &m->cap_latency, sizeof *lat);
		if (lat == NULL)
			return;
		m->latency = lat;
		memset(&m->latency[m->n_latency], 0, sizeof *lat);
		m->latency[m->n_latency++].route = route;
	}
	bx_hist_observe(&m->latency[i].hist, seconds);
}

/* --- the text format ------------------------------------------------------------ */

void bx_prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void bx_prom_value(FILE *f, const char *name, const char *labels, double value)
{
	if (labels[0] != '\0')
		fprintf(f, "%s{%s} ", name, labels);
	else
		fprintf(f, "%s ", name);
	if (value == floor(value) && fabs(value) < 1e15)
		fprintf(f, "%.0f\n", value);
	else
		fprintf(f, "%.9g\n", value);
}

void bx_prom_hist(FILE *f, const char *name, const char *labels, const struct bx_hist *h)
{
	char series[256], le[512];
	uint64_t cumulative = 0;

	snprintf(series, sizeof series, "%s_bucket", name);
	for (size_t i = 0; i <= BX_HIST_BOUNDS; i++) {
		cumulative += h->counts[i];
		if (i < BX_HIST_BOUNDS)
			snprintf(le, sizeof le, "%s%sle=\"%g\"", labels,
				 labels[0] ? "," : "", bx_hist_bounds[i]);
		else
			snprintf(le, sizeof le, "%s%sle=\"+Inf\"", labels,
				 labels[0] ? "," : "");
		bx_prom_value(f, series, le, (double)cumulative);
	}
	snprintf(series, sizeof series, "%s_sum", name);
	bx_prom_value(f, series, labels, h->sum);
	snprintf(series, sizeof series, "%s_count", name);
	bx_prom_value(f, series, labels, (double)h->n);
}

void bx_prom_escape(const char *value, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = value; *p != '\0' && n + 3 < size; p++) {
		if (*p == '\\' || *p == '"') {
			out[n++] = '\\';
			out[n++] = *p;
		} else if (*p == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *p;
		}
	}
	if (size > 0)
		out[n < size ? n : size - 1] = '\0';
}

void bx_prom_one(FILE *f, const char *name, const char *type, const char *help,
		 double value)
{
	bx_prom_head(f, name, type, help);
	bx_prom_value(f, name, "", value);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	bx_prom_one(f, name, "counter", help, (double)v);
}

static void histogram(FILE *f, const char *name, const char *help,
		      const struct bx_hist *h)
{
	bx_prom_head(f, name, "histogram", help);
	bx_prom_hist(f, name, "", h);
}

void bx_metrics_write(const struct bx_metrics *m, FILE *f)
{
	char labels[160];

	bx_prom_head(f, "blixard_api_requests_total", "counter",
		     "API requests answered by this node, by route, method and status.");
	for (size_t i = 0; i < m->n_api; i++) {
		snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",code=\"%d\"",
			 m->api[i].route, m->api[i].method, m->api[i].status);
		bx_prom_value(f, "blixard_api_requests_total", labels,
			      (double)m->api[i].n);
	}
	bx_prom_head(f, "blixard_api_request_duration_seconds", "histogram",
		     "Time from a request's arrival to its answer, by route.");
	for (size_t i = 0; i < m->n_latency; i++) {
		snprintf(labels, sizeof labels, "route=\"%s\"", m->latency[i].route);
		bx_prom_hist(f, "blixard_api_request_duration_seconds", labels,
			     &m->latency[i].hist);
	}
	histogram(f, "blixard_raft_commit_seconds",
		  "Each entry this node proposed as leader, until it was applied here.",
		  &m->commit);
	counter(f, "blixard_instance_starts_total",
		"Service instances this node's agent started.", m->starts);
	counter(f, "blixard_instance_start_failures_total",
		"Starts that failed: refused by the driver or ended at once.",
		m->start_failures);
	counter(f, "blixard_instance_restarts_total",
		"Starts made by a service's restart policy on this node.", m->restarts);
	counter(f, "blixard_fencing_actions_total",
		"Instances this node stopped because its lease ran out.", m->fenced);
	histogram(f, "blixard_health_check_duration_seconds",
		  "One health probe of a service on this node.", &m->health);
	counter(f, "blixard_health_check_failures_total",
		"Health probes on this node that failed.", m->health_failures);
	counter(f, "blixard_failovers_total",
		"Services taken off a node declared down that run again elsewhere.",
		m->failovers);
	histogram(f, "blixard_failover_duration_seconds",
		  "From a node declared down until its service ran again elsewhere.",
		  &m->failover);
	bx_prom_head(f, "blixard_auth_failures_total", "counter",
		     "Attempts refused for want of credentials: API requests without a "
		     "token, with an unknown one, or beyond its role; Raft connections "
		     "that failed the handshake, to this node or from it.");
	bx_prom_value(f, "blixard_auth_failures_total",
		      "listener=\"api\",reason=\"missing_token\"",
		      (double)m->auth_refused[BX_AUTH_MISSING]);
	bx_prom_value(f, "blixard_auth_failures_total",
		      "listener=\"api\",reason=\"invalid_token\"",
		      (double)m->auth_refused[BX_AUTH_INVALID]);
	bx_prom_value(f, "blixard_auth_failures_total",
		      "listener=\"api\",reason=\"forbidden\"",
		      (double)m->auth_refused[BX_AUTH_FORBIDDEN]);
	bx_prom_value(f, "blixard_auth_failures_total",
		      "listener=\"raft\",reason=\"handshake_in\"",
		      (double)m->raft_refused_in);
	bx_prom_value(f, "blixard_auth_failures_total",
		      "listener=\"raft\",reason=\"handshake_out\"",
		      (double)m->raft_refused_out);
}
