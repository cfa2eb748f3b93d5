/* test_token.c - API tokens: the format, parsing untrusted bearer strings, and
 * the check against the replicated state (good, wrong secret, malformed,
 * revoked). */
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>

#include "raft/fsm.h"
#include "src/base/error.h"
#include "src/model/token.h"
#include "src/store/store.h"
#include "src/store/token_check.h"

TEST(newTokensFormatAndParseBack)
{
	char id[17], secret[65], tok[BX_TOKEN_LEN + 1], id2[17], secret2[65];
	char err[BX_ERRMSG_SIZE] = "";

	ASSERT_INT(bx_token_new(id, secret), 0);
	ASSERT(bx_token_id_valid(id));
	ASSERT(bx_token_hash_valid(secret));
	bx_token_format(id, secret, tok);
	ASSERT_INT(strlen(tok), 86);
	ASSERT(strncmp(tok, "bxt1.", 5) == 0);
	ASSERT_MSG(bx_token_parse(tok, id2, secret2, err) == 0, "%s", err);
	ASSERT_STR(id2, id);
	ASSERT_STR(secret2, secret);
	bx_token_new(id2, secret2);
	ASSERT(strcmp(id, id2) != 0 && strcmp(secret, secret2) != 0);
}

TEST(anAuthorizationHeaderValueParsesToo)
{
	static const char *const ok[] = {
	    "Bearer bxt1.00112233aabbccdd."
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "bearer   bxt1.00112233aabbccdd."
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "BEARER bxt1.00112233aabbccdd."
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	char id[17], secret[65], err[BX_ERRMSG_SIZE] = "";

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ASSERT_MSG(bx_token_parse(ok[i], id, secret, err) == 0, "%s: %s", ok[i],
			   err);
		ASSERT_STR(id, "00112233aabbccdd");
		ASSERT_STR(
		    secret,
		    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	}
}

#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(malformedTokensSayWhatIsWrongAndNeverEchoTheInput)
{
	static const struct {
		const char *tok, *want;
	} bad[] = {
	    {"", "no API token given"},
	    {"Bearer ", "not a Blixard API token"},
	    {"Bearer", "not a Blixard API token"},
	    {"Basic dXNlcjpwYXNz", "not a Blixard API token"},
	    {"bxt2.00112233aabbccdd." SECRET, "not a Blixard API token"},
	    {"blx1.eyJjIjoiYWIifQ", "an invite token (blx1.) is not an API token"},
	    {"bxt1.", "its id, 16 hex digits"},
	    {"bxt1.00112233aabbcc", "its id, 16 hex digits"},
	    {"bxt1.00112233AABBCCDD." SECRET, "its id, 16 hex digits"},
	    {"bxt1.00112233aabbccdd", "a '.' must follow its 16-digit id"},
	    {"bxt1.00112233aabbccdd00." SECRET, "a '.' must follow"},
	    {"bxt1.00112233aabbccdd.", "its secret must be 64 hex digits"},
	    {"bxt1.00112233aabbccdd.0123", "its secret must be 64 hex digits"},
	    {"bxt1.00112233aabbccdd." SECRET "0", "then nothing"},
	    {"bxt1.00112233aabbccdd." SECRET " ", "then nothing"},
	    {"bxt1.00112233aabbccdd." SECRET "\n", "then nothing"},
	    {"Bearerbxt1.00112233aabbccdd." SECRET, "not a Blixard API token"},
	};
	char id[17], secret[65], err[BX_ERRMSG_SIZE];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ASSERT_MSG(bx_token_parse(bad[i].tok, id, secret, err) == BX_EINVAL,
			   "accepted '%s'", bad[i].tok);
		ASSERT_CONTAINS(err, bad[i].want);
		ASSERT_MSG(strstr(err, "00112233") == NULL, "echoed: %s", err);
		ASSERT_STR(id, "");
		ASSERT_STR(secret, "");
	}
	ASSERT_INT(bx_token_parse(NULL, id, secret, err), BX_EINVAL);
}

TEST(namesAndRolesAreChecked)
{
	char long_name[BX_TOKEN_NAME_MAX + 2];

	ASSERT(bx_token_role_valid("admin") && bx_token_role_valid("read"));
	ASSERT(!bx_token_role_valid("Admin") && !bx_token_role_valid("") &&
	       !bx_token_role_valid("write"));
	ASSERT(bx_token_name_valid("") && bx_token_name_valid("ci-deploy_2.x@host"));
	ASSERT(!bx_token_name_valid("a b") && !bx_token_name_valid("a/b") &&
	       !bx_token_name_valid("\"x\""));
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	ASSERT(!bx_token_name_valid(long_name));
	long_name[BX_TOKEN_NAME_MAX] = '\0';
	ASSERT(bx_token_name_valid(long_name));
}

struct fx {
	struct bx_store *store;
	struct bx_fsm fsm;
};

static void fx_open(struct fx *f)
{
	char dir[512], msg[BX_ERRMSG_SIZE] = "";

	snprintf(dir, sizeof dir, "%s/db", bx_test_tmpdir());
	ASSERT_MSG(bx_store_open(dir, NULL, &f->store, msg) == 0, "%s", msg);
	ASSERT_INT(bx_fsm_init(&f->fsm, f->store, NULL, NULL, NULL), 0);
}

static void fx_close(struct fx *f)
{
	bx_fsm_close(&f->fsm);
	bx_store_close(f->store);
}

