/* test_fsm.c - the state machine: each command's semantics, rejections, replay. */
#include "tests/unit/harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "raft/command.h"
#include "raft/fsm.h"
#include "src/base/error.h"

/* A spec is bad if it has "bad": true (stands in for bx_fsm_validate_spec). */
static int validate(const cJSON *spec, char *msg, size_t size)
{
	if (cJSON_IsTrue(cJSON_GetObjectItem(spec, "bad"))) {
		snprintf(msg, size, "spec: field 'bad' is not allowed");
		return BX_EINVAL;
	}
	return BX_OK;
}

static struct {
	int calls;
	char op[32];
	char name[72];
} seen;

static void on_apply(struct bx_fsm *fsm, const struct bx_fsm_result *res, enum bx_op op,
		     const char *name)
{
	(void)fsm;
	ASSERT_INT(res->code, BX_OK);
	seen.calls++;
	snprintf(seen.op, sizeof seen.op, "%s", bx_op_name(op));
	snprintf(seen.name, sizeof seen.name, "%s", name);
}

struct fx {
	struct bx_store *store;
	struct bx_fsm fsm;
};

static void fx_open(struct fx *f, const char *sub)
{
	char dir[512], msg[BX_ERRMSG_SIZE] = "";

	memset(&seen, 0, sizeof seen);
	snprintf(dir, sizeof dir, "%s/%s", bx_test_tmpdir(), sub);
	ASSERT_MSG(bx_store_open(dir, NULL, &f->store, msg) == 0, "%s", msg);
	ASSERT_INT(bx_fsm_init(&f->fsm, f->store, validate, on_apply, NULL), 0);
}

static void fx_close(struct fx *f)
{
	bx_fsm_close(&f->fsm);
	bx_store_close(f->store);
}

/* Apply a command at the next index (JSON with ' for "). */
static const struct bx_fsm_result *apply(struct fx *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const struct bx_fsm_result *apply(struct fx *f, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	uint64_t index = bx_store_applied_index(f->store) + 1;
	const struct bx_fsm_result *res;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	res = &bx_fsm_apply_json(&f->fsm, index, buf, strlen(buf))->items[0];
	ASSERT_INT(bx_store_applied_index(f->store), index);
	return res;
}

#define SPEC(name, extra) "{'service':{'name':'" name "'}" extra "}"

static double num(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(rec, key);
	ASSERT_MSG(cJSON_IsNumber(v), "record lacks number '%s'", key);
	return v->valuedouble;
}

static const char *str(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(rec, key);
	ASSERT_MSG(cJSON_IsString(v), "record lacks string '%s'", key);
	return v->valuestring;
}

static cJSON *get_service(struct fx *f, const char *name)
{
	cJSON *r;
	ASSERT_INT(bx_store_get_service(f->store, name, &r), 0);
	return r;
}

/* Everything but the applied index, for "nothing changed" checks. */
static char *state(struct fx *f)
{
	struct bx_store_events_query all_events = {.limit = SIZE_MAX};
	cJSON *all = cJSON_CreateObject(), *services, *nodes, *events, *invites, *tokens;
	char *text;

	ASSERT_INT(bx_store_list_invites(f->store, &invites), 0);
	cJSON_AddItemToObject(all, "invites", invites);
	ASSERT_INT(bx_store_list_tokens(f->store, &tokens), 0);
	cJSON_AddItemToObject(all, "tokens", tokens);
	ASSERT_INT(bx_store_list_services(f->store, &services), 0);
	ASSERT_INT(bx_store_list_nodes(f->store, &nodes), 0);
	ASSERT_INT(bx_store_list_events(f->store, &all_events, &events), 0);
	cJSON_AddItemToObject(all, "services", services);
	cJSON_AddItemToObject(all, "nodes", nodes);
	cJSON_AddItemToObject(all, "events", events);
	cJSON_AddStringToObject(all, "cluster_id", bx_store_cluster_id(f->store));
	text = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return text;
}

/* Apply a command that must be rejected with `code` and change nothing. */
static const struct bx_fsm_result *reject(struct fx *f, int code, const char *cmd)
{
	char *before = state(f), *after;
	int calls = seen.calls;
	const struct bx_fsm_result *res = apply(f, "%s", cmd);

	ASSERT_MSG(res->code == code, "%s: code %s, want %s (%s)", cmd,
		   bx_errname(res->code), bx_errname(code), res->msg);
	ASSERT(res->msg[0] != '\0');
	ASSERT(res->record == NULL);
	ASSERT_INT(seen.calls, calls);
	after = state(f);
	ASSERT_STR(after, before);
	free(before);
	free(after);
	return res;
}

static void ok(const struct bx_fsm_result *res)
{
	ASSERT_MSG(res->code == BX_OK, "code %s: %s", bx_errname(res->code), res->msg);
}

TEST(clusterInitSetsOnceSameIdIsNoopOtherConflicts)
{
	struct fx f;
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'cluster.init','ts':1,'cluster_id':'abc123'}"));
	ASSERT_STR(bx_store_cluster_id(f.store), "abc123");
	ASSERT_INT(seen.calls, 1);
	ASSERT_STR(seen.op, "cluster.init");
	ok(apply(&f, "{'op':'cluster.init','ts':2,'cluster_id':'abc123'}"));
	ASSERT_INT(seen.calls, 1); /* no change, no notification */
	res = reject(&f, BX_ECONFLICT, "{'op':'cluster.init','ts':3,'cluster_id':'ff'}");
	ASSERT_CONTAINS(res->msg, "abc123");
	reject(&f, BX_EINVAL, "{'op':'cluster.init','ts':3,'cluster_id':'xyz'}");
	reject(&f, BX_EINVAL, "{'op':'cluster.init','ts':3,'cluster_id':''}");
	fx_close(&f);
}

TEST(nodeUpsertKeepsJoinedAtAndUsesTs)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	res = apply(
	    &f,
	    "{'op':'node.upsert','ts':1000,'id':3,'name':'a','api':'h:1','raft':'h:2'}");
	ok(res);
	ASSERT_INT(num(res->record, "id"), 3);
	ASSERT_INT(num(res->record, "joined_at"), 1000);
	ASSERT_STR(seen.name, "3");
	res = apply(
	    &f,
	    "{'op':'node.upsert','ts':2000,'id':3,'name':'','api':'h:9','raft':'h:2'}");
	ok(res);
	ASSERT_INT(bx_store_get_node(f.store, 3, &r), 0);
	ASSERT_INT(num(r, "joined_at"), 1000);
	ASSERT_INT(num(r, "updated_at"), 2000);
	ASSERT_STR(str(r, "api"), "h:9");
	ASSERT_STR(str(r, "name"), "");
	cJSON_Delete(r);
	res = reject(&f, BX_EINVAL,
		     "{'op':'node.upsert','ts':1,'id':0,'name':'','api':'','raft':''}");
	ASSERT_STR(res->msg, "node.upsert: field 'id' must be an integer >= 1");
	reject(&f, BX_EINVAL,
	       "{'op':'node.upsert','ts':1,'id':4,'name':'','api':'','raft':7}");
	fx_close(&f);
}

TEST(servicePutCreatesRecordFromTs)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	res = apply(
	    &f, "{'op':'service.put','ts':1234,'name':'web','start':true,'spec':" SPEC(
		    "web", ",'x':1") "}");
	ok(res);
	ASSERT_STR(str(res->record, "name"), "web");
	ASSERT_INT(num(res->record, "generation"), 1);
	ASSERT_STR(str(res->record, "desired"), "running");
	ASSERT_STR(str(res->record, "state"), "pending");
	ASSERT_INT(num(res->record, "node"), 0);
	ASSERT_INT(num(res->record, "pid"), 0);
	ASSERT_INT(num(res->record, "restarts"), 0);
	ASSERT_STR(str(res->record, "reason"), "");
	ASSERT_INT(num(res->record, "created_at"), 1234);
	ASSERT_INT(num(res->record, "updated_at"), 1234);
	ASSERT_STR(seen.op, "service.put");
	ASSERT_STR(seen.name, "web");
	r = get_service(&f, "web");
	ASSERT(cJSON_Compare(r, res->record, 1));
	ASSERT_INT(num(cJSON_GetObjectItem(r, "spec"), "x"), 1);
	cJSON_Delete(r);

	res =
	    apply(&f, "{'op':'service.put','ts':5,'name':'db','start':false,'spec':" SPEC(
			  "db", "") "}");
	ok(res);
	ASSERT_STR(str(res->record, "desired"), "stopped");
	fx_close(&f);
}

