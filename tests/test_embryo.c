/* SPDX-License-Identifier: MIT */
/*
 * test_embryo.c - the embryo launcher: processes that exist before they run
 * (fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO)).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

static char true_path[4200];

static const char *true_static(void)
{
	if (!true_path[0])
		snprintf(true_path, sizeof(true_path), "%s/true-static", fl_test_builddir());
	return true_path;
}

static int emb_open(void)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0)
		fl_test_fail(__FILE__, __LINE__, "embryo open: %s", strerror(-fd));
	return fd;
}

/* The pid a pidfd names (its fdinfo "Pid:" line); 0 if none. */
static pid_t fd_pid(int fd)
{
	char path[64], buf[1024], *p;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	p = strstr(buf, "\nPid:");
	return p ? (pid_t)atoi(p + 5) : 0;
}

/* The state letter of /proc/<pid>/stat, or 0 if there is no such process. */
static char proc_state(pid_t pid)
{
	char path[64], buf[1024], *p;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Whether pid is dead (gone, or a zombie nobody reaps) within ms. */
static int dies_within(pid_t pid, int ms)
{
	for (int i = 0; i < ms; i += 10) {
		char s = proc_state(pid);
		if ((kill(pid, 0) < 0 && errno == ESRCH) || s == 0 || s == 'Z' || s == 'X')
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits for the outcome of an FL_SPAWN_ASYNC run. */
static int collect(int fd, struct fl_error *e)
{
	int r;
	while ((r = fl_pidfd_spawn_result(fd, e)) == -EINPROGRESS)
		usleep(50);
	return r;
}

/* collect() that must give pid; says what failed otherwise. */
#define collect_ok(fd, pid, ep)                                                    \
	do {                                                                       \
		struct fl_error ce_ = { 0, 0, -1 };                                \
		int cr_ = collect((fd), &ce_);                                     \
		if ((ep) != NULL)                                                  \
			*(struct fl_error *)(ep) = ce_;                            \
		if (cr_ != (pid)) {                                                \
			char cm_[256];                                             \
			fl_test_fail(__FILE__, __LINE__, "async run: %d (%s)", cr_, \
				     fl_strerror_r(&ce_, cm_, sizeof(cm_)));       \
		}                                                                  \
	} while (0)

/* The first line a helper prints (it keeps running: no slurp); closes fd. */
static void read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	while (n < len - 1 && !strchr(buf, '\n')) {
		ssize_t k = read(fd, buf + n, len - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = 0;
	}
	close(fd);
}

static int wait_eintr(int fd, int *st)
{
	int r;
	while ((r = fl_pidfd_wait(fd, st, 0)) == -EINTR)
		;
	return r;
}

HELPER(embryo_argv)
{
	for (int i = 0; i < argc; i++)
		printf("%s|", argv[i]);
	return 0;
}

/* Prints argc and whether every argument is "arg-<its index + 2>". */
HELPER(embryo_argc)
{
	char want[32];
	int ok = 1;
	for (int i = 1; i < argc; i++) {
		snprintf(want, sizeof(want), "arg-%d", i + 2);
		ok &= !strcmp(argv[i], want);
	}
	printf("%d %s\n", argc, ok ? "ok" : "BAD");
	return 0;
}

HELPER(embryo_cwd)
{
	char buf[4200];
	printf("%s", getcwd(buf, sizeof(buf)) ? buf : "?");
	return 0;
}

HELPER(embryo_pdeathsig)
{
	int sig = -1;
	if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0)
		return 2;
	printf("%d", sig);
	return 0;
}

/* ---- start and exit ------------------------------------------------------ */

TEST(embryo_poll_reports_only_exit_after_run)
{
	int fd = emb_open();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ASSERT_EQ(poll(&p, 1, 100), 0); /* exists, but has not run nor exited */
	int st = -1;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, WNOHANG), 0);
	ASSERT_EQ(st, -1);
	char *args[] = { "7", NULL };
	struct fl_error e;
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = fl_test_exe,
				   .argv = fl_test_helper_argv("exit", args), .error = &e };
	pid_t pid = fd_pid(fd);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), pid); /* the pid it had from the start */
	p.revents = 0;
	ASSERT_EQ(poll(&p, 1, 10000), 1);
	ASSERT_TRUE(p.revents & POLLIN);
	ASSERT_EQ(collect(fd, &e), pid);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 7);
	close(fd);
}

TEST(embryo_kill_before_start_is_esrch_and_embryo_survives)
{
	int fd = emb_open();
	pid_t pid = fd_pid(fd);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_kill(fd, SIGKILL), -ESRCH);
	ASSERT_EQ(fl_pidfd_kill(fd, 0), -ESRCH);
	sleep_ms(50);
	char s = proc_state(pid);
	ASSERT_TRUE(s != 0 && s != 'Z' && s != 'X'); /* still waiting */
	int st = -1;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, WNOHANG), 0);
	char *argv[] = { "true", NULL };
	struct fl_spawn_args a = { .path = true_static(), .argv = argv };
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), pid);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	/* reaped: now a plain exited pidfd */
	ASSERT_EQ(fl_pidfd_kill(fd, SIGKILL), -ESRCH);
	close(fd);
}

