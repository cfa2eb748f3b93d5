/* fuzz_invite.c - libFuzzer target: invite tokens (bx_invite_decode), given
 * on the command line or in a config file by whoever starts a node. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"
#include "src/model/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bx_invite_token t;
	char err[BX_ERRMSG_SIZE], *s = malloc(size + 1), *again;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bx_invite_decode(s, &t, err) == 0) {
		/* what decodes encodes again, and decodes to the same */
		struct bx_invite_token u;
		again = bx_invite_encode(&t);
		if (again == NULL || bx_invite_decode(again, &u, err) != 0 ||
		    strcmp(t.secret, u.secret) != 0 || t.n_members != u.n_members)
			abort();
		free(again);
	}
	free(s);
	return 0;
}
