/* SPDX-License-Identifier: MIT */
/*
 * test_signals.c - signals around the window between clone and exec: the
 * child never runs a caller's handler (with CLONE_CLEAR_SIGHAND and with the
 * per-signal fallback), and a child killed before exec is reported.
 *
 * The child is held in an FL_ACTION_OPEN of a FIFO while another thread
 * signals it, so the signal arrives during the child's setup for certain.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"
#include "seccomp.h"

static char fifo_path[4096];

static const char *make_fifo(void)
{
	snprintf(fifo_path, sizeof(fifo_path), "%s/fifo", fl_test_tmpdir());
	ASSERT_EQ(mkfifo(fifo_path, 0600), 0);
	return fifo_path;
}

/* The child blocks opening a FIFO; another thread kills it there. */
struct killer {
	pid_t tid;
	int sig;
	const char *fifo;
};

static pid_t find_child(pid_t tid)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", tid);
	for (int i = 0; i < 2000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			return atoi(buf);
		}
		usleep(1000);
	}
	return -1;
}

/* Until pid sleeps (blocked in its open() of the FIFO), not a fixed time. */
static void wait_asleep(pid_t pid)
{
	char path[64], buf[512], *p;

	for (int i = 0; i < 100000; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return;
		buf[n] = 0;
		if ((p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'S')
			return;
		sched_yield();
	}
}

static void *kill_child(void *p)
{
	struct killer *k = p;
	pid_t child = find_child(k->tid);
	if (child > 0) {
		wait_asleep(child); /* in open() */
		kill(child, k->sig);
	}
	if (k->sig != SIGKILL) {
		/* unblock the open so the child reaches exec's mask change */
		int fd = open(k->fifo, O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* Spawn true whose child, held in open() of a FIFO, gets sig before exec:
 * the run must report the death, with the signal. */
static void spawn_signalled_before_exec(int sig)
{
	struct killer k = { (pid_t)syscall(SYS_gettid), sig, make_fifo() };
	struct fl_open o = { .path = k.fifo, .flags = O_RDONLY };
	struct fl_action a = { .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 0, .arg = (uintptr_t)&o };
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, kill_child, &k), 0);
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &a, 1, &e), e, -ECHILD, FL_STAGE_KILLED);
	ASSERT_EQ(e.index, sig);
	pthread_join(t, NULL);
}

TEST(child_killed_before_exec_is_reported)
{
	if (fl_test_valgrind())
		SKIP("valgrind runs the child as a fork: death before exec is not seen");
	spawn_signalled_before_exec(SIGKILL);
}

/*
 * A signal that arrives before exec stays blocked until the child sets its
 * final mask; by then the caller's handler is gone, so the default action
 * (terminate) happens and the caller's handler never runs in the child.
 */
static volatile sig_atomic_t handler_ran_in;

static void on_usr1(int sig)
{
	(void)sig;
	handler_ran_in = getpid();
}

static void check_handler_not_run(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	spawn_signalled_before_exec(SIGUSR1);
	ASSERT_EQ(handler_ran_in, 0);
}

TEST(child_never_runs_caller_signal_handler)
{
	if (fl_test_valgrind())
		SKIP("valgrind runs the child as a fork: death before exec is not seen");
	check_handler_not_run();
}

/* The same on a kernel whose clone3 refuses CLONE_CLEAR_SIGHAND (emulated). */
TEST(per_signal_reset_fallback_without_clear_sighand)
{
	if (fl_test_valgrind())
		SKIP("valgrind has no clone3");
	if (fl_test_native_path())
		SKIP("the native path: the kernel's builder resets handlers, no clone3 to refuse");
	volatile int refused = 0, passed = 0;
	fl_sc_no_clear_sighand(&refused, &passed);
	char *argv[] = { "true", NULL };
	pid_t pid = fl_spawn("/bin/true", argv, NULL, NULL, 0, NULL);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(fl_test_wait(pid), 0);
	ASSERT_EQ(refused, 1); /* tried once with the flag, then remembered */
	ASSERT_EQ(passed, 1);
	check_handler_not_run();
	ASSERT_EQ(refused, 1);
	ASSERT_GE(passed, 2); /* glibc's pthread_create may use clone3 too */
	fl_sc_supervisor_close();
}

/*
 * glibc's internal signals 32 and 33 (SIGCANCEL, SIGSETXID), which its
 * sigaction(2) wrapper refuses to touch: a handler of the caller ends as
 * SIG_DFL in the child, as every caught signal does (CLONE_CLEAR_SIGHAND
 * gives that; the per-signal fallback does the same, not glibc's SIG_IGN,
 * which the executed program would inherit); an ignored one stays ignored.
 */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long long mask;
};

static void on_internal(int sig)
{
	(void)sig;
}

static void set_internal(int sig, void *handler)
{
	struct ksigaction sa = { handler, 0, NULL, 0 };
	ASSERT_EQ(syscall(SYS_rt_sigaction, sig, &sa, NULL, 8), 0);
}

/* The child's SigIgn bits of 32 and 33 (bit n-1 is signal n). */
static unsigned long long child_ignores_32_33(void)
{
	unsigned long long blk, ign;
	int st, fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	char *out = fl_test_run_handle(fd, "attrs_signals", NULL, &st);
	ASSERT_EQ(st, 0);
	ASSERT_EQ(sscanf(out, "blk=%llx ign=%llx", &blk, &ign), 2);
	free(out);
	return ign & (3ULL << 31);
}

static void check_internal_signals(void)
{
	set_internal(32, (void *)on_internal);
	set_internal(33, (void *)on_internal);
	ASSERT_EQ(child_ignores_32_33(), 0); /* SIG_DFL: a handler cannot survive exec */
	set_internal(32, (void *)SIG_IGN);
	set_internal(33, (void *)SIG_IGN);
	ASSERT_EQ(child_ignores_32_33(), 3ULL << 31);
	set_internal(32, (void *)SIG_DFL);
	set_internal(33, (void *)SIG_DFL);
}

TEST(internal_signals_32_33_default_in_child)
{
	check_internal_signals();
	/* the clone fallback (clone3 refused): no CLONE_CLEAR_SIGHAND at all */
	struct fl_sc_rule r[] = { { SYS_clone3, ENOSYS, 0, 0 } };
	fl_sc_install(r, 1);
	check_internal_signals();
}

TEST(internal_signals_32_33_default_without_clear_sighand)
{
	if (fl_test_valgrind())
		SKIP("valgrind has no clone3");
	if (fl_test_native_path())
		SKIP("the native path: the kernel's builder resets handlers, no clone3 to refuse");
	volatile int refused = 0, passed = 0;
	fl_sc_no_clear_sighand(&refused, &passed);
	check_internal_signals();
	ASSERT_EQ(refused, 1); /* the per-signal reset ran */
	ASSERT_GE(passed, 2);
	fl_sc_supervisor_close();
}
