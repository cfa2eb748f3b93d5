/* test_secret.c - the cluster secret on disk (written 0600, read back, refused
 * when others may read it or when it is too short, long or odd) and the
 * cluster token derived from it (stable, secret-specific, matched exactly). */
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/base/error.h"
#include "src/model/secret.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/bx-test-secret-XXXXXX");
	ASSERT(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ASSERT_INT(system(cmd), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ASSERT(f != NULL);
	fputs(text, f);
	fclose(f);
	ASSERT_INT(chmod(path, mode), 0);
}

TEST(generatedSecretIsSavedPrivateAndReadBack)
{
	char s[BX_SECRET_MAX + 1], back[BX_SECRET_MAX + 1], path[128],
	    err[BX_ERRMSG_SIZE];
	struct stat st;

	make_dir();
	ASSERT_INT(bx_secret_generate(s), 0);
	ASSERT_INT(strlen(s), 64);
	ASSERT_INT(strspn(s, "0123456789abcdef"), 64);
	ASSERT_INT(bx_secret_save(dir, s, err), 0);
	snprintf(path, sizeof path, "%s/%s", dir, BX_SECRET_FILE);
	ASSERT_INT(stat(path, &st), 0);
	ASSERT_INT(st.st_mode & 0777, 0600);
	ASSERT_INT(bx_secret_read(path, back, err), 0);
	ASSERT_STR(back, s);
	remove_dir();
}

TEST(secretFilesOthersMayReadOrOddOnesAreRefused)
{
	char s[BX_SECRET_MAX + 1], path[128], err[BX_ERRMSG_SIZE], longer[300];

	make_dir();
	snprintf(path, sizeof path, "%s/s", dir);
	ASSERT_INT(bx_secret_read(path, s, err), BX_ENOENT);
	write_file(path, "0123456789abcdef0123\n", 0644);
	ASSERT_INT(bx_secret_read(path, s, err), BX_EINVAL);
	ASSERT_CONTAINS(err, "chmod 600");
	write_file(path, "short\n", 0600);
	ASSERT_INT(bx_secret_read(path, s, err), BX_EINVAL);
	ASSERT_CONTAINS(err, "16 to 128 characters, not 5");
	write_file(path, "has a space in the middle\n", 0600);
	ASSERT_INT(bx_secret_read(path, s, err), BX_EINVAL);
	ASSERT_CONTAINS(err, "character 4");
	memset(longer, 'x', 200);
	longer[200] = '\0';
	write_file(path, longer, 0600);
	ASSERT_INT(bx_secret_read(path, s, err), BX_EINVAL);
	ASSERT_CONTAINS(err, "longer than 128");
	/* the first line counts, without its newline (CRLF too) */
	write_file(path, "correct-horse-battery-staple\r\nsecond line\n", 0600);
	ASSERT_INT(bx_secret_read(path, s, err), 0);
	ASSERT_STR(s, "correct-horse-battery-staple");
	remove_dir();
}

TEST(clusterTokenIsStableSecretSpecificAndMatchedExactly)
{
	char a[BX_SECRET_TOKEN_SIZE], b[BX_SECRET_TOKEN_SIZE], c[BX_SECRET_TOKEN_SIZE];

	bx_secret_api_token("correct-horse-battery-staple", a);
	bx_secret_api_token("correct-horse-battery-staple", b);
	bx_secret_api_token("correct-horse-battery-stapler", c);
	ASSERT_STR(a, b);
	ASSERT(strcmp(a, c) != 0);
	ASSERT(strncmp(a, "bxc1.", 5) == 0);
	ASSERT_INT(strlen(a), 5 + 64);
	/* HMAC-SHA256(key, "blixard api"), as openssl dgst -hmac computes it */
	bx_secret_api_token("key", c);
	ASSERT_STR(c + 5,
		   "e851ba695142861d2866e393f4bb29681472680698c2c87b0aaabc3364cc0c50");
	ASSERT(bx_secret_token_is(b, a));
	ASSERT(!bx_secret_token_is(c, a));
	a[40] = a[40] == '0' ? '1' : '0';
	ASSERT(!bx_secret_token_is(b, a));
	ASSERT(!bx_secret_token_is(b, "bxc1.abc"));
	ASSERT(!bx_secret_token_is("", ""));
	ASSERT(!bx_secret_token_is(NULL, b));
	ASSERT(!bx_secret_token_is(b, NULL));
}
