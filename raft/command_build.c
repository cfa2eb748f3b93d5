/* command_build.c - the typed constructors of raft/command.h, one per op. */
#include "raft/command.h"

#include "src/base/error.h"

#include <string.h>

/*
 * Each constructor adds its fields in the order raft/command.h lists them.
 * cJSON's adders return NULL when out of memory: the first such failure is
 * remembered and the half-built command thrown away, so a caller never
 * proposes a command missing a field (the FSM would refuse it anyway).
 */

struct build {
	cJSON *cmd;
	bool failed;
};

static struct build start(enum bx_op op)
{
	struct build b = {.cmd = cJSON_CreateObject()};

	b.failed = b.cmd == NULL || cJSON_AddStringToObject(b.cmd, "op", bx_op_name(op)) == NULL;
	return b;
}

static void str(struct build *b, const char *key, const char *value)
{
	if (!b->failed &&
	    cJSON_AddStringToObject(b->cmd, key, value != NULL ? value : "") == NULL)
		b->failed = true;
}

static void num(struct build *b, const char *key, double value)
{
	if (!b->failed && cJSON_AddNumberToObject(b->cmd, key, value) == NULL)
		b->failed = true;
}

static void boolean(struct build *b, const char *key, bool value)
{
	if (!b->failed && cJSON_AddBoolToObject(b->cmd, key, value) == NULL)
		b->failed = true;
}

/* Takes `item` whatever happens. */
static void item(struct build *b, const char *key, cJSON *value)
{
	if (b->failed || value == NULL || !cJSON_AddItemToObject(b->cmd, key, value)) {
		cJSON_Delete(value);
		b->failed = true;
	}
}

static cJSON *finish(struct build *b)
{
	if (b->failed) {
		cJSON_Delete(b->cmd);
		return NULL;
	}
	return b->cmd;
}

/* --- cluster --------------------------------------------------------------- */

cJSON *bx_cmd_cluster_init(const char *cluster_id)
{
	struct build b = start(BX_OP_CLUSTER_INIT);

	str(&b, "cluster_id", cluster_id);
	return finish(&b);
}

cJSON *bx_cmd_cluster_confirm(void)
{
	struct build b = start(BX_OP_CLUSTER_CONFIRM);

	return finish(&b);
}

/* --- nodes ------------------------------------------------------------------ */

cJSON *bx_cmd_node_upsert(const struct bx_node_info *node)
{
	struct build b = start(BX_OP_NODE_UPSERT);

	num(&b, "id", (double)node->id);
	str(&b, "name", node->name);
	str(&b, "api", node->api);
	str(&b, "raft", node->raft);
	if (node->capacity) {
		num(&b, "memory_mb", node->memory_mb);
		num(&b, "vcpus", node->vcpus);
		item(&b, "labels",
		     node->labels != NULL ? cJSON_Duplicate(node->labels, true)
					  : cJSON_CreateObject());
	}
	if (node->standby)
		boolean(&b, "standby", true);
	return finish(&b);
}

static cJSON *node_id(enum bx_op op, uint64_t id)
{
	struct build b = start(op);

	num(&b, "id", (double)id);
	return finish(&b);
}

cJSON *bx_cmd_node_drain(uint64_t id, bool drain)
{
	struct build b = start(BX_OP_NODE_DRAIN);

	num(&b, "id", (double)id);
	boolean(&b, "drain", drain);
	return finish(&b);
}

cJSON *bx_cmd_node_remove(uint64_t id)
{
	return node_id(BX_OP_NODE_REMOVE, id);
}

cJSON *bx_cmd_node_down(uint64_t id)
{
	return node_id(BX_OP_NODE_DOWN, id);
}

cJSON *bx_cmd_node_up(uint64_t id)
{
	return node_id(BX_OP_NODE_UP, id);
}

/* --- invites and tokens ----------------------------------------------------- */

