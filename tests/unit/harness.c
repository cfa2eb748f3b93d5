/* harness.c - runs the registered tests and prints "N passed, N failed". */
#include "tests/unit/harness.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
	const char *name;
	bx_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static jmp_buf on_fail;
static char tmpdir[256];

void bx_test_register(const char *name, bx_test_fn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "harness: more than %d tests\n", MAX_TESTS);
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void bx_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	longjmp(on_fail, 1);
}

const char *bx_test_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/bx-test-XXXXXX", base ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL) {
			fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
			exit(2);
		}
	}
	return tmpdir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

/* Run one test; true if it passed. Kept apart from main() so no local of the
 * loop lives across setjmp(). */
static bool run_one(int i)
{
	if (setjmp(on_fail) == 0) {
		tests[i].fn();
		printf("ok   %s\n", tests[i].name);
		remove_tmpdir();
		return true;
	}
	printf("FAIL %s (files kept in %s)\n", tests[i].name, tmpdir[0] ? tmpdir : "-");
	tmpdir[0] = '\0';
	return false;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < n_tests; i++) {
		if (filter != NULL && strstr(tests[i].name, filter) == NULL)
			continue;
		if (run_one(i))
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
