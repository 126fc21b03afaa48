/* SPDX-License-Identifier: MIT */
/*
 * test_errors.c - every bad input gets a clear error, with its stage, and
 * leaves nothing behind (the harness checks fds and children after each).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

static char path_buf[4096];

static const char *scratch(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", fl_test_tmpdir(), name);
	return path_buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
	chmod(path, mode);
}

/* fl_spawn of path; returns the result and fills *e. */
static int try_spawn(const char *path, struct fl_error *e)
{
	char *argv[] = { "x", NULL };
	memset(e, 0, sizeof(*e));
	return fl_spawn(path, argv, NULL, NULL, 0, e);
}

TEST(missing_file_is_enoent_at_exec)
{
	struct fl_error e;
	ASSERT_ERR(try_spawn("/nonexistent/prog", &e), e, -ENOENT, FL_STAGE_EXEC);
}

TEST(directory_is_eacces)
{
	struct fl_error e;
	ASSERT_ERR(try_spawn("/tmp", &e), e, -EACCES, FL_STAGE_EXEC);
}

TEST(no_execute_permission_is_eacces)
{
	struct fl_error e;
	write_file(scratch("noexec"), "#!/bin/sh\nexit 0\n", 0644);
	ASSERT_ERR(try_spawn(path_buf, &e), e, -EACCES, FL_STAGE_EXEC);
}

TEST(garbage_file_is_enoexec)
{
	struct fl_error e;
	write_file(scratch("garbage"), "\x01\x02\x03 this is not a program\n", 0755);
	ASSERT_ERR(try_spawn(path_buf, &e), e, -ENOEXEC, FL_STAGE_EXEC);
}

/* valgrind kills a child whose execve fails after its own checks passed */
#define SKIP_UNDER_VALGRIND_EXEC()                                            \
	do {                                                                  \
		if (fl_test_valgrind())                                       \
			SKIP("valgrind cannot survive this execve failure");  \
	} while (0)

TEST(script_with_missing_interpreter_is_enoent)
{
	struct fl_error e;
	SKIP_UNDER_VALGRIND_EXEC();
	write_file(scratch("script"), "#!/nonexistent/interp\n", 0755);
	ASSERT_ERR(try_spawn(path_buf, &e), e, -ENOENT, FL_STAGE_EXEC);
}

TEST(symlink_loop_is_eloop)
{
	struct fl_error e;
	char a[4096], b[4096];
	snprintf(a, sizeof(a), "%s/loop-a", fl_test_tmpdir());
	snprintf(b, sizeof(b), "%s/loop-b", fl_test_tmpdir());
	ASSERT_EQ(symlink(b, a), 0);
	ASSERT_EQ(symlink(a, b), 0);
	ASSERT_ERR(try_spawn(a, &e), e, -ELOOP, FL_STAGE_EXEC);
}

TEST(overlong_path_is_enametoolong)
{
	struct fl_error e;
	static char path[PATH_MAX + 100];
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	ASSERT_ERR(try_spawn(path, &e), e, -ENAMETOOLONG, FL_STAGE_EXEC);
	/* a bare name longer than NAME_MAX searched in $PATH */
	char name[NAME_MAX + 10];
	memset(name, 'b', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	ASSERT_ERR(try_spawn(name, &e), e, -ENAMETOOLONG, FL_STAGE_EXEC);
}

TEST(argv_over_arg_max_is_e2big)
{
	SKIP_UNDER_VALGRIND_EXEC();
	long max = sysconf(_SC_ARG_MAX);
	size_t each = 100000, n = (size_t)max / each + 2;
	char **argv = calloc(n + 2, sizeof(char *));
	char *big = malloc(each);
	memset(big, 'x', each - 1);
	big[each - 1] = 0;
	argv[0] = "true";
	for (size_t i = 1; i <= n; i++)
		argv[i] = big;
	struct fl_error e;
	int r = fl_spawn("/bin/true", argv, NULL, NULL, 0, &e);
	ASSERT_ERR(r, e, -E2BIG, FL_STAGE_EXEC);
	/* and the same through envp */
	char *small[] = { "true", NULL };
	r = fl_spawn("/bin/true", small, argv + 1, NULL, 0, &e);
	ASSERT_ERR(r, e, -E2BIG, FL_STAGE_EXEC);
	free(big);
	free(argv);
}

TEST(null_argv_is_efault_before_any_process)
{
	struct fl_error e;
	ASSERT_ERR(fl_spawn("/bin/true", NULL, NULL, NULL, 0, &e), e, -EFAULT, FL_STAGE_CONFIG);
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_set_argv(fd, NULL), -EFAULT);
	struct fl_spawn_args a = { .path = "/bin/true", .error = &e };
	ASSERT_ERR(fl_pidfd_spawn_run(fd, &a, sizeof(a)), e, -EFAULT, FL_STAGE_CONFIG);
	close(fd);
}

