/* api.h - the HTTP API's routes under /v1/, served on TCP and the unix socket. */
#ifndef BX_API_H
#define BX_API_H

#include <cjson/cJSON.h>

struct bx_http_request;
struct bx_daemon;

/* Bodies above this are answered 413 by the server before any route runs. */
#define BX_API_MAX_BODY (1u << 20)

/*
 * The handler for every request (data = struct bx_daemon *). Reads are served
 * from the local store. Writes are proposed on the leader and answered only
 * once committed and applied; a follower forwards them to the leader's API
 * and relays the answer. Routes and bodies: docs/API.md.
 */
void bx_api_handle(void *data, struct bx_http_request *req);

/* Map a BX_E* code from the FSM or Raft to an HTTP status. */
int bx_api_status(int code);

#endif