TEST(embryo_close_before_start_is_swept)
{
	int fd = emb_open();
	pid_t pid = fd_pid(fd);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(kill(pid, 0), 0);
	/* configured with an fd-holding key too: the sweep must release it */
	int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_EQ(fl_pidfd_set_cwd_fd(fd, dir), 0);
	close(dir);
	close(fd);
	int other = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* sweeps */
	ASSERT_GE(other, 0);
	close(other);
	/* reaped by the sweep: gone entirely, not even a zombie */
	ASSERT_EQ(kill(pid, 0), -1);
	ASSERT_EQ(errno, ESRCH);
	/* the harness checks that no child and no fd is left */
}

/* Creates argv[1] embryos, prints their pids, and exits without running
 * them: argv[2] "exit" returns from main, "_exit" skips atexit/destructors. */
HELPER(embryo_orphans)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	for (int i = 0; i < n; i++) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
		if (fd < 0)
			return 3;
		printf("%d\n", (int)fd_pid(fd));
	}
	fflush(stdout);
	if (argc > 2 && !strcmp(argv[2], "exit"))
		return 0;
	_exit(0);
}

static void check_orphans_die(const char *how)
{
	char *args[] = { "3", (char *)how, NULL };
	int out;
	pid_t h = fl_test_helper("embryo_orphans", args, &out);
	char *s = fl_test_slurp(out);
	int st = fl_test_wait(h);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	int n = 0;
	for (char *p = s; *p;) {
		pid_t pid = (pid_t)strtol(p, &p, 10);
		while (*p == '\n')
			p++;
		ASSERT_GT(pid, 0);
		ASSERT_NE(pid, h);
		if (!dies_within(pid, 2000))
			fl_test_fail(__FILE__, __LINE__, "%s: embryo %d still there (state %c)",
				     how, (int)pid, proc_state(pid));
		n++;
	}
	ASSERT_EQ(n, 3);
	free(s);
}

TEST(embryo_dies_when_creator_exits)
{
	check_orphans_die("_exit");
	check_orphans_die("exit");
}

/* ---- many threads -------------------------------------------------------- */

static int spawns_per_thread;
static atomic_int spawn_failures;

static void *spawner(void *p)
{
	(void)p;
	char *argv[] = { "true", NULL };
	for (int i = 0; i < spawns_per_thread; i++) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
		if (fd < 0) {
			if (atomic_fetch_add(&spawn_failures, 1) < 5)
				fprintf(stderr, "# open: %s\n", strerror(-fd));
			continue;
		}
		struct fl_error e;
		struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = true_static(),
					   .argv = argv, .error = &e };
		int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st = -1;
		int r = pid > 0 ? collect(fd, &e) : pid;
		if (pid <= 0 || r != pid) {
			char msg[256];
			if (atomic_fetch_add(&spawn_failures, 1) < 5)
				fprintf(stderr, "# spawn %d: %d %d %s\n", i, pid, r,
					fl_strerror_r(&e, msg, sizeof(msg)));
		}
		if (pid > 0 && (fl_pidfd_wait(fd, &st, 0) != pid || !WIFEXITED(st) ||
				WEXITSTATUS(st) != 0)) {
			if (atomic_fetch_add(&spawn_failures, 1) < 5)
				fprintf(stderr, "# wait %d: status %#x\n", i, st);
		}
		close(fd);
	}
	return NULL;
}

TEST_TIMEOUT(embryo_8_threads_async_spawns, 120)
{
	pthread_t t[8];
	spawns_per_thread = fl_test_valgrind() ? 50 : 1000;
	true_static(); /* its path is computed once, here: not thread-safe */
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, spawner, NULL), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(atomic_load(&spawn_failures), 0);
	int other = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* sweep the closed handles */
	ASSERT_GE(other, 0);
	close(other);
}

/* ---- errors -------------------------------------------------------------- */

TEST(embryo_eager_config_errors_are_config_errors)
{
	int fd = emb_open();
	ASSERT_EQ(fl_pidfd_set_cwd(fd, "/nonexistent-forkless/dir"), -ENOENT);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(CPU_SETSIZE - 1, &set); /* no such CPU */
	ASSERT_EQ(fl_pidfd_set_affinity(fd, &set), -EINVAL);
	/* nothing half-applied: cwd is unset (UNSET is no -EBUSY), the child
	 * runs in our cwd, and the handle still runs */
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "cwd", NULL, 0), 0);
	char here[4200];
	ASSERT_TRUE(getcwd(here, sizeof(here)) != NULL);
	int st;
	char *out = fl_test_run_handle(fd, "embryo_cwd", NULL, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, here);
	free(out);
}

TEST(embryo_eager_cwd_applies_and_cannot_be_unset)
{
	const char *dir = fl_test_tmpdir();
	int fd = emb_open();
	ASSERT_EQ(fl_pidfd_set_cwd(fd, dir), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "cwd", NULL, 0), -EBUSY);
	/* our own cwd is untouched */
	char here[4200];
	ASSERT_TRUE(getcwd(here, sizeof(here)) != NULL);
	ASSERT_TRUE(strcmp(here, dir) != 0);
	int st;
	char *out = fl_test_run_handle(fd, "embryo_cwd", NULL, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, dir);
	free(out);
	/* a second eager set replaces the first */
	fd = emb_open();
	ASSERT_EQ(fl_pidfd_set_cwd(fd, dir), 0);
	ASSERT_EQ(fl_pidfd_set_cwd(fd, "/"), 0);
	out = fl_test_run_handle(fd, "embryo_cwd", NULL, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, "/");
	free(out);
}

