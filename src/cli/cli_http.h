/* cli_http.h - the CLI's requests to a daemon: which daemon, one blocking call, errors.
 */
#ifndef BX_CLI_HTTP_H
#define BX_CLI_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "src/cli/cli.h"

/* Where the CLI goes when neither --addr nor --socket (nor their variables) is given. */
#define BX_CLI_DEFAULT_SOCKET "/run/blixard/blixard.sock"
#define BX_CLI_DEFAULT_ADDR "127.0.0.1:7000"

struct bx_cli_reply {
	long status; /* HTTP status */
	cJSON *json; /* parsed body, or NULL if it was not JSON */
	char *body;  /* raw body, NUL-terminated */
	size_t len;
};

/*
 * One request to the daemon the CLI targets (--socket, --addr, BLIXARD_*,
 * else the default socket if it exists, else BX_CLI_DEFAULT_ADDR), or, when
 * `addr` is not NULL, to that API address over TCP. `body` may be NULL.
 * Returns 0 when an HTTP answer arrived (any status), else prints nothing and
 * fills errmsg with one clear line ("cannot reach the daemon at 127.0.0.1:7000:
 * Connection refused (is 'blixard daemon' running?)").
 */
int bx_cli_call(const struct bx_cli *cli, const char *addr, const char *method,
		const char *path, const cJSON *body, long timeout_ms,
		struct bx_cli_reply *reply, char *errmsg);
void bx_cli_reply_free(struct bx_cli_reply *reply);

/* The error text of a non-2xx reply ({"error": …} or the raw body). */
const char *bx_cli_reply_error(const struct bx_cli_reply *reply);

/*
 * The usual verb pattern: call, and on transport error or non-2xx print
 * "blixard VERB: <error>" to stderr and return BX_EXIT_ERROR; else 0 with
 * reply filled (caller frees).
 */
int bx_cli_request(const struct bx_cli *cli, const char *verb, const char *method,
		   const char *path, const cJSON *body, struct bx_cli_reply *reply);

/*
 * The options every read verb takes, anywhere among its arguments: --json
 * (sets cli->json) and --help/-h (prints `usage` to stdout). Returns
 * BX_OPT_NONE for any other argument, BX_OPT_TAKEN, or BX_OPT_HELP (the
 * verb then exits with BX_EXIT_OK).
 */
enum { BX_OPT_NONE, BX_OPT_TAKEN, BX_OPT_HELP };
int bx_cli_read_option(struct bx_cli *cli, const char *arg, const char *usage);

/*
 * A verb that manages credentials (invite, token): "VERB create [OPTIONS]",
 * "VERB list" or "VERB revoke ID", with the options above anywhere; runs the
 * one asked for and returns its exit code, or says what is wrong
 * (BX_EXIT_USAGE), or prints `usage` (--help, BX_EXIT_OK).
 */
struct bx_cli_credential_verbs {
	int (*create)(struct bx_cli *cli, int argc, char **argv); /* its options */
	int (*list)(struct bx_cli *cli);
	int (*revoke)(struct bx_cli *cli, const char *id);
};
int bx_cli_credential_verb(struct bx_cli *cli, int argc, char **argv, const char *usage,
			   const struct bx_cli_credential_verbs *verbs);

/* One request (body taken; NULL: none), then the answer as JSON (--json) or
 * through show(answer). The verb's exit code (errors said). */
int bx_cli_show(struct bx_cli *cli, const char *verb, const char *method,
		const char *path, cJSON *body, void (*show)(const cJSON *answer));

/* DELETE `prefix` + id, then the answer (--json) or "VERB ID revoked". */
int bx_cli_revoke(struct bx_cli *cli, const char *verb, const char *prefix,
		  const char *id);

/* Print JSON (pretty) to stdout. */
void bx_cli_print_json(const cJSON *json);

/* Percent-encode-free check: names in paths are validated before use. */
int bx_cli_check_name(const char *verb, const char *name);
/* The same for a verb that also takes one instance, NAME@I (src/model/spec.h). */
int bx_cli_check_key(const char *verb, const char *key);

#endif
