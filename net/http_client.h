/* http_client.h - asynchronous HTTP requests: libcurl multi on the daemon's libuv loop. */
#ifndef BX_HTTP_CLIENT_H
#define BX_HTTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

/*
 * Used for forwarding writes to the leader, joining, health checks and by
 * the CLI (which runs its own loop). Every request completes exactly once
 * through its callback: with a transport error in `code`, or with the HTTP
 * status and the body.
 */

struct bx_http_client;

struct bx_http_call_opts {
	const char *unix_socket;   /* connect here instead of the URL's host, or NULL */
	const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
	unsigned timeout_ms;        /* whole request; 0 = 30000 */
	unsigned connect_timeout_ms; /* 0 = 5000 */
};

struct bx_http_response {
	int code;       /* BX_OK if an HTTP answer arrived; else BX_ETIMEDOUT, BX_EUNAVAIL (refused, no route), BX_EIO */
	long status;    /* HTTP status when code == BX_OK, else 0 */
	const char *body; /* NUL-terminated, body_len bytes; valid during the callback only */
	size_t body_len;
	const char *errmsg; /* transport error text when code != BX_OK ("connect to 10.0.0.2:7000: Connection refused") */
};

typedef void (*bx_http_response_cb)(void *data, const struct bx_http_response *resp);

int bx_http_client_init(struct bx_http_client **out, uv_loop_t *loop, char *errmsg);

/*
 * Start a request. `body` (len bytes, copied) is sent for any method when
 * len > 0 or method is POST/PUT, with Content-Type: application/json unless a
 * header says otherwise. Response bodies are capped at 16 MiB (BX_EIO beyond).
 * Returns 0 (cb will run, never before this returns) or an error (cb will not run).
 */
int bx_http_client_request(struct bx_http_client *c, const char *method, const char *url,
			   const char *body, size_t len, const struct bx_http_call_opts *opts,
			   bx_http_response_cb cb, void *data);

/* Abort outstanding requests (their callbacks run with BX_ESHUTDOWN), release, call cb. */
void bx_http_client_close(struct bx_http_client *c, void (*cb)(void *data), void *data);

#endif