TEST(embryo_exec_error_async_reports_stage)
{
	int fd = emb_open();
	pid_t pid = fd_pid(fd);
	char *argv[] = { "missing", NULL };
	struct fl_error e = { 0, 0, 0 }, re = { 0, 0, 0 };
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = "/nonexistent-forkless/prog",
				   .argv = argv, .error = &e };
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), pid);
	ASSERT_ERR(collect(fd, &re), re, -ENOENT, FL_STAGE_EXEC);
	/* the outcome is kept */
	struct fl_error again = { 0, 0, 0 };
	ASSERT_ERR(fl_pidfd_spawn_result(fd, &again), again, -ENOENT, FL_STAGE_EXEC);
	/* the failed child was reaped by the library */
	int st;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), -ECHILD);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), -EBUSY);
	close(fd);
}

TEST(embryo_exec_error_sync_reports_stage)
{
	int fd = emb_open();
	char *argv[] = { "missing", NULL };
	struct fl_error e = { 0, 0, 0 };
	struct fl_spawn_args a = { .path = "/nonexistent-forkless/prog", .argv = argv, .error = &e };
	ASSERT_ERR(fl_pidfd_spawn_run(fd, &a, sizeof(a)), e, -ENOENT, FL_STAGE_EXEC);
	ASSERT_EQ(fl_pidfd_spawn_run(fd, &a, sizeof(a)), -EBUSY);
	int st;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), -ECHILD);
	close(fd);
	/* a missing program through the $PATH search, too */
	fd = emb_open();
	char *argv2[] = { "forkless-no-such-program", NULL };
	struct fl_spawn_args b = { .argv = argv2, .error = &e };
	ASSERT_ERR(fl_pidfd_spawn_run(fd, &b, sizeof(b)), e, -ENOENT, FL_STAGE_EXEC);
	close(fd);
}

TEST(embryo_spawn_result_einval_ebadf)
{
	struct fl_error e = { 0, 0, 0 };
	/* a plain builder */
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_spawn_result(fd, &e), -EINVAL);
	close(fd);
	/* an embryo not run yet */
	fd = emb_open();
	ASSERT_EQ(fl_pidfd_spawn_result(fd, &e), -EINVAL);
	/* an embryo run synchronously */
	char *argv[] = { "true", NULL };
	struct fl_spawn_args a = { .path = true_static(), .argv = argv };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st;
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_pidfd_spawn_result(fd, &e), -EINVAL);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(fl_pidfd_spawn_result(fd, &e), -EINVAL);
	close(fd);
	/* not a handle at all; a closed fd */
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_EQ(fl_pidfd_spawn_result(null, &e), -EINVAL);
	close(null);
	ASSERT_EQ(fl_pidfd_spawn_result(null, &e), -EBADF);
	ASSERT_EQ(fl_pidfd_spawn_result(-1, &e), -EBADF);
	/* a closed async embryo handle */
	fd = emb_open();
	a.flags = FL_SPAWN_ASYNC;
	pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(collect(fd, &e), pid);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	close(fd);
	ASSERT_EQ(fl_pidfd_spawn_result(fd, &e), -EBADF);
	ASSERT_EQ(e.err, 0); /* untouched */
}

TEST(embryo_async_flag_on_plain_builder_is_einval)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	char *argv[] = { "true", NULL };
	struct fl_error e = { 0, 0, 0 };
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = true_static(), .argv = argv,
				   .error = &e };
	ASSERT_ERR(fl_pidfd_spawn_run(fd, &a, sizeof(a)), e, -EINVAL, FL_STAGE_CONFIG);
	close(fd);
	/* and on fl_spawn_template_spawn? not covered here */
}

/* ---- fork and exec in other threads --------------------------------------- */

static atomic_int fork_stop;
static atomic_int forks_done;

static void *forker(void *p)
{
	(void)p;
	while (!atomic_load(&fork_stop)) {
		pid_t c = fork(); /* this test is about fork() */
		if (c == 0)
			_exit(0);
		if (c < 0) {
			sched_yield();
			continue;
		}
		int st = fl_test_wait(c);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			atomic_fetch_add(&spawn_failures, 1);
		atomic_fetch_add(&forks_done, 1);
	}
	return NULL;
}

TEST_TIMEOUT(embryo_fork_in_other_thread, 60)
{
	pthread_t t;
	int n = fl_test_valgrind() ? 30 : 300;
	char *argv[] = { "true", NULL };
	ASSERT_EQ(pthread_create(&t, NULL, forker, NULL), 0);
	for (int i = 0; i < n; i++) {
		int fd = emb_open();
		int fd2 = emb_open(); /* an embryo that waits across forks */
		ASSERT_EQ(fl_pidfd_set_cwd(fd, "/"), 0);
		struct fl_error e;
		struct fl_spawn_args a = { .flags = (i & 1) ? FL_SPAWN_ASYNC : 0,
					   .path = true_static(), .argv = argv, .error = &e };
		int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st;
		ASSERT_GT(pid, 0);
		if (i & 1)
			ASSERT_EQ(collect(fd, &e), pid);
		ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
		ASSERT_EQ(st, 0);
		close(fd);
		if (i % 3 == 0) {
			pid = fl_pidfd_spawn_run(fd2, &a, sizeof(a));
			ASSERT_GT(pid, 0);
			if (i & 1)
				ASSERT_EQ(collect(fd2, &e), pid);
			ASSERT_EQ(fl_pidfd_wait(fd2, &st, 0), pid);
			ASSERT_EQ(st, 0);
		}
		close(fd2); /* the rest: closed unstarted, swept by the next open */
	}
	atomic_store(&fork_stop, 1);
	pthread_join(t, NULL);
	ASSERT_EQ(atomic_load(&spawn_failures), 0);
	ASSERT_GT(atomic_load(&forks_done), 0);
	int other = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(other, 0);
	close(other);
}

