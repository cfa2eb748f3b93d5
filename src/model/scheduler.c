/* scheduler.c - placement decisions: which node runs which service. Pure: no I/O, no
 * clock. */
#include "src/model/scheduler.h"

#include "src/base/error.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- record fields -------------------------------------------------------- */

static uint64_t u64_of(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

static uint64_t field_u64(const cJSON *obj, const char *key)
{
	return u64_of(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static bool field_is(const cJSON *obj, const char *key, const char *value)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) && strcmp(v->valuestring, value) == 0;
}

/* spec.SECTION.KEY of a service record (canonical JSON, src/model/spec.h) */
static const cJSON *spec_item(const cJSON *svc, const char *section, const char *key)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(svc, "spec");
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(spec, section), key);
}

/* The service a record is an instance of: "service" on NAME@I records, else
 * its own name. */
static const char *service_of(const cJSON *svc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(svc, "service");

	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(svc, "name");
	return v->valuestring;
}

/* What a service reserves on its node. */
struct need {
	uint64_t memory_mb, vcpus;
};

static struct need need_of(const cJSON *svc)
{
	return (struct need){u64_of(spec_item(svc, "service", "memory_mb")),
			     u64_of(spec_item(svc, "service", "vcpus"))};
}

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

bool bx_sched_label_matches(const cJSON *labels, const char *constraint)
{
	const char *eq = strchr(constraint, '=');
	const cJSON *label;
	char key[128];

	if (eq == NULL || (size_t)(eq - constraint) >= sizeof key)
		return false;
	memcpy(key, constraint, (size_t)(eq - constraint));
	key[eq - constraint] = '\0';
	label = cJSON_GetObjectItemCaseSensitive(labels, key);
	return cJSON_IsString(label) && strcmp(label->valuestring, eq + 1) == 0;
}

/* --- who runs where: for anti-affinity ------------------------------------ */

/*
 * One table of (name, node) pairs of two kinds: AT, an instance of service
 * `name` is placed on `node`; AVOIDED, a service on `node` avoids `name`. A
 * service may go to a node unless an instance of it is AT that node already
 * (spread), one of the names it avoids is AT that node, or its own name is
 * AVOIDED there. Names point into the records (alive for the
 * pass). Entries are only added: a service leaving a node during the pass
 * still keeps others away until the next pass (the cautious way round).
 */
enum { AT, AVOIDED };

struct pair {
	const char *name;
	uint64_t node;
	int kind;
	size_t next; /* index + 1 of the next pair in the bucket; 0 ends */
};

#define N_BUCKETS 4096

struct pairs {
	size_t buckets[N_BUCKETS];
	struct pair *items;
	size_t len, cap;
};

/* `items` (len used of *cap, `size` bytes each) with room for one more:
 * doubled when full, `first` to start. NULL when out of memory (`items`
 * is then still valid). */
static void *room_for_one(void *items, size_t len, size_t *cap, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first;
	void *grown;

	if (len < *cap)
		return items;
	grown = realloc(items, ncap * size);
	if (grown != NULL)
		*cap = ncap;
	return grown;
}

static size_t bucket_of(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % N_BUCKETS;
}

static int pairs_add(struct pairs *t, const char *name, uint64_t node, int kind)
{
	size_t b = bucket_of(name);
	struct pair *items = room_for_one(t->items, t->len, &t->cap, sizeof *items, 256);

	if (items == NULL)
		return BX_ENOMEM;
	t->items = items;
	t->items[t->len] = (struct pair){name, node, kind, t->buckets[b]};
	t->buckets[b] = ++t->len;
	return BX_OK;
}

static bool pairs_has(const struct pairs *t, const char *name, uint64_t node, int kind)
{
	for (size_t i = t->buckets[bucket_of(name)]; i != 0; i = t->items[i - 1].next) {
		const struct pair *p = &t->items[i - 1];
		if (p->node == node && p->kind == kind && strcmp(p->name, name) == 0)
			return true;
	}
	return false;
}

/* Record that `svc` is (or will be) on `node`. */
static int note_placed(struct pairs *t, const cJSON *svc, uint64_t node)
{
	const cJSON *avoid;
	int rc = pairs_add(t, service_of(svc), node, AT);

	cJSON_ArrayForEach(avoid, spec_item(svc, "placement", "anti_affinity"))
	{
		if (rc == BX_OK && cJSON_IsString(avoid))
			rc = pairs_add(t, avoid->valuestring, node, AVOIDED);
	}
	return rc;
}

static bool conflicts(const struct pairs *t, const cJSON *svc, const char *name,
		      uint64_t node)
{
	const cJSON *avoid;

	if (pairs_has(t, name, node, AVOIDED))
		return true;
	cJSON_ArrayForEach(avoid, spec_item(svc, "placement", "anti_affinity"))
	{
		if (cJSON_IsString(avoid) && strcmp(avoid->valuestring, name) != 0 &&
		    pairs_has(t, avoid->valuestring, node, AT))
			return true;
	}
	return false;
}

/* --- one pass ----------------------------------------------------------- */

