/* SPDX-License-Identifier: MIT */
/*
 * child.c - the child executor: everything the new process does before exec.
 *
 * RULE: this file runs in the child between clone and exec, on the caller's
 * memory (CLONE_VM) while the caller is suspended or still running.  Only
 * async-signal-safe code belongs here: raw syscalls through sys.h, no malloc,
 * no stdio, no locks, no errno, no libc call that touches shared state.  It
 * reads the spec the caller prepared and writes only its own stack and the
 * report.  It is built without sanitizers (their runtimes are not safe here).
 *
 * Order (enum fl_stage): fd table, cgroup, signal dispositions, setsid,
 * pgroup, ctty, rlimits, scheduler, affinity, mempolicy, umask, groups, gid,
 * uid, pdeathsig, cwd, actions, fd cleanup, signal mask, exec.
 * Credentials drop after the privileged steps and before the actions, so that
 * files are opened as the target user.  Any failure is reported as
 * {errno, stage, index} and the child exits 127 without exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "spec.h"
#include "sys.h"

#define FL__PATH_BUF 4096 /* PATH_MAX: longer candidates fail ENAMETOOLONG */

/* fds the child needs until exec: they move if an action aims at them */
enum { HELD_ERR, HELD_EXEC, HELD_N };

struct child {
	const struct fl__spec *s;
	volatile struct fl__report *rep;
	int held[HELD_N]; /* the error pipe (valgrind mode), the file to exec; -1 if none */
	int far_taken;    /* take_far ran: moved far fds sit at far_at[] */
	int far_at[FL__FAR_MAX];
};

/* Where the caller's fd that an action reads sits here: a moved far fd at
 * the number take_far gave it (-1: the caller had it closed). */
static int here(const struct child *c, int fd)
{
	const struct fl__spec *s = c->s;

	for (int i = 0; c->far_taken && i < s->nfar; i++)
		if (s->far[i] == fd && (s->far_moved & (1u << i)))
			return c->far_at[i];
	return fd;
}

static void stage(struct child *c, int st)
{
	c->rep->reached = st;
}

/* Report the failure and exit; the caller reaps us. */
static __attribute__((noreturn)) void fail(struct child *c, long err, int st, int idx)
{
	c->rep->err = (int)-err;
	c->rep->stage = st;
	c->rep->index = idx;
	if (c->s->mode & FL__MODE_ERRPIPE) {
		struct fl__report r = { (int)-err, st, idx, st, 0 };
		fl__sys3(__NR_write, c->held[HELD_ERR], &r, sizeof(r));
	}
	for (;;)
		fl__sys1(__NR_exit_group, 127);
}

/*
 * Reset dispositions: without CLONE_CLEAR_SIGHAND, every caught signal goes
 * back to SIG_DFL so that no caller handler can run here (we share its
 * memory); ignored signals stay ignored unless named in sigdefault.
 */
static long reset_signals(const struct fl__spec *s)
{
	int cleared = s->mode & FL__MODE_SIGHAND_CLEARED;

	for (int sig = 1; sig <= FL__NSIG; sig++) {
		struct fl__ksigaction sa = { 0 };
		int in_default = (s->sigdefault >> (sig - 1)) & 1;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (!in_default) {
			if (cleared)
				continue;
			if (fl__sys4(__NR_rt_sigaction, sig, NULL, &sa, 8) < 0)
				continue;
			if (sa.handler == (void *)SIG_IGN || sa.handler == (void *)SIG_DFL)
				continue;
		}
		sa.handler = (void *)SIG_DFL; /* glibc's internal 32 and 33 too, as CLEAR_SIGHAND does */
		sa.flags = 0;
		sa.mask = 0;
		long r = fl__sys4(__NR_rt_sigaction, sig, &sa, NULL, 8);
		if (r < 0 && in_default)
			return r;
	}
	/* a server child: what the caller ignores is ignored here too, as a
	 * child of the caller itself would inherit it */
	for (int sig = 1; sig <= FL__NSIG; sig++) {
		if (!((s->sigignore & ~s->sigdefault) >> (sig - 1) & 1))
			continue;
		struct fl__ksigaction sa = { .handler = (void *)SIG_IGN };
		fl__sys4(__NR_rt_sigaction, sig, &sa, NULL, 8);
	}
	return 0;
}

