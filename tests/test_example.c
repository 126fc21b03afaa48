/*
 * test_example.c - the programs in examples/ build and do what they say.
 *
 * examples/epoll_spawn.c is compiled with the header and the static
 * library (the source tree is the parent of the build directory), then run
 * with small numbers on the static true of the build directory: it must
 * print a summary with "0 failed" and exit 0.  The compiler and the example
 * run through fl_spawn(), as everything here; a sanitizer build compiles the
 * example with the same sanitizer, as test_rfc.c does, to link its
 * libforkless.a.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

/* Run file (searched in PATH) with stdout and stderr into a pipe; returns
 * the wait status with the output in *out, or a negative errno from the spawn. */
static int run_capture(const char *file, char *const argv[], char **out)
{
	struct fl_action a[2] = {
		{ .type = FL_ACTION_DUP2, .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .newfd = 2 },
	};
	int p[2];

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	a[0].fd = a[1].fd = p[1];
	pid_t pid = fl_spawn(file, argv, NULL, a, 2, NULL);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return pid;
	}
	*out = fl_test_slurp(p[0]);
	return fl_test_wait(pid);
}

/* Whether a shared object whose name contains lib is mapped here. */
static int mapped(const char *lib)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, lib) != NULL;
	fclose(f);
	return found;
}

/* The source tree: the parent of the build directory; skips without one. */
static const char *source_tree(void)
{
	static char dir[4096];

	snprintf(dir, sizeof(dir), "%s", fl_test_builddir());
	char *slash = strrchr(dir, '/');
	if (!slash)
		SKIP("no source tree above the build directory");
	*slash = 0;
	return dir;
}

/* Compile src into exe with the first C compiler found; skips without one. */
static void compile(const char *src, const char *exe)
{
	char inc[4200], lib[4200], *argv[16], *out = NULL;
	int n = 0, st = -ENOENT;
	static const char *const compilers[] = { "cc", "gcc", "clang" };

	snprintf(inc, sizeof(inc), "-I%s/include", source_tree());
	snprintf(lib, sizeof(lib), "%s/libforkless.a", fl_test_builddir());
	argv[n++] = "cc";
	argv[n++] = "-Wall";
	argv[n++] = "-Werror";
	argv[n++] = inc;
	if (mapped("libasan.so"))
		argv[n++] = "-fsanitize=address";
	if (mapped("libubsan.so"))
		argv[n++] = "-fsanitize=undefined";
	argv[n++] = "-o";
	argv[n++] = (char *)exe;
	argv[n++] = (char *)src;
	argv[n++] = lib;
	argv[n++] = "-lpthread";
	argv[n] = NULL;
	for (size_t i = 0; i < sizeof(compilers) / sizeof(compilers[0]) && st == -ENOENT; i++) {
		argv[0] = (char *)compilers[i];
		st = run_capture(compilers[i], argv, &out);
	}
	if (st == -ENOENT)
		SKIP("no C compiler (cc, gcc, clang) in PATH");
	ASSERT_GE(st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fl_test_fail(__FILE__, __LINE__, "%s failed (status %#x):\n%s", argv[0], st, out);
	free(out);
}

TEST_TIMEOUT(example_epoll_spawn_builds_and_runs, 120)
{
	char src[4200], exe[4200], tru[4200], lib[4200];
	struct stat st;

	snprintf(src, sizeof(src), "%s/examples/epoll_spawn.c", source_tree());
	snprintf(lib, sizeof(lib), "%s/libforkless.a", fl_test_builddir());
	snprintf(tru, sizeof(tru), "%s/true-static", fl_test_builddir());
	snprintf(exe, sizeof(exe), "%s/epoll_spawn", fl_test_tmpdir());
	if (stat(src, &st) < 0)
		SKIP("examples/epoll_spawn.c is not in the parent of the build directory");
	if (stat(lib, &st) < 0 || stat(tru, &st) < 0)
		SKIP("no libforkless.a or true-static in the build directory");
	compile(src, exe);

	char *argv[] = { exe, "4", "50", tru, NULL }, *out = NULL;
	int status = run_capture(exe, argv, &out);
	ASSERT_GE(status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    !strstr(out, "50 spawns, 4 in flight, ") || !strstr(out, " spawns/s, 0 failed\n"))
		fl_test_fail(__FILE__, __LINE__, "epoll_spawn (status %#x) said:\n%s", status, out);
	free(out);
}
