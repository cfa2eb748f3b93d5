/* test_qmp.c - QMP messages, line splitting, and calls against a scripted peer. */
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "src/base/error.h"
#include "vm/qmp.h"

/* ---- messages ---- */

static int parse(const char *s, struct bx_qmp_msg *m, char *errmsg)
{
	return bx_qmp_parse(s, strlen(s), m, errmsg);
}

TEST(parseKnowsTheFourKinds)
{
	struct bx_qmp_msg m;
	char errmsg[BX_ERRMSG_SIZE];

	ASSERT_INT(parse("{\"QMP\": {\"version\": {}, \"capabilities\": []}}", &m, errmsg), 0);
	ASSERT_INT(m.kind, BX_QMP_GREETING);
	bx_qmp_msg_free(&m);

	ASSERT_INT(parse("{\"return\": {\"status\": \"running\"}} \r", &m, errmsg), 0);
	ASSERT_INT(m.kind, BX_QMP_RETURN);
	ASSERT_STR(cJSON_GetObjectItem(m.value, "status")->valuestring, "running");
	bx_qmp_msg_free(&m);

	ASSERT_INT(parse("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}", &m,
			 errmsg),
		   0);
	ASSERT_INT(m.kind, BX_QMP_ERROR);
	ASSERT_STR(m.err_class, "GenericError");
	ASSERT_STR(m.err_desc, "no");
	bx_qmp_msg_free(&m);

	ASSERT_INT(parse("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}", &m, errmsg),
		   0);
	ASSERT_INT(m.kind, BX_QMP_EVENT);
	ASSERT_STR(m.event, "SHUTDOWN");
	bx_qmp_msg_free(&m);
}

TEST(parseRejectsWhatIsNotQmp)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[1, 2]",
	    "\"return\"",
	    "{\"return\": {}} trailing",
	    "{\"return\": {}}{\"return\": {}}",
	    "{\"error\": {\"class\": 1, \"desc\": \"x\"}}",
	    "{\"error\": {\"desc\": \"x\"}}",
	    "{\"error\": \"x\"}",
	    "{\"event\": 7}",
	    "{\"QMP\": 1}",
	    "{\"hello\": {}}",
	};
	struct bx_qmp_msg m;
	char errmsg[BX_ERRMSG_SIZE];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errmsg[0] = '\0';
		ASSERT_MSG(parse(bad[i], &m, errmsg) == BX_EPARSE, "accepted '%s'", bad[i]);
		ASSERT_MSG(m.json == NULL && errmsg[0] != '\0', "'%s': no message", bad[i]);
	}
}

/* ---- line splitting ---- */

struct lines {
	char got[8][128];
	int n;
	int stop_at; /* return non-zero for this line (1-based), 0: never */
};

static int collect(void *data, const char *line, size_t len)
{
	struct lines *l = data;

	if (l->n < 8)
		snprintf(l->got[l->n], sizeof l->got[0], "%.*s", (int)len, line);
	l->n++;
	return l->stop_at == l->n ? 7 : 0;
}

static int feed(struct bx_qmp_reader *r, const char *s, struct lines *l)
{
	return bx_qmp_reader_feed(r, s, strlen(s), collect, l);
}

TEST(readerSplitsLinesAcrossReads)
{
	struct bx_qmp_reader r = {0};
	struct lines l = {0};

	ASSERT_INT(feed(&r, "{\"a\":1}\r\n{\"b\"", &l), 0);
	ASSERT_INT(l.n, 1);
	ASSERT_STR(l.got[0], "{\"a\":1}");
	ASSERT_INT(feed(&r, ":2}\n\r\n\n{\"c\":3}\r", &l), 0);
	ASSERT_INT(l.n, 2); /* empty lines skipped; "c" not complete yet */
	ASSERT_STR(l.got[1], "{\"b\":2}");
	ASSERT_INT(feed(&r, "\n", &l), 0);
	ASSERT_INT(l.n, 3);
	ASSERT_STR(l.got[2], "{\"c\":3}");
	bx_qmp_reader_free(&r);
}

/* A read of nothing before anything came (the fuzzer's empty input): no
 * buffer yet, no line, and no pointer arithmetic on NULL (the ASan/UBSan
 * build stops on it). */
TEST(readerTakesAnEmptyReadBeforeAnyData)
{
	struct bx_qmp_reader r = {0};
	struct lines l = {0};

	ASSERT_INT(feed(&r, "", &l), 0);
	ASSERT_INT(l.n, 0);
	ASSERT_INT(feed(&r, "{\"a\":1}\n", &l), 0);
	ASSERT_INT(feed(&r, "", &l), 0);
	ASSERT_INT(l.n, 1);
	bx_qmp_reader_free(&r);
}

