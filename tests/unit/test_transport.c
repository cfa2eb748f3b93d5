/* test_transport.c - the authenticated Raft transport on real loopback
 * sockets: servers with the same secret connect and their bytes pass intact;
 * a wrong or missing secret, and a raw client speaking something else, are
 * refused and counted on both sides; closing cancels what is under way. */
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <uv.h>

#include "raft/transport.h"

struct side {
	struct raft_uv_transport t;
	char address[64];
	/* accepted */
	int accepted;
	raft_id peer_id;
	char peer_address[64];
	uv_stream_t *in;
	char got[64];
	size_t got_len;
	bool closed;
};

struct dial {
	struct raft_uv_connect req;
	int done, status;
	uv_stream_t *out;
};

static uv_loop_t loop;
static int port_base;

static void run_until(bool (*cond)(void *), void *arg, int ms)
{
	uint64_t end = uv_now(&loop) + (uint64_t)ms;

	while (!cond(arg) && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
}

static void on_accept(struct raft_uv_transport *t, raft_id id, const char *address,
		      uv_stream_t *stream)
{
	struct side *s = t->data;

	s->accepted++;
	s->peer_id = id;
	snprintf(s->peer_address, sizeof s->peer_address, "%s", address);
	s->in = stream;
}

static void side_open(struct side *s, raft_id id, const char *secret)
{
	memset(s, 0, sizeof *s);
	ASSERT_INT(bx_transport_init(&s->t, &loop), 0);
	s->t.data = s;
	snprintf(s->address, sizeof s->address, "127.0.0.1:%d", port_base + (int)id);
	ASSERT_INT(s->t.init(&s->t, id, s->address), 0);
	ASSERT_INT(s->t.listen(&s->t, on_accept), 0);
	bx_transport_set_secret(&s->t, secret);
}

static void side_closed(struct raft_uv_transport *t)
{
	((struct side *)t->data)->closed = true;
}

static bool is_closed(void *arg)
{
	return ((struct side *)arg)->closed;
}

static void free_stream(uv_handle_t *h)
{
	raft_free(h);
}

static void side_close(struct side *s)
{
	if (s->in != NULL)
		uv_close((uv_handle_t *)s->in, free_stream);
	s->t.close(&s->t, side_closed);
	run_until(is_closed, s, 2000);
	ASSERT(s->closed);
	bx_transport_free(&s->t);
}

static void dialled(struct raft_uv_connect *req, uv_stream_t *stream, int status)
{
	struct dial *d = req->data;

	d->done++;
	d->status = status;
	d->out = stream;
}

static bool dial_done(void *arg)
{
	return ((struct dial *)arg)->done > 0;
}

static void dial(struct side *from, struct side *to, struct dial *d)
{
	memset(d, 0, sizeof *d);
	d->req.data = d;
	ASSERT_INT(from->t.connect(&from->t, &d->req, 2, to->address, dialled), 0);
	run_until(dial_done, d, 5000);
	ASSERT_INT(d->done, 1);
}

static void setup(void)
{
	uv_loop_init(&loop);
	/* below the ephemeral range (32768 up), where a connect of an earlier
	 * test could hold a port */
	port_base = 12000 + (int)(uv_hrtime() % 18000);
}

static void teardown(void)
{
	for (int i = 0; i < 10; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_MSG(uv_loop_close(&loop) == 0, "handles left open on the loop");
}

/* reading what the accepted stream receives */
static void got_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	struct side *s = h->data;

	(void)n;
	*b = uv_buf_init(s->got + s->got_len, (unsigned)(sizeof s->got - 1 - s->got_len));
}

static void got_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct side *s = st->data;

	(void)b;
	if (n > 0)
		s->got_len += (size_t)n;
}

static bool got_hello(void *arg)
{
	return ((struct side *)arg)->got_len >= 5;
}

static bool accepted(void *arg)
{
	return ((struct side *)arg)->accepted > 0;
}

/* Nagle off: Raft's small messages would wait for delayed ACKs (40 ms) */
static int nodelay(uv_stream_t *stream)
{
	uv_os_fd_t fd;
	int on = 0;
	socklen_t len = sizeof on;

	if (uv_fileno((uv_handle_t *)stream, &fd) != 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0)
		return -1;
	return on != 0;
}

TEST(sameSecretConnectsAndBytesPassIntact)
{
	struct side a, b;
	struct dial d;
	uv_write_t w;
	uv_buf_t buf = uv_buf_init("hello", 5);

	setup();
	side_open(&a, 1, "s3cret");
	side_open(&b, 2, "s3cret");
	dial(&a, &b, &d);
	ASSERT_INT(d.status, 0);
	ASSERT(d.out != NULL);
	run_until(accepted, &b, 2000);
	ASSERT_INT(b.accepted, 1);
	ASSERT_INT(b.peer_id, 1);
	ASSERT_STR(b.peer_address, a.address);
	ASSERT_INT(nodelay(d.out), 1);
	ASSERT_INT(nodelay(b.in), 1);
	/* the first bytes after the exchange reach the other side, none eaten */
	b.in->data = &b;
	ASSERT_INT(uv_read_start(b.in, got_alloc, got_read), 0);
	ASSERT_INT(uv_write(&w, d.out, &buf, 1, NULL), 0);
	run_until(got_hello, &b, 2000);
	ASSERT_INT(b.got_len, 5);
	ASSERT(memcmp(b.got, "hello", 5) == 0);
	ASSERT_INT(bx_transport_refused_in(&b.t) + bx_transport_refused_out(&a.t), 0);
	uv_close((uv_handle_t *)d.out, free_stream);
	side_close(&a);
	side_close(&b);
	teardown();
}

