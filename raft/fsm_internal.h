/* fsm_internal.h - what the state machine's files share: one apply, record and event
 * helpers, the command handlers. */
#ifndef BX_FSM_INTERNAL_H
#define BX_FSM_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "raft/fsm.h"

/*
 * The state machine is split by concern: fsm.c (entries, batches, results,
 * libraft's callbacks), fsm_record.c (record fields, rejecting a command),
 * fsm_events.c (the event log), fsm_nodes.c, fsm_services.c, fsm_invites.c
 * and fsm_tokens.c (the command handlers, one per op of raft/command.h).
 */

/* What one apply works on. */
struct apply {
	struct bx_fsm *fsm;
	const cJSON *cmd;
	double ts;
	struct bx_store_txn *txn;
	struct bx_fsm_result *res;
	char key[72]; /* service name or node id touched, for on_apply */
	bool changed; /* false for a no-op that succeeded */
};

/* Reject the command: sets the result, returns 0 (not a store failure). */
int fsm_reject(struct apply *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set obj[key] (replacing any), taking ownership of item; 0 or BX_ENOMEM. */
int fsm_set_item(cJSON *obj, const char *key, cJSON *item);
int fsm_set_num(cJSON *obj, const char *key, double v);
int fsm_set_str(cJSON *obj, const char *key, const char *v);
/* A field of obj: 0 / "" when absent or of another type. */
double fsm_num_of(const cJSON *obj, const char *key);
const char *fsm_str_of(const cJSON *obj, const char *key);

/* Records kept by id (invites, tokens): the store's reader of their kind. */
typedef int (*fsm_get_fn)(struct bx_store *s, const char *id, cJSON **out);
/* The record of `kind` ("invite") the command's "id" names into *rec, which is
 * also the result. If there is none the command is rejected with ENOENT
 * ("OP: no KIND ID"): 0 is returned and *rec is NULL. a->key is the id. */
int fsm_load_by_id(struct apply *a, fsm_get_fn get, const char *kind, cJSON **rec);
/* A new empty record for the command's "id" into *rec, also the result; if
 * one exists the command is rejected with EEXIST ("OP: KIND ID exists"): 0 is
 * returned and *rec is NULL. a->key is the id. */
int fsm_create_by_id(struct apply *a, fsm_get_fn get, const char *kind, cJSON **rec);

/* The result record becomes the FSM's (its result), written to the store too. */
int fsm_keep_service(struct apply *a, cJSON *rec);
/* A fresh instance of the service: the next generation, not placed-run yet. */
int fsm_new_instance(cJSON *rec, double ts);

/* Events (fsm_events.c; raft/fsm.h lists the types): about the service
 * instance `rec` as it is now, or about node `id` (record `rec`, NULL if gone). */
int fsm_service_event(struct apply *a, const char *type, const cJSON *rec,
		      const char *reason);
int fsm_node_event(struct apply *a, const char *type, uint64_t id, const cJSON *rec,
		   const char *reason);

/* The command handlers: 0 (applied, or rejected through fsm_reject()) or a store
 * failure. */
int fsm_op_cluster_init(struct apply *a);
int fsm_op_node_upsert(struct apply *a);
int fsm_op_node_remove(struct apply *a);
int fsm_op_node_down(struct apply *a);
int fsm_op_node_up(struct apply *a);
int fsm_op_node_drain(struct apply *a);
int fsm_op_cluster_confirm(struct apply *a);
int fsm_op_service_put(struct apply *a);
int fsm_op_service_start(struct apply *a);
int fsm_op_service_stop(struct apply *a);
int fsm_op_service_delete(struct apply *a);
int fsm_op_service_assign(struct apply *a);
int fsm_op_service_migrate(struct apply *a);
int fsm_op_service_wait(struct apply *a);
int fsm_op_service_report(struct apply *a);
int fsm_op_invite_create(struct apply *a);
int fsm_op_invite_revoke(struct apply *a);
int fsm_op_invite_use(struct apply *a);
int fsm_op_token_create(struct apply *a);
int fsm_op_token_revoke(struct apply *a);

#endif
