/* store_snapshot.c - snapshots: the whole state as one checksummed buffer, and restore.
 */
#include "src/store/store_internal.h"

#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"

/* A snapshot copy between begin and write: the read transaction it copies. */
struct bx_store_snap {
	struct bx_store *s;
	MDB_txn *txn; /* NULL once written */
	uint64_t applied;
};

/* Wait until no snapshot copy holds a read transaction (before a resize or close). */
void store_wait_snapshots(struct bx_store *s)
{
	pthread_mutex_lock(&s->snap_lock);
	while (s->snap_readers > 0)
		pthread_cond_wait(&s->snap_done, &s->snap_lock);
	pthread_mutex_unlock(&s->snap_lock);
}

/*
 * Snapshot buffer, all integers little-endian:
 *
 *   "BXSNAP1\0"  version u32  applied_index u64  count u64
 *   count x { db u8 (1 meta, 2 services, 3 nodes, 6 events)  klen u32  key
 *             vlen u32  value }
 *   SHA-256 of everything above (32 bytes)
 *
 * meta's applied_index is carried in the header, not as an entry. Version 2
 * added the events; a version 1 snapshot (none) is still read.
 */

#define SNAP_MAGIC "BXSNAP1"
#define SNAP_VERSION 2

/* The databases a snapshot carries, in the order written. */
static const int snap_dbs[] = {DB_META, DB_SERVICES, DB_NODES, DB_EVENTS};
#define N_SNAP_DBS (sizeof snap_dbs / sizeof snap_dbs[0])

static bool snap_db(int db)
{
	for (size_t i = 0; i < N_SNAP_DBS; i++)
		if (snap_dbs[i] == db)
			return true;
	return false;
}

static bool snap_version_ok(uint32_t version)
{
	return version == 1 || version == SNAP_VERSION;
}
#define SNAP_HEADER (8 + 4 + 8 + 8)

