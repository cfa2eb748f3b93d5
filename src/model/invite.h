/* invite.h - invite tokens: what a new node needs to join, in one string
 * ("blx1." + base64url of {"c": cluster id, "m": [member APIs], "i": invite
 * id, "s": secret, "e": expiry ms}), and the secret's hash the cluster keeps. */
#ifndef BX_INVITE_H
#define BX_INVITE_H

#include <stddef.h>

#define BX_INVITE_PREFIX "blx1."
#define BX_INVITE_MEMBERS_MAX 16
#define BX_INVITE_TOKEN_MAX 8192

struct bx_invite_token {
	char cluster_id[65];
	char id[65];     /* hex */
	char secret[65]; /* hex */
	double expires_at;
	char members[BX_INVITE_MEMBERS_MAX][256]; /* API addresses HOST:PORT */
	size_t n_members;
};

/* A new token's id (16 hex) and secret (64 hex) from the kernel's random source. */
int bx_invite_new_secret(char id[17], char secret[65]);

/* SHA-256 of the secret, hex (what invite.create and invite.use carry). */
void bx_invite_hash(const char *secret, char out[65]);

/* The token as a string (malloc'd), or NULL when out of memory. */
char *bx_invite_encode(const struct bx_invite_token *t);

/* Parse a token; BX_EINVAL with errmsg (BX_ERRMSG_SIZE bytes) saying what is
 * wrong with it ("not a Blixard invite token (they start with blx1.)",
 * "damaged invite token: …"). */
int bx_invite_decode(const char *token, struct bx_invite_token *t, char *errmsg);

#endif
