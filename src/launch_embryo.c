/*
 * launch_embryo.c - the embryo launcher: processes that exist before they run.
 *
 * fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO) creates the process at
 * once with clone3(CLONE_VM|CLONE_FILES|CLONE_PIDFD|CLONE_CHILD_SETTID|
 * CLONE_CHILD_CLEARTID|CLONE_CLEAR_SIGHAND), without CLONE_VFORK, on a stack
 * of its own: the caller returns right away and the embryo sleeps in
 * fl__embryo_main() (child.c) on a futex word of its control block.  Running
 * it means filling the spec and waking it; the embryo then runs the same
 * child executor as every launcher.  The caller learns "exec happened or the
 * embryo exited" from CLONE_CHILD_CLEARTID (the kernel zeroes tid and wakes
 * its futex when the embryo's mm is released) and "it failed" from the
 * report, so the run can be waited for or collected later without blocking.
 * A stack goes back to the pool only after that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

#define STACK_SIZE (64 * 1024)
#define POOL_MAX 16

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void *pool[POOL_MAX];
static int pool_n;

void *fl__embryo_stack_get(void)
{
	void *p = NULL;

	pthread_mutex_lock(&pool_lock);
	if (pool_n > 0)
		p = pool[--pool_n];
	pthread_mutex_unlock(&pool_lock);
	if (p)
		return p;
	p = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mprotect(p, 4096, PROT_NONE); /* guard page */
	return p;
}

/* Only once the embryo's mm is released (tid == 0): it ran on this stack. */
void fl__embryo_stack_put(void *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&pool_lock);
	if (pool_n < POOL_MAX) {
		pool[pool_n++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (p)
		munmap(p, STACK_SIZE);
}

static long futex(void *addr, int op, int val, const struct timespec *ts)
{
	return fl__sys6(__NR_futex, (long)addr, op, val, (long)ts, 0, 0);
}

int fl__embryo_create(struct fl__embryo *e, void *stack, int *ret_pidfd, uint32_t *ret_mode)
{
	uint64_t all = ~0ULL, old;
	int pidfd = -1;
	long pid = -ENOSYS;
	/* tid must hold the embryo's tid before we return: a run right away
	 * must not see the 0 that means "done" (CLONE_CHILD_SETTID writes it
	 * only when the embryo is first scheduled) */
	uint64_t flags = CLONE_VM | CLONE_FILES | CLONE_PIDFD | CLONE_CHILD_SETTID |
			 CLONE_CHILD_CLEARTID;

	e->cmd = FL__EMB_WAIT;
	e->parent_pid = getpid();
	*ret_mode = 0;
	if (fl__under_valgrind())
		return -ENOSYS; /* valgrind aborts on CLONE_VM without CLONE_VFORK/THREAD */
	/* the embryo starts with every signal blocked and keeps them so until
	 * the child executor sets the configured mask before exec */
	fl__sys4(__NR_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
#ifdef FL__HAVE_CLONE3_ASM
	struct fl__clone_args a = {
		.flags = flags | CLONE_PARENT_SETTID | FL__CLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.child_tid = (uint64_t)(uintptr_t)&e->tid,
		.parent_tid = (uint64_t)(uintptr_t)&e->tid, /* with CLONE_PARENT_SETTID */
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)stack,
		.stack_size = STACK_SIZE,
	};
	pid = fl__clone3_run(&a, FL__CLONE_ARGS_SIZE_VER0, fl__embryo_main, e);
	if (pid == -EINVAL) { /* no CLONE_CLEAR_SIGHAND (< 5.5) */
		a.flags = flags | CLONE_PARENT_SETTID;
		pid = fl__clone3_run(&a, FL__CLONE_ARGS_SIZE_VER0, fl__embryo_main, e);
	} else if (pid > 0) {
		*ret_mode = FL__MODE_SIGHAND_CLEARED;
	}
#endif
	if (pid == -ENOSYS || pid == -EPERM) { /* clone3 refused */
		int saved = errno;
		pid = clone(fl__embryo_main, (char *)stack + STACK_SIZE, (int)flags | SIGCHLD, e,
			    &pidfd, NULL, &e->tid);
		if (pid < 0)
			pid = -errno;
		errno = saved;
		/* clone() has one ptid slot, taken by the pidfd: store tid here
		 * unless the embryo already did (fl__embryo_done copes with an
		 * embryo killed before either store) */
		int zero = 0;
		if (pid > 0)
			__atomic_compare_exchange_n(&e->tid, &zero, (int)pid, 0, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED);
	}
	fl__sys4(__NR_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	if (pid < 0)
		return (int)pid;
	*ret_pidfd = pidfd;
	return (int)pid;
}

/* Ask the embryo to do op at config time; its result (0 or -errno). */
long fl__embryo_op(struct fl__embryo *e, int op, const void *ptr, long arg, long arg2)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };

	e->op = op;
	e->op_ptr = ptr;
	e->op_arg = arg;
	e->op_arg2 = arg2;
	__atomic_store_n(&e->cmd, FL__EMB_OP, __ATOMIC_RELEASE);
	futex(&e->cmd, FUTEX_WAKE, 1, NULL);
	while (__atomic_load_n(&e->cmd, __ATOMIC_ACQUIRE) == FL__EMB_OP) {
		if (__atomic_load_n(&e->tid, __ATOMIC_ACQUIRE) == 0)
			return -ESRCH; /* killed meanwhile */
		futex(&e->cmd, FUTEX_WAIT, FL__EMB_OP, &tick);
	}
	return e->op_result;
}

/* Release the embryo into its run (spec and report set in e->arg). */
void fl__embryo_start(struct fl__embryo *e)
{
	__atomic_store_n(&e->cmd, FL__EMB_RUN, __ATOMIC_RELEASE);
	futex(&e->cmd, FUTEX_WAKE, 1, NULL);
}

/* 1 once the embryo exec'd or exited; with block, waits for that. */
int fl__embryo_done(struct fl__embryo *e, pid_t pid, int block)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	siginfo_t si;

	for (;;) {
		int tid = __atomic_load_n(&e->tid, __ATOMIC_ACQUIRE);
		if (tid == 0)
			return 1;
		if (!block)
			return 0;
		/* the kernel wakes it at mm release; the timeout covers an embryo
		 * that died before tid was stored (clone() fallback) */
		if (futex(&e->tid, FUTEX_WAIT, tid, &tick) == -ETIMEDOUT) {
			si.si_pid = 0;
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == pid)
				return 1;
		}
	}
}

/* End an embryo that was never run (or whose handle was closed): it exits
 * at once; then reap it. */
void fl__embryo_kill(struct fl__embryo *e, pid_t pid)
{
	int st;

	__atomic_store_n(&e->cmd, FL__EMB_EXIT, __ATOMIC_RELEASE);
	futex(&e->cmd, FUTEX_WAKE, 1, NULL);
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	__atomic_store_n(&e->tid, 0, __ATOMIC_RELEASE); /* reaped: its mm is gone */
}
