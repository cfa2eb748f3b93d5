/* discovery.c - a fresh node finds its cluster (see discovery.h).
 *
 * Rounds, every ROUND_MS while the node is fresh: the candidates (static
 * --peers, or the tagged, online peers of tailscaled's LocalAPI status with
 * this node's API port) are asked GET /v1/cluster at once; when every answer
 * is in, bx_discovery_decide says join, bootstrap or wait. tailscaled
 * missing, logged out or stopped: a log line, and the next look after a
 * backoff (1 s doubling to 30 s); never fatal. */
#include "src/node/discovery.h"

#include "net/http_client.h"
#include "net/tailscale.h"
#include "src/base/error.h"
#include "src/base/json.h"
#include "src/base/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ROUND_MS 250
#define PROBE_TIMEOUT_MS 1000
#define PROBE_CONNECT_MS 500
#define TS_BACKOFF_MIN_MS 1000
#define TS_BACKOFF_MAX_MS 30000

struct bx_discovery {
	struct bx_discovery_config cfg;
	bool tailscale;
	uint64_t next_at;     /* uv_now() of the next round */
	bool busy;            /* a LocalAPI request or probes are out */
	bool stopped;         /* decided (or the daemon stops): ignore answers */
	unsigned ts_backoff;  /* ms; 0 after a good LocalAPI answer */
	char ts_problem[256]; /* the last LocalAPI problem logged */
	struct bx_probe *probes;
	size_t n, pending;
	unsigned last_visible; /* logged when it changes */
	char api_port[8];      /* this node's API port, for Tailscale peers */
};

/* --- the decision -------------------------------------------------------- */

enum bx_discovery_verdict bx_discovery_decide(uint64_t self, unsigned expect,
					      const struct bx_probe *probes, size_t n,
					      size_t *join, unsigned *visible)
{
	uint64_t lowest = self;

	*visible = 1;
	for (size_t i = 0; i < n; i++) {
		const struct bx_probe *p = &probes[i];

		if (!p->answered || p->node_id == self)
			continue;
		if (p->in_cluster && p->has_leader) {
			*join = i;
			return BX_DISC_JOIN;
		}
		if (p->in_cluster)
			continue; /* a cluster electing: it will have a leader */
		(*visible)++;
		if (p->node_id < lowest)
			lowest = p->node_id;
	}
	if (expect == 0 || *visible < expect)
		return BX_DISC_WAIT;
	return lowest == self ? BX_DISC_BOOTSTRAP : BX_DISC_WAIT;
}

bool bx_discovery_wanted(const struct bx_config *cfg, bool raft_fresh)
{
	if (!raft_fresh || cfg->bootstrap ||
	    (cfg->join != NULL && cfg->join[0] != '\0') ||
	    (cfg->join_token != NULL && cfg->join_token[0] != '\0'))
		return false;
	return strcmp(cfg->discovery, "tailscale") == 0 || cfg->peers_len > 0;
}

/* --- a round ------------------------------------------------------------- */

static void decide(struct bx_discovery *disc)
{
	const struct bx_discovery_config *c = &disc->cfg;
	unsigned visible;
	size_t join = 0;
	enum bx_discovery_verdict v = bx_discovery_decide(
	    c->node_id, c->settings->bootstrap_expect, disc->probes, disc->n, &join,
	    &visible);

	if (visible != disc->last_visible && v == BX_DISC_WAIT) {
		if (c->settings->bootstrap_expect > 0 && visible >= c->settings->bootstrap_expect)
			BX_INFO("discovery",
				"%u of %u expected nodes visible: waiting for the one "
				"with the "
				"lowest id to bootstrap",
				visible, c->settings->bootstrap_expect);
		else if (c->settings->bootstrap_expect > 0)
			BX_INFO(
			    "discovery",
			    "%u of %u expected nodes visible (%zu candidates); waiting",
			    visible, c->settings->bootstrap_expect, disc->n);
		else
			BX_INFO("discovery",
				"no cluster among %zu candidates yet (%u fresh nodes "
				"visible); "
				"waiting",
				disc->n, visible);
		disc->last_visible = visible;
	}
	if (v == BX_DISC_JOIN) {
		BX_INFO("discovery", "found a cluster at %s", disc->probes[join].api);
		disc->stopped = true;
		c->decided(c->data, v, disc->probes[join].api);
	} else if (v == BX_DISC_BOOTSTRAP) {
		BX_INFO("discovery",
			"%u nodes visible, %u expected, this node has the lowest id: "
			"bootstrapping",
			visible, c->settings->bootstrap_expect);
		disc->stopped = true;
		c->decided(c->data, v, NULL);
	}
}

