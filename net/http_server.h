/* http_server.h - the HTTP/1.1 API server: h2o on the daemon's libuv loop. */
#ifndef BX_HTTP_SERVER_H
#define BX_HTTP_SERVER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/*
 * One server listens on any number of TCP addresses and Unix sockets and hands
 * every complete request to one handler. The handler answers at once or later
 * (after a Raft commit): the request stays valid until it is answered or h2o
 * lets go of it. If h2o lets go first (its connection failed, or the server
 * is closing: then the request is answered 503), the abort callback (if set)
 * runs and the request must not be touched afterwards. A client that simply
 * goes away is noticed by h2o only when the answer is written.
 *
 * Bodies larger than max_body get 413 without reaching the handler.
 */

struct bx_http_server;

struct bx_http_request {
	const char *method; /* "GET", NUL-terminated */
	const char *path;   /* decoded path without the query: "/v1/services/web" */
	const char *query;  /* raw query without '?', "" if none */
	const char *body;   /* NUL-terminated copy, body_len bytes (may be 0) */
	size_t body_len;
	const char *authorization; /* the Authorization header, or NULL */
	bool from_unix;            /* arrived on a Unix socket */
	void *user;                /* free for the handler's use */
};

typedef void (*bx_http_handler)(void *data, struct bx_http_request *req);
typedef void (*bx_http_abort_cb)(struct bx_http_request *req, void *data);

/* Told of every answer as it is sent: the request (still valid), the status
 * and the seconds since the request was read (for metrics). */
typedef void (*bx_http_observer)(void *data, const struct bx_http_request *req, int status,
				 double seconds);

/* Create a server on `loop`; nothing listens yet. */
int bx_http_server_init(struct bx_http_server **out, uv_loop_t *loop, bx_http_handler handler,
			void *data, size_t max_body, char *errmsg);

/* Listen on "HOST:PORT" (IPv4, IPv6 in brackets, or a host name). */
int bx_http_server_listen_tcp(struct bx_http_server *s, const char *address, char *errmsg);

/* Listen on a Unix socket at `path` (a stale socket file is replaced; mode 0600). */
int bx_http_server_listen_unix(struct bx_http_server *s, const char *path, char *errmsg);

/* The port actually bound by the first TCP listener (for ":0"), or 0. */
int bx_http_server_port(const struct bx_http_server *s);

/* Call `fn` for every answer from now on (NULL: stop). */
void bx_http_server_observe(struct bx_http_server *s, bx_http_observer fn, void *data);

/* Answer a request (exactly once; then `req` is gone). */
void bx_http_respond(struct bx_http_request *req, int status, const char *content_type,
		     const char *body, size_t len);
/* Answer with JSON (`json` stays the caller's). */
void bx_http_respond_json(struct bx_http_request *req, int status, const cJSON *json);
/* Answer {"error": "<formatted>", "code": status}. */
void bx_http_respond_error(struct bx_http_request *req, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Run `cb` if the client goes away before the answer; NULL cb clears it. */
void bx_http_request_on_abort(struct bx_http_request *req, bx_http_abort_cb cb, void *data);

/*
 * Stop listening, drop open connections (their pending requests are aborted),
 * release everything, then call `cb`. Removes Unix socket files it created.
 */
void bx_http_server_close(struct bx_http_server *s, void (*cb)(void *data), void *data);

#endif
