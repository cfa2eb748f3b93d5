/* test_json.c - bx_json_print writes exactly what cJSON_PrintUnformatted
 * does: on hand-picked values (time stamps, ids, 2^53, fractions, escapes,
 * nesting) and on many random trees. */
#include "tests/unit/harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/json.h"

static void same_as_cjson(const cJSON *v)
{
	char *want = cJSON_PrintUnformatted(v), *got;
	size_t len = 0;

	got = bx_json_print(v, &len);
	ASSERT(want != NULL && got != NULL);
	ASSERT_STR(got, want);
	ASSERT_INT(len, strlen(want));
	cJSON_free(want);
	free(got);
}

TEST(handPickedValuesPrintAsCjsonDoes)
{
	static const double nums[] = {0,
				      -0.0,
				      1,
				      -1,
				      42,
				      2147483647.0,
				      2147483648.0,
				      -2147483649.0,
				      1795400000123.0,
				      999999999999999.0,
				      1e15,
				      9007199254740992.0,
				      1e300,
				      0.1,
				      0.5,
				      1.0 / 3,
				      -2.5e-7,
				      123456.789,
				      NAN,
				      INFINITY};
	static const char *const strs[] = {
	    "",           "plain", "quote\" back\\slash", "\b\f\n\r\t", "\x01\x1f ok",
	    "utf-8: Ωß✓", "/slash"};
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		cJSON *n = cJSON_CreateNumber(nums[i]);
		same_as_cjson(n);
		cJSON_AddItemToArray(a, n);
	}
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		cJSON *s = cJSON_CreateString(strs[i]);
		same_as_cjson(s);
		cJSON_AddItemToObject(o, strs[i], s);
	}
	cJSON_AddItemToObject(o, "nums", a);
	cJSON_AddItemToObject(o, "t", cJSON_CreateTrue());
	cJSON_AddItemToObject(o, "f", cJSON_CreateFalse());
	cJSON_AddItemToObject(o, "n", cJSON_CreateNull());
	cJSON_AddItemToObject(o, "empty", cJSON_CreateObject());
	cJSON_AddItemToObject(o, "none", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "raw", cJSON_CreateRaw("{\"x\":1}"));
	same_as_cjson(o);
	/* a number whose double was set directly, not through cJSON */
	a = cJSON_CreateNumber(1);
	a->valuedouble = 1795400000123.0;
	same_as_cjson(a);
	cJSON_Delete(a);
	cJSON_Delete(o);
}

static cJSON *random_tree(unsigned *seed, int depth)
{
	int kind = depth > 3 ? (int)(rand_r(seed) % 5) : (int)(rand_r(seed) % 7);
	cJSON *v;
	char s[16];

	switch (kind) {
	case 0:
		return cJSON_CreateNumber((double)(rand_r(seed) % 100000) * 1e7 +
					  rand_r(seed) % 7);
	case 1:
		return cJSON_CreateNumber((double)rand_r(seed) / 7.0 - 1e6);
	case 2:
		for (size_t i = 0; i < sizeof s - 1; i++)
			s[i] = (char)(1 + rand_r(seed) % 127);
		s[sizeof s - 1] = '\0';
		return cJSON_CreateString(s);
	case 3:
		return cJSON_CreateBool(rand_r(seed) % 2);
	case 4:
		return cJSON_CreateNull();
	case 5:
		v = cJSON_CreateArray();
		for (int i = (int)(rand_r(seed) % 4); i > 0; i--)
			cJSON_AddItemToArray(v, random_tree(seed, depth + 1));
		return v;
	default:
		v = cJSON_CreateObject();
		for (int i = (int)(rand_r(seed) % 4); i > 0; i--) {
			snprintf(s, sizeof s, "k%u", rand_r(seed) % 50);
			cJSON_AddItemToObject(v, s, random_tree(seed, depth + 1));
		}
		return v;
	}
}

TEST(randomTreesPrintAsCjsonDoes)
{
	unsigned seed = 12345;

	for (int i = 0; i < 2000; i++) {
		cJSON *t = random_tree(&seed, 0);
		same_as_cjson(t);
		cJSON_Delete(t);
	}
}
