/* http_server.c - the HTTP/1.1 API server: h2o (libuv build) on the daemon's loop. */
#include "net/http_server.h"

#include "src/base/error.h"
#include "src/base/json.h"
#include "src/base/utf8.h"

#include <errno.h>
#include <h2o.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * h2o owns the connections and parses HTTP; this file turns each complete
 * request into a struct bx_http_request and back. The one subtle part is a
 * request answered later (after a Raft commit): h2o frees the request when
 * its connection goes away, so each request carries a small block allocated
 * in the request's own memory pool whose dispose callback tells us when that
 * happens ("the client went away"); from then on the request is dead and a
 * late answer only releases our side.
 */

#define MAX_LISTENERS 8

struct listener {
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	bool is_unix;
	bool open;
	struct bx_http_server *server;
};

struct bx_http_server {
	uv_loop_t *loop;
	h2o_globalconf_t config;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	bx_http_handler handler;
	void *data;
	bx_http_observer observe; /* every answer, or NULL */
	void *observe_data;
	size_t max_body;
	struct listener listeners[MAX_LISTENERS];
	int n_listeners;
	int port; /* first TCP listener's bound port */
	char unix_paths[MAX_LISTENERS][108];
	int n_unix;
	unsigned open_sockets;   /* accepted and not yet closed */
	struct request *pending; /* handed to the handler, not answered yet */
	unsigned closing_handles;
	unsigned grace_rounds;
	bool closing;
	uv_timer_t grace;
	void (*close_cb)(void *data);
	void *close_data;
};

/* Our side of one request; lives until answered AND h2o has let go. */
struct request {
	struct bx_http_request pub; /* first: req pointers convert */
	h2o_req_t *h2o;             /* NULL once h2o freed the request */
	bx_http_abort_cb abort_cb;
	void *abort_data;
	bool answered;
	uint64_t arrived; /* uv_hrtime() when it was read, for the observer */
	char *method, *path, *query, *body, *authorization;
	struct bx_http_server *server;
	struct request *prev, *next; /* in server->pending while unanswered */
};

/* Lives in the h2o request's pool; its dispose runs when h2o frees the request. */
struct watch {
	struct request *req;
};

static void unlink_pending(struct request *r)
{
	struct bx_http_server *s = r->server;

	if (s == NULL)
		return;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else if (s->pending == r)
		s->pending = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->server = NULL;
}

static void free_request(struct request *r)
{
	unlink_pending(r);
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->body);
	free(r->authorization);
	free(r);
}

static void on_pool_dispose(void *p)
{
	struct watch *w = p;
	struct request *r = w->req;

	if (r == NULL)
		return;
	r->h2o = NULL;
	if (r->answered) {
		free_request(r);
		return;
	}
	/* The client went away before the answer: tell the owner, who must
	 * not touch the request afterwards (http_server.h), and release it. */
	if (r->abort_cb != NULL)
		r->abort_cb(&r->pub, r->abort_data);
	free_request(r);
}

static char *dup_iov(const char *base, size_t len)
{
	char *s = malloc(len + 1);

	if (s != NULL) {
		if (len > 0)
			memcpy(s, base, len);
		s[len] = '\0';
	}
	return s;
}