TEST(servicePutSameSpecKeepsGenerationNewSpecBumpsIt)
{
	struct fx f;
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'service.put','ts':1,'name':'web','start':true,'spec':" SPEC(
			 "web", ",'a':1,'b':2") "}"));
	ok(apply(&f, "{'op':'node.upsert','ts':1,'id':1,'name':'','api':'','raft':''}"));
	ok(apply(&f, "{'op':'service.assign','ts':2,'name':'web','node':1,'expect_"
		     "generation':1}"));
	ok(apply(&f, "{'op':'service.report','ts':3,'name':'web','node':1,'generation':2,"
		     "'state':'running','pid':42,'restarts':0,'reason':''}"));
	/* Same spec, keys in another order: no new instance; only desired changes. */
	res = apply(&f,
		    "{'op':'service.put','ts':4,'name':'web','start':false,'spec':" SPEC(
			"web", ",'b':2,'a':1") "}");
	ok(res);
	ASSERT_INT(num(res->record, "generation"), 2);
	ASSERT_STR(str(res->record, "state"), "running");
	ASSERT_STR(str(res->record, "desired"), "stopped");
	ASSERT_INT(num(res->record, "updated_at"), 4);
	ASSERT_INT(num(res->record, "created_at"), 1);
	/* A new spec: generation + 1, pending, same node. */
	res =
	    apply(&f, "{'op':'service.put','ts':5,'name':'web','start':true,'spec':" SPEC(
			  "web", ",'a':2") "}");
	ok(res);
	ASSERT_INT(num(res->record, "generation"), 3);
	ASSERT_STR(str(res->record, "state"), "pending");
	ASSERT_STR(str(res->record, "desired"), "running");
	ASSERT_INT(num(res->record, "node"), 1);
	ASSERT_INT(num(res->record, "pid"), 0);
	ASSERT_INT(num(cJSON_GetObjectItem(res->record, "spec"), "a"), 2);
	fx_close(&f);
}

TEST(servicePutRejectsBadSpecAndBadNames)
{
	struct fx f;
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'service.put','ts':1,'name':'web','start':true,'spec':" SPEC(
			 "web", "") "}"));
	res = reject(&f, BX_EINVAL,
		     "{'op':'service.put','ts':2,'name':'web','start':true,'spec':" SPEC(
			 "web", ",'bad':true") "}");
	ASSERT_STR(res->msg, "spec: field 'bad' is not allowed");
	res = reject(&f, BX_EINVAL,
		     "{'op':'service.put','ts':2,'name':'web','start':true,'spec':" SPEC(
			 "api", "") "}");
	ASSERT_CONTAINS(res->msg, "service.name");
	reject(&f, BX_EINVAL,
	       "{'op':'service.put','ts':2,'name':'Web','start':true,'spec':" SPEC(
		   "Web", "") "}");
	reject(&f, BX_EINVAL,
	       "{'op':'service.put','ts':2,'name':'-w','start':true,'spec':" SPEC(
		   "-w", "") "}");
	reject(&f, BX_EINVAL,
	       "{'op':'service.put','ts':2,'name':'',"
	       "'start':true,'spec':" SPEC("", "") "}");
	reject(&f, BX_EINVAL,
	       "{'op':'service.put','ts':2,'name':"
	       "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',"
	       "'start':true,'spec':" SPEC(
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaa",
		   "") "}");
	res = reject(&f, BX_EINVAL,
		     "{'op':'service.put','ts':2,'name':'x','start':1,'spec':{}}");
	ASSERT_STR(res->msg, "service.put: field 'start' must be a boolean");
	res =
	    reject(&f, BX_EINVAL, "{'op':'service.put','ts':2,'name':'x','start':true}");
	ASSERT_CONTAINS(res->msg, "missing field 'spec'");
	fx_close(&f);
}

TEST(malformedAndUnknownCommandsAreRejectedButCounted)
{
	struct fx f;
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	res = reject(&f, BX_EINVAL, "this is not json");
	ASSERT_CONTAINS(res->msg, "not a JSON object");
	reject(&f, BX_EINVAL, "[1,2]");
	res = reject(&f, BX_EINVAL, "{'op':'service.explode','ts':1}");
	ASSERT_CONTAINS(res->msg, "unknown op 'service.explode'");
	reject(&f, BX_EINVAL, "{'ts':1}");
	res = reject(&f, BX_EINVAL, "{'op':'service.stop','name':'x'}");
	ASSERT_CONTAINS(res->msg, "'ts'");
	reject(&f, BX_EINVAL, "{'op':'service.stop','ts':-1,'name':'x'}");
	reject(&f, BX_EINVAL, "{'op':'service.stop','ts':1.5,'name':'x'}");
	res = reject(
	    &f, BX_EINVAL,
	    "{'op':'service.assign','ts':1,'name':'x','node':-1,'expect_generation':1}");
	ASSERT_STR(res->msg, "service.assign: field 'node' must be an integer >= 0");
	reject(&f, BX_EINVAL,
	       "{'op':'service.assign','ts':1,'name':'x','node':1.25,'expect_generation':"
	       "1}");
	reject(&f, BX_EINVAL,
	       "{'op':'service.assign','ts':1,'name':'x','node':1e300,'expect_generation'"
	       ":1}");
	/* 2^53 is the largest integer accepted. */
	res = apply(&f, "{'op':'node.upsert','ts':1,'id':9007199254740992,'name':'',"
			"'api':'','raft':''}");
	ok(res);
	reject(&f, BX_EINVAL,
	       "{'op':'node.upsert','ts':1,'id':9007199254740994,'name':'','api':'','"
	       "raft':''}");
	/* Raw bytes that are not even text. */
	{
		const char junk[] = {'\0', '\xff', '{', '\x01'};
		uint64_t index = bx_store_applied_index(f.store) + 1;
		res = &bx_fsm_apply_json(&f.fsm, index, junk, sizeof junk)->items[0];
		ASSERT_INT(res->code, BX_EINVAL);
		ASSERT_INT(bx_store_applied_index(f.store), index);
	}
	fx_close(&f);
}

TEST(startStopAndFreshInstanceOnStartAfterFailure)
{
	struct fx f;
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	reject(&f, BX_ENOENT, "{'op':'service.start','ts':1,'name':'web'}");
	reject(&f, BX_ENOENT, "{'op':'service.stop','ts':1,'name':'web'}");
	ok(apply(&f, "{'op':'node.upsert','ts':1,'id':1,'name':'','api':'','raft':''}"));
	ok(apply(&f, "{'op':'service.put','ts':1,'name':'web','start':false,'spec':" SPEC(
			 "web", "") "}"));
	res = apply(&f, "{'op':'service.start','ts':7,'name':'web'}");
	ok(res);
	ASSERT_STR(str(res->record, "desired"), "running");
	ASSERT_INT(num(res->record, "generation"), 1); /* pending: no new instance */
	ASSERT_INT(num(res->record, "updated_at"), 7);
	ASSERT_STR(seen.op, "service.start");
	ok(apply(&f, "{'op':'service.assign','ts':8,'name':'web','node':1,'expect_"
		     "generation':1}"));
	ok(apply(&f, "{'op':'service.report','ts':9,'name':'web','node':1,'generation':2,"
		     "'state':'running','pid':5,'restarts':0,'reason':''}"));
	res = apply(&f, "{'op':'service.start','ts':10,'name':'web'}");
	ok(res);
	ASSERT_INT(num(res->record, "generation"), 2); /* running: unchanged */
	ASSERT_STR(str(res->record, "state"), "running");
	res = apply(&f, "{'op':'service.stop','ts':11,'name':'web'}");
	ok(res);
	ASSERT_STR(str(res->record, "desired"), "stopped");
	ASSERT_INT(num(res->record, "generation"), 2);
	ok(apply(&f,
		 "{'op':'service.report','ts':12,'name':'web','node':1,'generation':2,"
		 "'state':'failed','pid':0,'restarts':3,'reason':'exit 1'}"));
	res = apply(&f, "{'op':'service.start','ts':13,'name':'web'}");
	ok(res);
	ASSERT_INT(num(res->record, "generation"), 3);
	ASSERT_STR(str(res->record, "state"), "pending");
	ASSERT_INT(num(res->record, "restarts"), 0);
	ASSERT_STR(str(res->record, "desired"), "running");
	ASSERT_INT(num(res->record, "node"), 1);
	fx_close(&f);
}

TEST(deleteReturnsTheDeletedRecord)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	reject(&f, BX_ENOENT, "{'op':'service.delete','ts':1,'name':'web'}");
	ok(apply(&f, "{'op':'service.put','ts':1,'name':'web','start':true,'spec':" SPEC(
			 "web", "") "}"));
	res = apply(&f, "{'op':'service.delete','ts':2,'name':'web'}");
	ok(res);
	ASSERT_STR(str(res->record, "name"), "web");
	ASSERT_STR(seen.op, "service.delete");
	ASSERT_INT(bx_store_get_service(f.store, "web", &r), BX_ENOENT);
	reject(&f, BX_ENOENT, "{'op':'service.delete','ts':3,'name':'web'}");
	fx_close(&f);
}

