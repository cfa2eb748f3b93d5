/* toml.c - a TOML 1.0 parser with no I/O: values, tables and the document (design:
 * toml_internal.h). */
#include "src/base/error.h"
#include "src/toml/toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		if (toml_skip_blank(p) != 0)
			return NULL;
		if (toml_peek(p) == ']') {
			p->pos++;
			return arr;
		}
		struct node *item = parse_value(p);
		if (item == NULL || toml_array_add(p, &arr->v, &item->v) != 0) {
			bx_toml_free(item ? &item->v : NULL);
			return NULL;
		}
		if (toml_skip_blank(p) != 0)
			return NULL;
		if (toml_peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (toml_peek(p) == ']') {
			p->pos++;
			return arr;
		}
		FAIL(p, "expected ',' or ']' in an array, found %s",
		     toml_describe(toml_peek(p), buf, sizeof buf));
		return NULL;
	}
}

static struct node *parse_inline_table(struct parser *p, struct node *tab)
{
	char buf[32];
	bool first = true;

	p->pos++; /* '{' */
	toml_skip_ws(p);
	if (toml_peek(p) == '}') {
		p->pos++;
		freeze(&tab->v);
		return tab;
	}
	for (;;) {
		struct key k;
		struct node *value;

		toml_skip_ws(p);
		if (!first && toml_peek(p) == '}') {
			FAIL(p, "trailing comma in an inline table");
			return NULL;
		}
		first = false;
		if (toml_parse_key(p, &k) != 0)
			return NULL;
		if (toml_peek(p) != '=') {
			toml_key_free(&k);
			FAIL(p, "expected '=' after a key, found %s",
			     toml_describe(toml_peek(p), buf, sizeof buf));
			return NULL;
		}
		p->pos++;
		toml_skip_ws(p);
		value = parse_value(p);
		if (value == NULL) {
			toml_key_free(&k);
			return NULL;
		}
		if (insert_kv(p, &tab->v, &k, &value->v, true) != 0) {
			toml_key_free(&k);
			bx_toml_free(&value->v);
			return NULL;
		}
		toml_key_free(&k);
		toml_skip_ws(p);
		if (toml_peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (toml_peek(p) == '}') {
			p->pos++;
			freeze(&tab->v);
			return tab;
		}
		FAIL(p, "expected ',' or '}' in an inline table, found %s",
		     toml_describe(toml_peek(p), buf, sizeof buf));
		return NULL;
	}
}

static struct node *parse_value(struct parser *p)
{
	int c = toml_peek(p);
	/* a type that owns nothing until the value is complete: a failed
	 * parse may have left any bytes in the union */
	struct node *n = toml_new_node(p, BX_TOML_BOOL, p->line, toml_col(p));
	char buf[32];

	if (n == NULL)
		return NULL;
	if (c == '"' || c == '\'') {
		char *str;
		size_t len;
		if (toml_parse_string(p, &str, &len, true) != 0)
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
	    !toml_is_bare(toml_peek_at(p, 4))) {
		n->v.type = BX_TOML_BOOL;
		n->v.u.boolean = true;
		p->pos += 4;
		return n;
	}
	if (p->len - p->pos >= 5 && memcmp(p->src + p->pos, "false", 5) == 0 &&
	    !toml_is_bare(toml_peek_at(p, 5))) {
		n->v.type = BX_TOML_BOOL;
		n->v.u.boolean = false;
		p->pos += 5;
		return n;
	}
	if (toml_looks_like_datetime(p)) {
		if (toml_parse_datetime(p, n) != 0)
			goto fail;
		return n;
	}
	if (c == '+' || c == '-' || toml_is_digit(c) || c == 'i' || c == 'n') {
		if (toml_parse_number(p, n) != 0)
			goto fail;
		return n;
	}
	FAIL(p, "expected a value, found %s", toml_describe(c, buf, sizeof buf));
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
		struct bx_toml_kv *kv = toml_find_key(table, k->parts[i], k->lens[i]);
		if (kv == NULL) {
			struct node *t =
			    toml_new_node(p, BX_TOML_TABLE, value->line, value->col);
			if (t == NULL)
				return -1;
			t->flags = F_DOTTED | F_IMPLICIT;
			if (toml_table_add(p, table, k->parts[i], k->lens[i], &t->v) !=
			    0) {
				bx_toml_free(&t->v);
				return -1;
			}
			table = &t->v;
			continue;
		}
		struct node *t = (struct node *)kv->value;
		if (kv->value->type != BX_TOML_TABLE || (t->flags & F_FROZEN) ||
		    (t->flags & F_EXPLICIT) || !(t->flags & F_DOTTED))
			return toml_fail_at(
			    p, k->pos, "cannot add keys to '%s': it is %s",
			    toml_key_text(k, i + 1, buf, sizeof buf),
			    kv->value->type != BX_TOML_TABLE ? "not a table"
			    : (t->flags & F_FROZEN)          ? "an inline table"
						    : "a table defined elsewhere");
		table = kv->value;
	}
	if (toml_find_key(table, k->parts[k->n - 1], k->lens[k->n - 1]) != NULL)
		return toml_fail_at(p, k->pos, "duplicate key '%s'",
				    toml_key_text(k, k->n, buf, sizeof buf));
	return toml_table_add(p, table, k->parts[k->n - 1], k->lens[k->n - 1], value);
}

/* [header] or [[header]]: returns the table that following keys go into. */
static struct bx_toml_value *open_table(struct parser *p, struct bx_toml_value *root,
					struct key *k, bool array, int line, int column)
{
	struct bx_toml_value *table = root;
	char buf[256];

