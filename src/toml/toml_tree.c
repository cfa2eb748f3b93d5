/* toml_tree.c - the TOML document tree: nodes, hashed tables, lookup, release. */
#include "src/base/error.h"
#include "src/toml/toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- nodes ------------------------------------------------------------------ */

struct node *toml_new_node(struct parser *p, enum bx_toml_type type, int line, int column)
{
	struct node *n = calloc(1, sizeof *n);

	if (n == NULL) {
		toml_oom(p);
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

struct bx_toml_kv *toml_find_key(struct bx_toml_value *table, const char *key, size_t len)
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
int toml_table_add(struct parser *p, struct bx_toml_value *table, const char *key,
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
			return toml_oom(p);
		table->u.table.items = grown;
	}
	kv = &table->u.table.items[count];
	kv->key = malloc(len + 1);
	if (kv->key == NULL)
		return toml_oom(p);
	memcpy(kv->key, key, len);
	kv->key[len] = '\0';
	kv->key_len = len;
	kv->value = value;
	table->u.table.len++;
	if (table->u.table.len > INDEX_FROM) {
		if (n->index == NULL || table->u.table.len * 2 > n->index_cap) {
			if (!reindex(n))
				return toml_oom(p);
		} else {
			index_put(n, count);
		}
	}
	return 0;
}

int toml_array_add(struct parser *p, struct bx_toml_value *array,
		   struct bx_toml_value *value)
{
	size_t count = array->u.array.len;

	if ((count & (count - 1)) == 0) {
		size_t cap = count ? count * 2 : 1;
		struct bx_toml_value **grown =
		    realloc(array->u.array.items, cap * sizeof *grown);
		if (grown == NULL)
			return toml_oom(p);
		array->u.array.items = grown;
	}
	array->u.array.items[count] = value;
	array->u.array.len++;
	return 0;
}

const struct bx_toml_value *bx_toml_get(const struct bx_toml_value *table,
					const char *key)
{
	struct bx_toml_kv *kv;

	if (table == NULL || table->type != BX_TOML_TABLE)
		return NULL;
	kv = toml_find_key((struct bx_toml_value *)table, key, strlen(key));
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