static bool b_refused_one(void *arg)
{
	return bx_transport_refused_in(&((struct side *)arg)->t) == 1;
}

TEST(wrongOrMissingSecretIsRefusedAndCounted)
{
	struct side a, b, c;
	struct dial d;

	setup();
	side_open(&a, 1, "one");
	side_open(&b, 2, "two");
	side_open(&c, 3, "");
	dial(&a, &b, &d);
	ASSERT_INT(d.status, RAFT_NOCONNECTION);
	ASSERT(d.out == NULL);
	/* c, without a secret, cannot prove one: it gives up, a counts it */
	dial(&c, &a, &d);
	ASSERT_INT(d.status, RAFT_NOCONNECTION);
	ASSERT_INT(bx_transport_refused_out(&c.t), 1);
	run_until(b_refused_one, &a, 2000);
	ASSERT_INT(bx_transport_refused_in(&a.t), 1);
	ASSERT_INT(a.accepted + b.accepted + c.accepted, 0);
	ASSERT_INT(bx_transport_refused_out(&a.t), 1);
	/* a refused b's proof and hung up: b counts the exchange it lost too */
	run_until(b_refused_one, &b, 2000);
	ASSERT_INT(bx_transport_refused_in(&b.t), 1);
	side_close(&a);
	side_close(&b);
	side_close(&c);
	teardown();
}

/* A node joining with an invite listens before its admission brings the
 * secret: until then it refuses (and counts) every connection; once it is
 * set, a new one goes through. */
TEST(anAcceptorWithoutTheSecretRefusesUntilItIsSet)
{
	struct side a, b;
	struct dial d;

	setup();
	side_open(&a, 1, "s3cret");
	side_open(&b, 2, "");
	dial(&a, &b, &d);
	ASSERT_INT(d.status, RAFT_NOCONNECTION);
	run_until(b_refused_one, &b, 2000);
	ASSERT_INT(bx_transport_refused_in(&b.t), 1);
	ASSERT_INT(b.accepted, 0);
	bx_transport_set_secret(&b.t, "s3cret");
	dial(&a, &b, &d);
	ASSERT_INT(d.status, 0);
	run_until(accepted, &b, 2000);
	ASSERT_INT(b.accepted, 1);
	ASSERT_INT(b.peer_id, 1);
	/* the refusals are the first attempt's only */
	ASSERT_INT(bx_transport_refused_in(&b.t), 1);
	ASSERT_INT(bx_transport_refused_out(&a.t), 1);
	uv_close((uv_handle_t *)d.out, free_stream);
	side_close(&a);
	side_close(&b);
	teardown();
}

/* A raw client: connects and writes something that is not the exchange. */
struct raw {
	uv_tcp_t tcp;
	uv_connect_t c;
	uv_write_t w;
	bool eof;
	char buf[64];
};

static void raw_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	struct raw *r = h->data;

	(void)n;
	*b = uv_buf_init(r->buf, sizeof r->buf);
}

static void raw_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct raw *r = st->data;

	(void)b;
	if (n < 0)
		r->eof = true;
}

static void raw_connected(uv_connect_t *c, int status)
{
	struct raw *r = c->data;
	static char req[] = "GET / HTTP/1.0\r\n\r\n   ";
	uv_buf_t b = uv_buf_init(req, sizeof req - 1);

	if (status != 0) {
		r->eof = true;
		return;
	}
	uv_write(&r->w, (uv_stream_t *)&r->tcp, &b, 1, NULL);
	uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static bool raw_eof(void *arg)
{
	return ((struct raw *)arg)->eof;
}

TEST(aRawClientIsDroppedAndCounted)
{
	struct side b;
	struct raw r;
	struct sockaddr_in sa;

	setup();
	side_open(&b, 2, "s3cret");
	memset(&r, 0, sizeof r);
	uv_tcp_init(&loop, &r.tcp);
	r.tcp.data = &r;
	r.c.data = &r;
	uv_ip4_addr("127.0.0.1", port_base + 2, &sa);
	ASSERT_INT(
	    uv_tcp_connect(&r.c, &r.tcp, (const struct sockaddr *)&sa, raw_connected), 0);
	run_until(raw_eof, &r, 5000);
	ASSERT_MSG(r.eof, "the raw client's connection was not closed");
	ASSERT_INT(b.accepted, 0);
	ASSERT_INT(bx_transport_refused_in(&b.t), 1);
	uv_close((uv_handle_t *)&r.tcp, NULL);
	side_close(&b);
	teardown();
}

static void ignore_connection(uv_stream_t *server, int status)
{
	(void)server;
	(void)status;
}

TEST(closingCancelsAConnectUnderWay)
{
	struct side a;
	struct dial d;
	uv_tcp_t silent; /* accepts, never answers */
	struct sockaddr_in sa;
	char to[64];

	setup();
	side_open(&a, 1, "s3cret");
	uv_tcp_init(&loop, &silent);
	uv_ip4_addr("127.0.0.1", port_base + 9, &sa);
	ASSERT_INT(uv_tcp_bind(&silent, (const struct sockaddr *)&sa, 0), 0);
	ASSERT_INT(uv_listen((uv_stream_t *)&silent, 8, ignore_connection), 0);
	snprintf(to, sizeof to, "127.0.0.1:%d", port_base + 9);
	memset(&d, 0, sizeof d);
	d.req.data = &d;
	ASSERT_INT(a.t.connect(&a.t, &d.req, 9, to, dialled), 0);
	for (int i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_INT(d.done, 0);
	side_close(&a);
	ASSERT_INT(d.done, 1);
	ASSERT_INT(d.status, RAFT_CANCELED);
	uv_close((uv_handle_t *)&silent, NULL);
	teardown();
}