TEST(assignChecksGenerationAndNodeAndBumpsGeneration)
{
	struct fx f;
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	reject(
	    &f, BX_ENOENT,
	    "{'op':'service.assign','ts':1,'name':'web','node':1,'expect_generation':1}");
	ok(apply(&f, "{'op':'service.put','ts':1,'name':'web','start':true,'spec':" SPEC(
			 "web", "") "}"));
	res = reject(
	    &f, BX_ENOENT,
	    "{'op':'service.assign','ts':2,'name':'web','node':1,'expect_generation':1}");
	ASSERT_CONTAINS(res->msg, "no node 1");
	ok(apply(&f, "{'op':'node.upsert','ts':2,'id':1,'name':'','api':'','raft':''}"));
	reject(
	    &f, BX_ECONFLICT,
	    "{'op':'service.assign','ts':3,'name':'web','node':1,'expect_generation':0}");
	res = apply(&f, "{'op':'service.assign','ts':4,'name':'web','node':1,"
			"'expect_generation':1}");
	ok(res);
	ASSERT_INT(num(res->record, "node"), 1);
	ASSERT_INT(num(res->record, "generation"), 2);
	ASSERT_STR(str(res->record, "state"), "pending");
	ASSERT_STR(seen.op, "service.assign");
	ASSERT_STR(seen.name, "web");
	/* The same decision again is stale now. */
	reject(
	    &f, BX_ECONFLICT,
	    "{'op':'service.assign','ts':5,'name':'web','node':1,'expect_generation':1}");
	/* Unassign (node 0) needs no node record. */
	res = apply(&f, "{'op':'service.assign','ts':6,'name':'web','node':0,"
			"'expect_generation':2}");
	ok(res);
	ASSERT_INT(num(res->record, "node"), 0);
	ASSERT_INT(num(res->record, "generation"), 3);
	fx_close(&f);
}

/* The keys of every service record, in store order, joined by ' '. */
static void keys(struct fx *f, char *out, size_t size)
{
	cJSON *all, *r;
	size_t len = 0;

	ASSERT_INT(bx_store_list_services(f->store, &all), 0);
	out[0] = '\0';
	cJSON_ArrayForEach(r, all)
	{
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "",
					str(r, "name"));
		ASSERT(len < size);
	}
	cJSON_Delete(all);
}

/* service.put of "web" with this count and a spec marked x (a new x: a new spec) */
static void put_web(struct fx *f, int ts, int count, int x)
{
	ok(apply(f,
		 "{'op':'service.put','ts':%d,'name':'web','start':true,'spec':"
		 "{'service':{'name':'web','count':%d},'x':%d}}",
		 ts, count, x));
}

TEST(countMakesOneRecordPerInstanceAndGroupOpsReachThemAll)
{
	struct fx f;
	const struct bx_fsm_result *res;
	char k[256];
	cJSON *r;

	fx_open(&f, "db");
	put_web(&f, 1, 3, 1);
	keys(&f, k, sizeof k);
	ASSERT_STR(k, "web web@1 web@2");
	r = get_service(&f, "web@2");
	ASSERT_STR(str(r, "service"), "web");
	ASSERT_INT(num(r, "instance"), 2);
	ASSERT_STR(str(r, "desired"), "running");
	ASSERT_STR(str(r, "state"), "pending");
	ASSERT_INT(num(r, "node"), 0);
	cJSON_Delete(r);
	r = get_service(&f, "web");
	/* the first instance is a plain record */
	ASSERT(cJSON_GetObjectItem(r, "instance") == NULL);
	cJSON_Delete(r);
	/* instance records take the per-instance commands under their key */
	ok(apply(&f, "{'op':'node.upsert','ts':2,'id':1,'name':'','api':'','raft':''}"));
	res = apply(&f, "{'op':'service.assign','ts':3,'name':'web@1','node':1,"
			"'expect_generation':1}");
	ok(res);
	ASSERT_STR(seen.name, "web@1");
	ok(apply(&f,
		 "{'op':'service.report','ts':4,'name':'web@1','node':1,'generation':2,"
		 "'state':'failed','pid':0,'restarts':3,'reason':'x'}"));
	reject(&f, BX_ENOENT,
	       "{'op':'service.report','ts':4,'name':'web@7','node':1,'generation':1,"
	       "'state':'running','pid':0,'restarts':0,'reason':''}");
	/* stop and start reach every instance; start renews the failed one */
	ok(apply(&f, "{'op':'service.stop','ts':5,'name':'web'}"));
	r = get_service(&f, "web@2");
	ASSERT_STR(str(r, "desired"), "stopped");
	cJSON_Delete(r);
	ok(apply(&f, "{'op':'service.start','ts':6,'name':'web'}"));
	r = get_service(&f, "web@1");
	ASSERT_STR(str(r, "desired"), "running");
	ASSERT_STR(str(r, "state"), "pending");
	ASSERT_INT(num(r, "generation"), 3);
	ASSERT_INT(num(r, "node"), 1); /* a start brings it back where it was */
	cJSON_Delete(r);
	/* a smaller count deletes the instances past it, in the same entry */
	put_web(&f, 7, 2, 1);
	keys(&f, k, sizeof k);
	ASSERT_STR(k, "web web@1");
	/* scaling is no new spec: the instances that stay keep their generation */
	r = get_service(&f, "web@1");
	ASSERT_INT(num(r, "generation"), 3);
	ASSERT_INT(
	    num(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "spec"), "service"), "count"),
	    2);
	cJSON_Delete(r);
	/* a new spec is a new instance of each */
	put_web(&f, 7, 2, 2);
	r = get_service(&f, "web@1");
	ASSERT_INT(num(r, "generation"), 4);
	cJSON_Delete(r);
	/* an instance key is no name to put, start, stop or delete */
	reject(&f, BX_EINVAL, "{'op':'service.stop','ts':8,'name':'web@1'}");
	reject(&f, BX_EINVAL,
	       "{'op':'service.put','ts':8,'name':'web@1','start':true,'spec':" SPEC(
		   "web@1", "") "}");
	/* count 12: keys sort web@1, web@10, web@11, web@2 … */
	put_web(&f, 9, 12, 0);
	keys(&f, k, sizeof k);
	ASSERT_STR(k, "web web@1 web@10 web@11 web@2 web@3 web@4 web@5 web@6 web@7 "
		      "web@8 web@9");
	put_web(&f, 10, 1, 0);
	keys(&f, k, sizeof k);
	ASSERT_STR(k, "web");
	put_web(&f, 11, 2, 0);
	/* a service named like the prefix is not an instance: web-x stays */
	ok(apply(&f,
		 "{'op':'service.put','ts':12,'name':'web-x','start':true,'spec':" SPEC(
		     "web-x", "") "}"));
	ok(apply(&f, "{'op':'service.delete','ts':13,'name':'web'}"));
	keys(&f, k, sizeof k);
	ASSERT_STR(k, "web-x");
	fx_close(&f);
}

TEST(staleReportsAreIgnoredWithConflict)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'node.upsert','ts':1,'id':1,'name':'','api':'','raft':''}"));
	ok(apply(&f, "{'op':'node.upsert','ts':1,'id':2,'name':'','api':'','raft':''}"));
	ok(apply(&f, "{'op':'service.put','ts':1,'name':'web','start':true,'spec':" SPEC(
			 "web", "") "}"));
	ok(apply(&f, "{'op':'service.assign','ts':2,'name':'web','node':1,'expect_"
		     "generation':1}"));
	/* Wrong generation, wrong node. */
	reject(&f, BX_ECONFLICT,
	       "{'op':'service.report','ts':3,'name':'web','node':1,'generation':1,"
	       "'state':'running','pid':5,'restarts':0,'reason':''}");
	reject(&f, BX_ECONFLICT,
	       "{'op':'service.report','ts':3,'name':'web','node':2,'generation':2,"
	       "'state':'running','pid':5,'restarts':0,'reason':''}");
	reject(&f, BX_EINVAL,
	       "{'op':'service.report','ts':3,'name':'web','node':1,'generation':2,"
	       "'state':'dancing','pid':5,'restarts':0,'reason':''}");
	reject(&f, BX_ENOENT,
	       "{'op':'service.report','ts':3,'name':'nope','node':1,'generation':2,"
	       "'state':'running','pid':5,'restarts':0,'reason':''}");
	res = apply(&f,
		    "{'op':'service.report','ts':30,'name':'web','node':1,'generation':2,"
		    "'state':'unhealthy','pid':77,'restarts':2,'reason':'health check'}");
	ok(res);
	r = get_service(&f, "web");
	ASSERT_STR(str(r, "state"), "unhealthy");
	ASSERT_INT(num(r, "pid"), 77);
	ASSERT_INT(num(r, "restarts"), 2);
	ASSERT_STR(str(r, "reason"), "health check");
	ASSERT_INT(num(r, "state_at"), 30);
	ASSERT_INT(num(r, "generation"), 2);
	cJSON_Delete(r);
	/* Moved to node 2: node 1's late report is stale. */
	ok(apply(&f, "{'op':'service.assign','ts':31,'name':'web','node':2,'expect_"
		     "generation':2}"));
	reject(&f, BX_ECONFLICT,
	       "{'op':'service.report','ts':32,'name':'web','node':1,'generation':2,"
	       "'state':'running','pid':5,'restarts':0,'reason':''}");
	fx_close(&f);
}

/* Nodes 1 (n1) and 2 (n2); service a placed on node 1 and running there;
 * service b, started or not, placed on node b_node. */
static void two_nodes_two_services(struct fx *f, bool b_start, int b_node)
{
	ok(apply(f, "{'op':'node.upsert','ts':1,'id':1,'name':'n1','api':'','raft':''}"));
	ok(apply(f, "{'op':'node.upsert','ts':1,'id':2,'name':'n2','api':'','raft':''}"));
	ok(apply(f, "{'op':'service.put','ts':1,'name':'a','start':true,'spec':" SPEC(
			"a", "") "}"));
	ok(apply(
	    f,
	    "{'op':'service.put','ts':1,'name':'b','start':%s,'spec':" SPEC("b", "") "}",
	    b_start ? "true" : "false"));
	ok(apply(
	    f,
	    "{'op':'service.assign','ts':2,'name':'a','node':1,'expect_generation':1}"));
	ok(apply(
	    f,
	    "{'op':'service.assign','ts':2,'name':'b','node':%d,'expect_generation':1}",
	    b_node));
	ok(apply(f, "{'op':'service.report','ts':3,'name':'a','node':1,'generation':2,"
		    "'state':'running','pid':5,'restarts':2,'reason':''}"));
}

