/* fsm_nodes.c - the cluster and node commands: init, upsert, down/up, drain, remove,
 * confirm. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/command.h"
#include "raft/fsm_internal.h"
#include "src/base/error.h"
#include "src/model/spec.h"

int fsm_op_cluster_init(struct apply *a)
{
	const char *id = bx_command_str(a->cmd, "cluster_id");
	const char *have = bx_store_cluster_id(a->fsm->store);

	snprintf(a->key, sizeof a->key, "%s", id);
	if (have[0] != '\0') {
		if (strcmp(have, id) == 0) {
			a->changed = false;
			return 0;
		}
		return fsm_reject(a, BX_ECONFLICT,
				  "cluster.init: cluster id is already %s", have);
	}
	return bx_store_set_cluster_id(a->txn, id);
}

int fsm_op_node_upsert(struct apply *a)
{
	uint64_t id = bx_command_u64(a->cmd, "id");
	cJSON *rec;
	int rc;

	snprintf(a->key, sizeof a->key, "%" PRIu64, id);
	rc = bx_store_get_node(a->fsm->store, id, &rec);
	if (rc == BX_ENOENT) {
		rec = cJSON_CreateObject();
		if (rec == NULL)
			return BX_ENOMEM;
		rc = fsm_set_num(rec, "id", (double)id);
		rc = rc ?: fsm_set_num(rec, "joined_at", a->ts);
		rc = rc
			 ?: fsm_node_event(a, "node_joined", id, a->cmd,
					   bx_command_str(a->cmd, "api"));
	}
	if (rc != 0)
		goto out;
	rc = fsm_set_str(rec, "name", bx_command_str(a->cmd, "name"));
	rc = rc ?: fsm_set_str(rec, "api", bx_command_str(a->cmd, "api"));
	rc = rc ?: fsm_set_str(rec, "raft", bx_command_str(a->cmd, "raft"));
	/* what it offers: kept from an earlier upsert when not given (a join) */
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		static const char *const amounts[] = {"memory_mb", "vcpus"};
		if (cJSON_HasObjectItem(a->cmd, amounts[i]))
			rc = fsm_set_num(rec, amounts[i],
					 (double)bx_command_u64(a->cmd, amounts[i]));
	}
	if (rc == 0 && cJSON_HasObjectItem(a->cmd, "standby"))
		rc = fsm_set_item(
		    rec, "standby",
		    cJSON_CreateBool(cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(a->cmd, "standby"))));
	if (rc == 0 && cJSON_HasObjectItem(a->cmd, "labels"))
		rc = fsm_set_item(
		    rec, "labels",
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a->cmd, "labels"),
				    1));
	rc = rc ?: fsm_set_num(rec, "updated_at", a->ts);
	rc = rc ?: bx_store_put_node(a->txn, id, rec);
out:
	a->res->record = rec;
	return rc;
}

/* Load the node named by the command's "id" into *rec (also the result), or
 * reject with ENOENT (then 0 is returned). */
static int load_node(struct apply *a, uint64_t *id, cJSON **rec)
{
	int rc;

	*id = bx_command_u64(a->cmd, "id");
	snprintf(a->key, sizeof a->key, "%" PRIu64, *id);
	rc = bx_store_get_node(a->fsm->store, *id, rec);
	if (rc == BX_ENOENT) {
		*rec = NULL;
		return fsm_reject(a, BX_ENOENT, "%s: no node %" PRIu64,
				  fsm_str_of(a->cmd, "op"), *id);
	}
	if (rc == 0)
		a->res->record = *rec;
	return rc;
}

bool bx_fsm_node_down(const cJSON *rec)
{
	return strcmp(fsm_str_of(rec, "status"), "down") == 0;
}

static int set_node_status(struct apply *a, uint64_t id, cJSON *rec, const char *status,
			   const char *reason)
{
	char type[16];
	int rc = fsm_set_str(rec, "status", status);

	snprintf(type, sizeof type, "node_%s", status);
	rc = rc ?: fsm_set_num(rec, "status_at", a->ts);
	rc = rc ?: fsm_node_event(a, type, id, rec, reason);
	return rc ?: bx_store_put_node(a->txn, id, rec);
}

enum which { ALL, RUNNING, STOPPED };

/*
 * Take the services off node `id` (all, those that should run, or those
 * stopped): each is a fresh instance on no node, pending until the scheduler
 * places it (a move under way is dropped). Read through the placement index,
 * not every record.
 */
