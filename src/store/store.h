/* store.h - the replicated state in LMDB: services, nodes, invites, tokens, meta. */
#ifndef BX_STORE_H
#define BX_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One LMDB environment under DIR (data.mdb) with named databases:
 *   meta      "applied_index" (uint64 LE), "cluster_id" (string),
 *             "invite/ID", "token/ID" (JSON records)
 *   services  name -> service record (JSON text)
 *   nodes     id (decimal string) -> node record (JSON text)
 * and a derived placement index (services by node, see bx_store_list_placed).
 *
 * Records are JSON so that the API returns them unchanged. Only the FSM
 * writes (raft/fsm.c), one write transaction per applied entry, the entry's
 * index written in the same transaction (invariant 2). Readers (API, agent,
 * scheduler) run on the same thread and see committed state.
 *
 * Durability: the environment is opened MDB_NOSYNC | MDB_NOMETASYNC: Raft's
 * log is the durable record, and an entry lost here by a crash is applied
 * again from the log (its index is above the stored one). bx_store_sync()
 * forces the data to disk before a snapshot is taken. The map grows by
 * doubling when a transaction hits MDB_MAP_FULL.
 */

struct bx_store;

struct bx_store_options {
	size_t map_size; /* initial map size, default 64 MiB */
};

/* Open (creating DIR 0700 if needed). `opts` may be NULL. */
int bx_store_open(const char *dir, const struct bx_store_options *opts,
		  struct bx_store **out, char *errmsg);
void bx_store_close(struct bx_store *s); /* NULL allowed */

/* Reads. Records returned are the caller's to cJSON_Delete. BX_ENOENT if absent. */
uint64_t bx_store_applied_index(struct bx_store *s);
/* "" if none; valid until the next write */
const char *bx_store_cluster_id(struct bx_store *s);
int bx_store_get_service(struct bx_store *s, const char *name, cJSON **out);
int bx_store_get_node(struct bx_store *s, uint64_t id, cJSON **out);
int bx_store_list_services(struct bx_store *s, cJSON **out); /* array, by name */
/* The records of instances 1.. of service `name` (keys NAME@I, src/model/spec.h), in
 * key order (NAME@1, NAME@10, NAME@2: sort by "instance" where it matters). */
int bx_store_list_instances(struct bx_store *s, const char *name, cJSON **out);
/* How many service records are in each of `states` (n of them) into counts,
 * and in none of them into *other, without parsing the records. */
int bx_store_count_states(struct bx_store *s, const char *const *states, size_t n,
			  uint64_t *counts, uint64_t *other);
int bx_store_list_nodes(struct bx_store *s, cJSON **out); /* array, by id */
int bx_store_get_invite(struct bx_store *s, const char *id, cJSON **out);
int bx_store_list_invites(struct bx_store *s, cJSON **out); /* array, by id */
int bx_store_get_token(struct bx_store *s, const char *id, cJSON **out);
int bx_store_list_tokens(struct bx_store *s, cJSON **out); /* array, by id */

/* The services as one JSON array text, records as stored (no parsing): for
 * GET /v1/services with many services. *out (len bytes) is the caller's to free. */
int bx_store_list_services_raw(struct bx_store *s, char **out, size_t *len);

/*
 * The placement index: services by the node they are placed on, without
 * reading the others. bx_store_list_placed: the records placed on `node`
 * (0: on none), by name; with running_only, just those whose desired state is
 * "running". bx_store_loads: for each node that has services placed on it
 * (node 0 for the unplaced), ascending, how many and how many should run;
 * *out is the caller's to free.
 */
struct bx_store_load {
	uint64_t node;
	size_t services;
	size_t running;
};
int bx_store_list_placed(struct bx_store *s, uint64_t node, bool running_only,
			 cJSON **out);
int bx_store_loads(struct bx_store *s, struct bx_store_load **out, size_t *n);

