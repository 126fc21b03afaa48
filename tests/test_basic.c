/* SPDX-License-Identifier: MIT */
/*
 * test_basic.c - the builder's life cycle and the handle's semantics.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
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
	struct fl_spawn_args a = { 0 };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	int st = 0;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 42);
	close(fd);
}

static int start_exit_helper(int fd, const char *code)
{
	char *args[] = { (char *)code, NULL };
	struct fl_spawn_args a = { .path = fl_test_exe,
				   .argv = fl_test_helper_argv("exit", args) };
	return fl_pidfd_spawn_run(fd, &a, sizeof(a));
}

TEST(handle_is_cloexec_and_becomes_pidfd_at_same_number)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	int pid = start_exit_helper(fd, "3");
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* poll() on the handle reports the exit */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ASSERT_EQ(poll(&p, 1, 10000), 1);
	/* the fd is a pidfd of that process */
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	int info = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = read(info, buf, sizeof(buf) - 1);
	close(info);
	ASSERT_GT(n, 0);
	buf[n] = 0;
	char want[32];
	snprintf(want, sizeof(want), "Pid:\t%d", pid);
	ASSERT_TRUE(strstr(buf, want) != NULL);
	int st;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(WEXITSTATUS(st), 3);
	close(fd);
}

TEST(kill_before_start_is_esrch_and_signals_nothing)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_kill(fd, SIGKILL), -ESRCH);
	int st = 0;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, WNOHANG), 0);
	/* still usable afterwards */
	int pid = start_exit_helper(fd, "0");
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
}

HELPER(sleep)
{
	sleep(argc > 1 ? (unsigned)atoi(argv[1]) : 30);
	return 0;
}

TEST(kill_started_process)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	struct fl_spawn_args a = { .path = fl_test_exe,
				   .argv = fl_test_helper_argv("sleep", NULL) };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_kill(fd, SIGTERM), 0);
	int st = 0;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGTERM);
	/* reaped: the process is gone */
	ASSERT_EQ(fl_pidfd_kill(fd, SIGTERM), -ESRCH);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), -ECHILD);
	close(fd);
}

TEST(wait_nohang_on_running_process_returns_zero)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	struct fl_spawn_args a = { .path = fl_test_exe,
				   .argv = fl_test_helper_argv("sleep", NULL) };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	int st = -1;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, WNOHANG), 0);
	ASSERT_EQ(st, -1); /* untouched */
	ASSERT_EQ(fl_pidfd_kill(fd, SIGKILL), 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
}

struct waiter {
	int fd, ret, status;
	_Atomic int tid;
};

static void *wait_thread(void *p)
{
	struct waiter *w = p;
	w->tid = (int)syscall(SYS_gettid);
	w->ret = fl_pidfd_wait(w->fd, &w->status, 0);
	return NULL;
}

/* Until the waiter sleeps (in the library's wait: it has nothing else to
 * sleep on), rather than for a fixed time that a busy machine may exceed. */
static void waiter_asleep(struct waiter *w)
{
	char path[80], buf[512], *p;

	for (int i = 0; i < 100000; i++) {
		int tid = w->tid, fd = -1;
		ssize_t n = 0;
		if (tid) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		buf[n > 0 ? n : 0] = 0;
		if ((p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'S')
			return;
		sched_yield();
	}
	fl_test_fail(__FILE__, __LINE__, "the waiter never slept");
}

TEST(wait_on_unstarted_handle_waits_for_start_and_exit)
{
	struct waiter w = { .fd = fl_pidfd_open(0, FL_PIDFD_EMPTY) };
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, wait_thread, &w), 0);
	waiter_asleep(&w); /* blocked on the unstarted handle */
	int pid = start_exit_helper(w.fd, "9");
	ASSERT_GT(pid, 0);
	pthread_join(t, NULL);
	ASSERT_EQ(w.ret, pid);
	ASSERT_EQ(WEXITSTATUS(w.status), 9);
	close(w.fd);
}

TEST(wait_on_handle_whose_run_failed_is_echild)
{
	struct waiter w = { .fd = fl_pidfd_open(0, FL_PIDFD_EMPTY) };
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, wait_thread, &w), 0);
	waiter_asleep(&w);
	char *argv[] = { "x", NULL };
	struct fl_spawn_args a = { .path = "/nonexistent/x", .argv = argv };
	ASSERT_EQ(fl_pidfd_spawn_run(w.fd, &a, sizeof(a)), -ENOENT);
	pthread_join(t, NULL);
	ASSERT_EQ(w.ret, -ECHILD);
	close(w.fd);
}

TEST(config_after_run_and_run_twice_are_ebusy)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	int pid = start_exit_helper(fd, "0");
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_set_cwd(fd, "/"), -EBUSY);
	struct fl_error e;
	struct fl_spawn_args a = { .error = &e };
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), -EBUSY);
	ASSERT_EQ(e.err, EBUSY);
	ASSERT_EQ(e.stage, FL_STAGE_CONFIG);
	int st;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
}

