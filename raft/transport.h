/* transport.h - libraft's TCP transport with a challenge-response on every
 * connection: only servers that hold the cluster secret speak Raft.
 *
 * The exchange, before a byte of Raft (all numbers little-endian):
 *
 *   connector -> "BXR1" nonce_c[16]
 *   acceptor  -> "BXR1" nonce_a[16] HMAC(secret, "A" nonce_c nonce_a)[32]
 *   connector -> HMAC(secret, "C" nonce_a nonce_c id addr)[32] id u64 len u16 addr
 *   acceptor  -> 0x01 (accepted)
 *
 * Each side proves the secret on nonces the other chose, so neither a
 * replayed exchange nor a server without the secret gets through; the
 * connector's id and address (what libraft's own TCP handshake carries) are
 * under its MAC. The acceptor hands the stream to libraft only after the
 * last check, the connector only after 0x01, so no Raft byte is ever read by
 * the handshake. A failed or slow (BX_TRANSPORT_HANDSHAKE_MS) exchange closes
 * the connection and is counted. */
#ifndef BX_TRANSPORT_H
#define BX_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <stdint.h>
#include <uv.h>

#define BX_TRANSPORT_HANDSHAKE_MS 3000
#define BX_TRANSPORT_SECRET_MAX 128

/* Set up `t` (its version, functions and state) on `loop`; 0 or RAFT_NOMEM. */
int bx_transport_init(struct raft_uv_transport *t, uv_loop_t *loop);

/* The cluster secret (text, at most BX_TRANSPORT_SECRET_MAX bytes). May be
 * set at any time: a node joining with an invite learns it at its admission,
 * before any server connects to it. While it is unset every connection, in or
 * out, is refused and counted. */
void bx_transport_set_secret(struct raft_uv_transport *t, const char *secret);

/* Listen on `bind` ("HOST:PORT", e.g. "0.0.0.0:7001") instead of the
 * address libraft gives (what the others reach and the handshake names).
 * Before libraft's init. */
void bx_transport_set_bind(struct raft_uv_transport *t, const char *bind);

/* Connections refused so far: accepted ones that failed the exchange (no or
 * wrong secret, garbage, too slow), and outgoing ones whose peer did. */
uint64_t bx_transport_refused_in(const struct raft_uv_transport *t);
uint64_t bx_transport_refused_out(const struct raft_uv_transport *t);

/* Release what init allocated, after libraft closed the transport. */
void bx_transport_free(struct raft_uv_transport *t);

#endif
