/* SPDX-License-Identifier: MIT */
/*
 * test_rfc.c - the RFC compatibility header <forkless_spawn_template.h>.
 *
 * A program written against the spawn-template RFC's UAPI
 * (tests/rfc_example.c) builds unchanged with the header and the static
 * library, and runs.  The source tree is the parent of the build directory.
 * The compiler runs through fl_spawn() like everything else here; a
 * sanitizer build (whose runtime is mapped into this process) compiles the
 * example with the same sanitizer so that it links against that build's
 * libforkless.a.
 *
 * The other tests call the header's functions directly: argument checks with
 * the RFC's errno values and syscall conventions, and the RFC's fd rules
 * that the translation adds to forkless's actions.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "forkless_spawn_template.h"
#include "harness.h"

TEST_TIMEOUT(rfc_uapi_program_builds_and_runs, 120)
{
	char example[4200], lib[4200], exe[4200], hdr[4200];
	const char *src = fl_test_source_tree();
	struct stat st;

	snprintf(example, sizeof(example), "%s/tests/rfc_example.c", src);
	snprintf(hdr, sizeof(hdr), "%s/include/forkless_spawn_template.h", src);
	snprintf(lib, sizeof(lib), "%s/libforkless.a", fl_test_builddir());
	snprintf(exe, sizeof(exe), "%s/rfc_example", fl_test_tmpdir());
	if (stat(example, &st) < 0 || stat(hdr, &st) < 0)
		SKIP("tests/rfc_example.c or the header is not in the parent of the build directory");
	if (stat(lib, &st) < 0)
		SKIP("no libforkless.a in the build directory");
	fl_test_compile(example, exe);

	char *run_argv[] = { exe, (char *)fl_test_tmpdir(), NULL }, *out = NULL;
	int st_run = fl_test_run_capture(exe, run_argv, &out);
	ASSERT_GE(st_run, 0);
	if (!WIFEXITED(st_run) || WEXITSTATUS(st_run) != 0 || strcmp(out, "rfc example ok\n"))
		fl_test_fail(__FILE__, __LINE__, "rfc_example (status %#x) said:\n%s", st_run, out);
	free(out);
}

/* ---- the header's functions ------------------------------------------- */

/* Print, for each fd argument, "N:open" or "N:closed" (and ":cloexec"). */
HELPER(rfc_fds)
{
	for (int i = 1; i < argc; i++) {
		int fd = atoi(argv[i]), fl = fcntl(fd, F_GETFD);
		printf("%d:%s%s\n", fd, fl < 0 ? "closed" : "open",
		       fl >= 0 && (fl & FD_CLOEXEC) ? ":cloexec" : "");
	}
	return 0;
}

/* Print the number of environment entries and of arguments. */
HELPER(rfc_env)
{
	extern char **environ;
	int n = 0;

	(void)argv;
	while (environ[n])
		n++;
	printf("env %d argc %d\n", n, argc);
	return 0;
}

static int rfc_template(const char *path)
{
	struct spawn_template_create_args c = { .flags = SPAWN_TEMPLATE_CREATE_CLOEXEC,
						.execfd = -1, .filename = (uintptr_t)path };
	int t = spawn_template_create(&c, sizeof(c));
	ASSERT_GE(t, 0);
	return t;
}

/* Spawn with stdout into a pipe (action 0, added here); wait; the output. */
static char *rfc_run(int t, char *const argv[], char *const envp[],
		     const struct spawn_template_action *actions, size_t n, uint64_t flags)
{
	struct spawn_template_action all[8] = { { .type = SPAWN_TEMPLATE_ACTION_DUP2, .newfd = 1 } };
	int p[2], pidfd = -1, st = -1;

	ASSERT_LE(n, 7);
	if (n)
		memcpy(all + 1, actions, n * sizeof(*actions));
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	all[0].fd = p[1];
	struct spawn_template_spawn_args a = { .flags = flags, .pidfd = (uintptr_t)&pidfd,
					       .argv = (uintptr_t)argv, .envp = (uintptr_t)envp,
					       .actions = (uintptr_t)all, .actions_len = n + 1 };
	int pid = spawn_template_spawn(t, &a, sizeof(a));
	close(p[1]);
	if (pid < 0)
		close(p[0]);
	ASSERT_GT(pid, 0);
	char *out = fl_test_slurp(p[0]);
	ASSERT_EQ(fl_pidfd_wait(pidfd, &st, 0), pid);
	close(pidfd);
	ASSERT_EQ(st, 0);
	return out;
}