TEST(aServiceOffADownNodeIsTimedUntilItRunsAgain)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	two_nodes_two_services(&f, true, 1); /* a and b on node 1, a running */
	ok(apply(&f, "{'op':'node.down','ts':1000,'id':1}"));
	r = get_service(&f, "a");
	ASSERT_INT(num(r, "failover_at"), 1000);
	cJSON_Delete(r);
	ok(apply(&f, "{'op':'service.assign','ts':1100,'name':'a','node':2,"
		     "'expect_generation':3}"));
	res = apply(&f,
		    "{'op':'service.report','ts':1900,'name':'a','node':2,'generation':4,"
		    "'state':'starting','pid':0,'restarts':0,'reason':''}");
	ASSERT(!res->failed_over); /* not running yet */
	res = apply(&f,
		    "{'op':'service.report','ts':2400,'name':'a','node':2,'generation':4,"
		    "'state':'running','pid':9,'restarts':0,'reason':''}");
	ASSERT(res->failed_over);
	ASSERT(res->failover_ms == 1400);
	ASSERT(cJSON_GetObjectItem(res->record, "failover_at") == NULL);
	res = apply(&f,
		    "{'op':'service.report','ts':2500,'name':'a','node':2,'generation':4,"
		    "'state':'running','pid':9,'restarts':0,'reason':''}");
	ASSERT(!res->failed_over); /* once */
	/* b fails where it went; the user starts it again: no longer timed */
	ok(apply(&f, "{'op':'service.assign','ts':2600,'name':'b','node':2,"
		     "'expect_generation':3}"));
	ok(apply(&f,
		 "{'op':'service.report','ts':2700,'name':'b','node':2,'generation':4,"
		 "'state':'failed','pid':0,'restarts':0,'reason':'x'}"));
	r = get_service(&f, "b");
	ASSERT(cJSON_GetObjectItem(r, "failover_at") != NULL);
	cJSON_Delete(r);
	ok(apply(&f, "{'op':'service.start','ts':2800,'name':'b'}"));
	r = get_service(&f, "b");
	ASSERT(cJSON_GetObjectItem(r, "failover_at") == NULL);
	cJSON_Delete(r);
	/* node 2 goes down too; a is stopped by the user before it runs again */
	ok(apply(&f, "{'op':'node.down','ts':3000,'id':2}"));
	ok(apply(&f, "{'op':'service.stop','ts':3100,'name':'a'}"));
	r = get_service(&f, "a");
	ASSERT(cJSON_GetObjectItem(r, "failover_at") == NULL);
	cJSON_Delete(r);
	r = get_service(&f, "b");
	ASSERT_INT(num(r, "failover_at"), 3000);
	cJSON_Delete(r);
	fx_close(&f);
}

/* The events about `service` (NULL: all) as "type node gen reason|…". */
static void events_of(struct fx *f, const char *service, char *out, size_t size)
{
	struct bx_store_events_query q = {.limit = SIZE_MAX, .service = service};
	cJSON *events, *ev;
	size_t len = 0;

	ASSERT_INT(bx_store_list_events(f->store, &q, &events), 0);
	out[0] = '\0';
	cJSON_ArrayForEach(ev, events)
	{
		int n = snprintf(
		    out + len, size - len, "%s%s %.0f %.0f %s", len ? "|" : "",
		    str(ev, "type"), num(ev, "node"),
		    cJSON_GetObjectItem(ev, "generation") ? num(ev, "generation") : -1,
		    str(ev, "reason"));
		ASSERT(n > 0 && (size_t)n < size - len);
		len += (size_t)n;
	}
	cJSON_Delete(events);
}

TEST(eventsTellAFailoverFromScheduleToRunningElsewhere)
{
	char got[4096];
	struct fx f;

	fx_open(&f, "db");
	two_nodes_two_services(&f, true, 1); /* a and b on node 1, a running */
	events_of(&f, "a", got, sizeof got);
	/* (the fixture's first report already counts 2 restarts) */
	ASSERT_STR(got,
		   "created 0 1 |scheduled 1 2 |restarted 1 2 restart 2|started 1 2 ");
	/* a restart by policy, then health */
	ok(apply(&f, "{'op':'service.report','ts':4,'name':'a','node':1,'generation':2,"
		     "'state':'running','pid':6,'restarts':3,'reason':'exited 1',"
		     "'health':'healthy'}"));
	ok(apply(&f, "{'op':'node.down','ts':1000,'id':1}"));
	ok(apply(&f, "{'op':'service.assign','ts':1100,'name':'a','node':2,"
		     "'expect_generation':3,'reason':'node 1 (n1) is down'}"));
	ok(apply(&f,
		 "{'op':'service.report','ts':2400,'name':'a','node':2,'generation':4,"
		 "'state':'running','pid':9,'restarts':0,'reason':''}"));
	events_of(&f, "a", got, sizeof got);
	ASSERT_STR(
	    got,
	    "created 0 1 |scheduled 1 2 |restarted 1 2 restart 2|started 1 2 "
	    "|restarted 1 2 restart 3: exited 1|healthy 1 2 "
	    "|fenced 1 2 node 1 (n1) is down: its lease ran out, so it "
	    "stopped this instance"
	    "|scheduled 2 4 node 1 (n1) is down"
	    "|started 2 4 failed over: running 1.40 s after its node was declared down");
	/* the node events, in order with the rest; b's own are not a's */
	events_of(&f, NULL, got, sizeof got);
	ASSERT_CONTAINS(got, "|node_joined 2 -1 |created 0 1 |created 0 1 |");
	ASSERT_CONTAINS(got,
			"|node_down 1 -1 no heartbeat within node_timeout|fenced 1 2");
	events_of(&f, "b", got, sizeof got);
	ASSERT_STR(got, "created 0 1 |scheduled 1 2 |fenced 1 2 node 1 (n1) is down: its "
			"lease ran out, so it stopped this instance");
	/* a rejected command adds none (reject() compares them too), nor does a
	 * no-op */
	reject(&f, BX_ECONFLICT,
	       "{'op':'service.report','ts':2500,'name':'a','node':1,'generation':2,"
	       "'state':'failed','pid':0,'restarts':0,'reason':'late'}");
	ok(apply(&f, "{'op':'service.start','ts':2600,'name':'a'}"));
	ok(apply(&f, "{'op':'service.stop','ts':2700,'name':'b'}"));
	ok(apply(&f, "{'op':'service.stop','ts':2800,'name':'b'}"));
	events_of(&f, "b", got, sizeof got);
	ASSERT_CONTAINS(got, "instance|stop_requested 0 3 ");
	ASSERT(strstr(got, "stop_requested 0 3 |") == NULL); /* once */
	fx_close(&f);
}

TEST(eventsOfUserRequestsScalingAndMoves)
{
	char got[4096];
	struct fx f;

	fx_open(&f, "db");
	ok(apply(&f,
		 "{'op':'node.upsert','ts':1,'id':1,'name':'n1','api':'','raft':''}"));
	ok(apply(&f,
		 "{'op':'node.upsert','ts':1,'id':2,'name':'n2','api':'','raft':''}"));
	ok(apply(&f, "{'op':'service.put','ts':2,'name':'w','start':false,'spec':" SPEC(
			 "w", "") "}"));
	ok(apply(&f, "{'op':'service.put','ts':3,'name':'w','start':true,'spec':" SPEC(
			 "w", "") "}"));
	ok(apply(&f, "{'op':'service.put','ts':4,'name':'w','start':true,"
		     "'spec':{'service':{'name':'w','count':2}}}"));
	ok(apply(&f, "{'op':'service.assign','ts':5,'name':'w','node':1,"
		     "'expect_generation':1}"));
	ok(apply(&f, "{'op':'service.migrate','ts':6,'name':'w','node':2,"
		     "'expect_generation':2}"));
	ok(apply(&f, "{'op':'service.report','ts':7,'name':'w','node':1,'generation':2,"
		     "'state':'stopped','pid':0,'restarts':0,'reason':''}"));
	ok(apply(&f, "{'op':'service.put','ts':8,'name':'w','start':true,"
		     "'spec':{'service':{'name':'w','count':1}}}"));
	ok(apply(&f, "{'op':'service.put','ts':9,'name':'w','start':true,"
		     "'spec':{'service':{'name':'w','count':1,'x':1}}}"));
	ok(apply(&f, "{'op':'service.wait','ts':10,'name':'w','expect_generation':4,"
		     "'reason':'no room'}"));
	ok(apply(&f, "{'op':'service.wait','ts':11,'name':'w','expect_generation':4,"
		     "'reason':'no room'}"));
	ok(apply(&f, "{'op':'service.delete','ts':12,'name':'w'}"));
	events_of(&f, "w", got, sizeof got);
	ASSERT_STR(got, "created 0 1 |start_requested 0 1 |scaled 0 1 count 1 -> 2"
			"|created 0 1 |scheduled 1 2 "
			"|moving 1 2 moving to node 2: node 1 is draining"
			"|moved 2 3 moved from node 1 (draining)"
			"|scaled 2 3 count 2 -> 1|deleted 0 1 count is now 1"
			"|updated 2 4 |waiting 2 4 no room|deleted 2 4 ");
	ok(apply(&f, "{'op':'node.drain','ts':13,'id':2,'drain':true}"));
	ok(apply(&f, "{'op':'node.remove','ts':14,'id':2}"));
	events_of(&f, NULL, got, sizeof got);
	ASSERT_CONTAINS(got, "|node_draining 2 -1 |node_removed 2 -1 ");
	fx_close(&f);
}

