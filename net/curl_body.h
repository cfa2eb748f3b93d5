/* curl_body.h - a blocking libcurl request's answer body, collected whole up
 * to a cap (a confused server cannot make the caller eat memory). */
#ifndef BX_CURL_BODY_H
#define BX_CURL_BODY_H

#include <stdbool.h>
#include <stddef.h>

struct bx_curl_body {
	char *data; /* NUL-terminated, len bytes; malloc'd, the caller frees it */
	size_t len;
	size_t max; /* the cap: more and the transfer fails with too_big set */
	bool too_big;
};

/* CURLOPT_WRITEFUNCTION for a struct bx_curl_body (CURLOPT_WRITEDATA). */
size_t bx_curl_body_write(char *ptr, size_t size, size_t nmemb, void *body);

#endif
