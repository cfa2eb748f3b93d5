/* json.c - a faster cJSON printer with the same output (see json.h). */
#include "src/base/json.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static bool grow(struct out *o, size_t more)
{
	size_t cap;
	char *b;

	if (o->oom)
		return false;
	if (o->len + more + 1 <= o->cap)
		return true;
	cap = o->cap ? o->cap : 256;
	while (cap < o->len + more + 1)
		cap *= 2;
	b = realloc(o->buf, cap);
	if (b == NULL) {
		o->oom = true;
		return false;
	}
	o->buf = b;
	o->cap = cap;
	return true;
}

static void put(struct out *o, const char *s, size_t n)
{
	if (grow(o, n)) {
		memcpy(o->buf + o->len, s, n);
		o->len += n;
	}
}

/* "%lld" without printf's machinery (a write prints ~50 numbers: snprintf
 * was ~5 % of the leader's CPU) */
static int format_integer(char *buf, long long v)
{
	char rev[24];
	unsigned long long u =
	    v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int n = 0, len = 0;

	do {
		rev[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[len++] = '-';
	while (n > 0)
		buf[len++] = rev[--n];
	return len;
}

static void number(struct out *o, double d)
{
	char tmp[32];
	int n;

	if (isnan(d) || isinf(d)) {
		put(o, "null", 4);
		return;
	}
	/* below 1e15 "%1.15g" of a whole number is its digits: the same text */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d &&
	    !(d == 0 && signbit(d))) {
		n = format_integer(tmp, (long long)d);
	} else { /* as cJSON: 15 digits if they read back the same, else 17 */
		double back = 0;
		bool same;

		n = snprintf(tmp, sizeof tmp, "%1.15g", d);
		same = sscanf(tmp, "%lg", &back) == 1 &&
		       fabs(back - d) <=
			   (fabs(back) > fabs(d) ? fabs(back) : fabs(d)) * DBL_EPSILON;
		if (!same)
			n = snprintf(tmp, sizeof tmp, "%1.17g", d);
	}
	put(o, tmp, (size_t)n);
}

static void string(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	const unsigned char *run = p;

	put(o, "\"", 1);
	for (; *p != '\0'; p++) {
		char esc[6];
		size_t n = 2;

		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		put(o, (const char *)run, (size_t)(p - run));
		esc[0] = '\\';
		switch (*p) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			n = 6;
		}
		put(o, esc, n);
		run = p + 1;
	}
	put(o, (const char *)run, (size_t)(p - run));
	put(o, "\"", 1);
}

static void value(struct out *o, const cJSON *v)
{
	const cJSON *c;
	bool first = true;

	switch (v->type & 0xff) {
	case cJSON_NULL:
		put(o, "null", 4);
		break;
	case cJSON_False:
		put(o, "false", 5);
		break;
	case cJSON_True:
		put(o, "true", 4);
		break;
	case cJSON_Number:
		number(o, v->valuedouble);
		break;
	case cJSON_String:
		string(o, v->valuestring);
		break;
	case cJSON_Raw:
		if (v->valuestring != NULL)
			put(o, v->valuestring, strlen(v->valuestring));
		else
			o->oom = true; /* cJSON fails on it too */
		break;
	case cJSON_Array:
		put(o, "[", 1);
		for (c = v->child; c != NULL; c = c->next, first = false) {
			if (!first)
				put(o, ",", 1);
			value(o, c);
		}
		put(o, "]", 1);
		break;
	case cJSON_Object:
		put(o, "{", 1);
		for (c = v->child; c != NULL; c = c->next, first = false) {
			if (!first)
				put(o, ",", 1);
			string(o, c->string);
			put(o, ":", 1);
			value(o, c);
		}
		put(o, "}", 1);
		break;
	default:
		o->oom = true; /* cJSON_Invalid: cJSON prints nothing either */
	}
}

char *bx_json_print(const cJSON *item, size_t *len)
{
	struct out o = {0};

	if (item == NULL)
		return NULL;
	value(&o, item);
	if (o.oom || !grow(&o, 0)) {
		free(o.buf);
		return NULL;
	}
	o.buf[o.len] = '\0';
	if (len != NULL)
		*len = o.len;
	return o.buf;
}

bool bx_json_whole(const cJSON *v, uint64_t min, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	/* NaN fails both comparisons */
	if (!(d >= (double)min && d <= 9007199254740992.0) || d != (double)(uint64_t)d)
		return false;
	*out = (uint64_t)d;
	return true;
}