static char *exec_argv[8];

static void *execer(void *p)
{
	(void)p;
	execv(exec_argv[0], exec_argv);
	_exit(5);
}

/* Creates an embryo, prints its pid, then a second thread execs a sleeper:
 * the creating (main) thread dies in the exec, so must the embryo. */
HELPER(embryo_exec_thread)
{
	(void)argc, (void)argv;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0)
		return 3;
	printf("%d\n", (int)fd_pid(fd));
	fflush(stdout);
	exec_argv[0] = (char *)fl_test_exe;
	exec_argv[1] = "--helper";
	exec_argv[2] = "sleep";
	exec_argv[3] = "10";
	exec_argv[4] = NULL;
	pthread_t t;
	if (pthread_create(&t, NULL, execer, NULL))
		return 4;
	pthread_join(t, NULL); /* never returns: the exec ends this thread */
	return 6;
}

TEST(embryo_dies_when_creator_thread_dies_in_exec)
{
	int out;
	pid_t h = fl_test_helper("embryo_exec_thread", NULL, &out);
	char buf[64];
	read_line(out, buf, sizeof(buf));
	pid_t pid = (pid_t)atoi(buf);
	ASSERT_GT(pid, 0);
	/* the helper lives on (as the sleeper) and does not reap the embryo:
	 * it must be dead (a zombie of the helper) within 2 s */
	int dead = dies_within(pid, 2000);
	char s = proc_state(pid);
	char hs = proc_state(h);
	kill(h, SIGKILL);
	int st = fl_test_wait(h);
	ASSERT_TRUE(WIFSIGNALED(st)); /* it was still sleeping: the exec happened */
	if (!dead)
		fl_test_fail(__FILE__, __LINE__, "embryo %d alive after its creator thread died "
			     "(state %c, helper state %c)", (int)pid, s, hs);
	ASSERT_TRUE(dies_within(pid, 2000));
}

/* ---- signals ---------------------------------------------------------------- */

static pid_t storm_pid;
static atomic_int storm_handled, storm_in_child, storm_stop;

static void storm_handler(int sig)
{
	(void)sig;
	if ((pid_t)syscall(SYS_getpid) != storm_pid)
		atomic_fetch_add(&storm_in_child, 1);
	else
		atomic_fetch_add(&storm_handled, 1);
}

static void *stormer(void *p)
{
	pthread_t target = *(pthread_t *)p;
	while (!atomic_load(&storm_stop)) {
		pthread_kill(target, SIGUSR1);
		for (volatile int i = 0; i < 200; i++)
			;
	}
	return NULL;
}

TEST_TIMEOUT(embryo_signal_storm, 90)
{
	struct sigaction sa = { .sa_handler = storm_handler }; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	storm_pid = getpid();
	pthread_t self = pthread_self(), t;
	ASSERT_EQ(pthread_create(&t, NULL, stormer, &self), 0);
	int n = fl_test_valgrind() ? 50 : 500;
	char *argv[] = { "true", NULL };
	char *hargs[] = { "0", NULL };
	for (int i = 0; i < n; i++) {
		int fd;
		while ((fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO)) == -EINTR)
			fl_test_fail(__FILE__, __LINE__, "open: EINTR");
		ASSERT_GE(fd, 0);
		if (i % 4 == 0)
			ASSERT_EQ(fl_pidfd_set_cwd(fd, "/"), 0); /* an embryo op under signals */
		struct fl_error e = { 0, 0, 0 };
		struct fl_spawn_args a = { .flags = (i & 1) ? FL_SPAWN_ASYNC : 0,
					   .path = (i % 10 == 0) ? fl_test_exe : true_static(),
					   .argv = (i % 10 == 0) ? fl_test_helper_argv("exit", hargs) : argv,
					   .error = &e };
		int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st = -1;
		if (pid <= 0) {
			char msg[256];
			fl_test_fail(__FILE__, __LINE__, "spawn %d: %d %s", i, pid,
				     fl_strerror_r(&e, msg, sizeof(msg)));
		}
		if (i & 1) {
			int r = collect(fd, &e);
			if (r != pid) {
				char msg[256];
				fl_test_fail(__FILE__, __LINE__, "result %d: %d %s", i, r,
					     fl_strerror_r(&e, msg, sizeof(msg)));
			}
		}
		ASSERT_EQ(wait_eintr(fd, &st), pid);
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(WEXITSTATUS(st), 0);
		close(fd);
	}
	atomic_store(&storm_stop, 1);
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_IGN);
	ASSERT_GT(atomic_load(&storm_handled), 0);
	ASSERT_EQ(atomic_load(&storm_in_child), 0);
	fprintf(stderr, "# %d signals handled\n", atomic_load(&storm_handled));
}

/* ---- what the child gets ---------------------------------------------------- */

TEST(embryo_child_has_no_death_signal_of_its_own)
{
	int fd = emb_open(), st;
	char *out = fl_test_run_handle(fd, "embryo_pdeathsig", NULL, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, "0");
	free(out);
	fd = emb_open();
	ASSERT_EQ(fl_pidfd_set_pdeathsig(fd, SIGUSR2), 0);
	out = fl_test_run_handle(fd, "embryo_pdeathsig", NULL, &st);
	ASSERT_EQ(st, 0);
	char want[16];
	snprintf(want, sizeof(want), "%d", SIGUSR2);
	ASSERT_STREQ(out, want);
	free(out);
	/* asynchronously, too */
	fd = emb_open();
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action act = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_error e;
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = fl_test_exe,
				   .argv = fl_test_helper_argv("embryo_pdeathsig", NULL),
				   .actions = &act, .nactions = 1, .error = &e };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(collect(fd, &e), pid);
	close(p[1]);
	out = fl_test_slurp(p[0]);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, "0");
	free(out);
	close(fd);
}