TEST(readerStopsWhenAsked)
{
	struct bx_qmp_reader r = {0};
	struct lines l = {.stop_at = 1};

	ASSERT_INT(feed(&r, "one\ntwo\nthree\n", &l), 7);
	ASSERT_INT(l.n, 1);
	l.stop_at = 0;
	/* what was not consumed is still there */
	ASSERT_INT(bx_qmp_reader_feed(&r, "", 0, collect, &l), 0);
	ASSERT_INT(l.n, 3);
	ASSERT_STR(l.got[2], "three");
	bx_qmp_reader_free(&r);
}

TEST(readerRefusesEndlessLines)
{
	struct bx_qmp_reader r = {0};
	struct lines l = {0};
	size_t n = BX_QMP_LINE_MAX / 4;
	char *chunk = malloc(n);
	int rc = 0;

	ASSERT(chunk != NULL);
	memset(chunk, 'x', n);
	for (int i = 0; i < 6 && rc == 0; i++)
		rc = bx_qmp_reader_feed(&r, chunk, n, collect, &l);
	free(chunk);
	ASSERT_INT(rc, BX_ETOOBIG);
	ASSERT_INT(l.n, 0);
	bx_qmp_reader_free(&r);
}

/* ---- calls against a scripted peer on a unix socket ---- */

/*
 * The peer speaks the QMP wire format (qemu/docs/interop/qmp-spec): it sends
 * `greeting`, then answers each line it receives with the next of `replies`
 * (each may hold several CRLF-separated messages; NULL: close instead;
 * "" : say nothing).
 */
struct peer {
	uv_loop_t loop;
	uv_pipe_t server, conn;
	bool connected;
	const char *greeting;
	const char *replies[4];
	int n_received;
	char received[4][256];
	char path[256];

	int code;
	char errmsg[BX_ERRMSG_SIZE];
	char ret[256];
	bool done;
};

static void peer_write(struct peer *p, const char *text)
{
	uv_buf_t buf = uv_buf_init((char *)text, (unsigned)strlen(text));
	uv_try_write((uv_stream_t *)&p->conn, &buf, 1);
}

static void peer_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf)
{
	static char space[4096];
	(void)h;
	(void)s;
	*buf = uv_buf_init(space, sizeof space);
}

static void peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct peer *p = s->data;

	if (n <= 0) {
		if (n < 0 && !uv_is_closing((uv_handle_t *)s))
			uv_close((uv_handle_t *)s, NULL);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf->base[i] != '\n')
			continue;
		int k = p->n_received++;
		if (k >= 4)
			continue;
		snprintf(p->received[k], sizeof p->received[k], "%.*s", (int)i, buf->base);
		if (p->replies[k] == NULL)
			uv_close((uv_handle_t *)&p->conn, NULL);
		else
			peer_write(p, p->replies[k]);
	}
}

static void peer_accept(uv_stream_t *server, int status)
{
	struct peer *p = server->data;

	ASSERT_INT(status, 0);
	uv_pipe_init(&p->loop, &p->conn, 0);
	p->conn.data = p;
	ASSERT_INT(uv_accept(server, (uv_stream_t *)&p->conn), 0);
	p->connected = true;
	if (p->greeting != NULL)
		peer_write(p, p->greeting);
	uv_read_start((uv_stream_t *)&p->conn, peer_alloc, peer_read);
}

static void peer_init(struct peer *p, bool listen)
{
	memset(p, 0, sizeof *p);
	uv_loop_init(&p->loop);
	snprintf(p->path, sizeof p->path, "%s/qmp.sock", bx_test_tmpdir());
	if (!listen)
		return;
	uv_pipe_init(&p->loop, &p->server, 0);
	p->server.data = p;
	ASSERT_INT(uv_pipe_bind(&p->server, p->path), 0);
	ASSERT_INT(uv_listen((uv_stream_t *)&p->server, 4, peer_accept), 0);
}

static void call_done(void *data, int code, const cJSON *ret, const char *errmsg)
{
	struct peer *p = data;
	char *text = ret != NULL ? cJSON_PrintUnformatted(ret) : NULL;

	p->done = true;
	p->code = code;
	snprintf(p->errmsg, sizeof p->errmsg, "%s", errmsg);
	snprintf(p->ret, sizeof p->ret, "%s", text ? text : "");
	cJSON_free(text);
	if (!uv_is_closing((uv_handle_t *)&p->server) && p->server.type == UV_NAMED_PIPE)
		uv_close((uv_handle_t *)&p->server, NULL);
	if (p->connected && !uv_is_closing((uv_handle_t *)&p->conn))
		uv_close((uv_handle_t *)&p->conn, NULL);
}

