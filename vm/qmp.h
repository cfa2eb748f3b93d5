/* qmp.h - a QEMU Machine Protocol client on the loop: one command per connection. */
#ifndef BX_VM_QMP_H
#define BX_VM_QMP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/*
 * QMP (docs: qemu/docs/interop/qmp-spec) is JSON objects separated by CRLF
 * over the VM's unix socket: a greeting {"QMP": …}, then replies {"return": …}
 * or {"error": {"class", "desc"}} to our commands, and events {"event": …}
 * at any time. Replies come from a process we do not trust (a guest can
 * compromise its QEMU), so every line is checked: bx_qmp_parse is the fuzz
 * target (tests/fuzz/fuzz_qmp.c).
 *
 * QEMU serves one QMP client at a time, so a call connects, negotiates
 * (qmp_capabilities), runs one command, and disconnects; the socket is free
 * again for the next call or for an operator's own client.
 */

#define BX_QMP_LINE_MAX 65536 /* a longer line is a protocol error */

enum bx_qmp_kind { BX_QMP_GREETING, BX_QMP_RETURN, BX_QMP_ERROR, BX_QMP_EVENT };

struct bx_qmp_msg {
	enum bx_qmp_kind kind;
	cJSON *json;           /* the whole message; owned: bx_qmp_msg_free */
	const cJSON *value;    /* RETURN: the "return" value; GREETING: the "QMP" object */
	const char *err_class; /* ERROR: "GenericError", … */
	const char *err_desc;  /* ERROR: human text */
	const char *event;     /* EVENT: "SHUTDOWN", … */
};

/* Parse one message (a line without its CRLF). 0, or BX_EPARSE with a message. */
int bx_qmp_parse(const char *line, size_t len, struct bx_qmp_msg *out, char *errmsg);
void bx_qmp_msg_free(struct bx_qmp_msg *msg);

/*
 * Splits a byte stream into lines. Feed it what the socket gives; each
 * complete line (CRLF or LF removed, empty lines skipped) is handed to
 * `line_cb`; a non-zero return stops and is returned. A line over
 * BX_QMP_LINE_MAX makes it return BX_ETOOBIG, memory BX_ENOMEM.
 */
struct bx_qmp_reader {
	char *buf;
	size_t len, cap;
};
int bx_qmp_reader_feed(struct bx_qmp_reader *r, const char *data, size_t n,
		       int (*line_cb)(void *data, const char *line, size_t len), void *cb_data);
void bx_qmp_reader_free(struct bx_qmp_reader *r);

/*
 * The outcome of a call: code BX_OK and the "return" value; or BX_EREMOTE
 * with QEMU's error class and text in errmsg; or a transport error
 * (BX_EUNAVAIL: cannot connect; BX_ETIMEDOUT; BX_EPARSE: not QMP;
 * BX_EIO: the connection broke).
 * `ret` is valid during the callback only.
 */
typedef void (*bx_qmp_cb)(void *data, int code, const cJSON *ret, const char *errmsg);

struct bx_qmp_call;

/*
 * Run `execute` (a command name, e.g. "system_powerdown") with `arguments`
 * (NULL or an object, copied) against the socket at `path`, within
 * timeout_ms. Returns 0 and the call (cb runs exactly once, never before
 * this returns, unless cancelled) or an error (cb will not run).
 */
int bx_qmp_call(uv_loop_t *loop, const char *path, const char *execute,
		const cJSON *arguments, uint32_t timeout_ms, bx_qmp_cb cb, void *data,
		struct bx_qmp_call **out);

/* Forget the callback; the call's handles close and it frees itself. Only
 * for a call whose callback has not run: after it, the call is gone. */
void bx_qmp_cancel(struct bx_qmp_call *call);

#endif
