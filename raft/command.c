/* command.c - the replicated commands: their ops, fields and checks (pure, no I/O). */
#include "command.h"

#include "error.h"
#include "spec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum kind { K_STR, K_NAME, K_U64, K_I64, K_BOOL, K_OBJECT, K_STATE };

struct field {
	const char *key;
	enum kind kind;
	size_t offset; /* into struct bx_command */
};

#define F(key, kind, member)                                                             \
	{                                                                                \
		key, kind, offsetof(struct bx_command, member)                           \
	}

struct op_def {
	const char *name;
	enum bx_op op;
	struct field fields[8];
};

/* The one table of ops: parse, check and document from here. */
static const struct op_def ops[] = {
    {"cluster.init", BX_OP_CLUSTER_INIT, {F("cluster_id", K_STR, cluster_id)}},
    {"node.upsert",
     BX_OP_NODE_UPSERT,
     {F("id", K_U64, id), F("name", K_STR, node_name), F("api", K_STR, api),
      F("raft", K_STR, raft)}},
    {"node.remove", BX_OP_NODE_REMOVE, {F("id", K_U64, id)}},
    {"service.put",
     BX_OP_SERVICE_PUT,
     {F("name", K_NAME, name), F("spec", K_OBJECT, spec), F("start", K_BOOL, start)}},
    {"service.start", BX_OP_SERVICE_START, {F("name", K_NAME, name)}},
    {"service.stop", BX_OP_SERVICE_STOP, {F("name", K_NAME, name)}},
    {"service.delete", BX_OP_SERVICE_DELETE, {F("name", K_NAME, name)}},
    {"service.assign",
     BX_OP_SERVICE_ASSIGN,
     {F("name", K_NAME, name), F("node", K_U64, node),
      F("expect_generation", K_U64, expect_generation)}},
    {"service.report",
     BX_OP_SERVICE_REPORT,
     {F("name", K_NAME, name), F("node", K_U64, node), F("generation", K_U64, generation),
      F("state", K_STATE, state), F("pid", K_I64, pid), F("restarts", K_U64, restarts),
      F("reason", K_STR, reason)}},
};

static const char *const report_states[] = {"starting", "running",   "exited", "failed",
					    "stopped",  "unhealthy", NULL};

bool bx_command_state_valid(const char *state)
{
	for (const char *const *s = report_states; *s != NULL; s++)
		if (strcmp(*s, state) == 0)
			return true;
	return false;
}

/* JSON numbers are doubles: whole numbers up to 2^53 are exact. */
static bool whole(const cJSON *v, double min)
{
	return cJSON_IsNumber(v) && v->valuedouble >= min &&
	       v->valuedouble <= 9007199254740992.0 &&
	       floor(v->valuedouble) == v->valuedouble;
}

static int check_field(const char *op, const struct field *f, const cJSON *v,
		       struct bx_command *cmd, char *msg, size_t size)
{
	char *at = (char *)cmd + f->offset;

	switch (f->kind) {
	case K_STR:
		if (!cJSON_IsString(v) || strlen(v->valuestring) > 4096)
			break;
		*(const char **)at = v->valuestring;
		return BX_OK;
	case K_NAME:
		if (!cJSON_IsString(v) || !bx_name_valid(v->valuestring)) {
			snprintf(msg, size,
				 "%s: field '%s' must be a name of a-z, 0-9 and '-' "
				 "(1..%d, not "
				 "starting with '-')",
				 op, f->key, BX_NAME_MAX);
			return BX_EINVAL;
		}
		*(const char **)at = v->valuestring;
		return BX_OK;
	case K_U64:
		if (!whole(v, 0)) {
			snprintf(msg, size, "%s: field '%s' must be a whole number >= 0",
				 op, f->key);
			return BX_EINVAL;
		}
		*(uint64_t *)(void *)at = (uint64_t)v->valuedouble;
		return BX_OK;
	case K_I64:
		if (!whole(v, -2147483648.0)) {
			snprintf(msg, size, "%s: field '%s' must be a whole number", op,
				 f->key);
			return BX_EINVAL;
		}
		*(int64_t *)(void *)at = (int64_t)v->valuedouble;
		return BX_OK;
	case K_BOOL:
		if (!cJSON_IsBool(v))
			break;
		*(bool *)at = cJSON_IsTrue(v);
		return BX_OK;
	case K_OBJECT:
		if (!cJSON_IsObject(v))
			break;
		*(const cJSON **)(void *)at = v;
		return BX_OK;
	case K_STATE:
		if (!cJSON_IsString(v) || !bx_command_state_valid(v->valuestring)) {
			snprintf(msg, size,
				 "%s: field '%s' must be one of starting, running, "
				 "exited, failed, "
				 "stopped, unhealthy",
				 op, f->key);
			return BX_EINVAL;
		}
		*(const char **)at = v->valuestring;
		return BX_OK;
	}
	snprintf(msg, size, "%s: field '%s' must be a %s", op, f->key,
		 f->kind == K_STR    ? "string (at most 4096 bytes)"
		 : f->kind == K_BOOL ? "boolean"
				     : "JSON object");
	return BX_EINVAL;
}