static int unplace(struct apply *a, uint64_t id, enum which which, const char *reason)
{
	char fenced_why[160];
	cJSON *services, *svc;
	int rc = bx_store_list_placed(a->fsm->store, id, which == RUNNING, &services);

	snprintf(fenced_why, sizeof fenced_why,
		 "%s: its lease ran out, so it stopped this instance", reason);
	if (rc != 0)
		return rc;
	cJSON_ArrayForEach(svc, services)
	{
		if (which == STOPPED &&
		    strcmp(fsm_str_of(svc, "desired"), "running") == 0)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(svc, "move_to");
		/* off a down node: its lease ran out, so the instance there is
		 * stopped (fenced); a failover, timed until it runs again
		 * (fsm_op_service_report); a second one keeps the first's time */
		rc = fsm_service_event(a, which == RUNNING ? "fenced" : "unscheduled",
				       svc, which == RUNNING ? fenced_why : reason);
		if (rc == 0 && which == RUNNING &&
		    !cJSON_HasObjectItem(svc, "failover_at"))
			rc = fsm_set_num(svc, "failover_at", a->ts);
		rc = rc ?: fsm_set_num(svc, "node", 0);
		rc = rc ?: fsm_new_instance(svc, a->ts);
		rc = rc ?: fsm_set_str(svc, "reason", reason);
		rc = rc ?: fsm_set_num(svc, "updated_at", a->ts);
		rc = rc ?: bx_store_put_service(a->txn, fsm_str_of(svc, "name"), svc);
		if (rc != 0)
			break;
	}
	cJSON_Delete(services);
	return rc;
}

int fsm_op_node_remove(struct apply *a)
{
	uint64_t id;
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	rc = bx_store_del_node(a->txn, id);
	rc = rc ?: fsm_node_event(a, "node_removed", id, rec, "");
	if (rc != 0)
		return rc;
	/* Its services go back to the scheduler, which places them again. */
	return unplace(a, id, ALL, "its node was removed");
}

/*
 * The leader heard nothing from the node for node_timeout: by invariant 4 its
 * lease has run out and it has stopped its services itself. They leave it in
 * this same entry (node 0, a new generation: pending until the scheduler
 * places them), so any later lease answer to that node carries an index at
 * or past the move and it cannot start them again.
 */
int fsm_op_node_down(struct apply *a)
{
	uint64_t id;
	char reason[128];
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (bx_fsm_node_down(rec)) {
		a->changed = false;
		return 0;
	}
	snprintf(reason, sizeof reason, "node %" PRIu64 " (%s) is down", id,
		 fsm_str_of(rec, "name"));
	rc = set_node_status(a, id, rec, "down", "no heartbeat within node_timeout");
	return rc ?: unplace(a, id, RUNNING, reason);
}

int fsm_op_node_up(struct apply *a)
{
	uint64_t id;
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (!bx_fsm_node_down(rec)) {
		a->changed = false;
		return 0;
	}
	return set_node_status(a, id, rec, "up", "heard again");
}

/*
 * Drain: the node takes no new work and its services leave it. Those that
 * should run are migrated by the scheduler one by one (service.migrate: the
 * node stops each before it starts elsewhere); stopped ones have nothing to
 * stop and leave now. Undrained ("eligible"), it takes work again; what
 * already left stays where it went.
 */
int fsm_op_node_drain(struct apply *a)
{
	bool drain = bx_command_bool(a->cmd, "drain");
	uint64_t id;
	cJSON *rec;
	int rc = load_node(a, &id, &rec);

	if (rc != 0 || rec == NULL)
		return rc;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "draining")) != drain) {
		rc = fsm_set_item(rec, "draining", cJSON_CreateBool(drain));
		rc = rc ?: fsm_set_num(rec, "draining_at", a->ts);
		rc = rc
			 ?: fsm_node_event(a, drain ? "node_draining" : "node_eligible",
					   id, rec, "");
		rc = rc ?: bx_store_put_node(a->txn, id, rec);
	}
	if (rc == 0 && drain) {
		char reason[96];
		snprintf(reason, sizeof reason, "node %" PRIu64 " is draining", id);
		rc = unplace(a, id, STOPPED, reason);
	}
	return rc;
}

/* Changes nothing: its commit proves the proposer still led when it proposed. */
int fsm_op_cluster_confirm(struct apply *a)
{
	a->changed = false;
	return 0;
}
