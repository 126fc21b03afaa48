/* SPDX-License-Identifier: MIT */
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
 *
 * The reserve (fl_embryo_reserve) takes the clone off the caller's thread:
 * a nursery, itself an embryo made by the reserving thread, keeps spares
 * cloned ahead, and fl_pidfd_open hands one out with pidfd_open(2).  Each
 * spare kicks the nursery as it starts its run, so the next one is made in
 * the time of processes other than the caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

/* One mapping per embryo: a guard page (of the system's page size), then
 * the block: the stack, and at its top the control block, so that a nursery
 * can clone into a block the caller made. */
#define BLOCK_SIZE (64 * 1024)
#define CTL_SPACE ((sizeof(struct fl__embryo) + 63) & ~(size_t)63)
#define POOL_MAX 16

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void *pool[POOL_MAX];
static int pool_n;

static void *block_base(struct fl__embryo *e)
{
	return (char *)e + CTL_SPACE - BLOCK_SIZE;
}

/* A zeroed control block on a stack of its own; NULL if out of memory. */
static struct fl__embryo *embryo_alloc(void)
{
	void *p = NULL;

	pthread_mutex_lock(&pool_lock);
	if (pool_n > 0)
		p = pool[--pool_n];
	pthread_mutex_unlock(&pool_lock);
	if (!p) {
		size_t guard = fl__page_size();
		p = mmap(NULL, guard + BLOCK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		mprotect(p, guard, PROT_NONE); /* guard page */
		p = (char *)p + guard;
	}
	struct fl__embryo *e = (struct fl__embryo *)((char *)p + BLOCK_SIZE - CTL_SPACE);
	memset(e, 0, sizeof(*e));
	e->pidfd = -1;
	return e;
}

/* Only once the embryo's mm is released (tid == 0) or it never ran: it used this stack. */
void fl__embryo_free(struct fl__embryo *e)
{
	void *p;

	if (!e)
		return;
	if (e->pidfd >= 0)
		close(e->pidfd);
	p = block_base(e);
	pthread_mutex_lock(&pool_lock);
	if (pool_n < POOL_MAX) {
		pool[pool_n++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (p)
		munmap((char *)p - fl__page_size(), fl__page_size() + BLOCK_SIZE);
}

/* cmd, kick and passes are private futexes (only tasks of our mm use them);
 * tid is not: the kernel wakes it as a shared one (CLONE_CHILD_CLEARTID) */
static long futex(void *addr, int op, int val, const struct timespec *ts)
{
	return fl__sys6(__NR_futex, (long)addr, op, val, (long)ts, 0, 0);
}

/*
 * Clone e's process on the calling thread, running fn(e): sets e->pid and
 * e->mode, and the pidfd in *ret_pidfd unless ret_pidfd is NULL.  0 or -errno.
 */
static int embryo_clone(struct fl__embryo *e, int (*fn)(void *), int *ret_pidfd)
{
	uint64_t all = ~0ULL, old;
	int pidfd = -1;
	long pid = -ENOSYS;
	/* tid must hold the embryo's tid before we return: a run right away
	 * must not see the 0 that means "done" (CLONE_CHILD_SETTID writes it
	 * only when the embryo is first scheduled) */
	uint64_t flags = CLONE_VM | CLONE_FILES | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID |
			 (ret_pidfd ? CLONE_PIDFD : 0);

	e->cmd = FL__EMB_WAIT;
	e->parent_pid = getpid();
	e->creator_tid = (pid_t)fl__sys0(__NR_gettid);
	e->mode = 0;
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
		.stack = (uint64_t)(uintptr_t)block_base(e),
		.stack_size = BLOCK_SIZE - CTL_SPACE,
	};
	pid = fl__clone3_run(&a, FL__CLONE_ARGS_SIZE_VER0, fn, e);
	if (pid == -EINVAL) { /* no CLONE_CLEAR_SIGHAND (< 5.5) */
		a.flags = flags | CLONE_PARENT_SETTID;
		pid = fl__clone3_run(&a, FL__CLONE_ARGS_SIZE_VER0, fn, e);
	} else if (pid > 0) {
		e->mode = FL__MODE_SIGHAND_CLEARED;
	}
#endif
	if (pid == -ENOSYS || pid == -EPERM) { /* clone3 refused */
		int saved = errno;
		pid = clone(fn, e, (int)flags | SIGCHLD, e, &pidfd, NULL, &e->tid);
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
	e->pid = (pid_t)pid;
	if (ret_pidfd) {
		*ret_pidfd = pidfd;
		e->pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3); /* -1: reaped by pid */
	}
	return 0;
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
	futex(&e->cmd, FUTEX_WAKE_PRIVATE, 1, NULL);
	while (__atomic_load_n(&e->cmd, __ATOMIC_ACQUIRE) == FL__EMB_OP) {
		if (__atomic_load_n(&e->tid, __ATOMIC_ACQUIRE) == 0)
			return -ESRCH; /* killed meanwhile */
		futex(&e->cmd, FUTEX_WAIT_PRIVATE, FL__EMB_OP, &tick);
	}
	return e->op_result;
}

/* Release the embryo into its run (spec and report set in e->arg): from
 * now on the caller reaps it, through its handle. */
void fl__embryo_start(struct fl__embryo *e)
{
	if (e->pidfd >= 0) {
		close(e->pidfd);
		e->pidfd = -1;
	}
	__atomic_store_n(&e->cmd, FL__EMB_RUN, __ATOMIC_RELEASE);
	futex(&e->cmd, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* 1 once the embryo exec'd or exited; with block, waits for that. */
int fl__embryo_done(struct fl__embryo *e, int block)
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
			if (waitid(e->pidfd >= 0 ? (idtype_t)P_PIDFD : P_PID,
				   e->pidfd >= 0 ? (id_t)e->pidfd : (id_t)e->pid, &si,
				   WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 &&
			    si.si_pid == e->pid)
				return 1;
		}
	}
}

/*
 * Reap e: through our pidfd of it, so that a program that reaped it first
 * (a wait for any child) cannot make us reap another process that got its
 * pid.  By pid only for the reserve's nursery and a spare killed before it
 * was handed out, which have no pidfd (the nursery clones spares with the
 * classic clone's one tid slot; both move into the spawn server).
 */
static void reap(struct fl__embryo *e)
{
	siginfo_t si;
	int st;

	if (e->pidfd >= 0) {
		while (waitid((idtype_t)P_PIDFD, (id_t)e->pidfd, &si, WEXITED | __WALL) < 0 &&
		       errno == EINTR)
			;
		close(e->pidfd);
		e->pidfd = -1;
		return;
	}
	/* ECHILD: the program reaped it already */
	while (waitpid(e->pid, &st, __WALL) < 0 && errno == EINTR)
		;
}

/* End an embryo that was never run (or whose handle was closed): it exits
 * at once; then reap it. */
void fl__embryo_kill(struct fl__embryo *e)
{
	__atomic_store_n(&e->cmd, FL__EMB_EXIT, __ATOMIC_RELEASE);
	futex(&e->cmd, FUTEX_WAKE_PRIVATE, 1, NULL);
	reap(e);
	__atomic_store_n(&e->tid, 0, __ATOMIC_RELEASE); /* reaped: its mm is gone */
}

/* ---- the reserve ---------------------------------------------------------- */

static pthread_mutex_t reserve_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fl__reserve reserve;  /* never freed: spares kick it */
static struct fl__embryo *nursery;  /* NULL: no reserve */
static pid_t reserve_owner;         /* the process that made it */
static unsigned int reserve_n;
static uid_t reserve_uid[3];
static gid_t reserve_gid[3];

static void kick(void)
{
	__atomic_add_fetch(&reserve.kick, 1, __ATOMIC_RELEASE);
	futex(&reserve.kick, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* Give slot i an empty block for the nursery to fill (reserve_lock held). */
static void slot_refill(unsigned int i)
{
	struct fl__embryo *e = embryo_alloc();

	reserve.slot[i] = e;
	if (!e) {
		__atomic_store_n(&reserve.state[i], FL__SPARE_NONE, __ATOMIC_RELEASE);
		return;
	}
	e->cmd = FL__EMB_WAIT;
	e->parent_pid = reserve_owner;
	e->reserve = &reserve;
	__atomic_store_n(&reserve.state[i], FL__SPARE_EMPTY, __ATOMIC_RELEASE);
}

/* Stop the nursery, end every spare, free every block (reserve_lock held). */
static void reserve_end(void)
{
	if (!nursery)
		return;
	if (reserve_owner != getpid()) { /* a fork child's copy: not our children */
		nursery = NULL;
		reserve_n = 0;
		memset(&reserve, 0, sizeof(reserve));
		return;
	}
	__atomic_store_n(&reserve.quit, 1, __ATOMIC_RELEASE);
	kick();
	fl__embryo_done(nursery, 1);
	reap(nursery);
	fl__embryo_free(nursery);
	nursery = NULL;
	/* the nursery is gone: every slot is ours */
	for (unsigned int i = 0; i < FL__RESERVE_MAX; i++) {
		struct fl__embryo *e = reserve.slot[i];
		uint32_t st = reserve.state[i];
		if (!e)
			continue;
		if (st == FL__SPARE_CLONING && e->tid) /* the nursery died mid-way */
			e->pid = e->tid;
		if (st == FL__SPARE_READY || (st == FL__SPARE_CLONING && e->pid)) {
			if (e->tid)
				fl__embryo_kill(e);
			else
				reap(e); /* died with its creator thread */
		}
		fl__embryo_free(e);
	}
	reserve_n = 0;
	memset(&reserve, 0, sizeof(reserve));
}

static bool creds_changed(void)
{
	uid_t u[3];
	gid_t g[3];

	getresuid(&u[0], &u[1], &u[2]);
	getresgid(&g[0], &g[1], &g[2]);
	return memcmp(u, reserve_uid, sizeof(u)) || memcmp(g, reserve_gid, sizeof(g));
}

/*
 * A spare from the reserve, with its pidfd in *ret_pidfd; NULL if there is
 * none ready (*err 0) or pidfd_open failed (*err).  The reserve ends here
 * when the credentials changed since it was made (a spare would run a
 * program with the old ones) or its nursery died with its thread.
 */
static struct fl__embryo *reserve_take(int *ret_pidfd, int *err)
{
	struct fl__embryo *got = NULL;
	bool starved = false;

	*err = 0;
	pthread_mutex_lock(&reserve_lock);
	if (!nursery || reserve_owner != getpid())
		goto out;
	if (creds_changed() || __atomic_load_n(&nursery->tid, __ATOMIC_ACQUIRE) == 0) {
		reserve_end();
		goto out;
	}
	for (unsigned int i = 0; i < reserve_n && !got; i++) {
		uint32_t st = __atomic_load_n(&reserve.state[i], __ATOMIC_ACQUIRE);
		struct fl__embryo *e = reserve.slot[i];
		if (st == FL__SPARE_NONE) {
			slot_refill(i);
			starved = true;
		} else if (st == FL__SPARE_FAILED) {
			fl__embryo_free(e);
			slot_refill(i);
			starved = true;
		} else if (st == FL__SPARE_READY && __atomic_load_n(&e->tid, __ATOMIC_ACQUIRE) == 0) {
			reap(e); /* killed while it waited */
			fl__embryo_free(e);
			slot_refill(i);
			starved = true;
		} else if (st == FL__SPARE_READY) {
			long fd = fl__sys2(__NR_pidfd_open, e->pid, 0);
			if (fd < 0) {
				*err = (int)fd;
				break;
			}
			*ret_pidfd = (int)fd;
			e->pidfd = fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
			got = e;
			got->mode = nursery->mode; /* it copied the nursery's handlers */
			slot_refill(i); /* the spare kicks the nursery when it runs */
		}
	}
	if (!got && !*err)
		starved = true;
	if (starved)
		kick();
out:
	pthread_mutex_unlock(&reserve_lock);
	return got;
}

/* A new embryo (a spare if the reserve has one) and its pidfd; 0 or -errno. */
int fl__embryo_new(struct fl__embryo **ret, int *ret_pidfd)
{
	int r;
	struct fl__embryo *e = reserve_take(ret_pidfd, &r);

	if (e || r < 0) {
		*ret = e;
		return r;
	}
	if (!(e = embryo_alloc()))
		return -ENOMEM;
	if ((r = embryo_clone(e, fl__embryo_main, ret_pidfd)) < 0) {
		fl__embryo_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

static int embryo_reserve(unsigned int n, unsigned int flags);

FL__EXPORT int fl_embryo_reserve(unsigned int n, unsigned int flags)
{
	FL__KEEP_ERRNO;
	int cs, r;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = embryo_reserve(n, flags);
	pthread_setcancelstate(cs, NULL);
	return r;
}

static int embryo_reserve(unsigned int n, unsigned int flags)
{
	int r = 0;

	if (flags || n > FL_EMBRYO_RESERVE_MAX)
		return -EINVAL;
#ifndef FL__HAVE_CLONE3_ASM
	if (n)
		return -ENOSYS; /* the nursery needs fl__clone_run */
#endif
	pthread_mutex_lock(&reserve_lock);
	reserve_end();
	if (n == 0)
		goto out;
	if (!(nursery = embryo_alloc())) {
		r = -ENOMEM;
		goto out;
	}
	reserve_owner = getpid();
	getresuid(&reserve_uid[0], &reserve_uid[1], &reserve_uid[2]);
	getresgid(&reserve_gid[0], &reserve_gid[1], &reserve_gid[2]);
	nursery->reserve = &reserve;
	reserve.spare_flags = CLONE_VM | CLONE_FILES | CLONE_PARENT | CLONE_PARENT_SETTID |
			      CLONE_CHILD_CLEARTID;
	reserve_n = n;
	for (unsigned int i = 0; i < n; i++)
		slot_refill(i);
	/* the nursery fills the slots as it starts */
	if ((r = embryo_clone(nursery, fl__nursery_main, NULL)) < 0) {
		for (unsigned int i = 0; i < n; i++)
			fl__embryo_free(reserve.slot[i]);
		memset(&reserve, 0, sizeof(reserve));
		fl__embryo_free(nursery);
		nursery = NULL;
		reserve_n = 0;
		goto out;
	}
	/* the spares are ready when this returns, or their clone's error is ours */
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	while (__atomic_load_n(&reserve.passes, __ATOMIC_ACQUIRE) == 0 && nursery->tid)
		futex(&reserve.passes, FUTEX_WAIT_PRIVATE, 0, &tick);
	for (unsigned int i = 0; i < n && r == 0; i++) {
		uint32_t st = __atomic_load_n(&reserve.state[i], __ATOMIC_ACQUIRE);
		if (st == FL__SPARE_FAILED)
			r = (int)reserve.slot[i]->clone_err;
		else if (st == FL__SPARE_NONE)
			r = -ENOMEM; /* no block to fill */
		else if (st != FL__SPARE_READY)
			r = -ESRCH; /* the nursery was killed */
	}
	if (r < 0)
		reserve_end();
out:
	pthread_mutex_unlock(&reserve_lock);
	return r;
}

/* fork(): the pool is taken around it, so the child's copy is whole; the
 * reserve's lock may be held by a thread the child does not have (the
 * reserve is not the child's anyway: reserve_owner). */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&pool_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&pool_lock);
}

static void atfork_child(void)
{
	pthread_mutex_init(&pool_lock, NULL);
	pthread_mutex_init(&reserve_lock, NULL);
}

__attribute__((constructor)) static void embryo_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* At exit: end the reserve, so that no spare outlives a clean exit.  Not
 * if the lock is taken (another thread is in a call, or a fork copied it
 * taken): the spares then die with their thread, or are not ours. */
void fl__reserve_cleanup(void)
{
	if (pthread_mutex_trylock(&reserve_lock) != 0)
		return;
	reserve_end();
	pthread_mutex_unlock(&reserve_lock);
}
