/* toml.c - a TOML 1.0 parser with no I/O: text in, a document tree out. */
#include "toml.h"

#include "error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A hand-written recursive-descent parser. Recursion happens only for nested
 * values (arrays, inline tables) and is bounded by BX_TOML_MAX_DEPTH; the
 * rest is loops. The first error stops everything: it longjmp-free unwinds
 * by returning -1 up the call chain, the partial tree is freed, and the
 * position is the byte where the problem was seen.
 *
 * Every value is allocated as a `struct node`, whose first member is the
 * public struct bx_toml_value, so the tree handed out is plain public
 * structs; the extra fields carry what the redefinition rules need:
 *
 *   EXPLICIT  a table defined by a [header] (may not be defined again)
 *   IMPLICIT  a table created as the parent of a header or dotted key
 *   DOTTED    a table created by a dotted key (no [header] may define it)
 *   FROZEN    an inline table or anything inside one (never extended)
 *   AOT       an array created by [[header]] (static arrays never grow)
 *
 * Tables with many keys get a hash index so that a large document is
 * parsed in linear time.
 */

enum { F_EXPLICIT = 1, F_IMPLICIT = 2, F_DOTTED = 4, F_FROZEN = 8, F_AOT = 16 };

struct node {
	struct bx_toml_value v; /* first: node pointers and value pointers convert */
	unsigned flags;
	uint32_t *index; /* tables: open-addressed slots holding item position + 1 */
	size_t index_cap;
};

struct parser {
	const char *src;
	size_t len;
	size_t pos;
	int line;
	size_t line_start;
	int depth;
	struct bx_toml_error *err;
	int code; /* BX_EPARSE, BX_ENOMEM once failed */
	bool failed;
};

/* --- errors and positions ----------------------------------------------- */

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int line = 1;
	size_t start = 0;

	if (p->failed)
		return -1;
	p->failed = true;
	if (p->code == 0)
		p->code = BX_EPARSE;
	if (pos > p->len)
		pos = p->len;
	/* errors are rare: count lines from the start */
	for (size_t i = 0; i < pos; i++)
		if (p->src[i] == '\n') {
			line++;
			start = i + 1;
		}
	p->err->line = line;
	p->err->col = (int)(pos - start) + 1;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

#define FAIL(p, ...) fail_at(p, (p)->pos, __VA_ARGS__)

static int oom(struct parser *p)
{
	p->code = BX_ENOMEM;
	return fail_at(p, p->pos, "out of memory");
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->src[p->pos] : -1;
}

static int peek_at(const struct parser *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->src[p->pos + off] : -1;
}

/* Move forward n bytes, keeping the line count (values record line:col). */
static void advance(struct parser *p, size_t n)
{
	for (size_t i = 0; i < n && p->pos < p->len; i++, p->pos++)
		if (p->src[p->pos] == '\n') {
			p->line++;
			p->line_start = p->pos + 1;
		}
}

static int col(const struct parser *p)
{
	return (int)(p->pos - p->line_start) + 1;
}

static const char *describe(int c, char *buf, size_t size)
{
	if (c < 0)
		snprintf(buf, size, "end of input");
	else if (c == '\n')
		snprintf(buf, size, "end of line");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", (unsigned)c);
	return buf;
}

/* --- nodes ------------------------------------------------------------------ */

static struct node *new_node(struct parser *p, enum bx_toml_type type, int line,
			     int column)
{
	struct node *n = calloc(1, sizeof *n);

	if (n == NULL) {
		oom(p);
		return NULL;
	}
	n->v.type = type;
	n->v.line = line;
	n->v.col = column;
	return n;
}

void bx_toml_free(struct bx_toml_value *value)
{
	struct node *n = (struct node *)value;

	if (value == NULL)
		return;
	switch (value->type) {
	case BX_TOML_STRING:
		free(value->u.str.ptr);
		break;
	case BX_TOML_ARRAY:
		for (size_t i = 0; i < value->u.array.len; i++)
			bx_toml_free(value->u.array.items[i]);
		free(value->u.array.items);
		break;
	case BX_TOML_TABLE:
		for (size_t i = 0; i < value->u.table.len; i++) {
			free(value->u.table.items[i].key);
			bx_toml_free(value->u.table.items[i].value);
		}
		free(value->u.table.items);
		free(n->index);
		break;
	default:
		break;
	}
	free(n);
}

