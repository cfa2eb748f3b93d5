/* test_store.c - the LMDB store: transactions, persistence, map growth, snapshots. */
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "src/base/error.h"
#include "src/store/store.h"

static struct bx_store *open_at(const char *sub, size_t map_size)
{
	char dir[512];
	char msg[BX_ERRMSG_SIZE] = "";
	struct bx_store_options opts = {.map_size = map_size};
	struct bx_store *s = NULL;
	int rc;

	snprintf(dir, sizeof dir, "%s/%s", bx_test_tmpdir(), sub);
	rc = bx_store_open(dir, map_size ? &opts : NULL, &s, msg);
	ASSERT_MSG(rc == 0, "open %s: %s", dir, msg);
	return s;
}

static cJSON *service(const char *name, int generation)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "name", name);
	cJSON_AddNumberToObject(r, "generation", generation);
	return r;
}

static cJSON *node(uint64_t id)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "id", (double)id);
	return r;
}

static void put_service(struct bx_store *s, const char *name, int generation,
			uint64_t index)
{
	struct bx_store_txn *t;
	cJSON *r = service(name, generation);

	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_put_service(t, name, r), 0);
	cJSON_Delete(r);
	ASSERT_INT(bx_store_commit(t, index), 0);
}

static int generation_of(struct bx_store *s, const char *name)
{
	cJSON *r;
	int g;

	if (bx_store_get_service(s, name, &r) != 0)
		return -1;
	g = cJSON_GetObjectItem(r, "generation")->valueint;
	cJSON_Delete(r);
	return g;
}

/* Whole-state text of a store, for equality checks. */
static char *dump(struct bx_store *s)
{
	struct bx_store_events_query q = {.limit = SIZE_MAX};
	cJSON *all = cJSON_CreateObject(), *services, *nodes, *events;
	char *text;

	ASSERT_INT(bx_store_list_services(s, &services), 0);
	ASSERT_INT(bx_store_list_nodes(s, &nodes), 0);
	ASSERT_INT(bx_store_list_events(s, &q, &events), 0);
	cJSON_AddItemToObject(all, "services", services);
	cJSON_AddItemToObject(all, "nodes", nodes);
	cJSON_AddItemToObject(all, "events", events);
	cJSON_AddStringToObject(all, "cluster_id", bx_store_cluster_id(s));
	cJSON_AddNumberToObject(all, "applied", (double)bx_store_applied_index(s));
	text = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return text;
}

TEST(openCreatesDirPrivateAndEmpty)
{
	char dir[512];
	struct stat st;
	struct bx_store *s = open_at("db", 0);
	cJSON *list, *r;

	snprintf(dir, sizeof dir, "%s/db", bx_test_tmpdir());
	ASSERT_INT(stat(dir, &st), 0);
	ASSERT_INT(st.st_mode & 0777, 0700);
	ASSERT_INT(bx_store_applied_index(s), 0);
	ASSERT_STR(bx_store_cluster_id(s), "");
	ASSERT_INT(bx_store_get_service(s, "web", &r), BX_ENOENT);
	ASSERT(r == NULL);
	ASSERT_INT(bx_store_get_node(s, 1, &r), BX_ENOENT);
	ASSERT_INT(bx_store_list_services(s, &list), 0);
	ASSERT_INT(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	bx_store_close(s);
	bx_store_close(NULL);
}

TEST(putGetListDeleteAndIndex)
{
	struct bx_store *s = open_at("db", 0);
	struct bx_store_txn *t;
	cJSON *r, *list;

	put_service(s, "web", 1, 5);
	put_service(s, "api", 2, 6);
	put_service(s, "db-1", 3, 7);
	ASSERT_INT(bx_store_applied_index(s), 7);
	ASSERT_INT(generation_of(s, "api"), 2);

	ASSERT_INT(bx_store_list_services(s, &list), 0);
	ASSERT_INT(cJSON_GetArraySize(list), 3);
	ASSERT_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "name")->valuestring,
		   "api");
	ASSERT_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "name")->valuestring,
		   "db-1");
	ASSERT_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 2), "name")->valuestring,
		   "web");
	cJSON_Delete(list);

	/* Nodes list in numeric order although keys are decimal text. */
	ASSERT_INT(bx_store_begin(s, &t), 0);
	uint64_t ids[] = {10, 9, 100, 1, 2};
	for (size_t i = 0; i < 5; i++) {
		r = node(ids[i]);
		ASSERT_INT(bx_store_put_node(t, ids[i], r), 0);
		cJSON_Delete(r);
	}
	ASSERT_INT(bx_store_set_cluster_id(t, "abc123"), 0);
	ASSERT_INT(bx_store_del_service(t, "web"), 0);
	ASSERT_INT(bx_store_del_service(t, "never-was"), 0);
	ASSERT_INT(bx_store_commit(t, 8), 0);
	ASSERT_STR(bx_store_cluster_id(s), "abc123");
	ASSERT_INT(generation_of(s, "web"), -1);
	ASSERT_INT(bx_store_list_nodes(s, &list), 0);
	ASSERT_INT(cJSON_GetArraySize(list), 5);
	uint64_t want[] = {1, 2, 9, 10, 100};
	for (int i = 0; i < 5; i++)
		ASSERT_INT(
		    cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), "id")->valuedouble,
		    want[i]);
	cJSON_Delete(list);
	ASSERT_INT(bx_store_get_node(s, 9, &r), 0);
	ASSERT_INT(cJSON_GetObjectItem(r, "id")->valueint, 9);
	cJSON_Delete(r);

	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_del_node(t, 9), 0);
	ASSERT_INT(bx_store_commit(t, 9), 0);
	ASSERT_INT(bx_store_get_node(s, 9, &r), BX_ENOENT);
	bx_store_close(s);
}

