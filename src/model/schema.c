/* schema.c - table-driven checking of TOML or JSON documents into C structs. */
#include "src/model/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One value of either tree. */
struct val {
	const struct bx_toml_value *t;
	const cJSON *j;
};

static bool is_table(struct val v)
{
	return v.t ? v.t->type == BX_TOML_TABLE : cJSON_IsObject(v.j);
}

static bool is_array(struct val v)
{
	return v.t ? v.t->type == BX_TOML_ARRAY : cJSON_IsArray(v.j);
}

static const char *as_string(struct val v)
{
	if (v.t)
		return v.t->type == BX_TOML_STRING &&
			       strlen(v.t->u.str.ptr) == v.t->u.str.len
			   ? v.t->u.str.ptr
			   : NULL;
	return cJSON_IsString(v.j) ? v.j->valuestring : NULL;
}

static bool as_int(struct val v, int64_t *out)
{
	if (v.t) {
		if (v.t->type != BX_TOML_INTEGER)
			return false;
		*out = v.t->u.integer;
		return true;
	}
	if (!cJSON_IsNumber(v.j))
		return false;
	/* The range first: converting a double outside int64_t's range is
	 * undefined behaviour, and NaN fails every comparison. Within +-2^53
	 * every integer is exact, so the conversion back tells a fraction. */
	double d = v.j->valuedouble;
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
	    d != (double)(int64_t)d)
		return false;
	*out = (int64_t)d;
	return true;
}

static bool as_bool(struct val v, bool *out)
{
	if (v.t) {
		if (v.t->type != BX_TOML_BOOL)
			return false;
		*out = v.t->u.boolean;
		return true;
	}
	if (!cJSON_IsBool(v.j))
		return false;
	*out = cJSON_IsTrue(v.j);
	return true;
}

static size_t count(struct val v)
{
	if (v.t)
		return v.t->type == BX_TOML_ARRAY   ? v.t->u.array.len
		       : v.t->type == BX_TOML_TABLE ? v.t->u.table.len
						    : 0;
	return (size_t)cJSON_GetArraySize(v.j);
}

static struct val item(struct val v, size_t i)
{
	struct val out = {0};

	if (v.t)
		out.t = v.t->type == BX_TOML_ARRAY ? v.t->u.array.items[i]
						   : v.t->u.table.items[i].value;
	else
		out.j = cJSON_GetArrayItem(v.j, (int)i);
	return out;
}

static const char *key_of(struct val v, size_t i)
{
	if (v.t)
		return v.t->u.table.items[i].key;
	return cJSON_GetArrayItem(v.j, (int)i)->string;
}

static const char *type_name(struct val v)
{
	if (v.t)
		return bx_toml_type_name(v.t->type);
	if (cJSON_IsString(v.j))
		return "string";
	if (cJSON_IsNumber(v.j))
		return "number";
	if (cJSON_IsBool(v.j))
		return "boolean";
	if (cJSON_IsArray(v.j))
		return "array";
	if (cJSON_IsObject(v.j))
		return "object";
	return "null";
}

const char *bx_schema_where(const struct bx_doc *doc, const struct bx_toml_value *v,
			    char *buf, size_t size)
{
	if (doc->toml != NULL && v != NULL && v->line > 0)
		snprintf(buf, size,
			 "%s:%d:%d: ", doc->filename ? doc->filename : "<input>", v->line,
			 v->col);
	else if (doc->toml != NULL)
		snprintf(buf, size, "%s: ", doc->filename ? doc->filename : "<input>");
	else
		buf[0] = '\0';
	return buf;
}

size_t bx_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *bx_closest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < n; i++) {
		size_t d = bx_edit_distance(word, names[i]);
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	/* close enough: a third of the word, at least 1, at most 3 edits */
	size_t limit = strlen(word) / 3;
	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	return best_d <= limit ? best : NULL;
}

/* --- one field --------------------------------------------------------------- */

struct ctx {
	const struct bx_doc *doc;
	struct bx_diags *diags;
	size_t errors;
	const char *section;
};

static void report(struct ctx *c, struct val v, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct ctx *c, struct val v, const char *key, const char *fmt, ...)
{
	char where[512], label[160], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->doc->toml != NULL)
		snprintf(label, sizeof label, "%s%s%s%s", c->section[0] ? "[" : "",
			 c->section, c->section[0] ? "] " : "", key);
	else
		snprintf(label, sizeof label, "%s%s%s", c->section,
			 c->section[0] ? "." : "", key);
	bx_diags_add(c->diags, "%s%s: %s",
		     bx_schema_where(c->doc, v.t, where, sizeof where), label, msg);
	c->errors++;
}

