/* tailscale.c - parsing tailscaled's LocalAPI status for discovery. */
#include "tailscale.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *errmsg, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, errsize, fmt, ap);
	va_end(ap);
	return -1;
}

/* One peer object (Self or an entry of Peer); `where` names it in errors. */
static int parse_peer(const cJSON *obj, const char *where, const char *tag,
		      struct bx_ts_peer *p, char *errmsg, size_t errsize)
{
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(obj, "HostName");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(obj, "TailscaleIPs");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(obj, "Tags");
	const cJSON *online = cJSON_GetObjectItemCaseSensitive(obj, "Online");
	const cJSON *e;

	memset(p, 0, sizeof *p);
	if (!cJSON_IsObject(obj))
		return fail(errmsg, errsize, "%s: not an object", where);
	if (host != NULL && !cJSON_IsString(host))
		return fail(errmsg, errsize, "%s.HostName: not a string", where);
	if (ips != NULL && !cJSON_IsArray(ips) && !cJSON_IsNull(ips))
		return fail(errmsg, errsize, "%s.TailscaleIPs: not an array", where);
	if (tags != NULL && !cJSON_IsArray(tags) && !cJSON_IsNull(tags))
		return fail(errmsg, errsize, "%s.Tags: not an array", where);
	if (online != NULL && !cJSON_IsBool(online))
		return fail(errmsg, errsize, "%s.Online: not a boolean", where);
	if (host != NULL)
		snprintf(p->host, sizeof p->host, "%s", host->valuestring);
	p->online = cJSON_IsTrue(online);
	cJSON_ArrayForEach(e, ips)
	{
		struct in_addr a;

		if (!cJSON_IsString(e))
			return fail(errmsg, errsize,
				    "%s.TailscaleIPs: an entry is not a string", where);
		if (p->ipv4[0] == '\0' && inet_pton(AF_INET, e->valuestring, &a) == 1)
			inet_ntop(AF_INET, &a, p->ipv4, sizeof p->ipv4);
	}
	cJSON_ArrayForEach(e, tags)
	{
		if (!cJSON_IsString(e))
			return fail(errmsg, errsize, "%s.Tags: an entry is not a string",
				    where);
		if (tag != NULL && strcmp(e->valuestring, tag) == 0)
			p->tagged = true;
	}
	return 0;
}

int bx_ts_parse_status(const char *body, size_t len, const char *tag,
		       struct bx_ts_status *st, char *errmsg, size_t errsize)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *backend, *self, *peers, *e;
	int rv = 0;

	memset(st, 0, sizeof *st);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return fail(errmsg, errsize, "not a JSON object");
	}
	backend = cJSON_GetObjectItemCaseSensitive(doc, "BackendState");
	self = cJSON_GetObjectItemCaseSensitive(doc, "Self");
	peers = cJSON_GetObjectItemCaseSensitive(doc, "Peer");
	if (!cJSON_IsString(backend))
		rv = fail(errmsg, errsize, "BackendState: missing or not a string");
	else
		snprintf(st->backend, sizeof st->backend, "%s", backend->valuestring);
	if (rv == 0 && self != NULL && !cJSON_IsNull(self))
		rv = parse_peer(self, "Self", tag, &st->self, errmsg, errsize);
	if (rv == 0 && peers != NULL && !cJSON_IsNull(peers) && !cJSON_IsObject(peers))
		rv = fail(errmsg, errsize, "Peer: not an object");
	if (rv == 0 && cJSON_GetArraySize(peers) > BX_TS_PEERS_MAX)
		rv = fail(errmsg, errsize, "Peer: more than %d peers", BX_TS_PEERS_MAX);
	if (rv == 0 && cJSON_GetArraySize(peers) > 0) {
		st->peers = calloc((size_t)cJSON_GetArraySize(peers), sizeof *st->peers);
		if (st->peers == NULL)
			rv = fail(errmsg, errsize, "out of memory");
	}
	if (rv == 0)
		cJSON_ArrayForEach(e, peers)
		{
			char where[96];

			snprintf(where, sizeof where, "Peer[\"%.64s\"]",
				 e->string ? e->string : "");
			rv = parse_peer(e, where, tag, &st->peers[st->peers_len], errmsg,
					errsize);
			if (rv != 0)
				break;
			st->peers_len++;
		}
	cJSON_Delete(doc);
	if (rv != 0)
		bx_ts_status_free(st);
	return rv;
}

void bx_ts_status_free(struct bx_ts_status *st)
{
	free(st->peers);
	st->peers = NULL;
	st->peers_len = 0;
}