TEST(embryo_child_sees_only_0_1_2_and_action_targets)
{
	int keep = open("/dev/null", O_RDONLY);   /* inheritable, not named */
	int named = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int other = emb_open(); /* another embryo's handle, open meanwhile */
	int fd = emb_open(), st;
	char *out = fl_test_run_handle(fd, "fds", NULL, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, "0 1 2 ");
	free(out);
	/* with an action target */
	fd = emb_open();
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .fd = named, .newfd = 9 },
	};
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = fl_test_exe,
				   .argv = fl_test_helper_argv("fds", NULL),
				   .actions = acts, .nactions = 2 };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	collect_ok(fd, pid, NULL);
	close(p[1]);
	out = fl_test_slurp(p[0]);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(out, "0 1 2 9 ");
	free(out);
	close(fd);
	close(other);
	close(keep);
	close(named);
	int s = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* sweep the unstarted one */
	ASSERT_GE(s, 0);
	close(s);
}

TEST(embryo_async_copies_its_inputs)
{
	int fd = emb_open();
	size_t len = 1 << 16;
	char *buf = malloc(len);
	memset(buf, 0, len);
	/* strings, vectors and actions all inside buf */
	char *path = buf, *s1 = buf + 4096, *s2 = buf + 4200, *env1 = buf + 4300;
	char **argv = (char **)(void *)(buf + 8192), **envp = argv + 16;
	struct fl_action *acts = (struct fl_action *)(void *)(buf + 16384);
	snprintf(path, 4096, "%s", fl_test_exe);
	char **hv = fl_test_helper_argv("embryo_argv", NULL);
	snprintf(s1, 100, "%s", hv[2]); /* "embryo_argv" */
	snprintf(s2, 100, "original-argument");
	snprintf(env1, 100, "FORKLESS_EMB=1");
	argv[0] = path, argv[1] = "--helper", argv[2] = s1, argv[3] = s2, argv[4] = NULL;
	envp[0] = env1, envp[1] = NULL;
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	acts[0] = (struct fl_action){ .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_error e;
	struct fl_spawn_args *a = (struct fl_spawn_args *)(void *)(buf + 20000);
	*a = (struct fl_spawn_args){ .flags = FL_SPAWN_ASYNC, .path = path, .argv = argv,
				     .envp = envp, .actions = acts, .nactions = 1, .error = &e };
	int pid = fl_pidfd_spawn_run(fd, a, sizeof(*a));
	/* overwrite everything at once, then free it */
	memset(buf, 'x', len);
	free(buf);
	ASSERT_GT(pid, 0);
	collect_ok(fd, pid, &e); /* p[1] stays open until then: see the next test */
	close(p[1]);
	char *out = fl_test_slurp(p[0]);
	int st;
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(st, 0);
	char want[64];
	snprintf(want, sizeof(want), "embryo_argv|original-argument|"); /* helpers get argv + 2 */
	ASSERT_STREQ(out, want);
	free(out);
	close(fd);
}

/* The usual pattern, close the action's fd right after the run call, with
 * FL_SPAWN_ASYNC: the run call has returned, so the caller's fds are the
 * caller's again; the child must still get what the actions named. */
/* The contract of FL_SPAWN_ASYNC: the fds the actions read stay open until
 * the outcome is known (the child shares the fd table until then); closed
 * right after that, the child has its own copy and the pipe reaches EOF. */
TEST(embryo_async_caller_closes_action_fds_once_the_outcome_is_known)
{
	int n = fl_test_valgrind() ? 5 : 50;
	for (int i = 0; i < n; i++) {
		int fd = emb_open();
		int p[2];
		ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
		struct fl_action act = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
		struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = fl_test_exe,
					   .argv = fl_test_helper_argv("fds", NULL),
					   .actions = &act, .nactions = 1 };
		int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st;
		ASSERT_GT(pid, 0);
		collect_ok(fd, pid, NULL);
		close(p[1]);
		char *out = fl_test_slurp(p[0]);
		ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
		ASSERT_EQ(st, 0);
		ASSERT_STREQ(out, "0 1 2 ");
		free(out);
		close(fd);
	}
}

/* An async run whose handle is closed at once (and swept by another open)
 * before the child exec'd: what the child reads (the configured path and
 * argv) must stay valid until it has exec'd. */
