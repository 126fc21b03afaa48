/* SPDX-License-Identifier: MIT */
/*
 * test_errno.c - no exported function changes errno: each is called on a
 * path that succeeds and on one that fails inside a libc call (open, stat,
 * NSS, a refused syscall), with errno set to a sentinel first.  The list of
 * exports in src/libforkless.map is the checklist: a new export without a
 * check here fails the test.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

#define SENTINEL 12345

static char checked[64][64];
static int nchecked, ncalls, nchanged;

static void mark(const char *call)
{
	char name[64];
	size_t n = strcspn(call, "( ");

	snprintf(name, sizeof(name), "%.*s", (int)n, call);
	for (int i = 0; i < nchecked; i++)
		if (!strcmp(checked[i], name))
			return;
	if (nchecked < 64)
		snprintf(checked[nchecked++], sizeof(checked[0]), "%s", name);
}

/* The value of call, which must leave errno as it found it (counted and
 * reported here; the test fails at its end, after every call was tried). */
#define KEEP(call)                                                            \
	({                                                                    \
		errno = SENTINEL;                                             \
		__typeof__(call) r_ = (call);                                 \
		int e_ = errno;                                               \
		ncalls++;                                                     \
		if (e_ != SENTINEL) {                                         \
			nchanged++;                                           \
			fprintf(stderr, "# %s:%d: %s changed errno to %d (%s)\n", \
				__FILE__, __LINE__, #call, e_, strerror(e_)); \
		}                                                             \
		mark(#call);                                                  \
		r_;                                                           \
	})

static char *const true_argv[] = { "true", NULL };
static char *const empty_env[] = { NULL };

static void builder_calls(void)
{
	struct fl_spawn_args a = { .argv = true_argv };
	struct rlimit rl = { 64, 64 };
	int st;

	ASSERT_EQ(KEEP(fl_pidfd_open(-1, 0)), -EINVAL);
	ASSERT_EQ(KEEP(fl_pidfd_open(0x7ffffff0, 0)), -ESRCH); /* pidfd_open(2) fails */
	int fd = KEEP(fl_pidfd_open(0, FL_PIDFD_EMPTY));
	ASSERT_GE(fd, 0);

	ASSERT_EQ(KEEP(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "path", "/bin/true", 0)), 0);
	ASSERT_EQ(KEEP(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "uid", "no-such-user-fl", 0)),
		  -EINVAL); /* an NSS lookup that finds nothing */
	ASSERT_EQ(KEEP(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "cgroup", "/nonexistent", 0)),
		  -ENOENT);
	int pipefd[2];
	ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
	ASSERT_EQ(KEEP(fl_pidfd_config(fd, FL_CONFIG_SET_FD, "ctty", NULL, pipefd[0])), -ENOTTY);
	close(pipefd[0]);
	close(pipefd[1]);
	ASSERT_EQ(KEEP(fl_pidfd_config(12345, FL_CONFIG_SET_STRING, "cwd", "/", 0)), -EBADF);
	ASSERT_EQ(KEEP(fl_pidfd_set_rlimit(fd, RLIMIT_NOFILE, &rl)), 0);
	ASSERT_EQ(KEEP(fl_pidfd_set_rlimit(fd, 999, &rl)), -EINVAL);

	ASSERT_EQ(KEEP(fl_pidfd_kill(fd, 0)), -ESRCH); /* not started */
	ASSERT_EQ(KEEP(fl_pidfd_spawn_result(fd, NULL)), -EINVAL); /* not an async run */
	pid_t pid = KEEP(fl_pidfd_spawn_run(fd, &a, sizeof(a)));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(KEEP(fl_pidfd_kill(fd, 0)), 0);
	ASSERT_EQ(KEEP(fl_pidfd_wait(fd, &st, 0)), pid);
	ASSERT_EQ(st, 0);
	ASSERT_EQ(KEEP(fl_pidfd_wait(fd, &st, 0)), -ECHILD); /* reaped */
	ASSERT_EQ(KEEP(fl_pidfd_spawn_run(fd, &a, sizeof(a))), -EBUSY);
	close(fd);
	ASSERT_EQ(KEEP(fl_pidfd_wait(12345, NULL, 0)), -EBADF);
	ASSERT_EQ(KEEP(fl_pidfd_kill(0, 0)), -EBADF);

	/* a run that fails in the child (exec: ENOENT) */
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	struct fl_spawn_args bad = { .path = "/nonexistent/x", .argv = true_argv };
	ASSERT_EQ(KEEP(fl_pidfd_spawn_run(fd, &bad, sizeof(bad))), -ENOENT);
	close(fd);
}