static char *dup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d != NULL)
		memcpy(d, s, n + 1);
	return d;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool parse_port(const char *s, struct bx_port_map *out)
{
	char *end;
	unsigned long host, guest;

	host = strtoul(s, &end, 10);
	if (end == s || *end != ':' || host < 1 || host > 65535)
		return false;
	s = end + 1;
	guest = strtoul(s, &end, 10);
	if (end == s || guest < 1 || guest > 65535)
		return false;
	out->host = (uint16_t)host;
	out->guest = (uint16_t)guest;
	out->udp = false;
	if (*end == '\0' || strcmp(end, "/tcp") == 0)
		return true;
	if (strcmp(end, "/udp") == 0) {
		out->udp = true;
		return true;
	}
	return false;
}

static void apply_field(struct ctx *c, const struct bx_field *f, struct val v,
			void *target)
{
	char *at = (char *)target + f->offset;
	const char *s;
	int64_t n;
	bool b;

	switch (f->kind) {
	case BX_F_STR:
	case BX_F_CHARS:
	case BX_F_ENUM:
	case BX_F_ENUM_STR:
		s = as_string(v);
		if (s == NULL) {
			report(c, v, f->key, "expected a string, got %s", type_name(v));
			return;
		}
		if (f->kind == BX_F_ENUM || f->kind == BX_F_ENUM_STR) {
			size_t i = 0;
			char list[256] = "";
			for (; f->choices[i] != NULL; i++)
				if (strcmp(f->choices[i], s) == 0)
					break;
			if (f->choices[i] == NULL) {
				size_t used = 0;
				for (size_t k = 0;
				     f->choices[k] != NULL && used < sizeof list; k++)
					used += (size_t)snprintf(
					    list + used, sizeof list - used, "%s%s",
					    k ? ", " : "", f->choices[k]);
				report(c, v, f->key, "must be one of %s, got '%.64s'",
				       list, s);
				return;
			}
			if (f->kind == BX_F_ENUM)
				*(int *)(void *)at = (int)i;
			else
				snprintf(at, f->size, "%s", s);
			return;
		}
		if ((f->max && strlen(s) > f->max) ||
		    (f->kind == BX_F_CHARS && strlen(s) >= f->size)) {
			report(c, v, f->key, "longer than %zu characters",
			       f->kind == BX_F_CHARS ? f->size - 1 : (size_t)f->max);
			return;
		}
		if (f->kind == BX_F_CHARS) {
			snprintf(at, f->size, "%s", s);
		} else {
			char *d = dup(s);
			if (d == NULL) {
				report(c, v, f->key, "out of memory");
				return;
			}
			free(*(char **)(void *)at);
			*(char **)(void *)at = d;
		}
		return;
	case BX_F_U16:
	case BX_F_U32:
	case BX_F_U64:
		if (!as_int(v, &n)) {
			if (v.t == NULL && cJSON_IsNumber(v.j))
				report(c, v, f->key, "must be a whole number %llu..%llu, got %g",
				       (unsigned long long)f->min,
				       (unsigned long long)f->max, v.j->valuedouble);
			else
				report(c, v, f->key, "expected an integer, got %s",
				       type_name(v));
			return;
		}
		if (n < 0 || (uint64_t)n < f->min || (uint64_t)n > f->max) {
			report(c, v, f->key, "must be %llu..%llu, got %lld",
			       (unsigned long long)f->min, (unsigned long long)f->max,
			       (long long)n);
			return;
		}
		if (f->kind == BX_F_U16)
			*(uint16_t *)(void *)at = (uint16_t)n;
		else if (f->kind == BX_F_U32)
			*(uint32_t *)(void *)at = (uint32_t)n;
		else
			*(uint64_t *)(void *)at = (uint64_t)n;
		return;
	case BX_F_BOOL:
		if (!as_bool(v, &b)) {
			report(c, v, f->key, "expected true or false, got %s",
			       type_name(v));
			return;
		}
		*(bool *)at = b;
		return;
	case BX_F_STRS:
	case BX_F_PORTS: {
		size_t len = count(v),
		       *len_at = (size_t *)(void *)((char *)target + f->len_offset);
		if (!is_array(v)) {
			report(c, v, f->key, "expected an array of strings, got %s",
			       type_name(v));
			return;
		}
		if (len > 1024) {
			report(c, v, f->key, "more than 1024 entries");
			return;
		}
		if (f->kind == BX_F_STRS) {
			char **list = calloc(len + 1, sizeof *list);
			for (size_t i = 0; list != NULL && i < len; i++) {
				const char *e = as_string(item(v, i));
				if (e == NULL || (f->max && strlen(e) > f->max)) {
					report(c, item(v, i).t ? item(v, i) : v, f->key,
					       "entry %zu: expected a string%s", i + 1,
					       e ? " (too long)" : "");
					free_strs(list, len);
					return;
				}
				list[i] = dup(e);
			}
			free_strs(*(char ***)(void *)at, *len_at);
			*(char ***)(void *)at = list;
			*len_at = len;
		} else {
			struct bx_port_map *ports = calloc(len + 1, sizeof *ports);
			for (size_t i = 0; ports != NULL && i < len; i++) {
				const char *e = as_string(item(v, i));
				if (e == NULL || !parse_port(e, &ports[i])) {
					report(c, item(v, i).t ? item(v, i) : v, f->key,
					       "entry %zu: expected \"HOST:GUEST\" or "
					       "\"HOST:GUEST/udp\" with ports 1..65535, "
					       "got '%.64s'",
					       i + 1, e ? e : type_name(item(v, i)));
					free(ports);
					return;
				}
			}
			free(*(struct bx_port_map **)(void *)at);
			*(struct bx_port_map **)(void *)at = ports;
			*len_at = len;
		}
		return;
	}
	}
}

