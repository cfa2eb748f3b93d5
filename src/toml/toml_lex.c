/* toml_lex.c - reading TOML text: positions and errors, blanks, UTF-8, strings, keys. */
#include "src/base/error.h"
#include "src/toml/toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- errors and positions ----------------------------------------------- */

int toml_fail_at(struct parser *p, size_t pos, const char *fmt, ...)
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

int toml_oom(struct parser *p)
{
	p->code = BX_ENOMEM;
	return toml_fail_at(p, p->pos, "out of memory");
}

int toml_peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->src[p->pos] : -1;
}

int toml_peek_at(const struct parser *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->src[p->pos + off] : -1;
}

/* Move forward n bytes, keeping the line count (values record line:col). */
void toml_advance(struct parser *p, size_t n)
{
	for (size_t i = 0; i < n && p->pos < p->len; i++, p->pos++)
		if (p->src[p->pos] == '\n') {
			p->line++;
			p->line_start = p->pos + 1;
		}
}

int toml_col(const struct parser *p)
{
	return (int)(p->pos - p->line_start) + 1;
}

const char *toml_describe(int c, char *buf, size_t size)
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

/* --- whitespace, comments, newlines ------------------------------------- */

bool toml_is_ws(int c)
{
	return c == ' ' || c == '\t';
}

void toml_skip_ws(struct parser *p)
{
	while (toml_is_ws(toml_peek(p)))
		p->pos++;
}

/* A control character other than tab is not allowed in comments or strings. */
bool toml_is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

int toml_skip_comment(struct parser *p)
{
	if (toml_peek(p) != '#')
		return 0;
	while (p->pos < p->len && p->src[p->pos] != '\n') {
		int c = toml_peek(p);
		if (c == '\r' && toml_peek_at(p, 1) == '\n')
			break;
		if (toml_is_control(c))
			return FAIL(p, "control character 0x%02x in a comment",
				    (unsigned)c);
		p->pos++;
	}
	return 0;
}

/* At a newline (LF or CRLF)? Returns its length, 0 if none. */
size_t toml_newline_len(const struct parser *p)
{
	if (toml_peek(p) == '\n')
		return 1;
	if (toml_peek(p) == '\r' && toml_peek_at(p, 1) == '\n')
		return 2;
	return 0;
}

/* Whitespace, comments and newlines (between array items, between expressions). */
int toml_skip_blank(struct parser *p)
{
	for (;;) {
		size_t nl;
		toml_skip_ws(p);
		if (toml_skip_comment(p) != 0)
			return -1;
		nl = toml_newline_len(p);
		if (nl == 0)
			return 0;
		toml_advance(p, nl);
	}
}

/* After an expression: optional whitespace and comment, then a newline or the end. */
int toml_end_of_line(struct parser *p, const char *after)
{
	char buf[32];
	size_t nl;

	toml_skip_ws(p);
	if (toml_skip_comment(p) != 0)
		return -1;
	if (p->pos >= p->len)
		return 0;
	nl = toml_newline_len(p);
	if (nl == 0)
		return FAIL(p, "expected the end of the line after %s, found %s", after,
			    toml_describe(toml_peek(p), buf, sizeof buf));
	toml_advance(p, nl);
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

int toml_check_utf8(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->src;

	for (size_t i = 0; i < p->len;) {
		size_t n = utf8_len(s + i, p->len - i);
		if (n == 0)
			return toml_fail_at(p, i, "invalid UTF-8 (byte 0x%02x)", s[i]);
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
			return toml_oom(p);
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

int toml_hexval(int c)
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
	int c = toml_peek_at(p, 1);
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
			int h = toml_hexval(toml_peek_at(p, 2 + (size_t)i));
			if (h < 0)
				return toml_fail_at(p, at, "\\%c needs %d hex digits", c,
						    digits);
			cp = cp << 4 | (uint32_t)h;
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return toml_fail_at(p, at,
					    "\\%c%0*X is not a Unicode scalar value", c,
					    digits, cp);
		p->pos += 2 + (size_t)digits;
		return sb_utf8(p, b, cp);
	}
	default:
		return toml_fail_at(p, at, "invalid escape sequence '\\%s'",
				    c >= 0x21 && c < 0x7f
					? (char[]){(char)c, 0}
					: toml_describe(c, buf, sizeof buf));
	}
	p->pos += 2;
	return sb_put(p, b, simple, 1);
}