/*
 * One write transaction: begin, any number of puts/deletes, then commit with
 * the applied index (written in the same transaction), or abort. While it is
 * open, every read of the store goes through it and sees its writes.
 *
 * A savepoint (one level) marks the writes of one step: rollback drops them
 * and keeps the earlier ones, release keeps them. Commit releases an open
 * savepoint. A failed write (out of memory, no map left to grow) makes
 * commit fail with its code; the caller then aborts.
 */
struct bx_store_txn;
int bx_store_begin(struct bx_store *s, struct bx_store_txn **out);
int bx_store_put_service(struct bx_store_txn *t, const char *name, const cJSON *record);
int bx_store_del_service(struct bx_store_txn *t, const char *name);
int bx_store_put_node(struct bx_store_txn *t, uint64_t id, const cJSON *record);
int bx_store_del_node(struct bx_store_txn *t, uint64_t id);
int bx_store_set_cluster_id(struct bx_store_txn *t, const char *cluster_id);
/* Invites (raft: invite.*), kept in meta under "invite/ID": snapshots carry them. */
int bx_store_put_invite(struct bx_store_txn *t, const char *id, const cJSON *record);
/* API tokens (raft: token.*, src/model/token.h), under "token/ID" the same way. */
int bx_store_put_token(struct bx_store_txn *t, const char *id, const cJSON *record);
int bx_store_del_token(struct bx_store_txn *t, const char *id);
int bx_store_savepoint(struct bx_store_txn *t);
void bx_store_rollback(struct bx_store_txn *t);
int bx_store_release(struct bx_store_txn *t);
int bx_store_commit(struct bx_store_txn *t, uint64_t applied_index);
void bx_store_abort(struct bx_store_txn *t);

/*
 * Events: a replicated, bounded log of what happened to services and nodes.
 * Only the FSM adds them, in its write transaction: bx_store_add_event stores
 * {"seq": N, MEMBERS} with the next sequence number N (from 1), `members`
 * being the event's other JSON object members as text ("\"type\":\"x\",…",
 * not empty), and drops the oldest once more than `keep` are stored. The
 * last seq is kept in memory, so adding reads nothing. Events are part of
 * snapshots.
 *
 * bx_store_list_events: the events matching q (service: only those whose
 * "service" is it; NULL: all) as an array, oldest first: with q->tail the
 * newest q->limit of them, else the first q->limit with seq > q->after.
 * bx_store_last_event: the newest seq, 0 if none.
 */
int bx_store_add_event(struct bx_store_txn *t, const char *members, uint64_t keep);
struct bx_store_events_query {
	uint64_t after;
	size_t limit;
	const char *service;
	bool tail;
};
int bx_store_list_events(struct bx_store *s, const struct bx_store_events_query *q,
			 cJSON **out);
uint64_t bx_store_last_event(struct bx_store *s);

/* Flush to disk (used before snapshots). */
int bx_store_sync(struct bx_store *s);

/*
 * Snapshots: the whole state as one self-describing buffer (magic, version,
 * applied index, entries; checksummed). bx_store_restore replaces the state
 * atomically (one transaction); on any error nothing changes and it returns
 * BX_ECORRUPT.
 */
int bx_store_snapshot(struct bx_store *s, void **buf, size_t *len);

/*
 * The same in steps, so that the copy can run off the loop thread:
 * bx_store_snapshot_begin (loop thread) fixes the state to copy (a read
 * transaction); bx_store_snapshot_write (any one thread, once) syncs the store
 * to disk, builds the buffer as above and ends the read transaction;
 * bx_store_snapshot_end (loop thread) frees the handle. Writes go on
 * meanwhile; growing the map waits for the copy to finish.
 */
struct bx_store_snap;
int bx_store_snapshot_begin(struct bx_store *s, struct bx_store_snap **out);
int bx_store_snapshot_write(struct bx_store_snap *snap, void **buf, size_t *len);
void bx_store_snapshot_end(struct bx_store_snap *snap); /* NULL allowed */
int bx_store_restore(struct bx_store *s, const void *buf, size_t len, char *errmsg);

/* The applied index a snapshot buffer carries (header only; not verified). */
int bx_store_snapshot_index(const void *buf, size_t len, uint64_t *index);

#endif