/* --- sections ----------------------------------------------------------------- */

static const struct bx_field *find_field(const struct bx_section *s, const char *key)
{
	for (size_t i = 0; i < s->n_fields; i++)
		if (strcmp(s->fields[i].key, key) == 0)
			return &s->fields[i];
	return NULL;
}

static void unknown_key(struct ctx *c, struct val v, const struct bx_section *s,
			const char *key)
{
	const char *names[64];
	size_t n = 0;
	const char *best;
	char where[512];

	for (size_t i = 0; i < s->n_fields && n < 64; i++)
		names[n++] = s->fields[i].key;
	best = bx_closest(key, names, n);
	if (c->doc->toml != NULL)
		bx_diags_add(c->diags, "%sunknown key '%.64s' in %s%s%s%s%s%s",
			     bx_schema_where(c->doc, v.t, where, sizeof where), key,
			     s->name[0] ? "[" : "",
			     s->name[0] ? s->name : "the top level",
			     s->name[0] ? "]" : "", best ? " (did you mean '" : "",
			     best ? best : "", best ? "'?)" : "");
	else
		bx_diags_add(c->diags, "%s%s%.64s: unknown key%s%s%s", s->name,
			     s->name[0] ? "." : "", key, best ? " (did you mean '" : "",
			     best ? best : "", best ? "'?)" : "");
	c->errors++;
}

static void walk_section(struct ctx *c, const struct bx_section *s, struct val table,
			 void *target)
{
	c->section = s->name;
	for (size_t i = 0; i < count(table); i++) {
		const char *key = key_of(table, i);
		const struct bx_field *f = find_field(s, key);
		if (f == NULL)
			unknown_key(c, item(table, i), s, key);
		else
			apply_field(c, f, item(table, i), target);
	}
}

size_t bx_schema_apply(const struct bx_doc *doc, const struct bx_section *sections,
		       size_t n, void *target, struct bx_diags *diags)
{
	struct ctx c = {.doc = doc, .diags = diags, .section = ""};
	struct val root = {doc->toml, doc->json};
	const struct bx_section *top = NULL;
	char where[512];

	for (size_t i = 0; i < n; i++)
		if (sections[i].name[0] == '\0')
			top = &sections[i];
	if (!is_table(root)) {
		bx_diags_add(diags, "%sexpected a table of sections, got %s",
			     bx_schema_where(doc, root.t, where, sizeof where),
			     type_name(root));
		return 1;
	}
	for (size_t i = 0; i < count(root); i++) {
		const char *key = key_of(root, i);
		struct val v = item(root, i);
		const struct bx_section *s = NULL;
		for (size_t k = 0; k < n; k++)
			if (sections[k].name[0] != '\0' &&
			    strcmp(sections[k].name, key) == 0)
				s = &sections[k];
		if (s != NULL) {
			if (!is_table(v)) {
				c.section = "";
				report(&c, v, key, "expected a table, got %s",
				       type_name(v));
				continue;
			}
			walk_section(&c, s, v, target);
			continue;
		}
		if (top != NULL && find_field(top, key) != NULL) {
			c.section = "";
			apply_field(&c, find_field(top, key), v, target);
			continue;
		}
		/* unknown section: suggest among sections and top-level keys */
		const char *names[96];
		size_t m = 0;
		for (size_t k = 0; k < n && m < 96; k++) {
			if (sections[k].name[0] != '\0')
				names[m++] = sections[k].name;
		}
		for (size_t k = 0; top != NULL && k < top->n_fields && m < 96; k++)
			names[m++] = top->fields[k].key;
		const char *best = bx_closest(key, names, m);
		if (doc->toml != NULL)
			bx_diags_add(diags, "%sunknown %s '%.64s'%s%s%s",
				     bx_schema_where(doc, v.t, where, sizeof where),
				     is_table(v) ? "section" : "key", key,
				     best ? " (did you mean '" : "", best ? best : "",
				     best ? "'?)" : "");
		else
			bx_diags_add(diags, "%.64s: unknown key%s%s%s", key,
				     best ? " (did you mean '" : "", best ? best : "",
				     best ? "'?)" : "");
		c.errors++;
	}
	return c.errors;
}
