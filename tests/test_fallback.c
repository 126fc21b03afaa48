/* SPDX-License-Identifier: MIT */
/*
 * test_fallback.c - each kernel feature the library uses can be refused;
 * seccomp filters refuse them here and the fallback (or a clear error) is
 * checked.  Also the proof that the library never forks the caller.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"
#include "seccomp.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

static void spawn_true_ok(void)
{
	char *argv[] = { "true", NULL };
	struct fl_error e;
	pid_t pid = fl_spawn("/bin/true", argv, NULL, NULL, 0, &e);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
}

/* A failing spawn still reports its exact error through the fallback path. */
static void spawn_missing_reports(void)
{
	char *argv[] = { "x", NULL };
	struct fl_error e;
	ASSERT_ERR(fl_spawn("/nonexistent", argv, NULL, NULL, 0, &e), e, -ENOENT, FL_STAGE_EXEC);
}

static void child_sees_only_std_fds(void)
{
	int extra = open("/dev/null", O_RDONLY); /* inheritable, must not reach the child */
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), st;
	char *out = fl_test_run_handle(fd, "fds", NULL, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, "0 1 2 ");
	free(out);
	close(extra);
}

TEST(clone3_enosys_falls_back_to_clone)
{
	struct fl_sc_rule r[] = { { SYS_clone3, ENOSYS, 0, 0 } };
	fl_sc_install(r, 1);
	spawn_true_ok();
	spawn_missing_reports();
	child_sees_only_std_fds();
}

TEST(clone3_eperm_as_docker_falls_back_to_clone)
{
	struct fl_sc_rule r[] = { { SYS_clone3, EPERM, 0, 0 } };
	fl_sc_install(r, 1);
	spawn_true_ok();
	spawn_missing_reports();
}

TEST(close_range_refused_falls_back)
{
	struct fl_sc_rule r[] = { { SYS_close_range, ENOSYS, 0, 0 } };
	fl_sc_install(r, 1);
	child_sees_only_std_fds();
	spawn_missing_reports();
	/* the CLOSE_RANGE action too, in classic inheritance where it matters */
	int keep = open("/dev/null", O_RDONLY), p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action a[] = {
		{ .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 },
		{ .type = FL_ACTION_CLOSE_RANGE, .fd = 3, .newfd = -1 },
	};
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), st;
	struct fl_spawn_args sa = { .flags = FL_SPAWN_INHERIT_FDS, .path = fl_test_exe,
				    .argv = fl_test_helper_argv("fds", NULL), .actions = a, .nactions = 2 };
	int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	ASSERT_GT(pid, 0);
	char *out = fl_test_slurp(p[0]);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_STREQ(out, "0 1 2 ");
	free(out);
	close(fd);
	close(keep);
}

TEST(pidfd_refused_fl_spawn_works_builder_says_why)
{
	/* clone3 gone, and clone refused whenever CLONE_PIDFD is asked for */
	struct fl_sc_rule r[] = {
		{ SYS_clone3, ENOSYS, 0, 0 },
		{ SYS_clone, EPERM, CLONE_PIDFD, 0 },
		{ SYS_pidfd_open, ENOSYS, 0, 0 },
	};
	fl_sc_install(r, 3);
	/* fl_spawn needs no pidfd: it works */
	spawn_true_ok();
	/* the builder must turn its handle into a pidfd: a clear error, no child */
	char *argv[] = { "true", NULL };
	struct fl_error e;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	struct fl_spawn_args a = { .path = "/bin/true", .argv = argv, .error = &e };
	ASSERT_ERR(fl_pidfd_spawn_run(fd, &a, sizeof(a)), e, -EPERM, FL_STAGE_CLONE);
	close(fd);
	ASSERT_EQ(fl_pidfd_open(getpid(), 0), -ENOSYS);
}

/*
 * Never fork: the process dies (SIGSYS) if anything creates a process
 * without CLONE_VM.  clone3's flags are not visible to seccomp, so clone3
 * is refused and every creation goes through clone(), whose flags are.
 */
TEST(library_never_forks_seccomp)
{
	fl_sc_kill_on_fork();
	spawn_true_ok();
	spawn_missing_reports();
	child_sees_only_std_fds();
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), st;
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "setsid", NULL, 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.core", "0", 0), 0);
	char *out = fl_test_run_handle(fd, "fds", NULL, &st);
	ASSERT_EQ(st, 0);
	free(out);
}

