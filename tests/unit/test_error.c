/* test_error.c - error codes, names and messages with context. */
#include "tests/unit/harness.h"

#include "src/base/error.h"

TEST(strerrorKnowsEveryCode)
{
	ASSERT_STR(bx_strerror(BX_OK), "ok");
	ASSERT_STR(bx_strerror(BX_ENOENT), "not found");
	ASSERT_STR(bx_errname(BX_ENOLEADER), "BX_ENOLEADER");
	ASSERT_STR(bx_strerror(-9999), "unknown error");
}

TEST(errwrapAddsContextOnTheWayUp)
{
	char msg[BX_ERRMSG_SIZE] = "";

	ASSERT_INT(bx_err(msg, BX_EPARSE, "line %d: expected '='", 3), BX_EPARSE);
	ASSERT_INT(bx_errwrap(msg, BX_EPARSE, "load '%s'", "web.toml"), BX_EPARSE);
	ASSERT_STR(msg, "load 'web.toml': line 3: expected '='");
}

TEST(errwrapOnEmptyMessageUsesCodeText)
{
	char msg[BX_ERRMSG_SIZE] = "";

	bx_errwrap(msg, BX_ETIMEDOUT, "wait for leader");
	ASSERT_STR(msg, "wait for leader: timed out");
}
