/* secret.c - the cluster secret on disk and the token derived from it (see
 * secret.h). */
#include "src/model/secret.h"

#include "src/base/error.h"
#include "src/base/file.h"
#include "src/model/invite.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bx_secret_generate(char secret[BX_SECRET_MAX + 1])
{
	char id[17]; /* the invite's draw: 32 random bytes as hex, and an id unused */

	return bx_invite_new_secret(id, secret);
}

int bx_secret_check(const char *secret, const char *where, char *errmsg)
{
	size_t n = strlen(secret);

	if (n < BX_SECRET_MIN || n > BX_SECRET_MAX)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "%s: the cluster secret must be %d to %d characters, not %zu", where,
		    BX_SECRET_MIN, BX_SECRET_MAX, n);
	for (size_t i = 0; i < n; i++)
		if (secret[i] <= ' ' || secret[i] > '~')
			return bx_err(
			    errmsg, BX_EINVAL,
			    "%s: the cluster secret may hold printable ASCII "
			    "characters only, without spaces (character %zu is not)",
			    where, i + 1);
	return BX_OK;
}

int bx_secret_read(const char *path, char secret[BX_SECRET_MAX + 1], char *errmsg)
{
	char line[BX_SECRET_MAX + 3];
	struct stat st;
	size_t n;
	FILE *f = fopen(path, "re");
	int rv = BX_OK;

	if (f == NULL)
		return bx_err(errmsg, errno == ENOENT ? BX_ENOENT : BX_EIO,
			      "cannot read the cluster secret '%s': %s", path,
			      strerror(errno));
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0) {
		fclose(f);
		return bx_err(
		    errmsg, BX_EINVAL,
		    "'%s' can be read by others (mode %03o): the cluster secret must "
		    "be private (chmod 600)",
		    path, (unsigned)(st.st_mode & 0777));
	}
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	if (line[n] == '\0' && n > BX_SECRET_MAX)
		rv = bx_err(errmsg, BX_EINVAL,
			    "'%s': the cluster secret is longer than %d "
			    "characters",
			    path, BX_SECRET_MAX);
	line[n] = '\0';
	if (rv == BX_OK)
		rv = bx_secret_check(line, path, errmsg);
	if (rv == BX_OK && n <= BX_SECRET_MAX) /* the check held: it is */
		memcpy(secret, line, n + 1);
	OPENSSL_cleanse(line, sizeof line);
	return rv;
}

int bx_secret_save(const char *dir, const char *secret, char *errmsg)
{
	char path[PATH_MAX], line[BX_SECRET_MAX + 2];
	int n = snprintf(line, sizeof line, "%s\n", secret), rv;

	if (snprintf(path, sizeof path, "%s/%s", dir, BX_SECRET_FILE) >= (int)sizeof path)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s'", dir);
	rv = bx_file_replace(path, line, (size_t)n, true, errmsg);
	OPENSSL_cleanse(line, sizeof line);
	return rv;
}

void bx_secret_api_token(const char *secret, char out[BX_SECRET_TOKEN_SIZE])
{
	static const char label[] = "blixard api";
	unsigned char md[32];
	unsigned len = sizeof md;
	size_t p = sizeof BX_SECRET_TOKEN_PREFIX - 1;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)label,
	     sizeof label - 1, md, &len);
	memcpy(out, BX_SECRET_TOKEN_PREFIX, p);
	for (size_t i = 0; i < sizeof md; i++)
		snprintf(out + p + 2 * i, 3, "%02x", md[i]);
}

bool bx_secret_token_valid(const char *s)
{
	size_t p = sizeof BX_SECRET_TOKEN_PREFIX - 1;

	return strncmp(s, BX_SECRET_TOKEN_PREFIX, p) == 0 && strlen(s + p) == 64 &&
	       strspn(s + p, "0123456789abcdef") == 64;
}

bool bx_secret_token_is(const char *token, const char *bearer)
{
	size_t n = token != NULL ? strlen(token) : 0;

	return n > 0 && bearer != NULL && strlen(bearer) == n &&
	       CRYPTO_memcmp(token, bearer, n) == 0;
}