static int on_req(h2o_handler_t *self, h2o_req_t *hreq)
{
	struct bx_http_server *s = *(struct bx_http_server **)(self + 1);
	struct request *r = calloc(1, sizeof *r);
	struct watch *w;
	ssize_t auth;

	if (r == NULL)
		return -1;
	r->arrived = uv_hrtime();
	r->server = s;
	r->method = dup_iov(hreq->method.base, hreq->method.len);
	r->path = dup_iov(hreq->path_normalized.base, hreq->path_normalized.len);
	r->query = hreq->query_at != SIZE_MAX
		       ? dup_iov(hreq->path.base + hreq->query_at + 1,
				 hreq->path.len - hreq->query_at - 1)
		       : dup_iov("", 0);
	r->body = hreq->entity.base ? dup_iov(hreq->entity.base, hreq->entity.len)
				    : dup_iov("", 0);
	auth = h2o_find_header(&hreq->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (auth >= 0)
		r->authorization = dup_iov(hreq->headers.entries[auth].value.base,
					   hreq->headers.entries[auth].value.len);
	if (r->method == NULL || r->path == NULL || r->query == NULL || r->body == NULL ||
	    (auth >= 0 && r->authorization == NULL)) {
		free_request(r);
		return -1;
	}
	r->h2o = hreq;
	r->pub.method = r->method;
	r->pub.path = r->path;
	r->pub.query = r->query;
	r->pub.body = r->body;
	r->pub.body_len = hreq->entity.base ? hreq->entity.len : 0;
	r->pub.authorization = r->authorization;
	{
		/* h2o's uv binding asks getpeername() of the fd: AF_UNIX for our
		 * socket listener's connections. */
		struct sockaddr_storage sa;
		socklen_t len =
		    hreq->conn->callbacks->get_peername(hreq->conn, (void *)&sa);
		r->pub.from_unix = len > 0 && sa.ss_family == AF_UNIX;
	}
	w = h2o_mem_alloc_shared(&hreq->pool, sizeof *w, on_pool_dispose);
	w->req = r;
	if (r->pub.body_len > s->max_body) {
		bx_http_respond_error(&r->pub, 413, "request body over %zu bytes",
				      s->max_body);
		return 0;
	}
	r->next = s->pending;
	if (s->pending != NULL)
		s->pending->prev = r;
	s->pending = r;
	s->handler(s->data, &r->pub);
	return 0;
}

void bx_http_server_observe(struct bx_http_server *s, bx_http_observer fn, void *data)
{
	s->observe = fn;
	s->observe_data = data;
}

void bx_http_respond(struct bx_http_request *req, int status, const char *content_type,
		     const char *body, size_t len)
{
	struct request *r = (struct request *)req;
	h2o_req_t *h = r->h2o;

	if (r->answered)
		return;
	r->answered = true;
	if (r->server != NULL && r->server->observe != NULL)
		r->server->observe(r->server->observe_data, req, status,
				   (double)(uv_hrtime() - r->arrived) / 1e9);
	unlink_pending(r);
	if (h == NULL) { /* the client is gone: nothing to send */
		free_request(r);
		return;
	}
	h->res.status = status;
	h->res.reason = status < 300   ? "OK"
			: status < 500 ? "Client Error"
				       : "Server Error";
	h2o_add_header(&h->pool, &h->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       content_type, strlen(content_type));
	/* h2o copies the body into the request's pool; our request is freed
	 * when h2o releases its own (on_pool_dispose). */
	h2o_send_inline(h, body, len);
}

void bx_http_respond_json(struct bx_http_request *req, int status, const cJSON *json)
{
	size_t len = 0;
	char *text = bx_json_print(json, &len);

	if (text == NULL) {
		bx_http_respond(req, 500, "application/json",
				"{\"error\":\"out of memory\",\"code\":500}", 36);
		return;
	}
	bx_http_respond(req, status, "application/json", text, len);
	free(text);
}

void bx_http_respond_error(struct bx_http_request *req, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	cJSON *body = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* a message may quote what a client sent (a path, a name): only UTF-8
	 * goes into JSON, or the answer is no JSON at all */
	bx_utf8_clean(msg, strlen(msg));
	cJSON_AddStringToObject(body, "error", msg);
	cJSON_AddNumberToObject(body, "code", status);
	bx_http_respond_json(req, status, body);
	cJSON_Delete(body);
}

void bx_http_request_on_abort(struct bx_http_request *req, bx_http_abort_cb cb,
			      void *data)
{
	struct request *r = (struct request *)req;

	r->abort_cb = cb;
	r->abort_data = data;
}

/* --- listening ------------------------------------------------------------- */

/* An accepted connection's handle; h2o takes over handle.data, so the
 * server is found through the enclosing struct instead. */
struct conn {
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h; /* first: the handle pointer is the conn pointer */
	struct bx_http_server *server;
};

static void on_socket_closed(uv_handle_t *h)
{
	struct conn *c = (struct conn *)h;

	c->server->open_sockets--;
	free(c);
}

static void on_accept(uv_stream_t *listener, int status)
{
	struct listener *l = listener->data;
	struct bx_http_server *s = l->server;
	struct conn *c;
	uv_stream_t *conn;
	h2o_socket_t *sock;

	if (status != 0 || s->closing)
		return;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return;
	c->server = s;
	if (l->is_unix) {
		uv_pipe_init(s->loop, &c->h.pipe, 0);
	} else {
		uv_tcp_init(s->loop, &c->h.tcp);
		uv_tcp_nodelay(&c->h.tcp, 1);
	}
	conn = (uv_stream_t *)&c->h;
	if (uv_accept(listener, conn) != 0) {
		uv_close((uv_handle_t *)conn, (uv_close_cb)free);
		return;
	}
	s->open_sockets++;
	sock = h2o_uv_socket_create(conn, on_socket_closed);
	h2o_accept(&s->accept_ctx, sock);
}

int bx_http_server_init(struct bx_http_server **out, uv_loop_t *loop,
			bx_http_handler handler, void *data, size_t max_body,
			char *errmsg)
{
	struct bx_http_server *s = calloc(1, sizeof *s);
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *h;

	*out = NULL;
	if (s == NULL)
		return bx_err(errmsg, BX_ENOMEM, "allocate the HTTP server");
	s->loop = loop;
	s->handler = handler;
	s->data = data;
	s->max_body = max_body;
	h2o_config_init(&s->config);
	/* h2o answers 413 itself above this; the handler re-checks exactly. */
	s->config.max_request_entity_size = max_body + 1;
	s->config.server_name = h2o_iovec_init(H2O_STRLIT("blixard"));
	host = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")),
					65535);
	path = h2o_config_register_path(host, "/", 0);
	h = h2o_create_handler(path, sizeof *h + sizeof s);
	*(struct bx_http_server **)(h + 1) = s;
	h->on_req = on_req;
	h2o_context_init(&s->ctx, loop, &s->config);
	s->accept_ctx.ctx = &s->ctx;
	s->accept_ctx.hosts = s->config.hosts;
	*out = s;
	return BX_OK;
}