TEST(embryo_async_handle_closed_at_once)
{
	int n = fl_test_valgrind() ? 10 : 200;
	static char *argv[2000];
	static char strs[2000][16];
	argv[0] = (char *)fl_test_exe, argv[1] = "--helper", argv[2] = "embryo_argc";
	for (int i = 3; i < 1999; i++) {
		snprintf(strs[i], sizeof(strs[i]), "arg-%d", i);
		argv[i] = strs[i];
	}
	argv[1999] = NULL;
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	for (int i = 0; i < n; i++) {
		int fd = emb_open();
		ASSERT_EQ(fl_pidfd_set_path(fd, fl_test_exe), 0);
		ASSERT_EQ(fl_pidfd_set_argv(fd, argv), 0);
		struct fl_action act = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
		struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .actions = &act, .nactions = 1 };
		int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
		close(fd);
		int other = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* sweeps the closed handle */
		ASSERT_GT(pid, 0);
		ASSERT_GE(other, 0);
		close(other);
		int st = fl_test_wait(pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fl_test_fail(__FILE__, __LINE__, "run %d: status %#x", i, st);
	}
	close(p[1]);
	char *out = fl_test_slurp(p[0]);
	int lines = 0;
	for (char *q = out; (q = strchr(q, '\n')); q++)
		lines++;
	ASSERT_EQ(lines, n);
	for (char *q = out; *q; q = strchr(q, '\n') + 1)
		if (strncmp(q, "1997 ok\n", 8))
			fl_test_fail(__FILE__, __LINE__, "child saw: %.40s", q);
	free(out);
	int s = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(s, 0);
	close(s);
}

/* ---- the reserve (fl_embryo_reserve) -------------------------------------- */

#include <grp.h>
#include <linux/kcmp.h>

#include "seccomp.h"

static void need_reserve(unsigned int n)
{
	int r = fl_embryo_reserve(n, 0);
	if (r < 0)
		fl_test_fail(__FILE__, __LINE__, "fl_embryo_reserve(%u): %s", n, strerror(-r));
}

/* Run static true on embryo fd (async), check its outcome and exit; closes fd. */
static void run_true_async(int fd)
{
	char *argv[] = { "true", NULL };
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = true_static(), .argv = argv };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st = -1;
	ASSERT_GT(pid, 0);
	collect_ok(fd, pid, NULL);
	ASSERT_EQ(wait_eintr(fd, &st), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	close(fd);
}

/* How many children the tasks of this process have (/proc/self/task/T/children). */
static int count_children(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		char path[300], buf[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t k = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
		if (f >= 0)
			close(f);
		for (ssize_t i = 0; i < k; i++)
			n += buf[i] == ' ';
	}
	if (d)
		closedir(d);
	return n;
}

/* Whether any task of this process has a child (/proc/self/task/T/children). */
static int have_children(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int any = 0;
	while (d && (de = readdir(d))) {
		char path[300], buf[64];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		if (f >= 0) {
			any |= read(f, buf, sizeof(buf)) > 0;
			close(f);
		}
	}
	if (d)
		closedir(d);
	return any;
}

TEST(reserve_arguments_are_checked)
{
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0); /* no reserve: nothing to end */
	ASSERT_EQ(fl_embryo_reserve(1, 1), -EINVAL);
	ASSERT_EQ(fl_embryo_reserve(FL_EMBRYO_RESERVE_MAX + 1, 0), -EINVAL);
	ASSERT_EQ(have_children(), 0); /* a refused call made nothing */
	need_reserve(FL_EMBRYO_RESERVE_MAX);
	ASSERT_EQ(count_children(), 1 + FL_EMBRYO_RESERVE_MAX); /* the server and its spares */
	need_reserve(2); /* replaces the previous one */
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	ASSERT_EQ(fl_server_release(1), -EINVAL);
	ASSERT_EQ(fl_server_release(0), 0);
	ASSERT_EQ(have_children(), 0); /* server and spares reaped */
}

/*
 * The point of the reserve: the spares exist before they are asked for
 * (children of ours, made by the server), and each hand-out has the
 * server make the next.
 */
TEST_TIMEOUT(reserve_hands_out_spares_made_by_the_server, 60)
{
	need_reserve(3);
	ASSERT_EQ(count_children(), 4); /* ready when fl_embryo_reserve returned */
	int fds[3];
	for (int i = 0; i < 3; i++)
		ASSERT_GE(fds[i] = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO), 0);
	for (int i = 0; i < 3; i++)
		run_true_async(fds[i]);
	for (int i = 0; i < 50; i++) { /* each hand-out asked for its successor */
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
		ASSERT_GE(fd, 0);
		run_true_async(fd);
	}
	for (int i = 0; i < 100 && count_children() != 4; i++)
		sleep_ms(10);
	ASSERT_EQ(count_children(), 4); /* three spares again, no more */
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	for (int i = 0; i < 100 && count_children() != 1; i++)
		sleep_ms(10);
	ASSERT_EQ(count_children(), 1); /* only the server */
}

/*
 * A spare handed out is told to the server with its run (no message of its
 * own): one taken and let go unrun is replaced all the same, and a new
 * reserve, which ends the server's spares, spares those handed out.
 */
TEST_TIMEOUT(reserve_spares_handed_out_are_told_before_a_new_reserve, 60)
{
	need_reserve(2);
	int a = emb_open(), b = emb_open(); /* both spares, neither told yet */
	need_reserve(2); /* ends the spares the server has: not a, b */
	run_true_async(a);
	run_true_async(b);
	/* taken and closed unrun: the server replaces it */
	close(emb_open());
	int other = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* sweeps the closed handle */
	ASSERT_GE(other, 0);
	close(other);
	for (int i = 0; i < 200 && count_children() != 3; i++)
		sleep_ms(10);
	ASSERT_EQ(count_children(), 3); /* the server and two spares */
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	ASSERT_EQ(fl_server_release(0), 0);
	ASSERT_EQ(have_children(), 0);
}

/* Spares share the caller's fd table: fds opened after the reserve reach
 * the child; the child's cwd from an eager key is the spare's own. */
