/* utf8.c - is it UTF-8 (RFC 3629, strict). */
#include "src/base/utf8.h"

/* The length of the valid sequence at s[0..len), or 0 if none starts there. */
static size_t sequence(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */

	if (c >= 0x01 && c <= 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* no overlong forms */
		else if (c == 0xf4)
			hi = 0x8f; /* nothing past U+10FFFF */
	} else {
		return 0; /* NUL, a continuation byte, 0xc0, 0xc1, 0xf5.. */
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

size_t bx_utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len && (n = sequence(u + i, len - i)) > 0)
		i += n;
	return i;
}

void bx_utf8_clean(char *s, size_t len)
{
	unsigned char *u = (unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = sequence(u + i, len - i);
		if (n == 0) {
			u[i++] = '?';
			continue;
		}
		i += n;
	}
}