TEST(negative_fd_in_action_is_ebadf_without_child)
{
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = 1, .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .fd = -1, .newfd = 5 },
	};
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, acts, 2, &e), e, -EBADF, FL_STAGE_ACTION);
	ASSERT_EQ(e.index, 1);
	struct fl_action bad_type = { .type = 99 };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &bad_type, 1, &e), e, -EINVAL, FL_STAGE_ACTION);
	ASSERT_EQ(e.index, 0);
	struct fl_action bad_flags = { .type = FL_ACTION_CLOSE, .fd = 3, .flags = 2 };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &bad_flags, 1, &e), e, -EINVAL, FL_STAGE_ACTION);
	struct fl_action no_path = { .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 3 };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &no_path, 1, &e), e, -EFAULT, FL_STAGE_ACTION);
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, NULL, 3, &e), e, -EFAULT, FL_STAGE_CONFIG);
}

TEST(closed_fd_in_action_is_ebadf_from_the_child)
{
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = 2, .newfd = 2 },
		{ .type = FL_ACTION_DUP2, .fd = 900, .newfd = 4 }, /* 900 is not open */
	};
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, acts, 2, &e), e, -EBADF, FL_STAGE_ACTION);
	ASSERT_EQ(e.index, 1);
	struct fl_action close_bad = { .type = FL_ACTION_CLOSE, .fd = 901 };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &close_bad, 1, &e), e, -EBADF, FL_STAGE_ACTION);
	struct fl_action fchdir_bad = { .type = FL_ACTION_FCHDIR, .fd = 902 };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &fchdir_bad, 1, &e), e, -EBADF, FL_STAGE_ACTION);
	struct fl_action inherit_bad = { .type = FL_ACTION_INHERIT, .fd = 903 };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &inherit_bad, 1, &e), e, -EBADF, FL_STAGE_ACTION);
}

TEST(open_action_on_missing_path_is_enoent_with_index)
{
	struct fl_open o = { .path = "/nonexistent/file", .flags = O_RDONLY };
	struct fl_action acts[] = {
		{ .type = FL_ACTION_CHDIR, .arg = (uintptr_t)"/" },
		{ .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 0, .arg = (uintptr_t)&o },
	};
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, acts, 2, &e), e, -ENOENT, FL_STAGE_ACTION);
	ASSERT_EQ(e.index, 1);
	struct fl_action chdir_bad = { .type = FL_ACTION_CHDIR, .arg = (uintptr_t)"/nonexistent" };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &chdir_bad, 1, &e), e, -ENOENT, FL_STAGE_ACTION);
}

/*
 * The library needs no fd of its own in the child (its report travels in
 * shared memory; under valgrind, through a pipe it moves out of the way).
 * Actions aimed at the lowest free numbers, where such an fd would land,
 * must work, and a later failure must still be reported exactly.
 */
TEST(actions_onto_the_error_channel_numbers_still_report)
{
	struct fl_open o = { .path = "/nonexistent", .flags = O_RDONLY };
	struct fl_action acts[12];
	int n = 0, low = fcntl(0, F_DUPFD_CLOEXEC, 3);
	close(low);
	for (int fd = low; fd < low + 8; fd++)
		acts[n++] = (struct fl_action){ .type = FL_ACTION_DUP2, .fd = 2, .newfd = fd };
	acts[n++] = (struct fl_action){ .type = FL_ACTION_CLOSE_RANGE, .fd = low, .newfd = -1 };
	acts[n++] = (struct fl_action){ .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = low,
					.arg = (uintptr_t)&o };
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, acts, n, &e), e, -ENOENT, FL_STAGE_ACTION);
	ASSERT_EQ(e.index, n - 1);
	/* and without the failing action the child runs */
	pid_t pid = fl_spawn("/bin/true", argv, NULL, acts, n - 1, &e);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
}

TEST(bad_config_keys_and_values)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "no_such_key", "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, NULL, "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, 77, "umask", "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "200:100", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.bogus", "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "lots", 0), -EINVAL);
	struct rlimit rl = { 10, 5 };
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_NOFILE, &rl), -EINVAL);
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, 99, &rl), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FD, "cwd", NULL, 999), -EBADF);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "path", "", 0), -ENOENT);
	close(fd);
}

TEST(rlimit_nproc_exhausted_is_eagain)
{
	/* RLIMIT_NPROC does not bind root: drop privileges in this test process */
	ASSERT_EQ(setgroups(0, NULL), 0);
	ASSERT_EQ(setresgid(65534, 65534, 65534), 0);
	ASSERT_EQ(setresuid(65534, 65534, 65534), 0);
	struct rlimit rl = { 0, 0 };
	ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, NULL, 0, &e), e, -EAGAIN, FL_STAGE_CLONE);
}