static struct listener *new_listener(struct bx_http_server *s, char *errmsg)
{
	struct listener *l;

	if (s->n_listeners == MAX_LISTENERS) {
		bx_err(errmsg, BX_EFULL, "at most %d listeners", MAX_LISTENERS);
		return NULL;
	}
	l = &s->listeners[s->n_listeners];
	memset(l, 0, sizeof *l);
	l->server = s;
	return l;
}

/* "HOST:PORT", "[v6]:PORT" -> host and port strings. */
static int split_address(const char *address, char *host, size_t hsize, char *port,
			 size_t psize)
{
	const char *colon = strrchr(address, ':');
	size_t hl;

	if (colon == NULL || colon[1] == '\0')
		return BX_EINVAL;
	hl = (size_t)(colon - address);
	if (hl >= 2 && address[0] == '[' && address[hl - 1] == ']') {
		address++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hsize || strlen(colon + 1) >= psize)
		return BX_EINVAL;
	memcpy(host, address, hl);
	host[hl] = '\0';
	snprintf(port, psize, "%s", colon + 1);
	return BX_OK;
}

int bx_http_server_listen_tcp(struct bx_http_server *s, const char *address, char *errmsg)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	struct listener *l = new_listener(s, errmsg);
	char host[256], port[16];
	int rv;

	if (l == NULL)
		return BX_EFULL;
	if (split_address(address, host, sizeof host, port, sizeof port) != 0)
		return bx_err(errmsg, BX_EINVAL, "'%s' is not HOST:PORT", address);
	rv = getaddrinfo(host, port, &hints, &ai);
	if (rv != 0)
		return bx_err(errmsg, BX_EINVAL, "resolve '%s': %s", address,
			      gai_strerror(rv));
	uv_tcp_init(s->loop, &l->h.tcp);
	l->h.tcp.data = l;
	l->open = true;
	s->n_listeners++;
	rv = uv_tcp_bind(&l->h.tcp, ai->ai_addr, 0);
	freeaddrinfo(ai);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&l->h.tcp, 128, on_accept);
	if (rv != 0)
		return bx_err(errmsg, BX_EIO, "listen on %s: %s", address,
			      uv_strerror(rv));
	if (s->port == 0) {
		struct sockaddr_storage sa;
		int len = sizeof sa;
		if (uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&sa, &len) == 0)
			s->port = ntohs(sa.ss_family == AF_INET6
					    ? ((struct sockaddr_in6 *)&sa)->sin6_port
					    : ((struct sockaddr_in *)&sa)->sin_port);
	}
	return BX_OK;
}