static void round_over(struct bx_discovery *disc)
{
	disc->busy = false;
	disc->next_at = uv_now(disc->cfg.loop) + ROUND_MS;
	if (!disc->stopped)
		decide(disc);
}

/* Probes carry their index; the discovery is found through the daemon. */
struct probe_call {
	struct bx_discovery *disc;
	size_t i;
};

static void probe_answer(void *data, const struct bx_http_response *resp)
{
	struct probe_call *call = data;
	struct bx_discovery *disc = call->disc;
	struct bx_probe *p = &disc->probes[call->i];
	cJSON *body = NULL;
	const cJSON *id, *cluster, *leader;

	free(call);
	if (resp->code == BX_OK && resp->status == 200)
		body = cJSON_ParseWithLength(resp->body, resp->body_len);
	id = cJSON_GetObjectItemCaseSensitive(body, "node_id");
	cluster = cJSON_GetObjectItemCaseSensitive(body, "cluster_id");
	leader = cJSON_GetObjectItemCaseSensitive(body, "leader");
	if (bx_json_whole(id, 1, &p->node_id) && cJSON_IsString(cluster)) {
		p->answered = true;
		p->in_cluster = cluster->valuestring[0] != '\0';
		p->has_leader = cJSON_IsObject(leader);
	}
	cJSON_Delete(body);
	if (--disc->pending == 0)
		round_over(disc);
}

/* Ask every candidate at once; the round ends with the last answer. */
static void probe_all(struct bx_discovery *disc)
{
	struct bx_http_call_opts opts = {.timeout_ms = PROBE_TIMEOUT_MS,
					 .connect_timeout_ms = PROBE_CONNECT_MS,
					 .headers = disc->cfg.headers};
	size_t n = disc->n;

	disc->pending = 1; /* held until every request is out */
	for (size_t i = 0; i < n; i++) {
		struct probe_call *call = malloc(sizeof *call);
		char url[320];

		if (call == NULL)
			continue;
		call->disc = disc;
		call->i = i;
		snprintf(url, sizeof url, "http://%s/v1/cluster", disc->probes[i].api);
		disc->pending++;
		if (bx_http_client_request(disc->cfg.client, "GET", url, NULL, 0, &opts,
					   probe_answer, call) != 0) {
			disc->pending--;
			free(call);
		}
	}
	if (--disc->pending == 0)
		round_over(disc);
}

static int set_candidates(struct bx_discovery *disc, size_t n)
{
	free(disc->probes);
	disc->probes = n > 0 ? calloc(n, sizeof *disc->probes) : NULL;
	disc->n = 0;
	return n > 0 && disc->probes == NULL ? -1 : 0;
}

static void static_round(struct bx_discovery *disc)
{
	const struct bx_config *cfg = disc->cfg.settings;

	if (set_candidates(disc, cfg->peers_len) != 0) {
		round_over(disc);
		return;
	}
	for (size_t i = 0; i < cfg->peers_len; i++) {
		if (strcmp(cfg->peers[i], disc->cfg.api_addr) == 0)
			continue; /* the same list on every node names this one too */
		snprintf(disc->probes[disc->n++].api, sizeof disc->probes[0].api, "%s",
			 cfg->peers[i]);
	}
	probe_all(disc);
}

/* A LocalAPI problem: logged when it is new, then the next look backs off. */
static void ts_trouble(struct bx_discovery *disc, const char *fmt, const char *what)
{
	char msg[sizeof disc->ts_problem];

	snprintf(msg, sizeof msg, fmt, what);
	disc->ts_backoff =
	    disc->ts_backoff == 0 ? TS_BACKOFF_MIN_MS : disc->ts_backoff * 2;
	if (disc->ts_backoff > TS_BACKOFF_MAX_MS)
		disc->ts_backoff = TS_BACKOFF_MAX_MS;
	if (strcmp(msg, disc->ts_problem) != 0)
		BX_WARN("discovery", "%s; looking again every %u s at most", msg,
			TS_BACKOFF_MAX_MS / 1000);
	else
		BX_DEBUG("discovery", "%s; again in %u ms", msg, disc->ts_backoff);
	snprintf(disc->ts_problem, sizeof disc->ts_problem, "%s", msg);
	disc->busy = false;
	disc->next_at = uv_now(disc->cfg.loop) + disc->ts_backoff;
}

