/* SPDX-License-Identifier: MIT */
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

TEST_TIMEOUT(example_epoll_spawn_builds_and_runs, 120)
{
	char src[4200], exe[4200], tru[4200], lib[4200];
	struct stat st;

	snprintf(src, sizeof(src), "%s/examples/epoll_spawn.c", fl_test_source_tree());
	snprintf(lib, sizeof(lib), "%s/libforkless.a", fl_test_builddir());
	snprintf(tru, sizeof(tru), "%s/true-static", fl_test_builddir());
	snprintf(exe, sizeof(exe), "%s/epoll_spawn", fl_test_tmpdir());
	if (stat(src, &st) < 0)
		SKIP("examples/epoll_spawn.c is not in the parent of the build directory");
	if (stat(lib, &st) < 0 || stat(tru, &st) < 0)
		SKIP("no libforkless.a or true-static in the build directory");
	fl_test_compile(src, exe);

	char *argv[] = { exe, "4", "50", tru, NULL }, *out = NULL;
	int status = fl_test_run_capture(exe, argv, &out);
	ASSERT_GE(status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    !strstr(out, "50 spawns, 4 in flight, ") || !strstr(out, " spawns/s, 0 failed\n"))
		fl_test_fail(__FILE__, __LINE__, "epoll_spawn (status %#x) said:\n%s", status, out);
	free(out);
}