static long join_cgroup(const struct fl__spec *s)
{
	long fd = fl__sys4(__NR_openat, s->cgroup_fd, "cgroup.procs",
			   O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	long r = fl__sys3(__NR_write, fd, "0", 1); /* "0": the writer */
	fl__sys1(__NR_close, fd);
	return r < 0 ? r : 0;
}

static long set_pdeathsig(const struct fl__spec *s)
{
	long r = fl__sys2(__NR_prctl, PR_SET_PDEATHSIG, s->pdeathsig);
	if (r < 0)
		return r;
	/* The parent may have died before prctl: then nobody will signal us. */
	if (fl__sys0(__NR_getppid) != s->parent_pid)
		fl__sys2(__NR_kill, fl__sys0(__NR_getpid), s->pdeathsig);
	return 0;
}

/* Attributes, in stage order; returns 0 or fails. */
static void apply_attributes(struct child *c)
{
	const struct fl__spec *s = c->s;
	long r;

	if ((s->set & FL__SET_CGROUP) && !(s->mode & FL__MODE_IN_CGROUP)) {
		stage(c, FL_STAGE_CGROUP);
		if ((r = join_cgroup(s)) < 0)
			fail(c, r, FL_STAGE_CGROUP, -1);
	}
	stage(c, FL_STAGE_SIGDEFAULT);
	if ((r = reset_signals(s)) < 0)
		fail(c, r, FL_STAGE_SIGDEFAULT, -1);
	if (s->set & (FL__SET_SETSID | FL__SET_CTTY)) {
		stage(c, FL_STAGE_SETSID);
		if ((r = fl__sys0(__NR_setsid)) < 0)
			fail(c, r, FL_STAGE_SETSID, -1);
	}
	if (s->set & FL__SET_PGROUP) {
		stage(c, FL_STAGE_PGROUP);
		if ((r = fl__sys2(__NR_setpgid, 0, s->pgroup)) < 0)
			fail(c, r, FL_STAGE_PGROUP, -1);
	}
	if (s->set & FL__SET_CTTY) {
		stage(c, FL_STAGE_CTTY);
		if ((r = fl__sys3(__NR_ioctl, s->ctty_fd, TIOCSCTTY, 0)) < 0)
			fail(c, r, FL_STAGE_CTTY, -1);
	}
	stage(c, FL_STAGE_RLIMIT);
	for (int i = 0; i < FL__RLIM_MAX; i++) {
		if (!(s->rlimit_set & (1u << i)))
			continue;
		if ((r = fl__sys4(__NR_prlimit64, 0, i, &s->rlimits[i], NULL)) < 0)
			fail(c, r, FL_STAGE_RLIMIT, i);
	}
	if (s->set & FL__SET_NICE) {
		stage(c, FL_STAGE_SCHED);
		if ((r = fl__sys3(__NR_setpriority, PRIO_PROCESS, 0, s->nice)) < 0)
			fail(c, r, FL_STAGE_SCHED, -1);
	}
	if (s->set & (FL__SET_SCHED | FL__SET_SCHEDPARAM)) {
		struct sched_param p = { .sched_priority = s->sched_priority };
		stage(c, FL_STAGE_SCHED);
		if (s->set & FL__SET_SCHED)
			r = fl__sys3(__NR_sched_setscheduler, 0, s->sched_policy, &p);
		else
			r = fl__sys2(__NR_sched_setparam, 0, &p);
		if (r < 0)
			fail(c, r, FL_STAGE_SCHED, -1);
	}
	if (s->set & FL__SET_AFFINITY) {
		stage(c, FL_STAGE_AFFINITY);
		r = fl__sys3(__NR_sched_setaffinity, 0, s->affinity_size, s->affinity);
		if (r < 0)
			fail(c, r, FL_STAGE_AFFINITY, -1);
	}
	if (s->set & FL__SET_MEMPOLICY) {
		stage(c, FL_STAGE_MEMPOLICY);
		r = fl__sys3(__NR_set_mempolicy, s->mpol_mode, s->mpol_nodes, s->mpol_maxnode);
		if (r < 0)
			fail(c, r, FL_STAGE_MEMPOLICY, -1);
	}
	if (s->set & FL__SET_UMASK) {
		stage(c, FL_STAGE_UMASK);
		fl__sys1(__NR_umask, s->umask);
	}
	if (s->set & FL__SET_GROUPS) {
		stage(c, FL_STAGE_GROUPS);
		if ((r = fl__sys2(__NR_setgroups, s->ngroups, s->groups)) < 0)
			fail(c, r, FL_STAGE_GROUPS, -1);
	}
	if (s->set & (FL__SET_GID | FL__SET_RESETIDS)) {
		stage(c, FL_STAGE_GID);
		if (s->set & FL__SET_GID)
			r = fl__sys3(__NR_setresgid, s->gid, s->gid, s->gid);
		else /* the effective gid becomes the real one */
			r = fl__sys3(__NR_setresgid, -1, fl__sys0(__NR_getgid), -1);
		if (r < 0)
			fail(c, r, FL_STAGE_GID, -1);
	}
	if (s->set & (FL__SET_UID | FL__SET_RESETIDS)) {
		stage(c, FL_STAGE_UID);
		if (s->set & FL__SET_UID)
			r = fl__sys3(__NR_setresuid, s->uid, s->uid, s->uid);
		else
			r = fl__sys3(__NR_setresuid, -1, fl__sys0(__NR_getuid), -1);
		if (r < 0)
			fail(c, r, FL_STAGE_UID, -1);
	}
	/* after the credentials: changing them clears the death signal */
	if (s->set & FL__SET_PDEATHSIG) {
		stage(c, FL_STAGE_PDEATHSIG);
		if ((r = set_pdeathsig(s)) < 0)
			fail(c, r, FL_STAGE_PDEATHSIG, -1);
	}
	if (s->set & FL__SET_CWD) {
		stage(c, FL_STAGE_CWD);
		r = s->cwd_fd >= 0 ? fl__sys1(__NR_fchdir, s->cwd_fd) : fl__sys1(__NR_chdir, s->cwd);
		if (r < 0)
			fail(c, r, FL_STAGE_CWD, -1);
	}
}

/* Clear FD_CLOEXEC so that fd survives exec. */
static long keep_across_exec(int fd)
{
	long fl = fl__sys2(__NR_fcntl, fd, F_GETFD);
	if (fl < 0 || !(fl & FD_CLOEXEC))
		return fl < 0 ? fl : 0;
	return fl__sys3(__NR_fcntl, fd, F_SETFD, fl & ~FD_CLOEXEC);
}

/*
 * The held fds (the error pipe in valgrind mode, the file to exec) must
 * survive actions aimed at their numbers: a dup2/open/close onto one first
 * moves it above every fd the caller named; a close_range over one is split
 * around it (do_close_range).
 */
static long move_held(struct child *c, const struct fl_action *a)
{
	for (int k = 0; k < HELD_N; k++) {
		int h = c->held[k], hit = 0;
		if (h < 0)
			continue;
		if (a->type == FL_ACTION_DUP2 || a->type == FL_ACTION_OPEN)
			hit = a->newfd == h && a->fd != h;
		else if (a->type == FL_ACTION_CLOSE)
			hit = a->fd == h;
		if (!hit)
			continue;
		long nfd = fl__sys3(__NR_fcntl, h, F_DUPFD_CLOEXEC, c->s->fd_limit);
		if (nfd < 0)
			return nfd;
		fl__sys1(__NR_close, h);
		c->held[k] = (int)nfd;
	}
	return 0;
}

/* The held fds in ascending order; returns how many. */
static int held_sorted(const struct child *c, int out[HELD_N])
{
	int n = 0;

	for (int k = 0; k < HELD_N; k++)
		if (c->held[k] >= 0)
			out[n++] = c->held[k];
	if (n == 2 && out[0] > out[1]) {
		int t = out[0];
		out[0] = out[1];
		out[1] = t;
	}
	return n;
}

/* Parse a decimal fd name; -1 for "." and "..". */
static long fd_name(const char *p)
{
	long v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return v;
}

/*
 * close_range refused (seccomp, < 5.9): close what /proc/self/fd lists in
 * [lo, hi], as glibc's closefrom fallback does; re-read until a pass finds
 * nothing, since closing while reading may skip entries.  With cloexec,
 * only the close-on-exec ones (what an exec would close).
 */
static long close_listed(unsigned int lo, unsigned int hi, int skip, int cloexec)
{
	char buf[1024];
	long dir = fl__sys4(__NR_openat, AT_FDCWD, "/proc/self/fd",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int found = 1;

	if (dir < 0)
		return dir;
	while (found) {
		found = 0;
		fl__sys3(__NR_lseek, dir, 0, 0);
		for (;;) {
			long n = fl__sys3(__NR_getdents64, dir, buf, sizeof(buf));
			if (n <= 0)
				break;
			for (long off = 0; off < n;) {
				/* struct linux_dirent64: ino, off, reclen, type, name */
				unsigned short reclen = *(unsigned short *)(buf + off + 16);
				long fd = fd_name(buf + off + 19);
				/* fd >= 0 first: on 32-bit ABIs long meets unsigned int as unsigned */
				if (fd >= 0 && (unsigned long)fd >= lo && (unsigned long)fd <= hi &&
				    fd != dir && fd != skip &&
				    (!cloexec || fl__sys2(__NR_fcntl, fd, F_GETFD) == FD_CLOEXEC)) {
					fl__sys1(__NR_close, fd);
					found = 1;
				}
				off += reclen;
			}
		}
	}
	fl__sys1(__NR_close, dir);
	return 0;
}

static long do_close_range(struct child *c, const struct fl_action *a)
{
	unsigned int lo = (unsigned int)a->fd, hi = a->newfd < 0 ? ~0U : (unsigned int)a->newfd;
	int held[HELD_N], n = held_sorted(c, held);
	long r = 0;

	/* close [lo, hi] around the held fds */
	for (int k = 0; k <= n && r >= 0 && lo <= hi; k++) {
		unsigned int end = hi;
		if (k < n) {
			unsigned int h = (unsigned int)held[k];
			if (h < lo || h > hi)
				continue;
			if (h == lo) {
				lo = h + 1;
				continue;
			}
			end = h - 1;
		}
		r = fl__sys3(__NR_close_range, lo, end, a->flags);
		/* close_range refused: one by one (not for CLOSE_RANGE_CLOEXEC) */
		if ((r == -ENOSYS || r == -EPERM) && !a->flags)
			r = close_listed(lo, end, -1, 0);
		if (k == n || end == ~0U)
			break;
		lo = end + 2;
	}
	return r;
}

static long do_open(const struct fl_action *a)
{
	const struct fl_open *o = (const struct fl_open *)(uintptr_t)a->arg;
	uint64_t flags = o->flags;
	long fd;

	if (!(a->flags & FL_ACTION_OPEN_OFLAG_AS_IS))
		flags &= ~(uint64_t)O_CLOEXEC;
	/* POSIX: newfd is closed before the file is opened (no EMFILE at the limit) */
	if (a->newfd != a->fd)
		fl__sys1(__NR_close, a->newfd);
	if (o->resolve) {
		struct fl__open_how how = { flags, o->mode, o->resolve };
		fd = fl__sys4(__NR_openat2, a->fd, o->path, &how, sizeof(how));
	} else {
		fd = fl__sys4(__NR_openat, a->fd, o->path, flags, o->mode);
	}
	if (fd < 0 || fd == a->newfd)
		return fd < 0 ? fd : 0;
	long r = fl__sys3(__NR_dup3, fd, a->newfd, 0);
	fl__sys1(__NR_close, fd);
	return r < 0 ? r : 0;
}

static long do_action(struct child *c, const struct fl_action *orig)
{
	struct fl_action t = *orig, *a = &t; /* reads of a moved far fd: where it is */
	long r = move_held(c, a);
	if (r < 0)
		return r;
	if (a->type == FL_ACTION_DUP2 || a->type == FL_ACTION_FCHDIR ||
	    a->type == FL_ACTION_TCSETPGRP || (a->type == FL_ACTION_OPEN && a->fd != AT_FDCWD))
		a->fd = here(c, a->fd);
	switch (a->type) {
	case FL_ACTION_CLOSE:
		r = fl__sys1(__NR_close, a->fd);
		return r == -EBADF && (a->flags & FL_ACTION_CLOSE_IF_OPEN) ? 0 : r;
	case FL_ACTION_DUP2:
		if (a->fd == a->newfd)
			return keep_across_exec(a->fd);
		return fl__sys3(__NR_dup3, a->fd, a->newfd, 0);
	case FL_ACTION_FCHDIR:
		return fl__sys1(__NR_fchdir, a->fd);
	case FL_ACTION_OPEN:
		return do_open(a);
	case FL_ACTION_CLOSE_RANGE:
		return do_close_range(c, a);
	case FL_ACTION_CHDIR:
		return fl__sys1(__NR_chdir, (const char *)(uintptr_t)a->arg);
	case FL_ACTION_INHERIT:
		return keep_across_exec(a->fd);
	case FL_ACTION_TCSETPGRP: {
		/* SIGTTOU cannot stop us: every signal is blocked until exec */
		int pgid = (int)fl__sys1(__NR_getpgid, 0);
		return fl__sys3(__NR_ioctl, a->fd, TIOCSPGRP, &pgid);
	}
	}
	return -EINVAL; /* the caller validated types; unreachable */
}

/* Close [lo, hi] (hi < 0: to the end). */
static long close_span(int lo, int hi)
{
	if (hi >= 0 && hi < lo)
		return 0;
	unsigned int h = hi < 0 ? ~0U : (unsigned int)hi;
	long r = fl__sys3(__NR_close_range, lo, h, 0);
	if (r != -ENOSYS && r != -EPERM)
		return r;
	return close_listed((unsigned int)lo, h, -1, 0);
}

/* Close every fd >= 3 except the kept ones and the held ones. */
static long close_fds(struct child *c)
{
	const struct fl__spec *s = c->s;
	int held[HELD_N], nh = held_sorted(c, held), lo = 3;
	size_t i = 0, k = 0;
	long r;

	while (i < s->nkeep || k < (size_t)nh) {
		int next;
		if (k < (size_t)nh && (i >= s->nkeep || held[k] < s->keep[i]))
			next = held[k++];
		else
			next = s->keep[i++];
		if (next < lo)
			continue;
		if ((r = close_span(lo, next - 1)) < 0)
			return r;
		lo = next + 1;
	}
	return close_span(lo, -1);
}

static void apply_fds(struct child *c)
{
	const struct fl__spec *s = c->s;
	long r;

	stage(c, FL_STAGE_ACTION);
	for (size_t i = 0; i < s->nactions; i++)
		if ((r = do_action(c, &s->actions[i])) < 0)
			fail(c, r, FL_STAGE_ACTION, (int)i);
	if (s->mode & FL__MODE_INHERIT_FDS)
		return;
	stage(c, FL_STAGE_CLOSE_FDS);
	if ((r = close_fds(c)) < 0)
		fail(c, r, FL_STAGE_CLOSE_FDS, -1);
}

/* The far fds could not be taken: the caller launches again with a full copy. */
static __attribute__((noreturn)) void retry_full_copy(struct child *c, long err)
{
	c->rep->retry = 1;
	fail(c, err, FL_STAGE_FDTABLE, -1);
}

/*
 * Take each far fd from the caller thread's table (still holding them all:
 * that thread sleeps until we exec) into ours, at its own number: the same
 * open file, as a copy of the table would have it.  One the caller does not
 * have open stays closed here, as in a copy.  The pidfd and each taken fd
 * land at most at near_limit + 1, below every far fd (run.c's split_far).
 */
static void take_far(struct child *c, int pidfd)
{
	const struct fl__spec *s = c->s;
	long pfd = fl__sys2(__NR_pidfd_open, s->caller_tid, FL__PIDFD_THREAD), r = 0;

	if (pfd < 0)
		retry_full_copy(c, pfd);
	/* first those at their own numbers, then the moved ones above them all */
	for (int moved = 0; moved < 2; moved++) {
		for (int i = 0; i < s->nfar && r >= 0; i++) {
			int m = (s->far_moved >> i) & 1;
			if (m != moved)
				continue;
			c->far_at[i] = -1;
			if (s->far[i] == pidfd) /* the caller closed it meanwhile: ours, closed above */
				continue;
			long fd = fl__sys3(__NR_pidfd_getfd, pfd, s->far[i], 0); /* O_CLOEXEC */
			if (fd == -EBADF)
				continue;
			if (fd < 0) {
				r = fd;
				break;
			}
			if (!m) {
				r = fl__sys3(__NR_dup3, fd, s->far[i], O_CLOEXEC);
				fl__sys1(__NR_close, fd);
				continue;
			}
			/* above every fd anything names, so no action that reads
			 * a closed fd finds it there, and none writes over it */
			if (fd < s->far_min) {
				long nfd = fl__sys3(__NR_fcntl, fd, F_DUPFD_CLOEXEC, s->far_min);
				fl__sys1(__NR_close, fd);
				if ((fd = nfd) < 0) {
					r = nfd;
					break;
				}
			}
			c->far_at[i] = (int)fd;
			if (s->far[i] == s->execfd)
				c->held[HELD_EXEC] = (int)fd; /* held: moved if an action aims at it */
		}
	}
	c->far_taken = 1;
	fl__sys1(__NR_close, pfd);
	if (r < 0) /* refused (ptrace rules, seccomp) or the table cannot grow */
		retry_full_copy(c, r);
}

/*
 * Leave the caller's shared descriptor table before touching any fd.
 * close_range(n, ~0U, CLOSE_RANGE_UNSHARE) copies only the fds below n, so
 * that the cost does not grow with the caller's table: below read_limit
 * (every caller fd the child reads), or with FL__MODE_FAR_FDS below
 * near_limit, the far fds then taken one by one.  Classic inheritance (an
 * embryo's run) needs them all.
 */
static void unshare_fds(struct child *c, int pidfd)
{
	const struct fl__spec *s = c->s;
	int far = (s->mode & FL__MODE_FAR_FDS) && s->nfar > 0;
	long r;

	if (!(s->mode & FL__MODE_FILES_SHARED))
		return;
	stage(c, FL_STAGE_FDTABLE);
	r = (s->mode & FL__MODE_INHERIT_FDS)
		    ? -EINVAL
		    : fl__sys3(__NR_close_range, far ? s->near_limit : s->read_limit, ~0U,
			       FL__CLOSE_RANGE_UNSHARE);
	if (r < 0) {
		r = fl__sys1(__NR_unshare, CLONE_FILES); /* a full copy: far fds included */
		far = 0;
	}
	if (r < 0)
		fail(c, r, FL_STAGE_FDTABLE, -1);
	/* Our own pidfd went into the shared table at the lowest free number,
	 * which an action may name as a closed fd: it must stay closed here. */
	if (pidfd >= 0)
		fl__sys1(__NR_close, pidfd);
	if (far)
		take_far(c, pidfd);
}

/* Copy a, then b of length blen, then c into buf; 0 or -ENAMETOOLONG. */
static long join_path(char *buf, const char *dir, size_t dlen, const char *file)
{
	size_t n = 0;

	for (size_t i = 0; i < dlen; i++) {
		if (n >= FL__PATH_BUF - 1)
			return -ENAMETOOLONG;
		buf[n++] = dir[i];
	}
	if (n > 0 && n < FL__PATH_BUF - 1)
		buf[n++] = '/';
	for (const char *p = file; *p; p++) {
		if (n >= FL__PATH_BUF - 1)
			return -ENAMETOOLONG;
		buf[n++] = *p;
	}
	buf[n] = 0;
	return 0;
}

/*
 * execvp(3)'s search: EACCES is remembered and reported if nothing else
 * works; ENOENT, ENOTDIR, ESTALE, ENODEV, ETIMEDOUT go on to the next
 * directory; any other error stops the search.
 */
static long exec_search(const struct fl__spec *s)
{
	char buf[FL__PATH_BUF];
	long r, err = -ENOENT;
	int eacces = 0;
	const char *p = s->search;

	for (;;) {
		const char *end = p;
		while (*end && *end != ':')
			end++;
		/* an empty element means the current directory */
		r = join_path(buf, p, (size_t)(end - p), s->path);
		if (r == 0)
			r = fl__sys3(__NR_execve, buf, s->argv, s->envp);
		switch (-r) {
		case EACCES:
			eacces = 1;
			/* fall through */
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
		case ENAMETOOLONG:
			err = r;
			break;
		default:
			return r;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	return eacces ? -EACCES : err;
}

static long do_exec(const struct fl__spec *s, int execfd)
{
	if (execfd >= 0) {
		/* a #! script run from an fd: the kernel hands the interpreter
		 * /dev/fd/N, which must survive the exec */
		long r = (s->mode & FL__MODE_EXECFD_INHERIT)
				 ? keep_across_exec(execfd)
				 : fl__sys3(__NR_fcntl, execfd, F_SETFD, FD_CLOEXEC); /* never the program's */
		if (r < 0)
			return r;
		return fl__sys5(__NR_execveat, execfd, "", s->argv, s->envp, AT_EMPTY_PATH);
	}
	long r = s->search ? exec_search(s) : fl__sys3(__NR_execve, s->path, s->argv, s->envp);
	if (r == -ENOEXEC && s->shell_argv) /* glibc's maybe_script_execute: the name as given */
		r = fl__sys3(__NR_execve, "/bin/sh", s->shell_argv, s->envp);
	return r;
}

/*
 * A server child (FL__MODE_REMAP): our table is a copy of the server's, or
 * an embryo's with what it received.  Put each of the request's fds at its
 * number in the caller (remap_src[i] -> remap[i].fd, with the caller's
 * FD_CLOEXEC) and close everything else, so that from here on the table is
 * what a child of the caller would see.  First every needed fd goes above
 * every number involved, then the rest below goes, then each comes down.
 */
static void remap_fds(struct child *c)
{
	const struct fl__spec *s = c->s;
	int top = s->fd_limit, err = c->held[HELD_ERR];
	long r;

	stage(c, FL_STAGE_FDTABLE);
	if (err >= top)
		top = err + 1;
	for (size_t i = 0; i < s->nremap; i++) {
		if (s->remap_src[i] >= top)
			top = s->remap_src[i] + 1;
		if (s->remap[i].fd >= top)
			top = s->remap[i].fd + 1;
	}
	if (err >= 0) {
		if ((r = fl__sys3(__NR_fcntl, err, F_DUPFD_CLOEXEC, top)) < 0)
			fail(c, r, FL_STAGE_FDTABLE, -1);
		c->held[HELD_ERR] = err = (int)r; /* the old number goes with the rest */
	}
	for (size_t i = 0; i < s->nremap; i++) {
		if ((r = fl__sys3(__NR_fcntl, s->remap_src[i], F_DUPFD_CLOEXEC, top)) < 0)
			fail(c, r, FL_STAGE_FDTABLE, -1);
		s->remap_src[i] = (int)r;
	}
	if ((r = close_span(0, top - 1)) < 0)
		fail(c, r, FL_STAGE_FDTABLE, -1);
	for (size_t i = 0; i < s->nremap; i++) {
		r = fl__sys3(__NR_dup3, s->remap_src[i], s->remap[i].fd,
			     s->remap[i].cloexec ? O_CLOEXEC : 0);
		if (r < 0)
			fail(c, r, FL_STAGE_FDTABLE, -1);
	}
	/* everything at top and above but the error pipe */
	if (err >= 0 && (r = close_span(top, err - 1)) >= 0)
		r = close_span(err + 1, -1);
	else if (err < 0)
		r = close_span(top, -1);
	if (r < 0)
		fail(c, r, FL_STAGE_FDTABLE, -1);
	/* the caller's cwd, which a relative cwd key is relative to */
	if (s->base_fd >= 0 && (r = fl__sys1(__NR_fchdir, s->base_fd)) < 0)
		fail(c, r, FL_STAGE_CWD, -1);
}

int fl__child_main(void *arg)
{
	struct fl__child_arg *ca = arg;
	const struct fl__spec *s = ca->spec;
	struct child c = { .s = s, .rep = ca->report,
			   .held = { (s->mode & FL__MODE_ERRPIPE) ? s->errfd : -1, s->execfd } };
	uint64_t mask;
	long r;

	stage(&c, FL_STAGE_CLONE);
	if (s->mode & FL__MODE_REMAP)
		remap_fds(&c);
	else if (s->mode & FL__MODE_ERRPIPE) {
		/* the pipe took the lowest free numbers, which an action may name
		 * as closed fds: free them, keep the write end above them all */
		long nfd = fl__sys3(__NR_fcntl, s->errfd, F_DUPFD_CLOEXEC, s->fd_limit);
		fl__sys1(__NR_close, s->errfd_read);
		if (nfd >= 0) {
			fl__sys1(__NR_close, s->errfd);
			c.held[HELD_ERR] = (int)nfd;
		}
	}
	unshare_fds(&c, ca->pidfd ? *ca->pidfd : -1);
	apply_attributes(&c);
	apply_fds(&c);

	stage(&c, FL_STAGE_SIGMASK);
	mask = c.s->sigmask;
	if ((r = fl__sys4(__NR_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8)) < 0)
		fail(&c, r, FL_STAGE_SIGMASK, -1);

	stage(&c, FL_STAGE_EXEC);
	if (s->mode & FL__MODE_NOEXEC) {
		/* a warm child: the program is already here; what its exec
		 * would have closed goes (the report fd, closed by the caller
		 * of this, last) */
		if (c.held[HELD_EXEC] >= 0)
			fl__sys1(__NR_close, c.held[HELD_EXEC]);
		if ((r = close_listed(0, ~0U, c.held[HELD_ERR], 1)) < 0)
			fail(&c, r, FL_STAGE_EXEC, -1);
		return c.held[HELD_ERR];
	}
	r = do_exec(c.s, c.held[HELD_EXEC]);
	fail(&c, r, FL_STAGE_EXEC, -1);
}

/* ---- embryos ------------------------------------------------------------ */

/* An operation asked at config time, done here so that it happens (and is
 * placed, for NUMA) in the process that will run. */
static long embryo_op(const struct fl__embryo *e, int fd)
{
	switch (e->op) {
	case FL__OP_CHDIR: /* fd: the caller's cwd, where a relative path starts */
		if (fd >= 0 && ((const char *)e->op_ptr)[0] != '/') {
			long r = fl__sys1(__NR_fchdir, fd);
			if (r < 0)
				return r;
		}
		return fl__sys1(__NR_chdir, e->op_ptr);
	case FL__OP_FCHDIR:
		return fd >= 0 ? fl__sys1(__NR_fchdir, fd) : -EBADF;
	case FL__OP_AFFINITY:
		return fl__sys3(__NR_sched_setaffinity, 0, e->op_arg, e->op_ptr);
	case FL__OP_MEMPOLICY:
		return fl__sys3(__NR_set_mempolicy, e->op_arg, e->op_ptr, e->op_arg2);
	}
	return -EINVAL;
}

/*
 * The embryo's life before its run, in the server's memory: every signal
 * stays blocked (the server blocked them around clone), its fd table (a
 * copy of the server's) is emptied but for its control socket, and it
 * waits there for commands.  EOF means the server is gone: exit.  The fds
 * of FL__EMB_FDS messages are the run's, in remap order; FL__EMB_RUN
 * starts the run of e->run_spec.
 */
int fl__embryo_main(void *arg)
{
	struct fl__embryo *e = arg;

	close_span(0, e->ctl - 1);
	close_span(e->ctl + 1, -1);
	for (;;) {
		char cmd = 0;
		struct iovec iov = { &cmd, 1 };
		union {
			char buf[CMSG_SPACE(sizeof(int) * 253)];
			struct cmsghdr align;
		} u;
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf) };
		long n = fl__sys3(__NR_recvmsg, e->ctl, &m, MSG_CMSG_CLOEXEC);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			fl__sys1(__NR_exit_group, 0);
		int *fds = NULL, nfd = 0;
		struct cmsghdr *h = m.msg_controllen >= sizeof(struct cmsghdr) ? CMSG_FIRSTHDR(&m) : NULL;
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			fds = (int *)CMSG_DATA(h);
			nfd = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		}
		if (cmd == FL__EMB_OP) {
			e->op_result = embryo_op(e, nfd ? fds[0] : -1);
			for (int i = 0; i < nfd; i++)
				fl__sys1(__NR_close, fds[i]);
			fl__sys3(__NR_write, e->ctl, &cmd, 1); /* done */
			continue;
		}
		struct fl__spec *s = e->run_spec;
		if (cmd != FL__EMB_FDS && cmd != FL__EMB_RUN)
			fl__sys1(__NR_exit_group, 0);
		for (int i = 0; i < nfd; i++) {
			if (e->nsrc < s->nremap)
				s->remap_src[e->nsrc++] = fds[i];
			else
				fl__sys1(__NR_close, fds[i]);
		}
		if (cmd == FL__EMB_RUN)
			return fl__child_main(&e->arg);
	}
}