struct buf {
	unsigned char *data;
	size_t len, cap;
	bool oom;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *d;
		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

int bx_store_snapshot_begin(struct bx_store *s, struct bx_store_snap **out)
{
	struct bx_store_snap *snap = calloc(1, sizeof *snap);
	int rc;

	*out = NULL;
	if (snap == NULL)
		return BX_ENOMEM;
	rc = store_txn_begin(s, MDB_RDONLY, &snap->txn);
	if (rc != 0) {
		free(snap);
		return store_lmdb_code(rc);
	}
	snap->s = s;
	snap->applied = s->applied; /* what this read transaction sees */
	pthread_mutex_lock(&s->snap_lock);
	s->snap_readers++;
	pthread_mutex_unlock(&s->snap_lock);
	*out = snap;
	return BX_OK;
}

/* End the copy's read transaction (on whichever thread holds it). */
static void snap_release(struct bx_store_snap *snap)
{
	struct bx_store *s = snap->s;

	if (snap->txn == NULL)
		return;
	mdb_txn_abort(snap->txn);
	snap->txn = NULL;
	pthread_mutex_lock(&s->snap_lock);
	s->snap_readers--;
	pthread_cond_broadcast(&s->snap_done);
	pthread_mutex_unlock(&s->snap_lock);
}

int bx_store_snapshot_write(struct bx_store_snap *snap, void **out, size_t *out_len)
{
	struct bx_store *s = snap->s;
	struct buf b = {0};
	unsigned char hdr[SNAP_HEADER], le[8], digest[SHA256_DIGEST_LENGTH] = {0};
	uint64_t count = 0;
	MDB_txn *txn = snap->txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = 0;

	*out = NULL;
	*out_len = 0;
	if (txn == NULL)
		return BX_EINVAL;
	/* Raft may drop log entries up to this snapshot once it is written:
	 * put the store's own copy of them on disk first. */
	rc = mdb_env_sync(s->env, 1);
	memcpy(hdr, SNAP_MAGIC, 8);
	put_le32(hdr + 8, SNAP_VERSION);
	put_le64(hdr + 12, snap->applied);
	buf_add(&b, hdr, sizeof hdr); /* count filled in at the end */
	for (size_t i = 0; i < N_SNAP_DBS && rc == 0; i++) {
		int db = snap_dbs[i];
		rc = mdb_cursor_open(txn, s->dbi[db], &cur);
		if (rc != 0)
			break;
		for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			unsigned char tag = (unsigned char)db;
			if (db == DB_META && key.mv_size == strlen(KEY_APPLIED) &&
			    memcmp(key.mv_data, KEY_APPLIED, key.mv_size) == 0)
				continue;
			buf_add(&b, &tag, 1);
			put_le32(le, (uint32_t)key.mv_size);
			buf_add(&b, le, 4);
			buf_add(&b, key.mv_data, key.mv_size);
			put_le32(le, (uint32_t)val.mv_size);
			buf_add(&b, le, 4);
			buf_add(&b, val.mv_data, val.mv_size);
			count++;
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	snap_release(snap);
	if (rc != 0 || b.oom) {
		free(b.data);
		return rc != 0 ? store_lmdb_code(rc) : BX_ENOMEM;
	}
	put_le64(b.data + 20, count);
	buf_add(&b, digest, sizeof digest); /* room for the digest, computed below */
	if (b.oom) {
		free(b.data);
		return BX_ENOMEM;
	}
	SHA256(b.data, b.len - SHA256_DIGEST_LENGTH,
	       b.data + b.len - SHA256_DIGEST_LENGTH);
	*out = b.data;
	*out_len = b.len;
	return BX_OK;
}

void bx_store_snapshot_end(struct bx_store_snap *snap)
{
	if (snap == NULL)
		return;
	snap_release(snap);
	free(snap);
}

int bx_store_snapshot(struct bx_store *s, void **out, size_t *out_len)
{
	struct bx_store_snap *snap;
	int rc = bx_store_snapshot_begin(s, &snap);

	if (rc != 0) {
		*out = NULL;
		*out_len = 0;
		return rc;
	}
	rc = bx_store_snapshot_write(snap, out, out_len);
	bx_store_snapshot_end(snap);
	return rc;
}

struct snap_entry {
	int db;
	const unsigned char *key, *val;
	size_t key_len, val_len;
};

struct snap {
	uint64_t applied;
	size_t n;
	struct snap_entry *entries;
};

/* Check a snapshot buffer completely (nothing is written). */
static int snap_parse(const unsigned char *p, size_t len, struct snap *snap, char *errmsg)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t off = SNAP_HEADER, end;
	uint64_t count;

	memset(snap, 0, sizeof *snap);
	if (len < SNAP_HEADER + SHA256_DIGEST_LENGTH)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot truncated (%zu bytes)", len);
	if (memcmp(p, SNAP_MAGIC, 8) != 0)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: bad magic");
	if (!snap_version_ok(get_le32(p + 8)))
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: unknown version %" PRIu32,
			      get_le32(p + 8));
	end = len - SHA256_DIGEST_LENGTH;
	SHA256(p, end, digest);
	if (memcmp(digest, p + end, SHA256_DIGEST_LENGTH) != 0)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: checksum mismatch");
	snap->applied = get_le64(p + 12);
	count = get_le64(p + 20);
	/* Each entry takes at least 9 bytes + a 1-byte key: bound count first. */
	if (count > (end - off) / 10)
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: bad entry count %" PRIu64,
			      count);
	snap->entries = calloc(count ? count : 1, sizeof *snap->entries);
	if (snap->entries == NULL)
		return bx_err(errmsg, BX_ENOMEM, "snapshot: out of memory");
	for (uint64_t i = 0; i < count; i++) {
		struct snap_entry *e = &snap->entries[i];
		if (end - off < 5)
			goto truncated;
		e->db = p[off];
		e->key_len = get_le32(p + off + 1);
		off += 5;
		if (!snap_db(e->db))
			goto bad;
		if (e->key_len == 0 || e->key_len > MAX_KEY || end - off < e->key_len)
			goto bad;
		e->key = p + off;
		off += e->key_len;
		if (end - off < 4)
			goto truncated;
		e->val_len = get_le32(p + off);
		off += 4;
		if (end - off < e->val_len)
			goto truncated;
		e->val = p + off;
		off += e->val_len;
		if (e->db != DB_META) {
			cJSON *j =
			    cJSON_ParseWithLength((const char *)e->val, e->val_len);
			bool ok = cJSON_IsObject(j);
			cJSON_Delete(j);
			if (!ok)
				goto bad;
		}
		snap->n++;
	}
	if (off != end) {
		free(snap->entries);
		return bx_err(errmsg, BX_ECORRUPT, "snapshot: %zu trailing bytes",
			      end - off);
	}
	return BX_OK;
