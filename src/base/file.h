/* file.h - replacing a small file whole (a crash leaves the old one or the new), paths. */
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

/* DIR/NAME into out (size bytes): 0, or BX_EINVAL naming the path if too long. */
int bx_path_join(char *out, size_t size, const char *dir, const char *name, char *errmsg);

/* Create `path` and its parents (mkdir -p) with `mode`: 0, or BX_EIO/BX_EINVAL
 * with errmsg naming the directory. */
int bx_mkdir_p(const char *path, unsigned mode, char *errmsg);

#endif