static void one_call(void)
{
	struct fl_error e;
	char buf[128];

	pid_t pid = KEEP(fl_spawn("true", true_argv, NULL, NULL, 0, &e)); /* PATH search */
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	ASSERT_EQ(KEEP(fl_spawn("no-such-program-fl", true_argv, NULL, NULL, 0, &e)), -ENOENT);
	ASSERT_STREQ(KEEP(fl_strstage(FL_STAGE_EXEC)), "exec");
	ASSERT_STREQ(KEEP(fl_strstage(-1)), "unknown");
	e = (struct fl_error){ ENOENT, FL_STAGE_EXEC, -1 };
	ASSERT_TRUE(KEEP(fl_strerror_r(&e, buf, sizeof(buf))) == buf);
	e = (struct fl_error){ 99999, FL_STAGE_ACTION, 3 }; /* no such errno */
	ASSERT_TRUE(KEEP(fl_strerror_r(&e, buf, sizeof(buf))) == buf);
}

static void template_calls(void)
{
	struct fl_error e;
	struct fl_template_args t = { .execfd = -1, .filename = "/nonexistent/x",
				      .config_fd = -1, .error = &e };

	ASSERT_EQ(KEEP(fl_spawn_template_create(&t, sizeof(t))), -ENOENT);
	t.filename = "/bin/true";
	int tfd = KEEP(fl_spawn_template_create(&t, sizeof(t)));
	ASSERT_GE(tfd, 0);
	struct fl_spawn_args a = { .argv = true_argv, .envp = empty_env };
	pid_t pid = KEEP(fl_spawn_template_spawn(tfd, &a, sizeof(a)));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	ASSERT_EQ(KEEP(fl_spawn_template_spawn(0, &a, sizeof(a))), -EINVAL); /* not a template */
	ASSERT_EQ(KEEP(fl_spawn_template_warm(tfd)), FL_WARM_NOT_ASKED);
	ASSERT_EQ(KEEP(fl_spawn_template_warm(12345)), -EBADF);
	ASSERT_STREQ(KEEP(fl_strwarm(FL_WARM_YES)), "warm");
	ASSERT_EQ(KEEP(fl_spawn_template_destroy(tfd)), 0);
	ASSERT_EQ(KEEP(fl_spawn_template_destroy(tfd)), -EBADF);
	/* a warm one: its server started, used and ended (the programs here
	 * are 64-bit: not in a 32-bit build) */
	if (sizeof(void *) == 4)
		return;
	t.flags = FL_TEMPLATE_WARM;
	tfd = KEEP(fl_spawn_template_create(&t, sizeof(t)));
	ASSERT_GE(tfd, 0);
	ASSERT_EQ(KEEP(fl_spawn_template_warm(tfd)), FL_WARM_YES);
	pid = KEEP(fl_spawn_template_spawn(tfd, &a, sizeof(a)));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	ASSERT_EQ(KEEP(fl_spawn_template_destroy(tfd)), 0);
}

