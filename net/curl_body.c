/* curl_body.c - collecting an answer body (see curl_body.h). */
#include "net/curl_body.h"

#include <stdlib.h>
#include <string.h>

size_t bx_curl_body_write(char *ptr, size_t size, size_t nmemb, void *body)
{
	struct bx_curl_body *b = body;
	size_t n = size * nmemb;
	char *grown;

	if (b->len + n > b->max) {
		b->too_big = true;
		return 0;
	}
	grown = realloc(b->data, b->len + n + 1);
	if (grown == NULL)
		return 0;
	memcpy(grown + b->len, ptr, n);
	b->data = grown;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}
