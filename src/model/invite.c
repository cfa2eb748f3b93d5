/* invite.c - invite tokens (see invite.h). */
#include "src/model/invite.h"

#include "src/base/error.h"

#include <cjson/cJSON.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int bx_invite_new_secret(char id[17], char secret[65])
{
	unsigned char raw[8 + 32];

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return BX_EIO;
	hex(raw, 8, id);
	hex(raw + 8, 32, secret);
	return BX_OK;
}

void bx_invite_hash(const char *secret, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)secret, strlen(secret), md);
	hex(md, sizeof md, out);
}

static char *b64_encode(const unsigned char *in, size_t n)
{
	char *out = malloc(n / 3 * 4 + 5), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		size_t left = n - i;
		if (left > 1)
			v |= (unsigned)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		if (left > 1)
			*o++ = b64[v >> 6 & 63];
		if (left > 2)
			*o++ = b64[v & 63];
	}
	*o = '\0';
	return out;
}

/* Decode unpadded base64url; NULL if a character or the length is wrong. */
static unsigned char *b64_decode(const char *in, size_t *n)
{
	size_t len = strlen(in);
	unsigned char *out;
	unsigned v = 0;
	int bits = 0;

	if (len % 4 == 1)
		return NULL;
	out = malloc(len * 3 / 4 + 1);
	if (out == NULL)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < len; i++) {
		const char *p = memchr(b64, in[i], 64);
		if (p == NULL) {
			free(out);
			return NULL;
		}
		v = (v << 6 | (unsigned)(p - b64)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[(*n)++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	out[*n] = '\0';
	return out;
}

char *bx_invite_encode(const struct bx_invite_token *t)
{
	cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateArray();
	char *json, *body = NULL, *token = NULL;

	cJSON_AddStringToObject(o, "c", t->cluster_id);
	for (size_t i = 0; i < t->n_members; i++)
		cJSON_AddItemToArray(m, cJSON_CreateString(t->members[i]));
	cJSON_AddItemToObject(o, "m", m);
	cJSON_AddStringToObject(o, "i", t->id);
	cJSON_AddStringToObject(o, "s", t->secret);
	cJSON_AddNumberToObject(o, "e", t->expires_at);
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (json != NULL)
		body = b64_encode((const unsigned char *)json, strlen(json));
	free(json);
	if (body != NULL &&
	    (token = malloc(strlen(body) + sizeof BX_INVITE_PREFIX)) != NULL)
		snprintf(token, strlen(body) + sizeof BX_INVITE_PREFIX, "%s%s",
			 BX_INVITE_PREFIX, body);
	free(body);
	return token;
}

static bool hex_string(const cJSON *v, size_t max)
{
	size_t n;

	if (!cJSON_IsString(v))
		return false;
	n = strlen(v->valuestring);
	return n >= 1 && n <= max && strspn(v->valuestring, "0123456789abcdef") == n;
}

int bx_invite_decode(const char *token, struct bx_invite_token *t, char *errmsg)
{
	size_t plen = strlen(BX_INVITE_PREFIX), len;
	unsigned char *json;
	const cJSON *c, *m, *i, *s, *e, *a;
	cJSON *o;
	int rv = 0;

	memset(t, 0, sizeof *t);
	if (strncmp(token, BX_INVITE_PREFIX, plen) != 0)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "not a Blixard invite token (they start with " BX_INVITE_PREFIX
		    "; 'blixard invite create' makes one)");
	if (strlen(token) > BX_INVITE_TOKEN_MAX)
		return bx_err(errmsg, BX_EINVAL,
			      "damaged invite token: longer than %d characters",
			      BX_INVITE_TOKEN_MAX);
	json = b64_decode(token + plen, &len);
	if (json == NULL)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "damaged invite token: not base64url after " BX_INVITE_PREFIX);
	o = cJSON_ParseWithLength((const char *)json, len);
	free(json);
	c = cJSON_GetObjectItemCaseSensitive(o, "c");
	m = cJSON_GetObjectItemCaseSensitive(o, "m");
	i = cJSON_GetObjectItemCaseSensitive(o, "i");
	s = cJSON_GetObjectItemCaseSensitive(o, "s");
	e = cJSON_GetObjectItemCaseSensitive(o, "e");
	if (!cJSON_IsObject(o))
		rv = bx_err(errmsg, BX_EINVAL, "damaged invite token: not JSON inside");
	else if (!hex_string(c, 64) || !hex_string(i, 64) || !hex_string(s, 64) ||
		 !cJSON_IsNumber(e) || !cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1 ||
		 cJSON_GetArraySize(m) > BX_INVITE_MEMBERS_MAX)
		rv = bx_err(
		    errmsg, BX_EINVAL,
		    "damaged invite token: it lacks the cluster, members, id, secret or "
		    "expiry");
	if (rv == 0) {
		snprintf(t->cluster_id, sizeof t->cluster_id, "%s", c->valuestring);
		snprintf(t->id, sizeof t->id, "%s", i->valuestring);
		snprintf(t->secret, sizeof t->secret, "%s", s->valuestring);
		t->expires_at = e->valuedouble;
		cJSON_ArrayForEach(a, m)
		{
			if (!cJSON_IsString(a) || a->valuestring[0] == '\0' ||
			    strlen(a->valuestring) >= sizeof t->members[0] ||
			    strchr(a->valuestring, ':') == NULL) {
				rv = bx_err(
				    errmsg, BX_EINVAL,
				    "damaged invite token: a member address is not "
				    "HOST:PORT");
				break;
			}
			snprintf(t->members[t->n_members++], sizeof t->members[0], "%s",
				 a->valuestring);
		}
	}
	cJSON_Delete(o);
	return rv;
}
