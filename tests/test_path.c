/* SPDX-License-Identifier: MIT */
/*
 * test_path.c - $PATH search for a bare name, with execvp(3)'s precedence:
 * EACCES is remembered and reported only if no later directory has the
 * program; ENOENT when no directory has it; an empty element is the cwd.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

static char dirs[3][4096];

/* d0, d1, d2 under the scratch dir; returns "d0:d1:d2". */
static const char *make_dirs(void)
{
	static char path[3 * 4096 + 8];
	for (int i = 0; i < 3; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/d%d", fl_test_tmpdir(), i);
		ASSERT_EQ(mkdir(dirs[i], 0755), 0);
	}
	snprintf(path, sizeof(path), "%s:%s:%s", dirs[0], dirs[1], dirs[2]);
	return path;
}

static void put(int dir, const char *name, const char *text, mode_t mode)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dirs[dir], name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
	chmod(p, mode);
}

static int run_name(const char *name, struct fl_error *e, int *status)
{
	char *argv[] = { (char *)name, NULL };
	pid_t pid = fl_spawn(name, argv, NULL, NULL, 0, e);
	if (pid > 0)
		*status = fl_test_wait(pid);
	return pid;
}

TEST(bare_name_is_found_in_a_later_path_directory)
{
	setenv("PATH", make_dirs(), 1);
	put(2, "prog", "#!/bin/sh\nexit 5\n", 0755);
	struct fl_error e;
	int st;
	ASSERT_GT(run_name("prog", &e, &st), 0);
	ASSERT_EQ(WEXITSTATUS(st), 5);
}

TEST(eacces_in_earlier_directory_does_not_hide_a_later_program)
{
	setenv("PATH", make_dirs(), 1);
	put(0, "prog", "#!/bin/sh\nexit 1\n", 0644); /* not executable */
	put(1, "prog", "#!/bin/sh\nexit 6\n", 0755);
	struct fl_error e;
	int st;
	ASSERT_GT(run_name("prog", &e, &st), 0);
	ASSERT_EQ(WEXITSTATUS(st), 6);
}

TEST(eacces_wins_over_enoent_when_nothing_runs)
{
	setenv("PATH", make_dirs(), 1);
	put(1, "prog", "#!/bin/sh\nexit 1\n", 0644);
	struct fl_error e;
	int st;
	ASSERT_ERR(run_name("prog", &e, &st), e, -EACCES, FL_STAGE_EXEC);
}

TEST(missing_everywhere_is_enoent)
{
	setenv("PATH", make_dirs(), 1);
	struct fl_error e;
	int st;
	ASSERT_ERR(run_name("prog", &e, &st), e, -ENOENT, FL_STAGE_EXEC);
}

TEST(enoexec_stops_the_search)
{
	if (fl_test_valgrind())
		SKIP("valgrind cannot survive this execve failure");
	setenv("PATH", make_dirs(), 1);
	put(0, "prog", "\x7f" "ELF garbage", 0755);
	put(1, "prog", "#!/bin/sh\nexit 0\n", 0755);
	struct fl_error e;
	int st;
	ASSERT_ERR(run_name("prog", &e, &st), e, -ENOEXEC, FL_STAGE_EXEC);
}

TEST(empty_path_element_is_the_current_directory)
{
	make_dirs();
	ASSERT_EQ(chdir(dirs[2]), 0);
	char path[2 * 4096 + 4];
	snprintf(path, sizeof(path), "%s::%s", dirs[0], dirs[1]);
	setenv("PATH", path, 1);
	put(2, "prog", "#!/bin/sh\nexit 7\n", 0755);
	struct fl_error e;
	int st;
	ASSERT_GT(run_name("prog", &e, &st), 0);
	ASSERT_EQ(WEXITSTATUS(st), 7);
}

TEST(unset_path_uses_bin_and_usr_bin)
{
	unsetenv("PATH");
	struct fl_error e;
	int st;
	ASSERT_GT(run_name("true", &e, &st), 0);
	ASSERT_EQ(st, 0);
}

TEST(no_search_flag_runs_a_bare_name_relative_to_cwd)
{
	setenv("PATH", make_dirs(), 1);
	put(0, "prog", "#!/bin/sh\nexit 3\n", 0755);
	char *argv[] = { "prog", NULL };
	struct fl_error e;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	struct fl_spawn_args a = { .flags = FL_SPAWN_NO_SEARCH, .path = "prog", .argv = argv, .error = &e };
	ASSERT_ERR(fl_pidfd_spawn_run(fd, &a, sizeof(a)), e, -ENOENT, FL_STAGE_EXEC);
	close(fd);
	ASSERT_EQ(chdir(dirs[0]), 0);
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st;
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(WEXITSTATUS(st), 3);
	close(fd);
}