/* The filter above cannot see clone3's flags: strace can.  Every process the
 * library creates through clone3 or clone carries CLONE_VM. */
HELPER(spawn_some)
{
	char *av[] = { "true", NULL };
	struct fl_error e;
	for (int i = 0; i < 3; i++) {
		pid_t pid = fl_spawn("/bin/true", av, NULL, NULL, 0, &e);
		if (pid < 0)
			return 1;
		waitpid(pid, NULL, 0);
	}
	return fl_spawn("/nonexistent", av, NULL, NULL, 0, &e) == -ENOENT ? 0 : 1;
}

TEST(library_never_forks_strace)
{
	if (access("/usr/bin/strace", X_OK) != 0)
		SKIP("strace is not installed");
	if (fl_test_valgrind())
		SKIP("strace under valgrind");
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1); /* LeakSanitizer cannot run under ptrace */
	char log[4200];
	snprintf(log, sizeof(log), "%s/strace.log", fl_test_tmpdir());
	char *args[] = { "strace", "-f", "-qq", "-e", "trace=clone,clone3,fork,vfork", "-o", log,
			 (char *)fl_test_exe, "--helper", "spawn_some", NULL };
	pid_t pid = fl_spawn("/usr/bin/strace", args, NULL, NULL, 0, NULL);
	ASSERT_GT(pid, 0);
	int st = fl_test_wait(pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	FILE *f = fopen(log, "re");
	ASSERT_TRUE(f != NULL);
	char line[1024];
	int creations = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "clone") && !strstr(line, "fork"))
			continue;
		if (strstr(line, "resumed>") && !strstr(line, "clone3(") && !strstr(line, "clone("))
			continue;
		creations++;
		if (!strstr(line, "CLONE_VM"))
			fl_test_fail(__FILE__, __LINE__, "created without CLONE_VM: %s", line);
	}
	fclose(f);
	/* the native path: the kernel's builder made all four, no clone at all */
	ASSERT_EQ(creations, fl_test_native_path() ? 0 : 4);
}

TEST(pidfd_send_signal_refused_falls_back_to_kill)
{
	struct fl_sc_rule r[] = { { SYS_pidfd_send_signal, ENOSYS, 0, 0 } };
	fl_sc_install(r, 1);
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), st;
	struct fl_spawn_args a = { .path = fl_test_exe,
				   .argv = fl_test_helper_argv("sleep", NULL) };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_kill(fd, SIGTERM), 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGTERM);
	ASSERT_EQ(fl_pidfd_kill(fd, SIGTERM), -ESRCH); /* reaped */
	close(fd);
}

/* pidfd_getfd refused (ptrace rules, seccomp): a child that cannot take a
 * far fd is launched again with a copy of the table, and the dup2 from an
 * fd numbered above 300 others still works, every time. */
TEST(far_fd_refused_falls_back_to_copy)
{
	struct fl_sc_rule r[] = { { 438 /* pidfd_getfd */, EPERM, 0, 0 } };
	int base = open("/dev/null", O_RDONLY | O_CLOEXEC), fds[300], p[2];

	fl_sc_install(r, 1);
	ASSERT_GE(base, 0);
	for (int i = 0; i < 300; i++)
		ASSERT_GE((fds[i] = fcntl(base, F_DUPFD_CLOEXEC, 0)), 0);
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	int hi = fcntl(p[1], F_DUPFD_CLOEXEC, 300);
	ASSERT_GE(hi, 300);
	close(p[1]);
	for (int k = 0; k < 2; k++) {
		char *argv[] = { "sh", "-c", "echo far", NULL }, buf[16] = "";
		struct fl_action a = { .type = FL_ACTION_DUP2, .fd = hi, .newfd = 1 };
		struct fl_error e;
		pid_t pid = fl_spawn("/bin/sh", argv, NULL, &a, 1, &e);
		int st;
		ASSERT_GT(pid, 0);
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT_EQ(st, 0);
		ASSERT_EQ(read(p[0], buf, sizeof(buf) - 1), 4);
		ASSERT_STREQ(buf, "far\n");
	}
	close(hi);
	close(p[0]);
	for (int i = 0; i < 300; i++)
		close(fds[i]);
	close(base);
}