TEST(nodeRemoveUnassignsItsServices)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	reject(&f, BX_ENOENT, "{'op':'node.remove','ts':1,'id':1}");
	two_nodes_two_services(&f, true, 2);
	res = apply(&f, "{'op':'node.remove','ts':40,'id':1}");
	ok(res);
	ASSERT_INT(num(res->record, "id"), 1);
	ASSERT_STR(seen.op, "node.remove");
	ASSERT_STR(seen.name, "1");
	ASSERT_INT(bx_store_get_node(f.store, 1, &r), BX_ENOENT);
	r = get_service(&f, "a");
	ASSERT_INT(num(r, "node"), 0);
	ASSERT_STR(str(r, "state"), "pending");
	ASSERT_INT(num(r, "state_at"), 40);
	cJSON_Delete(r);
	r = get_service(&f, "b");
	ASSERT_INT(num(r, "node"), 2);
	cJSON_Delete(r);
	/* The dead node's late report no longer matches. */
	reject(&f, BX_ECONFLICT,
	       "{'op':'service.report','ts':41,'name':'a','node':1,'generation':2,"
	       "'state':'running','pid':5,'restarts':0,'reason':''}");
	fx_close(&f);
}

TEST(nodeDownUnassignsRunningServicesWithNewGenerationUntilUp)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	reject(&f, BX_ENOENT, "{'op':'node.down','ts':1,'id':1}");
	reject(&f, BX_ENOENT, "{'op':'node.up','ts':1,'id':1}");
	two_nodes_two_services(&f, false, 1);
	res = apply(&f, "{'op':'node.down','ts':50,'id':1}");
	ok(res);
	ASSERT_STR(str(res->record, "status"), "down");
	ASSERT_INT(num(res->record, "status_at"), 50);
	ASSERT_STR(seen.op, "node.down");
	/* the service that should run left the node, as a fresh instance */
	r = get_service(&f, "a");
	ASSERT_INT(num(r, "node"), 0);
	ASSERT_INT(num(r, "generation"), 3);
	ASSERT_STR(str(r, "state"), "pending");
	ASSERT_INT(num(r, "restarts"), 0);
	ASSERT_STR(str(r, "reason"), "node 1 (n1) is down");
	cJSON_Delete(r);
	/* a stopped one stays where it was */
	r = get_service(&f, "b");
	ASSERT_INT(num(r, "node"), 1);
	ASSERT_INT(num(r, "generation"), 2);
	cJSON_Delete(r);
	/* the node's late report is stale; nothing is placed on a down node */
	reject(&f, BX_ECONFLICT,
	       "{'op':'service.report','ts':51,'name':'a','node':1,'generation':2,"
	       "'state':'running','pid':5,'restarts':0,'reason':''}");
	reject(
	    &f, BX_ECONFLICT,
	    "{'op':'service.assign','ts':52,'name':'a','node':1,'expect_generation':3}");
	/* down again: nothing changes, no note */
	seen.calls = 0;
	ok(apply(&f, "{'op':'node.down','ts':53,'id':1}"));
	ASSERT_INT(seen.calls, 0);
	res = apply(&f, "{'op':'node.up','ts':60,'id':1}");
	ok(res);
	ASSERT_STR(str(res->record, "status"), "up");
	ASSERT_INT(num(res->record, "status_at"), 60);
	ok(apply(
	    &f,
	    "{'op':'service.assign','ts':61,'name':'a','node':1,'expect_generation':3}"));
	/* up when up: a no-op */
	seen.calls = 0;
	ok(apply(&f, "{'op':'node.up','ts':62,'id':2}"));
	ASSERT_INT(seen.calls, 0);
	r = NULL;
	ASSERT_INT(bx_store_get_node(f.store, 2, &r), 0);
	ASSERT(cJSON_GetObjectItem(r, "status") == NULL);
	cJSON_Delete(r);
	fx_close(&f);
}

TEST(nodeUpsertKeepsCapacityAndLabelsUntilGivenAgain)
{
	struct fx f;
	cJSON *r = NULL;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'node.upsert','ts':1,'id':1,'name':'n1','api':'','raft':'',"
		     "'memory_mb':2048,'vcpus':8,'labels':{'zone':'a','disk':'ssd'}}"));
	/* a join's upsert says nothing of them: they stay */
	ok(apply(&f,
		 "{'op':'node.upsert','ts':2,'id':1,'name':'n1','api':'x','raft':''}"));
	ASSERT_INT(bx_store_get_node(f.store, 1, &r), 0);
	ASSERT_INT(num(r, "memory_mb"), 2048);
	ASSERT_INT(num(r, "vcpus"), 8);
	ASSERT_STR(str(cJSON_GetObjectItem(r, "labels"), "disk"), "ssd");
	cJSON_Delete(r);
	ok(apply(&f, "{'op':'node.upsert','ts':3,'id':1,'name':'n1','api':'x','raft':'',"
		     "'memory_mb':0,'labels':{}}"));
	ASSERT_INT(bx_store_get_node(f.store, 1, &r), 0);
	ASSERT_INT(num(r, "memory_mb"), 0);
	ASSERT_INT(num(r, "vcpus"), 8);
	ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "labels")) == 0);
	cJSON_Delete(r);
	reject(&f, BX_EINVAL,
	       "{'op':'node.upsert','ts':4,'id':1,'name':'n1','api':'','raft':'',"
	       "'memory_mb':-1}");
	reject(&f, BX_EINVAL,
	       "{'op':'node.upsert','ts':4,'id':1,'name':'n1','api':'','raft':'',"
	       "'labels':{'zone':3}}");
	reject(&f, BX_EINVAL,
	       "{'op':'node.upsert','ts':4,'id':1,'name':'n1','api':'','raft':'',"
	       "'labels':{'bad key':'x'}}");
	reject(&f, BX_EINVAL,
	       "{'op':'node.upsert','ts':4,'id':1,'name':'n1','api':'','raft':'',"
	       "'labels':['zone=a']}");
	fx_close(&f);
}

TEST(drainTakesStoppedServicesOffAndRefusesNewWork)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	reject(&f, BX_ENOENT, "{'op':'node.drain','ts':1,'id':1,'drain':true}");
	two_nodes_two_services(&f, false, 1);
	res = apply(&f, "{'op':'node.drain','ts':10,'id':1,'drain':true}");
	ok(res);
	ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(res->record, "draining")));
	ASSERT_INT(num(res->record, "draining_at"), 10);
	/* the running one stays until the scheduler migrates it; the stopped one left */
	r = get_service(&f, "a");
	ASSERT_INT(num(r, "node"), 1);
	ASSERT_INT(num(r, "generation"), 2);
	cJSON_Delete(r);
	r = get_service(&f, "b");
	ASSERT_INT(num(r, "node"), 0);
	ASSERT_STR(str(r, "reason"), "node 1 is draining");
	cJSON_Delete(r);
	/* nothing new is placed or migrated there */
	reject(
	    &f, BX_ECONFLICT,
	    "{'op':'service.assign','ts':11,'name':'b','node':1,'expect_generation':3}");
	ok(apply(&f, "{'op':'node.drain','ts':12,'id':1,'drain':false}"));
	ok(apply(
	    &f,
	    "{'op':'service.assign','ts':13,'name':'b','node':1,'expect_generation':3}"));
	reject(&f, BX_EINVAL, "{'op':'node.drain','ts':14,'id':1}");
	reject(&f, BX_EINVAL, "{'op':'node.drain','ts':14,'id':1,'drain':'yes'}");
	fx_close(&f);
}

