/* heartbeat_http.c - a heartbeat sent to the leader over its API. */
#include "src/node/heartbeat_http.h"

#include "net/http_client.h"
#include "src/base/error.h"
#include "src/base/json.h"
#include "src/base/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct call {
	bx_beat_cb cb;
	void *data;
};

static void http_answered(void *data, const struct bx_http_response *resp)
{
	struct call *c = data;
	cJSON *body = NULL;
	uint64_t index = 0;
	int code = resp->code;

	if (code != BX_OK) {
		BX_DEBUG("failover", "heartbeat not answered: %s",
			 resp->errmsg ? resp->errmsg : bx_strerror(code));
	} else if (resp->status != 200) {
		BX_DEBUG("failover", "heartbeat answered HTTP %d: %.*s", (int)resp->status,
			 (int)(resp->body_len < 200 ? resp->body_len : 200), resp->body);
		code = BX_EUNAVAIL;
	} else {
		body = cJSON_ParseWithLength(resp->body, resp->body_len);
		if (!bx_json_whole(cJSON_GetObjectItemCaseSensitive(body, "index"), 0, &index))
			code = BX_EIO;
	}
	c->cb(c->data, code, code == BX_OK ? index : 0);
	cJSON_Delete(body);
	free(c);
}

int bx_heartbeat_http_send(void *data, uint64_t leader, bx_beat_cb cb, void *cb_data)
{
	struct bx_heartbeat_http *h = data;
	struct bx_http_call_opts opts = {.timeout_ms = 2 * h->lease_ms,
					 .connect_timeout_ms = h->lease_ms,
					 .headers = h->headers};
	char api[256], url[320], body[160];
	struct call *c;
	int rv;

	(void)leader; /* its address is the submitter's to know */
	if (h->submitter->leader_api(h->submitter->data, api, sizeof api) == NULL)
		return BX_ENOLEADER;
	c = malloc(sizeof *c);
	if (c == NULL)
		return BX_ENOMEM;
	c->cb = cb;
	c->data = cb_data;
	snprintf(url, sizeof url, "http://%s/v1/internal/heartbeat", api);
	snprintf(body, sizeof body, "{\"id\":%llu,\"cluster_id\":\"%s\"}",
		 (unsigned long long)h->node_id, h->cluster_id);
	rv = bx_http_client_request(h->client, "POST", url, body, strlen(body), &opts,
				    http_answered, c);
	if (rv != 0)
		free(c);
	return rv;
}