TEST(statesAreCountedWithoutParsingAndInstancesListedByPrefix)
{
	static const char *const states[] = {"pending", "running", "failed"};
	struct bx_store *s = open_at("db", 0);
	struct bx_store_txn *t;
	uint64_t counts[3], other;
	const char *recs[][2] = {
	    {"a", "running"},     {"b", "running"},     {"c", "failed"},
	    {"d", "runningish"}, /* not "running" */
	    {"web@1", "pending"}, {"web@2", "running"}, {"web-x", "running"},
	};
	cJSON *r, *list;

	ASSERT_INT(bx_store_begin(s, &t), 0);
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		r = service(recs[i][0], 1);
		/* a reason quoting a state comes before the state: it is escaped */
		cJSON_AddStringToObject(r, "reason", "was \"state\":\"failed\"");
		cJSON_AddStringToObject(r, "state", recs[i][1]);
		ASSERT_INT(bx_store_put_service(t, recs[i][0], r), 0);
		cJSON_Delete(r);
	}
	r = service("e", 1); /* no state at all */
	ASSERT_INT(bx_store_put_service(t, "e", r), 0);
	cJSON_Delete(r);
	ASSERT_INT(bx_store_commit(t, 3), 0);
	ASSERT_INT(bx_store_count_states(s, states, 3, counts, &other), 0);
	ASSERT_INT(counts[0], 1);
	ASSERT_INT(counts[1], 4);
	ASSERT_INT(counts[2], 1);
	ASSERT_INT(other, 2);
	/* web@… only, not web-x */
	ASSERT_INT(bx_store_list_instances(s, "web", &list), 0);
	ASSERT_INT(cJSON_GetArraySize(list), 2);
	ASSERT_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "name")->valuestring,
		   "web@2");
	cJSON_Delete(list);
	ASSERT_INT(bx_store_list_instances(s, "we", &list), 0);
	ASSERT_INT(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	bx_store_close(s);
}

TEST(abortChangesNothing)
{
	struct bx_store *s = open_at("db", 0);
	struct bx_store_txn *t;
	char *before, *after;
	cJSON *r = service("web", 9);

	put_service(s, "web", 1, 3);
	before = dump(s);
	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_put_service(t, "web", r), 0);
	ASSERT_INT(bx_store_put_service(t, "other", r), 0);
	ASSERT_INT(bx_store_set_cluster_id(t, "ff"), 0);
	bx_store_abort(t);
	cJSON_Delete(r);
	after = dump(s);
	ASSERT_STR(after, before);
	ASSERT_INT(bx_store_applied_index(s), 3);
	free(before);
	free(after);
	/* A new transaction can start after an abort. */
	put_service(s, "web", 2, 4);
	ASSERT_INT(generation_of(s, "web"), 2);
	bx_store_close(s);
}

