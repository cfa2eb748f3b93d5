/* test_http.c - the HTTP server (h2o) and client (curl multi) on one real loop and real
 * sockets. */
#include "tests/unit/harness.h"

#include "net/http_client.h"
#include "net/http_server.h"
#include "src/base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Each test runs a server and a client on one uv loop, drives the loop until
 * the responses arrived (deadline 5 s), closes both and requires the loop to
 * end with no handle left (uv_loop_close() == 0): clean shutdown is tested
 * every time.
 */

struct fixture {
	uv_loop_t loop;
	struct bx_http_server *server;
	struct bx_http_client *client;
	int port;
	char sock[512];
	int responses;
	struct bx_http_response last;
	char body[4096];
	int aborts;
	struct bx_http_request *held; /* a request answered later */
	uv_timer_t later;
	int closed;
};

static void handler(void *data, struct bx_http_request *req);

static void on_closed(void *data)
{
	((struct fixture *)data)->closed++;
}

static void fixture_start(struct fixture *f, size_t max_body)
{
	char msg[BX_ERRMSG_SIZE] = "";

	memset(f, 0, sizeof *f);
	ASSERT_INT(uv_loop_init(&f->loop), 0);
	ASSERT_INT(bx_http_server_init(&f->server, &f->loop, handler, f, max_body, msg),
		   0);
	ASSERT_MSG(bx_http_server_listen_tcp(f->server, "127.0.0.1:0", msg) == 0, "%s",
		   msg);
	snprintf(f->sock, sizeof f->sock, "%s/api.sock", bx_test_tmpdir());
	ASSERT_MSG(bx_http_server_listen_unix(f->server, f->sock, msg) == 0, "%s", msg);
	f->port = bx_http_server_port(f->server);
	ASSERT(f->port > 0);
	ASSERT_INT(bx_http_client_init(&f->client, &f->loop, msg), 0);
}

static void fixture_stop(struct fixture *f)
{
	bx_http_client_close(f->client, on_closed, f);
	bx_http_server_close(f->server, on_closed, f);
	for (int i = 0; i < 1000 && f->closed < 2; i++)
		uv_run(&f->loop, UV_RUN_ONCE);
	ASSERT_INT(f->closed, 2);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	ASSERT_INT(uv_loop_close(&f->loop), 0);
}

static void on_response(void *data, const struct bx_http_response *resp)
{
	struct fixture *f = data;

	f->responses++;
	f->last = *resp;
	snprintf(f->body, sizeof f->body, "%.*s", (int)resp->body_len, resp->body);
	f->last.body = f->body;
	f->last.errmsg = NULL;
}

static void wait_responses(struct fixture *f, int n)
{
	uint64_t deadline = uv_hrtime() + 5000000000ull;

	while (f->responses < n && uv_hrtime() < deadline)
		uv_run(&f->loop, UV_RUN_ONCE);
	ASSERT_MSG(f->responses >= n, "%d of %d responses before the deadline",
		   f->responses, n);
}

static void request(struct fixture *f, const char *method, const char *path,
		    const char *body, unsigned timeout_ms, bool unix_socket)
{
	char url[256];
	struct bx_http_call_opts opts = {.timeout_ms = timeout_ms,
					 .unix_socket = unix_socket ? f->sock : NULL};

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", unix_socket ? 1 : f->port,
		 path);
	ASSERT_INT(bx_http_client_request(f->client, method, url, body,
					  body ? strlen(body) : 0, &opts, on_response, f),
		   0);
}

static void answer_later(uv_timer_t *t)
{
	struct fixture *f = t->data;

	bx_http_respond(f->held, 200, "text/plain", "late", 4);
	f->held = NULL;
	uv_close((uv_handle_t *)t, NULL);
}

static void on_abort(struct bx_http_request *req, void *data)
{
	struct fixture *f = data;

	(void)req;
	f->aborts++;
	f->held = NULL;
}

static void handler(void *data, struct bx_http_request *req)
{
	struct fixture *f = data;
	char buf[1024];

	if (strcmp(req->path, "/echo") == 0) {
		snprintf(buf, sizeof buf, "%s %s q=%s body=%.*s unix=%d", req->method,
			 req->path, req->query, (int)req->body_len, req->body,
			 req->from_unix);
		bx_http_respond(req, 200, "text/plain", buf, strlen(buf));
	} else if (strcmp(req->path, "/later") == 0) {
		f->held = req;
		uv_timer_init(&f->loop, &f->later);
		f->later.data = f;
		uv_timer_start(&f->later, answer_later, 50, 0);
	} else if (strcmp(req->path, "/never") == 0) {
		f->held = req;
		bx_http_request_on_abort(req, on_abort, f);
	} else {
		bx_http_respond_error(req, 404, "no route %s", req->path);
	}
}

