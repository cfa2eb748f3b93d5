/* command.h - the replicated commands: their ops, fields and validation (no I/O). */
#ifndef BX_COMMAND_H
#define BX_COMMAND_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/ops.h"

/*
 * Every Raft entry is one JSON object {"op": S, "ts": ms, …fields}. `ts` is
 * the proposer's clock (milliseconds since the epoch); apply uses it as "now"
 * and never reads a clock, so every server computes the same records.
 *
 *   cluster.init    cluster_id: hex string, 1..64 chars
 *   node.upsert     id: integer >= 1, name, api, raft: strings; optional
 *                   memory_mb, vcpus: integers >= 0 (what it offers, 0: no
 *                   limit), labels: {"key": "value"} (src/model/spec.h, at most 64),
 *                   standby: bool (true: never made a voter; kept when absent)
 *   node.drain      id: integer >= 1, drain: bool (false: eligible again)
 *   node.remove     id: integer >= 1
 *   node.down       id: integer >= 1 (the leader heard nothing for node_timeout)
 *   node.up         id: integer >= 1 (heard again)
 *   cluster.confirm (nothing: the leader's proof of leadership, src/node/heartbeat.h)
 *   invite.create   id, secret_hash: hex strings; role: "voter" | "standby";
 *                   uses: integer 1..BX_INVITE_USES_MAX; expires_at: ms >= 1
 *   invite.revoke   id
 *   invite.use      id, secret_hash (of the secret the joining node showed),
 *                   node: integer >= 1 (refused when unknown, revoked,
 *                   expired at ts, used up or the secret differs)
 *   token.create    id: 16 hex, secret_hash: 64 hex (lower case); role:
 *                   "admin" | "read"; optional name (src/model/token.h, "" when
 *                   absent), created_by (string, at most 128 chars); refused
 *                   when the id exists
 *   token.revoke    id (refused when unknown: a revoked token is deleted)
 *   service.put     name: service name, spec: object, start: bool
 *   service.start   name
 *   service.stop    name
 *   service.delete  name
 *   service.assign  name, node: integer >= 0, expect_generation: integer >= 0,
 *                   reason: string (optional: why it moved)
 *   service.migrate name, node: integer >= 1, expect_generation: integer >= 0
 *                   (its node stops it, then it moves: raft/fsm.c)
 *   service.wait    name, expect_generation: integer >= 0, reason: string
 *                   (no node can take it, and why)
 *   service.report  name, node: integer >= 1, generation: integer >= 0,
 *                   state: one of BX_SERVICE_STATES, pid, restarts: integer >= 0,
 *                   reason: string
 *
 * A service name is [a-z0-9-], 1..63 chars, not starting with '-'. Integers
 * are integral JSON numbers up to 2^53 (exact in a double). Fields not listed
 * are ignored. bx_command_validate() is the one check, used by proposers before
 * proposing and by the FSM again at apply. The ops themselves, with their
 * names, are listed once, in raft/ops.h; commands are built by the typed
 * constructors below, never by hand.
 */

#define BX_CMD_MAX_INT 9007199254740992.0 /* 2^53 */
#define BX_INVITE_USES_MAX 1000

/* States an agent may report. */
#define BX_SERVICE_STATES                                                                \
	"starting", "running", "exited", "failed", "stopped", "unhealthy", "fenced"

struct bx_command_field {
	const char *name;
	bool (*check)(const cJSON *value);
	const char *want; /* what check accepts, for messages: "an integer >= 0" */
};

struct bx_command_op {
	enum bx_op id;
	const char *name;
	const struct bx_command_field *fields; /* terminated by a NULL name */
	/* Checks across fields, after each field passed; may be NULL. */
	int (*check)(const cJSON *cmd, char *msg, size_t size);
};

/*
 * Validate a parsed command. Returns 0 and sets *op (may be NULL), or
 * BX_EINVAL with a message such as
 * "service.assign: field 'node' must be an integer >= 0".
 */
int bx_command_validate(const cJSON *cmd, const struct bx_command_op **op, char *msg,
			size_t size);

/* True if `name` is a valid service name. */
bool bx_command_valid_service_name(const char *name);

/* Field accessors for a validated command (0 / "" / false when absent). */
uint64_t bx_command_u64(const cJSON *cmd, const char *field);
const char *bx_command_str(const cJSON *cmd, const char *field);
bool bx_command_bool(const cJSON *cmd, const char *field);

/*
 * Typed constructors, one per op (raft/ops.h). Each returns a new command
 * object {"op": …, fields…} without "ts" (the proposer stamps it), the
 * caller's to propose or cJSON_Delete, or NULL when out of memory. String
 * arguments are copied; NULL counts as "". What each field means: the list
 * at the top of this file.
 */
cJSON *bx_cmd_cluster_init(const char *cluster_id);
cJSON *bx_cmd_cluster_confirm(void);

/* node.upsert: what a node says of itself. Without `capacity` the command
 * carries no memory_mb, vcpus or labels (the record keeps what it has). */
struct bx_node_info {
	uint64_t id;
	const char *name, *api, *raft;
	bool capacity;
	uint32_t memory_mb, vcpus;
	const cJSON *labels; /* {"key": "value"}, copied; NULL: none */
	bool standby;        /* "standby": true (never a voter); false: left out */
};
cJSON *bx_cmd_node_upsert(const struct bx_node_info *node);
cJSON *bx_cmd_node_drain(uint64_t id, bool drain);
cJSON *bx_cmd_node_remove(uint64_t id);
cJSON *bx_cmd_node_down(uint64_t id);
cJSON *bx_cmd_node_up(uint64_t id);

cJSON *bx_cmd_invite_create(const char *id, const char *secret_hash, const char *role,
			    double uses, double expires_at);
cJSON *bx_cmd_invite_revoke(const char *id);
cJSON *bx_cmd_invite_use(const char *id, const char *secret_hash, uint64_t node);

/* created_by NULL: the field is left out */
cJSON *bx_cmd_token_create(const char *id, const char *secret_hash, const char *role,
			   const char *name, const char *created_by);
cJSON *bx_cmd_token_revoke(const char *id);

/* `spec` is taken (freed on failure too). */
cJSON *bx_cmd_service_put(const char *name, cJSON *spec, bool start);
cJSON *bx_cmd_service_start(const char *name);
cJSON *bx_cmd_service_stop(const char *name);
cJSON *bx_cmd_service_delete(const char *name);
/* reason NULL: the field is left out (not a move after a failure) */
cJSON *bx_cmd_service_assign(const char *name, uint64_t node, uint64_t expect_generation,
			     const char *reason);
cJSON *bx_cmd_service_migrate(const char *name, uint64_t node,
			      uint64_t expect_generation);
cJSON *bx_cmd_service_wait(const char *name, uint64_t expect_generation,
			   const char *reason);

/* service.report: what an agent tells of its instance of one generation. */
struct bx_report {
	const char *name; /* the record's key: NAME or NAME@I */
	uint64_t node, generation;
	const char *state; /* one of BX_SERVICE_STATES */
	int64_t pid;
	unsigned restarts;
	const char *reason, *health; /* health: "" when not checked */
};
cJSON *bx_cmd_service_report(const struct bx_report *report);

/* The op of a command object (validated or not): 0, or BX_EINVAL when it
 * names none. */
int bx_command_op_of(const cJSON *cmd, enum bx_op *op);

#endif