TEST(oneWriteTransactionAtATime)
{
	struct bx_store *s = open_at("db", 0);
	struct bx_store_txn *t, *t2;

	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_begin(s, &t2), BX_EBUSY);
	bx_store_abort(t);
	bx_store_abort(NULL);
	bx_store_close(s);
}

TEST(stateSurvivesReopen)
{
	struct bx_store *s = open_at("db", 0);
	struct bx_store_txn *t;
	char *before, *after;

	put_service(s, "web", 4, 11);
	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_set_cluster_id(t, "deadbeef"), 0);
	ASSERT_INT(bx_store_commit(t, 12), 0);
	ASSERT_INT(bx_store_sync(s), 0);
	before = dump(s);
	bx_store_close(s);

	s = open_at("db", 0);
	after = dump(s);
	ASSERT_STR(after, before);
	ASSERT_INT(bx_store_applied_index(s), 12);
	ASSERT_STR(bx_store_cluster_id(s), "deadbeef");
	ASSERT_INT(generation_of(s, "web"), 4);
	free(before);
	free(after);
	bx_store_close(s);
}

TEST(mapGrowsWhenFull)
{
	/* 64 KiB map; write ~4 MiB in transactions of ~256 KiB. */
	struct bx_store *s = open_at("db", 64 << 10);
	size_t blob_len = 64 << 10;
	char *blob = malloc(blob_len + 1);
	char name[32];
	uint64_t index = 0;

	for (size_t i = 0; i < blob_len; i++)
		blob[i] = (char)('a' + i % 26);
	blob[blob_len] = '\0';
	for (int txn = 0; txn < 16; txn++) {
		struct bx_store_txn *t;
		ASSERT_INT(bx_store_begin(s, &t), 0);
		for (int i = 0; i < 4; i++) {
			cJSON *r = service("x", txn);
			cJSON_AddStringToObject(r, "blob", blob);
			snprintf(name, sizeof name, "svc-%02d-%d", txn, i);
			ASSERT_INT(bx_store_put_service(t, name, r), 0);
			cJSON_Delete(r);
		}
		ASSERT_INT(bx_store_commit(t, ++index), 0);
	}
	free(blob);
	ASSERT_INT(bx_store_applied_index(s), 16);
	{
		char path[512];
		struct stat st;
		snprintf(path, sizeof path, "%s/db/data.mdb", bx_test_tmpdir());
		ASSERT_INT(stat(path, &st), 0);
		ASSERT_MSG(st.st_size > 4 << 20, "data.mdb is %lld bytes",
			   (long long)st.st_size);
	}
	ASSERT_INT(generation_of(s, "svc-15-3"), 15);
	ASSERT_INT(generation_of(s, "svc-00-0"), 0);
	bx_store_close(s);

	/* The grown file is adopted on reopen even with a small map size. */
	s = open_at("db", 64 << 10);
	ASSERT_INT(generation_of(s, "svc-07-2"), 7);
	put_service(s, "after", 1, 17);
	ASSERT_INT(generation_of(s, "after"), 1);
	bx_store_close(s);
}

static void fill(struct bx_store *s)
{
	struct bx_store_txn *t;
	cJSON *r;

	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_set_cluster_id(t, "c0ffee"), 0);
	for (uint64_t id = 1; id <= 12; id++) {
		r = node(id);
		ASSERT_INT(bx_store_put_node(t, id, r), 0);
		cJSON_Delete(r);
	}
	for (int i = 0; i < 30; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		r = service(name, i);
		ASSERT_INT(bx_store_put_service(t, name, r), 0);
		cJSON_Delete(r);
		char ev[64];
		snprintf(ev, sizeof ev, "\"service\":\"%s\"", name);
		ASSERT_INT(bx_store_add_event(t, ev, 0), 0);
	}
	ASSERT_INT(bx_store_commit(t, 42), 0);
}

/* Add events about `service` with "i" from .. to (one transaction). */
static void add_events(struct bx_store *s, const char *service, int from, int to,
		       uint64_t keep)
{
	struct bx_store_txn *t;

	ASSERT_INT(bx_store_begin(s, &t), 0);
	for (int i = from; i <= to; i++) {
		char ev[64];
		snprintf(ev, sizeof ev, "\"service\":\"%s\",\"i\":%d", service, i);
		ASSERT_INT(bx_store_add_event(t, ev, keep), 0);
	}
	ASSERT_INT(bx_store_commit(t, bx_store_applied_index(s) + 1), 0);
}

