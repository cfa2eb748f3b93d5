/* cli_fmt.h - reading fields of API records for the CLI's tables. */
#ifndef BX_CLI_FMT_H
#define BX_CLI_FMT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The string field `key` of `obj`, or "" (or "-" for empty with dash). */
const char *bx_fmt_str(const cJSON *obj, const char *key);
/* The number field `key` as a decimal string in buf, or "-" when absent/0 and dash_zero.
 */
const char *bx_fmt_num(const cJSON *obj, const char *key, char *buf, size_t size,
		       int dash_zero);
/* The ms timestamp field `key` in UTC, "2026-11-24T10:00:00Z", or "-". */
const char *bx_fmt_utc(const cJSON *obj, const char *key, char *buf, size_t size);
/* "3s", "5m", "2h", "4d" since the ms timestamp field `key`, or "-". */
const char *bx_fmt_age(const cJSON *obj, const char *key, char *buf, size_t size);

/* The services table of `list` and `status` (an array of service records). */
#include <stdio.h>
void bx_cli_print_services(const cJSON *services, FILE *out);

/* Events (GET /v1/events), one line each:
 * "TIME  SERVICE  NODE  GEN  EVENT  REASON", TIME in UTC with milliseconds. */
void bx_cli_print_events(const cJSON *events, FILE *out);

#endif
