/* secret.h - the cluster secret: created at bootstrap (or given to every node
 * with --cluster-secret-file), kept 0600 in the data dir as cluster.secret,
 * handed to a node that joins with an invite. It keys the Raft transport's
 * handshake (raft/transport.c) and the token nodes show each other on the API.
 *
 * Whoever holds it is a member: it lets a server speak Raft and do anything on
 * any node's API. It never travels except in the answer to a join with a
 * valid invite (over the tailnet, which WireGuard encrypts). */
#ifndef BX_SECRET_H
#define BX_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define BX_SECRET_MIN 16 /* bytes: a secret shorter than this is refused */
#define BX_SECRET_MAX 128
#define BX_SECRET_FILE "cluster.secret"
#define BX_SECRET_TOKEN_PREFIX "bxc1."
/* "bxc1." + 64 hex + NUL */
#define BX_SECRET_TOKEN_SIZE (sizeof BX_SECRET_TOKEN_PREFIX + 64)

/* A new secret: 64 hex characters from the kernel's random source; BX_EIO
 * if it has none. */
int bx_secret_generate(char secret[BX_SECRET_MAX + 1]);

/* Check a secret's text: BX_MIN..BX_MAX printable ASCII characters, no
 * spaces. BX_EINVAL with what is wrong, `where` naming its origin. */
int bx_secret_check(const char *secret, const char *where, char *errmsg);

/* Read a secret file: its first line, without the newline, checked. A file
 * others may read is refused (its mode must give group and others nothing).
 * BX_ENOENT when absent; BX_EINVAL/BX_EIO otherwise, naming the file. */
int bx_secret_read(const char *path, char secret[BX_SECRET_MAX + 1], char *errmsg);

/* Write DIR/cluster.secret (mode 0600, through a temporary file and rename,
 * then fsync of the directory). */
int bx_secret_save(const char *dir, const char *secret, char *errmsg);

/* The bearer token derived from the secret, "bxc1." + hex of
 * HMAC-SHA256(secret, "blixard api"): what members show each other on the
 * TCP API. Knowing it does not reveal the secret. */
void bx_secret_api_token(const char *secret, char out[BX_SECRET_TOKEN_SIZE]);

/* Whether `s` has the cluster token's form ("bxc1." + 64 lower-case hex). */
bool bx_secret_token_valid(const char *s);

/* Whether `bearer` is `token` (a cluster token as bx_secret_api_token made
 * it), compared in constant time. False when either is empty or NULL. */
bool bx_secret_token_is(const char *token, const char *bearer);

#endif
