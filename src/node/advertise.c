/* advertise.c - the addresses a node gives the others (see advertise.h). */
#include "src/node/advertise.h"

#include "net/curl_body.h"
#include "net/tailscale.h"
#include "src/base/error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MAX (4u << 20)

bool bx_advertise_wildcard(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	size_t n = colon != NULL ? (size_t)(colon - hostport) : strlen(hostport);

	return n == 0 || (n == 7 && strncmp(hostport, "0.0.0.0", 7) == 0) ||
	       (n == 2 && strncmp(hostport, "::", 2) == 0) ||
	       (n == 4 && strncmp(hostport, "[::]", 4) == 0);
}

void bx_advertise_with(const char *hostport, const char *ip, char *out)
{
	const char *colon = strrchr(hostport, ':');

	if (bx_advertise_wildcard(hostport) && colon != NULL)
		snprintf(out, BX_ADDR_MAX, "%s%s", ip, colon);
	else
		snprintf(out, BX_ADDR_MAX, "%s", hostport);
}

int bx_advertise_tailscale_ip(const char *socket, char ip[16], char *errmsg)
{
	struct curl_slist *headers = curl_slist_append(NULL, BX_TS_HOST_HEADER);
	char curl_err[CURL_ERROR_SIZE] = "";
	struct bx_ts_status st;
	struct bx_curl_body b = {.max = STATUS_MAX};
	long status = 0;
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	CURL *c = curl_easy_init();
	int rv;

	if (c != NULL && headers != NULL) {
		curl_easy_setopt(c, CURLOPT_URL,
				 "http://local-tailscaled.sock" BX_TS_STATUS_PATH);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bx_curl_body_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (cc != CURLE_OK || status != 200) {
		free(b.data);
		if (cc != CURLE_OK)
			return bx_err(errmsg, BX_EUNAVAIL,
				      "cannot reach tailscaled at %s: %s", socket,
				      curl_err[0] ? curl_err : curl_easy_strerror(cc));
		return bx_err(errmsg, BX_EUNAVAIL, "tailscaled at %s answered HTTP %ld",
			      socket, status);
	}
	rv = bx_ts_parse_status(b.data, b.len, "", &st, errmsg);
	free(b.data);
	if (rv != 0)
		return bx_errwrap(errmsg, rv, "tailscaled's status is not understood");
	if (strcmp(st.backend, "Running") != 0)
		rv = bx_err(errmsg, BX_EINVAL, "tailscale is not running (state %s)",
			    st.backend);
	else if (st.self.ipv4[0] == '\0')
		rv = bx_err(errmsg, BX_EINVAL, "this node has no Tailscale IPv4 address");
	else
		snprintf(ip, 16, "%s", st.self.ipv4);
	bx_ts_status_free(&st);
	return rv;
}
