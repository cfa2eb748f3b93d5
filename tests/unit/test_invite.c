/* test_invite.c - invite tokens: encode/decode round trip, fresh secrets and
 * hashes, and tokens that must be refused with a clear reason. */
#include "tests/unit/harness.h"

#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"
#include "src/model/invite.h"

TEST(roundTripKeepsEveryField)
{
	struct bx_invite_token t = {.cluster_id = "c0ffee",
				    .expires_at = 1795400000123.0},
			       u;
	char err[BX_ERRMSG_SIZE], *tok;

	ASSERT_INT(bx_invite_new_secret(t.id, t.secret), 0);
	ASSERT_INT(strlen(t.id), 16);
	ASSERT_INT(strlen(t.secret), 64);
	strcpy(t.members[t.n_members++], "10.0.0.1:7000");
	strcpy(t.members[t.n_members++], "[fd7a::1]:7000");
	tok = bx_invite_encode(&t);
	ASSERT(tok != NULL);
	ASSERT(strncmp(tok, "blx1.", 5) == 0);
	ASSERT(
	    strspn(tok + 5,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	    strlen(tok + 5));
	ASSERT_INT(bx_invite_decode(tok, &u, err), 0);
	ASSERT_STR(u.cluster_id, "c0ffee");
	ASSERT_STR(u.id, t.id);
	ASSERT_STR(u.secret, t.secret);
	ASSERT(u.expires_at == t.expires_at);
	ASSERT_INT(u.n_members, 2);
	ASSERT_STR(u.members[1], "[fd7a::1]:7000");
	free(tok);
}

TEST(secretsDifferAndHashesAreSha256)
{
	char id1[17], s1[65], id2[17], s2[65], h[65];

	ASSERT_INT(bx_invite_new_secret(id1, s1), 0);
	ASSERT_INT(bx_invite_new_secret(id2, s2), 0);
	ASSERT(strcmp(s1, s2) != 0 && strcmp(id1, id2) != 0);
	bx_invite_hash("abc", h);
	ASSERT_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(badTokensSayWhatIsWrong)
{
	static const struct {
		const char *tok, *want;
	} bad[] = {
	    {"", "not a Blixard invite token"},
	    {"blx2.abc", "not a Blixard invite token"},
	    {"blx1.a", "not base64url"},
	    {"blx1.ab+c", "not base64url"},
	    {"blx1.bm90IGpzb24", "not JSON inside"},      /* "not json" */
	    {"blx1.eyJjIjoiYWIifQ", "lacks the cluster"}, /* {"c":"ab"} */
	    {"blx1.eyJjIjoiYWIiLCJtIjpbIngiXSwiaSI6IjEiLCJzIjoiMiIsImUiOjF9",
	     "member address is not HOST:PORT"}, /* m: ["x"] */
	    {"blx1.eyJjIjoiWloiLCJtIjpbImE6MSJdLCJpIjoiMSIsInMiOiIyIiwiZSI6MX0",
	     "lacks the cluster"}, /* c: "ZZ", not hex */
	};
	struct bx_invite_token t;
	char err[BX_ERRMSG_SIZE];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ASSERT_MSG(bx_invite_decode(bad[i].tok, &t, err) == BX_EINVAL,
			   "accepted %s", bad[i].tok);
		ASSERT_CONTAINS(err, bad[i].want);
	}
}