struct pass {
	struct bx_sched_node *nodes;
	size_t n;
	struct pairs pairs;
	struct bx_sched_move *out;
	size_t len, cap;
};

static struct bx_sched_node *find(struct pass *p, uint64_t id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->nodes[i].id == id)
			return &p->nodes[i];
	return NULL;
}

static void reserve(struct bx_sched_node *node, struct need need, int sign)
{
	if (node == NULL)
		return;
	if (sign > 0) {
		node->load++;
		node->used_memory_mb += need.memory_mb;
		node->used_vcpus += need.vcpus;
	} else {
		node->load--;
		node->used_memory_mb -= need.memory_mb;
		node->used_vcpus -= need.vcpus;
	}
}

static bool has_room(const struct bx_sched_node *node, struct need need)
{
	return (node->memory_mb == 0 ||
		node->used_memory_mb + need.memory_mb <= node->memory_mb) &&
	       (node->vcpus == 0 || node->used_vcpus + need.vcpus <= node->vcpus);
}

static bool labels_match(const struct bx_sched_node *node, const cJSON *svc)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, spec_item(svc, "placement", "constraints"))
	{
		if (!cJSON_IsString(c) ||
		    !bx_sched_label_matches(node->labels, c->valuestring))
			return false;
	}
	return true;
}

/* Free memory (or vCPUs) of a node; LLONG_MAX where it states no limit. */
static long long free_of(uint32_t have, uint64_t used)
{
	return have == 0 ? LLONG_MAX : (long long)have - (long long)used;
}

static const char *amount(long long v, char *buf, size_t size)
{
	if (v == LLONG_MAX)
		return "any";
	snprintf(buf, size, "%lld", v);
	return buf;
}

/*
 * The rules of scheduler.h in order; for one node, how far `svc` got: the
 * first rule the node fails, or FITS. Higher means further.
 */
enum rule { NOT_UP, FAILED_THERE, NO_LABELS, SPREAD, AVOIDS, NO_ROOM, FITS };

static enum rule check(struct pass *p, const struct bx_sched_node *node, const cJSON *svc,
		       const char *name, uint64_t leaving, struct need need)
{
	if (!node->usable || node->draining || node->id == leaving)
		return NOT_UP;
	if (failed_on(svc, node->id))
		return FAILED_THERE;
	if (!labels_match(node, svc))
		return NO_LABELS;
	if (pairs_has(&p->pairs, name, node->id, AT))
		return SPREAD;
	if (conflicts(&p->pairs, svc, name, node->id))
		return AVOIDS;
	return has_room(node, need) ? FITS : NO_ROOM;
}

/* Why no node could take `svc`: the rule that stopped the node that got
 * furthest. */
static void explain(struct pass *p, const cJSON *svc, const char *name, uint64_t leaving,
		    struct need need, char *out, size_t size)
{
	enum rule furthest = NOT_UP;
	const struct bx_sched_node *roomiest = NULL;
	const cJSON *c;
	int len;

	for (size_t i = 0; i < p->n; i++) {
		const struct bx_sched_node *node = &p->nodes[i];
		enum rule r = check(p, node, svc, name, leaving, need);
		if (r > furthest)
			furthest = r;
		if (r == NO_ROOM &&
		    (roomiest == NULL ||
		     free_of(node->memory_mb, node->used_memory_mb) >
			 free_of(roomiest->memory_mb, roomiest->used_memory_mb)))
			roomiest = node;
	}
	switch (furthest) {
	case NOT_UP:
		snprintf(out, size, "no %snode is up and not draining",
			 leaving != 0 ? "other " : "");
		break;
	case FAILED_THERE:
		snprintf(out, size, "it failed lately on every node that could take it");
		break;
	case NO_LABELS:
		len = snprintf(out, size, "no node has the labels it needs:");
		cJSON_ArrayForEach(c, spec_item(svc, "placement", "constraints"))
		{
			if (len >= 0 && (size_t)len < size && cJSON_IsString(c))
				len += snprintf(out + len, size - (size_t)len, " %s",
						c->valuestring);
		}
		break;
	case SPREAD:
		snprintf(out, size,
			 "every node that could take it runs an instance of '%s' "
			 "already (instances go one per node)",
			 name);
		break;
	case AVOIDS:
		snprintf(out, size,
			 "every node with its labels runs a service it must not share "
			 "a node with (anti_affinity)");
		break;
	case NO_ROOM: { /* then some node stopped there: roomiest is set */
		char mem[24], cpu[24];
		snprintf(out, size,
			 "no room: it needs %" PRIu64 " MB and %" PRIu64
			 " vCPUs; the most memory free is on node %" PRIu64
			 ": %s MB and %s vCPUs",
			 need.memory_mb, need.vcpus, roomiest->id,
			 amount(free_of(roomiest->memory_mb, roomiest->used_memory_mb),
				mem, sizeof mem),
			 amount(free_of(roomiest->vcpus, roomiest->used_vcpus), cpu,
				sizeof cpu));
		break;
	}
	case FITS: /* not asked: choose() found no node that fits */
		out[0] = '\0';
		break;
	}
}

