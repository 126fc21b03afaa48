/* SPDX-License-Identifier: MIT */
/*
 * test_native.c - the native path (src/native.c): spawns made by the
 * kernel's process builder or spawn templates where the kernel has them
 * (the forkless test kernel, make kernel-check), user space everywhere else; the key "native"
 * and FORKLESS_NATIVE choose.  On a stock kernel the tests check the
 * choice and its errors; on the test kernel, that the kernel made the
 * child (clone refused by seccomp, and it is still made) with the same
 * results as user space.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"
#include "seccomp.h"

#define PIDFD_EMPTY 0x40000000u

extern char **environ;

static bool kernel_has_builder(void)
{
	long fd = syscall(SYS_pidfd_open, 0, PIDFD_EMPTY);
	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

/* Run argv from a builder with key native = mode ("true", "false",
 * "auto"), stdout captured: the pid (or -errno with *e), output, status. */
static int run_native(const char *mode, const char *path, char *const argv[], char **out,
		      int *status, struct fl_error *e)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "native", mode, 0), 0);
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_spawn_args sa = { .path = path, .argv = argv, .envp = environ, .actions = &a,
				    .nactions = 1, .error = e };
	int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	*out = fl_test_slurp(p[0]);
	*status = pid > 0 ? fl_test_wait(pid) : -1;
	close(fd);
	return pid;
}

TEST(native_key_values)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "native", "auto", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "native", "yes", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "native", "off", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "native", NULL, 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "native", "sometimes", 0), -EINVAL);
	close(fd);
}

/* Asked for where the kernel has none: ENOSYS at the config stage, no
 * child; auto and false run in user space. */
TEST(native_asked_for_without_the_kernels_builder_is_enosys)
{
	if (kernel_has_builder())
		SKIP("this kernel has the process builder");
	char *argv[] = { "echo", "hi", NULL }, *out;
	struct fl_error e = { 0, 0, 0 };
	int st;
	ASSERT_EQ(run_native("true", "/bin/echo", argv, &out, &st, &e), -ENOSYS);
	ASSERT_EQ(e.err, ENOSYS);
	ASSERT_EQ(e.stage, FL_STAGE_CONFIG);
	free(out);
	ASSERT_GT(run_native("auto", "/bin/echo", argv, &out, &st, &e), 0);
	ASSERT_STREQ(out, "hi\n");
	free(out);
	ASSERT_GT(run_native("false", "/bin/echo", argv, &out, &st, &e), 0);
	ASSERT_STREQ(out, "hi\n");
	free(out);
}

HELPER(native_env)
{
	(void)argc, (void)argv;
	char *args[] = { "true", NULL };
	struct fl_error e = { 0, 0, 0 };
	int pid = fl_spawn("/bin/true", args, NULL, NULL, 0, &e);
	if (pid > 0)
		fl_test_wait(pid);
	printf("%d %d %d\n", pid > 0 ? 1 : pid, e.err, e.stage);
	return 0;
}

/* FORKLESS_NATIVE=1 asks for it for every spawn; =0 never. */
TEST(native_environment_variable)
{
	char *env1[] = { "FORKLESS_NATIVE=1", NULL }, *env0[] = { "FORKLESS_NATIVE=0", NULL };
	for (int k = 0; k < 2; k++) {
		int p[2];
		ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
		struct fl_action a = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
		pid_t pid = fl_spawn(fl_test_exe, fl_test_helper_argv("native_env", NULL),
				     k ? env0 : env1, &a, 1, NULL);
		close(p[1]);
		ASSERT_GT(pid, 0);
		char *out = fl_test_slurp(p[0]);
		ASSERT_EQ(fl_test_wait(pid), 0);
		char want[64];
		if (k == 1 || kernel_has_builder())
			snprintf(want, sizeof(want), "1 0 0\n");
		else
			snprintf(want, sizeof(want), "%d %d %d\n", -ENOSYS, ENOSYS, FL_STAGE_CONFIG);
		ASSERT_STREQ(out, want);
		free(out);
	}
}