cJSON *bx_cmd_invite_create(const char *id, const char *secret_hash, const char *role,
			    double uses, double expires_at)
{
	struct build b = start(BX_OP_INVITE_CREATE);

	str(&b, "id", id);
	str(&b, "secret_hash", secret_hash);
	str(&b, "role", role);
	num(&b, "uses", uses);
	num(&b, "expires_at", expires_at);
	return finish(&b);
}

static cJSON *record_id(enum bx_op op, const char *id)
{
	struct build b = start(op);

	str(&b, "id", id);
	return finish(&b);
}

cJSON *bx_cmd_invite_revoke(const char *id)
{
	return record_id(BX_OP_INVITE_REVOKE, id);
}

cJSON *bx_cmd_invite_use(const char *id, const char *secret_hash, uint64_t node)
{
	struct build b = start(BX_OP_INVITE_USE);

	str(&b, "id", id);
	str(&b, "secret_hash", secret_hash);
	num(&b, "node", (double)node);
	return finish(&b);
}

cJSON *bx_cmd_token_create(const char *id, const char *secret_hash, const char *role,
			   const char *name, const char *created_by)
{
	struct build b = start(BX_OP_TOKEN_CREATE);

	str(&b, "id", id);
	str(&b, "name", name);
	str(&b, "role", role);
	str(&b, "secret_hash", secret_hash);
	if (created_by != NULL)
		str(&b, "created_by", created_by);
	return finish(&b);
}

cJSON *bx_cmd_token_revoke(const char *id)
{
	return record_id(BX_OP_TOKEN_REVOKE, id);
}

/* --- services ----------------------------------------------------------------- */

static cJSON *service_name(enum bx_op op, const char *name)
{
	struct build b = start(op);

	str(&b, "name", name);
	return finish(&b);
}

cJSON *bx_cmd_service_put(const char *name, cJSON *spec, bool start_it)
{
	struct build b = start(BX_OP_SERVICE_PUT);

	str(&b, "name", name);
	item(&b, "spec", spec);
	boolean(&b, "start", start_it);
	return finish(&b);
}

cJSON *bx_cmd_service_start(const char *name)
{
	return service_name(BX_OP_SERVICE_START, name);
}

cJSON *bx_cmd_service_stop(const char *name)
{
	return service_name(BX_OP_SERVICE_STOP, name);
}

cJSON *bx_cmd_service_delete(const char *name)
{
	return service_name(BX_OP_SERVICE_DELETE, name);
}

cJSON *bx_cmd_service_assign(const char *name, uint64_t node, uint64_t expect_generation,
			     const char *reason)
{
	struct build b = start(BX_OP_SERVICE_ASSIGN);

	str(&b, "name", name);
	num(&b, "expect_generation", (double)expect_generation);
	num(&b, "node", (double)node);
	if (reason != NULL)
		str(&b, "reason", reason);
	return finish(&b);
}

cJSON *bx_cmd_service_migrate(const char *name, uint64_t node, uint64_t expect_generation)
{
	struct build b = start(BX_OP_SERVICE_MIGRATE);

	str(&b, "name", name);
	num(&b, "expect_generation", (double)expect_generation);
	num(&b, "node", (double)node);
	return finish(&b);
}

cJSON *bx_cmd_service_wait(const char *name, uint64_t expect_generation,
			   const char *reason)
{
	struct build b = start(BX_OP_SERVICE_WAIT);

	str(&b, "name", name);
	num(&b, "expect_generation", (double)expect_generation);
	str(&b, "reason", reason);
	return finish(&b);
}

cJSON *bx_cmd_service_report(const struct bx_report *r)
{
	struct build b = start(BX_OP_SERVICE_REPORT);

	str(&b, "name", r->name);
	num(&b, "node", (double)r->node);
	num(&b, "generation", (double)r->generation);
	str(&b, "state", r->state);
	num(&b, "pid", (double)r->pid);
	num(&b, "restarts", r->restarts);
	str(&b, "reason", r->reason);
	str(&b, "health", r->health);
	return finish(&b);
}

int bx_command_op_of(const cJSON *cmd, enum bx_op *op)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cmd, "op"));

	if (name == NULL || bx_op_find(name, op) != 0)
		return BX_EINVAL;
	return BX_OK;
}
