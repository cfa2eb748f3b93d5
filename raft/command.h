/* command.h - the replicated commands: their ops, fields and checks (pure, no I/O). */
#ifndef BX_COMMAND_H
#define BX_COMMAND_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A command is one JSON object {"op": OP, "ts": MS, …fields}. `ts` is stamped
 * by the proposer (the leader's clock) and is the only time apply ever uses,
 * so every node computes the same records. The table in command.c lists each
 * op's fields; bx_command_parse() checks them all before apply touches the
 * store. Ops:
 *
 *   cluster.init    cluster_id
 *   node.upsert     id name api raft
 *   node.remove     id
 *   service.put     name spec start
 *   service.start   name
 *   service.stop    name
 *   service.delete  name
 *   service.assign  name node expect_generation
 *   service.report  name node generation state pid restarts reason
 */

enum bx_op {
	BX_OP_CLUSTER_INIT,
	BX_OP_NODE_UPSERT,
	BX_OP_NODE_REMOVE,
	BX_OP_SERVICE_PUT,
	BX_OP_SERVICE_START,
	BX_OP_SERVICE_STOP,
	BX_OP_SERVICE_DELETE,
	BX_OP_SERVICE_ASSIGN,
	BX_OP_SERVICE_REPORT,
};

struct bx_command {
	enum bx_op op;
	const char *op_name;
	uint64_t ts;
	/* Fields, meaningful per op. Strings point into `json`. */
	const char *name; /* service name */
	const char *cluster_id;
	uint64_t id; /* node id (node.*) */
	const char *node_name, *api, *raft;
	uint64_t node; /* service.assign/report */
	uint64_t generation, expect_generation;
	const char *state, *reason;
	int64_t pid;
	uint64_t restarts;
	const cJSON *spec;
	bool start;
	cJSON *json; /* the parsed command, owned */
};

/* Report states an agent may send. */
bool bx_command_state_valid(const char *state);

/*
 * Parse and check one command. On success returns 0 and fills *cmd (free with
 * bx_command_free). On failure returns BX_EINVAL and writes a message
 * ("service.assign: field 'node' must be a whole number >= 0") into msg.
 */
int bx_command_parse(const char *buf, size_t len, struct bx_command *cmd, char *msg,
		     size_t size);
void bx_command_free(struct bx_command *cmd);

#endif