TEST(migrateStopsFirstThenTheStopReportHandsOver)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	two_nodes_two_services(&f, true, 2);
	ok(apply(&f,
		 "{'op':'node.upsert','ts':1,'id':3,'name':'n3','api':'','raft':''}"));
	ok(apply(&f, "{'op':'node.drain','ts':4,'id':1,'drain':true}"));
	/* stale generation, same node, unknown or draining target: refused */
	reject(
	    &f, BX_ECONFLICT,
	    "{'op':'service.migrate','ts':5,'name':'a','node':2,'expect_generation':1}");
	reject(
	    &f, BX_ECONFLICT,
	    "{'op':'service.migrate','ts':5,'name':'a','node':1,'expect_generation':2}");
	reject(
	    &f, BX_ENOENT,
	    "{'op':'service.migrate','ts':5,'name':'a','node':9,'expect_generation':2}");
	res = apply(
	    &f,
	    "{'op':'service.migrate','ts':6,'name':'a','node':2,'expect_generation':2}");
	ok(res);
	/* still node 1, same generation: only node 1 may run it, until it stops */
	ASSERT_INT(num(res->record, "node"), 1);
	ASSERT_INT(num(res->record, "generation"), 2);
	ASSERT_INT(num(res->record, "move_to"), 2);
	ASSERT_STR(str(res->record, "state"), "running");
	ASSERT_STR(str(res->record, "reason"), "moving to node 2: node 1 is draining");
	/* any other report of node 1 is taken as usual */
	ok(apply(&f, "{'op':'service.report','ts':7,'name':'a','node':1,'generation':2,"
		     "'state':'running','pid':5,'restarts':0,'reason':''}"));
	r = get_service(&f, "a");
	ASSERT_INT(num(r, "move_to"), 2);
	cJSON_Delete(r);
	/* stopped there: handed over as a fresh instance on node 2 */
	res =
	    apply(&f, "{'op':'service.report','ts':8,'name':'a','node':1,'generation':2,"
		      "'state':'stopped','pid':0,'restarts':0,'reason':''}");
	ok(res);
	ASSERT_INT(num(res->record, "node"), 2);
	ASSERT_INT(num(res->record, "generation"), 3);
	ASSERT_STR(str(res->record, "state"), "pending");
	ASSERT(cJSON_GetObjectItem(res->record, "move_to") == NULL);
	ASSERT_STR(str(res->record, "reason"), "moved from node 1 (draining)");
	fx_close(&f);
}

TEST(migrationToANodeThatWentDownEndsOnNoNode)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *r;

	fx_open(&f, "db");
	two_nodes_two_services(&f, true, 2);
	ok(apply(&f, "{'op':'node.drain','ts':4,'id':1,'drain':true}"));
	ok(apply(
	    &f,
	    "{'op':'service.migrate','ts':5,'name':'a','node':2,'expect_generation':2}"));
	ok(apply(&f, "{'op':'node.down','ts':6,'id':2}"));
	res =
	    apply(&f, "{'op':'service.report','ts':7,'name':'a','node':1,'generation':2,"
		      "'state':'stopped','pid':0,'restarts':0,'reason':''}");
	ok(res);
	ASSERT_INT(num(res->record, "node"), 0);
	ASSERT_INT(num(res->record, "generation"), 3);
	/* and the source going down drops a migration under way */
	ok(apply(&f, "{'op':'node.up','ts':8,'id':2}"));
	ok(apply(&f, "{'op':'node.drain','ts':9,'id':1,'drain':false}"));
	ok(apply(
	    &f,
	    "{'op':'service.assign','ts':10,'name':'a','node':1,'expect_generation':3}"));
	r = get_service(&f, "a");
	ASSERT_INT(num(r, "node"), 1);
	ASSERT_INT(num(r, "generation"), 4);
	cJSON_Delete(r);
	ok(apply(&f, "{'op':'service.migrate','ts':11,'name':'a','node':2,'expect_"
		     "generation':4}"));
	ok(apply(&f, "{'op':'node.down','ts':12,'id':1}"));
	r = get_service(&f, "a");
	ASSERT_INT(num(r, "node"), 0);
	ASSERT(cJSON_GetObjectItem(r, "move_to") == NULL);
	ASSERT_STR(str(r, "reason"), "node 1 (n1) is down");
	cJSON_Delete(r);
	fx_close(&f);
}

TEST(waitRecordsTheReasonOnceAtTheGenerationSeen)
{
	struct fx f;
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'service.put','ts':1,'name':'a','start':true,'spec':" SPEC(
			 "a", "") "}"));
	reject(
	    &f, BX_ECONFLICT,
	    "{'op':'service.wait','ts':2,'name':'a','expect_generation':7,'reason':'x'}");
	reject(&f, BX_EINVAL,
	       "{'op':'service.wait','ts':2,'name':'a','expect_generation':1}");
	res = apply(&f, "{'op':'service.wait','ts':3,'name':'a','expect_generation':1,"
			"'reason':'no room'}");
	ok(res);
	ASSERT_STR(str(res->record, "reason"), "no room");
	ASSERT_STR(str(res->record, "state"), "pending");
	ASSERT_INT(num(res->record, "generation"), 1);
	seen.calls = 0;
	ok(apply(&f, "{'op':'service.wait','ts':4,'name':'a','expect_generation':1,"
		     "'reason':'no room'}"));
	ASSERT_INT(seen.calls, 0);
	fx_close(&f);
}

TEST(failedReportsNoteTheNodeAndAMoveCarriesItsReason)
{
	struct fx f;
	const struct bx_fsm_result *res;
	const cJSON *list;
	cJSON *r;

	fx_open(&f, "db");
	two_nodes_two_services(&f, false, 1);
	ok(apply(&f, "{'op':'service.report','ts':10,'name':'a','node':1,'generation':2,"
		     "'state':'failed','pid':0,'restarts':3,'reason':'exit 1'}"));
	r = get_service(&f, "a");
	list = cJSON_GetObjectItem(r, "failed_on");
	ASSERT_INT(cJSON_GetArraySize(list), 1);
	ASSERT_INT(num(cJSON_GetArrayItem(list, 0), "node"), 1);
	ASSERT_INT(num(cJSON_GetArrayItem(list, 0), "at"), 10);
	cJSON_Delete(r);
	/* moved, a fresh instance with the reason; it fails there too, much later:
	 * the old entry has aged out */
	res = apply(&f, "{'op':'service.assign','ts':11,'name':'a','node':2,"
			"'expect_generation':2,'reason':'moved: it failed on node 1'}");
	ok(res);
	ASSERT_STR(str(res->record, "reason"), "moved: it failed on node 1");
	ASSERT_INT(num(res->record, "restarts"), 0);
	ok(apply(&f,
		 "{'op':'service.report','ts':900000,'name':'a','node':2,'generation':3,"
		 "'state':'failed','pid':0,'restarts':3,'reason':'exit 1'}"));
	r = get_service(&f, "a");
	list = cJSON_GetObjectItem(r, "failed_on");
	ASSERT_INT(cJSON_GetArraySize(list), 1);
	ASSERT_INT(num(cJSON_GetArrayItem(list, 0), "node"), 2);
	cJSON_Delete(r);
	/* the user starts it again: every node may be tried */
	ok(apply(&f, "{'op':'service.start','ts':900001,'name':'a'}"));
	r = get_service(&f, "a");
	ASSERT(cJSON_GetObjectItem(r, "failed_on") == NULL);
	cJSON_Delete(r);
	fx_close(&f);
}

TEST(clusterConfirmChangesNothingButTheAppliedIndex)
{
	struct fx f;
	const char *confirm = "{\"op\":\"cluster.confirm\",\"ts\":5}";
	const struct bx_fsm_result *res;

	fx_open(&f, "db");
	seen.calls = 0;
	res = &bx_fsm_apply_json(&f.fsm, 7, confirm, strlen(confirm))->items[0];
	ok(res);
	ASSERT_INT(bx_store_applied_index(f.store), 7);
	ASSERT_INT(seen.calls, 0);
	fx_close(&f);
}

TEST(entriesAtOrBelowAppliedIndexAreSkipped)
{
	struct fx f;
	const struct bx_fsm_result *res;
	const char *put =
	    "{\"op\":\"service.put\",\"ts\":1,\"name\":\"web\",\"start\":true,"
	    "\"spec\":{\"service\":{\"name\":\"web\"}}}";
	const char *del = "{\"op\":\"service.delete\",\"ts\":2,\"name\":\"web\"}";
	cJSON *r;

	fx_open(&f, "db");
	res = &bx_fsm_apply_json(&f.fsm, 10, put, strlen(put))->items[0];
	ok(res);
	ASSERT_INT(bx_store_applied_index(f.store), 10);
	ASSERT_INT(seen.calls, 1);
	res = &bx_fsm_apply_json(&f.fsm, 10, del, strlen(del))->items[0];
	ASSERT_INT(res->code, BX_OK);
	ASSERT_STR(res->msg, "already applied");
	ASSERT(res->record == NULL);
	res = &bx_fsm_apply_json(&f.fsm, 3, del, strlen(del))->items[0];
	ASSERT_STR(res->msg, "already applied");
	ASSERT_INT(seen.calls, 1);
	ASSERT_INT(bx_store_applied_index(f.store), 10);
	r = get_service(&f, "web");
	cJSON_Delete(r);
	fx_close(&f);
}

static const char *const script[] = {
    "{'op':'cluster.init','ts':1,'cluster_id':'aa'}",
    "{'op':'node.upsert','ts':2,'id':1,'name':'n1','api':'a','raft':'r'}",
    "{'op':'node.upsert','ts':2,'id':2,'name':'n2','api':'a','raft':'r'}",
    "{'op':'service.put','ts':3,'name':'web','start':true,'spec':" SPEC("web", "") "}",
    "{'op':'service.put','ts':3,'name':'db','start':true,'spec':" SPEC("db", "") "}",
    "{'op':'service.assign','ts':4,'name':'web','node':1,'expect_generation':1}",
    "{'op':'service.assign','ts':4,'name':'db','node':2,'expect_generation':1}",
    "{'op':'service.assign','ts':4,'name':'db','node':2,'expect_generation':1}",
    "{'op':'service.report','ts':5,'name':'web','node':1,'generation':2,"
    "'state':'running','pid':9,'restarts':0,'reason':''}",
    "not json",
    "{'op':'node.remove','ts':6,'id':2}",
    "{'op':'service.stop','ts':7,'name':'web'}",
    "{'op':'service.delete','ts':8,'name':'db'}",
};
#define N_SCRIPT (sizeof script / sizeof script[0])

