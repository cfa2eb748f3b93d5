/* toml.h - a TOML 1.0 parser with no I/O: text in, a document tree out. */
#ifndef BX_TOML_H
#define BX_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Input is untrusted: the parser enforces BX_TOML_MAX_INPUT and
 * BX_TOML_MAX_DEPTH (nesting of arrays and inline tables, and of table
 * headers' keys), never recurses deeper than that, and stops at the first
 * error, which carries the 1-based line and column and says what was
 * expected ("expected '=' after key 'name'").
 */
#define BX_TOML_MAX_INPUT (16u << 20) /* 16 MiB */
#define BX_TOML_MAX_DEPTH 64

enum bx_toml_type {
	BX_TOML_STRING,
	BX_TOML_INTEGER,
	BX_TOML_FLOAT,
	BX_TOML_BOOL,
	BX_TOML_DATETIME,       /* offset date-time */
	BX_TOML_DATETIME_LOCAL, /* local date-time */
	BX_TOML_DATE_LOCAL,
	BX_TOML_TIME_LOCAL,
	BX_TOML_ARRAY,
	BX_TOML_TABLE,
};

/* A date, a time, or both; which fields are meaningful follows the type. */
struct bx_toml_datetime {
	int year, month, day;
	int hour, minute, second;
	uint32_t nanosecond;
	int frac_digits;    /* digits of fractional seconds as written, 0 if none */
	int offset_minutes; /* BX_TOML_DATETIME only; 0 for Z */
	bool offset_z;      /* written as Z (or z) rather than +00:00 */
};

struct bx_toml_value;

/* One key of a table, in definition order. */
struct bx_toml_kv {
	char *key; /* NUL-terminated; may contain NUL bytes before key_len (escapes) */
	size_t key_len;
	struct bx_toml_value *value;
};

struct bx_toml_value {
	enum bx_toml_type type;
	int line, col; /* where the value (or the table's header) starts; 0 if synthetic */
	union {
		struct {
			char *ptr; /* NUL-terminated, len bytes (may hold \u0000) */
			size_t len;
		} str;
		int64_t integer;
		double fp;
		bool boolean;
		struct bx_toml_datetime dt;
		struct {
			struct bx_toml_value **items;
			size_t len;
		} array;
		struct {
			struct bx_toml_kv *items;
			size_t len;
		} table;
	} u;
};

struct bx_toml_error {
	int line, col; /* 1-based position of the error */
	char msg[256]; /* what was expected / what is wrong, without the position */
};

/*
 * Parse `len` bytes of TOML (need not be NUL-terminated). On success returns 0
 * and *out is the root table, owned by the caller (free with bx_toml_free).
 * On error returns BX_EPARSE (or BX_ETOOBIG, BX_ENOMEM), fills *err and
 * leaves *out NULL.
 */
int bx_toml_parse(const char *src, size_t len, struct bx_toml_value **out,
		  struct bx_toml_error *err);

/* Free a tree returned by bx_toml_parse. NULL is allowed. */
void bx_toml_free(struct bx_toml_value *value);

/* The value of `key` in a table, or NULL (also NULL if `table` is no table). */
const struct bx_toml_value *bx_toml_get(const struct bx_toml_value *table, const char *key);

/* "string", "integer", … , "array", "table": for error messages. */
const char *bx_toml_type_name(enum bx_toml_type type);

#endif
