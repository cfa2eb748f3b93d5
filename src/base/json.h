/* json.h - printing cJSON trees faster than cJSON does, with the same text; whole
 * numbers read safely.
 *
 * cJSON prints a number that does not fit an int (every millisecond time
 * stamp, most node ids) with "%1.15g", reads it back with sscanf to see
 * whether it round-trips, and may print it again with "%1.17g": about 15 % of
 * a busy leader's CPU. bx_json_print writes whole numbers up to 2^53 as
 * integers directly and everything else exactly as cJSON_PrintUnformatted
 * does, so its output is byte for byte the same (test_json checks). */
#ifndef BX_JSON_H
#define BX_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unformatted JSON text (malloc'd; free with free()) and its length in *len
 * (may be NULL); NULL when out of memory. */
char *bx_json_print(const cJSON *item, size_t *len);

/* Is `v` a JSON number that is a whole number in [min, 2^53] (exact in a
 * double)? Then *out is it. The range is checked before any conversion:
 * converting a double past an integer type's range is undefined behaviour.
 * For numbers from untrusted input (API bodies, peers' answers, files). */
bool bx_json_whole(const cJSON *v, uint64_t min, uint64_t *out);

#endif