/* The "seq"s of the events q lists, as "1,2,3". */
static void seqs(struct bx_store *s, struct bx_store_events_query q, char *out,
		 size_t size)
{
	cJSON *events, *ev;
	size_t len = 0;

	ASSERT_INT(bx_store_list_events(s, &q, &events), 0);
	out[0] = '\0';
	cJSON_ArrayForEach(ev, events)
	{
		len += (size_t)snprintf(out + len, size - len, "%s%d", len ? "," : "",
					cJSON_GetObjectItem(ev, "seq")->valueint);
		ASSERT(len < size);
	}
	cJSON_Delete(events);
}

TEST(eventsAreNumberedBoundedAndListedByServiceOldestFirst)
{
	struct bx_store *s = open_at("db", 0);
	char got[512];

	ASSERT_INT(bx_store_last_event(s), 0);
	seqs(s, (struct bx_store_events_query){.limit = 10}, got, sizeof got);
	ASSERT_STR(got, "");
	add_events(s, "web", 1, 4, 6);
	add_events(s, "db", 5, 6, 6);
	add_events(s, "web", 7, 9, 6); /* keeps 6: 1..3 are dropped */
	ASSERT_INT(bx_store_last_event(s), 9);
	{ /* each event is {"seq": N, its members}: here "i" was the seq expected */
		struct bx_store_events_query q = {.limit = 100};
		cJSON *events, *ev;
		ASSERT_INT(bx_store_list_events(s, &q, &events), 0);
		cJSON_ArrayForEach(ev, events)
		{
			ASSERT_INT(cJSON_GetObjectItem(ev, "seq")->valueint,
				   cJSON_GetObjectItem(ev, "i")->valueint);
		}
		cJSON_Delete(events);
	}
	seqs(s, (struct bx_store_events_query){.limit = 100}, got, sizeof got);
	ASSERT_STR(got, "4,5,6,7,8,9");
	seqs(s, (struct bx_store_events_query){.limit = 2}, got, sizeof got);
	ASSERT_STR(got, "4,5");
	seqs(s, (struct bx_store_events_query){.after = 6, .limit = 100}, got,
	     sizeof got);
	ASSERT_STR(got, "7,8,9");
	seqs(s, (struct bx_store_events_query){.after = 9, .limit = 100}, got,
	     sizeof got);
	ASSERT_STR(got, "");
	seqs(s, (struct bx_store_events_query){.tail = true, .limit = 2}, got,
	     sizeof got);
	ASSERT_STR(got, "8,9");
	seqs(s, (struct bx_store_events_query){.service = "db", .limit = 100}, got,
	     sizeof got);
	ASSERT_STR(got, "5,6");
	seqs(s,
	     (struct bx_store_events_query){.service = "web", .tail = true, .limit = 3},
	     got, sizeof got);
	ASSERT_STR(got, "7,8,9");
	seqs(s, (struct bx_store_events_query){.service = "we", .limit = 100}, got,
	     sizeof got);
	ASSERT_STR(got, ""); /* a name, not a prefix */
	{ /* a dropped savepoint gives its numbers back; an aborted txn too */
		struct bx_store_txn *t;
		ASSERT_INT(bx_store_begin(s, &t), 0);
		ASSERT_INT(bx_store_savepoint(t), 0);
		ASSERT_INT(bx_store_add_event(t, "\"x\":1", 6), 0);
		bx_store_rollback(t);
		ASSERT_INT(bx_store_add_event(t, "\"service\":\"db\",\"i\":10", 6), 0);
		ASSERT_INT(bx_store_commit(t, bx_store_applied_index(s) + 1), 0);
		ASSERT_INT(bx_store_begin(s, &t), 0);
		ASSERT_INT(bx_store_add_event(t, "\"x\":1", 6), 0);
		bx_store_abort(t);
		ASSERT_INT(bx_store_last_event(s), 10);
	}
	/* the numbering goes on after a reopen */
	bx_store_close(s);
	s = open_at("db", 0);
	add_events(s, "db", 11, 11, 6);
	seqs(s, (struct bx_store_events_query){.tail = true, .limit = 100}, got,
	     sizeof got);
	ASSERT_STR(got, "6,7,8,9,10,11");
	bx_store_close(s);
}

