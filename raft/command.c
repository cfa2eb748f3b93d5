/* command.c - the table of replicated commands and their validation. */
#include "raft/command.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "src/base/error.h"
#include "src/model/spec.h"
#include "src/model/token.h"

static bool is_integer(const cJSON *v, double min)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	return isfinite(d) && d == floor(d) && d >= min && d <= BX_CMD_MAX_INT;
}

static bool check_uint(const cJSON *v)
{
	return is_integer(v, 0);
}

static bool check_id(const cJSON *v)
{
	return is_integer(v, 1);
}

static bool check_string(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring != NULL;
}

static bool check_bool(const cJSON *v)
{
	return cJSON_IsBool(v);
}

static bool check_object(const cJSON *v)
{
	return cJSON_IsObject(v);
}

static bool check_hex_id(const cJSON *v)
{
	size_t n;

	if (!check_string(v))
		return false;
	n = strlen(v->valuestring);
	return n >= 1 && n <= 64 && strspn(v->valuestring, "0123456789abcdefABCDEF") == n;
}

static bool check_role(const cJSON *v)
{
	return check_string(v) && (strcmp(v->valuestring, "voter") == 0 ||
				   strcmp(v->valuestring, "standby") == 0);
}

static bool check_uses(const cJSON *v)
{
	return is_integer(v, 1) && v->valuedouble <= BX_INVITE_USES_MAX;
}

bool bx_command_valid_service_name(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 63 && name[0] != '-' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool check_name(const cJSON *v)
{
	return check_string(v) && bx_command_valid_service_name(v->valuestring);
}

static bool check_key(const cJSON *v)
{
	return check_string(v) && bx_key_valid(v->valuestring);
}

static bool check_state(const cJSON *v)
{
	static const char *const states[] = {BX_SERVICE_STATES};

	if (!check_string(v))
		return false;
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(v->valuestring, states[i]) == 0)
			return true;
	return false;
}

#define NAME_WANT "a service name ([a-z0-9-], 1-63 characters, not starting with '-')"
#define F_NAME                                                                           \
	{                                                                                \
		"name", check_name, NAME_WANT                                            \
	}
#define F_KEY                                                                            \
	{                                                                                \
		"name", check_key,                                                       \
		    "a service name, or NAME@I for one of its instances (1 <= I < 1000)" \
	}
#define F_END                                                                            \
	{                                                                                \
		NULL, NULL, NULL                                                         \
	}

static const struct bx_command_field cluster_init_fields[] = {
    {"cluster_id", check_hex_id, "a hex string of 1-64 characters"},
    F_END,
};

static const struct bx_command_field invite_create_fields[] = {
    {"id", check_hex_id, "a hex string of 1-64 characters"},
    {"secret_hash", check_hex_id, "a hex string of 1-64 characters"},
    {"role", check_role, "\"voter\" or \"standby\""},
    {"uses", check_uses, "an integer 1..1000"},
    {"expires_at", check_id, "an integer >= 1"},
    F_END,
};

static const struct bx_command_field invite_id_fields[] = {
    {"id", check_hex_id, "a hex string of 1-64 characters"},
    F_END,
};

static const struct bx_command_field invite_use_fields[] = {
    {"id", check_hex_id, "a hex string of 1-64 characters"},
    {"secret_hash", check_hex_id, "a hex string of 1-64 characters"},
    {"node", check_id, "an integer >= 1"},
    F_END,
};

static bool check_token_id(const cJSON *v)
{
	return check_string(v) && bx_token_id_valid(v->valuestring);
}

static bool check_token_hash(const cJSON *v)
{
	return check_string(v) && bx_token_hash_valid(v->valuestring);
}

static bool check_token_role(const cJSON *v)
{
	return check_string(v) && bx_token_role_valid(v->valuestring);
}

#define TOKEN_ID_WANT "16 hex digits (0-9, a-f)"

static const struct bx_command_field token_create_fields[] = {
    {"id", check_token_id, TOKEN_ID_WANT},
    {"secret_hash", check_token_hash, "64 hex digits (0-9, a-f)"},
    {"role", check_token_role, "\"admin\" or \"read\""},
    F_END,
};

static const struct bx_command_field token_id_fields[] = {
    {"id", check_token_id, TOKEN_ID_WANT},
    F_END,
};

