/* SPDX-License-Identifier: MIT */
/*
 * test_leak.c - repeated spawns leak nothing: no fd (the harness checks), no
 * child, no heap, no mapping (the per-thread stack is reused).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void spawn_loop(const char *path, int n)
{
	char *argv[] = { "true", NULL };
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = 2, .newfd = 1 };
	struct fl_error e;
	for (int i = 0; i < n; i++) {
		pid_t pid;
		if (i % 2) {
			pid = fl_spawn(path, argv, NULL, &a, 1, &e);
		} else {
			int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), st;
			struct fl_spawn_args sa = { .path = path, .argv = argv };
			fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "cwd", "/", 0);
			pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
			if (pid > 0 && fl_pidfd_wait(fd, &st, 0) != pid)
				fl_test_fail(__FILE__, __LINE__, "wait");
			close(fd);
			if (pid > 0)
				continue;
		}
		if (pid < 0)
			fl_test_fail(__FILE__, __LINE__, "spawn %d: %d", i, pid);
		fl_test_wait(pid);
		/* and a failing one */
		if (fl_spawn("/nonexistent", argv, NULL, NULL, 0, &e) != -ENOENT)
			fl_test_fail(__FILE__, __LINE__, "failing spawn");
	}
}

TEST_TIMEOUT(ten_thousand_spawns_leak_nothing, 120)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/true-static", fl_test_builddir());
	int n = fl_test_valgrind() ? 500 : 10000;
	spawn_loop(path, 50); /* warm up: per-thread stack, table */
	struct mallinfo2 before = mallinfo2();
	int maps = count_maps();
	spawn_loop(path, n);
	struct mallinfo2 after = mallinfo2();
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator maps and counts on its own; LSan checks at exit */
	ASSERT_LE((long long)after.uordblks, (long long)before.uordblks + 4096);
	if (!fl_test_valgrind()) /* valgrind's own mappings come and go */
		ASSERT_EQ(count_maps(), maps);
#else
	(void)before, (void)after, (void)maps;
#endif
}