static void run_call(struct peer *p, const char *execute, uint32_t timeout_ms)
{
	ASSERT_INT(bx_qmp_call(&p->loop, p->path, execute, NULL, timeout_ms, call_done, p, NULL),
		   0);
	uv_run(&p->loop, UV_RUN_DEFAULT);
	ASSERT(p->done);
	ASSERT_INT(uv_loop_close(&p->loop), 0);
}

#define GREETING "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n"

/* A peer that greets, accepts qmp_capabilities, and answers the command so. */
static void qemu_like(struct peer *p, const char *answer)
{
	peer_init(p, true);
	p->greeting = GREETING;
	p->replies[0] = "{\"return\": {}}\r\n";
	p->replies[1] = answer;
}

TEST(callNegotiatesThenRunsTheCommand)
{
	struct peer p;

	/* an event before the answer is skipped */
	qemu_like(&p, "{\"event\": \"RESUME\", \"timestamp\": {}}\r\n"
		      "{\"return\": {\"status\": \"running\", \"running\": true}}\r\n");
	run_call(&p, "query-status", 2000);
	ASSERT_INT(p.code, BX_OK);
	ASSERT_STR(p.ret, "{\"status\":\"running\",\"running\":true}");
	ASSERT_INT(p.n_received, 2);
	ASSERT_STR(p.received[0], "{\"execute\":\"qmp_capabilities\"}\r");
	ASSERT_STR(p.received[1], "{\"execute\":\"query-status\"}\r");
}

TEST(callReportsQemuErrors)
{
	struct peer p;

	qemu_like(&p, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
		      "nope has not been found\"}}\r\n");
	run_call(&p, "nope", 2000);
	ASSERT_INT(p.code, BX_EREMOTE);
	ASSERT_STR(p.errmsg, "QMP CommandNotFound: The command nope has not been found");
}

TEST(callWithoutPeerIsUnavailable)
{
	struct peer p;

	peer_init(&p, false);
	run_call(&p, "system_powerdown", 2000);
	ASSERT_INT(p.code, BX_EUNAVAIL);
	ASSERT_CONTAINS(p.errmsg, "connect to QMP");
}

TEST(callToASilentPeerTimesOut)
{
	struct peer p;
	uint64_t t0;

	peer_init(&p, true);
	p.greeting = NULL; /* never greets */
	t0 = uv_hrtime();
	run_call(&p, "system_powerdown", 200);
	ASSERT_INT(p.code, BX_ETIMEDOUT);
	ASSERT((uv_hrtime() - t0) / 1000000 >= 150);
}

TEST(callRefusesAPeerThatIsNotQmp)
{
	struct peer p;

	peer_init(&p, true);
	p.greeting = "SSH-2.0-OpenSSH_9.2\r\n";
	run_call(&p, "system_powerdown", 2000);
	ASSERT_INT(p.code, BX_EPARSE);

	peer_init(&p, true);
	p.greeting = "{\"return\": {}}\r\n"; /* an answer before the greeting */
	run_call(&p, "system_powerdown", 2000);
	ASSERT_INT(p.code, BX_EPARSE);
	ASSERT_CONTAINS(p.errmsg, "greeting");
}

TEST(callSeesAPeerThatHangsUp)
{
	struct peer p;

	peer_init(&p, true);
	p.greeting = GREETING;
	p.replies[0] = NULL; /* closes on qmp_capabilities */
	run_call(&p, "system_powerdown", 2000);
	ASSERT_INT(p.code, BX_EIO);
	ASSERT_CONTAINS(p.errmsg, "closed");
}

TEST(cancelledCallNeverCallsBack)
{
	struct peer p;
	struct bx_qmp_call *call = NULL;

	qemu_like(&p, "{\"return\": {}}\r\n");
	ASSERT_INT(bx_qmp_call(&p.loop, p.path, "system_powerdown", NULL, 2000, call_done, &p,
			       &call),
		   0);
	bx_qmp_cancel(call);
	uv_close((uv_handle_t *)&p.server, NULL);
	uv_run(&p.loop, UV_RUN_DEFAULT);
	ASSERT(!p.done);
	if (p.connected && !uv_is_closing((uv_handle_t *)&p.conn))
		uv_close((uv_handle_t *)&p.conn, NULL);
	uv_run(&p.loop, UV_RUN_DEFAULT);
	ASSERT_INT(uv_loop_close(&p.loop), 0);
}