TEST(aVersion1SnapshotWithoutEventsIsStillRestored)
{
	struct bx_store *a = open_at("a", 0), *b = open_at("b", 0);
	char msg[BX_ERRMSG_SIZE] = "";
	unsigned char *p;
	void *buf;
	size_t len;
	char *da, *db;

	put_service(a, "web", 3, 7);
	ASSERT_INT(bx_store_snapshot(a, &buf, &len), 0);
	p = buf;
	ASSERT_INT(p[8], 2); /* the version, little-endian */
	p[8] = 1;
	SHA256(p, len - SHA256_DIGEST_LENGTH, p + len - SHA256_DIGEST_LENGTH);
	ASSERT_MSG(bx_store_restore(b, buf, len, msg) == 0, "restore: %s", msg);
	p[8] = 3; /* a version from the future is refused */
	SHA256(p, len - SHA256_DIGEST_LENGTH, p + len - SHA256_DIGEST_LENGTH);
	ASSERT_INT(bx_store_restore(b, buf, len, msg), BX_ECORRUPT);
	ASSERT_CONTAINS(msg, "unknown version 3");
	free(buf);
	da = dump(a);
	db = dump(b);
	ASSERT_STR(db, da);
	free(da);
	free(db);
	bx_store_close(a);
	bx_store_close(b);
}

TEST(snapshotRestoresIntoAnotherStoreEqual)
{
	struct bx_store *a = open_at("a", 0), *b = open_at("b", 0);
	char msg[BX_ERRMSG_SIZE] = "";
	void *buf;
	size_t len;
	char *da, *db;

	fill(a);
	put_service(b, "stale", 1, 99); /* replaced entirely, index too */
	ASSERT_INT(bx_store_snapshot(a, &buf, &len), 0);
	ASSERT_MSG(bx_store_restore(b, buf, len, msg) == 0, "restore: %s", msg);
	free(buf);
	da = dump(a);
	db = dump(b);
	ASSERT_STR(db, da);
	ASSERT_INT(bx_store_applied_index(b), 42);
	ASSERT_STR(bx_store_cluster_id(b), "c0ffee");
	ASSERT_INT(generation_of(b, "stale"), -1);
	free(da);
	free(db);

	/* An empty store snapshots and restores too. */
	bx_store_close(a);
	a = open_at("empty", 0);
	ASSERT_INT(bx_store_snapshot(a, &buf, &len), 0);
	ASSERT_INT(bx_store_restore(b, buf, len, msg), 0);
	free(buf);
	ASSERT_INT(bx_store_applied_index(b), 0);
	ASSERT_STR(bx_store_cluster_id(b), "");
	bx_store_close(a);
	bx_store_close(b);
}

TEST(corruptOrTruncatedSnapshotIsRejectedAndChangesNothing)
{
	struct bx_store *a = open_at("a", 0), *b = open_at("b", 0);
	char msg[BX_ERRMSG_SIZE];
	unsigned char *buf, *copy;
	size_t len;
	char *before, *after;

	fill(a);
	put_service(b, "mine", 7, 5);
	before = dump(b);
	ASSERT_INT(bx_store_snapshot(a, (void **)&buf, &len), 0);
	copy = malloc(len);

	/* Every truncation. */
	for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 97)) {
		msg[0] = '\0';
		ASSERT_INT(bx_store_restore(b, buf, cut, msg), BX_ECORRUPT);
		ASSERT(msg[0] != '\0');
	}
	/* A flipped bit anywhere (checksum, header, entries). */
	for (size_t at = 0; at < len; at += 13) {
		memcpy(copy, buf, len);
		copy[at] ^= 0x10;
		ASSERT_INT(bx_store_restore(b, copy, len, msg), BX_ECORRUPT);
	}
	ASSERT_INT(bx_store_restore(b, "BXSNAP1", 8, msg), BX_ECORRUPT);
	after = dump(b);
	ASSERT_STR(after, before);
	ASSERT_INT(generation_of(b, "mine"), 7);

	/* The intact buffer still restores. */
	ASSERT_INT(bx_store_restore(b, buf, len, msg), 0);
	ASSERT_INT(bx_store_applied_index(b), 42);
	free(buf);
	free(copy);
	free(before);
	free(after);
	bx_store_close(a);
	bx_store_close(b);
}