/* The optional fields: name (a token name, "" when absent) and created_by. */
static int check_token_create(const cJSON *cmd, char *msg, size_t size)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(cmd, "name");
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(cmd, "created_by");

	if (name != NULL &&
	    (!check_string(name) || !bx_token_name_valid(name->valuestring))) {
		snprintf(msg, size,
			 "field 'name' must be at most %d characters of "
			 "A-Z, a-z, 0-9, '.', '_', '@' and '-'",
			 BX_TOKEN_NAME_MAX);
		return BX_EINVAL;
	}
	if (by != NULL &&
	    (!check_string(by) || strlen(by->valuestring) > BX_TOKEN_CREATED_BY_MAX)) {
		snprintf(msg, size,
			 "field 'created_by' must be a string of at most "
			 "%d characters",
			 BX_TOKEN_CREATED_BY_MAX);
		return BX_EINVAL;
	}
	return BX_OK;
}

static const struct bx_command_field node_upsert_fields[] = {
    {"id", check_id, "an integer >= 1"},
    {"name", check_string, "a string"},
    {"api", check_string, "a string"},
    {"raft", check_string, "a string"},
    F_END,
};

/*
 * What a node offers (optional: a node record without them sets no limit):
 * memory_mb and vcpus, integers >= 0, and labels, an object of at most
 * BX_NODE_LABELS_MAX strings forming valid "key=value" labels.
 */
static int check_node_upsert(const cJSON *cmd, char *msg, size_t size)
{
	static const char *const amounts[] = {"memory_mb", "vcpus"};
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cmd, "labels"), *l;
	char text[BX_LABEL_KEY_MAX + BX_LABEL_VALUE_MAX + 8];
	int n = 0;

	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(cmd, amounts[i]);
		if (v != NULL && (!is_integer(v, 0) || v->valuedouble > 4294967295.0)) {
			snprintf(
			    msg, size,
			    "field '%s' must be an integer 0..4294967295",
			    amounts[i]);
			return BX_EINVAL;
		}
	}
	if (cJSON_HasObjectItem(cmd, "standby") &&
	    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(cmd, "standby"))) {
		snprintf(msg, size, "field 'standby' must be true or false");
		return BX_EINVAL;
	}
	if (labels == NULL)
		return BX_OK;
	if (!cJSON_IsObject(labels)) {
		snprintf(msg, size, "field 'labels' must be an object");
		return BX_EINVAL;
	}
	cJSON_ArrayForEach(l, labels)
	{
		if (!check_string(l) ||
		    snprintf(text, sizeof text, "%s=%s", l->string, l->valuestring) >=
			(int)sizeof text ||
		    !bx_label_valid(text) || ++n > BX_NODE_LABELS_MAX) {
			snprintf(
			    msg, size,
			    "labels must be at most %d \"key\": \"value\" "
			    "pairs of valid labels; '%.64s' is not",
			    BX_NODE_LABELS_MAX, l->string ? l->string : "");
			return BX_EINVAL;
		}
	}
	return BX_OK;
}

static const struct bx_command_field node_drain_fields[] = {
    {"id", check_id, "an integer >= 1"},
    {"drain", check_bool, "true or false"},
    F_END,
};

static const struct bx_command_field node_id_fields[] = {
    {"id", check_id, "an integer >= 1"},
    F_END,
};

static const struct bx_command_field no_fields[] = {
    F_END,
};

static const struct bx_command_field service_put_fields[] = {
    F_NAME,
    {"spec", check_object, "an object"},
    {"start", check_bool, "a boolean"},
    F_END,
};

static const struct bx_command_field service_name_fields[] = {
    F_NAME,
    F_END,
};

static const struct bx_command_field service_assign_fields[] = {
    F_KEY,
    {"node", check_uint, "an integer >= 0"},
    {"expect_generation", check_uint, "an integer >= 0"},
    F_END,
};

static const struct bx_command_field service_migrate_fields[] = {
    F_KEY,
    {"node", check_id, "an integer >= 1"},
    {"expect_generation", check_uint, "an integer >= 0"},
    F_END,
};

static const struct bx_command_field service_wait_fields[] = {
    F_KEY,
    {"expect_generation", check_uint, "an integer >= 0"},
    {"reason", check_string, "a string"},
    F_END,
};

static const struct bx_command_field service_report_fields[] = {
    F_KEY,
    {"node", check_id, "an integer >= 1"},
    {"generation", check_uint, "an integer >= 0"},
    {"state", check_state,
     "one of \"starting\", \"running\", \"exited\", \"failed\", \"stopped\", "
     "\"unhealthy\", \"fenced\""},
    {"pid", check_uint, "an integer >= 0"},
    {"restarts", check_uint, "an integer >= 0"},
    {"reason", check_string, "a string"},
    F_END,
};