TEST(reserve_spares_see_new_fds_and_take_eager_config)
{
	need_reserve(2);
	int fd = emb_open(), st;
	ASSERT_EQ(fl_pidfd_set_cwd(fd, fl_test_tmpdir()), 0); /* done by the spare now */
	char *out = fl_test_run_handle(fd, "embryo_cwd", NULL, &st); /* a pipe made after */
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	char want[4200];
	ASSERT_TRUE(realpath(fl_test_tmpdir(), want) != NULL);
	ASSERT_STREQ(out, want);
	free(out);
	/* a spare that is never run is told to exit and reaped */
	int idle = emb_open();
	close(idle);
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	int s = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* sweeps the closed handle */
	ASSERT_GE(s, 0);
	close(s);
}

/*
 * Spares keep the credentials of the moment the reserve was made: after a
 * change the library must not hand one out (it would run a program as
 * root).  In a child that makes a reserve as root, then drops to nobody.
 */
TEST(reserve_ends_when_credentials_change)
{
	if (geteuid() != 0)
		SKIP("needs root to drop privileges");
	pid_t c = fork(); /* the test drops privileges in a child of its own */
	ASSERT_GE(c, 0);
	if (c == 0) {
		if (fl_embryo_reserve(2, 0) < 0)
			_exit(10);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(11);
		int p[2];
		if (pipe2(p, O_CLOEXEC))
			_exit(12);
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
		if (fd < 0)
			_exit(13);
		char *argv[] = { "id", "-u", NULL };
		struct fl_action a = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
		struct fl_spawn_args sa = { .path = "/usr/bin/id", .argv = argv, .actions = &a,
					    .nactions = 1 };
		int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa)), st;
		close(p[1]);
		char buf[32] = { 0 };
		ssize_t n = read(p[0], buf, sizeof(buf) - 1);
		if (pid <= 0 || fl_pidfd_wait(fd, &st, 0) != pid)
			_exit(14);
		if (n <= 0 || strcmp(buf, "65534\n"))
			_exit(15); /* a spare made as root ran it */
		if (fl_embryo_reserve(0, 0) < 0 || fl_server_release(0) < 0 || have_children())
			_exit(16); /* the old server had ended: nothing left */
		_exit(0);
	}
	int st = fl_test_wait(c);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

static void *make_reserve(void *p)
{
	(void)p;
	return (void *)(intptr_t)fl_embryo_reserve(2, 0);
}

/* The reserve is the process's: it outlives the thread that made it. */
TEST(reserve_outlives_its_thread)
{
	pthread_t t;
	void *r;
	ASSERT_EQ(pthread_create(&t, NULL, make_reserve, NULL), 0);
	ASSERT_EQ(pthread_join(t, &r), 0);
	ASSERT_EQ((intptr_t)r, 0);
	sleep_ms(100);
	ASSERT_EQ(count_children(), 3); /* server and spares live on */
	run_true_async(emb_open());
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	ASSERT_EQ(fl_server_release(0), 0);
	ASSERT_EQ(have_children(), 0);
}

/* A fork child has no reserve: the spares are its parent's children. */
TEST(reserve_not_used_by_a_fork_child)
{
	need_reserve(2);
	pid_t c = fork();
	ASSERT_GE(c, 0);
	if (c == 0) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
		if (fd < 0)
			_exit(10);
		char *argv[] = { "true", NULL };
		struct fl_spawn_args a = { .path = true_static(), .argv = argv };
		int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st;
		if (pid <= 0 || fl_pidfd_wait(fd, &st, 0) != pid || st != 0)
			_exit(11);
		if (fl_embryo_reserve(0, 0) != 0 || fl_server_release(0) != 0 || have_children())
			_exit(12); /* the parent's server and spares are not ours */
		_exit(0);
	}
	int st = fl_test_wait(c);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	run_true_async(emb_open()); /* ours still work */
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	ASSERT_EQ(fl_server_release(0), 0);
	ASSERT_EQ(have_children(), 0);
}

/* Containers refuse clone3: the nursery is made with clone() and clones
 * its spares with clone() anyway. */
TEST(reserve_works_with_clone3_refused)
{
	struct fl_sc_rule r[] = { { SYS_clone3, ENOSYS, 0, 0 } };
	fl_sc_install(r, 1);
	need_reserve(2);
	for (int i = 0; i < 10; i++)
		run_true_async(emb_open());
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	ASSERT_EQ(fl_server_release(0), 0);
	ASSERT_EQ(have_children(), 0);
}

TEST_TIMEOUT(reserve_8_threads_async_spawns, 120)
{
	need_reserve(8);
	pthread_t t[8];
	spawns_per_thread = 300;
	true_static();
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, spawner, NULL), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(atomic_load(&spawn_failures), 0);
	ASSERT_EQ(fl_embryo_reserve(0, 0), 0);
	int other = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* sweep the closed handles */
	ASSERT_GE(other, 0);
	close(other);
}

/* Makes a reserve and an embryo, prints the embryo's pid, then execs a
 * sleeper from the creating thread itself: no death signal comes, so the
 * embryo, the nursery and the spares must notice the exec and exit. */
HELPER(reserve_exec_self)
{
	(void)argc, (void)argv;
	if (fl_embryo_reserve(2, 0) < 0)
		return 3;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0)
		return 4;
	int two = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	int plain = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO); /* none left: a clone */
	printf("%d %d %d\n", (int)fd_pid(fd), (int)fd_pid(two), (int)fd_pid(plain));
	fflush(stdout);
	char *args[] = { (char *)fl_test_exe, "--helper", "sleep", "10", NULL };
	execv(args[0], args);
	return 5;
}

