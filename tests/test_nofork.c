/* SPDX-License-Identifier: MIT */
/*
 * test_nofork.c - no front end and no launcher ever forks the caller.
 *
 * Each test installs a seccomp filter on the test process and then runs
 * every front end: fl_spawn, the builder, a template (alone and as the
 * builder's "template" key), fl_posix_spawn[p] and fl_pidfd_spawn[p],
 * glibc's posix_spawn[p] and pidfd_spawn in a process that has the
 * LD_PRELOAD shim loaded, the forkless(1) tool, and embryos (synchronous,
 * FL_SPAWN_ASYNC, and from a reserve, whose nursery clones the spares).
 * fork(2), vfork(2) and clone(2) without CLONE_VM kill the process
 * (SIGSYS: a child of ours dies, or the test itself).  clone3's flags are
 * not visible to seccomp: one test refuses clone3, so that every creation
 * goes through clone(); the other lets clone3 through to a supervisor that
 * reads its clone_args and refuses (and counts) one without CLONE_VM.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"
#include "seccomp.h"

extern char **environ;

static char true_path[4200];
static char *true_argv[] = { "true", NULL };

static void exited_0(int st, const char *who)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fl_test_fail(__FILE__, __LINE__, "%s: status %#x%s", who, st,
			     WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS ? " (SIGSYS: it forked)" : "");
}

static void reap_ok(pid_t pid, const char *who)
{
	if (pid <= 0)
		fl_test_fail(__FILE__, __LINE__, "%s: %d (%s)", who, pid, strerror(-pid));
	exited_0(fl_test_wait(pid), who);
}

static void wait_fd_ok(int fd, int pid, const char *who)
{
	int st;
	if (pid <= 0)
		fl_test_fail(__FILE__, __LINE__, "%s: %d (%s)", who, pid, strerror(-pid));
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
	exited_0(st, who);
}

static void run_fl_spawn(void)
{
	struct fl_error e;
	reap_ok(fl_spawn(true_path, true_argv, NULL, NULL, 0, &e), "fl_spawn");
	ASSERT_ERR(fl_spawn("/nonexistent", true_argv, NULL, NULL, 0, &e), e, -ENOENT,
		   FL_STAGE_EXEC);
}

static void run_builder(void)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_set_setsid(fd), 0);
	ASSERT_EQ(fl_pidfd_set_umask(fd, 077), 0);
	struct fl_spawn_args a = { .path = true_path, .argv = true_argv };
	wait_fd_ok(fd, fl_pidfd_spawn_run(fd, &a, sizeof(a)), "builder");
}

static void run_template(void)
{
	struct fl_template_args ta = { .execfd = -1, .filename = true_path, .config_fd = -1 };
	int tfd = fl_spawn_template_create(&ta, sizeof(ta)), pidfd = -1;
	ASSERT_GE(tfd, 0);
	struct fl_spawn_args a = { .argv = true_argv, .pidfd = &pidfd };
	int pid = fl_spawn_template_spawn(tfd, &a, sizeof(a));
	wait_fd_ok(pidfd, pid, "template");
	/* a template as a builder's default */
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FD, "template", NULL, tfd), 0);
	struct fl_spawn_args b = { .argv = true_argv };
	wait_fd_ok(fd, fl_pidfd_spawn_run(fd, &b, sizeof(b)), "builder with template");
	close(tfd);
}

static void run_posix(void)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid = -1;
	int pidfd = -1, st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	ASSERT_EQ(fl_posix_spawn(&pid, true_path, &fa, &at, true_argv, environ), 0);
	reap_ok(pid, "fl_posix_spawn");
	ASSERT_EQ(fl_posix_spawnp(&pid, "true", &fa, NULL, true_argv, environ), 0);
	reap_ok(pid, "fl_posix_spawnp");
	ASSERT_EQ(fl_pidfd_spawn(&pidfd, true_path, NULL, &at, true_argv, environ), 0);
	ASSERT_GT(fl_pidfd_wait(pidfd, &st, 0), 0);
	close(pidfd);
	exited_0(st, "fl_pidfd_spawn");
	ASSERT_EQ(fl_pidfd_spawnp(&pidfd, "true", &fa, NULL, true_argv, environ), 0);
	ASSERT_GT(fl_pidfd_wait(pidfd, &st, 0), 0);
	close(pidfd);
	exited_0(st, "fl_pidfd_spawnp");
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
}

