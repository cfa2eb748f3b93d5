/* http_client.c - asynchronous HTTP requests: libcurl multi driven by the daemon's libuv
 * loop. */
#include "net/http_client.h"

#include "net/curl_body.h"
#include "src/base/error.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * curl tells us which sockets to watch (socket_cb) and when to wake it
 * (timer_cb); we watch them with uv_poll and a uv_timer and hand events back
 * with curl_multi_socket_action. Finished transfers are collected after each
 * action and their callbacks deferred to a zero-delay timer pass, so a
 * callback never runs inside bx_http_client_request() or inside curl.
 */

#define MAX_BODY (16u << 20)

struct call {
	struct bx_http_client *c;
	CURL *easy;
	struct curl_slist *headers;
	char *body;               /* request body (copy) */
	struct bx_curl_body resp; /* response body, up to MAX_BODY */
	char errbuf[CURL_ERROR_SIZE];
	char url[512];
	bx_http_response_cb cb;
	void *data;
	int code; /* filled when done */
	long status;
	struct call *next; /* in c->calls or c->done */
};

struct poller {
	uv_poll_t poll;
	curl_socket_t fd;
	struct bx_http_client *c;
	bool closing;
	struct poller *next; /* in c->pollers */
};

struct bx_http_client {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;   /* curl's timeout */
	uv_timer_t deliver; /* runs finished callbacks */
	struct call *calls; /* in flight */
	struct call *done;  /* finished, callbacks due */
	struct poller *pollers;
	unsigned open_handles;
	bool closing;
	void (*close_cb)(void *data);
	void *close_data;
};

static void check_done(struct bx_http_client *c);
static void maybe_finish_close(struct bx_http_client *c);

/* --- curl <-> uv ----------------------------------------------------------- */

static void poller_closed(uv_handle_t *h)
{
	struct poller *p = h->data;
	struct bx_http_client *c = p->c;

	for (struct poller **q = &c->pollers; *q != NULL; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	free(p);
	c->open_handles--;
	if (c->closing)
		maybe_finish_close(c);
}

static void close_poller(struct poller *p)
{
	if (p->closing)
		return;
	p->closing = true;
	uv_poll_stop(&p->poll);
	uv_close((uv_handle_t *)&p->poll, poller_closed);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct poller *p = h->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(p->c->multi, p->fd, flags, &running);
	check_done(p->c);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct bx_http_client *c = userp;
	struct poller *p = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (p != NULL) {
			curl_multi_assign(c->multi, fd, NULL);
			close_poller(p);
		}
		return 0;
	}
	if (p == NULL) {
		p = calloc(1, sizeof *p);
		if (p == NULL)
			return -1;
		p->fd = fd;
		p->c = c;
		if (uv_poll_init_socket(c->loop, &p->poll, fd) != 0) {
			free(p);
			return -1;
		}
		p->poll.data = p;
		p->next = c->pollers;
		c->pollers = p;
		c->open_handles++;
		curl_multi_assign(c->multi, fd, p);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&p->poll, events, on_poll);
	return 0;
}

static void on_timeout(uv_timer_t *t)
{
	struct bx_http_client *c = t->data;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct bx_http_client *c = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
	return 0;
}

/* --- completion ------------------------------------------------------------ */

static void free_call(struct call *k)
{
	curl_slist_free_all(k->headers);
	free(k->body);
	free(k->resp.data);
	free(k);
}

static void unlink_call(struct call **list, struct call *k)
{
	for (struct call **p = list; *p != NULL; p = &(*p)->next)
		if (*p == k) {
			*p = k->next;
			return;
		}
}

static int map_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return BX_ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return BX_EUNAVAIL;
	default:
		return BX_EIO;
	}
}

static void deliver(uv_timer_t *t)
{
	struct bx_http_client *c = t->data;

	while (c->done != NULL) {
		struct call *k = c->done;
		struct bx_http_response resp = {0};
		char msg[CURL_ERROR_SIZE + 600];

		c->done = k->next;
		resp.code = k->code;
		resp.status = k->code == BX_OK ? k->status : 0;
		resp.body = k->resp.data ? k->resp.data : "";
		resp.body_len = k->resp.len;
		if (k->code != BX_OK) {
			snprintf(msg, sizeof msg, "%s: %s", k->url,
				 k->resp.too_big ? "response body too large"
				 : k->errbuf[0]  ? k->errbuf
						 : bx_strerror(k->code));
			resp.errmsg = msg;
		}
		k->cb(k->data, &resp);
		free_call(k);
	}
}

static void finish(struct bx_http_client *c, struct call *k, int code)
{
	k->code = code;
	curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &k->status);
	curl_multi_remove_handle(c->multi, k->easy);
	curl_easy_cleanup(k->easy);
	k->easy = NULL;
	unlink_call(&c->calls, k);
	/* keep completion order: append */
	k->next = NULL;
	struct call **tail = &c->done;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = k;
	if (!c->closing)
		uv_timer_start(&c->deliver, deliver, 0, 0);
}

static void check_done(struct bx_http_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct call *k = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
		finish(c, k,
		       m->data.result == CURLE_OK ? BX_OK
		       : k->resp.too_big          ? BX_EIO
						  : map_curl(m->data.result));
	}
}

