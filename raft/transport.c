/* transport.c - libraft's TCP transport behind a challenge-response (see
 * transport.h). Everything runs on the loop's thread. */
#include "raft/transport.h"

#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MAGIC "BXR1"
#define NONCE 16
#define MAC 32
#define ADDR_MAX 255

struct tp;

/* One connection in its exchange: owns the TCP handle (until handed to
 * libraft) and a timer; freed when both are closed and no write is out. */
struct hs {
	struct tp *tp;
	struct hs *prev, *next;
	bool outgoing, finished;
	uv_tcp_t *tcp; /* raft_malloc'd: libraft frees it once it has it */
	bool tcp_open;
	uv_timer_t timer;
	bool timer_open;
	unsigned writes; /* uv_write requests not yet called back */
	uv_getaddrinfo_t gai;
	bool resolving;
	uv_connect_t connect;
	struct raft_uv_connect *req;
	raft_uv_connect_cb cb;
	int stage;
	unsigned char nonce_me[NONCE], nonce_peer[NONCE];
	unsigned char buf[4 + NONCE + MAC + 8 + 2 + ADDR_MAX];
	size_t have, need;
	char host[ADDR_MAX + 1], port[8];
	raft_id peer_id; /* accepted: who connected, as its proof says */
	char peer_addr[ADDR_MAX + 1];
};

struct tp {
	struct raft_uv_transport *t;
	uv_loop_t *loop;
	raft_id id;
	char address[ADDR_MAX + 1];
	char bind[ADDR_MAX + 1]; /* listened on: "" is `address` */
	char secret[BX_TRANSPORT_SECRET_MAX + 1];
	uv_tcp_t listener;
	bool listening;
	raft_uv_accept_cb accept_cb;
	struct hs *list;
	unsigned live; /* handles and requests not yet called back */
	bool closing;
	raft_uv_transport_close_cb close_cb;
	uint64_t refused_in, refused_out;
};

static void maybe_closed(struct tp *tp)
{
	if (tp->closing && tp->live == 0 && tp->close_cb != NULL) {
		raft_uv_transport_close_cb cb = tp->close_cb;
		tp->close_cb = NULL;
		cb(tp->t);
	}
}

static void hs_release(struct hs *h)
{
	struct tp *tp = h->tp;

	if (h->tcp_open || h->timer_open || h->writes > 0 || h->resolving)
		return;
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		tp->list = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	free(h);
	maybe_closed(tp);
}

static void tcp_closed(uv_handle_t *handle)
{
	struct hs *h = handle->data;

	raft_free(handle);
	h->tcp = NULL;
	h->tcp_open = false;
	h->tp->live--;
	hs_release(h);
}

static void timer_closed(uv_handle_t *handle)
{
	struct hs *h = handle->data;

	h->timer_open = false;
	h->tp->live--;
	hs_release(h);
}

/* End the exchange: `ok` hands the stream to libraft (the connect or the
 * accept callback), else it is closed and an outgoing request fails with
 * `status`. (After tp_close ended every exchange, none can end again.) */
static void finish(struct hs *h, bool ok, int status)
{
	struct tp *tp = h->tp;
	uv_stream_t *stream = (uv_stream_t *)h->tcp;

	if (h->finished)
		return;
	h->finished = true;
	if (h->timer_open)
		uv_close((uv_handle_t *)&h->timer, timer_closed);
	if (ok) {
		uv_read_stop(stream);
		stream->data = NULL;
		h->tcp = NULL;
		h->tcp_open = false;
		tp->live--; /* libraft's now */
	} else {
		if (h->tcp_open && !uv_is_closing((uv_handle_t *)h->tcp))
			uv_close((uv_handle_t *)h->tcp, tcp_closed);
		if (status != RAFT_CANCELED) {
			if (h->outgoing)
				tp->refused_out++;
			else
				tp->refused_in++;
		}
	}
	if (h->outgoing) {
		raft_uv_connect_cb cb = h->cb;
		h->cb = NULL;
		if (cb != NULL)
			cb(h->req, ok ? stream : NULL, ok ? 0 : status);
	} else if (ok) {
		tp->accept_cb(tp->t, h->peer_id, h->peer_addr, stream);
	}
	hs_release(h);
}

static void mac(const struct tp *tp, const unsigned char *data, size_t n,
		unsigned char out[MAC])
{
	unsigned len = MAC;

	HMAC(EVP_sha256(), tp->secret, (int)strlen(tp->secret), data, n, out, &len);
}

static void wrote(uv_write_t *w, int status)
{
	struct hs *h = w->data;

	free(w);
	h->writes--;
	if (status != 0 && !h->finished)
		finish(h, false, RAFT_NOCONNECTION);
	else
		hs_release(h);
}

