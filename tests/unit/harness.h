/* harness.h - the unit test harness: TEST() registers, ASSERT_*() checks. */
#ifndef BX_TEST_HARNESS_H
#define BX_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * A test file defines tests with TEST(name) { ... } and nothing else; the
 * harness's main() runs them in order (or only those whose name contains
 * argv[1]) and ends with the line "N passed, N failed". A failed ASSERT ends
 * the current test at once (longjmp) and the run goes on with the next.
 */
typedef void (*bx_test_fn)(void);
void bx_test_register(const char *name, bx_test_fn fn);
void bx_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* A fresh empty directory for the running test, removed after it passes. */
const char *bx_test_tmpdir(void);

#define TEST(name)                                                           \
	static void test_##name(void);                                       \
	__attribute__((constructor)) static void register_##name(void)       \
	{                                                                    \
		bx_test_register(#name, test_##name);                        \
	}                                                                    \
	static void test_##name(void)

#define ASSERT(cond)                                                         \
	do {                                                                 \
		if (!(cond))                                                 \
			bx_test_fail(__FILE__, __LINE__, "%s", #cond);       \
	} while (0)

#define ASSERT_MSG(cond, ...)                                                \
	do {                                                                 \
		if (!(cond))                                                 \
			bx_test_fail(__FILE__, __LINE__, __VA_ARGS__);       \
	} while (0)

#define ASSERT_INT(a, b)                                                     \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ != b_)                                                \
			bx_test_fail(__FILE__, __LINE__, "%s == %lld, want %s == %lld", \
				     #a, a_, #b, b_);                        \
	} while (0)

#define ASSERT_STR(a, b)                                                     \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)         \
			bx_test_fail(__FILE__, __LINE__, "%s == \"%s\", want \"%s\"", \
				     #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                         \
	do {                                                                 \
		const char *h_ = (hay), *n_ = (needle);                      \
		if (h_ == NULL || strstr(h_, n_) == NULL)                    \
			bx_test_fail(__FILE__, __LINE__, "%s == \"%s\" lacks \"%s\"", \
				     #hay, h_ ? h_ : "(null)", n_);          \
	} while (0)

#endif