/* --- public ---------------------------------------------------------------- */

int bx_http_client_init(struct bx_http_client **out, uv_loop_t *loop, char *errmsg)
{
	static bool curl_ready;
	struct bx_http_client *c;

	*out = NULL;
	if (!curl_ready) {
		/* not thread-safe: the daemon calls it once, on its one thread */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return bx_err(errmsg, BX_EIO, "initialise libcurl");
		curl_ready = true;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return bx_err(errmsg, BX_ENOMEM, "allocate the HTTP client");
	c->multi = curl_multi_init();
	if (c->multi == NULL) {
		free(c);
		return bx_err(errmsg, BX_ENOMEM, "create a curl multi handle");
	}
	c->loop = loop;
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->deliver);
	c->timer.data = c;
	c->deliver.data = c;
	c->open_handles = 2;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return BX_OK;
}

int bx_http_client_request(struct bx_http_client *c, const char *method, const char *url,
			   const char *body, size_t len,
			   const struct bx_http_call_opts *opts, bx_http_response_cb cb,
			   void *data)
{
	struct call *k;
	bool has_type = false;

	if (c->closing)
		return BX_ESHUTDOWN;
	k = calloc(1, sizeof *k);
	if (k == NULL)
		return BX_ENOMEM;
	k->c = c;
	k->cb = cb;
	k->data = data;
	snprintf(k->url, sizeof k->url, "%s", url);
	k->easy = curl_easy_init();
	if (k->easy == NULL) {
		free(k);
		return BX_ENOMEM;
	}
	if (opts != NULL && opts->headers != NULL)
		for (const char *const *h = opts->headers; *h != NULL; h++) {
			k->headers = curl_slist_append(k->headers, *h);
			if (strncasecmp(*h, "content-type:", 13) == 0)
				has_type = true;
		}
	if (len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		k->body = malloc(len + 1);
		if (k->body == NULL) {
			curl_easy_cleanup(k->easy);
			free_call(k);
			return BX_ENOMEM;
		}
		if (len > 0)
			memcpy(k->body, body, len);
		k->body[len] = '\0';
		curl_easy_setopt(k->easy, CURLOPT_POSTFIELDS, k->body);
		curl_easy_setopt(k->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		if (!has_type)
			k->headers = curl_slist_append(k->headers,
						       "Content-Type: application/json");
	}
	k->headers = curl_slist_append(k->headers, "Expect:");
	curl_easy_setopt(k->easy, CURLOPT_URL, url);
	curl_easy_setopt(k->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, k->headers);
	k->resp.max = MAX_BODY;
	curl_easy_setopt(k->easy, CURLOPT_WRITEFUNCTION, bx_curl_body_write);
	curl_easy_setopt(k->easy, CURLOPT_WRITEDATA, &k->resp);
	curl_easy_setopt(k->easy, CURLOPT_PRIVATE, k);
	curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, k->errbuf);
	curl_easy_setopt(k->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(k->easy, CURLOPT_TIMEOUT_MS,
			 (long)(opts && opts->timeout_ms ? opts->timeout_ms : 30000));
	curl_easy_setopt(
	    k->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000));
	if (opts != NULL && opts->unix_socket != NULL)
		curl_easy_setopt(k->easy, CURLOPT_UNIX_SOCKET_PATH, opts->unix_socket);
	if (curl_multi_add_handle(c->multi, k->easy) != CURLM_OK) {
		curl_easy_cleanup(k->easy);
		free_call(k);
		return BX_EIO;
	}
	k->next = c->calls;
	c->calls = k;
	return BX_OK;
}

static void maybe_finish_close(struct bx_http_client *c)
{
	if (c->open_handles > 0)
		return;
	void (*cb)(void *) = c->close_cb;
	void *data = c->close_data;
	free(c);
	cb(data);
}

static void timer_closed(uv_handle_t *h)
{
	struct bx_http_client *c = h->data;

	c->open_handles--;
	maybe_finish_close(c);
}

void bx_http_client_close(struct bx_http_client *c, void (*cb)(void *data), void *data)
{
	c->closing = true;
	c->close_cb = cb;
	c->close_data = data;
	/* Outstanding calls end with BX_ESHUTDOWN, now, in order. */
	while (c->calls != NULL) {
		struct call *k = c->calls;
		snprintf(k->errbuf, sizeof k->errbuf, "the client is shutting down");
		finish(c, k, BX_ESHUTDOWN);
	}
	deliver(&c->deliver);
	/* Removing the handles made curl drop its sockets (CURL_POLL_REMOVE);
	 * cleanup closes the connections it kept alive. Pollers still open
	 * are closed here. */
	curl_multi_cleanup(c->multi);
	c->multi = NULL;
	uv_timer_stop(&c->timer);
	uv_timer_stop(&c->deliver);
	uv_close((uv_handle_t *)&c->timer, timer_closed);
	uv_close((uv_handle_t *)&c->deliver, timer_closed);
	for (struct poller *p = c->pollers; p != NULL; p = p->next)
		close_poller(p);
}