static void run_script(struct fx *f, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		char buf[512];
		snprintf(buf, sizeof buf, "%s", script[i]);
		for (char *p = buf; *p; p++)
			if (*p == '\'')
				*p = '"';
		bx_fsm_apply_json(&f->fsm, i + 1, buf, strlen(buf));
	}
}

TEST(replayingTheLogIsIdempotent)
{
	struct fx once, twice;
	char *a, *b;

	fx_open(&once, "once");
	run_script(&once, 0, N_SCRIPT);
	a = state(&once);
	fx_close(&once);

	/* A crash-restart: part applied, then the whole log again from 1. */
	fx_open(&twice, "twice");
	run_script(&twice, 0, 7);
	fx_close(&twice);
	fx_open(&twice, "twice");
	run_script(&twice, 0, N_SCRIPT);
	run_script(&twice, 0, N_SCRIPT);
	ASSERT_INT(bx_store_applied_index(twice.store), N_SCRIPT);
	b = state(&twice);
	ASSERT_STR(b, a);
	ASSERT_CONTAINS(a, "\"web\"");
	free(a);
	free(b);
	fx_close(&twice);
}

TEST(raftCallbacksApplySnapshotRestore)
{
	struct fx a, b;
	struct raft_buffer entry, *bufs = NULL, copy;
	unsigned n_bufs = 0;
	void *result = NULL;
	const char *cmd =
	    "{\"op\":\"service.put\",\"ts\":1,\"name\":\"web\",\"start\":true,"
	    "\"spec\":{\"service\":{\"name\":\"web\"}}}";
	char *sa, *sb;

	fx_open(&a, "a");
	fx_open(&b, "b");
	entry.base = (void *)cmd;
	entry.len = strlen(cmd);
	/* No raft attached: the index is the store's + 1. */
	ASSERT_INT(a.fsm.fsm.apply(&a.fsm.fsm, &entry, &result), 0);
	ASSERT(result == &a.fsm.results);
	ASSERT_INT(a.fsm.results.n, 1);
	ASSERT_INT(bx_store_applied_index(a.store), 1);
	entry.base = "garbage";
	entry.len = 7;
	ASSERT_INT(a.fsm.fsm.apply(&a.fsm.fsm, &entry, &result), 0);
	ASSERT_INT(((struct bx_fsm_results *)result)->items[0].code, BX_EINVAL);
	ASSERT_INT(bx_store_applied_index(a.store), 2);

	ASSERT_INT(a.fsm.fsm.version, 3);
	ASSERT_INT(a.fsm.fsm.snapshot(&a.fsm.fsm, &bufs, &n_bufs), 0);
	ASSERT_INT(n_bufs, 1);
	ASSERT(a.fsm.snap != NULL);
	/* a second snapshot while one is held is refused */
	{
		struct raft_buffer *other = NULL;
		unsigned n_other = 0;
		ASSERT_INT(a.fsm.fsm.snapshot(&a.fsm.fsm, &other, &n_other), RAFT_BUSY);
	}
	/* the copy itself is made by the async step (libuv's thread pool) */
	ASSERT(a.fsm.fsm.snapshot_async != NULL);
	ASSERT_INT(a.fsm.fsm.snapshot_async(&a.fsm.fsm, &bufs, &n_bufs), 0);
	ASSERT(bufs[0].base != NULL && bufs[0].len > 0);
	/* libraft hands restore its own copy, then owns it no more. */
	copy.len = bufs[0].len;
	copy.base = raft_malloc(copy.len);
	memcpy(copy.base, bufs[0].base, copy.len);
	ASSERT_INT(a.fsm.fsm.snapshot_finalize(&a.fsm.fsm, &bufs, &n_bufs), 0);
	ASSERT(a.fsm.snap == NULL);
	ASSERT_INT(b.fsm.fsm.restore(&b.fsm.fsm, &copy), 0);
	sa = state(&a);
	sb = state(&b);
	ASSERT_STR(sb, sa);
	ASSERT_INT(bx_store_applied_index(b.store), 2);

	/* A corrupt snapshot fails restore; the buffer stays libraft's. */
	copy.len = 10;
	copy.base = raft_malloc(copy.len);
	memset(copy.base, 'x', copy.len);
	ASSERT(b.fsm.fsm.restore(&b.fsm.fsm, &copy) != 0);
	raft_free(copy.base);
	free(sa);
	free(sb);
	fx_close(&a);
	fx_close(&b);
}

static const struct bx_fsm_results *apply_batch(struct fx *f, const char *text)
{
	char buf[4096];
	uint64_t index = bx_store_applied_index(f->store) + 1;
	const struct bx_fsm_results *res;

	snprintf(buf, sizeof buf, "%s", text);
	for (char *p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	res = bx_fsm_apply_json(&f->fsm, index, buf, strlen(buf));
	ASSERT_INT(bx_store_applied_index(f->store), index); /* one entry, one index */
	return res;
}

static int generation(struct fx *f, const char *name)
{
	cJSON *rec = NULL;
	int g;

	if (bx_store_get_service(f->store, name, &rec) != 0)
		return -1;
	g = cJSON_GetObjectItem(rec, "generation")->valueint;
	cJSON_Delete(rec);
	return g;
}

TEST(batchAppliesInOrderEachSeeingTheOnesBefore)
{
	struct fx f;
	const struct bx_fsm_results *res;

	fx_open(&f, "batch");
	res =
	    apply_batch(&f, "["
			    "{'op':'service.put','ts':1,'name':'a','start':false,"
			    "'spec':{'service':{'name':'a'}}},"
			    "{'op':'service.start','ts':2,'name':'a'}," /* sees the put */
			    "{'op':'service.start','ts':3,'name':'nope'}," /* rejected */
			    "{'op':'service.put','ts':4,'name':'b','start':true,"
			    "'spec':{'service':{'name':'b'},'bad':true}}," /* rejected */
			    "42," /* not a command */
			    "{'op':'service.put','ts':5,'name':'c','start':true,"
			    "'spec':{'service':{'name':'c'}}}"
			    "]");
	ASSERT_INT(res->n, 6);
	ok(&res->items[0]);
	ok(&res->items[1]);
	ASSERT_INT(res->items[2].code, BX_ENOENT);
	ASSERT_INT(res->items[3].code, BX_EINVAL);
	ASSERT_INT(res->items[4].code, BX_EINVAL);
	ASSERT_CONTAINS(res->items[4].msg, "not a JSON object");
	ok(&res->items[5]);
	/* the start saw the put of the same entry: the record says running */
	ASSERT_STR(cJSON_GetObjectItem(res->items[1].record, "desired")->valuestring,
		   "running");
	ASSERT(res->items[2].record == NULL && res->items[3].record == NULL);
	ASSERT_INT(generation(&f, "a"), 1);
	ASSERT_INT(generation(&f, "b"), -1);
	ASSERT_INT(generation(&f, "c"), 1);
	ASSERT_INT(seen.calls, 3); /* put a, start a, put c */
	ASSERT_STR(seen.name, "c");

	/* an empty batch is one malformed command, and still counts */
	res = apply_batch(&f, "[]");
	ASSERT_INT(res->n, 1);
	ASSERT_INT(res->items[0].code, BX_EINVAL);
	fx_close(&f);
}

TEST(batchAndOneByOneGiveTheSameState)
{
	struct fx a, b;
	const char *cmds[] = {
	    "{'op':'node.upsert','ts':1,'id':2,'name':'n2','api':'x:1','raft':'x:2'}",
	    "{'op':'service.put','ts':2,'name':'web','start':true,'spec':{'service':{'"
	    "name':'web'}}}",
	    "{'op':'service.assign','ts':3,'name':'web','node':2,'expect_generation':1}",
	    "{'op':'service.put','ts':4,'name':'web','start':true,'spec':{'service':{'"
	    "name':'web'}}}",
	    "{'op':'service.stop','ts':5,'name':'web'}",
	    "{'op':'service.delete','ts':6,'name':'ghost'}",
	};
	char batch[4096] = "[";
	char *sa, *sb;
	size_t n = sizeof cmds / sizeof cmds[0];

	fx_open(&a, "one-by-one");
	fx_open(&b, "batched");
	for (size_t i = 0; i < n; i++) {
		apply(&a, "%s", cmds[i]);
		strcat(batch, cmds[i]);
		strcat(batch, i + 1 < n ? "," : "]");
	}
	apply_batch(&b, batch);
	sa = state(&a);
	sb = state(&b);
	/* the same records; only the applied index differs (6 entries vs 1) */
	ASSERT(strstr(sa, "\"web\"") != NULL);
	ASSERT_STR(strstr(sb, "\"services\""), strstr(sa, "\"services\""));
	free(sa);
	free(sb);
	fx_close(&a);
	fx_close(&b);
}

TEST(invitesAreUsedWithinTheirLimitsDecidedAtApply)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *inv;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'invite.create','ts':1000,'id':'a1','secret_hash':'ab12',"
		     "'role':'voter','uses':2,'expires_at':5000}"));
	reject(&f, BX_EEXIST,
	       "{'op':'invite.create','ts':1001,'id':'a1','secret_hash':'ffff',"
	       "'role':'voter','uses':1,'expires_at':9000}");
	reject(&f, BX_EINVAL,
	       "{'op':'invite.create','ts':1001,'id':'a2','secret_hash':'ff',"
	       "'role':'king','uses':1,'expires_at':9000}");
	reject(&f, BX_EINVAL,
	       "{'op':'invite.create','ts':1001,'id':'a2','secret_hash':'ff',"
	       "'role':'voter','uses':1001,'expires_at':9000}");
	/* the wrong secret says nothing else */
	res = reject(
	    &f, BX_EPERM,
	    "{'op':'invite.use','ts':1100,'id':'a1','secret_hash':'ab13','node':7}");
	ASSERT_CONTAINS(res->msg, "wrong secret");
	reject(&f, BX_ENOENT,
	       "{'op':'invite.use','ts':1100,'id':'b9','secret_hash':'ab12','node':7}");
	ok(apply(
	    &f, "{'op':'invite.use','ts':1200,'id':'a1','secret_hash':'ab12','node':7}"));
	ok(apply(
	    &f, "{'op':'invite.use','ts':1300,'id':'a1','secret_hash':'ab12','node':8}"));
	res = reject(
	    &f, BX_EPERM,
	    "{'op':'invite.use','ts':1400,'id':'a1','secret_hash':'ab12','node':9}");
	ASSERT_CONTAINS(res->msg, "used up (2 of 2 uses)");
	ASSERT_INT(bx_store_get_invite(f.store, "a1", &inv), 0);
	ASSERT_INT(num(inv, "used"), 2);
	ASSERT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(inv, "used_by")), 2);
	ASSERT_INT(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(inv, "used_by"), 1)->valuedouble, 8);
	cJSON_Delete(inv);

	/* expiry is the command's time, not a clock */
	ok(apply(&f, "{'op':'invite.create','ts':2000,'id':'c3','secret_hash':'cd',"
		     "'role':'standby','uses':5,'expires_at':3000}"));
	ok(apply(&f,
		 "{'op':'invite.use','ts':2999,'id':'c3','secret_hash':'cd','node':4}"));
	res =
	    reject(&f, BX_EPERM,
		   "{'op':'invite.use','ts':3000,'id':'c3','secret_hash':'cd','node':5}");
	ASSERT_CONTAINS(res->msg, "invite c3 expired at 1970-01-01T00:00:03Z");

	/* revoked: refused; revoking twice changes nothing */
	ok(apply(&f, "{'op':'invite.create','ts':4000,'id':'d4','secret_hash':'ee',"
		     "'role':'voter','uses':1,'expires_at':90000}"));
	ok(apply(&f, "{'op':'invite.revoke','ts':4100,'id':'d4'}"));
	ok(apply(&f, "{'op':'invite.revoke','ts':4200,'id':'d4'}"));
	res =
	    reject(&f, BX_EPERM,
		   "{'op':'invite.use','ts':4300,'id':'d4','secret_hash':'ee','node':5}");
	ASSERT_CONTAINS(res->msg, "invite d4 was revoked");
	reject(&f, BX_ENOENT, "{'op':'invite.revoke','ts':4400,'id':'e5'}");
	ASSERT_INT(bx_store_get_invite(f.store, "d4", &inv), 0);
	ASSERT_INT(num(inv, "revoked_at"), 4100);
	cJSON_Delete(inv);
	fx_close(&f);
}

