/* fuzz_toml.c - libFuzzer target: any bytes into the TOML parser; no crash, no leak,
 * bounded. */
#include "src/toml/toml.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bx_toml_value *doc = NULL;
	struct bx_toml_error err;
	int rv = bx_toml_parse((const char *)data, size, &doc, &err);

	/* exactly one of: a tree, or an error with a position and a message */
	if (rv == 0 && doc == NULL)
		__builtin_trap();
	if (rv != 0 && (doc != NULL || err.line < 1 || err.col < 1 || err.msg[0] == '\0'))
		__builtin_trap();
	if (doc != NULL)
		(void)bx_toml_get(doc, "service");
	bx_toml_free(doc);
	return 0;
}
