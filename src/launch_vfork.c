/* SPDX-License-Identifier: MIT */
/*
 * launch_vfork.c - the default launcher: a vfork-style clone on a private stack.
 *
 * clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|CLONE_CLEAR_SIGHAND|CLONE_FILES)
 * runs the child executor on a per-thread mmap'ed stack while the caller
 * thread sleeps until the child exec'd or exited.  Sharing the address space
 * means no page tables are copied (cost independent of the caller's size);
 * sharing the fd table until the child unshares only the fds it needs makes
 * the cost independent of the caller's open fds: the child copies the table
 * only up to the highest low fd it reads and takes the few it reads above
 * FL__FAR_FD with pidfd_getfd (a template made after thousands of fds),
 * or, where that is refused, is launched once more with a full copy.
 * The child's report lives in
 * shared memory, so no pipe is needed.
 *
 * Fallbacks, each remembered for the life of the process:
 *   clone3 EINVAL with CLONE_CLEAR_SIGHAND (< 5.5) -> without it; the child
 *     resets handlers one by one;
 *   clone3 ENOSYS/EPERM (seccomp, valgrind) -> clone(2) (with CLONE_PIDFD
 *     when the caller wants a pidfd; fl_spawn does not ask for one); a
 *     configured cgroup is then joined by the child via cgroup.procs.
 * Under valgrind, which runs CLONE_VM|CLONE_VFORK as a fork, memory is not
 * shared: the child then reports through a CLOEXEC pipe instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "internal.h"
#include "sys.h"

#define STACK_SIZE (64 * 1024) /* the child's deepest frame holds a PATH_MAX buffer */

static atomic_int no_clone3;       /* clone3 refused: use clone() */
static atomic_int no_clear_sighand; /* CLONE_CLEAR_SIGHAND unknown */
static atomic_int far_state;       /* taking far fds: 0 untried, 1 works, 2 refused */

/* ---- per-thread stacks ------------------------------------------------- */

/* A thread's spawns are sequential (the caller sleeps until exec), so one
 * stack per thread suffices; it is unmapped when the thread exits. */
static __thread void *thread_stack;
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;

/* p is the stack's low end; the guard page(s) below it share the mapping. */
static void stack_free(void *p)
{
	size_t guard = fl__page_size();

	munmap((char *)p - guard, guard + STACK_SIZE);
}

static void stack_key_init(void)
{
	pthread_key_create(&stack_key, stack_free);
}

static void *get_stack(void)
{
	size_t guard = fl__page_size(); /* one page, whatever its size (64 KiB exist) */
	char *p;

	if (thread_stack)
		return thread_stack;
	pthread_once(&stack_once, stack_key_init);
	p = mmap(NULL, guard + STACK_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mprotect(p, guard, PROT_NONE); /* guard page */
	p += guard;
	pthread_setspecific(stack_key, p);
	return thread_stack = p;
}

/* Free this thread's stack now (the library destructor, for leak checkers). */
void fl__vfork_release_stack(void)
{
	if (thread_stack) {
		pthread_setspecific(stack_key, NULL);
		stack_free(thread_stack);
		thread_stack = NULL;
	}
}

/* ---- clone ------------------------------------------------------------- */

static long try_clone3(struct fl__spec *s, uint64_t flags, void *stack,
		       struct fl__child_arg *ca, int *pidfd)
{
#ifdef FL__HAVE_CLONE3_ASM
	struct fl__clone_args a = {
		.flags = flags,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)stack,
		.stack_size = STACK_SIZE,
		.cgroup = (flags & FL__CLONE_INTO_CGROUP) ? (uint64_t)s->cgroup_fd : 0,
	};
	size_t size = (flags & FL__CLONE_INTO_CGROUP) ? FL__CLONE_ARGS_SIZE_VER2
						     : FL__CLONE_ARGS_SIZE_VER0;
	return fl__clone3_run(&a, size, fl__child_main, ca);
#else
	(void)s, (void)flags, (void)stack, (void)ca, (void)pidfd;
	return -ENOSYS;
#endif
}

