/* fuzz_tailscale.c - libFuzzer target: tailscaled's LocalAPI status document
 * (bx_ts_parse_status), untrusted input from a unix socket. */
#include <stddef.h>
#include <stdint.h>

#include "net/tailscale.h"
#include "src/base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bx_ts_status st;
	char err[BX_ERRMSG_SIZE];

	if (bx_ts_parse_status((const char *)data, size, "tag:blixard", &st, err) == 0) {
		for (size_t i = 0; i < st.peers_len; i++)
			(void)bx_ts_candidate(&st.peers[i]);
		bx_ts_status_free(&st);
	}
	return 0;
}