static bool send_bytes(struct hs *h, const void *data, size_t n)
{
	uv_write_t *w = malloc(sizeof *w + n);
	uv_buf_t b;

	if (w == NULL)
		return false;
	memcpy(w + 1, data, n);
	b = uv_buf_init((char *)(w + 1), (unsigned)n);
	w->data = h;
	if (uv_write(w, (uv_stream_t *)h->tcp, &b, 1, wrote) != 0) {
		free(w);
		return false;
	}
	h->writes++;
	return true;
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool random_nonce(unsigned char *n)
{
	return getrandom(n, NONCE, 0) == NONCE;
}

/* The connector's proof: "C" nonce_a nonce_c id len addr. */
static void connector_mac(const struct tp *tp, const unsigned char *nonce_a,
			  const unsigned char *nonce_c, const unsigned char *id_len_addr,
			  size_t n, unsigned char out[MAC])
{
	unsigned char data[1 + 2 * NONCE + 8 + 2 + ADDR_MAX];

	data[0] = 'C';
	memcpy(data + 1, nonce_a, NONCE);
	memcpy(data + 1 + NONCE, nonce_c, NONCE);
	memcpy(data + 1 + 2 * NONCE, id_len_addr, n);
	mac(tp, data, 1 + 2 * NONCE + n, out);
}

static void acceptor_mac(const struct tp *tp, const unsigned char *nonce_c,
			 const unsigned char *nonce_a, unsigned char out[MAC])
{
	unsigned char data[1 + 2 * NONCE];

	data[0] = 'A';
	memcpy(data + 1, nonce_c, NONCE);
	memcpy(data + 1 + NONCE, nonce_a, NONCE);
	mac(tp, data, sizeof data, out);
}

/* The acceptor's side, each time `need` bytes are in. */
static void accept_step(struct hs *h)
{
	struct tp *tp = h->tp;
	unsigned char out[4 + NONCE + MAC], want[MAC];

	if (h->stage == 0) { /* "BXR1" nonce_c */
		if (memcmp(h->buf, MAGIC, 4) != 0 || tp->secret[0] == '\0' ||
		    !random_nonce(h->nonce_me)) {
			finish(h, false, RAFT_NOCONNECTION);
			return;
		}
		memcpy(h->nonce_peer, h->buf + 4, NONCE);
		memcpy(out, MAGIC, 4);
		memcpy(out + 4, h->nonce_me, NONCE);
		acceptor_mac(tp, h->nonce_peer, h->nonce_me, out + 4 + NONCE);
		if (!send_bytes(h, out, sizeof out)) {
			finish(h, false, RAFT_NOCONNECTION);
			return;
		}
		h->stage = 1;
		h->have = 0;
		h->need = MAC + 8 + 2;
	} else if (h->stage == 1) { /* MAC id len: then the address */
		size_t len = (size_t)h->buf[MAC + 8] | (size_t)h->buf[MAC + 9] << 8;
		if (len == 0 || len > ADDR_MAX) {
			finish(h, false, RAFT_NOCONNECTION);
			return;
		}
		h->stage = 2;
		h->need += len;
	} else { /* all in: check the connector's proof */
		size_t n = h->need - MAC;
		unsigned char ok = 1;
		raft_id id = get_u64(h->buf + MAC);

		connector_mac(tp, h->nonce_me, h->nonce_peer, h->buf + MAC, n, want);
		if (CRYPTO_memcmp(want, h->buf, MAC) != 0 || id == 0 ||
		    !send_bytes(h, &ok, 1)) {
			finish(h, false, RAFT_NOCONNECTION);
			return;
		}
		memcpy(h->peer_addr, h->buf + MAC + 10, n - 10);
		h->peer_addr[n - 10] = '\0';
		h->peer_id = id;
		finish(h, true, 0);
	}
}

/* The connector's side, each time `need` bytes are in. */
static void connect_step(struct hs *h)
{
	struct tp *tp = h->tp;
	unsigned char want[MAC], out[MAC + 8 + 2 + ADDR_MAX];
	size_t alen = strlen(tp->address);

	if (h->stage == 1) { /* "BXR1" nonce_a MAC */
		memcpy(h->nonce_peer, h->buf + 4, NONCE);
		acceptor_mac(tp, h->nonce_me, h->nonce_peer, want);
		if (memcmp(h->buf, MAGIC, 4) != 0 || tp->secret[0] == '\0' ||
		    CRYPTO_memcmp(want, h->buf + 4 + NONCE, MAC) != 0) {
			finish(h, false, RAFT_NOCONNECTION);
			return;
		}
		put_u64(out + MAC, tp->id);
		out[MAC + 8] = (unsigned char)(alen & 0xff);
		out[MAC + 9] = (unsigned char)(alen >> 8);
		memcpy(out + MAC + 10, tp->address, alen);
		connector_mac(tp, h->nonce_peer, h->nonce_me, out + MAC, 10 + alen, out);
		if (!send_bytes(h, out, MAC + 10 + alen)) {
			finish(h, false, RAFT_NOCONNECTION);
			return;
		}
		h->stage = 2;
		h->have = 0;
		h->need = 1;
	} else { /* 0x01: accepted */
		finish(h, h->buf[0] == 1, RAFT_NOCONNECTION);
	}
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
	struct hs *h = handle->data;

	(void)suggested;
	/* never more than the exchange needs: no Raft byte is read here */
	*b = uv_buf_init((char *)h->buf + h->have, (unsigned)(h->need - h->have));
}

static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *b)
{
	struct hs *h = stream->data;

	(void)b;
	if (h == NULL || h->finished)
		return;
	if (n < 0) {
		finish(h, false, RAFT_NOCONNECTION);
		return;
	}
	h->have += (size_t)n;
	while (!h->finished && h->have == h->need) {
		size_t before = h->need;
		if (h->outgoing)
			connect_step(h);
		else
			accept_step(h);
		if (h->need == before) /* a step that did not move on ends it */
			break;
	}
}