/* Basic or literal, single- or multi-line; p->pos at the opening quote. */
int toml_parse_string(struct parser *p, char **out, size_t *out_len, bool allow_multi)
{
	char quote = p->src[p->pos];
	bool literal = quote == '\'';
	bool multi =
	    allow_multi && toml_peek_at(p, 1) == quote && toml_peek_at(p, 2) == quote;
	size_t start = p->pos;
	struct sbuf b = {0};

	if (sb_put(p, &b, "", 0) != 0)
		return -1;
	if (multi) {
		toml_advance(p, 3);
		/* a newline right after the opening quotes is trimmed */
		toml_advance(p, toml_newline_len(p));
	} else {
		p->pos++;
	}
	for (;;) {
		int c = toml_peek(p);
		if (c < 0) {
			free(b.data);
			return toml_fail_at(p, start, "unterminated string");
		}
		if (c == quote) {
			if (!multi) {
				p->pos++;
				break;
			}
			if (toml_peek_at(p, 1) == quote && toml_peek_at(p, 2) == quote) {
				/* up to two more quotes belong to the content */
				size_t extra = 0;
				while (extra < 2 && toml_peek_at(p, 3 + extra) == quote)
					extra++;
				if (extra > 0 &&
				    sb_put(p, &b, p->src + p->pos, extra) != 0)
					return -1;
				toml_advance(p, 3 + extra);
				break;
			}
			if (sb_put(p, &b, p->src + p->pos, 1) != 0)
				return -1;
			p->pos++;
			continue;
		}
		if (multi && toml_newline_len(p) > 0) {
			size_t nl = toml_newline_len(p);
			if (sb_put(p, &b, "\n", 1) != 0)
				return -1;
			toml_advance(p, nl);
			continue;
		}
		if (c == '\n' || (c == '\r' && toml_peek_at(p, 1) == '\n')) {
			free(b.data);
			return FAIL(p, "newline in a single-line string");
		}
		if (toml_is_control(c)) {
			free(b.data);
			return FAIL(p, "control character 0x%02x in a string (escape it)",
				    (unsigned)c);
		}
		if (c == '\\' && !literal) {
			if (multi) {
				/* line-ending backslash: trim whitespace and newlines */
				size_t q = p->pos + 1;
				while (q < p->len && toml_is_ws((unsigned char)p->src[q]))
					q++;
				if (q < p->len && (p->src[q] == '\n' ||
						   (p->src[q] == '\r' && q + 1 < p->len &&
						    p->src[q + 1] == '\n'))) {
					toml_advance(p, q - p->pos);
					while (toml_is_ws(toml_peek(p)) ||
					       toml_newline_len(p) > 0)
						toml_advance(p, toml_newline_len(p)
								    ? toml_newline_len(p)
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

void toml_key_free(struct key *k)
{
	for (int i = 0; i < k->n; i++)
		free(k->parts[i]);
	k->n = 0;
}

bool toml_is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The key as written, for messages ("a.b.c"), truncated to fit. */
const char *toml_key_text(const struct key *k, int upto, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < upto && used + 1 < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%.*s", i ? "." : "",
					 (int)k->lens[i], k->parts[i]);
	return buf;
}

int toml_parse_key(struct parser *p, struct key *k)
{
	char buf[32];

	k->n = 0;
	k->pos = p->pos;
	for (;;) {
		int c = toml_peek(p);
		char *part;
		size_t len;

		toml_skip_ws(p);
		c = toml_peek(p);
		if (k->n == MAX_KEY_PARTS) {
			toml_key_free(k);
			return FAIL(p, "key has more than %d parts", MAX_KEY_PARTS);
		}
		if (c == '"' || c == '\'') {
			if (toml_parse_string(p, &part, &len, false) != 0) {
				toml_key_free(k);
				return -1;
			}
		} else if (toml_is_bare(c)) {
			size_t start = p->pos;
			while (toml_is_bare(toml_peek(p)))
				p->pos++;
			len = p->pos - start;
			part = malloc(len + 1);
			if (part == NULL) {
				toml_key_free(k);
				return toml_oom(p);
			}
			memcpy(part, p->src + start, len);
			part[len] = '\0';
		} else {
			toml_key_free(k);
			return FAIL(p, "expected a key, found %s",
				    toml_describe(c, buf, sizeof buf));
		}
		k->parts[k->n] = part;
		k->lens[k->n] = len;
		k->n++;
		toml_skip_ws(p);
		if (toml_peek(p) != '.')
			return 0;
		p->pos++;
	}
}