int bx_http_server_listen_unix(struct bx_http_server *s, const char *path, char *errmsg)
{
	struct listener *l = new_listener(s, errmsg);
	struct stat st;
	int rv;

	if (l == NULL)
		return BX_EFULL;
	if (strlen(path) >= sizeof s->unix_paths[0])
		return bx_err(errmsg, BX_EINVAL, "socket path too long: '%s'", path);
	/* A socket file left by a daemon that died is stale: the data
	 * directory lock guarantees no other daemon of ours uses it. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return bx_err(errmsg, BX_EEXIST,
				      "'%s' exists and is not a socket", path);
		unlink(path);
	}
	uv_pipe_init(s->loop, &l->h.pipe, 0);
	l->h.pipe.data = l;
	l->is_unix = true;
	l->open = true;
	s->n_listeners++;
	rv = uv_pipe_bind(&l->h.pipe, path);
	if (rv == 0 && chmod(path, 0600) != 0)
		rv = uv_translate_sys_error(errno);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&l->h.pipe, 128, on_accept);
	if (rv != 0)
		return bx_err(errmsg, BX_EIO, "listen on '%s': %s", path,
			      uv_strerror(rv));
	snprintf(s->unix_paths[s->n_unix++], sizeof s->unix_paths[0], "%s", path);
	return BX_OK;
}

int bx_http_server_port(const struct bx_http_server *s)
{
	return s->port;
}

/* --- close ----------------------------------------------------------------- */

static void finish_close(struct bx_http_server *s)
{
	void (*cb)(void *) = s->close_cb;
	void *data = s->close_data;

	/* h2o's context may only go once every connection has: otherwise
	 * (a peer holding a keep-alive connection past the grace period) it is
	 * left to the process's exit. */
	if (s->open_sockets == 0) {
		h2o_context_dispose(&s->ctx);
		h2o_config_dispose(&s->config);
		free(s);
	}
	cb(data);
}

#define GRACE_MS 20
#define GRACE_ROUNDS 50 /* up to 1 s for open connections to finish */

static void grace_closed(uv_handle_t *h)
{
	finish_close(h->data);
}

static void on_grace(uv_timer_t *t)
{
	struct bx_http_server *s = t->data;

	if (s->open_sockets > 0 && s->grace_rounds-- > 0)
		return;
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, grace_closed);
}

static void start_grace(struct bx_http_server *s)
{
	/* no h2o_context_request_shutdown(): it arms an HTTP/2 timer that
	 * h2o_context_dispose() then asserts on; HTTP/1 connections end on
	 * their own (clients close after each request) or at the grace end. */
	uv_timer_init(s->loop, &s->grace);
	s->grace.data = s;
	s->grace_rounds = GRACE_ROUNDS;
	uv_timer_start(&s->grace, on_grace, 0, GRACE_MS);
}

static void listener_closed(uv_handle_t *h)
{
	struct listener *l = h->data;

	if (--l->server->closing_handles == 0)
		start_grace(l->server);
}

void bx_http_server_close(struct bx_http_server *s, void (*cb)(void *data), void *data)
{
	s->closing = true;
	/* Requests still waiting for an answer get one now: h2o keeps their
	 * connections open until they are answered. Their owners' later
	 * answers are ignored (the request is marked answered). */
	while (s->pending != NULL) {
		struct request *r = s->pending;
		unlink_pending(r);
		if (r->abort_cb != NULL)
			r->abort_cb(&r->pub, r->abort_data);
		r->abort_cb = NULL;
		bx_http_respond_error(&r->pub, 503, "the server is shutting down");
	}
	s->close_cb = cb;
	s->close_data = data;
	for (int i = 0; i < s->n_unix; i++)
		unlink(s->unix_paths[i]);
	s->closing_handles = 0;
	for (int i = 0; i < s->n_listeners; i++) {
		if (!s->listeners[i].open)
			continue;
		s->listeners[i].open = false;
		s->closing_handles++;
		uv_close((uv_handle_t *)&s->listeners[i].h, listener_closed);
	}
	if (s->closing_handles == 0)
		start_grace(s);
}
