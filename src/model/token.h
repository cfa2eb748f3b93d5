/* token.h - API bearer tokens: "bxt1." + 16 hex id + "." + 64 hex secret, the
 * role each grants, their formats and roles (src/store/token_check.h checks one against the state). */
#ifndef BX_TOKEN_H
#define BX_TOKEN_H

#include <stdbool.h>

/*
 * A token names its record in the replicated state (meta "token/ID", written
 * by the FSM's token.create and deleted by token.revoke) and carries the
 * secret; the record keeps only the secret's SHA-256 and the role. So the
 * cluster can check a token but never show one again: the leader that draws
 * the secret answers it once, to whoever asked for it.
 *
 * Roles: "admin" may do everything, "read" only reads (GET). Which requests a
 * role allows is the API's decision (src/api/api.c), not this module's.
 */

#define BX_TOKEN_PREFIX "bxt1."
#define BX_TOKEN_ID_LEN 16
#define BX_TOKEN_SECRET_LEN 64
/* "bxt1." ID "." SECRET, without the NUL */
#define BX_TOKEN_LEN                                                                     \
	(sizeof BX_TOKEN_PREFIX - 1 + BX_TOKEN_ID_LEN + 1 + BX_TOKEN_SECRET_LEN)
#define BX_TOKEN_NAME_MAX 64
#define BX_TOKEN_CREATED_BY_MAX 128 /* a record's "created_by": who asked for it */
#define BX_TOKEN_ROLE_SIZE 8        /* "admin", "read" and the NUL */

/* A new token's id (16 hex) and secret (64 hex) from the kernel's random
 * source; BX_EIO if it gave none. */
int bx_token_new(char id[BX_TOKEN_ID_LEN + 1], char secret[BX_TOKEN_SECRET_LEN + 1]);

/* The token string for id and secret (as bx_token_new draws them). */
void bx_token_format(const char *id, const char *secret, char out[BX_TOKEN_LEN + 1]);

/*
 * Parse a token, given alone or as an Authorization header's value
 * ("Bearer TOKEN", the scheme in any case, then one or more spaces), into
 * its id and secret. Untrusted input: it reads no byte past the string's NUL
 * and never copies any of it into errmsg. BX_EINVAL with errmsg
 * (BX_ERRMSG_SIZE bytes) saying what is wrong: "not a Blixard API token
 * (they start with bxt1. ...)", "damaged API token: ...".
 */
int bx_token_parse(const char *bearer, char id[BX_TOKEN_ID_LEN + 1],
		   char secret[BX_TOKEN_SECRET_LEN + 1], char *errmsg);

/* SHA-256 of the secret, 64 hex (what token.create carries). */
void bx_token_hash(const char *secret, char out[BX_TOKEN_SECRET_LEN + 1]);

/* Validity of the parts, as token.create checks them at apply. */
bool bx_token_id_valid(const char *id);     /* 16 lower-case hex digits */
bool bx_token_hash_valid(const char *hash); /* 64 lower-case hex digits */
bool bx_token_role_valid(const char *role); /* "admin" or "read" */
/* 0..BX_TOKEN_NAME_MAX characters of A-Z a-z 0-9 . _ @ - ("" is no name) */
bool bx_token_name_valid(const char *name);

#endif
