/* test_advertise.c - which listening addresses are wildcards, and what a node
 * advertises for them; asking a tailscaled that is not there fails clearly. */
#include "tests/unit/harness.h"

#include <string.h>

#include "src/base/error.h"
#include "src/node/advertise.h"

TEST(wildcardHostsAreRecognised)
{
	ASSERT(bx_advertise_wildcard("0.0.0.0:7000"));
	ASSERT(bx_advertise_wildcard("[::]:7001"));
	ASSERT(bx_advertise_wildcard(":7000"));
	ASSERT(!bx_advertise_wildcard("100.64.0.1:7000"));
	ASSERT(!bx_advertise_wildcard("0.0.0.01:7000"));
	ASSERT(!bx_advertise_wildcard("localhost:7000"));
	ASSERT(!bx_advertise_wildcard("[fd7a::1]:7000"));
}

TEST(aWildcardHostIsReplacedAndThePortKept)
{
	char out[BX_ADDR_MAX];

	bx_advertise_with("0.0.0.0:7000", "100.101.3.4", out);
	ASSERT_STR(out, "100.101.3.4:7000");
	bx_advertise_with("[::]:7001", "100.101.3.4", out);
	ASSERT_STR(out, "100.101.3.4:7001");
	bx_advertise_with("10.0.0.1:7000", "100.101.3.4", out);
	ASSERT_STR(out, "10.0.0.1:7000");
}

TEST(noTailscaledIsAClearError)
{
	char ip[16] = "", err[BX_ERRMSG_SIZE];

	ASSERT_INT(bx_advertise_tailscale_ip("/nonexistent/tailscaled.sock", ip, err),
		   BX_EUNAVAIL);
	ASSERT_CONTAINS(err, "cannot reach tailscaled at /nonexistent/tailscaled.sock");
	ASSERT_STR(ip, "");
}