TEST(openFailsWithMessageOnBadDir)
{
	struct bx_store *s = (struct bx_store *)1;
	char msg[BX_ERRMSG_SIZE] = "";
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/file", bx_test_tmpdir());
	f = fopen(path, "w");
	ASSERT(f != NULL);
	fclose(f);
	ASSERT(bx_store_open(path, NULL, &s, msg) != 0);
	ASSERT(s == NULL);
	ASSERT_CONTAINS(msg, "file");
}

TEST(rawListIsTheSameArrayAsTheParsedOne)
{
	struct bx_store *s = open_at("raw", 0);
	cJSON *parsed, *raw_json;
	char *raw;
	size_t len;

	ASSERT_INT(bx_store_list_services_raw(s, &raw, &len), 0);
	ASSERT_STR(raw, "[]");
	free(raw);
	put_service(s, "b", 2, 1);
	put_service(s, "a", 1, 2);
	put_service(s, "c", 3, 3);
	ASSERT_INT(bx_store_list_services_raw(s, &raw, &len), 0);
	ASSERT_INT(len, strlen(raw));
	raw_json = cJSON_ParseWithLength(raw, len);
	ASSERT_INT(bx_store_list_services(s, &parsed), 0);
	ASSERT(raw_json != NULL && cJSON_Compare(raw_json, parsed, 1));
	ASSERT_STR(cJSON_GetArrayItem(raw_json, 0)->child->valuestring, "a");
	cJSON_Delete(raw_json);
	cJSON_Delete(parsed);
	free(raw);
	bx_store_close(s);
}

static void put_placed(struct bx_store *s, const char *name, uint64_t on, bool running,
		       uint64_t index)
{
	struct bx_store_txn *t;
	cJSON *r = service(name, 1);

	cJSON_AddNumberToObject(r, "node", (double)on);
	cJSON_AddStringToObject(r, "desired", running ? "running" : "stopped");
	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_put_service(t, name, r), 0);
	cJSON_Delete(r);
	ASSERT_INT(bx_store_commit(t, index), 0);
}

/* The names placed on `node`, comma-separated, as the index answers. */
static char *placed(struct bx_store *s, uint64_t on, bool running_only)
{
	static char buf[256];
	cJSON *arr, *item;
	size_t used = 0;

	buf[0] = '\0';
	ASSERT_INT(bx_store_list_placed(s, on, running_only, &arr), 0);
	cJSON_ArrayForEach(item, arr) used +=
	    (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "",
			     cJSON_GetObjectItem(item, "name")->valuestring);
	cJSON_Delete(arr);
	return buf;
}

/* "node:services/running ..." for every node in the index. */
static char *loads(struct bx_store *s)
{
	static char buf[256];
	struct bx_store_load *l;
	size_t n, used = 0;

	buf[0] = '\0';
	ASSERT_INT(bx_store_loads(s, &l, &n), 0);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%llu:%zu/%zu",
					 i ? " " : "", (unsigned long long)l[i].node,
					 l[i].services, l[i].running);
	free(l);
	return buf;
}

TEST(placementIndexFollowsEveryWrite)
{
	struct bx_store *s = open_at("placed", 0);
	struct bx_store_txn *t;

	ASSERT_STR(loads(s), "");
	put_placed(s, "web", 0, true, 1);
	put_placed(s, "db", 2, true, 2);
	put_placed(s, "cache", 2, false, 3);
	put_placed(s, "batch", 0, false, 4);
	ASSERT_STR(placed(s, 0, true), "web");
	ASSERT_STR(placed(s, 0, false), "web,batch"); /* running first, then by name */
	ASSERT_STR(placed(s, 2, false), "db,cache");
	ASSERT_STR(placed(s, 2, true), "db");
	ASSERT_STR(placed(s, 3, false), "");
	ASSERT_STR(loads(s), "0:2/1 2:2/1");

	put_placed(s, "web", 3, true, 5); /* placed */
	put_placed(s, "db", 2, false, 6); /* stopped where it is */
	ASSERT_STR(placed(s, 0, false), "batch");
	ASSERT_STR(placed(s, 3, true), "web");
	ASSERT_STR(placed(s, 2, true), "");
	ASSERT_STR(loads(s), "0:1/0 2:2/0 3:1/1");

	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_del_service(t, "cache"), 0);
	ASSERT_INT(bx_store_commit(t, 7), 0);
	ASSERT_STR(placed(s, 2, false), "db");

	/* an aborted transaction leaves the index as it was */
	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_del_service(t, "db"), 0);
	bx_store_abort(t);
	ASSERT_STR(loads(s), "0:1/0 2:1/0 3:1/1");
	bx_store_close(s);

	/* and it is on disk */
	s = open_at("placed", 0);
	ASSERT_STR(loads(s), "0:1/0 2:1/0 3:1/1");
	bx_store_close(s);
}

