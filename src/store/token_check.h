/* token_check.h - is a bearer token one of the cluster's: its record in the state, its
 * secret's hash, its role (src/model/token.h holds the format). */
#ifndef BX_TOKEN_CHECK_H
#define BX_TOKEN_CHECK_H

#include "src/model/token.h"

struct bx_store;

/*
 * Whether `bearer` (as bx_token_parse takes it) is a token of the cluster:
 * BX_OK and its role ("admin" or "read") in `role` when its record exists
 * and the SHA-256 of its secret equals the record's hash (compared in
 * constant time). Else `role` is "" and:
 *   BX_EINVAL   the string is no token (malformed; errmsg says how)
 *   BX_EPERM    no such token (never made, or revoked) or the wrong secret
 *   BX_ECORRUPT the record is damaged
 *   other       the store could not be read (BX_EIO, BX_ENOMEM)
 * errmsg names the token's id at most, never its secret: it is for the
 * daemon's log; clients should get one answer for every refusal (401).
 * Cost: one SHA-256 and one LMDB read (it runs for every TCP request). Loop
 * thread, like every store read.
 */
int bx_token_check(struct bx_store *s, const char *bearer, char role[BX_TOKEN_ROLE_SIZE],
		   char *errmsg);

#endif
