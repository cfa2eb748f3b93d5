/* error.h - the one list of Blixard error codes, and error messages with context. */
#ifndef BX_ERROR_H
#define BX_ERROR_H

#include <stddef.h>

/*
 * Every fallible function returns 0 or one of these negative codes. Functions
 * that can say more also take `char *errmsg` (BX_ERRMSG_SIZE bytes) and write a
 * human-readable message there; callers add context on the way up with
 * bx_errwrap() ("load spec 'web.toml': line 3, column 7: expected '='").
 */
#define BX_ERRORS(X)                                                         \
	X(BX_ENOMEM, -1, "out of memory")                                    \
	X(BX_EINVAL, -2, "invalid argument")                                 \
	X(BX_EIO, -3, "input/output error")                                  \
	X(BX_ENOENT, -4, "not found")                                        \
	X(BX_EEXIST, -5, "already exists")                                   \
	X(BX_ENOTLEADER, -6, "not the leader")                               \
	X(BX_ENOLEADER, -7, "no leader")                                     \
	X(BX_ETOOBIG, -8, "too large")                                       \
	X(BX_ECORRUPT, -9, "corrupt data")                                   \
	X(BX_EBUSY, -10, "busy")                                             \
	X(BX_ETIMEDOUT, -11, "timed out")                                    \
	X(BX_ESHUTDOWN, -12, "shutting down")                                \
	X(BX_EPARSE, -13, "parse error")                                     \
	X(BX_EMISMATCH, -14, "belongs to another cluster")                   \
	X(BX_ECONFLICT, -15, "conflict")                                     \
	X(BX_EUNAVAIL, -16, "unavailable")                                   \
	X(BX_EPERM, -17, "permission denied")                                \
	X(BX_EFULL, -18, "no space")                                         \
	X(BX_EREMOTE, -19, "refused by the other side")

enum {
	BX_OK = 0,
#define BX_ERROR_ENUM(name, code, text) name = code,
	BX_ERRORS(BX_ERROR_ENUM)
#undef BX_ERROR_ENUM
};

/* Size of every error message buffer. Messages are truncated to fit. */
#define BX_ERRMSG_SIZE 512

/* Static text for a code; never NULL ("unknown error" for unknown codes). */
const char *bx_strerror(int code);

/* The code's symbolic name ("BX_ENOENT"), for logs and JSON. */
const char *bx_errname(int code);

/*
 * Write a formatted message into errmsg (BX_ERRMSG_SIZE bytes; NULL allowed,
 * then nothing is written) and return `code`, so that callers can write
 * `return bx_err(errmsg, BX_EINVAL, "bad port '%s'", s);`.
 */
int bx_err(char *errmsg, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Prefix the message already in errmsg with formatted context and ": ", and
 * return `code`. If errmsg is empty the code's text is used as the detail.
 */
int bx_errwrap(char *errmsg, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
