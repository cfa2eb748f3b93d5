/* scheduler.c - placement decisions: which node runs which service. Pure: no I/O, no
 * clock. */
#include "scheduler.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

static struct bx_sched_node *find(struct bx_sched_node *nodes, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].id == id)
			return &nodes[i];
	return NULL;
}

static uint64_t field_u64(const cJSON *obj, const char *key);

/* Did the service fail on node `id` recently (its "failed_on")? */
static bool failed_on(const cJSON *svc, uint64_t id)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(svc, "failed_on"))
	{
		if (field_u64(e, "node") == id)
			return true;
	}
	return false;
}

static bool is_failed(const cJSON *svc)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(svc, "state");
	return cJSON_IsString(state) && strcmp(state->valuestring, "failed") == 0;
}

/* The usable node with the fewest services where `svc` has not failed lately. */
static struct bx_sched_node *least_loaded(struct bx_sched_node *nodes, size_t n,
					  const cJSON *svc)
{
	struct bx_sched_node *best = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!nodes[i].usable || failed_on(svc, nodes[i].id))
			continue;
		if (best == NULL || nodes[i].load < best->load ||
		    (nodes[i].load == best->load && nodes[i].id < best->id))
			best = &nodes[i];
	}
	return best;
}

static uint64_t field_u64(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

static bool wants_to_run(const cJSON *svc)
{
	const cJSON *desired = cJSON_GetObjectItemCaseSensitive(svc, "desired");
	return cJSON_IsString(desired) && strcmp(desired->valuestring, "running") == 0;
}

void bx_sched_count(const cJSON *services, struct bx_sched_node *nodes, size_t n)
{
	const cJSON *svc;

	for (size_t i = 0; i < n; i++)
		nodes[i].load = 0;
	cJSON_ArrayForEach(svc, services)
	{
		struct bx_sched_node *at = find(nodes, n, field_u64(svc, "node"));
		if (at != NULL)
			at->load++;
	}
}

int bx_schedule(const cJSON *services, struct bx_sched_node *nodes, size_t n,
		size_t max_moves, struct bx_sched_move **moves, size_t *n_moves)
{
	const cJSON *svc;
	size_t cap = 0, len = 0;
	struct bx_sched_move *out = NULL;

	*moves = NULL;
	*n_moves = 0;
	cJSON_ArrayForEach(svc, services)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(svc, "name");
		struct bx_sched_node *at = find(nodes, n, field_u64(svc, "node"));
		struct bx_sched_node *to;

		if (!cJSON_IsString(name) || !wants_to_run(svc) ||
		    (at != NULL && at->usable && !is_failed(svc)))
			continue;
		if (max_moves != 0 && len == max_moves)
			break;
		to = least_loaded(nodes, n, svc);
		if (to == NULL || to == at)
			continue; /* nowhere (else) to go: the next pass tries again */
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct bx_sched_move *grown = realloc(out, ncap * sizeof *grown);
			if (grown == NULL) {
				free(out);
				return BX_ENOMEM;
			}
			out = grown;
			cap = ncap;
		}
		memset(&out[len], 0, sizeof out[len]);
		strncpy(out[len].name, name->valuestring, sizeof out[len].name - 1);
		out[len].node = to->id;
		out[len].expect_generation = field_u64(svc, "generation");
		out[len].from = field_u64(svc, "node");
		out[len].moved_failed = at != NULL && at->usable;
		to->load++;
		len++;
	}
	*moves = out;
	*n_moves = len;
	return BX_OK;
}