#define HASH_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HASH_B "0000000000000000000000000000000000000000000000000000000000000000"

TEST(tokensAreCreatedWithTheirRoleAndHashValidatedAtApply)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *tok, *all;

	fx_open(&f, "db");
	res = apply(&f, "{'op':'token.create','ts':1000,'id':'00112233aabbccdd',"
			"'name':'ci-deploy','role':'admin','secret_hash':'" HASH_A "',"
			"'created_by':'local'}");
	ok(res);
	ASSERT_STR(str(res->record, "role"), "admin");
	ASSERT_STR(seen.op, "token.create");
	ASSERT_STR(seen.name, "00112233aabbccdd");
	ASSERT_INT(bx_store_get_token(f.store, "00112233aabbccdd", &tok), 0);
	ASSERT_STR(str(tok, "id"), "00112233aabbccdd");
	ASSERT_STR(str(tok, "name"), "ci-deploy");
	ASSERT_STR(str(tok, "role"), "admin");
	ASSERT_STR(str(tok, "secret_hash"), HASH_A);
	ASSERT_STR(str(tok, "created_by"), "local");
	ASSERT_INT(num(tok, "created_at"), 1000);
	cJSON_Delete(tok);
	/* no name: an empty one; no created_by: none */
	ok(apply(&f, "{'op':'token.create','ts':1001,'id':'ffeeddccbbaa9988',"
		     "'role':'read','secret_hash':'" HASH_B "'}"));
	ASSERT_INT(bx_store_get_token(f.store, "ffeeddccbbaa9988", &tok), 0);
	ASSERT_STR(str(tok, "name"), "");
	ASSERT(cJSON_GetObjectItem(tok, "created_by") == NULL);
	cJSON_Delete(tok);
	ASSERT_INT(bx_store_list_tokens(f.store, &all), 0);
	ASSERT_INT(cJSON_GetArraySize(all), 2);
	cJSON_Delete(all);

	reject(&f, BX_EEXIST,
	       "{'op':'token.create','ts':1002,'id':'00112233aabbccdd','role':'read',"
	       "'secret_hash':'" HASH_B "'}");
	/* ids and hashes are exact-length lower-case hex */
	static const struct {
		const char *fields, *want;
	} bad[] = {
	    {"'id':'0011223344556677','role':'root'",
	     "'role' must be \"admin\" or \"read\""},
	    {"'id':'0011223344556677'", "missing field 'role'"},
	    {"'id':'00112233','role':'read'", "field 'id' must be 16 hex digits"},
	    {"'id':'00112233AABBCCDD','role':'read'", "field 'id' must be 16 hex digits"},
	    {"'id':'0011223344556677','role':'read','name':'no spaces'",
	     "field 'name' must be at most 64 characters"},
	    {"'id':'0011223344556677','role':'read','name':7", "field 'name'"},
	    {"'id':'0011223344556677','role':'read','created_by':false",
	     "field 'created_by' must be a string"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char cmd[512];
		snprintf(cmd, sizeof cmd,
			 "{'op':'token.create','ts':1002,%s,'secret_hash':'" HASH_B "'}",
			 bad[i].fields);
		res = reject(&f, BX_EINVAL, cmd);
		ASSERT_CONTAINS(res->msg, bad[i].want);
	}
	res = reject(&f, BX_EINVAL,
		     "{'op':'token.create','ts':1002,'id':'0011223344556677','role':"
		     "'read','secret_hash':'abcd'}");
	ASSERT_CONTAINS(res->msg, "field 'secret_hash' must be 64 hex digits");
	fx_close(&f);
}

TEST(revokingATokenDeletesItAndAnUnknownOneIsNotFound)
{
	struct fx f;
	const struct bx_fsm_result *res;
	cJSON *tok;

	fx_open(&f, "db");
	ok(apply(&f, "{'op':'token.create','ts':1000,'id':'00112233aabbccdd',"
		     "'name':'ops','role':'read','secret_hash':'" HASH_A "'}"));
	res = apply(&f, "{'op':'token.revoke','ts':2000,'id':'00112233aabbccdd'}");
	ok(res);
	/* the answer is the token as it was, with when it ended */
	ASSERT_STR(str(res->record, "name"), "ops");
	ASSERT_INT(num(res->record, "revoked_at"), 2000);
	ASSERT_STR(seen.op, "token.revoke");
	ASSERT_INT(bx_store_get_token(f.store, "00112233aabbccdd", &tok), BX_ENOENT);
	res = reject(&f, BX_ENOENT,
		     "{'op':'token.revoke','ts':2100,'id':'00112233aabbccdd'}");
	ASSERT_CONTAINS(res->msg, "no token 00112233aabbccdd");
	reject(&f, BX_EINVAL, "{'op':'token.revoke','ts':2100,'id':'xyz'}");
	fx_close(&f);
}

TEST(tokensTravelInSnapshots)
{
	struct fx a, b;
	void *buf;
	size_t len;
	char msg[BX_ERRMSG_SIZE] = "";
	cJSON *tok;

	fx_open(&a, "a");
	ok(apply(&a, "{'op':'token.create','ts':1000,'id':'00112233aabbccdd',"
		     "'role':'admin','secret_hash':'" HASH_A "'}"));
	ASSERT_INT(bx_store_snapshot(a.store, &buf, &len), 0);
	fx_open(&b, "b");
	ASSERT_MSG(bx_store_restore(b.store, buf, len, msg) == 0, "%s", msg);
	ASSERT_INT(bx_store_get_token(b.store, "00112233aabbccdd", &tok), 0);
	ASSERT_STR(str(tok, "secret_hash"), HASH_A);
	cJSON_Delete(tok);
	free(buf);
	fx_close(&a);
	fx_close(&b);
}
