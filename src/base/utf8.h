/* utf8.h - is it UTF-8: the check for untrusted strings before they are quoted in JSON. */
#ifndef BX_UTF8_H
#define BX_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * JSON text is UTF-8 (RFC 8259), and cJSON prints a string's bytes as they
 * are: a string that is not UTF-8 makes the whole answer invalid JSON. So
 * untrusted strings are checked before they are kept (request bodies), and
 * messages that may quote them are cleaned before they are sent.
 *
 * Strict, as RFC 3629 says: no overlong forms, no surrogates (U+D800..DFFF),
 * nothing past U+10FFFF. A NUL byte inside `len` counts as invalid (a C
 * string would end there).
 */

/* The length of the valid UTF-8 prefix of s[0..len): len when all of it is. */
size_t bx_utf8_valid_prefix(const char *s, size_t len);

static inline bool bx_utf8_valid(const char *s, size_t len)
{
	return bx_utf8_valid_prefix(s, len) == len;
}

/* Replace every byte that is not part of a valid sequence with '?', in place. */
void bx_utf8_clean(char *s, size_t len);

#endif