/* The node `svc` should go to: see scheduler.h. NULL if none. */
static struct bx_sched_node *choose(struct pass *p, const cJSON *svc, const char *name,
				    uint64_t leaving, struct need need)
{
	struct bx_sched_node *best = NULL;

	for (size_t i = 0; i < p->n; i++) {
		struct bx_sched_node *node = &p->nodes[i];
		/* only a node better than the best so far is worth the rules */
		if (best != NULL && (node->load > best->load ||
				     (node->load == best->load && node->id > best->id)))
			continue;
		if (check(p, node, svc, name, leaving, need) == FITS)
			best = node;
	}
	return best;
}

static struct bx_sched_move *push(struct pass *p, enum bx_sched_kind kind,
				  const char *name, const cJSON *svc)
{
	struct bx_sched_move *m,
	    *out = room_for_one(p->out, p->len, &p->cap, sizeof *out, 16);

	if (out == NULL)
		return NULL;
	p->out = out;
	m = &p->out[p->len++];
	memset(m, 0, sizeof *m);
	m->kind = kind;
	snprintf(m->name, sizeof m->name, "%s", name);
	m->expect_generation = field_u64(svc, "generation");
	return m;
}

/* Set each node's load and reservations from the records; note who runs where. */
static int count(struct pass *p, const cJSON *services)
{
	const cJSON *svc;
	int rc = BX_OK;

	for (size_t i = 0; i < p->n; i++) {
		p->nodes[i].load = 0;
		p->nodes[i].used_memory_mb = 0;
		p->nodes[i].used_vcpus = 0;
	}
	cJSON_ArrayForEach(svc, services)
	{
		uint64_t at = field_u64(svc, "node"), to = field_u64(svc, "move_to");
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(svc, "name")))
			continue;
		reserve(find(p, at), need_of(svc), +1);
		if (at != 0)
			rc = rc ?: note_placed(&p->pairs, svc, at);
		if (to != 0) {
			reserve(find(p, to), need_of(svc), +1);
			rc = rc ?: note_placed(&p->pairs, svc, to);
		}
	}
	return rc;
}

/* Decide for one service; adds at most one move. */
static int decide(struct pass *p, const cJSON *svc)
{
	const char *key = cJSON_GetObjectItemCaseSensitive(svc, "name")->valuestring;
	const char *name = service_of(svc);
	struct bx_sched_node *at = find(p, field_u64(svc, "node")), *to;
	struct need need = need_of(svc);
	struct bx_sched_move *m;
	enum bx_sched_kind kind;
	bool placed = at != NULL && at->usable;
	uint64_t leaving;

	if (!field_is(svc, "desired", "running"))
		return BX_OK;
	if (!placed)
		kind = BX_SCHED_ASSIGN;
	else if (at->draining && field_u64(svc, "move_to") == 0)
		kind = BX_SCHED_MIGRATE;
	else if (field_is(svc, "state", "failed") && field_u64(svc, "move_to") == 0)
		kind = BX_SCHED_ASSIGN;
	else
		return BX_OK;
	leaving = placed ? at->id : 0;
	to = choose(p, svc, name, leaving, need);
	if (to == NULL) {
		char why[sizeof m->reason];
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(svc, "reason");
		if (placed && kind == BX_SCHED_ASSIGN)
			return BX_OK; /* failed, and nowhere else: it stays */
		explain(p, svc, name, leaving, need, why, sizeof why);
		if (cJSON_IsString(reason) && strcmp(reason->valuestring, why) == 0)
			return BX_OK;
		m = push(p, BX_SCHED_WAIT, key, svc);
		if (m == NULL)
			return BX_ENOMEM;
		snprintf(m->reason, sizeof m->reason, "%s", why);
		m->from = leaving;
		return BX_OK;
	}
	m = push(p, kind, key, svc);
	if (m == NULL)
		return BX_ENOMEM;
	m->node = to->id;
	m->from = field_u64(svc, "node");
	m->moved_failed = placed && kind == BX_SCHED_ASSIGN;
	reserve(to, need, +1);
	if (m->moved_failed)
		reserve(at, need, -1);
	return note_placed(&p->pairs, svc, to->id);
}

int bx_schedule(const cJSON *services, struct bx_sched_node *nodes, size_t n,
		size_t max_moves, struct bx_sched_move **moves, size_t *n_moves)
{
	struct pass p = {.nodes = nodes, .n = n};
	const cJSON *svc;
	int rc;

	*moves = NULL;
	*n_moves = 0;
	rc = count(&p, services);
	cJSON_ArrayForEach(svc, services)
	{
		if (rc != BX_OK || (max_moves != 0 && p.len >= max_moves))
			break;
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(svc, "name")))
			rc = decide(&p, svc);
	}
	free(p.pairs.items);
	if (rc != BX_OK) {
		free(p.out);
		return rc;
	}
	*moves = p.out;
	*n_moves = p.len;
	return BX_OK;
}