TEST_TIMEOUT(reserve_and_embryos_exit_when_the_caller_execs, 30)
{
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0) != 0)
		SKIP("kcmp(2) is not available: a caller's exec goes unnoticed");
	int out;
	pid_t h = fl_test_helper("reserve_exec_self", NULL, &out);
	char buf[64];
	read_line(out, buf, sizeof(buf));
	/* every child of the exec'd helper (the nursery, the two spares handed
	 * out, the plain embryo, and the spares the nursery made meanwhile)
	 * must be dead within 3 s */
	char path[64], kids[512] = { 0 };
	int alive = 1, count = 0;
	for (int i = 0; i < 300 && alive; i++) {
		sleep_ms(10);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)h, (int)h);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t k = f >= 0 ? read(f, kids, sizeof(kids) - 1) : 0;
		if (f >= 0)
			close(f);
		kids[k > 0 ? k : 0] = 0;
		alive = 0, count = 0;
		for (char *p = kids; *p;) {
			pid_t pid = (pid_t)strtol(p, &p, 10);
			while (*p == ' ')
				p++;
			if (pid <= 0)
				break;
			char ps = proc_state(pid);
			count++;
			alive |= ps != 0 && ps != 'Z' && ps != 'X';
		}
	}
	char hs = proc_state(h);
	kill(h, SIGKILL);
	int st = fl_test_wait(h);
	ASSERT_TRUE(WIFSIGNALED(st)); /* still the sleeper: the exec happened */
	if (alive)
		fl_test_fail(__FILE__, __LINE__, "children of the exec'd caller still alive: %s "
			     "(helper state %c)", kids, hs);
	ASSERT_GE(count, 4);
	ASSERT_GT(atoi(buf), 0);
}

static void *leader_gone_worker(void *p)
{
	(void)p;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0)
		exit(3);
	sleep_ms(2500); /* two of the embryo's exec checks, with the leader gone */
	char *argv[] = { "true", NULL };
	struct fl_spawn_args a = { .path = true_static(), .argv = argv };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a)), st = -1;
	if (pid <= 0 || fl_pidfd_wait(fd, &st, 0) != pid)
		exit(4);
	printf("%d\n", st);
	fflush(stdout);
	exit(0);
}

/* The main thread leaves with pthread_exit; another thread's embryo waits. */
HELPER(embryo_leader_exits)
{
	(void)argc, (void)argv;
	pthread_t t;
	true_static();
	if (pthread_create(&t, NULL, leader_gone_worker, NULL))
		return 5;
	pthread_exit(NULL);
}

/* The exec check must not take a leader that called pthread_exit for an exec. */
TEST_TIMEOUT(embryo_survives_leader_thread_exit, 30)
{
	char *s = fl_test_helper_output("embryo_leader_exits", NULL);
	ASSERT_STREQ(s, "0\n");
	free(s);
}

/* Opens the FIFO for reading after 5 s unless told to stop (a run that
 * waited for the exec would wait for that open). */
struct rescue {
	const char *fifo;
	int stop[2];
	int fd;       /* the read end it opened, or -1 */
};

static void *rescuer(void *p)
{
	struct rescue *r = p;
	struct pollfd pf = { .fd = r->stop[0], .events = POLLIN };

	if (poll(&pf, 1, 5000) == 0)
		r->fd = open(r->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return NULL;
}

/*
 * An FL_SPAWN_ASYNC run returns while the child is still before exec: its
 * OPEN action blocks on a FIFO that nobody reads yet.  The run has returned
 * the pid, the outcome is -EINPROGRESS and the child has not exited; only
 * then is the FIFO opened, and the run completes.
 */
TEST(embryo_async_returns_while_child_is_held_before_exec)
{
	char fifo[4200];
	snprintf(fifo, sizeof(fifo), "%s/held.fifo", fl_test_tmpdir());
	ASSERT_EQ(mkfifo(fifo, 0600), 0);
	int fd = emb_open();
	pid_t pid = fd_pid(fd);
	struct fl_open op = { .path = fifo, .flags = O_WRONLY };
	struct fl_action act = { .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 1,
				 .arg = (uint64_t)(uintptr_t)&op };
	char *argv[] = { "true", NULL };
	struct fl_error e = { 0, 0, -1 };
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = true_static(), .argv = argv,
				   .actions = &act, .nactions = 1, .error = &e };
	struct rescue r = { .fifo = fifo, .fd = -1 };
	pthread_t t;
	ASSERT_EQ(pipe2(r.stop, O_CLOEXEC), 0);
	ASSERT_EQ(pthread_create(&t, NULL, rescuer, &r), 0);

	int run = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	int rescued = r.fd >= 0;
	int held = fl_pidfd_spawn_result(fd, &e), st = -1;
	int alive = fl_pidfd_wait(fd, &st, WNOHANG);
	ASSERT_EQ(write(r.stop[1], "x", 1), 1);
	pthread_join(t, NULL);
	int rd = r.fd >= 0 ? r.fd : open(fifo, O_RDONLY | O_CLOEXEC); /* releases the child */
	ASSERT_EQ(run, pid);
	ASSERT_EQ(rescued, 0); /* the run did not wait for the FIFO */
	ASSERT_EQ(held, -EINPROGRESS);
	ASSERT_EQ(alive, 0);
	collect_ok(fd, pid, NULL);
	ASSERT_EQ(wait_eintr(fd, &st), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	close(rd);
	close(r.stop[0]);
	close(r.stop[1]);
	close(fd);
	unlink(fifo);
}
