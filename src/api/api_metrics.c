/* api_metrics.c - GET /metrics: this node's metrics in Prometheus' text format; GET
 * /v1/prometheus/targets: every node's, as a file_sd target list. */
#include "src/api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_server.h"
#include "raft/command.h"
#include "raft/fsm.h"
#include "raft/node.h"
#include "src/base/metrics.h"
#include "src/base/version.h"
#include "src/store/store.h"

/* The string field `key` of obj, or "" (also for a NULL obj). */
static const char *str_of(const cJSON *obj, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
	return v != NULL ? v : "";
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	bx_prom_one(f, name, "gauge", help, v);
}

/* What Raft says now: term, indexes, who leads. */
static void raft_gauges(struct bx_api *api, FILE *f)
{
	struct bx_raft_node *r = api->raft;

	gauge(f, "blixard_raft_term", "The Raft term this node is in.",
	      (double)bx_raft_node_term(r));
	gauge(f, "blixard_raft_commit_index",
	      "The highest log index this node knows committed.",
	      (double)bx_raft_node_commit_index(r));
	gauge(f, "blixard_raft_applied_index",
	      "The highest log index applied to this node's store.",
	      (double)bx_store_applied_index(api->store));
	gauge(f, "blixard_raft_leader", "1 if this node is the leader, else 0.",
	      bx_raft_node_is_leader(r) ? 1 : 0);
	bx_prom_one(f, "blixard_raft_elections_total", "counter",
		    "Raft terms begun since this node started: one election each.",
		    (double)bx_raft_node_elections(r));
	bx_prom_one(f, "blixard_raft_leader_changes_total", "counter",
		    "Times this node learnt of a new leader since it started.",
		    (double)bx_raft_node_leader_changes(r));
	gauge(f, "blixard_raft_leader_id",
	      "The id of the leader this node knows of; 0: none.",
	      (double)bx_raft_node_leader(r));
}

/* The replicated state as this node holds it: services by state, nodes by status. */
static int state_gauges(struct bx_api *api, FILE *f)
{
	static const char *const states[] = {"pending", BX_SERVICE_STATES};
	enum { N = sizeof states / sizeof states[0] };
	uint64_t counts[N], other;
	cJSON *nodes, *n;
	unsigned up = 0, down = 0, draining = 0;
	char labels[64];
	int rv = bx_store_count_states(api->store, states, N, counts, &other);

	if (rv != 0)
		return rv;
	bx_prom_head(
	    f, "blixard_services", "gauge",
	    "Service instances (records) by state, as this node's store holds them.");
	for (size_t i = 0; i < N; i++) {
		snprintf(labels, sizeof labels, "state=\"%s\"", states[i]);
		bx_prom_value(f, "blixard_services", labels, (double)counts[i]);
	}
	if (other > 0)
		bx_prom_value(f, "blixard_services", "state=\"other\"", (double)other);
	rv = bx_store_list_nodes(api->store, &nodes);
	if (rv != 0)
		return rv;
	cJSON_ArrayForEach(n, nodes)
	{
		if (bx_fsm_node_down(n))
			down++;
		else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "draining")))
			draining++;
		else
			up++;
	}
	cJSON_Delete(nodes);
	bx_prom_head(f, "blixard_nodes", "gauge", "Nodes of the cluster by status.");
	bx_prom_value(f, "blixard_nodes", "status=\"up\"", up);
	bx_prom_value(f, "blixard_nodes", "status=\"down\"", down);
	bx_prom_value(f, "blixard_nodes", "status=\"draining\"", draining);
	return BX_OK;
}

