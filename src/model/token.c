/* token.c - API bearer tokens (see token.h). */
#include "src/model/token.h"

#include "src/base/error.h"
#include "src/model/invite.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SCHEME "Bearer"

int bx_token_new(char id[BX_TOKEN_ID_LEN + 1], char secret[BX_TOKEN_SECRET_LEN + 1])
{
	/* the same draw as an invite's: 8 random bytes of id, 32 of secret */
	return bx_invite_new_secret(id, secret);
}

void bx_token_format(const char *id, const char *secret, char out[BX_TOKEN_LEN + 1])
{
	snprintf(out, BX_TOKEN_LEN + 1, "%s%.16s.%.64s", BX_TOKEN_PREFIX, id, secret);
}

void bx_token_hash(const char *secret, char out[BX_TOKEN_SECRET_LEN + 1])
{
	bx_invite_hash(secret, out);
}

static bool lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The messages say 16 and 64. */
_Static_assert(BX_TOKEN_ID_LEN == 16 && BX_TOKEN_SECRET_LEN == 64, "token format");

/* Copy the n lower-case hex digits at *p into out (n + 1 bytes) and move *p
 * past them; false at the first other character. Reads no further than that
 * character, so never past a NUL. */
static bool take_hex(const char **p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!lower_hex((*p)[i]))
			return false;
		out[i] = (*p)[i];
	}
	out[n] = '\0';
	*p += n;
	return true;
}

/* s is exactly n lower-case hex digits. */
static bool hex_of_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && lower_hex(s[i]))
		i++;
	return i == n && s[n] == '\0';
}

/* What is wrong with the token at p (the scheme skipped), NULL if nothing;
 * its parts into id and secret as far as they go. */
static const char *flaw(const char *p, char *id, char *secret)
{
	if (strncmp(p, BX_INVITE_PREFIX, strlen(BX_INVITE_PREFIX)) == 0)
		return "an invite token (" BX_INVITE_PREFIX ") is not an API token "
		       "(" BX_TOKEN_PREFIX ")";
	if (strncmp(p, BX_TOKEN_PREFIX, strlen(BX_TOKEN_PREFIX)) != 0)
		return "not a Blixard API token (they start with " BX_TOKEN_PREFIX
		       "; 'blixard token create' makes one)";
	p += strlen(BX_TOKEN_PREFIX);
	if (!take_hex(&p, BX_TOKEN_ID_LEN, id))
		return "damaged API token: its id, 16 hex digits (0-9, a-f), must "
		       "follow " BX_TOKEN_PREFIX;
	if (*p != '.')
		return "damaged API token: a '.' must follow its 16-digit id";
	p++;
	if (!take_hex(&p, BX_TOKEN_SECRET_LEN, secret) || *p != '\0')
		return "damaged API token: its secret must be 64 hex digits (0-9, a-f), "
		       "then nothing";
	return NULL;
}

int bx_token_parse(const char *bearer, char id[BX_TOKEN_ID_LEN + 1],
		   char secret[BX_TOKEN_SECRET_LEN + 1], char *errmsg)
{
	const char *p = bearer, *why;

	if (p == NULL || p[0] == '\0') {
		id[0] = secret[0] = '\0';
		return bx_err(errmsg, BX_EINVAL, "no API token given");
	}
	/* strncasecmp stops at a NUL, and the byte after the scheme is read
	 * only when the scheme's letters are all there */
	if (strncasecmp(p, SCHEME, strlen(SCHEME)) == 0 && p[strlen(SCHEME)] == ' ') {
		p += strlen(SCHEME);
		while (*p == ' ')
			p++;
	}
	why = flaw(p, id, secret);
	if (why != NULL) {
		/* nothing of a bad token is kept, not even its id */
		id[0] = secret[0] = '\0';
		return bx_err(errmsg, BX_EINVAL, "%s", why);
	}
	return BX_OK;
}

bool bx_token_id_valid(const char *id)
{
	return hex_of_len(id, BX_TOKEN_ID_LEN);
}

bool bx_token_hash_valid(const char *hash)
{
	return hex_of_len(hash, BX_TOKEN_SECRET_LEN);
}

bool bx_token_role_valid(const char *role)
{
	return strcmp(role, "admin") == 0 || strcmp(role, "read") == 0;
}

bool bx_token_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n <= BX_TOKEN_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._@-") == n;
}
