/* qmp.c - QMP messages, line splitting, and one-command calls over a unix socket. */
#include "vm/qmp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"

/* ---- messages ---- */

static bool blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return false;
	return true;
}

int bx_qmp_parse(const char *line, size_t len, struct bx_qmp_msg *out, char *errmsg)
{
	const char *end = NULL;
	cJSON *json;
	const cJSON *v;

	memset(out, 0, sizeof *out);
	if (len > BX_QMP_LINE_MAX)
		return bx_err(errmsg, BX_EPARSE, "QMP message of %zu bytes is too long", len);
	json = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (json == NULL || end == NULL || !blank(end, line + len)) {
		cJSON_Delete(json);
		return bx_err(errmsg, BX_EPARSE, "QMP message is not one JSON value");
	}
	if (!cJSON_IsObject(json)) {
		cJSON_Delete(json);
		return bx_err(errmsg, BX_EPARSE, "QMP message is not a JSON object");
	}
	out->json = json;
	if ((v = cJSON_GetObjectItemCaseSensitive(json, "return")) != NULL) {
		out->kind = BX_QMP_RETURN;
		out->value = v;
		return 0;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(json, "error")) != NULL) {
		const cJSON *cls = cJSON_GetObjectItemCaseSensitive(v, "class");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(v, "desc");
		if (!cJSON_IsString(cls) || !cJSON_IsString(desc)) {
			bx_qmp_msg_free(out);
			return bx_err(errmsg, BX_EPARSE,
				      "QMP error without a string class and desc");
		}
		out->kind = BX_QMP_ERROR;
		out->err_class = cls->valuestring;
		out->err_desc = desc->valuestring;
		return 0;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(json, "event")) != NULL) {
		if (!cJSON_IsString(v)) {
			bx_qmp_msg_free(out);
			return bx_err(errmsg, BX_EPARSE, "QMP event name is not a string");
		}
		out->kind = BX_QMP_EVENT;
		out->event = v->valuestring;
		return 0;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(json, "QMP")) != NULL && cJSON_IsObject(v)) {
		out->kind = BX_QMP_GREETING;
		out->value = v;
		return 0;
	}
	bx_qmp_msg_free(out);
	return bx_err(errmsg, BX_EPARSE,
		      "not a QMP message (no \"return\", \"error\", \"event\" or \"QMP\")");
}

void bx_qmp_msg_free(struct bx_qmp_msg *msg)
{
	cJSON_Delete(msg->json);
	memset(msg, 0, sizeof *msg);
}

/* ---- line splitting ---- */

