/* toml-decoder.c - TOML on stdin, the conformance suite's tagged JSON on stdout. */
#include "src/toml/toml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Format (../shared/toml-test/README.md): every leaf is {"type": T, "value": S}
 * with S a string; tables are objects, arrays are arrays. Exit 0 on success;
 * on invalid input print "LINE:COL: message" to stderr and exit 1.
 */

static void print_frac(char *buf, size_t size, const struct bx_toml_datetime *dt)
{
	if (dt->frac_digits > 0) {
		char digits[16];
		snprintf(digits, sizeof digits, "%09u", dt->nanosecond);
		snprintf(buf, size, ".%.*s", dt->frac_digits, digits);
	} else {
		buf[0] = '\0';
	}
}

static void put_string(const char *s, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void leaf(const char *type, const char *value)
{
	printf("{\"type\":\"%s\",\"value\":", type);
	put_string(value, strlen(value));
	putchar('}');
}

static void emit(const struct bx_toml_value *v)
{
	char buf[128], frac[16];
	const struct bx_toml_datetime *dt = &v->u.dt;

	switch (v->type) {
	case BX_TOML_STRING:
		printf("{\"type\":\"string\",\"value\":");
		put_string(v->u.str.ptr, v->u.str.len);
		putchar('}');
		return;
	case BX_TOML_INTEGER:
		snprintf(buf, sizeof buf, "%lld", (long long)v->u.integer);
		leaf("integer", buf);
		return;
	case BX_TOML_FLOAT:
		if (isnan(v->u.fp))
			snprintf(buf, sizeof buf, "nan");
		else if (isinf(v->u.fp))
			snprintf(buf, sizeof buf, "%sinf", v->u.fp < 0 ? "-" : "");
		else
			snprintf(buf, sizeof buf, "%.17g", v->u.fp);
		leaf("float", buf);
		return;
	case BX_TOML_BOOL:
		leaf("bool", v->u.boolean ? "true" : "false");
		return;
	case BX_TOML_DATETIME:
		print_frac(frac, sizeof frac, dt);
		if (dt->offset_z)
			snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%sZ",
				 dt->year, dt->month, dt->day, dt->hour, dt->minute,
				 dt->second, frac);
		else
			snprintf(
			    buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d",
			    dt->year, dt->month, dt->day, dt->hour, dt->minute,
			    dt->second, frac, dt->offset_minutes < 0 ? '-' : '+',
			    abs(dt->offset_minutes) / 60, abs(dt->offset_minutes) % 60);
		leaf("datetime", buf);
		return;
	case BX_TOML_DATETIME_LOCAL:
		print_frac(frac, sizeof frac, dt);
		snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s", dt->year,
			 dt->month, dt->day, dt->hour, dt->minute, dt->second, frac);
		leaf("datetime-local", buf);
		return;
	case BX_TOML_DATE_LOCAL:
		snprintf(buf, sizeof buf, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
		leaf("date-local", buf);
		return;
	case BX_TOML_TIME_LOCAL:
		print_frac(frac, sizeof frac, dt);
		snprintf(buf, sizeof buf, "%02d:%02d:%02d%s", dt->hour, dt->minute,
			 dt->second, frac);
		leaf("time-local", buf);
		return;
	case BX_TOML_ARRAY:
		putchar('[');
		for (size_t i = 0; i < v->u.array.len; i++) {
			if (i > 0)
				putchar(',');
			emit(v->u.array.items[i]);
		}
		putchar(']');
		return;
	case BX_TOML_TABLE:
		putchar('{');
		for (size_t i = 0; i < v->u.table.len; i++) {
			if (i > 0)
				putchar(',');
			put_string(v->u.table.items[i].key, v->u.table.items[i].key_len);
			putchar(':');
			emit(v->u.table.items[i].value);
		}
		putchar('}');
		return;
	}
}

int main(void)
{
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);
	struct bx_toml_value *doc;
	struct bx_toml_error err;

	if (buf == NULL)
		return 2;
	while ((n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			char *grown = realloc(buf, cap * 2);
			if (grown == NULL)
				return 2;
			buf = grown;
			cap *= 2;
		}
	}
	if (bx_toml_parse(buf, len, &doc, &err) != 0) {
		fprintf(stderr, "%d:%d: %s\n", err.line, err.col, err.msg);
		free(buf);
		return 1;
	}
	emit(doc);
	putchar('\n');
	bx_toml_free(doc);
	free(buf);
	return 0;
}
