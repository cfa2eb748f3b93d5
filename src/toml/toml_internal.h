/* toml_internal.h - what the TOML parser's files share: parser state, tree nodes, keys.
 */
#ifndef BX_TOML_INTERNAL_H
#define BX_TOML_INTERNAL_H

#include "src/toml/toml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#define MAX_KEY_PARTS BX_TOML_MAX_DEPTH

struct key {
	char *parts[MAX_KEY_PARTS];
	size_t lens[MAX_KEY_PARTS];
	int n;
	size_t pos; /* where the key starts, for messages */
};

/* Report an error at byte `pos` (the first one wins); returns -1. */
int toml_fail_at(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define FAIL(p, ...) toml_fail_at(p, (p)->pos, __VA_ARGS__)

int toml_oom(struct parser *p);
int toml_peek(const struct parser *p);
int toml_peek_at(const struct parser *p, size_t off);
void toml_advance(struct parser *p, size_t n);
int toml_col(const struct parser *p);
const char *toml_describe(int c, char *buf, size_t size);
bool toml_is_ws(int c);
void toml_skip_ws(struct parser *p);
bool toml_is_control(int c);
int toml_skip_comment(struct parser *p);
size_t toml_newline_len(const struct parser *p);
int toml_skip_blank(struct parser *p);
int toml_end_of_line(struct parser *p, const char *after);
int toml_check_utf8(struct parser *p);
int toml_hexval(int c);
int toml_parse_string(struct parser *p, char **out, size_t *out_len, bool allow_multi);
void toml_key_free(struct key *k);
bool toml_is_bare(int c);
const char *toml_key_text(const struct key *k, int upto, char *buf, size_t size);
int toml_parse_key(struct parser *p, struct key *k);
struct node *toml_new_node(struct parser *p, enum bx_toml_type type, int line,
			   int column);
struct bx_toml_kv *toml_find_key(struct bx_toml_value *table, const char *key,
				 size_t len);
int toml_table_add(struct parser *p, struct bx_toml_value *table, const char *key,
		   size_t len, struct bx_toml_value *value);
int toml_array_add(struct parser *p, struct bx_toml_value *array,
		   struct bx_toml_value *value);
bool toml_is_digit(int c);
int toml_parse_datetime(struct parser *p, struct node *n);
bool toml_looks_like_datetime(const struct parser *p);
int toml_parse_number(struct parser *p, struct node *n);

#endif