static uint32_t hash_key(const char *key, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

#define INDEX_FROM 8 /* tables with more keys than this get a hash index */

static struct bx_toml_kv *find_key(struct bx_toml_value *table, const char *key,
				   size_t len)
{
	struct node *n = (struct node *)table;

	if (n->index != NULL) {
		size_t mask = n->index_cap - 1;
		for (size_t i = hash_key(key, len) & mask;; i = (i + 1) & mask) {
			uint32_t slot = n->index[i];
			if (slot == 0)
				return NULL;
			struct bx_toml_kv *kv = &table->u.table.items[slot - 1];
			if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
				return kv;
		}
	}
	for (size_t i = 0; i < table->u.table.len; i++) {
		struct bx_toml_kv *kv = &table->u.table.items[i];
		if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
			return kv;
	}
	return NULL;
}

static bool index_put(struct node *n, size_t pos)
{
	struct bx_toml_kv *kv = &n->v.u.table.items[pos];
	size_t mask = n->index_cap - 1;

	for (size_t i = hash_key(kv->key, kv->key_len) & mask;; i = (i + 1) & mask)
		if (n->index[i] == 0) {
			n->index[i] = (uint32_t)(pos + 1);
			return true;
		}
}

static bool reindex(struct node *n)
{
	size_t cap = 16;

	while (cap < n->v.u.table.len * 2 + 2)
		cap *= 2;
	free(n->index);
	n->index = calloc(cap, sizeof *n->index);
	if (n->index == NULL)
		return false;
	n->index_cap = cap;
	for (size_t i = 0; i < n->v.u.table.len; i++)
		index_put(n, i);
	return true;
}

/* Add key -> value (key copied). The caller checked the key is new. */
static int table_add(struct parser *p, struct bx_toml_value *table, const char *key,
		     size_t len, struct bx_toml_value *value)
{
	struct node *n = (struct node *)table;
	size_t count = table->u.table.len;
	struct bx_toml_kv *kv;

	if ((count & (count - 1)) == 0) { /* 0, 1, 2, 4, 8…: grow by doubling */
		size_t cap = count ? count * 2 : 1;
		struct bx_toml_kv *grown =
		    realloc(table->u.table.items, cap * sizeof *grown);
		if (grown == NULL)
			return oom(p);
		table->u.table.items = grown;
	}
	kv = &table->u.table.items[count];
	kv->key = malloc(len + 1);
	if (kv->key == NULL)
		return oom(p);
	memcpy(kv->key, key, len);
	kv->key[len] = '\0';
	kv->key_len = len;
	kv->value = value;
	table->u.table.len++;
	if (table->u.table.len > INDEX_FROM) {
		if (n->index == NULL || table->u.table.len * 2 > n->index_cap) {
			if (!reindex(n))
				return oom(p);
		} else {
			index_put(n, count);
		}
	}
	return 0;
}

static int array_add(struct parser *p, struct bx_toml_value *array,
		     struct bx_toml_value *value)
{
	size_t count = array->u.array.len;

	if ((count & (count - 1)) == 0) {
		size_t cap = count ? count * 2 : 1;
		struct bx_toml_value **grown =
		    realloc(array->u.array.items, cap * sizeof *grown);
		if (grown == NULL)
			return oom(p);
		array->u.array.items = grown;
	}
	array->u.array.items[count] = value;
	array->u.array.len++;
	return 0;
}

/* --- whitespace, comments, newlines ------------------------------------- */

static bool is_ws(int c)
{
	return c == ' ' || c == '\t';
}

static void skip_ws(struct parser *p)
{
	while (is_ws(peek(p)))
		p->pos++;
}

/* A control character other than tab is not allowed in comments or strings. */
static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static int skip_comment(struct parser *p)
{
	if (peek(p) != '#')
		return 0;
	while (p->pos < p->len && p->src[p->pos] != '\n') {
		int c = peek(p);
		if (c == '\r' && peek_at(p, 1) == '\n')
			break;
		if (is_control(c))
			return FAIL(p, "control character 0x%02x in a comment",
				    (unsigned)c);
		p->pos++;
	}
	return 0;
}

/* At a newline (LF or CRLF)? Returns its length, 0 if none. */
static size_t newline_len(const struct parser *p)
{
	if (peek(p) == '\n')
		return 1;
	if (peek(p) == '\r' && peek_at(p, 1) == '\n')
		return 2;
	return 0;
}

/* Whitespace, comments and newlines (between array items, between expressions). */
static int skip_blank(struct parser *p)
{
	for (;;) {
		size_t nl;
		skip_ws(p);
		if (skip_comment(p) != 0)
			return -1;
		nl = newline_len(p);
		if (nl == 0)
			return 0;
		advance(p, nl);
	}
}

/* After an expression: optional whitespace and comment, then a newline or the end. */
static int end_of_line(struct parser *p, const char *after)
{
	char buf[32];
	size_t nl;

	skip_ws(p);
	if (skip_comment(p) != 0)
		return -1;
	if (p->pos >= p->len)
		return 0;
	nl = newline_len(p);
	if (nl == 0)
		return FAIL(p, "expected the end of the line after %s, found %s", after,
			    describe(peek(p), buf, sizeof buf));
	advance(p, nl);
	return 0;
}

/* --- UTF-8 ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int check_utf8(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->src;

	for (size_t i = 0; i < p->len;) {
		size_t n = utf8_len(s + i, p->len - i);
		if (n == 0)
			return fail_at(p, i, "invalid UTF-8 (byte 0x%02x)", s[i]);
		i += n;
	}
	return 0;
}

/* --- strings ------------------------------------------------------------------- */

struct sbuf {
	char *data;
	size_t len, cap;
};

static int sb_put(struct parser *p, struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (grown == NULL)
			return oom(p);
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int sb_utf8(struct parser *p, struct sbuf *b, uint32_t cp)
{
	char out[4];
	size_t n;

	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (char)(0xf0 | cp >> 18);
		out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return sb_put(p, b, out, n);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_escape(struct parser *p, struct sbuf *b)
{
	size_t at = p->pos; /* the backslash */
	int c = peek_at(p, 1);
	const char *simple = NULL;
	char buf[32];

	switch (c) {
	case 'b':
		simple = "\b";
		break;
	case 't':
		simple = "\t";
		break;
	case 'n':
		simple = "\n";
		break;
	case 'f':
		simple = "\f";
		break;
	case 'r':
		simple = "\r";
		break;
	case '"':
		simple = "\"";
		break;
	case '\\':
		simple = "\\";
		break;
	case 'u':
	case 'U': {
		int digits = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (int i = 0; i < digits; i++) {
			int h = hexval(peek_at(p, 2 + (size_t)i));
			if (h < 0)
				return fail_at(p, at, "\\%c needs %d hex digits", c,
					       digits);
			cp = cp << 4 | (uint32_t)h;
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return fail_at(p, at, "\\%c%0*X is not a Unicode scalar value", c,
				       digits, cp);
		p->pos += 2 + (size_t)digits;
		return sb_utf8(p, b, cp);
	}
	default:
		return fail_at(p, at, "invalid escape sequence '\\%s'",
			       c >= 0x21 && c < 0x7f ? (char[]){(char)c, 0}
						     : describe(c, buf, sizeof buf));
	}
	p->pos += 2;
	return sb_put(p, b, simple, 1);
}

/* Basic or literal, single- or multi-line; p->pos at the opening quote. */
static int parse_string(struct parser *p, char **out, size_t *out_len, bool allow_multi)
{
	char quote = p->src[p->pos];
	bool literal = quote == '\'';
	bool multi = allow_multi && peek_at(p, 1) == quote && peek_at(p, 2) == quote;
	size_t start = p->pos;
	struct sbuf b = {0};

	if (sb_put(p, &b, "", 0) != 0)
		return -1;
	if (multi) {
		advance(p, 3);
		/* a newline right after the opening quotes is trimmed */
		advance(p, newline_len(p));
	} else {
		p->pos++;
	}
	for (;;) {
		int c = peek(p);
		if (c < 0) {
			free(b.data);
			return fail_at(p, start, "unterminated string");
		}
		if (c == quote) {
			if (!multi) {
				p->pos++;
				break;
			}
			if (peek_at(p, 1) == quote && peek_at(p, 2) == quote) {
				/* up to two more quotes belong to the content */
				size_t extra = 0;
				while (extra < 2 && peek_at(p, 3 + extra) == quote)
					extra++;
				if (extra > 0 &&
				    sb_put(p, &b, p->src + p->pos, extra) != 0)
					return -1;
				advance(p, 3 + extra);
				break;
			}
			if (sb_put(p, &b, p->src + p->pos, 1) != 0)
				return -1;
			p->pos++;
			continue;
		}
		if (multi && newline_len(p) > 0) {
			size_t nl = newline_len(p);
			if (sb_put(p, &b, "\n", 1) != 0)
				return -1;
			advance(p, nl);
			continue;
		}
		if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n')) {
			free(b.data);
			return FAIL(p, "newline in a single-line string");
		}
		if (is_control(c)) {
			free(b.data);
			return FAIL(p, "control character 0x%02x in a string (escape it)",
				    (unsigned)c);
		}
		if (c == '\\' && !literal) {
			if (multi) {
				/* line-ending backslash: trim whitespace and newlines */
				size_t q = p->pos + 1;
				while (q < p->len && is_ws((unsigned char)p->src[q]))
					q++;
				if (q < p->len && (p->src[q] == '\n' ||
						   (p->src[q] == '\r' && q + 1 < p->len &&
						    p->src[q + 1] == '\n'))) {
					advance(p, q - p->pos);
					while (is_ws(peek(p)) || newline_len(p) > 0)
						advance(p, newline_len(p) ? newline_len(p)
									  : 1);
					continue;
				}
			}
			if (parse_escape(p, &b) != 0) {
				free(b.data);
				return -1;
			}
			continue;
		}
		if (sb_put(p, &b, p->src + p->pos, 1) != 0)
			return -1;
		p->pos++;
	}
	*out = b.data;
	*out_len = b.len;
	return 0;
}

/* --- keys ------------------------------------------------------------------------- */

#define MAX_KEY_PARTS BX_TOML_MAX_DEPTH

struct key {
	char *parts[MAX_KEY_PARTS];
	size_t lens[MAX_KEY_PARTS];
	int n;
	size_t pos; /* where the key starts, for messages */
};

static void key_free(struct key *k)
{
	for (int i = 0; i < k->n; i++)
		free(k->parts[i]);
	k->n = 0;
}

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The key as written, for messages ("a.b.c"), truncated to fit. */
static const char *key_text(const struct key *k, int upto, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < upto && used + 1 < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%.*s", i ? "." : "",
					 (int)k->lens[i], k->parts[i]);
	return buf;
}

static int parse_key(struct parser *p, struct key *k)
{
	char buf[32];

	k->n = 0;
	k->pos = p->pos;
	for (;;) {
		int c = peek(p);
		char *part;
		size_t len;

		skip_ws(p);
		c = peek(p);
		if (k->n == MAX_KEY_PARTS) {
			key_free(k);
			return FAIL(p, "key has more than %d parts", MAX_KEY_PARTS);
		}
		if (c == '"' || c == '\'') {
			if (parse_string(p, &part, &len, false) != 0) {
				key_free(k);
				return -1;
			}
		} else if (is_bare(c)) {
			size_t start = p->pos;
			while (is_bare(peek(p)))
				p->pos++;
			len = p->pos - start;
			part = malloc(len + 1);
			if (part == NULL) {
				key_free(k);
				return oom(p);
			}
			memcpy(part, p->src + start, len);
			part[len] = '\0';
		} else {
			key_free(k);
			return FAIL(p, "expected a key, found %s",
				    describe(c, buf, sizeof buf));
		}
		k->parts[k->n] = part;
		k->lens[k->n] = len;
		k->n++;
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		p->pos++;
	}
}

/* --- numbers, booleans, dates ------------------------------------------------- */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* n digits at p->pos + off? */
static bool digits_at(const struct parser *p, size_t off, int n)
{
	for (int i = 0; i < n; i++)
		if (!is_digit(peek_at(p, off + (size_t)i)))
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

	if (!digits_at(p, 0, 2) || peek_at(p, 2) != ':' || !digits_at(p, 3, 2) ||
	    peek_at(p, 5) != ':' || !digits_at(p, 6, 2))
		return FAIL(p, "expected a time HH:MM:SS");
	dt->hour = num_at(p, 0, 2);
	dt->minute = num_at(p, 3, 2);
	dt->second = num_at(p, 6, 2);
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
		return FAIL(p, "time %02d:%02d:%02d out of range", dt->hour, dt->minute,
			    dt->second);
	if (peek_at(p, 8) == '.') {
		n = 9;
		if (!is_digit(peek_at(p, 9)))
			return fail_at(p, p->pos + 9,
				       "expected digits after '.' in a time");
		while (is_digit(peek_at(p, n))) {
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
static int parse_datetime(struct parser *p, struct node *n)
{
	struct bx_toml_datetime *dt = &n->v.u.dt;
	size_t start = p->pos;
	int used;

	memset(dt, 0, sizeof *dt);
	if (digits_at(p, 0, 2) && peek_at(p, 2) == ':') {
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
	if ((peek(p) == 'T' || peek(p) == 't' || peek(p) == ' ') && digits_at(p, 1, 2) &&
	    peek_at(p, 3) == ':') {
		p->pos++;
		used = parse_time(p, dt);
		if (used < 0)
			return -1;
		p->pos += (size_t)used;
		n->v.type = BX_TOML_DATETIME_LOCAL;
		if (peek(p) == 'Z' || peek(p) == 'z') {
			p->pos++;
			dt->offset_z = true;
			n->v.type = BX_TOML_DATETIME;
		} else if (peek(p) == '+' || peek(p) == '-') {
			int sign = peek(p) == '-' ? -1 : 1;
			if (!digits_at(p, 1, 2) || peek_at(p, 3) != ':' ||
			    !digits_at(p, 4, 2))
				return FAIL(p, "expected a time offset [+-]HH:MM");
			int oh = num_at(p, 1, 2), om = num_at(p, 4, 2);
			if (oh > 23 || om > 59)
				return FAIL(p, "time offset out of range");
			dt->offset_minutes = sign * (oh * 60 + om);
			p->pos += 6;
			n->v.type = BX_TOML_DATETIME;
		}
	} else if (peek(p) == 'T' || peek(p) == 't') {
		return FAIL(p, "expected a time after 'T'");
	}
	if (is_bare(peek(p)) || peek(p) == '.' || peek(p) == ':' || peek(p) == '+')
		return fail_at(p, start, "malformed date-time");
	return 0;
}

static bool looks_like_datetime(const struct parser *p)
{
	return (digits_at(p, 0, 4) && peek_at(p, 4) == '-' && digits_at(p, 5, 2) &&
		peek_at(p, 7) == '-' && digits_at(p, 8, 2)) ||
	       (digits_at(p, 0, 2) && peek_at(p, 2) == ':');
}

/* Digits of `base` with single underscores between digits; into buf (no '_'). */
static int scan_digits(struct parser *p, int base, char *buf, size_t size, size_t *len,
		       const char *what)
{
	bool prev_digit = false;

	*len = 0;
	for (;;) {
		int c = peek(p);
		bool ok = base == 16  ? hexval(c) >= 0
			  : base == 8 ? (c >= '0' && c <= '7')
			  : base == 2 ? (c == '0' || c == '1')
				      : is_digit(c);
		if (ok) {
			if (*len + 1 >= size)
				return FAIL(p, "%s has too many digits", what);
			buf[(*len)++] = (char)c;
			prev_digit = true;
			p->pos++;
		} else if (c == '_') {
			if (!prev_digit ||
			    !(base == 16  ? hexval(peek_at(p, 1)) >= 0
			      : base == 8 ? (peek_at(p, 1) >= '0' && peek_at(p, 1) <= '7')
			      : base == 2 ? (peek_at(p, 1) == '0' || peek_at(p, 1) == '1')
					  : is_digit(peek_at(p, 1))))
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

static int parse_number(struct parser *p, struct node *n)
{
	char buf[512];
	size_t len, at = p->pos;
	int sign = 0;
	char cbuf[32];

	if (peek(p) == '+' || peek(p) == '-') {
		sign = peek(p) == '-' ? -1 : 1;
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
	if (peek(p) == '0' &&
	    (peek_at(p, 1) == 'x' || peek_at(p, 1) == 'o' || peek_at(p, 1) == 'b')) {
		int base = peek_at(p, 1) == 'x' ? 16 : peek_at(p, 1) == 'o' ? 8 : 2;
		uint64_t v = 0;
		if (sign != 0)
			return fail_at(
			    p, at,
			    "a sign is not allowed on hex, octal or binary integers");
		p->pos += 2;
		if (scan_digits(p, base, buf, sizeof buf, &len, "an integer") != 0)
			return -1;
		for (size_t i = 0; i < len; i++) {
			uint64_t d = (uint64_t)hexval(buf[i]);
			if (v > (UINT64_C(0x7fffffffffffffff) - d) / (uint64_t)base)
				return fail_at(p, at, "integer does not fit in 64 bits");
			v = v * (uint64_t)base + d;
		}
		n->v.type = BX_TOML_INTEGER;
		n->v.u.integer = (int64_t)v;
		goto done;
	}
	if (!is_digit(peek(p)))
		return fail_at(p, at, "expected a value, found %s",
			       describe(p->src[at], cbuf, sizeof cbuf));
	{
		char text[600];
		size_t tl = 0;
		bool is_float = false;
		size_t int_start = p->pos;

		if (scan_digits(p, 10, buf, sizeof buf, &len, "a number") != 0)
			return -1;
		if (len > 1 && buf[0] == '0')
			return fail_at(p, int_start, "leading zeros are not allowed");
		if (sign < 0)
			text[tl++] = '-';
		memcpy(text + tl, buf, len);
		tl += len;
		if (peek(p) == '.') {
			p->pos++;
			if (!is_digit(peek(p)))
				return FAIL(p, "expected digits after the decimal point");
			if (scan_digits(p, 10, buf, sizeof buf, &len, "a fraction") != 0)
				return -1;
			if (tl + len + 2 >= sizeof text)
				return fail_at(p, at, "number has too many digits");
			text[tl++] = '.';
			memcpy(text + tl, buf, len);
			tl += len;
			is_float = true;
		}
		if (peek(p) == 'e' || peek(p) == 'E') {
			p->pos++;
			text[tl++] = 'e';
			if (peek(p) == '+' || peek(p) == '-')
				text[tl++] = (char)p->src[p->pos++];
			if (scan_digits(p, 10, buf, sizeof buf, &len, "an exponent") != 0)
				return -1;
			if (tl + len + 1 >= sizeof text)
				return fail_at(p, at, "number has too many digits");
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
				return fail_at(p, at, "integer does not fit in 64 bits");
			n->v.type = BX_TOML_INTEGER;
			n->v.u.integer = v;
		}
	}
done:
	if (is_bare(peek(p)) || peek(p) == '.' || peek(p) == '+')
		return FAIL(p, "unexpected %s in a number",
			    describe(peek(p), cbuf, sizeof cbuf));
	return 0;
}

/* --- values ------------------------------------------------------------------------ */

static struct node *parse_value(struct parser *p);
static int insert_kv(struct parser *p, struct bx_toml_value *table, struct key *k,
		     struct bx_toml_value *value, bool inline_table);

/* Mark a finished inline table and everything inside it as never to be extended. */
static void freeze(struct bx_toml_value *v)
{
	struct node *n = (struct node *)v;

	n->flags |= F_FROZEN;
	if (v->type == BX_TOML_TABLE)
		for (size_t i = 0; i < v->u.table.len; i++)
			freeze(v->u.table.items[i].value);
	else if (v->type == BX_TOML_ARRAY)
		for (size_t i = 0; i < v->u.array.len; i++)
			freeze(v->u.array.items[i]);
}

static struct node *parse_array(struct parser *p, struct node *arr)
{
	char buf[32];

	p->pos++; /* '[' */
	for (;;) {
		if (skip_blank(p) != 0)
			return NULL;
		if (peek(p) == ']') {
			p->pos++;
			return arr;
		}
		struct node *item = parse_value(p);
		if (item == NULL || array_add(p, &arr->v, &item->v) != 0) {
			bx_toml_free(item ? &item->v : NULL);
			return NULL;
		}
		if (skip_blank(p) != 0)
			return NULL;
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == ']') {
			p->pos++;
			return arr;
		}
		FAIL(p, "expected ',' or ']' in an array, found %s",
		     describe(peek(p), buf, sizeof buf));
		return NULL;
	}
}

static struct node *parse_inline_table(struct parser *p, struct node *tab)
{
	char buf[32];
	bool first = true;

	p->pos++; /* '{' */
	skip_ws(p);
	if (peek(p) == '}') {
		p->pos++;
		freeze(&tab->v);
		return tab;
	}
	for (;;) {
		struct key k;
		struct node *value;

		skip_ws(p);
		if (!first && peek(p) == '}') {
			FAIL(p, "trailing comma in an inline table");
			return NULL;
		}
		first = false;
		if (parse_key(p, &k) != 0)
			return NULL;
		if (peek(p) != '=') {
			key_free(&k);
			FAIL(p, "expected '=' after a key, found %s",
			     describe(peek(p), buf, sizeof buf));
			return NULL;
		}
		p->pos++;
		skip_ws(p);
		value = parse_value(p);
		if (value == NULL) {
			key_free(&k);
			return NULL;
		}
		if (insert_kv(p, &tab->v, &k, &value->v, true) != 0) {
			key_free(&k);
			bx_toml_free(&value->v);
			return NULL;
		}
		key_free(&k);
		skip_ws(p);
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == '}') {
			p->pos++;
			freeze(&tab->v);
			return tab;
		}
		FAIL(p, "expected ',' or '}' in an inline table, found %s",
		     describe(peek(p), buf, sizeof buf));
		return NULL;
	}
}

static struct node *parse_value(struct parser *p)
{
	int c = peek(p);
	/* a type that owns nothing until the value is complete: a failed
	 * parse may have left any bytes in the union */
	struct node *n = new_node(p, BX_TOML_BOOL, p->line, col(p));
	char buf[32];

	if (n == NULL)
		return NULL;
	if (c == '"' || c == '\'') {
		char *str;
		size_t len;
		if (parse_string(p, &str, &len, true) != 0)
			goto fail;
		n->v.type = BX_TOML_STRING;
		n->v.u.str.ptr = str;
		n->v.u.str.len = len;
		return n;
	}
	if (c == '[' || c == '{') {
		n->v.type = c == '[' ? BX_TOML_ARRAY : BX_TOML_TABLE;
		if (++p->depth > BX_TOML_MAX_DEPTH) {
			FAIL(p, "nested deeper than %d levels", BX_TOML_MAX_DEPTH);
			goto fail;
		}
		struct node *r = c == '[' ? parse_array(p, n) : parse_inline_table(p, n);
		p->depth--;
		if (r == NULL)
			goto fail;
		return n;
	}
	if (p->len - p->pos >= 4 && memcmp(p->src + p->pos, "true", 4) == 0 &&
	    !is_bare(peek_at(p, 4))) {
		n->v.type = BX_TOML_BOOL;
		n->v.u.boolean = true;
		p->pos += 4;
		return n;
	}
	if (p->len - p->pos >= 5 && memcmp(p->src + p->pos, "false", 5) == 0 &&
	    !is_bare(peek_at(p, 5))) {
		n->v.type = BX_TOML_BOOL;
		n->v.u.boolean = false;
		p->pos += 5;
		return n;
	}
	if (looks_like_datetime(p)) {
		if (parse_datetime(p, n) != 0)
			goto fail;
		return n;
	}
	if (c == '+' || c == '-' || is_digit(c) || c == 'i' || c == 'n') {
		if (parse_number(p, n) != 0)
			goto fail;
		return n;
	}
	FAIL(p, "expected a value, found %s", describe(c, buf, sizeof buf));
fail:
	if (n->v.type != BX_TOML_ARRAY && n->v.type != BX_TOML_TABLE)
		n->v.type = BX_TOML_BOOL;
	bx_toml_free(&n->v);
	return NULL;
}

/* --- the document ------------------------------------------------------------------- */

/*
 * Insert `value` at dotted key `k` below `table` (a key/value line, or an
 * entry of an inline table). Intermediate tables are created DOTTED; an
 * existing one may be extended only if it was itself created by dotted keys
 * (or implicitly) and is not frozen, and never if a [header] defined it.
 */
static int insert_kv(struct parser *p, struct bx_toml_value *table, struct key *k,
		     struct bx_toml_value *value, bool inline_table)
{
	char buf[256];

	(void)inline_table;
	for (int i = 0; i < k->n - 1; i++) {
		struct bx_toml_kv *kv = find_key(table, k->parts[i], k->lens[i]);
		if (kv == NULL) {
			struct node *t =
			    new_node(p, BX_TOML_TABLE, value->line, value->col);
			if (t == NULL)
				return -1;
			t->flags = F_DOTTED | F_IMPLICIT;
			if (table_add(p, table, k->parts[i], k->lens[i], &t->v) != 0) {
				bx_toml_free(&t->v);
				return -1;
			}
			table = &t->v;
			continue;
		}
		struct node *t = (struct node *)kv->value;
		if (kv->value->type != BX_TOML_TABLE || (t->flags & F_FROZEN) ||
		    (t->flags & F_EXPLICIT) || !(t->flags & F_DOTTED))
			return fail_at(p, k->pos, "cannot add keys to '%s': it is %s",
				       key_text(k, i + 1, buf, sizeof buf),
				       kv->value->type != BX_TOML_TABLE ? "not a table"
				       : (t->flags & F_FROZEN)
					   ? "an inline table"
					   : "a table defined elsewhere");
		table = kv->value;
	}
	if (find_key(table, k->parts[k->n - 1], k->lens[k->n - 1]) != NULL)
		return fail_at(p, k->pos, "duplicate key '%s'",
			       key_text(k, k->n, buf, sizeof buf));
	return table_add(p, table, k->parts[k->n - 1], k->lens[k->n - 1], value);
}

/* [header] or [[header]]: returns the table that following keys go into. */
static struct bx_toml_value *open_table(struct parser *p, struct bx_toml_value *root,
					struct key *k, bool array, int line, int column)
{
	struct bx_toml_value *table = root;
	char buf[256];

	for (int i = 0; i < k->n; i++) {
		bool last = i == k->n - 1;
		struct bx_toml_kv *kv = find_key(table, k->parts[i], k->lens[i]);

		if (kv == NULL) {
			struct node *t = new_node(p, BX_TOML_TABLE, line, column);
			if (t == NULL)
				return NULL;
			if (last && array) {
				struct node *arr =
				    new_node(p, BX_TOML_ARRAY, line, column);
				if (arr == NULL) {
					bx_toml_free(&t->v);
					return NULL;
				}
				arr->flags = F_AOT;
				t->flags = F_EXPLICIT;
				if (array_add(p, &arr->v, &t->v) != 0) {
					bx_toml_free(&t->v);
					bx_toml_free(&arr->v);
					return NULL;
				}
				if (table_add(p, table, k->parts[i], k->lens[i],
					      &arr->v) != 0) {
					bx_toml_free(&arr->v);
					return NULL;
				}
				return &t->v;
			}
			t->flags = last ? F_EXPLICIT : F_IMPLICIT;
			if (table_add(p, table, k->parts[i], k->lens[i], &t->v) != 0) {
				bx_toml_free(&t->v);
				return NULL;
			}
			table = &t->v;
			continue;
		}
		struct bx_toml_value *v = kv->value;
		struct node *vn = (struct node *)v;
		key_text(k, i + 1, buf, sizeof buf);
		if (v->type == BX_TOML_ARRAY) {
			if (!(vn->flags & F_AOT)) {
				fail_at(p, k->pos,
					"'%s' is a static array, not an array of tables",
					buf);
				return NULL;
			}
			if (last && array) {
				struct node *t = new_node(p, BX_TOML_TABLE, line, column);
				if (t == NULL)
					return NULL;
				t->flags = F_EXPLICIT;
				if (array_add(p, v, &t->v) != 0) {
					bx_toml_free(&t->v);
					return NULL;
				}
				return &t->v;
			}
			if (last) {
				fail_at(p, k->pos,
					"'%s' is an array of tables, not a table", buf);
				return NULL;
			}
			table = v->u.array.items[v->u.array.len - 1];
			continue;
		}
		if (v->type != BX_TOML_TABLE) {
			fail_at(p, k->pos, "'%s' is already a %s, not a table", buf,
				bx_toml_type_name(v->type));
			return NULL;
		}
		if (vn->flags & F_FROZEN) {
			fail_at(p, k->pos,
				"'%s' is an inline table and cannot be extended", buf);
			return NULL;
		}
		if (last) {
			if (array) {
				fail_at(p, k->pos,
					"'%s' is a table, not an array of tables", buf);
				return NULL;
			}
			if (vn->flags & (F_EXPLICIT | F_DOTTED)) {
				fail_at(p, k->pos, "table '%s' is defined more than once",
					buf);
				return NULL;
			}
			vn->flags |= F_EXPLICIT;
			vn->flags &= ~(unsigned)F_IMPLICIT;
			v->line = line;
			v->col = column;
		}
		table = v;
	}
	return table;
}

static int parse_header(struct parser *p, struct bx_toml_value *root,
			struct bx_toml_value **current)
{
	bool array = peek_at(p, 1) == '[';
	int line = p->line, column = col(p);
	struct key k;
	char buf[32];

	p->pos += array ? 2 : 1;
	if (parse_key(p, &k) != 0)
		return -1;
	if (peek(p) != ']' || (array && peek_at(p, 1) != ']')) {
		key_free(&k);
		return FAIL(p, "expected '%s' to close the table header, found %s",
			    array ? "]]" : "]", describe(peek(p), buf, sizeof buf));
	}
	p->pos += array ? 2 : 1;
	*current = open_table(p, root, &k, array, line, column);
	key_free(&k);
	if (*current == NULL)
		return -1;
	return end_of_line(p, "a table header");
}

static int parse_keyval(struct parser *p, struct bx_toml_value *table)
{
	struct key k;
	struct node *value;
	char buf[32], kb[128];

	if (parse_key(p, &k) != 0)
		return -1;
	if (peek(p) != '=') {
		int rv = FAIL(p, "expected '=' after key '%s', found %s",
			      key_text(&k, k.n, kb, sizeof kb),
			      describe(peek(p), buf, sizeof buf));
		key_free(&k);
		return rv;
	}
	p->pos++;
	skip_ws(p);
	value = parse_value(p);
	if (value == NULL) {
		key_free(&k);
		return -1;
	}
	if (insert_kv(p, table, &k, &value->v, false) != 0) {
		key_free(&k);
		bx_toml_free(&value->v);
		return -1;
	}
	key_free(&k);
	return end_of_line(p, "a value");
}

int bx_toml_parse(const char *src, size_t len, struct bx_toml_value **out,
		  struct bx_toml_error *err)
{
	struct parser p = {.src = src, .len = len, .line = 1, .err = err};
	struct node *root;
	struct bx_toml_value *current;

	*out = NULL;
	memset(err, 0, sizeof *err);
	if (len > BX_TOML_MAX_INPUT) {
		err->line = 1;
		err->col = 1;
		snprintf(err->msg, sizeof err->msg,
			 "input is %zu bytes, over the limit of %u", len,
			 BX_TOML_MAX_INPUT);
		return BX_ETOOBIG;
	}
	if (check_utf8(&p) != 0)
		return p.code;
	if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0)
		p.pos = 3; /* a byte order mark */
	root = new_node(&p, BX_TOML_TABLE, 1, 1);
	if (root == NULL)
		return p.code;
	root->flags = F_EXPLICIT;
	current = &root->v;
	for (;;) {
		char buf[32];
		if (skip_blank(&p) != 0)
			break;
		if (p.pos >= p.len) {
			*out = &root->v;
			return BX_OK;
		}
		int c = peek(&p);
		if (c == '[') {
			if (parse_header(&p, &root->v, &current) != 0)
				break;
		} else if (is_bare(c) || c == '"' || c == '\'') {
			if (parse_keyval(&p, current) != 0)
				break;
		} else {
			FAIL(&p, "expected a key or a [table], found %s",
			     describe(c, buf, sizeof buf));
			break;
		}
	}
	bx_toml_free(&root->v);
	return p.code ? p.code : BX_EPARSE;
}

const struct bx_toml_value *bx_toml_get(const struct bx_toml_value *table,
					const char *key)
{
	struct bx_toml_kv *kv;

	if (table == NULL || table->type != BX_TOML_TABLE)
		return NULL;
	kv = find_key((struct bx_toml_value *)table, key, strlen(key));
	return kv ? kv->value : NULL;
}

const char *bx_toml_type_name(enum bx_toml_type type)
{
	switch (type) {
	case BX_TOML_STRING:
		return "string";
	case BX_TOML_INTEGER:
		return "integer";
	case BX_TOML_FLOAT:
		return "float";
	case BX_TOML_BOOL:
		return "boolean";
	case BX_TOML_DATETIME:
		return "date-time";
	case BX_TOML_DATETIME_LOCAL:
		return "local date-time";
	case BX_TOML_DATE_LOCAL:
		return "local date";
	case BX_TOML_TIME_LOCAL:
		return "local time";
	case BX_TOML_ARRAY:
		return "array";
	case BX_TOML_TABLE:
		return "table";
	}
	return "value";
}
