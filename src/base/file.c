/* file.c - replacing a small file whole (see file.h). */
#include "src/base/file.h"

#include "src/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof copy, "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* best effort: the rename itself is done */
		close(fd);
	}
}

int bx_file_replace(const char *path, const void *data, size_t len, bool durable,
		    char *errmsg)
{
	char tmp[PATH_MAX];
	int fd, e;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s'", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return bx_err(errmsg, BX_EIO, "create '%s': %s", tmp, strerror(errno));
	/* an older PATH.tmp may have had another mode: O_CREAT keeps it */
	if (fchmod(fd, 0600) != 0 || write(fd, data, len) != (ssize_t)len ||
	    (durable && fsync(fd) != 0)) {
		e = errno;
		close(fd);
		unlink(tmp);
		return bx_err(errmsg, BX_EIO, "write '%s': %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return bx_err(errmsg, BX_EIO, "rename '%s': %s", tmp, strerror(e));
	}
	if (durable)
		sync_dir_of(path);
	return BX_OK;
}

int bx_path_join(char *out, size_t size, const char *dir, const char *name,
		 char *errmsg)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s/%s'", dir, name);
	return BX_OK;
}

int bx_mkdir_p(const char *path, mode_t mode, char *errmsg)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s'", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return bx_err(errmsg, BX_EIO, "create directory '%s': %s", buf,
				      strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	return BX_OK;
}