/* The kernel makes the child: with every way user space creates a process
 * refused (clone, clone3, fork, vfork), a native spawn still works, and
 * gives what a user-space spawn gives. */
TEST(native_spawn_is_made_by_the_kernel)
{
	if (!kernel_has_builder())
		SKIP("this kernel has no process builder (the forkless test kernel has: make kernel-check)");
	if (fl_test_valgrind())
		SKIP("no seccomp filters under valgrind");
	char *argv[] = { "sh", "-c", "echo $0 $PPID; umask", NULL }, *out, *user;
	struct fl_error e = { 0, 0, 0 };
	int st, ust;
	ASSERT_GT(run_native("false", "/bin/sh", argv, &user, &ust, &e), 0);
	struct fl_sc_rule r[] = { { SYS_clone, EPERM, 0, 0 }, { SYS_clone3, EPERM, 0, 0 },
				  { SYS_fork, EPERM, 0, 0 }, { SYS_vfork, EPERM, 0, 0 } };
	fl_sc_install(r, 4);
	int pid = run_native("true", "/bin/sh", argv, &out, &st, &e);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, user);
	free(out);
	free(user);
	/* a failure: the same error as user space gives, no child left */
	char *bad[] = { "x", NULL };
	ASSERT_EQ(run_native("true", "/nonexistent/x", bad, &out, &st, &e), -ENOENT);
	ASSERT_EQ(e.err, ENOENT);
	ASSERT_EQ(e.stage, FL_STAGE_EXEC);
	free(out);
	ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0);
}

/* A copy of executable src at dst (another inode). */
static void copy_exe(const char *src, const char *dst)
{
	struct stat st;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ASSERT_TRUE(in >= 0 && out >= 0 && fstat(in, &st) == 0);
	ASSERT_EQ(sendfile(out, in, NULL, (size_t)st.st_size), (ssize_t)st.st_size);
	close(in);
	close(out);
}

/* A template whose configuration has key native = mode, of path. */
static int template_native(const char *mode, const char *path)
{
	int cfd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(cfd, 0);
	ASSERT_EQ(fl_pidfd_config(cfd, FL_CONFIG_SET_STRING, "native", mode, 0), 0);
	struct fl_template_args ta = { .execfd = -1, .filename = path, .config_fd = cfd };
	int tfd = fl_spawn_template_create(&ta, sizeof(ta));
	close(cfd);
	return tfd;
}

/* Spawn argv from template tfd, stdout captured: pid or -errno, output, status. */
static int run_template(int tfd, char *const argv[], char **out, int *status, struct fl_error *e)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_spawn_args sa = { .argv = argv, .envp = environ, .actions = &a, .nactions = 1,
				    .error = e };
	int pid = fl_spawn_template_spawn(tfd, &sa, sizeof(sa));
	close(p[1]);
	*out = fl_test_slurp(p[0]);
	*status = pid > 0 ? fl_test_wait(pid) : -1;
	return pid;
}

/* Asked for where the kernel has none: a template spawn is ENOSYS too. */
TEST(native_template_asked_for_without_the_kernel_is_enosys)
{
	if (kernel_has_builder())
		SKIP("this kernel has the process builder");
	char *argv[] = { "echo", "hi", NULL }, *out;
	struct fl_error e = { 0, 0, 0 };
	int st, tfd = template_native("true", "/bin/echo");
	ASSERT_GE(tfd, 0);
	ASSERT_EQ(run_template(tfd, argv, &out, &st, &e), -ENOSYS);
	ASSERT_EQ(e.stage, FL_STAGE_CONFIG);
	free(out);
	close(tfd);
	tfd = template_native("auto", "/bin/echo");
	ASSERT_GT(run_template(tfd, argv, &out, &st, &e), 0);
	ASSERT_STREQ(out, "hi\n");
	free(out);
	close(tfd);
}