TEST(run_after_failed_run_is_ebusy)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	char *argv[] = { "x", NULL };
	struct fl_spawn_args a = { .path = "/nonexistent", .argv = argv };
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), -ENOENT);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), -EBUSY);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "setsid", NULL, 0), -EBUSY);
	ASSERT_EQ(fl_pidfd_kill(fd, SIGTERM), -ESRCH);
	close(fd);
}

TEST(args_struct_size_rules)
{
	struct big {
		struct fl_spawn_args a;
		char extra[32];
	} b;
	struct fl_error e;
	int st, fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);

	memset(&b, 0, sizeof(b));
	b.a.path = fl_test_exe;
	b.a.argv = fl_test_helper_argv("exit", NULL);
	b.a.error = &e;
	/* too small: -EINVAL, as clone3 has it */
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &b.a, FL_SPAWN_ARGS_SIZE_VER0 - 8), -EINVAL);
	close(fd);
	/* larger with non-zero tail */
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	b.extra[5] = 1;
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &b.a, sizeof(b)), -E2BIG);
	ASSERT_EQ(e.err, E2BIG);
	close(fd);
	/* larger with a zero tail is accepted */
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	b.extra[5] = 0;
	int pid = fl_pidfd_spawn_run(fd, &b.a, sizeof(b));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
	/* NULL args with size 0 runs the configuration alone */
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_set_path(fd, fl_test_exe), 0);
	ASSERT_EQ(fl_pidfd_set_argv(fd, fl_test_helper_argv("exit", NULL)), 0);
	pid = fl_pidfd_spawn_run(fd, NULL, 0);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
}

TEST(calls_on_other_fds)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	ASSERT_EQ(fl_pidfd_config(p[0], FL_CONFIG_SET_FLAG, "setsid", NULL, 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_spawn_run(p[0], NULL, 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_wait(p[0], NULL, 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_kill(p[0], 0), -EBADF);
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(fl_pidfd_config(p[0], FL_CONFIG_SET_FLAG, "setsid", NULL, 0), -EBADF);
	ASSERT_EQ(fl_pidfd_config(-1, FL_CONFIG_SET_FLAG, "setsid", NULL, 0), -EBADF);
	ASSERT_EQ(fl_pidfd_spawn_run(-1, NULL, 0), -EBADF);
	ASSERT_EQ(fl_pidfd_open(0, 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_open(-5, FL_PIDFD_EMPTY), -EINVAL);
	ASSERT_EQ(fl_pidfd_open(getpid(), FL_PIDFD_EMPTY), -EINVAL);
	ASSERT_EQ(fl_pidfd_wait(0, NULL, 0x40000000), -EINVAL);
}

TEST(pidfd_open_existing_process)
{
	int out;
	pid_t pid = fl_test_helper("sleep", NULL, &out);
	int fd = fl_pidfd_open(pid, 0);
	if (fd == -ENOSYS && fl_test_valgrind()) {
		kill(pid, SIGKILL);
		fl_test_wait(pid);
		close(out);
		SKIP("valgrind does not know pidfd_open");
	}
	ASSERT_GE(fd, 0);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(fl_pidfd_kill(fd, SIGKILL), 0);
	int st;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	close(fd);
	close(out);
}

TEST(closed_unstarted_handle_number_reused)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_set_cwd(fd, "/"), 0);
	close(fd);
	/* the number now belongs to a pipe: not a handle any more */
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	ASSERT_EQ(p[0], fd);
	ASSERT_EQ(fl_pidfd_set_cwd(p[0], "/"), -EINVAL);
	close(p[0]);
	close(p[1]);
	/* and a new handle at that number starts empty */
	int fd2 = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fd2, fd);
	ASSERT_EQ(fl_pidfd_spawn_run(fd2, NULL, 0), -EFAULT); /* no argv configured */
	close(fd2);
}

TEST(handle_unusable_in_forked_child)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(fl_pidfd_set_path(fd, fl_test_exe), 0);
	ASSERT_EQ(fl_pidfd_set_argv(fd, fl_test_helper_argv("exit", NULL)), 0);
	fflush(NULL);
	pid_t c = fork(); /* the test's fork, standing in for the application's */
	if (c == 0) {
		int bad = 0;
		bad |= fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "cwd", "/tmp", 0) != -EBADFD;
		bad |= fl_pidfd_spawn_run(fd, NULL, 0) != -EBADFD;
		bad |= fl_pidfd_kill(fd, SIGKILL) != -EBADFD;
		bad |= fl_pidfd_wait(fd, NULL, WNOHANG) != -EBADFD;
		_exit(bad);
	}
	int st = fl_test_wait(c);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	/* the creator's handle is untouched */
	int pid = fl_pidfd_spawn_run(fd, NULL, 0);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
}

