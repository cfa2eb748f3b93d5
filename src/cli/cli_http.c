/* cli_http.c - the CLI's requests to a daemon over the local socket or TCP (libcurl
 * easy). */
#include "src/cli/cli_http.h"

#include "net/curl_body.h"
#include "src/base/error.h"
#include "src/model/secret.h"
#include "src/model/spec.h"
#include "src/model/token.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The CLI is a short-lived process doing one or a few requests, so it uses
 * curl's blocking easy interface; the daemon's own client is asynchronous
 * (net/http_client.c). Responses are capped so a confused server cannot
 * make the CLI eat memory.
 */

#define MAX_REPLY (64u << 20)

/* Which daemon: explicit socket, explicit address, default socket, default address. */
static void target(const struct bx_cli *cli, const char *addr, const char **sock,
		   const char **host)
{
	*sock = NULL;
	*host = NULL;
	if (addr != NULL) {
		*host = addr;
	} else if (cli->socket != NULL && cli->socket[0] != '\0') {
		*sock = cli->socket;
	} else if (cli->addr != NULL && cli->addr[0] != '\0') {
		*host = cli->addr;
	} else if (access(BX_CLI_DEFAULT_SOCKET, W_OK) == 0) {
		*sock = BX_CLI_DEFAULT_SOCKET;
	} else {
		*host = BX_CLI_DEFAULT_ADDR;
	}
}

/* "Authorization: Bearer TOKEN" for cli->token (an API token, or the
 * cluster token of secret.h), or BX_EINVAL if it is neither. */
static int add_token(const struct bx_cli *cli, struct curl_slist **headers, char *errmsg)
{
	char id[BX_TOKEN_ID_LEN + 1], secret[BX_TOKEN_SECRET_LEN + 1];
	char token[BX_TOKEN_LEN + 1], line[BX_TOKEN_LEN + 32];

	if (bx_secret_token_valid(cli->token)) {
		snprintf(line, sizeof line, "Authorization: Bearer %s", cli->token);
		*headers = curl_slist_append(*headers, line);
		OPENSSL_cleanse(line, sizeof line);
		return BX_OK;
	}
	if (bx_token_parse(cli->token, id, secret, errmsg) != 0)
		return bx_errwrap(errmsg, BX_EINVAL, "%s",
				  cli->token_from ? cli->token_from : "the token");
	bx_token_format(id, secret, token);
	snprintf(line, sizeof line, "Authorization: Bearer %s", token);
	*headers = curl_slist_append(*headers, line);
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(token, sizeof token);
	OPENSSL_cleanse(line, sizeof line);
	return BX_OK;
}

int bx_cli_call(const struct bx_cli *cli, const char *addr, const char *method,
		const char *path, const cJSON *body, long timeout_ms,
		struct bx_cli_reply *reply, char *errmsg)
{
	char url[1024], curl_err[CURL_ERROR_SIZE] = "";
	const char *sock, *host;
	struct bx_curl_body b = {.max = MAX_REPLY};
	struct curl_slist *headers = NULL;
	char *payload = NULL;
	CURL *c;
	CURLcode cc;
	int rv = BX_OK;