/* The shim in a process of its own: the test binary under LD_PRELOAD. */
HELPER(nofork_shim)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "posix_spawn");
	int (*pidfd_spawn_fn)(int *, const char *, const posix_spawn_file_actions_t *,
			      const posix_spawnattr_t *, char *const[], char *const[]);
	pid_t pid;
	int pidfd, st;

	if (!sym || !dladdr(sym, &info) || !strstr(info.dli_fname, "libforkless-preload")) {
		printf("posix_spawn is not the shim's\n");
		return 3;
	}
	if (posix_spawn(&pid, argv[1], NULL, NULL, true_argv, environ) ||
	    waitpid(pid, &st, 0) != pid || st)
		return 4;
	if (posix_spawnp(&pid, "true", NULL, NULL, true_argv, environ) ||
	    waitpid(pid, &st, 0) != pid || st)
		return 5;
	*(void **)&pidfd_spawn_fn = dlsym(RTLD_DEFAULT, "pidfd_spawn");
	if (!pidfd_spawn_fn || pidfd_spawn_fn(&pidfd, argv[1], NULL, NULL, true_argv, environ) ||
	    fl_pidfd_wait(pidfd, &st, 0) <= 0 || st)
		return 6;
	close(pidfd);
	printf("ok\n");
	return 0;
}

static void run_shim(void)
{
	char pre[4300], *envp[512];
	size_t n = 0;
	int p[2];

	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s/libforkless-preload.so", fl_test_builddir());
	for (char **v = environ; *v && n < 500; v++)
		if (strncmp(*v, "LD_PRELOAD=", 11) && strncmp(*v, "ASAN_OPTIONS=", 13))
			envp[n++] = *v;
	envp[n++] = pre;
	envp[n++] = "ASAN_OPTIONS=verify_asan_link_order=0";
	envp[n] = NULL;
	char *args[] = { true_path, NULL };
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	pid_t pid = fl_spawn(fl_test_exe, fl_test_helper_argv("nofork_shim", args), envp, &a, 1,
			     NULL);
	close(p[1]);
	ASSERT_GT(pid, 0);
	char *out = fl_test_slurp(p[0]);
	exited_0(fl_test_wait(pid), "the shim's posix_spawn, posix_spawnp, pidfd_spawn");
	ASSERT_STREQ(out, "ok\n");
	free(out);
}

static void run_tool(void)
{
	char tool[4200];
	snprintf(tool, sizeof(tool), "%s/forkless", fl_test_builddir());
	char *args[] = { "forkless", "run", "--", true_path, NULL };
	reap_ok(fl_spawn(tool, args, NULL, NULL, 0, NULL), "forkless run");
}

static void run_embryos(void)
{
	struct fl_error e;

	for (int round = 0; round < 2; round++) {
		if (round == 1)
			ASSERT_EQ(fl_embryo_reserve(2, 0), 0); /* the nursery clones the spares */
		for (int async = 0; async < 2; async++) {
			int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
			ASSERT_GE(fd, 0);
			struct fl_spawn_args a = { .flags = async ? FL_SPAWN_ASYNC : 0,
						   .path = true_path, .argv = true_argv,
						   .error = &e };
			wait_fd_ok(fd, fl_pidfd_spawn_run(fd, &a, sizeof(a)),
				   async ? "embryo, async" : "embryo");
		}
	}
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
}

static void every_front_end(void)
{
	snprintf(true_path, sizeof(true_path), "%s/true-static", fl_test_builddir());
	run_fl_spawn();
	run_builder();
	run_template();
	run_posix();
	run_shim();
	run_tool();
	run_embryos(); /* in the server: under valgrind too */
}

TEST_TIMEOUT(no_front_end_forks_clone3_refused, 60)
{
	fl_sc_kill_on_fork();
	every_front_end();
}

TEST_TIMEOUT(no_front_end_forks_clone3_watched, 60)
{
	struct fl_sc_clone3_log log;

	fl_sc_clone3_watch(&log);
	every_front_end();
	fl_sc_supervisor_close();
	ASSERT_EQ(log.without_vm, 0);
	ASSERT_GT(log.calls, 10); /* clone3 was used, not refused */
}