int bx_qmp_reader_feed(struct bx_qmp_reader *r, const char *data, size_t n,
		       int (*line_cb)(void *data, const char *line, size_t len), void *cb_data)
{
	size_t start = 0;

	/* Nothing new and nothing kept: no buffer yet (pointer arithmetic on
	 * its NULL would be undefined behaviour, the fuzzer found). */
	if (r->buf == NULL && n == 0)
		return 0;
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *buf;
		while (cap < r->len + n)
			cap *= 2;
		buf = realloc(r->buf, cap);
		if (buf == NULL)
			return BX_ENOMEM;
		r->buf = buf;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	for (size_t i = 0; i < r->len; i++) {
		size_t end;
		int rc;
		if (r->buf[i] != '\n')
			continue;
		end = i > start && r->buf[i - 1] == '\r' ? i - 1 : i;
		if (end - start > BX_QMP_LINE_MAX)
			return BX_ETOOBIG;
		rc = end > start ? line_cb(cb_data, r->buf + start, end - start) : 0;
		start = i + 1;
		if (rc != 0) {
			memmove(r->buf, r->buf + start, r->len - start);
			r->len -= start;
			return rc;
		}
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	if (r->len > BX_QMP_LINE_MAX)
		return BX_ETOOBIG;
	return 0;
}

void bx_qmp_reader_free(struct bx_qmp_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

/* ---- calls ---- */

enum stage { ST_CONNECT, ST_GREETING, ST_CAPABILITIES, ST_COMMAND, ST_DONE };

struct bx_qmp_call {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_connect_t connect;
	enum stage stage;
	char *command; /* the command's JSON text, CRLF-terminated */
	struct bx_qmp_reader reader;
	bx_qmp_cb cb;
	void *data;
	unsigned open_handles;
};

struct write_req {
	uv_write_t req;
	char text[];
};

static void handle_closed(uv_handle_t *h)
{
	struct bx_qmp_call *call = h->data;

	if (--call->open_handles == 0) {
		free(call->command);
		bx_qmp_reader_free(&call->reader);
		free(call);
	}
}

/* Report once, then let go of everything. */
static void finish(struct bx_qmp_call *call, int code, const cJSON *ret, const char *errmsg)
{
	bx_qmp_cb cb = call->cb;

	if (call->stage == ST_DONE)
		return;
	call->stage = ST_DONE;
	call->cb = NULL;
	uv_timer_stop(&call->timer);
	if (!uv_is_closing((uv_handle_t *)&call->pipe))
		uv_close((uv_handle_t *)&call->pipe, handle_closed);
	if (!uv_is_closing((uv_handle_t *)&call->timer))
		uv_close((uv_handle_t *)&call->timer, handle_closed);
	if (cb != NULL)
		cb(call->data, code, ret, errmsg != NULL ? errmsg : "");
}

static void written(uv_write_t *req, int status)
{
	struct bx_qmp_call *call = req->handle->data;
	char errmsg[BX_ERRMSG_SIZE];

	free(req);
	if (status != 0 && status != UV_ECANCELED) {
		bx_err(errmsg, BX_EIO, "write to QMP: %s", uv_strerror(status));
		finish(call, BX_EIO, NULL, errmsg);
	}
}

static int send_text(struct bx_qmp_call *call, const char *text)
{
	size_t len = strlen(text);
	struct write_req *w = malloc(sizeof *w + len);
	uv_buf_t buf;
	int rc;

	if (w == NULL)
		return UV_ENOMEM;
	memcpy(w->text, text, len);
	buf = uv_buf_init(w->text, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)&call->pipe, &buf, 1, written);
	if (rc != 0)
		free(w);
	return rc;
}

/* One line from QEMU: move the conversation on. Non-zero stops reading. */
static int on_line(void *data, const char *line, size_t len)
{
	struct bx_qmp_call *call = data;
	struct bx_qmp_msg msg;
	char errmsg[BX_ERRMSG_SIZE];
	int rc;

	rc = bx_qmp_parse(line, len, &msg, errmsg);
	if (rc != 0) {
		finish(call, BX_EPARSE, NULL, errmsg);
		return 1;
	}
	if (msg.kind == BX_QMP_EVENT) { /* events may come at any time */
		bx_qmp_msg_free(&msg);
		return 0;
	}
	switch (call->stage) {
	case ST_GREETING:
		if (msg.kind != BX_QMP_GREETING) {
			finish(call, BX_EPARSE, NULL, "QMP: expected the greeting first");
			break;
		}
		call->stage = ST_CAPABILITIES;
		rc = send_text(call, "{\"execute\":\"qmp_capabilities\"}\r\n");
		if (rc != 0) {
			bx_err(errmsg, BX_EIO, "write to QMP: %s", uv_strerror(rc));
			finish(call, BX_EIO, NULL, errmsg);
		}
		break;
	case ST_CAPABILITIES:
	case ST_COMMAND:
		if (msg.kind == BX_QMP_ERROR) {
			bx_err(errmsg, BX_EREMOTE, "QMP %s: %s", msg.err_class, msg.err_desc);
			finish(call, BX_EREMOTE, NULL, errmsg);
		} else if (msg.kind != BX_QMP_RETURN) {
			finish(call, BX_EPARSE, NULL, "QMP: a second greeting");
		} else if (call->stage == ST_CAPABILITIES) {
			call->stage = ST_COMMAND;
			rc = send_text(call, call->command);
			if (rc != 0) {
				bx_err(errmsg, BX_EIO, "write to QMP: %s", uv_strerror(rc));
				finish(call, BX_EIO, NULL, errmsg);
			}
		} else {
			finish(call, BX_OK, msg.value, NULL);
		}
		break;
	default:
		break;
	}
	bx_qmp_msg_free(&msg);
	return call->stage == ST_DONE ? 1 : 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char space[16384]; /* one loop thread: consumed before the next read */
	*buf = uv_buf_init(space, sizeof space);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct bx_qmp_call *call = s->data;
	char errmsg[BX_ERRMSG_SIZE];
	int rc;

	if (n < 0) {
		bx_err(errmsg, BX_EIO, "QMP connection closed%s%s",
		       n == UV_EOF ? "" : ": ", n == UV_EOF ? "" : uv_strerror((int)n));
		finish(call, BX_EIO, NULL, errmsg);
		return;
	}
	rc = bx_qmp_reader_feed(&call->reader, buf->base, (size_t)n, on_line, call);
	if (rc == BX_ETOOBIG)
		finish(call, BX_EPARSE, NULL, "QMP: a line over 64 KiB");
	else if (rc == BX_ENOMEM)
		finish(call, BX_ENOMEM, NULL, "out of memory");
}

static void on_connect(uv_connect_t *req, int status)
{
	struct bx_qmp_call *call = req->handle->data;
	char errmsg[BX_ERRMSG_SIZE];
	int rc;

	if (call->stage == ST_DONE)
		return;
	if (status != 0) {
		bx_err(errmsg, BX_EUNAVAIL, "connect to QMP: %s", uv_strerror(status));
		finish(call, BX_EUNAVAIL, NULL, errmsg);
		return;
	}
	call->stage = ST_GREETING;
	rc = uv_read_start((uv_stream_t *)&call->pipe, alloc_cb, on_read);
	if (rc != 0) {
		bx_err(errmsg, BX_EIO, "read QMP: %s", uv_strerror(rc));
		finish(call, BX_EIO, NULL, errmsg);
	}
}

static void on_timeout(uv_timer_t *t)
{
	struct bx_qmp_call *call = t->data;

	finish(call, BX_ETIMEDOUT, NULL, "QMP did not answer in time");
}

int bx_qmp_call(uv_loop_t *loop, const char *path, const char *execute,
		const cJSON *arguments, uint32_t timeout_ms, bx_qmp_cb cb, void *data,
		struct bx_qmp_call **out)
{
	struct bx_qmp_call *call = calloc(1, sizeof *call);
	cJSON *cmd = cJSON_CreateObject();
	char *text = NULL;

	if (call == NULL || cmd == NULL)
		goto nomem;
	cJSON_AddStringToObject(cmd, "execute", execute);
	if (arguments != NULL)
		cJSON_AddItemToObject(cmd, "arguments", cJSON_Duplicate(arguments, true));
	text = cJSON_PrintUnformatted(cmd);
	if (text == NULL)
		goto nomem;
	call->command = malloc(strlen(text) + 3);
	if (call->command == NULL)
		goto nomem;
	sprintf(call->command, "%s\r\n", text);
	cJSON_free(text);
	cJSON_Delete(cmd);

	call->cb = cb;
	call->data = data;
	call->stage = ST_CONNECT;
	uv_pipe_init(loop, &call->pipe, 0);
	uv_timer_init(loop, &call->timer);
	call->pipe.data = call;
	call->timer.data = call;
	call->open_handles = 2;
	uv_timer_start(&call->timer, on_timeout, timeout_ms, 0);
	/* uv_pipe_connect reports every failure through on_connect. */
	uv_pipe_connect(&call->connect, &call->pipe, path, on_connect);
	if (out != NULL)
		*out = call;
	return 0;
nomem:
	cJSON_free(text);
	cJSON_Delete(cmd);
	if (call != NULL)
		free(call->command);
	free(call);
	return BX_ENOMEM;
}

void bx_qmp_cancel(struct bx_qmp_call *call)
{
	if (call == NULL)
		return;
	call->cb = NULL;
	finish(call, BX_ESHUTDOWN, NULL, NULL);
}
