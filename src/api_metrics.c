/* api_metrics.c - GET /metrics: this node's metrics in Prometheus' text format; GET
 * /v1/prometheus/targets: every node's, as a file_sd target list. */
#include "api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "metrics.h"
#include "net/http_server.h"
#include "raft/command.h"
#include "raft/node.h"
#include "version.h"

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	bx_prom_one(f, name, "gauge", help, v);
}

/* What Raft says now: term, indexes, who leads. */
static void raft_gauges(struct bx_daemon *d, FILE *f)
{
	struct bx_raft_node *r = d->raft;

	gauge(f, "blixard_raft_term", "The Raft term this node is in.",
	      (double)bx_raft_node_term(r));
	gauge(f, "blixard_raft_commit_index",
	      "The highest log index this node knows committed.",
	      (double)bx_raft_node_commit_index(r));
	gauge(f, "blixard_raft_applied_index",
	      "The highest log index applied to this node's store.",
	      (double)bx_store_applied_index(d->store));
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
static int state_gauges(struct bx_daemon *d, FILE *f)
{
	static const char *const states[] = {"pending", BX_SERVICE_STATES};
	enum { N = sizeof states / sizeof states[0] };
	uint64_t counts[N], other;
	cJSON *nodes, *n;
	unsigned up = 0, down = 0, draining = 0;
	char labels[64];
	int rv = bx_store_count_states(d->store, states, N, counts, &other);

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
	rv = bx_store_list_nodes(d->store, &nodes);
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

void bx_api_metrics(struct bx_daemon *d, struct bx_http_request *req)
{
	char *text = NULL, labels[160], esc[96];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rv;

	if (f == NULL) {
		bx_api_respond_code(req, BX_ENOMEM, "write the metrics");
		return;
	}
	bx_prom_escape(d->cluster_id, esc, sizeof esc);
	snprintf(labels, sizeof labels, "version=\"%s\",cluster=\"%s\",node=\"%llu\"",
		 BX_VERSION, esc, (unsigned long long)d->id);
	bx_prom_head(f, "blixard_build_info", "gauge",
		     "Always 1; the labels say which Blixard and which node.");
	bx_prom_value(f, "blixard_build_info", labels, 1);
	raft_gauges(d, f);
	rv = state_gauges(d, f);
	bx_metrics_write(&d->metrics, f);
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
void bx_api_prometheus_targets(struct bx_daemon *d, struct bx_http_request *req)
{
	cJSON *nodes, *n, *out = cJSON_CreateArray();
	char id[24];
	int rv = out != NULL ? bx_store_list_nodes(d->store, &nodes) : BX_ENOMEM;

	if (rv != 0) {
		cJSON_Delete(out);
		bx_api_respond_code(req, rv, "read the node records");
		return;
	}
	cJSON_ArrayForEach(n, nodes)
	{
		const char *api =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "api"));
		const char *name =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "name"));
		cJSON *group, *targets, *labels;
		if (api == NULL || api[0] == '\0')
			continue; /* a node that serves no TCP API cannot be scraped */
		group = cJSON_CreateObject();
		targets = cJSON_AddArrayToObject(group, "targets");
		labels = cJSON_AddObjectToObject(group, "labels");
		cJSON_AddItemToArray(targets, cJSON_CreateString(api));
		snprintf(id, sizeof id, "%.0f",
			 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "id")));
		cJSON_AddStringToObject(labels, "node", id);
		cJSON_AddStringToObject(labels, "node_name", name != NULL ? name : "");
		cJSON_AddStringToObject(labels, "cluster", d->cluster_id);
		cJSON_AddItemToArray(out, group);
	}
	cJSON_Delete(nodes);
	bx_http_respond_json(req, 200, out);
	cJSON_Delete(out);
}