static void posix_calls(void)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid = 0;
	int pidfd = -1, cg = -1;

	ASSERT_EQ(KEEP(fl_posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, empty_env)), 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	ASSERT_EQ(KEEP(fl_posix_spawn(&pid, "/nonexistent/x", NULL, NULL, true_argv, empty_env)),
		  ENOENT);
	ASSERT_EQ(KEEP(fl_posix_spawnp(&pid, "true", NULL, NULL, true_argv, empty_env)), 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	ASSERT_EQ(KEEP(fl_posix_spawnp(&pid, "no-such-program-fl", NULL, NULL, true_argv,
				       empty_env)), ENOENT);
	ASSERT_EQ(KEEP(fl_pidfd_spawn(&pidfd, "/bin/true", NULL, NULL, true_argv, empty_env)), 0);
	ASSERT_EQ(KEEP(fl_pidfd_wait(pidfd, NULL, 0)) > 0, 1);
	close(pidfd);
	ASSERT_EQ(KEEP(fl_pidfd_spawn(&pidfd, "/nonexistent/x", NULL, NULL, true_argv, empty_env)),
		  ENOENT);
	ASSERT_EQ(KEEP(fl_pidfd_spawnp(&pidfd, "true", NULL, NULL, true_argv, empty_env)), 0);
	ASSERT_EQ(fl_pidfd_wait(pidfd, NULL, 0) > 0, 1);
	close(pidfd);
	ASSERT_EQ(KEEP(fl_pidfd_spawnp(&pidfd, "no-such-program-fl", NULL, NULL, true_argv,
				       empty_env)), ENOENT);

	ASSERT_EQ(posix_spawnattr_init(&at), 0);
	ASSERT_EQ(KEEP(fl_posix_spawnattr_setflags(&at, 0x4000)), EINVAL);
	ASSERT_EQ(KEEP(fl_posix_spawnattr_setflags(&at, FL_POSIX_SPAWN_SETCGROUP)), 0);
	ASSERT_EQ(KEEP(fl_posix_spawnattr_setcgroup_np(&at, 12345)), 0);
	ASSERT_EQ(KEEP(fl_posix_spawnattr_getcgroup_np(&at, &cg)), 0);
	ASSERT_EQ(cg, 12345);
	/* the cgroup fd is not open: the spawn fails (fcntl's EBADF) */
	ASSERT_EQ(KEEP(fl_posix_spawn(&pid, "/bin/true", NULL, &at, true_argv, empty_env)), EBADF);
	posix_spawnattr_destroy(&at);

	ASSERT_EQ(posix_spawn_file_actions_init(&fa), 0);
	ASSERT_EQ(KEEP(fl_posix_spawn_file_actions_addchdir(&fa, "/")), 0);
	ASSERT_EQ(KEEP(fl_posix_spawn_file_actions_addfchdir(&fa, -1)), EBADF);
	ASSERT_EQ(KEEP(fl_posix_spawn_file_actions_addfchdir(&fa, 0)), 0);
	posix_spawn_file_actions_destroy(&fa);
}

static void embryo_calls(void)
{
	ASSERT_EQ(KEEP(fl_embryo_reserve(1, 1)), -EINVAL);
	ASSERT_EQ(KEEP(fl_embryo_reserve(1, 0)), 0);
	int fd = KEEP(fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO));
	ASSERT_GE(fd, 0);
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = "/bin/true",
				   .argv = true_argv, .envp = empty_env };
	pid_t pid = KEEP(fl_pidfd_spawn_run(fd, &a, sizeof(a)));
	ASSERT_GT(pid, 0);
	int r;
	while ((r = KEEP(fl_pidfd_spawn_result(fd, NULL))) == -EINPROGRESS)
		usleep(100);
	ASSERT_EQ(r, pid);
	ASSERT_EQ(fl_pidfd_wait(fd, NULL, 0), pid);
	close(fd);
	ASSERT_EQ(KEEP(fl_embryo_reserve(0, 0)), 0);
	ASSERT_EQ(KEEP(fl_server_release(1)), -EINVAL);
	ASSERT_EQ(KEEP(fl_server_release(0)), 0);
}

/* Every name in the global list of the version script was called here. */
static void check_checklist(void)
{
	char path[4200], line[256];
	int in_global = 0, missing = 0;

	snprintf(path, sizeof(path), "%s/src/libforkless.map", fl_test_source_tree());
	FILE *f = fopen(path, "re");
	if (!f)
		SKIP("no src/libforkless.map");
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		if (strstr(line, "global:"))
			in_global = 1;
		else if (strchr(line, '}'))
			in_global = 0; /* the end of a version's block */
		else if (strstr(line, "local:"))
			in_global = 0;
		else if (in_global && sscanf(line, " %127[A-Za-z0-9_];", name) == 1) {
			int found = 0;
			for (int i = 0; i < nchecked; i++)
				found |= !strcmp(checked[i], name);
			if (!found) {
				fprintf(stderr, "# not checked: %s\n", name);
				missing++;
			}
		}
	}
	fclose(f);
	ASSERT_EQ(missing, 0);
	ASSERT_GE(nchecked, 22);
}

static void check_unchanged(void)
{
	if (nchanged)
		fl_test_fail(__FILE__, __LINE__, "%d of %d calls changed errno", nchanged, ncalls);
}

TEST(no_exported_function_changes_errno)
{
	if (fl_test_valgrind())
		SKIP("under valgrind pidfd_open is ENOSYS and the rlimit run is refused");
	builder_calls();
	one_call();
	template_calls();
	posix_calls();
	embryo_calls();
	check_unchanged();
	check_checklist();
}