static long try_clone(uint64_t flags, void *stack, struct fl__child_arg *ca, int *pidfd)
{
	int saved = errno;
	long r = clone(fl__child_main, (char *)stack + STACK_SIZE,
		       (int)flags | SIGCHLD, ca, pidfd);
	if (r < 0) {
		r = -errno;
		errno = saved;
	}
	return r;
}

/*
 * Create the child, walking down the fallback ladder; sets s->mode bits that
 * tell the child what the kernel already did.  Runs with all signals blocked.
 */
static long do_clone(struct fl__spec *s, void *stack, struct fl__child_arg *ca, int *pidfd)
{
	uint64_t base = CLONE_VM | CLONE_VFORK | (pidfd ? CLONE_PIDFD : 0);
	long r = -ENOSYS;

	if (s->mode & FL__MODE_FILES_SHARED)
		base |= CLONE_FILES;
	if (!atomic_load_explicit(&no_clone3, memory_order_relaxed)) {
		uint64_t extra = 0;
		if (!atomic_load_explicit(&no_clear_sighand, memory_order_relaxed))
			extra |= FL__CLONE_CLEAR_SIGHAND;
		if (s->set & FL__SET_CGROUP)
			extra |= FL__CLONE_INTO_CGROUP;
		for (;;) {
			s->mode &= ~(FL__MODE_SIGHAND_CLEARED | FL__MODE_IN_CGROUP);
			if (extra & FL__CLONE_CLEAR_SIGHAND)
				s->mode |= FL__MODE_SIGHAND_CLEARED;
			if (extra & FL__CLONE_INTO_CGROUP)
				s->mode |= FL__MODE_IN_CGROUP;
			r = try_clone3(s, base | extra, stack, ca, pidfd);
			if (r == -EINVAL && (extra & FL__CLONE_CLEAR_SIGHAND)) {
				atomic_store(&no_clear_sighand, 1);
				extra &= ~FL__CLONE_CLEAR_SIGHAND;
				continue;
			}
			/* seccomp may refuse the larger struct only: retry plainly */
			if ((r == -ENOSYS || r == -EPERM || r == -E2BIG) &&
			    (extra & FL__CLONE_INTO_CGROUP)) {
				extra &= ~FL__CLONE_INTO_CGROUP;
				continue;
			}
			break;
		}
		if (r != -ENOSYS && r != -EPERM)
			return r;
		atomic_store(&no_clone3, 1);
	}
	s->mode &= ~(FL__MODE_SIGHAND_CLEARED | FL__MODE_IN_CGROUP);
	return try_clone(base, stack, ca, pidfd);
}

/* Reap a child that failed before exec; returns its wait status. */
static int reap(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	return st;
}

static void set_error(struct fl_error *e, int err, int stage, int index)
{
	e->err = err;
	e->stage = stage;
	e->index = index;
}

/* A cgroup the kernel refused at clone time is a cgroup error, not a clone one. */
static int clone_stage(const struct fl__spec *s, long r)
{
	if ((s->mode & FL__MODE_IN_CGROUP) &&
	    (r == -EBUSY || r == -EOPNOTSUPP || r == -EBADF || r == -EACCES || r == -ENOENT))
		return FL_STAGE_CGROUP;
	return FL_STAGE_CLONE;
}

/* Read the child's report from the pipe (valgrind mode): 1 if it failed. */
static int read_errpipe(int fd, struct fl__report *rep)
{
	ssize_t n;

	while ((n = read(fd, rep, sizeof(*rep))) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*rep);
}

/* valgrind runs CLONE_VM children as forks (and refuses embryos' flags). */
int fl__under_valgrind(void)
{
	return RUNNING_ON_VALGRIND;
}

/*
 * Whether the child may take the far fds from this thread's table
 * (FL__MODE_FAR_FDS): thread pidfds (6.9) are tried here once; a child
 * refused pidfd_getfd (ptrace rules, seccomp) turns it off for good.
 */
static int far_fds_ok(void)
{
	int st = atomic_load_explicit(&far_state, memory_order_relaxed);

	if (st == 0) {
		long fd = fl__sys2(__NR_pidfd_open, fl__sys0(__NR_gettid), FL__PIDFD_THREAD);
		if (fd >= 0)
			fl__sys1(__NR_close, fd);
		st = fd >= 0 ? 1 : 2;
		atomic_store(&far_state, st);
	}
	return st == 1;
}

