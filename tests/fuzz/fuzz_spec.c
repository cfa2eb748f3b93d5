/* fuzz_spec.c - libFuzzer target: API bodies -> JSON -> spec schema and command
 * checks. */
#include "raft/command.h"
#include "src/model/spec.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *json = cJSON_ParseWithLength((const char *)data, size);
	struct bx_diags diags = {0};
	struct bx_spec spec, again;
	const struct bx_command_op *op;
	char msg[256];

	if (json == NULL)
		return 0;
	bx_spec_init(&spec);
	if (bx_spec_from_json(json, &spec, &diags) == 0) {
		/* a valid spec's canonical form is valid and a fixed point */
		cJSON *c1 = bx_spec_to_json(&spec), *c2;
		bx_spec_init(&again);
		if (bx_spec_from_json(c1, &again, &diags) != 0)
			__builtin_trap();
		c2 = bx_spec_to_json(&again);
		if (!cJSON_Compare(c1, c2, 1))
			__builtin_trap();
		cJSON_Delete(c1);
		cJSON_Delete(c2);
		bx_spec_free(&again);
	}
	bx_spec_free(&spec);
	bx_diags_free(&diags);
	(void)bx_command_validate(json, &op, msg, sizeof msg);
	cJSON_Delete(json);
	return 0;
}