int bx_command_parse(const char *buf, size_t len, struct bx_command *cmd, char *msg,
		     size_t size)
{
	const struct op_def *def = NULL;
	const cJSON *jop, *jts, *item;
	int rv;

	memset(cmd, 0, sizeof *cmd);
	cmd->json = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(cmd->json)) {
		snprintf(msg, size, "command is not a JSON object");
		rv = BX_EINVAL;
		goto fail;
	}
	jop = cJSON_GetObjectItemCaseSensitive(cmd->json, "op");
	if (!cJSON_IsString(jop)) {
		snprintf(msg, size, "command has no 'op'");
		rv = BX_EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, jop->valuestring) == 0)
			def = &ops[i];
	if (def == NULL) {
		snprintf(msg, size, "unknown op '%.64s'", jop->valuestring);
		rv = BX_EINVAL;
		goto fail;
	}
	cmd->op = def->op;
	cmd->op_name = def->name;
	jts = cJSON_GetObjectItemCaseSensitive(cmd->json, "ts");
	if (!whole(jts, 0)) {
		snprintf(msg, size,
			 "%s: field 'ts' must be a whole number of milliseconds",
			 def->name);
		rv = BX_EINVAL;
		goto fail;
	}
	cmd->ts = (uint64_t)jts->valuedouble;
	for (const struct field *f = def->fields; f->key != NULL; f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(cmd->json, f->key);
		if (v == NULL) {
			snprintf(msg, size, "%s: field '%s' is required", def->name,
				 f->key);
			rv = BX_EINVAL;
			goto fail;
		}
		rv = check_field(def->name, f, v, cmd, msg, size);
		if (rv != 0)
			goto fail;
	}
	cJSON_ArrayForEach(item, cmd->json)
	{
		bool known =
		    strcmp(item->string, "op") == 0 || strcmp(item->string, "ts") == 0;
		for (const struct field *f = def->fields; !known && f->key != NULL; f++)
			known = strcmp(f->key, item->string) == 0;
		if (!known) {
			snprintf(msg, size, "%s: unknown field '%.64s'", def->name,
				 item->string);
			rv = BX_EINVAL;
			goto fail;
		}
	}
	if ((def->op == BX_OP_NODE_UPSERT || def->op == BX_OP_NODE_REMOVE) &&
	    cmd->id == 0) {
		snprintf(msg, size, "%s: field 'id' must be >= 1", def->name);
		rv = BX_EINVAL;
		goto fail;
	}
	if (def->op == BX_OP_CLUSTER_INIT &&
	    (cmd->cluster_id[0] == '\0' || strlen(cmd->cluster_id) > 64 ||
	     strspn(cmd->cluster_id, "0123456789abcdef") != strlen(cmd->cluster_id))) {
		snprintf(
		    msg, size,
		    "cluster.init: 'cluster_id' must be 1..64 lower-case hex digits");
		rv = BX_EINVAL;
		goto fail;
	}
	return BX_OK;
fail:
	cJSON_Delete(cmd->json);
	cmd->json = NULL;
	return rv;
}

void bx_command_free(struct bx_command *cmd)
{
	if (cmd == NULL)
		return;
	cJSON_Delete(cmd->json);
	cmd->json = NULL;
}