truncated:
	free(snap->entries);
	return bx_err(errmsg, BX_ECORRUPT, "snapshot: entry %zu truncated", snap->n);
bad:
	free(snap->entries);
	return bx_err(errmsg, BX_ECORRUPT, "snapshot: entry %zu malformed", snap->n);
}

static int write_snap(struct bx_store *s, MDB_txn *txn, const struct snap *snap)
{
	int rc = 0;

	for (size_t i = 0; i < N_SNAP_DBS && rc == 0; i++)
		rc = mdb_drop(txn, s->dbi[snap_dbs[i]], 0);
	for (size_t i = 0; i < snap->n && rc == 0; i++) {
		struct snap_entry *e = &snap->entries[i];
		MDB_val key = {e->key_len, (void *)e->key},
			val = {e->val_len, (void *)e->val};
		rc = mdb_put(txn, s->dbi[e->db], &key, &val, 0);
	}
	return rc ?: store_index_all(s, txn);
}

/*
 * Replace the state with the snapshot's in one write transaction with its
 * applied index, doubling the map and starting over on MDB_MAP_FULL.
 */
static int restore_txn(struct bx_store *s, struct snap *snap)
{
	unsigned char le[8];
	MDB_val key = {strlen(KEY_APPLIED), KEY_APPLIED}, val = {8, le};
	MDB_txn *txn;
	int rc;

	put_le64(le, snap->applied);
	for (;;) {
		rc = store_txn_begin(s, 0, &txn);
		if (rc != 0)
			return store_lmdb_code(rc);
		rc = write_snap(s, txn, snap);
		if (rc == 0)
			rc = mdb_put(txn, s->dbi[DB_META], &key, &val, 0);
		if (rc == 0) {
			rc = mdb_txn_commit(txn); /* frees txn, also on failure */
		} else {
			mdb_txn_abort(txn);
		}
		if (rc != MDB_MAP_FULL)
			break;
		rc = store_grow(s);
		if (rc != 0)
			return rc;
	}
	if (rc != 0)
		return store_lmdb_code(rc);
	s->event_seq_known = false; /* the snapshot's events replaced ours */
	return store_load_meta(s);
}

int bx_store_restore(struct bx_store *s, const void *buf, size_t len, char *errmsg)
{
	struct snap snap;
	int rc;

	if (s->txn_open)
		return bx_err(errmsg, BX_EBUSY, "restore: a write transaction is open");
	rc = snap_parse(buf, len, &snap, errmsg);
	if (rc != 0)
		return rc == BX_ENOMEM ? rc : BX_ECORRUPT;
	rc = restore_txn(s, &snap);
	free(snap.entries);
	if (rc != 0)
		return bx_err(errmsg, rc, "restore: write: %s", bx_strerror(rc));
	return BX_OK;
}

int bx_store_snapshot_index(const void *buf, size_t len, uint64_t *index)
{
	const unsigned char *p = buf;

	if (len < SNAP_HEADER + SHA256_DIGEST_LENGTH || memcmp(p, SNAP_MAGIC, 8) != 0 ||
	    !snap_version_ok(get_le32(p + 8)))
		return BX_ECORRUPT;
	*index = get_le64(p + 12);
	return BX_OK;
}
