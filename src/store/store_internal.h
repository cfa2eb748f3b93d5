/* store_internal.h - what the store's files share: the handle, the databases, helpers. */
#ifndef BX_STORE_INTERNAL_H
#define BX_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "src/store/store.h"

/*
 * The store is split by concern: store.c (open, close, meta, reads),
 * store_index.c (the placement index), store_txn.c (write transactions) and
 * store_snapshot.c (snapshots and restore).
 *
 * Design notes.
 *
 * A write transaction is a real LMDB write transaction, and every read made
 * while one is open (the FSM's, during apply) goes through it: a command sees
 * the writes of the commands before it in the same batch. Each put/delete is
 * also recorded in memory. If LMDB runs out of map space (MDB_MAP_FULL, from a
 * put or from the commit) the transaction is aborted, the map is doubled with
 * mdb_env_set_mapsize() - legal then, because no transaction of ours is open -
 * and the recorded writes are replayed into a new one. The caller never sees
 * MAP_FULL unless the map cannot grow any further.
 *
 * A savepoint (one level: an LMDB nested transaction) lets the FSM drop the
 * writes of one rejected command and keep those of the others.
 *
 * Everything runs on one thread (the libuv loop), except a snapshot copy,
 * which may run on another; MDB_NOTLS keeps LMDB from tying read
 * transactions to threads.
 *
 * Placement index. Two derived databases let the agent and the scheduler read
 * only the services that concern them, not every record:
 *   placed    node (u64 BE) + 'r'|'s' (desired running or not) + name -> ""
 *   place_of  name -> the 9-byte prefix of its "placed" key
 * They are written in the same transaction as the record, are not part of
 * snapshots, and are rebuilt from the records after a restore and when a
 * store written before they existed is opened.
 *
 * Events (store_events.c): seq (u64 BE) -> event (JSON text), replicated and
 * part of snapshots like the records; the FSM adds them and drops the oldest
 * past a bound.
 */

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define MAX_MAP_SIZE ((size_t)1 << 40) /* 1 TiB: stop doubling there */
#define MAX_KEY 511                    /* LMDB's default mdb_env_get_maxkeysize() */

enum {
	DB_META = 1,
	DB_SERVICES = 2,
	DB_NODES = 3,
	DB_PLACED = 4,
	DB_PLACE_OF = 5,
	DB_EVENTS = 6
};
#define N_DBS 7
#define PLACE_PREFIX 9 /* node u64 BE + state byte */

#define KEY_APPLIED "applied_index"
#define KEY_CLUSTER "cluster_id"

struct bx_store {
	MDB_env *env;
	MDB_dbi dbi[N_DBS]; /* indexed by DB_*; [0] unused */
	size_t map_size;  /* current map size, doubled on MDB_MAP_FULL */
	uint64_t applied; /* cache of meta/applied_index, updated at each commit */
	char *cluster_id; /* cache of meta/cluster_id, never NULL ("" if unset) */
	bool txn_open;    /* at most one write transaction at a time */
	uint64_t event_seq; /* the newest event's seq, when event_seq_known */
	bool event_seq_known;
	MDB_txn *wtxn;    /* while one is open: the innermost; reads go through it */
	/* Snapshot copies in progress (bx_store_snapshot_begin .. _write): their
	 * read transaction may be on another thread, and the map must not be
	 * resized while any is open. The only lock in the store. */
	pthread_mutex_t snap_lock;
	pthread_cond_t snap_done;
	unsigned snap_readers;
};

struct op {
	int db;
	char *key;
	size_t key_len;
	char *val; /* NULL: delete */
	size_t val_len;
	unsigned char place[PLACE_PREFIX]; /* services: the placement to index */
};

struct bx_store_txn {
	struct bx_store *s;
	MDB_txn *txn;   /* the LMDB write transaction */
	MDB_txn *child; /* the savepoint's nested transaction, or NULL */
	struct op *ops; /* every write so far, to replay after growing the map */
	size_t n_ops, cap;
	size_t sp;      /* n_ops when the savepoint was taken */
	uint64_t event_seq, sp_event_seq; /* the newest event's seq (and at the savepoint) */
	int err;        /* first failure (ENOMEM, EFULL…): commit returns it */
};

static inline void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}
static inline uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
static inline uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static inline void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* store.c */
int store_lmdb_code(int rc);
int store_txn_begin(struct bx_store *s, unsigned flags, MDB_txn **txn);
/* A transaction to read in: the open write transaction if any (reads then
 * see its writes), else a new read-only one; store_read_end ends the latter. */
int store_read_begin(struct bx_store *s, MDB_txn **txn);
void store_read_end(struct bx_store *s, MDB_txn *txn);
int store_load_meta(struct bx_store *s); /* reload the cached meta values */
/* Double the map; waits for snapshot copies. No transaction may be open. */
int store_grow(struct bx_store *s);

/* store_index.c */
void store_placement_of(const cJSON *rec, unsigned char place[PLACE_PREFIX]);
int store_index_service(struct bx_store *s, MDB_txn *txn, const void *name, size_t len,
			const unsigned char *place);
int store_index_all(struct bx_store *s, MDB_txn *txn);

/* store_events.c: the newest event's seq in txn, 0 if none */
int store_last_event(struct bx_store *s, MDB_txn *txn, uint64_t *seq);

/* store_snapshot.c */
void store_wait_snapshots(struct bx_store *s);

#endif
