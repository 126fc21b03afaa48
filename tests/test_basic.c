/*
 * test_basic.c - the builder's life cycle and the handle's semantics.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

static char true_path[4200];

static const char *true_static(void)
{
	snprintf(true_path, sizeof(true_path), "%s/true-static", fl_test_builddir());
	return true_path;
}

HELPER(exit)
{
	return argc > 1 ? atoi(argv[1]) : 0;
}

TEST(fl_spawn_runs_static_true)
{
	char *argv[] = { "true", NULL };
	struct fl_error e;
	pid_t pid = fl_spawn(true_static(), argv, NULL, NULL, 0, &e);
	ASSERT_GT(pid, 0);
	int st = fl_test_wait(pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

TEST(builder_run_wait_reports_exit_status)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	char *args[] = { "42", NULL };
	ASSERT_EQ(fl_pidfd_set_path(fd, fl_test_exe), 0);
	ASSERT_EQ(fl_pidfd_set_argv(fd, fl_test_helper_argv("exit", args)), 0);
	struct fl_spawn_args a = { .size = sizeof(a) };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	int st = 0;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 42);
	close(fd);
}
