/* schema.h - table-driven checking of TOML or JSON documents into C structs. */
#ifndef BX_SCHEMA_H
#define BX_SCHEMA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/model/spec.h" /* struct bx_diags */
#include "src/toml/toml.h"

/*
 * A schema is a list of sections, each a list of fields; one entry per field
 * drives parsing, type and range checks, defaults (set by the owner's init
 * function) and messages. The same walk serves TOML trees (messages carry
 * FILE:LINE:COL) and cJSON trees (messages carry the JSON path), so a spec
 * file and an API body are held to exactly the same rules.
 *
 * Unknown keys and sections are errors naming the closest known one. Every
 * error is collected; the walk never stops at the first.
 */

enum bx_field_kind {
	BX_F_STR,     /* char * (heap; replaced) */
	BX_F_CHARS,   /* char[size] */
	BX_F_U16,     /* uint16_t in min..max */
	BX_F_U32,     /* uint32_t in min..max */
	BX_F_U64,     /* uint64_t in min..max (max 2^53) */
	BX_F_BOOL,    /* bool */
	BX_F_ENUM,    /* int (enum), value = index into choices */
	BX_F_ENUM_STR, /* char[size], one of choices */
	BX_F_STRS,    /* char ** + size_t count at len_offset */
	BX_F_PORTS,   /* struct bx_port_map * + size_t count: "HOST:GUEST[/udp]" */
};

struct bx_field {
	const char *key;
	enum bx_field_kind kind;
	size_t offset;
	size_t len_offset;  /* BX_F_STRS, BX_F_PORTS */
	size_t size;        /* BX_F_CHARS, BX_F_ENUM_STR: buffer size */
	uint64_t min, max;  /* BX_F_U32, BX_F_U64; BX_F_STR/CHARS: max length (0 = none) */
	const char *const *choices; /* BX_F_ENUM, BX_F_ENUM_STR: NULL-terminated */
};

struct bx_section {
	const char *name; /* "service"; "" = the top level */
	const struct bx_field *fields;
	size_t n_fields;
};

/* Where a value came from: a TOML node or a JSON item. */
struct bx_doc {
	const char *filename; /* TOML: for messages */
	const struct bx_toml_value *toml;
	const cJSON *json;
};

/*
 * Walk `doc` (a table/object) against `sections` (n of them) and fill
 * `target`. Top-level keys that are not sections are looked up in the section
 * named "" if there is one. Returns the number of errors added to diags.
 */
size_t bx_schema_apply(const struct bx_doc *doc, const struct bx_section *sections, size_t n,
		       void *target, struct bx_diags *diags);

/* Position prefix of a TOML node ("web.toml:3:7: ") or "" for JSON. */
const char *bx_schema_where(const struct bx_doc *doc, const struct bx_toml_value *v, char *buf,
			    size_t size);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t bx_edit_distance(const char *a, const char *b);

/* The closest of `names` to `word` if it is close enough, else NULL. */
const char *bx_closest(const char *word, const char *const *names, size_t n);

#endif
