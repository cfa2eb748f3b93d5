/* ops.h - the one list of replicated ops: name, fields, validator and handler of each. */
#ifndef BX_OPS_H
#define BX_OPS_H

#include <stdbool.h>

/*
 * Every replicated command is one line here, and nowhere else is an op named
 * by its string: raft/command.c expands the list into its validation table
 * (fields and a check across them), raft/fsm.c into its handlers, and
 * raft/command_build.c has a typed constructor for each (raft/command.h).
 * The name is the wire format ({"op": NAME} in the Raft log and in
 * /v1/internal/command): it never changes for an op once released.
 *
 * A new op is a line here, its fields and check in command.c, its handler
 * in an fsm_*.c file and its constructor in command_build.c; a misspelt one
 * does not compile.
 *
 *   X(ID, NAME, FIELDS, CHECK, APPLY)
 *     ID     BX_OP_ID
 *     NAME   the op's name on the wire
 *     FIELDS its fields (raft/command.c: name, check, what it accepts)
 *     CHECK  a check across fields once each passed, or NULL
 *     APPLY  its handler (raft/fsm_internal.h)
 *
 * The node.* ops stand together, and the service.* ops together at the end:
 * bx_op_is_node and bx_op_is_service below count on it (test_fsm checks).
 */
#define BX_OPS(X)                                                                        \
	X(CLUSTER_INIT, "cluster.init", cluster_init_fields, NULL, fsm_op_cluster_init)  \
	X(CLUSTER_CONFIRM, "cluster.confirm", no_fields, NULL, fsm_op_cluster_confirm)   \
	X(NODE_UPSERT, "node.upsert", node_upsert_fields, check_node_upsert,             \
	  fsm_op_node_upsert)                                                            \
	X(NODE_DRAIN, "node.drain", node_drain_fields, NULL, fsm_op_node_drain)          \
	X(NODE_REMOVE, "node.remove", node_id_fields, NULL, fsm_op_node_remove)          \
	X(NODE_DOWN, "node.down", node_id_fields, NULL, fsm_op_node_down)                \
	X(NODE_UP, "node.up", node_id_fields, NULL, fsm_op_node_up)                      \
	X(INVITE_CREATE, "invite.create", invite_create_fields, NULL,                    \
	  fsm_op_invite_create)                                                          \
	X(INVITE_REVOKE, "invite.revoke", invite_id_fields, NULL, fsm_op_invite_revoke)  \
	X(INVITE_USE, "invite.use", invite_use_fields, NULL, fsm_op_invite_use)          \
	X(TOKEN_CREATE, "token.create", token_create_fields, check_token_create,         \
	  fsm_op_token_create)                                                           \
	X(TOKEN_REVOKE, "token.revoke", token_id_fields, NULL, fsm_op_token_revoke)      \
	X(SERVICE_PUT, "service.put", service_put_fields, check_service_put,             \
	  fsm_op_service_put)                                                            \
	X(SERVICE_START, "service.start", service_name_fields, NULL,                     \
	  fsm_op_service_start)                                                          \
	X(SERVICE_STOP, "service.stop", service_name_fields, NULL, fsm_op_service_stop)  \
	X(SERVICE_DELETE, "service.delete", service_name_fields, NULL,                   \
	  fsm_op_service_delete)                                                         \
	X(SERVICE_ASSIGN, "service.assign", service_assign_fields, NULL,                 \
	  fsm_op_service_assign)                                                         \
	X(SERVICE_MIGRATE, "service.migrate", service_migrate_fields, NULL,              \
	  fsm_op_service_migrate)                                                        \
	X(SERVICE_WAIT, "service.wait", service_wait_fields, NULL, fsm_op_service_wait)  \
	X(SERVICE_REPORT, "service.report", service_report_fields, check_service_report, \
	  fsm_op_service_report)

enum bx_op {
#define BX_OP_ENUM(id, name, fields, check, apply) BX_OP_##id,
	BX_OPS(BX_OP_ENUM)
#undef BX_OP_ENUM
	BX_OP_COUNT,
	/* Not a command: what the FSM tells its observer when a snapshot
	 * replaced the whole state (raft/fsm.h, bx_fsm_apply_fn). */
	BX_OP_RESTORE = BX_OP_COUNT,
};
#define BX_OP_RESTORE_NAME "snapshot.restore"

/* The op's name on the wire ("service.put"); BX_OP_RESTORE_NAME for
 * BX_OP_RESTORE, "?" for anything else. Static storage. */
const char *bx_op_name(enum bx_op op);

/* The op named `name` into *op: 0, or BX_ENOENT for no op of that name. */
int bx_op_find(const char *name, enum bx_op *op);

/* Is `op` one of the service.* ops (each names a service record)? */
static inline bool bx_op_is_service(enum bx_op op)
{
	return op >= BX_OP_SERVICE_PUT && op <= BX_OP_SERVICE_REPORT;
}

/* Is `op` one of the node.* ops (each changes a node record)? */
static inline bool bx_op_is_node(enum bx_op op)
{
	return op >= BX_OP_NODE_UPSERT && op <= BX_OP_NODE_UP;
}

#endif