/* ret_pidfd NULL: the caller needs no pidfd, so none is made. */
int fl__launch_vfork(struct fl__spec *s, int *ret_pidfd, struct fl_error *err)
{
	struct fl__report rep = { 0, 0, -1, 0, 0 };
	uint64_t all = ~0ULL, old;
	int pidfd = -1, pipefd[2] = { -1, -1 };
	struct fl__child_arg ca = { s, &rep, &pidfd };
	void *stack = get_stack();
	long pid;

	if (!stack) {
		set_error(err, ENOMEM, FL_STAGE_CLONE, -1);
		return -ENOMEM;
	}
	s->errfd = -1;
	if (fl__under_valgrind()) {
		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			set_error(err, errno, FL_STAGE_CLONE, -1);
			return -err->err;
		}
		s->mode |= FL__MODE_ERRPIPE;
		s->errfd = pipefd[1];
		s->errfd_read = pipefd[0];
	} else if (!(s->mode & FL__MODE_INHERIT_FDS)) {
		s->mode |= FL__MODE_FILES_SHARED;
		if (s->nfar > 0 && far_fds_ok()) {
			s->mode |= FL__MODE_FAR_FDS;
			s->caller_tid = (pid_t)fl__sys0(__NR_gettid);
		}
	}

	for (;;) {
		/* No handler of ours may run in the child, which shares our memory:
		 * block everything from before clone, glibc's internal signals too.
		 * The child resets dispositions, then sets its own mask before exec. */
		fl__sys4(__NR_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
		pid = do_clone(s, stack, &ca, ret_pidfd ? &pidfd : NULL);
		fl__sys4(__NR_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
		if (pid < 0 || !rep.retry)
			break;
		/* the far fds were refused: that child did nothing else; again, copying */
		reap((pid_t)pid);
		if (pidfd >= 0)
			close(pidfd);
		pidfd = -1;
		atomic_store(&far_state, 2);
		s->mode &= ~FL__MODE_FAR_FDS;
		rep = (struct fl__report){ 0, 0, -1, 0, 0 };
	}

	if (pipefd[1] >= 0) {
		close(pipefd[1]);
		if (pid > 0 && !read_errpipe(pipefd[0], &rep))
			rep.reached = FL_STAGE_EXEC; /* EOF: exec'd (or died unseen) */
		close(pipefd[0]);
	}
	if (pid < 0) {
		set_error(err, (int)-pid, clone_stage(s, pid), -1);
		return (int)pid;
	}
	return fl__outcome(&rep, (pid_t)pid, pidfd, ret_pidfd, err);
}

/*
 * The result of a child that exec'd or exited: its pid (and pidfd in
 * *ret_pidfd if asked for), or, if it failed or died before exec, the error,
 * with the child reaped and its pidfd closed so that nothing is left.
 */
int fl__outcome(const struct fl__report *rep, pid_t pid, int pidfd, int *ret_pidfd,
		struct fl_error *err)
{
	return fl__outcome_reap(rep, pid, pidfd, ret_pidfd, -1, err);
}

/* As fl__outcome; with reap_fd >= 0 the failed child is reaped through that
 * pidfd (it may have been reaped already: then nothing else is). */
int fl__outcome_reap(const struct fl__report *rep, pid_t pid, int pidfd, int *ret_pidfd,
		     int reap_fd, struct fl_error *err)
{
	if (rep->err == 0 && rep->reached == FL_STAGE_EXEC) {
		if (ret_pidfd)
			*ret_pidfd = pidfd;
		else if (pidfd >= 0)
			close(pidfd);
		return (int)pid;
	}
	int st = 0;
	if (reap_fd >= 0) {
		siginfo_t si = { 0 };
		while (fl__sys5(__NR_waitid, P_PIDFD, reap_fd, &si, WEXITED, NULL) == -EINTR)
			;
		st = si.si_code == CLD_EXITED ? 0 : si.si_status & 0x7f;
	} else {
		st = reap(pid);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (rep->err)
		set_error(err, rep->err, rep->stage, rep->index);
	else
		set_error(err, ECHILD, FL_STAGE_KILLED, WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	return -err->err;
}