	for (int i = 0; i < k->n; i++) {
		bool last = i == k->n - 1;
		struct bx_toml_kv *kv = toml_find_key(table, k->parts[i], k->lens[i]);

		if (kv == NULL) {
			struct node *t = toml_new_node(p, BX_TOML_TABLE, line, column);
			if (t == NULL)
				return NULL;
			if (last && array) {
				struct node *arr =
				    toml_new_node(p, BX_TOML_ARRAY, line, column);
				if (arr == NULL) {
					bx_toml_free(&t->v);
					return NULL;
				}
				arr->flags = F_AOT;
				t->flags = F_EXPLICIT;
				if (toml_array_add(p, &arr->v, &t->v) != 0) {
					bx_toml_free(&t->v);
					bx_toml_free(&arr->v);
					return NULL;
				}
				if (toml_table_add(p, table, k->parts[i], k->lens[i],
						   &arr->v) != 0) {
					bx_toml_free(&arr->v);
					return NULL;
				}
				return &t->v;
			}
			t->flags = last ? F_EXPLICIT : F_IMPLICIT;
			if (toml_table_add(p, table, k->parts[i], k->lens[i], &t->v) !=
			    0) {
				bx_toml_free(&t->v);
				return NULL;
			}
			table = &t->v;
			continue;
		}
		struct bx_toml_value *v = kv->value;
		struct node *vn = (struct node *)v;
		toml_key_text(k, i + 1, buf, sizeof buf);
		if (v->type == BX_TOML_ARRAY) {
			if (!(vn->flags & F_AOT)) {
				toml_fail_at(
				    p, k->pos,
				    "'%s' is a static array, not an array of tables",
				    buf);
				return NULL;
			}
			if (last && array) {
				struct node *t =
				    toml_new_node(p, BX_TOML_TABLE, line, column);
				if (t == NULL)
					return NULL;
				t->flags = F_EXPLICIT;
				if (toml_array_add(p, v, &t->v) != 0) {
					bx_toml_free(&t->v);
					return NULL;
				}
				return &t->v;
			}
			if (last) {
				toml_fail_at(p, k->pos,
					     "'%s' is an array of tables, not a table",
					     buf);
				return NULL;
			}
			table = v->u.array.items[v->u.array.len - 1];
			continue;
		}
		if (v->type != BX_TOML_TABLE) {
			toml_fail_at(p, k->pos, "'%s' is already a %s, not a table", buf,
				     bx_toml_type_name(v->type));
			return NULL;
		}
		if (vn->flags & F_FROZEN) {
			toml_fail_at(p, k->pos,
				     "'%s' is an inline table and cannot be extended",
				     buf);
			return NULL;
		}
		if (last) {
			if (array) {
				toml_fail_at(p, k->pos,
					     "'%s' is a table, not an array of tables",
					     buf);
				return NULL;
			}
			if (vn->flags & (F_EXPLICIT | F_DOTTED)) {
				toml_fail_at(p, k->pos,
					     "table '%s' is defined more than once", buf);
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
	bool array = toml_peek_at(p, 1) == '[';
	int line = p->line, column = toml_col(p);
	struct key k;
	char buf[32];

	p->pos += array ? 2 : 1;
	if (toml_parse_key(p, &k) != 0)
		return -1;
	if (toml_peek(p) != ']' || (array && toml_peek_at(p, 1) != ']')) {
		toml_key_free(&k);
		return FAIL(p, "expected '%s' to close the table header, found %s",
			    array ? "]]" : "]",
			    toml_describe(toml_peek(p), buf, sizeof buf));
	}
	p->pos += array ? 2 : 1;
	*current = open_table(p, root, &k, array, line, column);
	toml_key_free(&k);
	if (*current == NULL)
		return -1;
	return toml_end_of_line(p, "a table header");
}

static int parse_keyval(struct parser *p, struct bx_toml_value *table)
{
	struct key k;
	struct node *value;
	char buf[32], kb[128];

	if (toml_parse_key(p, &k) != 0)
		return -1;
	if (toml_peek(p) != '=') {
		int rv = FAIL(p, "expected '=' after key '%s', found %s",
			      toml_key_text(&k, k.n, kb, sizeof kb),
			      toml_describe(toml_peek(p), buf, sizeof buf));
		toml_key_free(&k);
		return rv;
	}
	p->pos++;
	toml_skip_ws(p);
	value = parse_value(p);
	if (value == NULL) {
		toml_key_free(&k);
		return -1;
	}
	if (insert_kv(p, table, &k, &value->v, false) != 0) {
		toml_key_free(&k);
		bx_toml_free(&value->v);
		return -1;
	}
	toml_key_free(&k);
	return toml_end_of_line(p, "a value");
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
	if (toml_check_utf8(&p) != 0)
		return p.code;
	if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0)
		p.pos = 3; /* a byte order mark */
	root = toml_new_node(&p, BX_TOML_TABLE, 1, 1);
	if (root == NULL)
		return p.code;
	root->flags = F_EXPLICIT;
	current = &root->v;
	for (;;) {
		char buf[32];
		if (toml_skip_blank(&p) != 0)
			break;
		if (p.pos >= p.len) {
			*out = &root->v;
			return BX_OK;
		}
		int c = toml_peek(&p);
		if (c == '[') {
			if (parse_header(&p, &root->v, &current) != 0)
				break;
		} else if (toml_is_bare(c) || c == '"' || c == '\'') {
			if (parse_keyval(&p, current) != 0)
				break;
		} else {
			FAIL(&p, "expected a key or a [table], found %s",
			     toml_describe(c, buf, sizeof buf));
			break;
		}
	}
	bx_toml_free(&root->v);
	return p.code ? p.code : BX_EPARSE;
}
