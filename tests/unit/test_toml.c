/* test_toml.c - the TOML parser's API: values, positions, errors, limits. */
#include "tests/unit/harness.h"

#include "src/base/error.h"
#include "src/toml/toml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct bx_toml_value *parse_ok(const char *src)
{
	struct bx_toml_value *doc = NULL;
	struct bx_toml_error err;
	int rv = bx_toml_parse(src, strlen(src), &doc, &err);

	ASSERT_MSG(rv == 0, "parse failed: %d:%d: %s", err.line, err.col, err.msg);
	return doc;
}

static struct bx_toml_error parse_bad(const char *src, int want)
{
	struct bx_toml_value *doc = NULL;
	struct bx_toml_error err;

	ASSERT_INT(bx_toml_parse(src, strlen(src), &doc, &err), want);
	ASSERT(doc == NULL);
	return err;
}

TEST(valuesAndTheirPositions)
{
	struct bx_toml_value *doc =
	    parse_ok("# spec\n[service]\nname = \"web\"\n  memory_mb = 0x100\n");
	const struct bx_toml_value *svc = bx_toml_get(doc, "service");
	const struct bx_toml_value *mem = bx_toml_get(svc, "memory_mb");

	ASSERT(svc != NULL && svc->type == BX_TOML_TABLE);
	ASSERT_INT(svc->line, 2);
	ASSERT_STR(bx_toml_get(svc, "name")->u.str.ptr, "web");
	ASSERT_INT(mem->type, BX_TOML_INTEGER);
	ASSERT_INT(mem->u.integer, 256);
	ASSERT_INT(mem->line, 4);
	ASSERT_INT(mem->col, 15);
	ASSERT(bx_toml_get(svc, "nope") == NULL);
	ASSERT(bx_toml_get(mem, "x") == NULL);
	bx_toml_free(doc);
}

TEST(errorSaysWhereAndWhatWasExpected)
{
	struct bx_toml_error err = parse_bad("a = 1\nname \"web\"\n", BX_EPARSE);

	ASSERT_INT(err.line, 2);
	ASSERT_INT(err.col, 6);
	ASSERT_CONTAINS(err.msg, "expected '='");
	ASSERT_CONTAINS(err.msg, "name");
}

TEST(duplicateKeysAndTablesAreRejected)
{
	ASSERT_CONTAINS(parse_bad("a = 1\na = 2\n", BX_EPARSE).msg, "duplicate key 'a'");
	ASSERT_CONTAINS(parse_bad("[t]\n[t]\n", BX_EPARSE).msg, "more than once");
	ASSERT_CONTAINS(parse_bad("t = {a = 1}\n[t]\n", BX_EPARSE).msg, "inline table");
	ASSERT_CONTAINS(parse_bad("a = [1]\n[[a]]\n", BX_EPARSE).msg, "static array");
}

TEST(keysWithEscapesAndNulBytesKeepTheirLength)
{
	struct bx_toml_value *doc = parse_ok("\"a\\u0000b\" = \"x\\u0000y\"\n");
	const struct bx_toml_kv *kv = &doc->u.table.items[0];

	ASSERT_INT(kv->key_len, 3);
	ASSERT(memcmp(kv->key, "a\0b", 3) == 0);
	ASSERT_INT(kv->value->u.str.len, 3);
	bx_toml_free(doc);
}

TEST(deepNestingIsRefusedWithoutBlowingTheStack)
{
	size_t n = 100000;
	char *src = malloc(n + 8);
	struct bx_toml_value *doc = NULL;
	struct bx_toml_error err;

	memcpy(src, "a = ", 4);
	memset(src + 4, '[', n);
	src[n + 4] = '\0';
	ASSERT_INT(bx_toml_parse(src, n + 4, &doc, &err), BX_EPARSE);
	ASSERT_CONTAINS(err.msg, "nested deeper");
	free(src);
}

TEST(oversizedInputIsRefusedBeforeParsing)
{
	struct bx_toml_value *doc = NULL;
	struct bx_toml_error err;

	ASSERT_INT(bx_toml_parse("", (size_t)BX_TOML_MAX_INPUT + 1, &doc, &err),
		   BX_ETOOBIG);
	ASSERT(doc == NULL);
}

TEST(datesTimesAndFloats)
{
	struct bx_toml_value *doc = parse_ok(
	    "d = 2024-02-29T12:30:00.25+02:00\nt = 07:32:00\nf = -inf\ng = 1e3\n");
	const struct bx_toml_value *d = bx_toml_get(doc, "d");

	ASSERT_INT(d->type, BX_TOML_DATETIME);
	ASSERT_INT(d->u.dt.day, 29);
	ASSERT_INT(d->u.dt.nanosecond, 250000000);
	ASSERT_INT(d->u.dt.offset_minutes, 120);
	ASSERT_INT(bx_toml_get(doc, "t")->type, BX_TOML_TIME_LOCAL);
	ASSERT(bx_toml_get(doc, "f")->u.fp < -1e308);
	ASSERT(bx_toml_get(doc, "g")->u.fp == 1000.0);
	bx_toml_free(doc);
	ASSERT_CONTAINS(parse_bad("d = 2023-02-29\n", BX_EPARSE).msg, "does not exist");
	ASSERT_CONTAINS(parse_bad("i = 9223372036854775808\n", BX_EPARSE).msg, "64 bits");
}

TEST(manyKeysParseInLinearTime)
{
	/* 200k keys in one table: quadratic lookups would take minutes */
	size_t n = 200000, cap = n * 16, len = 0;
	char *src = malloc(cap);
	struct bx_toml_value *doc;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(src + len, cap - len, "k%zu = %zu\n", i, i);
	doc = parse_ok(src);
	ASSERT_INT(doc->u.table.len, n);
	ASSERT_INT(bx_toml_get(doc, "k199999")->u.integer, 199999);
	bx_toml_free(doc);
	free(src);
}

TEST(typeNamesForMessages)
{
	ASSERT_STR(bx_toml_type_name(BX_TOML_INTEGER), "integer");
	ASSERT_STR(bx_toml_type_name(BX_TOML_TABLE), "table");
	bx_toml_free(NULL);
}