/* The kernel's templates make template spawns: with clone, clone3, fork
 * and vfork refused, a template spawn works and gives what a user-space
 * one gives (ids, mask, umask, the fds the child has); a replaced file is
 * ESTALE from the kernel's check; a failure leaves no child. */
TEST(native_template_spawn_is_made_by_the_kernel)
{
	if (!kernel_has_builder())
		SKIP("this kernel has no spawn templates (the forkless test kernel has: make kernel-check)");
	if (fl_test_valgrind())
		SKIP("no seccomp filters under valgrind");
	/* builtins only: the filter, inherited, refuses the shell's forks */
	char *argv[] = { "sh", "-c",
			 "echo $0 $PPID; umask; for f in /proc/self/fd/*; do echo $f; done; "
			 "while read k v; do case $k in Sig*) echo $k $v;; esac; done </proc/self/status",
			 NULL },
	     *out, *user;
	struct fl_error e = { 0, 0, 0 };
	int st, ust;
	char sh[4200];
	snprintf(sh, sizeof(sh), "%s/native-sh", fl_test_tmpdir());
	copy_exe("/bin/sh", sh);
	int utfd = template_native("false", sh);
	int tfd = template_native("true", sh);
	ASSERT_GE(utfd, 0);
	ASSERT_GE(tfd, 0);
	int extra = dup(2); /* without FD_CLOEXEC: neither child has it */
	ASSERT_GE(extra, 3);
	ASSERT_GT(run_template(utfd, argv, &user, &ust, &e), 0);
	struct fl_sc_rule r[] = { { SYS_clone, EPERM, 0, 0 }, { SYS_clone3, EPERM, 0, 0 },
				  { SYS_fork, EPERM, 0, 0 }, { SYS_vfork, EPERM, 0, 0 } };
	fl_sc_install(r, 4);
	ASSERT_GT(run_template(tfd, argv, &out, &st, &e), 0);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, user);
	free(out);
	free(user);
	ASSERT_EQ(unlink(sh), 0);
	ASSERT_EQ(run_template(tfd, argv, &out, &st, &e), -ESTALE);
	ASSERT_EQ(e.stage, FL_STAGE_TEMPLATE);
	ASSERT_EQ(e.index, FL_TCHECK_IDENTITY);
	free(out);
	ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0);
	close(extra);
	close(tfd);
	close(utfd);
}

/* A filter that refuses the kernel's run calls (EPERM, as a container's
 * default profile answers numbers it does not know): a spawn left to the
 * library's choice runs in user space, one that asked for the kernel gets
 * ENOSYS, as where there is none; a template's spawns too. */
TEST(native_refused_by_a_filter_falls_back_to_user_space)
{
	if (!kernel_has_builder())
		SKIP("this kernel has no process builder (the forkless test kernel has: make kernel-check)");
	if (fl_test_valgrind())
		SKIP("no seccomp filters under valgrind");
	char *argv[] = { "echo", "hi", NULL }, *out;
	struct fl_error e = { 0, 0, 0 };
	int st, tfd = template_native("auto", "/bin/echo");
	ASSERT_GE(tfd, 0);
	struct fl_sc_rule r[] = { { 1001, EPERM, 0, 0 }, { 1003, EPERM, 0, 0 } };
	fl_sc_install(r, 2);
	ASSERT_GT(run_template(tfd, argv, &out, &st, &e), 0); /* first: the template's refusal */
	ASSERT_STREQ(out, "hi\n");
	free(out);
	ASSERT_GT(run_native("auto", "/bin/echo", argv, &out, &st, &e), 0);
	ASSERT_STREQ(out, "hi\n");
	free(out);
	ASSERT_EQ(run_native("true", "/bin/echo", argv, &out, &st, &e), -ENOSYS);
	ASSERT_EQ(e.stage, FL_STAGE_CONFIG);
	free(out);
	ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0);
	close(tfd);
}
