/* submit.c - commands from any node: proposed on the leader, forwarded from a follower. */
#include "src/node/submit.h"

#include "net/http_client.h"
#include "raft/node.h"
#include "src/base/clock.h"
#include "src/base/error.h"
#include "src/node/proposer.h"
#include "src/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORWARD_TIMEOUT_MS 10000

int bx_submit_propose(struct bx_submit *s, cJSON *cmd, bx_submit_cb cb, void *data)
{
	if (s->before_propose != NULL)
		s->before_propose(s->data);
	if (!cJSON_HasObjectItem(cmd, "ts"))
		cJSON_AddNumberToObject(cmd, "ts", (double)bx_now_ms());
	return bx_proposer_submit(s->proposer, cmd, cb, data);
}

const char *bx_submit_leader_api(struct bx_submit *s, char *buf, size_t size)
{
	uint64_t leader = s->raft != NULL ? bx_raft_node_leader(s->raft) : 0;
	cJSON *node = NULL;
	const cJSON *api;

	if (leader == 0 || bx_store_get_node(s->store, leader, &node) != 0)
		return NULL;
	api = cJSON_GetObjectItemCaseSensitive(node, "api");
	if (!cJSON_IsString(api) || api->valuestring[0] == '\0') {
		cJSON_Delete(node);
		return NULL;
	}
	snprintf(buf, size, "%s", api->valuestring);
	cJSON_Delete(node);
	return buf;
}

struct forward {
	bx_submit_cb cb;
	void *data;
};

static void forward_done(void *data, const struct bx_http_response *resp)
{
	struct forward *f = data;
	cJSON *body = NULL;
	const cJSON *jcode, *jerr, *jrecord;
	int code;

	if (resp->code != BX_OK) {
		f->cb(f->data, resp->code,
		      resp->errmsg ? resp->errmsg : bx_strerror(resp->code), NULL);
		free(f);
		return;
	}
	body = cJSON_ParseWithLength(resp->body, resp->body_len);
	jcode = cJSON_GetObjectItemCaseSensitive(body, "code");
	jerr = cJSON_GetObjectItemCaseSensitive(body, "error");
	jrecord = resp->status == 200 ? body : NULL;
	if (resp->status == 200)
		code = BX_OK;
	else if (cJSON_IsNumber(jcode))
		code = jcode->valueint;
	else
		code = resp->status == 503 ? BX_ENOLEADER : BX_EIO;
	f->cb(f->data, code, cJSON_IsString(jerr) ? jerr->valuestring : bx_strerror(code),
	      cJSON_IsObject(jrecord) ? jrecord : NULL);
	cJSON_Delete(body);
	free(f);
}

void bx_submit_send(struct bx_submit *s, cJSON *cmd, bx_submit_cb cb, void *data)
{
	char api[256], url[300];
	struct bx_http_call_opts opts = {.timeout_ms = FORWARD_TIMEOUT_MS,
					 .connect_timeout_ms = 1000,
					 .headers = s->headers};
	struct forward *f;
	char *body;
	int rv;

	if (s->raft != NULL && bx_raft_node_is_leader(s->raft)) {
		rv = bx_submit_propose(s, cmd, cb, data);
		if (rv != 0)
			cb(data, rv, bx_strerror(rv), NULL);
		return;
	}
	if (bx_submit_leader_api(s, api, sizeof api) == NULL) {
		cJSON_Delete(cmd);
		cb(data, BX_ENOLEADER, "no leader", NULL);
		return;
	}
	if (!cJSON_HasObjectItem(cmd, "ts"))
		cJSON_AddNumberToObject(cmd, "ts", (double)bx_now_ms());
	body = cJSON_PrintUnformatted(cmd);
	cJSON_Delete(cmd);
	f = malloc(sizeof *f);
	if (body == NULL || f == NULL) {
		free(body);
		free(f);
		cb(data, BX_ENOMEM, "out of memory", NULL);
		return;
	}
	f->cb = cb;
	f->data = data;
	snprintf(url, sizeof url, "http://%s/v1/internal/command", api);
	rv = bx_http_client_request(s->client, "POST", url, body, strlen(body), &opts,
				    forward_done, f);
	free(body);
	if (rv != 0) {
		free(f);
		cb(data, rv, bx_strerror(rv), NULL);
	}
}

static void port_submit(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data)
{
	bx_submit_send(data, cmd, cb, cb_data);
}

static int port_propose(void *data, cJSON *cmd, bx_submit_cb cb, void *cb_data)
{
	return bx_submit_propose(data, cmd, cb, cb_data);
}

static const char *port_leader_api(void *data, char *buf, size_t size)
{
	return bx_submit_leader_api(data, buf, size);
}

void bx_submit_init(struct bx_submit *s)
{
	s->port = (struct bx_submitter){.data = s,
					.submit = port_submit,
					.propose = port_propose,
					.leader_api = port_leader_api};
}