TEST(placementIndexIsRebuiltByRestore)
{
	struct bx_store *a = open_at("placed-a", 0), *b = open_at("placed-b", 0);
	char msg[BX_ERRMSG_SIZE] = "";
	void *snap;
	size_t len;

	put_placed(a, "one", 1, true, 1);
	put_placed(a, "two", 2, true, 2);
	put_placed(b, "old", 1, true, 1); /* replaced by the restore */
	ASSERT_INT(bx_store_snapshot(a, &snap, &len), 0);
	ASSERT_INT(bx_store_restore(b, snap, len, msg), 0);
	free(snap);
	ASSERT_STR(placed(b, 1, false), "one");
	ASSERT_STR(loads(b), "1:1/1 2:1/1");
	bx_store_close(a);
	bx_store_close(b);
}

TEST(placementIndexIsBuiltForAStoreFromBeforeIt)
{
	char dir[512];
	struct bx_store *s = open_at("placed-old", 0);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	put_placed(s, "svc", 4, true, 1);
	bx_store_close(s);
	/* remove the index databases, as a store written before them */
	snprintf(dir, sizeof dir, "%s/placed-old", bx_test_tmpdir());
	ASSERT_INT(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	ASSERT_INT(mdb_env_open(env, dir, 0, 0600), 0);
	ASSERT_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ASSERT_INT(mdb_dbi_open(txn, "placed", 0, &dbi), 0);
	ASSERT_INT(mdb_drop(txn, dbi, 1), 0);
	ASSERT_INT(mdb_dbi_open(txn, "place_of", 0, &dbi), 0);
	ASSERT_INT(mdb_drop(txn, dbi, 1), 0);
	ASSERT_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	s = open_at("placed-old", 0);
	ASSERT_STR(placed(s, 4, true), "svc");
	ASSERT_INT(bx_store_applied_index(s), 1);
	bx_store_close(s);
}

static void *write_snapshot_thread(void *arg)
{
	void **args = arg;
	size_t len;

	*(int *)args[3] = bx_store_snapshot_write(args[0], (void **)args[1], &len);
	*(size_t *)args[2] = len;
	return NULL;
}

TEST(snapshotInStepsCopiesTheStateAtBeginOnAnotherThread)
{
	struct bx_store *a = open_at("steps-a", 4096 * 16), *b = open_at("steps-b", 0);
	struct bx_store_snap *snap;
	char msg[BX_ERRMSG_SIZE] = "";
	void *buf = NULL;
	size_t len = 0;
	int rc = -1;
	void *args[4];
	pthread_t th;
	char name[32];

	put_service(a, "before", 1, 1);
	ASSERT_INT(bx_store_snapshot_begin(a, &snap), 0);
	/* writes go on while the copy is pending, enough to grow the map
	 * (which waits for the copy: it is made on the other thread) */
	args[0] = snap;
	args[1] = &buf;
	args[2] = &len;
	args[3] = &rc;
	put_service(a, "after", 1, 2);
	ASSERT_INT(pthread_create(&th, NULL, write_snapshot_thread, args), 0);
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof name, "grow-%d", i);
		put_service(a, name, i, (uint64_t)(3 + i));
	}
	ASSERT_INT(pthread_join(th, NULL), 0);
	ASSERT_INT(rc, 0);
	bx_store_snapshot_end(snap);
	ASSERT_INT(generation_of(a, "grow-399"), 399);
	{
		char path[512];
		struct stat st;
		snprintf(path, sizeof path, "%s/steps-a/data.mdb", bx_test_tmpdir());
		ASSERT_INT(stat(path, &st), 0);
		ASSERT_MSG(st.st_size > 4096 * 16, "the map did not grow: %lld bytes",
			   (long long)st.st_size);
	}

	ASSERT_INT(bx_store_restore(b, buf, len, msg), 0);
	free(buf);
	ASSERT_INT(bx_store_applied_index(b), 1);
	ASSERT_INT(generation_of(b, "before"), 1);
	ASSERT_INT(generation_of(b, "after"), -1);
	bx_store_close(a);
	bx_store_close(b);
}