TEST(strstage_and_strerror)
{
	ASSERT_STREQ(fl_strstage(FL_STAGE_EXEC), "exec");
	ASSERT_STREQ(fl_strstage(FL_STAGE_ACTION), "action");
	ASSERT_STREQ(fl_strstage(-1), "unknown");
	ASSERT_STREQ(fl_strstage(FL_STAGE_MAX_), "unknown");
	for (int s = 0; s < FL_STAGE_MAX_; s++)
		ASSERT_TRUE(strcmp(fl_strstage(s), "unknown") != 0);
	char buf[128];
	struct fl_error e = { ENOENT, FL_STAGE_ACTION, 2 };
	ASSERT_STREQ(fl_strerror_r(&e, buf, sizeof(buf)), "action 2: No such file or directory");
	e = (struct fl_error){ EACCES, FL_STAGE_EXEC, -1 };
	ASSERT_STREQ(fl_strerror_r(&e, buf, sizeof(buf)), "exec: Permission denied");
	e = (struct fl_error){ ECHILD, FL_STAGE_KILLED, SIGKILL };
	ASSERT_STREQ(fl_strerror_r(&e, buf, sizeof(buf)), "killed before exec by signal 9 (KILL)");
	ASSERT_STREQ(fl_strerror_r(&e, buf, 5), "kill");
}

TEST(spawn_leaves_caller_signal_mask_alone)
{
	sigset_t set, before, after;
	sigemptyset(&before);
	sigemptyset(&after);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &before);
	char *argv[] = { "true", NULL };
	pid_t pid = fl_spawn(true_static(), argv, NULL, NULL, 0, NULL);
	ASSERT_GT(pid, 0);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	for (int sig = 1; sig < NSIG; sig++)
		ASSERT_EQ(sigismember(&before, sig), sigismember(&after, sig));
	ASSERT_EQ(sigismember(&after, SIGUSR1), 1);
	fl_test_wait(pid);
}

static void *spawn_many(void *p)
{
	long bad = 0;
	char *argv[] = { "true", NULL };
	for (int i = 0; i < 300; i++) {
		pid_t pid = fl_spawn((const char *)p, argv, NULL, NULL, 0, NULL);
		if (pid < 0 || fl_test_wait(pid) != 0)
			bad++;
	}
	return (void *)bad;
}

TEST(concurrent_spawns_from_threads)
{
	pthread_t t[4];
	const char *path = true_static();
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, spawn_many, (void *)path), 0);
	for (int i = 0; i < 4; i++) {
		void *bad;
		pthread_join(t[i], &bad);
		ASSERT_EQ((long)bad, 0);
	}
}

/* The shared library exports exactly the API, under the version node. */
TEST(shared_library_exports_only_the_api)
{
	char so[4200], out[4300];
	snprintf(so, sizeof(so), "%s/libforkless.so", fl_test_builddir());
	snprintf(out, sizeof(out), "%s/nm.out", fl_test_tmpdir());
	char *argv[] = { "nm", "-D", "--defined-only", "--with-symbol-versions", so, NULL };
	struct fl_open o = { .path = out, .flags = O_WRONLY | O_CREAT | O_TRUNC, .mode = 0644 };
	struct fl_action a = { .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 1, .arg = (uintptr_t)&o };
	pid_t pid = fl_spawn("nm", argv, NULL, &a, 1, NULL);
	if (pid == -ENOENT)
		SKIP("nm is not installed");
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	static const char *const api[] = { "fl_pidfd_open", "fl_pidfd_config", "fl_pidfd_spawn_run",
					   "fl_pidfd_wait", "fl_pidfd_kill", "fl_pidfd_set_rlimit",
					   "fl_spawn", "fl_strstage", "fl_strerror_r",
					   "fl_posix_spawn", "fl_posix_spawnp", "fl_pidfd_spawn",
					   "fl_pidfd_spawnp", "fl_posix_spawnattr_setcgroup_np",
					   "fl_posix_spawnattr_getcgroup_np",
					   "fl_posix_spawnattr_setflags",
					   "fl_spawn_template_create", "fl_spawn_template_spawn",
					   "fl_pidfd_spawn_result", "fl_embryo_reserve",
					   "fl_posix_spawn_file_actions_addchdir",
					   "fl_posix_spawn_file_actions_addfchdir", "fl_server_release",
					   "fl_spawn_template_warm", "fl_spawn_template_destroy",
					   "fl_strwarm" };
	FILE *f = fopen(out, "re");
	char line[512];
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		char type, name[256];
		if (sscanf(line, "%*s %c %255s", &type, name) != 2 || type != 'T')
			continue;
		int known = 0;
		for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
			char want[300];
			snprintf(want, sizeof(want), "%s@@FORKLESS_0.1", api[i]);
			known |= !strcmp(name, want);
			snprintf(want, sizeof(want), "%s@@FORKLESS_0.2", api[i]);
			known |= !strcmp(name, want);
			snprintf(want, sizeof(want), "%s@@FORKLESS_0.3", api[i]);
			known |= !strcmp(name, want);
		}
		if (!known)
			fl_test_fail(__FILE__, __LINE__, "unexpected export %s", name);
		found++;
	}
	fclose(f);
	ASSERT_EQ(found, (long long)(sizeof(api) / sizeof(api[0])));
}