static void timed_out(uv_timer_t *timer)
{
	finish(timer->data, false, RAFT_NOCONNECTION);
}

static struct hs *hs_new(struct tp *tp, bool outgoing)
{
	struct hs *h = calloc(1, sizeof *h);

	if (h == NULL)
		return NULL;
	h->tcp = raft_malloc(sizeof *h->tcp);
	if (h->tcp == NULL) {
		free(h);
		return NULL;
	}
	h->tp = tp;
	h->outgoing = outgoing;
	uv_tcp_init(tp->loop, h->tcp);
	/* Raft's messages are small and answered: no Nagle (libuv applies the
	 * flag to the socket that connect or accept opens) */
	uv_tcp_nodelay(h->tcp, 1);
	h->tcp->data = h;
	h->tcp_open = true;
	uv_timer_init(tp->loop, &h->timer);
	h->timer.data = h;
	h->timer_open = true;
	tp->live += 2;
	uv_timer_start(&h->timer, timed_out, BX_TRANSPORT_HANDSHAKE_MS, 0);
	h->next = tp->list;
	if (tp->list != NULL)
		tp->list->prev = h;
	tp->list = h;
	return h;
}

/* --- accepting ------------------------------------------------------------ */

static void on_connection(uv_stream_t *server, int status)
{
	struct tp *tp = server->data;
	struct hs *h;

	if (status != 0 || tp->closing)
		return;
	h = hs_new(tp, false);
	if (h == NULL)
		return;
	if (uv_accept(server, (uv_stream_t *)h->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)h->tcp, alloc_cb, read_cb) != 0) {
		finish(h, false, RAFT_NOCONNECTION);
		return;
	}
	h->need = 4 + NONCE;
}

static int split(const char *address, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon = strrchr(address, ':');
	size_t n;

	if (colon == NULL || colon == address)
		return -1;
	n = (size_t)(colon - address);
	if (address[0] == '[' && n >= 2 && address[n - 1] == ']') { /* [v6]:port */
		address++;
		n -= 2;
	}
	if (n >= hsize || strlen(colon + 1) >= psize)
		return -1;
	memcpy(host, address, n);
	host[n] = '\0';
	snprintf(port, psize, "%s", colon + 1);
	return 0;
}

static int tp_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	struct tp *tp = t->impl;

	tp->id = id;
	if (strlen(address) > ADDR_MAX) {
		snprintf(t->errmsg, sizeof t->errmsg, "address too long: %.200s",
			 address);
		return RAFT_NAMETOOLONG;
	}
	snprintf(tp->address, sizeof tp->address, "%s", address);
	return 0;
}

static int tp_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	struct tp *tp = t->impl;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	char host[ADDR_MAX + 1], port[8];
	int rv;

	const char *where = tp->bind[0] != '\0' ? tp->bind : tp->address;

	tp->accept_cb = cb;
	if (split(where, host, sizeof host, port, sizeof port) != 0 ||
	    getaddrinfo(host, port, &hints, &ai) != 0) {
		snprintf(t->errmsg, sizeof t->errmsg, "cannot resolve %.200s", where);
		return RAFT_IOERR;
	}
	uv_tcp_init(tp->loop, &tp->listener);
	tp->listener.data = tp;
	tp->live++;
	tp->listening = true;
	rv = uv_tcp_bind(&tp->listener, ai->ai_addr, 0);
	freeaddrinfo(ai);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&tp->listener, 128, on_connection);
	if (rv != 0) {
		snprintf(t->errmsg, sizeof t->errmsg, "listen on %.200s: %s", where,
			 uv_strerror(rv));
		return RAFT_IOERR;
	}
	return 0;
}