TEST(rfc_structs_have_the_rfc_layout)
{
	ASSERT_EQ(sizeof(struct spawn_template_create_args), 72);
	ASSERT_EQ(sizeof(struct spawn_template_spawn_args), 80);
	ASSERT_EQ(sizeof(struct spawn_template_action), 24);
	ASSERT_EQ(sizeof(struct spawn_template_open), 32);
	ASSERT_EQ(offsetof(struct spawn_template_create_args, filename), 16);
	ASSERT_EQ(offsetof(struct spawn_template_create_args, reserved), 40);
	ASSERT_EQ(offsetof(struct spawn_template_spawn_args, actions_len), 40);
	ASSERT_EQ(offsetof(struct spawn_template_action, arg), 16);
	ASSERT_EQ(offsetof(struct spawn_template_open, how), 8);
	ASSERT_EQ(SPAWN_TEMPLATE_ACTION_CLOSE, 0);
	ASSERT_EQ(SPAWN_TEMPLATE_ACTION_SIGDEFAULT, 6);
}

TEST(rfc_calls_check_arguments_as_the_kernel_does)
{
	char *argv[] = { "true", NULL };
	unsigned char big[4200] = { 0 };
	struct spawn_template_create_args c = { .execfd = -1, .filename = (uintptr_t)"/bin/true" };
	int pidfd = -1;

	/* create: sizes, flags, reserved fields, execfd xor filename */
	errno = 0;
	ASSERT_EQ(spawn_template_create(&c, 71), -1);
	ASSERT_EQ(errno, EINVAL);
	memcpy(big, &c, sizeof(c));
	ASSERT_EQ(spawn_template_create((struct spawn_template_create_args *)big, 4097), -1);
	ASSERT_EQ(errno, E2BIG);
	big[100] = 1;
	ASSERT_EQ(spawn_template_create((struct spawn_template_create_args *)big, 101), -1);
	ASSERT_EQ(errno, E2BIG);
	ASSERT_EQ(spawn_template_create(NULL, sizeof(c)), -1);
	ASSERT_EQ(errno, EFAULT);
	c.flags = 2;
	ASSERT_EQ(spawn_template_create(&c, sizeof(c)), -1);
	ASSERT_EQ(errno, EINVAL);
	c.flags = 0;
	c.actions_len = 1;
	ASSERT_EQ(spawn_template_create(&c, sizeof(c)), -1);
	ASSERT_EQ(errno, EINVAL);
	c.actions_len = 0;
	c.execfd = 0;
	ASSERT_EQ(spawn_template_create(&c, sizeof(c)), -1);
	ASSERT_EQ(errno, EINVAL);
	c.execfd = -1;
	c.filename = 0;
	ASSERT_EQ(spawn_template_create(&c, sizeof(c)), -1);
	ASSERT_EQ(errno, EINVAL);

	/* a larger size with zero bytes is accepted; errno is left alone */
	c.filename = (uintptr_t)"/bin/true";
	memset(big, 0, sizeof(big));
	memcpy(big, &c, sizeof(c));
	errno = 1234;
	int t = spawn_template_create((struct spawn_template_create_args *)big, 200);
	ASSERT_GE(t, 0);
	ASSERT_EQ(errno, 1234);
	ASSERT_EQ(fcntl(t, F_GETFD) & FD_CLOEXEC, 0); /* no SPAWN_TEMPLATE_CREATE_CLOEXEC */

	/* spawn: flags, pidfd, reserved, action count and records, sigset size */
	struct spawn_template_action act[257];
	memset(act, 0, sizeof(act));
	struct spawn_template_spawn_args s = { .pidfd = (uintptr_t)&pidfd, .argv = (uintptr_t)argv,
					       .actions = (uintptr_t)act };
	s.flags = 2;
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	s.flags = 0;
	s.reserved[3] = 1;
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	s.reserved[3] = 0;
	ASSERT_EQ(spawn_template_spawn(t, &s, 79), -1);
	ASSERT_EQ(errno, EINVAL);
	s.actions_len = 257;
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, E2BIG);
	s.actions_len = 1;
	act[0] = (struct spawn_template_action){ .type = SPAWN_TEMPLATE_ACTION_CLOSE, .fd = 0,
						 .newfd = 1 };
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	act[0] = (struct spawn_template_action){ .type = 7 };
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	act[0] = (struct spawn_template_action){ .type = SPAWN_TEMPLATE_ACTION_CLOSE_RANGE,
						 .fd = 5, .newfd = 4 };
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	uint64_t set = 0;
	struct spawn_template_sigset ss = { .sigset = (uintptr_t)&set, .sigsetsize = 128 };
	act[0] = (struct spawn_template_action){ .type = SPAWN_TEMPLATE_ACTION_SIGMASK,
						 .arg = (uintptr_t)&ss };
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	s.actions_len = 0;
	s.pidfd = 0;
	ASSERT_EQ(spawn_template_spawn(t, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(pidfd, -1); /* untouched on failure */

	/* forkless's own errors come back as errno */
	s.pidfd = (uintptr_t)&pidfd;
	ASSERT_EQ(spawn_template_spawn(-1, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EBADF);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_EQ(spawn_template_spawn(devnull, &s, sizeof(s)), -1);
	ASSERT_EQ(errno, EINVAL);
	close(devnull);

	/* and a good spawn returns the pid, with a pidfd */
	errno = 1234;
	int pid = spawn_template_spawn(t, &s, sizeof(s));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(errno, 1234);
	int st = -1;
	ASSERT_EQ(fl_pidfd_wait(pidfd, &st, 0), pid);
	ASSERT_EQ(st, 0);
	close(pidfd);
	close(t);
}

TEST(rfc_null_envp_is_an_empty_environment)
{
	int t = rfc_template(fl_test_exe);
	char *out = rfc_run(t, fl_test_helper_argv("rfc_env", NULL), NULL, NULL, 0, 0);
	ASSERT_STREQ(out, "env 0 argc 1\n");
	free(out);
	close(t);
}

/*
 * Without SPAWN_TEMPLATE_SPAWN_INHERIT_FDS every fd above 2 is closed, the
 * targets of DUP2 and OPEN too; with it, DUP2 and OPEN with O_CLOEXEC, and a
 * DUP2 of an fd onto itself that is close-on-exec, leave the fd closed.
 */
TEST(rfc_fd_rules)
{
	int t = rfc_template(fl_test_exe);
	int keep = open("/dev/null", O_RDONLY);           /* not close-on-exec */
	int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char a_keep[16], a_cloexec[16];
	snprintf(a_keep, sizeof(a_keep), "%d", keep);
	snprintf(a_cloexec, sizeof(a_cloexec), "%d", cloexec);
	struct spawn_template_open o = { .path = (uintptr_t)"/dev/null",
					 .how = { .flags = O_RDONLY | O_CLOEXEC } };
	struct spawn_template_action acts[] = {
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = keep, .newfd = 20 },
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = keep, .newfd = 21, .flags = O_CLOEXEC },
		{ .type = SPAWN_TEMPLATE_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 22,
		  .arg = (uintptr_t)&o },
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = cloexec, .newfd = cloexec },
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = keep, .newfd = keep },
	};
	char *args[] = { a_keep, a_cloexec, "20", "21", "22", NULL };
	char want[256];

	char *out = rfc_run(t, fl_test_helper_argv("rfc_fds", args), NULL, acts, 5, 0);
	snprintf(want, sizeof(want), "%d:closed\n%d:closed\n20:closed\n21:closed\n22:closed\n",
		 keep, cloexec);
	ASSERT_STREQ(out, want);
	free(out);

	out = rfc_run(t, fl_test_helper_argv("rfc_fds", args), NULL, acts, 5,
		      SPAWN_TEMPLATE_SPAWN_INHERIT_FDS);
	snprintf(want, sizeof(want), "%d:open\n%d:closed\n20:open\n21:closed\n22:closed\n",
		 keep, cloexec);
	ASSERT_STREQ(out, want);
	free(out);
	close(keep);
	close(cloexec);
	close(t);
}

/* forkless's own create flag: a warm template through the RFC's calls. */
TEST(rfc_create_warm_flag_makes_a_warm_template)
{
	if (sizeof(void *) == 4)
		SKIP("the programs here are 64-bit");
	struct spawn_template_create_args c = {
		.flags = SPAWN_TEMPLATE_CREATE_CLOEXEC | SPAWN_TEMPLATE_CREATE_WARM,
		.execfd = -1, .filename = (uintptr_t)"/bin/echo" };
	int t = spawn_template_create(&c, sizeof(c));
	ASSERT_GE(t, 0);
	ASSERT_EQ(fl_spawn_template_warm(t), FL_WARM_YES);
	char *argv[] = { "echo", "hi", NULL };
	char *out = rfc_run(t, argv, environ, NULL, 0, 0);
	ASSERT_STREQ(out, "hi\n");
	free(out);
	ASSERT_EQ(fl_spawn_template_destroy(t), 0);
}