void bx_api_metrics(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	char *text = NULL, labels[160], esc[96];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rv;

	if (f == NULL) {
		bx_api_respond_code(req, BX_ENOMEM, "write the metrics");
		return;
	}
	bx_prom_escape(api->cluster_id, esc, sizeof esc);
	snprintf(labels, sizeof labels, "version=\"%s\",cluster=\"%s\",node=\"%llu\"",
		 BX_VERSION, esc, (unsigned long long)api->node_id);
	bx_prom_head(f, "blixard_build_info", "gauge",
		     "Always 1; the labels say which Blixard and which node.");
	bx_prom_value(f, "blixard_build_info", labels, 1);
	raft_gauges(api, f);
	rv = state_gauges(api, f);
	bx_raft_node_refused(api->raft, &api->metrics->raft_refused_in,
			     &api->metrics->raft_refused_out);
	bx_metrics_write(api->metrics, f);
	if (fclose(f) != 0 || rv != 0) {
		free(text);
		bx_api_respond_code(req, rv != 0 ? rv : BX_ENOMEM, "write the metrics");
		return;
	}
	bx_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

/*
 * Prometheus' file_sd format: one group per node, its API address the
 * target (Prometheus scrapes /metrics there), labelled with the node's id
 * and name and the cluster. Read from the replicated node records, so any
 * node answers for all of them.
 */
/* One file_sd target group: `address` with the node's labels (and, for a
 * service's exporter, its own); NULL when out of memory. */
static cJSON *target(struct bx_api *api, const char *address, const cJSON *node)
{
	cJSON *group = cJSON_CreateObject(), *targets, *labels;
	char id[24];

	if (group == NULL)
		return NULL;
	targets = cJSON_AddArrayToObject(group, "targets");
	labels = cJSON_AddObjectToObject(group, "labels");
	cJSON_AddItemToArray(targets, cJSON_CreateString(address));
	snprintf(id, sizeof id, "%.0f",
		 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(node, "id")));
	cJSON_AddStringToObject(labels, "node", id);
	cJSON_AddStringToObject(labels, "node_name", str_of(node, "name"));
	cJSON_AddStringToObject(labels, "cluster", api->cluster_id);
	return group;
}

/* The node record of `id` in `nodes`, or NULL. */
static const cJSON *node_by_id(const cJSON *nodes, double id)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, nodes)
	{
		if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "id")) == id)
			return n;
	}
	return NULL;
}

/* Exporters that running services declare ([metrics] port): HOST:PORT on the
 * host of their node's API address, labelled with the service and instance,
 * the path in __metrics_path__. */
static void service_targets(struct bx_api *api, const cJSON *nodes, cJSON *out)
{
	cJSON *services, *svc;
	char address[300];

	if (bx_store_list_services(api->store, &services) != 0)
		return;
	cJSON_ArrayForEach(svc, services)
	{
		const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(svc, "spec"), "metrics");
		double port = cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(metrics, "port"));
		const cJSON *node = node_by_id(
		    nodes,
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(svc, "node")));
		const char *addr = str_of(node, "api"), *colon = strrchr(addr, ':');
		cJSON *group, *labels;

		if (!(port > 0) || node == NULL || colon == NULL ||
		    strcmp(str_of(svc, "state"), "running") != 0)
			continue;
		snprintf(address, sizeof address, "%.*s:%.0f", (int)(colon - addr), addr,
			 port);
		group = target(api, address, node);
		if (group == NULL)
			break;
		labels = cJSON_GetObjectItemCaseSensitive(group, "labels");
		cJSON_AddStringToObject(labels, "service",
					str_of(svc, "service")[0] ? str_of(svc, "service")
								  : str_of(svc, "name"));
		cJSON_AddStringToObject(labels, "service_instance", str_of(svc, "name"));
		cJSON_AddStringToObject(
		    labels, "__metrics_path__",
		    str_of(metrics, "path")[0] ? str_of(metrics, "path") : "/metrics");
		cJSON_AddItemToArray(out, group);
	}
	cJSON_Delete(services);
}

void bx_api_prometheus_targets(struct bx_api *api, struct bx_http_request *req, const char *arg)
{
	(void)arg;
	cJSON *nodes, *n, *group, *out = cJSON_CreateArray();
	int rv = out != NULL ? bx_store_list_nodes(api->store, &nodes) : BX_ENOMEM;

	if (rv != 0) {
		cJSON_Delete(out);
		bx_api_respond_code(req, rv, "read the node records");
		return;
	}
	cJSON_ArrayForEach(n, nodes)
	{
		/* a node that serves no TCP API cannot be scraped */
		if (str_of(n, "api")[0] == '\0')
			continue;
		group = target(api, str_of(n, "api"), n);
		if (group != NULL)
			cJSON_AddItemToArray(out, group);
	}
	service_targets(api, nodes, out);
	cJSON_Delete(nodes);
	bx_http_respond_json(req, 200, out);
	cJSON_Delete(out);
}