static void apply_ok(struct fx *f, const char *cmd)
{
	uint64_t index = bx_store_applied_index(f->store) + 1;
	const struct bx_fsm_result *res =
	    &bx_fsm_apply_json(&f->fsm, index, cmd, strlen(cmd))->items[0];

	ASSERT_MSG(res->code == BX_OK, "%s: %s", cmd, res->msg);
}

/* A new token of `role` in the state, as the leader makes one; its string. */
static void make_token(struct fx *f, const char *role, char tok[BX_TOKEN_LEN + 1])
{
	char id[17], secret[65], hash[65], cmd[512];

	ASSERT_INT(bx_token_new(id, secret), 0);
	bx_token_hash(secret, hash);
	snprintf(cmd, sizeof cmd,
		 "{\"op\":\"token.create\",\"ts\":1,\"id\":\"%s\",\"role\":\"%s\","
		 "\"secret_hash\":\"%s\"}",
		 id, role, hash);
	apply_ok(f, cmd);
	bx_token_format(id, secret, tok);
}

TEST(checkAcceptsGoodTokensWithTheirRole)
{
	struct fx f;
	char admin[BX_TOKEN_LEN + 1], reader[BX_TOKEN_LEN + 1], bearer[128];
	char role[BX_TOKEN_ROLE_SIZE], err[BX_ERRMSG_SIZE] = "";

	fx_open(&f);
	make_token(&f, "admin", admin);
	make_token(&f, "read", reader);
	ASSERT_MSG(bx_token_check(f.store, admin, role, err) == 0, "%s", err);
	ASSERT_STR(role, "admin");
	snprintf(bearer, sizeof bearer, "Bearer %s", reader);
	ASSERT_MSG(bx_token_check(f.store, bearer, role, err) == 0, "%s", err);
	ASSERT_STR(role, "read");
	fx_close(&f);
}

TEST(checkRefusesAWrongSecretAnUnknownIdAndMalformedInput)
{
	struct fx f;
	char tok[BX_TOKEN_LEN + 1], forged[BX_TOKEN_LEN + 1];
	char role[BX_TOKEN_ROLE_SIZE], err[BX_ERRMSG_SIZE] = "";

	fx_open(&f);
	make_token(&f, "admin", tok);
	/* the same id, another secret (its last digit changed) */
	memcpy(forged, tok, sizeof forged);
	forged[BX_TOKEN_LEN - 1] = forged[BX_TOKEN_LEN - 1] == '0' ? '1' : '0';
	ASSERT_INT(bx_token_check(f.store, forged, role, err), BX_EPERM);
	ASSERT_CONTAINS(err, "wrong secret");
	ASSERT_STR(role, "");
	ASSERT(strstr(err, forged + 22) == NULL); /* no secret in the message */
	/* an id the cluster never made */
	memcpy(forged, tok, sizeof forged);
	forged[5] = forged[5] == '0' ? '1' : '0';
	ASSERT_INT(bx_token_check(f.store, forged, role, err), BX_EPERM);
	ASSERT_CONTAINS(err, "unknown or revoked");
	ASSERT_STR(role, "");
	ASSERT_INT(bx_token_check(f.store, "Bearer nonsense", role, err), BX_EINVAL);
	ASSERT_CONTAINS(err, "not a Blixard API token");
	ASSERT_INT(bx_token_check(f.store, NULL, role, err), BX_EINVAL);
	ASSERT_STR(role, "");
	fx_close(&f);
}

TEST(checkRefusesARevokedToken)
{
	struct fx f;
	char tok[BX_TOKEN_LEN + 1], other[BX_TOKEN_LEN + 1], cmd[128];
	char role[BX_TOKEN_ROLE_SIZE], err[BX_ERRMSG_SIZE] = "";

	fx_open(&f);
	make_token(&f, "admin", tok);
	make_token(&f, "admin", other);
	ASSERT_INT(bx_token_check(f.store, tok, role, err), 0);
	snprintf(cmd, sizeof cmd, "{\"op\":\"token.revoke\",\"ts\":2,\"id\":\"%.16s\"}",
		 tok + 5);
	apply_ok(&f, cmd);
	ASSERT_INT(bx_token_check(f.store, tok, role, err), BX_EPERM);
	ASSERT_CONTAINS(err, "unknown or revoked");
	ASSERT_STR(role, "");
	/* the others are untouched */
	ASSERT_INT(bx_token_check(f.store, other, role, err), 0);
	fx_close(&f);
}

TEST(checkCallsADamagedRecordSo)
{
	struct fx f;
	struct bx_store_txn *txn;
	cJSON *rec = cJSON_Parse("{\"id\":\"00112233aabbccdd\",\"role\":\"root\","
				 "\"secret_hash\":\"" SECRET "\"}");
	char role[BX_TOKEN_ROLE_SIZE], err[BX_ERRMSG_SIZE] = "";

	fx_open(&f);
	ASSERT_INT(bx_store_begin(f.store, &txn), 0);
	ASSERT_INT(bx_store_put_token(txn, "00112233aabbccdd", rec), 0);
	ASSERT_INT(bx_store_commit(txn, 1), 0);
	cJSON_Delete(rec);
	ASSERT_INT(bx_token_check(f.store, "bxt1.00112233aabbccdd." SECRET, role, err),
		   BX_ECORRUPT);
	ASSERT_CONTAINS(err, "damaged record");
	ASSERT_STR(role, "");
	fx_close(&f);
}
