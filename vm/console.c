/* console.c - console.log of an instance: rotated at start, capped while it runs. */
#include "vm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/base/error.h"

/* PATH + suffix into out (PATH_MAX); false if it does not fit. */
static bool with_suffix(const char *path, const char *suffix, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s%s", path, suffix);

	return n > 0 && n < PATH_MAX;
}

int bx_console_rotate(const char *path, char *errmsg)
{
	char old[PATH_MAX];
	struct stat st;

	if (stat(path, &st) != 0 || (unsigned long long)st.st_size <= BX_CONSOLE_MAX)
		return 0;
	if (!with_suffix(path, ".1", old))
		return bx_err(errmsg, BX_ETOOBIG, "rotate '%s': path too long", path);
	if (rename(path, old) != 0)
		return bx_err(errmsg, BX_EIO, "rotate '%s': %s", path, strerror(errno));
	return 0;
}

void bx_console_cap(const char *path)
{
	char old[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	int in, out;
	off_t off = 0;
	bool ok = true;

	if (stat(path, &st) != 0 || (unsigned long long)st.st_size <= BX_CONSOLE_MAX)
		return;
	if (!with_suffix(path, ".1", old) || !with_suffix(path, ".tmp", tmp))
		return;
	in = open(path, O_RDONLY | O_CLOEXEC);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	while (ok && in >= 0 && out >= 0 && off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		ok = n > 0;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (in < 0 || out < 0 || !ok || rename(tmp, old) != 0 || truncate(path, 0) != 0)
		unlink(tmp);
}
