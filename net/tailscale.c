/* tailscale.c - parsing tailscaled's LocalAPI status for discovery. */
#include "net/tailscale.h"

#include "src/base/error.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One peer object (Self or an entry of Peer); `where` names it in errors. */
static int parse_peer(const cJSON *obj, const char *where, const char *tag,
		      struct bx_ts_peer *p, char *errmsg)
{
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(obj, "HostName");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(obj, "TailscaleIPs");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(obj, "Tags");
	const cJSON *online = cJSON_GetObjectItemCaseSensitive(obj, "Online");
	const cJSON *e;

	memset(p, 0, sizeof *p);
	if (!cJSON_IsObject(obj))
		return bx_err(errmsg, BX_EINVAL, "%s: not an object", where);
	if (host != NULL && !cJSON_IsString(host))
		return bx_err(errmsg, BX_EINVAL, "%s.HostName: not a string", where);
	if (ips != NULL && !cJSON_IsArray(ips) && !cJSON_IsNull(ips))
		return bx_err(errmsg, BX_EINVAL, "%s.TailscaleIPs: not an array", where);
	if (tags != NULL && !cJSON_IsArray(tags) && !cJSON_IsNull(tags))
		return bx_err(errmsg, BX_EINVAL, "%s.Tags: not an array", where);
	if (online != NULL && !cJSON_IsBool(online))
		return bx_err(errmsg, BX_EINVAL, "%s.Online: not a boolean", where);
	if (host != NULL)
		snprintf(p->host, sizeof p->host, "%s", host->valuestring);
	p->online = cJSON_IsTrue(online);
	cJSON_ArrayForEach(e, ips)
	{
		struct in_addr a;

		if (!cJSON_IsString(e))
			return bx_err(errmsg, BX_EINVAL,
				      "%s.TailscaleIPs: an entry is not a string", where);
		if (p->ipv4[0] == '\0' && inet_pton(AF_INET, e->valuestring, &a) == 1)
			inet_ntop(AF_INET, &a, p->ipv4, sizeof p->ipv4);
	}
	cJSON_ArrayForEach(e, tags)
	{
		if (!cJSON_IsString(e))
			return bx_err(errmsg, BX_EINVAL,
				      "%s.Tags: an entry is not a string", where);
		if (tag != NULL && strcmp(e->valuestring, tag) == 0)
			p->tagged = true;
	}
	return 0;
}

int bx_ts_parse_status(const char *body, size_t len, const char *tag,
		       struct bx_ts_status *st, char *errmsg)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *backend, *self, *peers, *e;
	int rv = 0;

	memset(st, 0, sizeof *st);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return bx_err(errmsg, BX_EINVAL, "not a JSON object");
	}
	backend = cJSON_GetObjectItemCaseSensitive(doc, "BackendState");
	self = cJSON_GetObjectItemCaseSensitive(doc, "Self");
	peers = cJSON_GetObjectItemCaseSensitive(doc, "Peer");
	if (!cJSON_IsString(backend))
		rv = bx_err(errmsg, BX_EINVAL, "BackendState: missing or not a string");
	else
		snprintf(st->backend, sizeof st->backend, "%s", backend->valuestring);
	if (rv == 0 && self != NULL && !cJSON_IsNull(self))
		rv = parse_peer(self, "Self", tag, &st->self, errmsg);
	if (rv == 0 && peers != NULL && !cJSON_IsNull(peers) && !cJSON_IsObject(peers))
		rv = bx_err(errmsg, BX_EINVAL, "Peer: not an object");
	if (rv == 0 && cJSON_GetArraySize(peers) > BX_TS_PEERS_MAX)
		rv = bx_err(errmsg, BX_EINVAL, "Peer: more than %d peers",
			    BX_TS_PEERS_MAX);
	if (rv == 0 && cJSON_GetArraySize(peers) > 0) {
		st->peers = calloc((size_t)cJSON_GetArraySize(peers), sizeof *st->peers);
		if (st->peers == NULL)
			rv = bx_err(errmsg, BX_EINVAL, "out of memory");
	}
	if (rv == 0)
		cJSON_ArrayForEach(e, peers)
		{
			char where[96];

			snprintf(where, sizeof where, "Peer[\"%.64s\"]",
				 e->string ? e->string : "");
			rv = parse_peer(e, where, tag, &st->peers[st->peers_len], errmsg);
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
