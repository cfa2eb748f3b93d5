/* fuzz_qmp.c - libFuzzer target: bytes from a QMP socket -> line splitter -> message parser. */
#include "src/base/error.h"
#include "vm/qmp.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every message the parser accepts has the fields its kind promises. */
static int on_line(void *unused, const char *line, size_t len)
{
	struct bx_qmp_msg msg;
	char errmsg[BX_ERRMSG_SIZE];

	(void)unused;
	if (bx_qmp_parse(line, len, &msg, errmsg) != 0) {
		if (errmsg[0] == '\0' || msg.json != NULL)
			__builtin_trap();
		return 0;
	}
	switch (msg.kind) {
	case BX_QMP_RETURN:
	case BX_QMP_GREETING:
		if (msg.value == NULL)
			__builtin_trap();
		break;
	case BX_QMP_ERROR:
		if (msg.err_class == NULL || msg.err_desc == NULL)
			__builtin_trap();
		break;
	case BX_QMP_EVENT:
		if (msg.event == NULL)
			__builtin_trap();
		break;
	}
	bx_qmp_msg_free(&msg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bx_qmp_reader r = {0};
	size_t half = size / 2;

	/* fed in two pieces, as reads split a stream anywhere */
	if (bx_qmp_reader_feed(&r, (const char *)data, half, on_line, NULL) == 0)
		bx_qmp_reader_feed(&r, (const char *)data + half, size - half, on_line, NULL);
	bx_qmp_reader_free(&r);
	return 0;
}
