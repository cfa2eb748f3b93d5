/* toml_scalar.c - TOML numbers, booleans, dates and times. */
#include "src/base/error.h"
#include "src/toml/toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- numbers, booleans, dates ------------------------------------------------- */

bool toml_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* n digits at p->pos + off? */
static bool digits_at(const struct parser *p, size_t off, int n)
{
	for (int i = 0; i < n; i++)
		if (!toml_is_digit(toml_peek_at(p, off + (size_t)i)))
			return false;
	return true;
}

static int num_at(const struct parser *p, size_t off, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (p->src[p->pos + off + (size_t)i] - '0');
	return v;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* HH:MM:SS[.frac] at p->pos; fills dt; returns bytes used or -1 after failing. */
static int parse_time(struct parser *p, struct bx_toml_datetime *dt)
{
	size_t n = 8;

	if (!digits_at(p, 0, 2) || toml_peek_at(p, 2) != ':' || !digits_at(p, 3, 2) ||
	    toml_peek_at(p, 5) != ':' || !digits_at(p, 6, 2))
		return FAIL(p, "expected a time HH:MM:SS");
	dt->hour = num_at(p, 0, 2);
	dt->minute = num_at(p, 3, 2);
	dt->second = num_at(p, 6, 2);
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
		return FAIL(p, "time %02d:%02d:%02d out of range", dt->hour, dt->minute,
			    dt->second);
	if (toml_peek_at(p, 8) == '.') {
		n = 9;
		if (!toml_is_digit(toml_peek_at(p, 9)))
			return toml_fail_at(p, p->pos + 9,
					    "expected digits after '.' in a time");
		while (toml_is_digit(toml_peek_at(p, n))) {
			if (dt->frac_digits < 9) {
				dt->nanosecond = dt->nanosecond * 10 +
						 (uint32_t)(p->src[p->pos + n] - '0');
				dt->frac_digits++;
			}
			n++;
		}
		for (int d = dt->frac_digits; d < 9; d++)
			dt->nanosecond *= 10;
	}
	return (int)n;
}

/* A date, time or date-time at p->pos (already known to start like one). */
int toml_parse_datetime(struct parser *p, struct node *n)
{
	struct bx_toml_datetime *dt = &n->v.u.dt;
	size_t start = p->pos;
	int used;

	memset(dt, 0, sizeof *dt);
	if (digits_at(p, 0, 2) && toml_peek_at(p, 2) == ':') {
		used = parse_time(p, dt);
		if (used < 0)
			return -1;
		p->pos += (size_t)used;
		n->v.type = BX_TOML_TIME_LOCAL;
		return 0;
	}
	dt->year = num_at(p, 0, 4);
	dt->month = num_at(p, 5, 2);
	dt->day = num_at(p, 8, 2);
	if (dt->month < 1 || dt->month > 12 || dt->day < 1 ||
	    dt->day > days_in(dt->year, dt->month))
		return FAIL(p, "date %04d-%02d-%02d does not exist", dt->year, dt->month,
			    dt->day);
	p->pos += 10;
	n->v.type = BX_TOML_DATE_LOCAL;
	/* 'T', 't' or a space followed by a time */
	if ((toml_peek(p) == 'T' || toml_peek(p) == 't' || toml_peek(p) == ' ') &&
	    digits_at(p, 1, 2) && toml_peek_at(p, 3) == ':') {
		p->pos++;
		used = parse_time(p, dt);
		if (used < 0)
			return -1;
		p->pos += (size_t)used;
		n->v.type = BX_TOML_DATETIME_LOCAL;
		if (toml_peek(p) == 'Z' || toml_peek(p) == 'z') {
			p->pos++;
			dt->offset_z = true;
			n->v.type = BX_TOML_DATETIME;
		} else if (toml_peek(p) == '+' || toml_peek(p) == '-') {
			int sign = toml_peek(p) == '-' ? -1 : 1;
			if (!digits_at(p, 1, 2) || toml_peek_at(p, 3) != ':' ||
			    !digits_at(p, 4, 2))
				return FAIL(p, "expected a time offset [+-]HH:MM");
			int oh = num_at(p, 1, 2), om = num_at(p, 4, 2);
			if (oh > 23 || om > 59)
				return FAIL(p, "time offset out of range");
			dt->offset_minutes = sign * (oh * 60 + om);
			p->pos += 6;
			n->v.type = BX_TOML_DATETIME;
		}
	} else if (toml_peek(p) == 'T' || toml_peek(p) == 't') {
		return FAIL(p, "expected a time after 'T'");
	}
	if (toml_is_bare(toml_peek(p)) || toml_peek(p) == '.' || toml_peek(p) == ':' ||
	    toml_peek(p) == '+')
		return toml_fail_at(p, start, "malformed date-time");
	return 0;
}

bool toml_looks_like_datetime(const struct parser *p)
{
	return (digits_at(p, 0, 4) && toml_peek_at(p, 4) == '-' && digits_at(p, 5, 2) &&
		toml_peek_at(p, 7) == '-' && digits_at(p, 8, 2)) ||
	       (digits_at(p, 0, 2) && toml_peek_at(p, 2) == ':');
}

/* Digits of `base` with single underscores between digits; into buf (no '_'). */
static int scan_digits(struct parser *p, int base, char *buf, size_t size, size_t *len,
		       const char *what)
{
	bool prev_digit = false;

	*len = 0;
	for (;;) {
		int c = toml_peek(p);
		bool ok = base == 16  ? toml_hexval(c) >= 0
			  : base == 8 ? (c >= '0' && c <= '7')
			  : base == 2 ? (c == '0' || c == '1')
				      : toml_is_digit(c);
		if (ok) {
			if (*len + 1 >= size)
				return FAIL(p, "%s has too many digits", what);
			buf[(*len)++] = (char)c;
			prev_digit = true;
			p->pos++;
		} else if (c == '_') {
			if (!prev_digit ||
			    !(base == 16  ? toml_hexval(toml_peek_at(p, 1)) >= 0
			      : base == 8 ? (toml_peek_at(p, 1) >= '0' &&
					     toml_peek_at(p, 1) <= '7')
			      : base == 2 ? (toml_peek_at(p, 1) == '0' ||
					     toml_peek_at(p, 1) == '1')
					  : toml_is_digit(toml_peek_at(p, 1))))
				return FAIL(p, "'_' in %s must be between digits", what);
			prev_digit = false;
			p->pos++;
		} else {
			break;
		}
	}
	buf[*len] = '\0';
	if (*len == 0)
		return FAIL(p, "expected digits in %s", what);
	return 0;
}

int toml_parse_number(struct parser *p, struct node *n)
{
	char buf[512];
	size_t len, at = p->pos;
	int sign = 0;
	char cbuf[32];

	if (toml_peek(p) == '+' || toml_peek(p) == '-') {
		sign = toml_peek(p) == '-' ? -1 : 1;
		p->pos++;
	}
	/* inf and nan */
	if (p->len - p->pos >= 3 && memcmp(p->src + p->pos, "inf", 3) == 0) {
		p->pos += 3;
		n->v.type = BX_TOML_FLOAT;
		n->v.u.fp = sign < 0 ? -INFINITY : INFINITY;
		goto done;
	}
	if (p->len - p->pos >= 3 && memcmp(p->src + p->pos, "nan", 3) == 0) {
		p->pos += 3;
		n->v.type = BX_TOML_FLOAT;
		n->v.u.fp = sign < 0 ? -NAN : NAN;
		goto done;
	}
	if (toml_peek(p) == '0' &&
	    (toml_peek_at(p, 1) == 'x' || toml_peek_at(p, 1) == 'o' ||
	     toml_peek_at(p, 1) == 'b')) {
		int base = toml_peek_at(p, 1) == 'x'   ? 16
			   : toml_peek_at(p, 1) == 'o' ? 8
						       : 2;
		uint64_t v = 0;
		if (sign != 0)
			return toml_fail_at(
			    p, at,
			    "a sign is not allowed on hex, octal or binary integers");
		p->pos += 2;
		if (scan_digits(p, base, buf, sizeof buf, &len, "an integer") != 0)
			return -1;
		for (size_t i = 0; i < len; i++) {
			uint64_t d = (uint64_t)toml_hexval(buf[i]);
			if (v > (UINT64_C(0x7fffffffffffffff) - d) / (uint64_t)base)
				return toml_fail_at(p, at,
						    "integer does not fit in 64 bits");
			v = v * (uint64_t)base + d;
		}
		n->v.type = BX_TOML_INTEGER;
		n->v.u.integer = (int64_t)v;
		goto done;
	}
	if (!toml_is_digit(toml_peek(p)))
		return toml_fail_at(p, at, "expected a value, found %s",
				    toml_describe(p->src[at], cbuf, sizeof cbuf));
	{
		char text[600];
		size_t tl = 0;
		bool is_float = false;
		size_t int_start = p->pos;

		if (scan_digits(p, 10, buf, sizeof buf, &len, "a number") != 0)
			return -1;
		if (len > 1 && buf[0] == '0')
			return toml_fail_at(p, int_start,
					    "leading zeros are not allowed");
		if (sign < 0)
			text[tl++] = '-';
		memcpy(text + tl, buf, len);
		tl += len;
		if (toml_peek(p) == '.') {
			p->pos++;
			if (!toml_is_digit(toml_peek(p)))
				return FAIL(p, "expected digits after the decimal point");
			if (scan_digits(p, 10, buf, sizeof buf, &len, "a fraction") != 0)
				return -1;
			if (tl + len + 2 >= sizeof text)
				return toml_fail_at(p, at, "number has too many digits");
			text[tl++] = '.';
			memcpy(text + tl, buf, len);
			tl += len;
			is_float = true;
		}
		if (toml_peek(p) == 'e' || toml_peek(p) == 'E') {
			p->pos++;
			text[tl++] = 'e';
			if (toml_peek(p) == '+' || toml_peek(p) == '-')
				text[tl++] = (char)p->src[p->pos++];
			if (scan_digits(p, 10, buf, sizeof buf, &len, "an exponent") != 0)
				return -1;
			if (tl + len + 1 >= sizeof text)
				return toml_fail_at(p, at, "number has too many digits");
			memcpy(text + tl, buf, len);
			tl += len;
			is_float = true;
		}
		text[tl] = '\0';
		if (is_float) {
			n->v.type = BX_TOML_FLOAT;
			n->v.u.fp = strtod(text, NULL);
		} else {
			char *end;
			errno = 0;
			long long v = strtoll(text, &end, 10);
			if (errno == ERANGE)
				return toml_fail_at(p, at,
						    "integer does not fit in 64 bits");
			n->v.type = BX_TOML_INTEGER;
			n->v.u.integer = v;
		}
	}
done:
	if (toml_is_bare(toml_peek(p)) || toml_peek(p) == '.' || toml_peek(p) == '+')
		return FAIL(p, "unexpected %s in a number",
			    toml_describe(toml_peek(p), cbuf, sizeof cbuf));
	return 0;
}