TEST(getWithQueryAndPostWithBody)
{
	static struct fixture f;

	fixture_start(&f, 1024);
	request(&f, "GET", "/echo?a=1&b=2", NULL, 0, false);
	wait_responses(&f, 1);
	ASSERT_INT(f.last.code, BX_OK);
	ASSERT_INT(f.last.status, 200);
	ASSERT_STR(f.body, "GET /echo q=a=1&b=2 body= unix=0");
	request(&f, "POST", "/echo", "{\"x\":1}", 0, false);
	wait_responses(&f, 2);
	ASSERT_STR(f.body, "POST /echo q= body={\"x\":1} unix=0");
	fixture_stop(&f);
}

TEST(unixSocketRequestsAreMarked)
{
	static struct fixture f;

	fixture_start(&f, 1024);
	request(&f, "PUT", "/echo", "hi", 0, true);
	wait_responses(&f, 1);
	ASSERT_INT(f.last.status, 200);
	ASSERT_STR(f.body, "PUT /echo q= body=hi unix=1");
	fixture_stop(&f);
}

TEST(answerLaterAfterOtherLoopWork)
{
	static struct fixture f;

	fixture_start(&f, 1024);
	request(&f, "GET", "/later", NULL, 0, false);
	wait_responses(&f, 1);
	ASSERT_INT(f.last.status, 200);
	ASSERT_STR(f.body, "late");
	fixture_stop(&f);
}

TEST(errorsAreJsonWithTheStatus)
{
	static struct fixture f;

	fixture_start(&f, 1024);
	request(&f, "GET", "/nope", NULL, 0, false);
	wait_responses(&f, 1);
	ASSERT_INT(f.last.status, 404);
	ASSERT_STR(f.body, "{\"error\":\"no route /nope\",\"code\":404}");
	fixture_stop(&f);
}

TEST(bodyOverTheLimitIs413)
{
	static struct fixture f;
	char big[2048];

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	fixture_start(&f, 1024);
	request(&f, "POST", "/echo", big, 0, false);
	wait_responses(&f, 1);
	ASSERT_INT(f.last.status, 413);
	fixture_stop(&f);
}

TEST(clientTimeoutThenALateAnswerIsHarmless)
{
	static struct fixture f;

	fixture_start(&f, 1024);
	request(&f, "GET", "/never", NULL, 200, false);
	wait_responses(&f, 1);
	ASSERT_INT(f.last.code, BX_ETIMEDOUT);
	/* h2o notices the client only when it writes: answering now must
	 * neither crash nor leak (ASan/LSan run this too) */
	ASSERT(f.held != NULL);
	bx_http_respond(f.held, 200, "text/plain", "too late", 8);
	f.held = NULL;
	for (int i = 0; i < 20; i++)
		uv_run(&f.loop, UV_RUN_NOWAIT);
	fixture_stop(&f);
}

TEST(serverCloseAnswersPendingRequestsAndTellsTheirOwners)
{
	static struct fixture f;

	fixture_start(&f, 1024);
	request(&f, "GET", "/never", NULL, 5000, false);
	for (int i = 0; i < 200 && f.held == NULL; i++)
		uv_run(&f.loop, UV_RUN_ONCE);
	ASSERT(f.held != NULL);
	bx_http_server_close(f.server, on_closed, &f);
	ASSERT_INT(f.aborts, 1);
	wait_responses(&f, 1);
	ASSERT_INT(f.last.status, 503);
	bx_http_client_close(f.client, on_closed, &f);
	for (int i = 0; i < 1000 && f.closed < 2; i++)
		uv_run(&f.loop, UV_RUN_ONCE);
	ASSERT_INT(f.closed, 2);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	ASSERT_INT(uv_loop_close(&f.loop), 0);
}

TEST(refusedConnectionIsUnavailable)
{
	static struct fixture f;
	struct bx_http_call_opts opts = {.timeout_ms = 2000};

	fixture_start(&f, 1024);
	/* port 1 on loopback: nothing listens there */
	ASSERT_INT(bx_http_client_request(f.client, "GET", "http://127.0.0.1:1/", NULL, 0,
					  &opts, on_response, &f),
		   0);
	ASSERT_INT(f.responses, 0); /* never before the call returns */
	wait_responses(&f, 1);
	ASSERT_INT(f.last.code, BX_EUNAVAIL);
	fixture_stop(&f);
}

TEST(closeWithARequestInFlightEndsIt)
{
	static struct fixture f;

	fixture_start(&f, 1024);
	request(&f, "GET", "/never", NULL, 10000, false);
	for (int i = 0; i < 50 && f.held == NULL; i++)
		uv_run(&f.loop, UV_RUN_NOWAIT);
	bx_http_client_close(f.client, on_closed, &f);
	ASSERT_INT(f.responses, 1);
	ASSERT_INT(f.last.code, BX_ESHUTDOWN);
	bx_http_server_close(f.server, on_closed, &f);
	for (int i = 0; i < 1000 && f.closed < 2; i++)
		uv_run(&f.loop, UV_RUN_ONCE);
	ASSERT_INT(f.closed, 2);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	ASSERT_INT(uv_loop_close(&f.loop), 0);
}