/* --- connecting ----------------------------------------------------------- */

static void connected(uv_connect_t *c, int status)
{
	struct hs *h = c->data;
	unsigned char out[4 + NONCE];

	if (h->finished)
		return;
	if (status != 0 || !random_nonce(h->nonce_me)) {
		finish(h, false,
		       status == UV_ECANCELED ? RAFT_CANCELED : RAFT_NOCONNECTION);
		return;
	}
	memcpy(out, MAGIC, 4);
	memcpy(out + 4, h->nonce_me, NONCE);
	if (!send_bytes(h, out, sizeof out) ||
	    uv_read_start((uv_stream_t *)h->tcp, alloc_cb, read_cb) != 0) {
		finish(h, false, RAFT_NOCONNECTION);
		return;
	}
	h->stage = 1;
	h->have = 0;
	h->need = 4 + NONCE + MAC;
}

static void resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
	struct hs *h = g->data;

	h->resolving = false;
	h->tp->live--;
	if (h->finished) {
		uv_freeaddrinfo(ai);
		hs_release(h);
		return;
	}
	if (status != 0 || ai == NULL) {
		uv_freeaddrinfo(ai);
		finish(h, false,
		       status == UV_ECANCELED ? RAFT_CANCELED : RAFT_NOCONNECTION);
		return;
	}
	h->connect.data = h;
	status = uv_tcp_connect(&h->connect, h->tcp, ai->ai_addr, connected);
	uv_freeaddrinfo(ai);
	if (status != 0)
		finish(h, false, RAFT_NOCONNECTION);
}

static int tp_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
		      raft_id id, const char *address, raft_uv_connect_cb cb)
{
	struct tp *tp = t->impl;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct hs *h;

	(void)id;
	if (tp->closing)
		return RAFT_CANCELED;
	h = hs_new(tp, true);
	if (h == NULL)
		return RAFT_NOMEM;
	h->req = req;
	h->cb = cb;
	if (split(address, h->host, sizeof h->host, h->port, sizeof h->port) != 0) {
		h->cb = NULL;
		finish(h, false, RAFT_NOCONNECTION);
		snprintf(t->errmsg, sizeof t->errmsg, "bad address %.200s", address);
		return RAFT_NOCONNECTION;
	}
	h->gai.data = h;
	if (uv_getaddrinfo(tp->loop, &h->gai, resolved, h->host, h->port, &hints) != 0) {
		h->cb = NULL;
		finish(h, false, RAFT_NOCONNECTION);
		return RAFT_NOCONNECTION;
	}
	h->resolving = true;
	tp->live++;
	return 0;
}

/* --- closing -------------------------------------------------------------- */

static void listener_closed(uv_handle_t *handle)
{
	struct tp *tp = handle->data;

	tp->live--;
	maybe_closed(tp);
}

static void tp_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct tp *tp = t->impl;
	struct hs *h, *next;

	tp->closing = true;
	tp->close_cb = cb;
	if (tp->listening) {
		tp->listening = false;
		uv_close((uv_handle_t *)&tp->listener, listener_closed);
	}
	for (h = tp->list; h != NULL; h = next) {
		next = h->next;
		if (h->resolving)
			uv_cancel((uv_req_t *)&h->gai);
		finish(h, false, RAFT_CANCELED);
	}
	maybe_closed(tp);
}

int bx_transport_init(struct raft_uv_transport *t, uv_loop_t *loop)
{
	struct tp *tp = calloc(1, sizeof *tp);

	if (tp == NULL)
		return RAFT_NOMEM;
	memset(t, 0, sizeof *t);
	tp->t = t;
	tp->loop = loop;
	t->version = 1;
	t->impl = tp;
	t->init = tp_init;
	t->listen = tp_listen;
	t->connect = tp_connect;
	t->close = tp_close;
	return 0;
}

void bx_transport_set_secret(struct raft_uv_transport *t, const char *secret)
{
	struct tp *tp = t->impl;

	snprintf(tp->secret, sizeof tp->secret, "%s", secret != NULL ? secret : "");
}

void bx_transport_set_bind(struct raft_uv_transport *t, const char *bind)
{
	struct tp *tp = t->impl;

	snprintf(tp->bind, sizeof tp->bind, "%s", bind != NULL ? bind : "");
}

uint64_t bx_transport_refused_in(const struct raft_uv_transport *t)
{
	return ((const struct tp *)t->impl)->refused_in;
}

uint64_t bx_transport_refused_out(const struct raft_uv_transport *t)
{
	return ((const struct tp *)t->impl)->refused_out;
}

void bx_transport_free(struct raft_uv_transport *t)
{
	free(t->impl);
	t->impl = NULL;
}
