/* SPDX-License-Identifier: MIT */
/*
 * harness.h - the test harness, in the style of the kernel's kselftest_harness.h.
 *
 *   TEST(name) { ASSERT_EQ(fl_spawn(...) > 0, 1); ... }
 *   HELPER(name) { ...; return 0; }   run as: <test binary> --helper name [args]
 *
 * Each test runs in its own process (the harness forks; the library never
 * does) with a timeout, prints TAP, and must leave no fd open that it did not
 * have at its start and no child unreaped.  Tests that need to look at the
 * child's view spawn the test binary itself in helper mode (fl_test_self()).
 * The run ends with one line "N passed, N failed, N skipped" and a non-zero
 * exit status if anything failed.
 */
#ifndef FL_HARNESS_H
#define FL_HARNESS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_test {
	const char *name;
	void (*fn)(void);
	int timeout; /* seconds */
	struct fl_test *next;
};
struct fl_helper {
	const char *name;
	int (*fn)(int argc, char **argv);
	struct fl_helper *next;
};

void fl_test_register(struct fl_test *t);
void fl_helper_register(struct fl_helper *h);
void fl_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void fl_test_skip(const char *why) __attribute__((noreturn));

#define TEST_TIMEOUT(name, secs)                                              \
	static void test_##name(void);                                        \
	static struct fl_test test_rec_##name = { #name, test_##name, secs, 0 }; \
	__attribute__((constructor)) static void test_reg_##name(void)        \
	{                                                                     \
		fl_test_register(&test_rec_##name);                           \
	}                                                                     \
	static void test_##name(void)
#define TEST(name) TEST_TIMEOUT(name, 30)

#define HELPER(name)                                                          \
	static int helper_##name(int argc, char **argv);                      \
	static struct fl_helper helper_rec_##name = { #name, helper_##name, 0 }; \
	__attribute__((constructor)) static void helper_reg_##name(void)      \
	{                                                                     \
		fl_helper_register(&helper_rec_##name);                       \
	}                                                                     \
	static int helper_##name(int argc, char **argv)

#define ASSERT_OP_(a, op, b, fmt, type)                                       \
	do {                                                                  \
		type a_ = (a), b_ = (b);                                      \
		if (!(a_ op b_))                                              \
			fl_test_fail(__FILE__, __LINE__, "%s " #op " %s: " fmt " vs " fmt, \
				     #a, #b, a_, b_);                         \
	} while (0)
#define ASSERT_EQ(a, b) ASSERT_OP_(a, ==, b, "%lld", long long)
#define ASSERT_NE(a, b) ASSERT_OP_(a, !=, b, "%lld", long long)
#define ASSERT_GE(a, b) ASSERT_OP_(a, >=, b, "%lld", long long)
#define ASSERT_GT(a, b) ASSERT_OP_(a, >, b, "%lld", long long)
#define ASSERT_LE(a, b) ASSERT_OP_(a, <=, b, "%lld", long long)
#define ASSERT_LT(a, b) ASSERT_OP_(a, <, b, "%lld", long long)
#define ASSERT_TRUE(c) ASSERT_EQ(!!(c), 1)
#define ASSERT_STREQ(a, b)                                                    \
	do {                                                                  \
		const char *a_ = (a), *b_ = (b);                              \
		if (!a_ || !b_ || strcmp(a_, b_))                             \
			fl_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", \
				     #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)
/* A -errno result with its stage: ASSERT_ERR(r, e, -ENOENT, FL_STAGE_EXEC). */
#define ASSERT_ERR(r, e, want, want_stage)                                    \
	do {                                                                  \
		ASSERT_EQ((r), (want));                                       \
		ASSERT_EQ((e).err, -(want));                                  \
		ASSERT_EQ((e).stage, (want_stage));                           \
	} while (0)
#define SKIP(why) fl_test_skip(why)

/* ---- utilities for tests (harness.c) ----------------------------------- */

/* Path of the test binary (helpers run it with "--helper NAME ARGS..."). */
extern const char *fl_test_exe;
/* argv for "<exe> --helper name args..." (args NULL-terminated, may be NULL);
 * static storage, valid until the next call. */
char **fl_test_helper_argv(const char *name, char *const args[]);
/* fl_spawn() the helper with its stdout into a pipe; returns the pid and
 * the pipe's read end in *ret_out.  Fails the test on error. */
pid_t fl_test_helper(const char *name, char *const args[], int *ret_out);
/* fl_test_helper, its whole output (malloc'ed) and its exit: fails the test
 * unless it exited 0. */
char *fl_test_helper_output(const char *name, char *const args[]);
/* Run the helper from builder handle fd (configured by the caller): argv is
 * set here, stdout captured; waits for it.  Returns its output (malloc'ed)
 * and its waitpid() status in *ret_status.  Fails the test on error. */
char *fl_test_run_handle(int fd, const char *name, char *const args[], int *ret_status);
/* Read all of fd into a malloc'ed NUL-terminated string; closes fd. */
char *fl_test_slurp(int fd);
/* The same, with the length in *ret_len (for binary contents). */
char *fl_test_slurp_len(int fd, size_t *ret_len);
/* Wait for pid; returns its waitpid() status. */
int fl_test_wait(pid_t pid);
/* Directory for scratch files, unique to this test process. */
const char *fl_test_tmpdir(void);
/* Whether we run under valgrind (FORKLESS_TEST_VALGRIND set). */
int fl_test_valgrind(void);
/* Whether spawns without a key of their own take the native path here: the
 * kernel has the process builder (the forkless test kernel) and
 * FORKLESS_NATIVE is not 0.  Tests of the user-space launcher's own
 * machinery (its clone3 ladder, its stack) skip there; the user-space
 * path of the same kernel runs them. */
int fl_test_native_path(void);
/* Build paths of the build directory (where the test binary lives). */
const char *fl_test_builddir(void);

/* Run file (searched in PATH) with stdout and stderr into a pipe; returns
 * the wait status with the output in *out, or a negative errno. */
int fl_test_run_capture(const char *file, char *const argv[], char **out);
/* The source tree (parent of the build directory); skips without one. */
const char *fl_test_source_tree(void);
/* Compile src into exe against include/ and libforkless.a with the first C
 * compiler found (and the sanitizers this binary runs with); skips without one. */
void fl_test_compile(const char *src, const char *exe);

#endif /* FL_HARNESS_H */
