/* spec_check.c - the FSM's spec validator: the schema, applied identically on every node. */
#include "raft/fsm.h"
#include "src/base/error.h"
#include "src/model/spec.h"

#include <stdio.h>

int bx_fsm_validate_spec(const cJSON *json, char *msg, size_t size)
{
	struct bx_diags diags = {0};
	struct bx_spec spec;
	size_t used = 0;
	int rv;

	bx_spec_init(&spec);
	rv = bx_spec_from_json(json, &spec, &diags);
	if (size > 0)
		msg[0] = '\0';
	for (size_t i = 0; i < diags.len && used + 1 < size; i++)
		used += (size_t)snprintf(msg + used, size - used, "%s%s", i ? "; " : "",
					 diags.items[i]);
	bx_diags_free(&diags);
	bx_spec_free(&spec);
	return rv == 0 ? BX_OK : BX_EINVAL;
}
