/* tailscale.h - what discovery needs from tailscaled's LocalAPI status
 * (GET /localapi/v0/status; format: ../shared/tailscale/README.md). */
#ifndef BX_TAILSCALE_H
#define BX_TAILSCALE_H

#include <stdbool.h>
#include <stddef.h>

#define BX_TS_SOCKET_DEFAULT "/var/run/tailscale/tailscaled.sock"
#define BX_TS_STATUS_PATH "/localapi/v0/status"
#define BX_TS_HOST_HEADER "Host: local-tailscaled.sock"
#define BX_TS_PEERS_MAX 1024

struct bx_ts_peer {
	char host[64]; /* HostName, cut at 63 bytes */
	char ipv4[16]; /* the first IPv4 of TailscaleIPs, "" if none */
	bool online;
	bool tagged; /* Tags holds the tag asked for */
};

struct bx_ts_status {
	char backend[32];     /* BackendState: "Running", "NeedsLogin", "Stopped", … */
	struct bx_ts_peer self; /* Self (online and tagged as it says) */
	struct bx_ts_peer *peers; /* every entry of Peer, in the document's order */
	size_t peers_len;
};

/*
 * Parse a status document. Unknown fields are ignored; a missing Peer is
 * none; a peer that is not an object, or fields of the wrong type, make the
 * document invalid: BX_EINVAL with errmsg (BX_ERRMSG_SIZE bytes:
 * "Peer[\"nodekey:…\"].Online: not a boolean"). At most BX_TS_PEERS_MAX
 * peers. On success free with bx_ts_status_free.
 */
int bx_ts_parse_status(const char *body, size_t len, const char *tag, struct bx_ts_status *st,
		       char *errmsg);
void bx_ts_status_free(struct bx_ts_status *st);

/* The peers discovery may use: tagged, online, with an IPv4 address. */
static inline bool bx_ts_candidate(const struct bx_ts_peer *p)
{
	return p->tagged && p->online && p->ipv4[0] != '\0';
}

#endif
