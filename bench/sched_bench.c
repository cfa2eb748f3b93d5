/* sched_bench.c - scheduling throughput: N services placed on M simulated nodes. */
#include "src/base/error.h"
#include "src/model/scheduler.h"
#include "src/model/spec.h"
#include "src/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Two figures, for three kinds of services (plain; each with a zone
 * constraint; each avoiding its neighbour by name):
 *
 * - module: one bx_schedule() over every record, all unplaced, held in memory;
 * - leader: what the leader does, pass after pass until every service has a
 *   node: read every record from LMDB (bx_store_list_services), decide at most
 *   1024 moves (the daemon's MAX_MOVES_PER_PASS), and write each decision into
 *   its record in one transaction, as applying the service.assign entries
 *   would. The Raft round trip and the 300 ms gap the daemon keeps between
 *   passes are not in it (bench/failover.sh and api_writes.sh cover those).
 *
 * Nodes are simulated: M records in memory with 64 GiB, 256 vCPUs and labels
 * zone=zK (K = id mod 5). Each figure is the median of REPS runs.
 *
 *   sched_bench [SERVICES=5000] [NODES=50] [REPS=5] [DIR=/tmp]
 */

enum kind { PLAIN, ZONED, AVOIDING };
static const char *const kind_names[] = {"plain", "zone constraint", "anti-affinity"};

#define PASS_MOVES 1024

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static cJSON *record(int i, enum kind kind)
{
	struct bx_spec spec;
	char other[32];
	cJSON *rec = cJSON_CreateObject();

	bx_spec_init(&spec);
	snprintf(spec.name, sizeof spec.name, "svc-%05d", i);
	snprintf(spec.driver, sizeof spec.driver, "process");
	spec.memory_mb = 256;
	spec.process.command = calloc(2, sizeof(char *));
	spec.process.command[0] = strdup("/bin/true");
	spec.process.command_len = 1;
	if (kind == ZONED) {
		char c[32];
		snprintf(c, sizeof c, "zone=z%d", i % 5);
		spec.placement.constraints = calloc(1, sizeof(char *));
		spec.placement.constraints[0] = strdup(c);
		spec.placement.constraints_len = 1;
	} else if (kind == AVOIDING && i > 0) {
		snprintf(other, sizeof other, "svc-%05d", i - 1);
		spec.placement.anti_affinity = calloc(1, sizeof(char *));
		spec.placement.anti_affinity[0] = strdup(other);
		spec.placement.anti_affinity_len = 1;
	}
	cJSON_AddStringToObject(rec, "name", spec.name);
	cJSON_AddItemToObject(rec, "spec", bx_spec_to_json(&spec));
	cJSON_AddNumberToObject(rec, "generation", 1);
	cJSON_AddStringToObject(rec, "desired", "running");
	cJSON_AddNumberToObject(rec, "node", 0);
	cJSON_AddStringToObject(rec, "state", "pending");
	cJSON_AddStringToObject(rec, "reason", "");
	bx_spec_free(&spec);
	return rec;
}

static void make_nodes(struct bx_sched_node *nodes, cJSON **labels, int n)
{
	for (int i = 0; i < n; i++) {
		char zone[16];
		snprintf(zone, sizeof zone, "z%d", (i + 1) % 5);
		labels[i] = cJSON_CreateObject();
		cJSON_AddStringToObject(labels[i], "zone", zone);
		nodes[i] = (struct bx_sched_node){.id = (uint64_t)i + 1,
						  .usable = true,
						  .memory_mb = 65536,
						  .vcpus = 256,
						  .labels = labels[i]};
	}
}

/* One bx_schedule over all records in memory; seconds, or -1. */
static double module_run(int n_svc, int n_nodes, enum kind kind, size_t *placed)
{
	cJSON *all = cJSON_CreateArray();
	struct bx_sched_node *nodes = calloc((size_t)n_nodes, sizeof *nodes);
	cJSON **labels = calloc((size_t)n_nodes, sizeof *labels);
	struct bx_sched_move *moves = NULL;
	double t;
	int rc;

	for (int i = 0; i < n_svc; i++)
		cJSON_AddItemToArray(all, record(i, kind));
	make_nodes(nodes, labels, n_nodes);
	t = now_s();
	rc = bx_schedule(all, nodes, (size_t)n_nodes, 0, &moves, placed);
	t = now_s() - t;
	for (size_t i = 0; i < *placed; i++)
		if (moves[i].kind != BX_SCHED_ASSIGN)
			rc = -1;
	free(moves);
	for (int i = 0; i < n_nodes; i++)
		cJSON_Delete(labels[i]);
	free(labels);
	free(nodes);
	cJSON_Delete(all);
	return rc == 0 ? t : -1;
}

/* The leader's passes over LMDB until all are placed; seconds, or -1. */
static double leader_run(const char *base, int n_svc, int n_nodes, enum kind kind,
			 int *passes)
{
	char dir[512], cmd[600], errmsg[BX_ERRMSG_SIZE];
	struct bx_sched_node *nodes = calloc((size_t)n_nodes, sizeof *nodes);
	cJSON **labels = calloc((size_t)n_nodes, sizeof *labels);
	struct bx_store *store = NULL;
	struct bx_store_txn *txn;
	uint64_t index = 1;
	size_t placed = 0;
	double t = -1;

	snprintf(dir, sizeof dir, "%s/bx-sched-bench-XXXXXX", base);
	if (mkdtemp(dir) == NULL || bx_store_open(dir, NULL, &store, errmsg) != 0 ||
	    bx_store_begin(store, &txn) != 0)
		goto out;
	for (int i = 0; i < n_svc; i++) {
		cJSON *rec = record(i, kind);
		bx_store_put_service(txn, cJSON_GetObjectItem(rec, "name")->valuestring,
				     rec);
		cJSON_Delete(rec);
	}
	if (bx_store_commit(txn, index++) != 0)
		goto out;
	make_nodes(nodes, labels, n_nodes);
	*passes = 0;
	t = now_s();
	while (placed < (size_t)n_svc) {
		cJSON *all = NULL;
		struct bx_sched_move *moves = NULL;
		size_t n = 0;
		if (bx_store_list_services(store, &all) != 0 ||
		    bx_schedule(all, nodes, (size_t)n_nodes, PASS_MOVES, &moves, &n) !=
			0 ||
		    n == 0 || bx_store_begin(store, &txn) != 0) {
			cJSON_Delete(all);
			free(moves);
			t = -1;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			cJSON *rec = NULL;
			bx_store_get_service(store, moves[i].name, &rec);
			cJSON_ReplaceItemInObject(
			    rec, "node", cJSON_CreateNumber((double)moves[i].node));
			cJSON_ReplaceItemInObject(rec, "generation",
						  cJSON_CreateNumber(2));
			bx_store_put_service(txn, moves[i].name, rec);
			cJSON_Delete(rec);
		}
		placed += n;
		(*passes)++;
		bx_store_commit(txn, index++);
		cJSON_Delete(all);
		free(moves);
	}
	t = now_s() - t;
out:
	bx_store_close(store);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	for (int i = 0; i < n_nodes; i++)
		cJSON_Delete(labels[i]);
	free(labels);
	free(nodes);
	return t;
}

int main(int argc, char **argv)
{
	int n_svc = argc > 1 ? atoi(argv[1]) : 5000;
	int n_nodes = argc > 2 ? atoi(argv[2]) : 50;
	int reps = argc > 3 ? atoi(argv[3]) : 5;
	const char *base = argc > 4 ? argv[4] : "/tmp";
	double *m = calloc((size_t)reps, sizeof *m), *l = calloc((size_t)reps, sizeof *l);
	int passes = 0;

	if (n_svc < 1 || n_nodes < 1 || reps < 1 || m == NULL || l == NULL) {
		fprintf(stderr, "usage: sched_bench [SERVICES] [NODES] [REPS] [DIR]\n");
		return 2;
	}
	printf("%d services on %d simulated nodes, median of %d runs\n", n_svc, n_nodes,
	       reps);
	for (int k = PLAIN; k <= AVOIDING; k++) {
		size_t placed = 0;
		for (int r = 0; r < reps; r++) {
			m[r] = module_run(n_svc, n_nodes, (enum kind)k, &placed);
			l[r] = leader_run(base, n_svc, n_nodes, (enum kind)k, &passes);
			if (m[r] < 0 || l[r] < 0 || placed != (size_t)n_svc) {
				fprintf(stderr, "%s: a run failed (placed %zu)\n",
					kind_names[k], placed);
				return 1;
			}
		}
		qsort(m, (size_t)reps, sizeof *m, cmp_double);
		qsort(l, (size_t)reps, sizeof *l, cmp_double);
		printf(
		    "RESULT kind=\"%s\" module_ms=%.1f module_per_s=%.0f leader_ms=%.1f "
		    "leader_passes=%d leader_per_s=%.0f\n",
		    kind_names[k], m[reps / 2] * 1e3, n_svc / m[reps / 2],
		    l[reps / 2] * 1e3, passes, n_svc / l[reps / 2]);
	}
	free(m);
	free(l);
	return 0;
}
