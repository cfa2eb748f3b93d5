/* token_check.c - is a bearer token one of the cluster's: one SHA-256, one LMDB read. */
#include "src/store/token_check.h"

#include "src/base/error.h"
#include "src/store/store.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>

static const char *str_of(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int bx_token_check(struct bx_store *s, const char *bearer, char role[BX_TOKEN_ROLE_SIZE],
		   char *errmsg)
{
	char id[BX_TOKEN_ID_LEN + 1], secret[BX_TOKEN_SECRET_LEN + 1];
	char hash[BX_TOKEN_SECRET_LEN + 1];
	const char *want, *granted;
	cJSON *rec = NULL;
	int rc;

	role[0] = '\0';
	rc = bx_token_parse(bearer, id, secret, errmsg);
	if (rc != 0)
		return rc;
	/* hashed before the look-up, so an unknown id costs what a known one does */
	bx_token_hash(secret, hash);
	OPENSSL_cleanse(secret, sizeof secret);
	rc = bx_store_get_token(s, id, &rec);
	if (rc == BX_ENOENT)
		return bx_err(errmsg, BX_EPERM, "token %s: unknown or revoked", id);
	if (rc != 0)
		return bx_err(errmsg, rc, "token %s: read the state store: %s", id,
			      bx_strerror(rc));
	want = str_of(rec, "secret_hash");
	granted = str_of(rec, "role");
	if (!bx_token_hash_valid(want) || !bx_token_role_valid(granted))
		rc = bx_err(errmsg, BX_ECORRUPT, "token %s: damaged record", id);
	else if (CRYPTO_memcmp(want, hash, BX_TOKEN_SECRET_LEN) != 0)
		rc = bx_err(errmsg, BX_EPERM, "token %s: wrong secret", id);
	else
		snprintf(role, BX_TOKEN_ROLE_SIZE, "%s", granted);
	cJSON_Delete(rec);
	return rc;
}
