/* join.c - a fresh node joins a cluster through a member's API. */
#include "src/node/join.h"

#include "net/http_client.h"
#include "src/base/error.h"
#include "src/base/log.h"
#include "src/model/invite.h"
#include "src/model/secret.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOIN_TIMEOUT_MS 60000

int bx_join_use_invite(struct bx_join *j, const char *token, char *errmsg)
{
	j->invite = calloc(1, sizeof *j->invite);
	if (j->invite == NULL)
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	if (bx_invite_decode(token, j->invite, errmsg) != 0)
		return BX_EINVAL;
	return BX_OK;
}

static int take_secret(struct bx_join *j, const cJSON *answer, char *errmsg)
{
	const char *secret =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(answer, "secret"));
	int rv;

	if (secret == NULL)
		return bx_err(errmsg, BX_EINVAL,
			      "the cluster's answer to the admission carries no secret");
	rv = bx_secret_check(secret, "the cluster's answer to the admission", errmsg);
	if (rv == 0)
		rv = j->take_secret(j->data, secret, errmsg);
	return rv;
}

static void join_done(void *data, const struct bx_http_response *resp)
{
	struct bx_join *j = data;
	char errmsg[BX_ERRMSG_SIZE] = "";
	cJSON *body = NULL;
	const cJSON *cluster, *err;
	unsigned delay;

	j->in_flight = false;
	if (j->stopped)
		return;
	if (resp->code == BX_OK && resp->status == 200) {
		body = cJSON_ParseWithLength(resp->body, resp->body_len);
		cluster = cJSON_GetObjectItemCaseSensitive(body, "cluster_id");
		if (cJSON_IsString(cluster)) {
			int rv;
			if (!j->has_secret(j->data)) { /* the answer to the admission */
				rv = take_secret(j, body, errmsg);
				if (rv == 0) {
					BX_INFO("daemon",
						"admitted to cluster %s: joining",
						cluster->valuestring);
					cJSON_Delete(body);
					/* the join proper, at the next tick */
					j->attempts = 0;
					j->retry_at = 0;
					return;
				}
			} else {
				rv = j->adopt_cluster(j->data, cluster->valuestring, errmsg);
			}
			cJSON_Delete(body);
			if (rv != 0) {
				BX_ERROR("daemon", "join refused: %s", errmsg);
				j->refused(j->data);
				return;
			}
			j->joining = false;
			BX_INFO("daemon", "joined cluster %s through %s", j->cluster_id,
				j->target);
			return;
		}
		cJSON_Delete(body);
	}
	body = resp->body_len ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
	err = cJSON_GetObjectItemCaseSensitive(body, "error");
	/* A refusal the cluster will keep giving (4xx) is final; a missing
	 * leader or an unreachable member (5xx, transport) is worth retrying. */
	if (resp->code == BX_OK && resp->status >= 400 && resp->status < 500) {
		BX_ERROR("daemon", "join through %s refused: %s", j->target,
			 cJSON_IsString(err) ? err->valuestring : "HTTP error");
		cJSON_Delete(body);
		j->refused(j->data);
		return;
	}
	delay = 250u << (j->attempts < 5 ? j->attempts : 5);
	/* an invite names several members: try the next one */
	if (j->invite != NULL && j->invite->n_members > 1) {
		j->invite_member = (j->invite_member + 1) % (unsigned)j->invite->n_members;
		snprintf(j->target, sizeof j->target, "%s",
			 j->invite->members[j->invite_member]);
	}
	BX_WARN(
	    "daemon", "join through %s failed (%s); retrying in %u ms", j->target,
	    cJSON_IsString(err) ? err->valuestring
				: (resp->errmsg ? resp->errmsg : bx_strerror(resp->code)),
	    delay);
	cJSON_Delete(body);
	j->attempts++;
	j->retry_at = uv_now(j->loop) + delay;
}

static void join_send(struct bx_join *j)
{
	struct bx_http_call_opts opts = {.timeout_ms = JOIN_TIMEOUT_MS,
					 .connect_timeout_ms = 2000,
					 .headers = j->headers};
	char url[320];
	cJSON *req = cJSON_CreateObject();
	bool admit = !j->has_secret(j->data); /* only with an invite: bx_join_check */
	char *body;

	cJSON_AddNumberToObject(req, "id", (double)j->node_id);
	if (!admit) {
		cJSON_AddStringToObject(req, "name", j->name ? j->name : "");
		cJSON_AddStringToObject(req, "raft", j->raft_addr);
		cJSON_AddStringToObject(req, "api", j->api_addr);
	}
	if (j->cluster_id[0] != '\0')
		cJSON_AddStringToObject(req, "cluster_id", j->cluster_id);
	else if (j->invite != NULL)
		cJSON_AddStringToObject(req, "cluster_id", j->invite->cluster_id);
	if (j->invite != NULL) {
		cJSON *inv = cJSON_AddObjectToObject(req, "invite");
		cJSON_AddStringToObject(inv, "id", j->invite->id);
		cJSON_AddStringToObject(inv, "secret", j->invite->secret);
	}
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (body == NULL)
		return;
	snprintf(url, sizeof url, "http://%s/v1/cluster/%s", j->target,
		 admit ? "admit" : "join");
	j->in_flight = true;
	if (bx_http_client_request(j->client, "POST", url, body, strlen(body), &opts,
				   join_done, j) != 0) {
		j->in_flight = false;
		j->retry_at = uv_now(j->loop) + 1000;
	}
	free(body);
}

int bx_join_check(struct bx_join *j, char *errmsg)
{
	if (j->invite == NULL && !j->has_secret(j->data))
		return bx_err(
		    errmsg, BX_EINVAL,
		    "joining needs an invite or the cluster secret: start the node "
		    "with --join-token TOKEN ('blixard invite create' on a member), "
		    "or give it the secret with --cluster-secret-file");
	return BX_OK;
}

int bx_join_start(struct bx_join *j, const char *target, char *errmsg)
{
	if (strlen(target) >= sizeof j->target)
		return bx_err(errmsg, BX_EINVAL, "join address too long: '%s'", target);
	if (j->joining)
		return bx_err(errmsg, BX_EBUSY, "already joining through %s", j->target);
	snprintf(j->target, sizeof j->target, "%s", target);
	j->joining = true;
	j->attempts = 0;
	j->retry_at = 0; /* the next tick sends it: the client may not exist yet */
	BX_INFO("daemon", "joining the cluster through %s as node %llu", target,
		(unsigned long long)j->node_id);
	return BX_OK;
}

void bx_join_tick(struct bx_join *j)
{
	if (j->joining && !j->in_flight && !j->stopped && uv_now(j->loop) >= j->retry_at)
		join_send(j);
}

void bx_join_stop(struct bx_join *j)
{
	j->stopped = true;
}

void bx_join_free(struct bx_join *j)
{
	free(j->invite);
	j->invite = NULL;
}
