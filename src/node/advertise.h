/* advertise.h - the addresses a node gives the others: --api and --raft as
 * given, but a wildcard host (0.0.0.0, ::) names no address another host
 * could reach: with Tailscale discovery it stands for the node's Tailscale
 * IPv4 (tailscaled's Self.TailscaleIPs), the port kept. */
#ifndef BX_ADVERTISE_H
#define BX_ADVERTISE_H

#include <stdbool.h>
#include <stddef.h>

#define BX_ADDR_MAX 256

/* Whether HOST:PORT's host is a wildcard: "0.0.0.0", "::", "[::]" or "". */
bool bx_advertise_wildcard(const char *hostport);

/* `hostport` with its host replaced by `ip` when it is a wildcard, else as
 * it is, into out (BX_ADDR_MAX bytes). */
void bx_advertise_with(const char *hostport, const char *ip, char *out);

/* The node's Tailscale IPv4, asked of tailscaled on `socket` (GET
 * /localapi/v0/status, 2 s at most). BX_EUNAVAIL when tailscaled does not
 * answer, BX_EINVAL when it is not running or has no IPv4 address; errmsg
 * says which. Blocking: for start-up, before the loop runs. */
int bx_advertise_tailscale_ip(const char *socket, char ip[16], char *errmsg);

#endif