/* spec.service.name must name the service the command puts. */
static int check_service_put(const cJSON *cmd, char *msg, size_t size)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(cmd, "spec");
	const cJSON *service = cJSON_GetObjectItemCaseSensitive(spec, "service");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(service, "name");
	const char *want = bx_command_str(cmd, "name");

	if (!cJSON_IsString(name) || strcmp(name->valuestring, want) != 0) {
		snprintf(msg, size, "spec's service.name must be \"%s\"",
			 want);
		return BX_EINVAL;
	}
	return BX_OK;
}

/* "health" is optional (reports from before health checks have none). */
static int check_service_report(const cJSON *cmd, char *msg, size_t size)
{
	static const char *const values[] = {"", "starting", "healthy", "unhealthy"};
	const cJSON *health = cJSON_GetObjectItemCaseSensitive(cmd, "health");

	if (health == NULL)
		return BX_OK;
	for (size_t i = 0; cJSON_IsString(health) && i < sizeof values / sizeof values[0];
	     i++)
		if (strcmp(health->valuestring, values[i]) == 0)
			return BX_OK;
	snprintf(msg, size,
		 "field 'health' must be one of \"\", \"starting\", "
		 "\"healthy\", \"unhealthy\"");
	return BX_EINVAL;
}

static const struct bx_command_op ops[] = {
#define VALIDATION(id, name, fields, check, apply) {BX_OP_##id, name, fields, check},
    BX_OPS(VALIDATION)
#undef VALIDATION
};

const char *bx_op_name(enum bx_op op)
{
	if (op == BX_OP_RESTORE)
		return BX_OP_RESTORE_NAME;
	return (unsigned)op < BX_OP_COUNT ? ops[op].name : "?";
}

int bx_op_find(const char *name, enum bx_op *op)
{
	for (size_t i = 0; i < BX_OP_COUNT; i++)
		if (strcmp(ops[i].name, name) == 0) {
			*op = ops[i].id;
			return BX_OK;
		}
	return BX_ENOENT;
}

int bx_command_validate(const cJSON *cmd, const struct bx_command_op **out, char *msg,
			size_t size)
{
	const cJSON *opname, *ts;
	const struct bx_command_op *op;
	enum bx_op id;

	if (out != NULL)
		*out = NULL;
	if (!cJSON_IsObject(cmd)) {
		snprintf(msg, size, "command must be a JSON object");
		return BX_EINVAL;
	}
	opname = cJSON_GetObjectItemCaseSensitive(cmd, "op");
	if (!check_string(opname)) {
		snprintf(msg, size, "command: field 'op' must be a string");
		return BX_EINVAL;
	}
	if (bx_op_find(opname->valuestring, &id) != 0) {
		snprintf(msg, size, "unknown op '%.64s'", opname->valuestring);
		return BX_EINVAL;
	}
	op = &ops[id];
	ts = cJSON_GetObjectItemCaseSensitive(cmd, "ts");
	if (!check_uint(ts)) {
		snprintf(msg, size,
			 "%s: field 'ts' must be an integer >= 0 (milliseconds)",
			 op->name);
		return BX_EINVAL;
	}
	for (const struct bx_command_field *f = op->fields; f->name != NULL; f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(cmd, f->name);
		if (v == NULL) {
			snprintf(msg, size, "%s: missing field '%s' (%s)", op->name,
				 f->name, f->want);
			return BX_EINVAL;
		}
		if (!f->check(v)) {
			snprintf(msg, size, "%s: field '%s' must be %s", op->name,
				 f->name, f->want);
			return BX_EINVAL;
		}
	}
	if (op->check != NULL) {
		char why[256];
		if (op->check(cmd, why, sizeof why) != 0) {
			snprintf(msg, size, "%s: %s", op->name, why);
			return BX_EINVAL;
		}
	}
	if (out != NULL)
		*out = op;
	return BX_OK;
}

uint64_t bx_command_u64(const cJSON *cmd, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cmd, field);

	return is_integer(v, 0) ? (uint64_t)v->valuedouble : 0;
}

const char *bx_command_str(const cJSON *cmd, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cmd, field);

	return check_string(v) ? v->valuestring : "";
}

bool bx_command_bool(const cJSON *cmd, const char *field)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cmd, field));
}
