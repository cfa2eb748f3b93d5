/* error.c - error codes to text, and message formatting with context. */
#include "src/base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *bx_strerror(int code)
{
	switch (code) {
	case BX_OK:
		return "ok";
#define BX_ERROR_TEXT(name, num, text)                                       \
	case name:                                                           \
		return text;
		BX_ERRORS(BX_ERROR_TEXT)
#undef BX_ERROR_TEXT
	default:
		return "unknown error";
	}
}

const char *bx_errname(int code)
{
	switch (code) {
	case BX_OK:
		return "BX_OK";
#define BX_ERROR_NAME(name, num, text)                                       \
	case name:                                                           \
		return #name;
		BX_ERRORS(BX_ERROR_NAME)
#undef BX_ERROR_NAME
	default:
		return "BX_EUNKNOWN";
	}
}

int bx_err(char *errmsg, int code, const char *fmt, ...)
{
	va_list ap;

	if (errmsg == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(errmsg, BX_ERRMSG_SIZE, fmt, ap);
	va_end(ap);
	return code;
}

int bx_errwrap(char *errmsg, int code, const char *fmt, ...)
{
	char detail[BX_ERRMSG_SIZE];
	char prefix[BX_ERRMSG_SIZE];
	va_list ap;

	if (errmsg == NULL)
		return code;
	if (errmsg[0] != '\0')
		snprintf(detail, sizeof detail, "%s", errmsg);
	else
		snprintf(detail, sizeof detail, "%s", bx_strerror(code));
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	snprintf(errmsg, BX_ERRMSG_SIZE, "%.200s: %.300s", prefix, detail);
	return code;
}