	memset(reply, 0, sizeof *reply);
	target(cli, addr, &sock, &host);
	snprintf(url, sizeof url, "http://%s%s", host ? host : "localhost", path);
	c = curl_easy_init();
	if (c == NULL)
		return bx_err(errmsg, BX_ENOMEM, "initialise libcurl");
	if (body != NULL) {
		payload = cJSON_PrintUnformatted(body);
		if (payload == NULL) {
			curl_easy_cleanup(c);
			return bx_err(errmsg, BX_ENOMEM, "encode the request");
		}
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	headers = curl_slist_append(headers, "Expect:");
	if (cli->token != NULL) {
		rv = add_token(cli, &headers, errmsg);
		if (rv != 0) {
			curl_slist_free_all(headers);
			curl_easy_cleanup(c);
			cJSON_free(payload);
			return rv;
		}
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bx_curl_body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (sock != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		const char *where = sock ? sock : host;
		const char *why = curl_err[0] ? curl_err : curl_easy_strerror(cc);
		if (b.too_big)
			rv =
			    bx_err(errmsg, BX_ETOOBIG, "the reply from %s is over %u MiB",
				   where, MAX_REPLY >> 20);
		else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
			rv = bx_err(
			    errmsg, BX_EUNAVAIL,
			    "cannot reach the daemon at %s: %s (is 'blixard daemon' "
			    "running? see --addr, --socket)",
			    where, why);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			rv = bx_err(errmsg, BX_ETIMEDOUT, "no answer from %s in time: %s",
				    where, why);
		else
			rv = bx_err(errmsg, BX_EIO, "request to %s failed: %s", where,
				    why);
		free(b.data);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
		reply->body = b.data ? b.data : strdup("");
		reply->len = b.len;
		reply->json = cJSON_ParseWithLength(reply->body, reply->len);
		if (reply->body == NULL)
			rv = bx_err(errmsg, BX_ENOMEM, "read the reply");
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	cJSON_free(payload);
	return rv;
}

void bx_cli_reply_free(struct bx_cli_reply *reply)
{
	if (reply == NULL)
		return;
	cJSON_Delete(reply->json);
	free(reply->body);
	memset(reply, 0, sizeof *reply);
}

const char *bx_cli_reply_error(const struct bx_cli_reply *reply)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply->json, "error");

	if (cJSON_IsString(e))
		return e->valuestring;
	if (reply->body != NULL && reply->body[0] != '\0')
		return reply->body;
	return "the daemon gave no reason";
}

int bx_cli_request(const struct bx_cli *cli, const char *verb, const char *method,
		   const char *path, const cJSON *body, struct bx_cli_reply *reply)
{
	char errmsg[BX_ERRMSG_SIZE] = "";

	if (bx_cli_call(cli, NULL, method, path, body, 0, reply, errmsg) != 0) {
		fprintf(stderr, "blixard %s: %s\n", verb, errmsg);
		return BX_EXIT_ERROR;
	}
	if (reply->status < 200 || reply->status > 299) {
		fprintf(stderr, "blixard %s: %s (HTTP %ld)\n", verb,
			bx_cli_reply_error(reply), reply->status);
		bx_cli_reply_free(reply);
		return BX_EXIT_ERROR;
	}
	return BX_EXIT_OK;
}

void bx_cli_print_json(const cJSON *json)
{
	char *s = cJSON_Print(json);

	if (s != NULL) {
		puts(s);
		cJSON_free(s);
	}
}

int bx_cli_check_name(const char *verb, const char *name)
{
	char service[BX_NAME_MAX + 1];

	if (bx_name_valid(name))
		return BX_EXIT_OK;
	if (bx_key_valid(name)) {
		unsigned i = bx_key_split(name, service);
		fprintf(stderr,
			"blixard %s: '%s' is instance %u of service '%s'; %s acts on the "
			"whole service: blixard %s %s\n",
			verb, name, i, service, verb, verb, service);
		return BX_EXIT_USAGE;
	}
	fprintf(stderr,
		"blixard %s: invalid service name '%s': use a-z, 0-9 and '-', at most %d "
		"characters, not starting with '-'\n",
		verb, name, BX_NAME_MAX);
	return BX_EXIT_USAGE;
}

int bx_cli_check_key(const char *verb, const char *key)
{
	if (bx_key_valid(key))
		return BX_EXIT_OK;
	fprintf(stderr,
		"blixard %s: invalid service name '%s': use a-z, 0-9 and '-', at most %d "
		"characters, not starting with '-' (NAME@I names instance I of a service "
		"with count > 1)\n",
		verb, key, BX_NAME_MAX);
	return BX_EXIT_USAGE;
}

int bx_cli_read_option(struct bx_cli *cli, const char *arg, const char *usage)
{
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		fputs(usage, stdout);
		return BX_OPT_HELP;
	}
	if (strcmp(arg, "--json") == 0) {
		cli->json = true;
		return BX_OPT_TAKEN;
	}
	return BX_OPT_NONE;
}

int bx_cli_credential_verb(struct bx_cli *cli, int argc, char **argv, const char *usage,
			   const struct bx_cli_credential_verbs *verbs)
{
	char *rest[16];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		int opt = bx_cli_read_option(cli, argv[i], usage);
		if (opt == BX_OPT_HELP)
			return BX_EXIT_OK;
		if (opt == BX_OPT_TAKEN)
			continue;
		if (n == (int)(sizeof rest / sizeof rest[0])) {
			fprintf(stderr, "blixard %s: too many arguments\n%s", argv[0],
				usage);
			return BX_EXIT_USAGE;
		}
		rest[n++] = argv[i];
	}
	if (n >= 1 && strcmp(rest[0], "create") == 0)
		return verbs->create(cli, n - 1, rest + 1);
	if (n == 1 && strcmp(rest[0], "list") == 0)
		return verbs->list(cli);
	if (n == 2 && strcmp(rest[0], "revoke") == 0)
		return verbs->revoke(cli, rest[1]);
	fprintf(stderr, "blixard %s: %s\n%s", argv[0],
		n == 0 ? "create, list or revoke?" : "unexpected arguments", usage);
	return BX_EXIT_USAGE;
}

int bx_cli_show(struct bx_cli *cli, const char *verb, const char *method,
		const char *path, cJSON *body, void (*show)(const cJSON *answer))
{
	struct bx_cli_reply r;
	int rv = bx_cli_request(cli, verb, method, path, body, &r);

	cJSON_Delete(body);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	else
		show(r.json);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}

int bx_cli_revoke(struct bx_cli *cli, const char *verb, const char *prefix,
		  const char *id)
{
	struct bx_cli_reply r;
	char path[256];
	int rv;

	snprintf(path, sizeof path, "%s%s", prefix, id);
	rv = bx_cli_request(cli, verb, "DELETE", path, NULL, &r);
	if (rv != 0)
		return rv;
	if (cli->json)
		bx_cli_print_json(r.json);
	else
		printf("%s %s revoked\n", verb, id);
	bx_cli_reply_free(&r);
	return BX_EXIT_OK;
}
