/* test_utf8.c - the strict UTF-8 check (src/base/utf8.c) and the cleaning of messages. */
#include "src/base/utf8.h"
#include "tests/unit/harness.h"

#include <string.h>

static bool valid(const char *s)
{
	return bx_utf8_valid(s, strlen(s));
}

TEST(wellFormedSequencesOfEveryLengthAreValid)
{
	ASSERT(valid(""));
	ASSERT(valid("plain ascii ~"));
	ASSERT(valid("\xc2\xa9 caf\xc3\xa9"));          /* 2 bytes */
	ASSERT(valid("\xe2\x82\xac \xef\xbf\xbd"));     /* 3 bytes, U+FFFD */
	ASSERT(valid("\xf0\x9f\x92\xa9 \xf4\x8f\xbf\xbf")); /* 4 bytes, U+10FFFF */
	ASSERT(valid("\xed\x9f\xbf")); /* U+D7FF, just below the surrogates */
}

TEST(malformedOverlongSurrogateAndOutOfRangeAreNot)
{
	static const char *const bad[] = {
	    "\xff",             /* never in UTF-8 */
	    "\x80",             /* a lone continuation byte */
	    "\xc3",             /* cut short */
	    "\xe2\x82",         /* cut short */
	    "\xc0\x80",         /* overlong NUL */
	    "\xc1\xbf",         /* overlong */
	    "\xe0\x80\xaf",     /* overlong '/' */
	    "\xf0\x80\x80\xaf", /* overlong '/' */
	    "\xed\xa0\x80",     /* U+D800, a surrogate */
	    "\xed\xbf\xbf",     /* U+DFFF */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf5\x80\x80\x80", /* past the range */
	    "ok\xe2\x28\xa1",   /* a bad continuation */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ASSERT_MSG(!valid(bad[i]), "case %zu taken as UTF-8", i);
	ASSERT_INT(bx_utf8_valid_prefix("ab\xff" "cd", 5), 2);
	ASSERT(!bx_utf8_valid("a\0b", 3)); /* a NUL inside ends a C string */
}

TEST(cleaningReplacesEachBadByteAndKeepsTheRest)
{
	char s[] = "name \xff\xfe and caf\xc3\xa9 \xed\xa0\x80!";

	bx_utf8_clean(s, strlen(s));
	ASSERT_STR(s, "name ?? and caf\xc3\xa9 ???" "!");
	ASSERT(valid(s));
}