TEST(readsInATransactionSeeItsWritesAndSavepointsDropOneStep)
{
	/* a small map, so that the map grows inside a savepoint too */
	struct bx_store *s = open_at("savepoints", 64 << 10);
	struct bx_store_txn *t;
	size_t blob_len = 32 << 10;
	char *blob = malloc(blob_len + 1);
	char name[32];

	memset(blob, 'x', blob_len);
	blob[blob_len] = '\0';
	put_service(s, "old", 1, 1);
	ASSERT_INT(bx_store_begin(s, &t), 0);
	{
		cJSON *r = service("kept", 7);
		ASSERT_INT(bx_store_put_service(t, "kept", r), 0);
		cJSON_Delete(r);
	}
	ASSERT_INT(generation_of(s, "kept"), 7); /* read through the transaction */

	/* a step that writes a lot (the map grows under it), then is dropped */
	ASSERT_INT(bx_store_savepoint(t), 0);
	ASSERT_INT(bx_store_savepoint(t), BX_EBUSY); /* one level */
	for (int i = 0; i < 16; i++) {
		cJSON *r = service("dropped", i);
		cJSON_AddStringToObject(r, "blob", blob);
		snprintf(name, sizeof name, "dropped-%d", i);
		ASSERT_INT(bx_store_put_service(t, name, r), 0);
		cJSON_Delete(r);
	}
	{
		struct bx_store_txn *dummy;
		ASSERT_INT(bx_store_begin(s, &dummy), BX_EBUSY);
	}
	ASSERT_INT(bx_store_del_service(t, "old"), 0);
	ASSERT_INT(generation_of(s, "dropped-15"), 15);
	ASSERT_INT(generation_of(s, "old"), -1);
	bx_store_rollback(t);
	ASSERT_INT(generation_of(s, "dropped-0"), -1);
	ASSERT_INT(generation_of(s, "old"), 1);
	ASSERT_INT(generation_of(s, "kept"), 7);

	/* a step that is kept */
	ASSERT_INT(bx_store_savepoint(t), 0);
	{
		cJSON *r = service("second", 2);
		ASSERT_INT(bx_store_put_service(t, "second", r), 0);
		cJSON_Delete(r);
	}
	ASSERT_INT(bx_store_release(t), 0);
	ASSERT_INT(bx_store_commit(t, 2), 0);
	free(blob);

	/* committed: reads outside any transaction */
	ASSERT_INT(bx_store_applied_index(s), 2);
	ASSERT_INT(generation_of(s, "kept"), 7);
	ASSERT_INT(generation_of(s, "second"), 2);
	ASSERT_INT(generation_of(s, "dropped-3"), -1);
	ASSERT_INT(generation_of(s, "old"), 1);
	ASSERT_STR(placed(s, 0, false), "kept,old,second");
	bx_store_close(s);
}

TEST(aServiceFilterMatchesTheServiceNotTheNameElsewhere)
{
	struct bx_store *s = open_at("db", 0);
	struct bx_store_txn *t;
	char got[64];

	ASSERT_INT(bx_store_begin(s, &t), 0);
	ASSERT_INT(bx_store_add_event(t, "\"service\":\"web\",\"reason\":\"db\"", 0), 0);
	ASSERT_INT(bx_store_add_event(t, "\"service\":\"db\",\"reason\":\"web\"", 0), 0);
	ASSERT_INT(bx_store_add_event(t, "\"node_name\":\"db\"", 0), 0);
	ASSERT_INT(bx_store_commit(t, 1), 0);
	seqs(s, (struct bx_store_events_query){.service = "db", .limit = 100}, got,
	     sizeof got);
	ASSERT_STR(got, "2");
	seqs(s, (struct bx_store_events_query){.service = "web", .tail = true, .limit = 1},
	     got, sizeof got);
	ASSERT_STR(got, "1");
	bx_store_close(s);
}
