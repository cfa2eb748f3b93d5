/* file.h - replacing a small file whole: a crash leaves the old one or the new. */
#ifndef BX_FILE_H
#define BX_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Write `len` bytes to PATH.tmp (mode 0600), then rename it over `path`.
 * `durable`: fsync the file before the rename and its directory after, so
 * the new content survives a power loss too. BX_EIO (or BX_EINVAL for a path
 * too long) with errmsg naming the file; PATH.tmp never outlives a failure. */
int bx_file_replace(const char *path, const void *data, size_t len, bool durable,
		    char *errmsg);

#endif