static void ts_answer(void *data, const struct bx_http_response *resp)
{
	struct bx_discovery *disc = data;
	struct bx_ts_status st;
	char err[BX_ERRMSG_SIZE], what[320];

	if (disc->stopped) {
		disc->busy = false;
		return;
	}
	if (resp->code != BX_OK) {
		struct stat sb;
		const char *sock = disc->cfg.settings->tailscale_socket;

		if (stat(sock, &sb) != 0) /* libcurl would only say "cannot connect" */
			snprintf(what, sizeof what, "%s (%s: is tailscaled running?)",
				 sock, strerror(errno));
		else
			snprintf(what, sizeof what, "%s (%s)", sock,
				 resp->errmsg ? resp->errmsg : bx_strerror(resp->code));
		ts_trouble(disc, "cannot reach tailscaled at %s", what);
		return;
	}
	if (resp->status != 200) {
		snprintf(what, sizeof what, "%ld", resp->status);
		ts_trouble(disc, "tailscaled answered the status request with HTTP %s",
			   what);
		return;
	}
	if (bx_ts_parse_status(resp->body, resp->body_len, disc->cfg.settings->tag, &st, err) !=
	    0) {
		ts_trouble(disc, "tailscaled's status is not understood: %s", err);
		return;
	}
	if (strcmp(st.backend, "Running") != 0) {
		bx_ts_status_free(&st);
		ts_trouble(disc,
			   "tailscale is not running (state %s): log in or start it",
			   st.backend);
		return;
	}
	if (disc->ts_problem[0] != '\0')
		BX_INFO("discovery", "tailscaled answers: %zu peers", st.peers_len);
	disc->ts_problem[0] = '\0';
	disc->ts_backoff = 0;
	if (set_candidates(disc, st.peers_len) != 0) {
		bx_ts_status_free(&st);
		round_over(disc);
		return;
	}
	for (size_t i = 0; i < st.peers_len; i++)
		if (bx_ts_candidate(&st.peers[i]))
			snprintf(disc->probes[disc->n++].api, sizeof disc->probes[0].api,
				 "%s:%s", st.peers[i].ipv4, disc->api_port);
	bx_ts_status_free(&st);
	probe_all(disc);
}

static void tailscale_round(struct bx_discovery *disc)
{
	static const char *const headers[] = {BX_TS_HOST_HEADER, NULL};
	struct bx_http_call_opts opts = {.unix_socket = disc->cfg.settings->tailscale_socket,
					 .headers = headers,
					 .timeout_ms = 5000,
					 .connect_timeout_ms = 1000};

	if (bx_http_client_request(disc->cfg.client, "GET",
				   "http://local-tailscaled.sock" BX_TS_STATUS_PATH, NULL,
				   0, &opts, ts_answer, disc) != 0)
		ts_trouble(disc, "cannot ask tailscaled at %s",
			   disc->cfg.settings->tailscale_socket);
}

void bx_discovery_tick(struct bx_discovery *disc)
{
	if (disc == NULL || disc->stopped || disc->busy ||
	    uv_now(disc->cfg.loop) < disc->next_at)
		return;
	disc->busy = true;
	if (disc->tailscale)
		tailscale_round(disc);
	else
		static_round(disc);
}

int bx_discovery_init(struct bx_discovery **out, const struct bx_discovery_config *cfg,
		      char *errmsg)
{
	struct bx_discovery *disc = calloc(1, sizeof *disc);
	const struct bx_config *settings = cfg->settings;
	const char *colon = settings->api != NULL ? strrchr(settings->api, ':') : NULL;

	if (disc == NULL)
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	disc->cfg = *cfg;
	disc->tailscale = strcmp(settings->discovery, "tailscale") == 0;
	snprintf(disc->api_port, sizeof disc->api_port, "%s", colon ? colon + 1 : "7000");
	*out = disc;
	if (disc->tailscale)
		BX_INFO(
		    "discovery",
		    "node %llu is fresh: looking for peers tagged %s through tailscaled "
		    "at %s%s",
		    (unsigned long long)cfg->node_id, settings->tag, settings->tailscale_socket,
		    settings->bootstrap_expect ? ""
					     : " (no --bootstrap-expect: joins only)");
	else
		BX_INFO("discovery", "node %llu is fresh: probing %zu static peers%s",
			(unsigned long long)cfg->node_id, settings->peers_len,
			settings->bootstrap_expect
			    ? ""
			    : " (no --bootstrap-expect: joins only)");
	return BX_OK;
}

void bx_discovery_stop(struct bx_discovery *disc)
{
	if (disc != NULL)
		disc->stopped = true;
}

void bx_discovery_free(struct bx_discovery *disc)
{
	if (disc == NULL)
		return;
	free(disc->probes);
	free(disc);
}
