/* SPDX-License-Identifier: MIT */
/*
 * test_fds.c - descriptor hygiene and the actions.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

/* Prints the child's open fds, "0 1 2 ", excluding the directory it reads. */
HELPER(fds)
{
	DIR *d = opendir("/proc/self/fd");
	int self = dirfd(d), fds[4096], n = 0;
	struct dirent *de;

	while ((de = readdir(d)) && n < 4096)
		if (de->d_name[0] != '.' && atoi(de->d_name) != self)
			fds[n++] = atoi(de->d_name);
	closedir(d);
	for (int i = 0; i < n; i++) /* sort for a stable output */
		for (int j = i + 1; j < n; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < n; i++)
		printf("%d ", fds[i]);
	return 0;
}

/* Prints the content readable from fd argv[1], and the cwd. */
HELPER(readfd)
{
	char buf[256], cwd[512];
	ssize_t n = read(atoi(argv[1]), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("%s|%s", buf, getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	return 0;
}

static char *run_helper(const char *name, char *const args[], struct fl_action *acts,
			size_t n, uint64_t flags)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), st;
	struct fl_action all[16];
	for (size_t i = 0; i < n; i++)
		all[i] = acts[i];
	/* fl_test_run_handle adds the stdout action; run through a config + args */
	if (flags & FL_SPAWN_INHERIT_FDS)
		ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "inherit_fds", NULL, 0), 0);
	if (n == 0)
		return fl_test_run_handle(fd, name, args, &st);
	/* actions of our own: capture stdout with a pipe as action 0 */
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action with_out[17] = { { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 } };
	for (size_t i = 0; i < n; i++)
		with_out[i + 1] = all[i];
	struct fl_error e;
	struct fl_spawn_args a = { .path = fl_test_exe,
				   .argv = fl_test_helper_argv(name, args),
				   .actions = with_out, .nactions = n + 1, .error = &e };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	close(p[1]);
	ASSERT_GT(pid, 0);
	char *out = fl_test_slurp(p[0]);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(st, 0);
	close(fd);
	return out;
}

TEST(child_sees_only_0_1_2_with_5000_open_fds)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 6000) {
		rl.rlim_cur = rl.rlim_max < 6000 ? rl.rlim_max : 6000;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	static int fds[5000];
	for (int i = 0; i < 5000; i++) {
		fds[i] = open("/dev/null", O_RDONLY); /* not CLOEXEC: inheritable */
		ASSERT_GE(fds[i], 0);
	}
	char *out = run_helper("fds", NULL, NULL, 0, 0);
	ASSERT_STREQ(out, "0 1 2 ");
	free(out);
	for (int i = 0; i < 5000; i++)
		close(fds[i]);
}

TEST(inherit_flag_keeps_non_cloexec_fds_only)
{
	int keep = open("/dev/null", O_RDONLY);
	int drop = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char want[64];
	char *out = run_helper("fds", NULL, NULL, 0, FL_SPAWN_INHERIT_FDS);
	snprintf(want, sizeof(want), " %d ", keep);
	ASSERT_TRUE(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), " %d ", drop);
	ASSERT_TRUE(strstr(out, want) == NULL);
	ASSERT_TRUE(strncmp(out, "0 1 2 ", 6) == 0);
	free(out);
	close(keep);
	close(drop);
}

TEST(action_targets_survive_and_others_do_not)
{
	int p[2];
	ASSERT_EQ(pipe(p), 0); /* not CLOEXEC: still closed unless named */
	ASSERT_EQ(write(p[1], "hello", 5), 5);
	close(p[1]);
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = p[0], .newfd = 7 },
		{ .type = FL_ACTION_DUP2, .fd = 7, .newfd = 8 },
		{ .type = FL_ACTION_CLOSE, .fd = 8 },
	};
	char *out = run_helper("fds", NULL, acts, 3, 0);
	ASSERT_STREQ(out, "0 1 2 7 ");
	free(out);
	char *args[] = { "7", NULL };
	out = run_helper("readfd", args, acts, 1, 0);
	ASSERT_TRUE(strncmp(out, "hello|", 6) == 0);
	free(out);
	close(p[0]);
}

TEST(open_chdir_fchdir_inherit_close_range_actions)
{
	const char *dir = fl_test_tmpdir();
	char file[4200];
	snprintf(file, sizeof(file), "%s/data", dir);
	int w = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_EQ(write(w, "xyz", 3), 3);
	close(w);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct fl_open o = { .path = "data", .flags = O_RDONLY | O_CLOEXEC };
	struct fl_action acts[] = {
		{ .type = FL_ACTION_CHDIR, .arg = (uintptr_t)"/" },
		{ .type = FL_ACTION_OPEN, .fd = dfd, .newfd = 5, .arg = (uintptr_t)&o },
		{ .type = FL_ACTION_FCHDIR, .fd = dfd },
		{ .type = FL_ACTION_INHERIT, .fd = dfd },
	};
	char *args[] = { "5", NULL };
	char *out = run_helper("readfd", args, acts, 4, 0);
	char want[4300];
	snprintf(want, sizeof(want), "xyz|%s", dir);
	ASSERT_STREQ(out, want);
	free(out);
	out = run_helper("fds", NULL, acts, 4, 0);
	snprintf(want, sizeof(want), "0 1 2 %d 5 ", dfd);
	if (dfd > 5)
		snprintf(want, sizeof(want), "0 1 2 5 %d ", dfd);
	ASSERT_STREQ(out, want);
	free(out);
	/* close_range over everything from 3 leaves 0..2 */
	struct fl_action cr[] = {
		{ .type = FL_ACTION_INHERIT, .fd = dfd },
		{ .type = FL_ACTION_CLOSE_RANGE, .fd = 3, .newfd = -1 },
	};
	out = run_helper("fds", NULL, cr, 2, 0);
	ASSERT_STREQ(out, "0 1 2 ");
	free(out);
	close(dfd);
	if (fl_test_valgrind())
		return; /* valgrind does not know openat2 */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* openat2 with RESOLVE_BENEATH refuses to escape the directory */
	struct fl_open esc = { .path = "../etc/passwd", .flags = O_RDONLY, .resolve = 0x08 };
	struct fl_action bad = { .type = FL_ACTION_OPEN, .fd = dfd, .newfd = 5, .arg = (uintptr_t)&esc };
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &bad, 1, &e), e, -EXDEV, FL_STAGE_ACTION);
	close(dfd);
}

TEST(dup2_onto_itself_clears_cloexec)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = fd, .newfd = fd };
	char *out = run_helper("fds", NULL, &a, 1, 0);
	char want[64];
	snprintf(want, sizeof(want), "0 1 2 %d ", fd);
	ASSERT_STREQ(out, want);
	free(out);
	/* the caller's fd keeps its flag */
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(child_actions_do_not_touch_caller_fd_table)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct fl_action acts[] = {
		{ .type = FL_ACTION_CLOSE, .fd = fd },
		{ .type = FL_ACTION_DUP2, .fd = 2, .newfd = 50 },
	};
	char *out = run_helper("fds", NULL, acts, 2, 0);
	ASSERT_STREQ(out, "0 1 2 50 ");
	free(out);
	ASSERT_GE(fcntl(fd, F_GETFD), 0); /* still open here */
	ASSERT_EQ(fcntl(50, F_GETFD), -1); /* never created here */
	close(fd);
}
