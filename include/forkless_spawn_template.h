/* SPDX-License-Identifier: MIT */
/*
 * forkless_spawn_template.h - the spawn-template UAPI of Li Chen's RFC, on forkless.
 *
 * Li Chen's RFC "exec: add spawn templates for repeated executable startup"
 * (May 2026) proposed two system calls with the structures of
 * <linux/spawn_template.h>:
 *
 *	int spawn_template_create(struct spawn_template_create_args *args, size_t size);
 *	int spawn_template_spawn(int template_fd, struct spawn_template_spawn_args *args,
 *				 size_t size);
 *
 * They were not merged.  This header defines that UAPI (the same structure
 * names, layouts, sizes and constants) and implements both calls as static
 * inline functions on forkless's spawn templates, so that a program written
 * against the RFC compiles and runs unchanged on stock kernels:
 *
 *	#include <forkless_spawn_template.h>	instead of <linux/spawn_template.h>
 *						and the syscall(2) wrappers;
 *	cc ... -lforkless
 *
 * The functions are fl_rfc_spawn_template_create() and
 * fl_rfc_spawn_template_spawn(); the RFC's names are macros for them unless
 * FL_NO_RFC_NAMES is defined before the include (define it where the
 * program has functions of those names itself, or a C library that declares
 * them).  If <linux/spawn_template.h> was included first, its definitions
 * are used; if it is included later, it is a no-op.
 *
 * Calling convention: that of a system call wrapper, as RFC code expects.
 * Success returns >= 0 and leaves errno alone; failure returns -1 with errno
 * set (NOT forkless's negative errno).  Arguments are checked as the RFC's
 * kernel code checks them, with its errno values:
 *	size below SPAWN_TEMPLATE_*_ARGS_SIZE_VER0		EINVAL
 *	size above 4096 (the kernel's PAGE_SIZE limit)		E2BIG
 *	size larger than the structure, extra bytes not zero	E2BIG
 *	args NULL						EFAULT
 *	unknown flags, nonzero exec_flags, reserved[] or	EINVAL
 *	  create-time actions, not exactly one of execfd
 *	  and filename, a relative filename, pidfd == 0,
 *	  an action record the RFC would reject
 *	more than SPAWN_TEMPLATE_MAX_ACTIONS (256) actions	E2BIG
 * Beyond those, the errors are forkless's (fl_spawn_template_create(3)):
 * EBADF or EINVAL for a template_fd that is not a template, EACCES for other
 * credentials than the creator's, ESTALE when a path template's path now
 * names another file.
 *
 * Differences from the RFC's kernel implementation (see
 * forkless_spawn_template(3)):
 *  - Failures in the child (an action, the exec) are returned by
 *    spawn_template_spawn() itself, -1 with errno, and no child is left;
 *    under the RFC the call succeeded and the child exited 127, 126 or 1.
 *  - "#!" scripts are accepted (the RFC fails with ENOEXEC), and the file is
 *    checked for executability, format and interpreter when the template is
 *    created.  Writes to the file are not denied while the template exists
 *    (the RFC makes them fail with ETXTBSY); a path template then fails with
 *    ESTALE, since its size or mtime changed.
 *  - Only the creator's euid, egid and supplementary groups are compared,
 *    not the identity of its credential object.
 *  - OPEN opens before closing newfd in the RFC; forkless closes newfd
 *    first (so it cannot fail for want of an fd).  CLOSE_RANGE_UNSHARE is
 *    accepted and ignored: the child's fd table is its own anyway.
 *  - The sigset of SIGMASK and SIGDEFAULT is the kernel's, 8 bytes
 *    (signals 1 to 64), as in the RFC; sigsetsize must be 8.
 *  - The functions allocate memory and are not async-signal-safe.
 *
 * How the calls map onto forkless: create is fl_spawn_template_create() of
 * execfd or filename (O_CLOEXEC only with SPAWN_TEMPLATE_CREATE_CLOEXEC, as
 * in the RFC).  Spawn is fl_spawn_template_spawn() with the actions
 * translated to struct fl_action records (CLOSE, DUP2, FCHDIR, OPEN with a
 * struct fl_open, CLOSE_RANGE), plus closing actions at the end that give
 * the RFC's fd rules: without SPAWN_TEMPLATE_SPAWN_INHERIT_FDS every fd
 * above 2 is closed, including those the actions made (forkless would keep
 * them); a DUP2 with O_CLOEXEC or an OPEN with O_CLOEXEC leaves newfd
 * close-on-exec.  SIGMASK and SIGDEFAULT have no forkless action: when a
 * spawn has one, or when the calling thread's signal mask is not empty (an
 * RFC child inherits it; forkless's default is the empty mask), the spawn
 * runs on a builder handle, fl_pidfd_open(0, FL_PIDFD_EMPTY), configured
 * with the keys "template", "sigmask" and "sigdefault"; the handle is then
 * the child's pidfd and is what *pidfd receives.
 */
#ifndef FORKLESS_SPAWN_TEMPLATE_H
#define FORKLESS_SPAWN_TEMPLATE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <forkless.h>

#if !defined(O_CLOEXEC) || !defined(AT_FDCWD)
#error "forkless_spawn_template.h needs POSIX.1-2008: compile in a gnu mode or define _GNU_SOURCE or _POSIX_C_SOURCE 200809L"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the RFC's UAPI (include/uapi/linux/spawn_template.h) --------------- */

#if !defined(_LINUX_SPAWN_TEMPLATE_H) && !defined(_UAPI_LINUX_SPAWN_TEMPLATE_H)
#define _LINUX_SPAWN_TEMPLATE_H /* a later <linux/spawn_template.h> is a no-op */

/* struct open_how, as <linux/openat2.h> (Linux 5.6) has it */
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif
#ifndef _LINUX_OPENAT2_H
#define _LINUX_OPENAT2_H
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20
#endif

/* __aligned_u64: 8-byte aligned on every ABI (i386 aligns uint64_t to 4) */
typedef fl_aligned_u64 fl_rfc_aligned_u64;

/* spawn_template_create_args.flags: the template fd gets O_CLOEXEC */
#define SPAWN_TEMPLATE_CREATE_CLOEXEC (1ULL << 0)
/* spawn_template_create_args.flags, forkless's own (not in the RFC): a warm
 * template (FL_TEMPLATE_WARM, fl_spawn_template_warm(3)) */
#define SPAWN_TEMPLATE_CREATE_WARM (1ULL << 63)
/* spawn_template_spawn_args.flags: classic inheritance of fds without
 * FD_CLOEXEC; by default the child closes every fd above 2 after the actions */
#define SPAWN_TEMPLATE_SPAWN_INHERIT_FDS (1ULL << 0)

enum spawn_template_action_type {
	SPAWN_TEMPLATE_ACTION_CLOSE = 0,       /* close(fd) */
	SPAWN_TEMPLATE_ACTION_DUP2 = 1,        /* dup3(fd, newfd, flags: 0 or O_CLOEXEC) */
	SPAWN_TEMPLATE_ACTION_FCHDIR = 2,      /* fchdir(fd) */
	SPAWN_TEMPLATE_ACTION_OPEN = 3,        /* newfd = openat2(fd or AT_FDCWD, arg -> spawn_template_open) */
	SPAWN_TEMPLATE_ACTION_CLOSE_RANGE = 4, /* close_range(fd, newfd == -1 ? ~0U : newfd, flags) */
	SPAWN_TEMPLATE_ACTION_SIGMASK = 5,     /* mask := arg -> spawn_template_sigset */
	SPAWN_TEMPLATE_ACTION_SIGDEFAULT = 6,  /* SIG_DFL for the signals in arg -> spawn_template_sigset */
};

struct spawn_template_action {
	uint32_t type;  /* enum spawn_template_action_type */
	uint32_t flags; /* DUP2: 0 or O_CLOEXEC; CLOSE_RANGE: CLOSE_RANGE_*; else 0 */
	int32_t fd;
	int32_t newfd;
	fl_rfc_aligned_u64 arg; /* OPEN, SIGMASK, SIGDEFAULT: a pointer; else 0 */
};

/* What SPAWN_TEMPLATE_ACTION_OPEN's arg points to. */
struct spawn_template_open {
	fl_rfc_aligned_u64 path; /* const char * */
	struct open_how how;     /* O_CLOEXEC in how.flags: newfd is close-on-exec */
};

/* What SIGMASK's and SIGDEFAULT's arg points to: a KERNEL sigset (one
 * unsigned long per 64 signals, bit n-1 for signal n), not a sigset_t. */
struct spawn_template_sigset {
	fl_rfc_aligned_u64 sigset;     /* pointer to the set */
	fl_rfc_aligned_u64 sigsetsize; /* 8 */
};

struct spawn_template_create_args {
	fl_rfc_aligned_u64 flags;       /* SPAWN_TEMPLATE_CREATE_* */
	int32_t execfd;                 /* an fd of the executable, or -1 */
	uint32_t exec_flags;            /* 0 */
	fl_rfc_aligned_u64 filename;    /* const char *: an absolute path, or 0 */
	fl_rfc_aligned_u64 actions;     /* reserved: 0 */
	fl_rfc_aligned_u64 actions_len; /* reserved: 0 */
	fl_rfc_aligned_u64 reserved[4]; /* 0 */
};

struct spawn_template_spawn_args {
	fl_rfc_aligned_u64 flags;       /* SPAWN_TEMPLATE_SPAWN_* */
	fl_rfc_aligned_u64 pidfd;       /* int *: receives the child's pidfd (required) */
	fl_rfc_aligned_u64 argv;        /* char *const *; 0 runs with argv { "", NULL } */
	fl_rfc_aligned_u64 envp;        /* char *const *; 0 is an empty environment */
	fl_rfc_aligned_u64 actions;     /* const struct spawn_template_action * */
	fl_rfc_aligned_u64 actions_len; /* at most 256 */
	fl_rfc_aligned_u64 reserved[4]; /* 0 */
};

#define SPAWN_TEMPLATE_CREATE_ARGS_SIZE_VER0 72
#define SPAWN_TEMPLATE_SPAWN_ARGS_SIZE_VER0 80

#endif /* <linux/spawn_template.h> */

/* The kernel's limits that the RFC's code applies. */
#define SPAWN_TEMPLATE_MAX_ACTIONS 256
#define FL_RFC_ARGS_SIZE_MAX 4096       /* PAGE_SIZE */
#define FL_RFC_SIGSET_SIZE 8            /* sizeof the kernel's sigset_t: 64 signals */
#define FL_RFC_CLOSE_RANGE_UNSHARE (1U << 1)
#define FL_RFC_CLOSE_RANGE_CLOEXEC (1U << 2)

/* The layouts are the RFC's ABI: the same on every Linux ABI. */
FL__STATIC_ASSERT(sizeof(struct spawn_template_action) == 24 &&
		  FL__ALIGNOF(struct spawn_template_action) == 8 &&
		  offsetof(struct spawn_template_action, fd) == 8 &&
		  offsetof(struct spawn_template_action, arg) == 16,
		  "struct spawn_template_action: one layout on every ABI");
FL__STATIC_ASSERT(sizeof(struct spawn_template_open) == 32 &&
		  offsetof(struct spawn_template_open, how) == 8,
		  "struct spawn_template_open: one layout on every ABI");
FL__STATIC_ASSERT(sizeof(struct spawn_template_sigset) == 16 &&
		  offsetof(struct spawn_template_sigset, sigsetsize) == 8,
		  "struct spawn_template_sigset: one layout on every ABI");
FL__STATIC_ASSERT(sizeof(struct spawn_template_create_args) ==
			  SPAWN_TEMPLATE_CREATE_ARGS_SIZE_VER0 &&
		  FL__ALIGNOF(struct spawn_template_create_args) == 8 &&
		  offsetof(struct spawn_template_create_args, execfd) == 8 &&
		  offsetof(struct spawn_template_create_args, filename) == 16 &&
		  offsetof(struct spawn_template_create_args, actions) == 24 &&
		  offsetof(struct spawn_template_create_args, actions_len) == 32 &&
		  offsetof(struct spawn_template_create_args, reserved) == 40,
		  "struct spawn_template_create_args: one layout on every ABI");
FL__STATIC_ASSERT(sizeof(struct spawn_template_spawn_args) ==
			  SPAWN_TEMPLATE_SPAWN_ARGS_SIZE_VER0 &&
		  FL__ALIGNOF(struct spawn_template_spawn_args) == 8 &&
		  offsetof(struct spawn_template_spawn_args, pidfd) == 8 &&
		  offsetof(struct spawn_template_spawn_args, argv) == 16 &&
		  offsetof(struct spawn_template_spawn_args, envp) == 24 &&
		  offsetof(struct spawn_template_spawn_args, actions) == 32 &&
		  offsetof(struct spawn_template_spawn_args, actions_len) == 40 &&
		  offsetof(struct spawn_template_spawn_args, reserved) == 48,
		  "struct spawn_template_spawn_args: one layout on every ABI");

/* ---- helpers (not part of the API) -------------------------------------- */

static inline int fl_rfc__fail(int err)
{
	errno = err;
	return -1;
}

/* The kernel's copy_struct_from_user() with the RFC's size limits; 0 or -errno. */
static inline int fl_rfc__copy_args(void *dst, size_t dsize, const void *src, size_t size)
{
	if (size < dsize)
		return -EINVAL;
	if (size > FL_RFC_ARGS_SIZE_MAX)
		return -E2BIG;
	if (!src)
		return -EFAULT;
	for (size_t i = dsize; i < size; i++)
		if (((const unsigned char *)src)[i])
			return -E2BIG;
	memcpy(dst, src, dsize);
	return 0;
}

/* The RFC's per-type check of an action record (spawn_template_copy_actions). */
static inline int fl_rfc__action_valid(const struct spawn_template_action *a)
{
	switch (a->type) {
	case SPAWN_TEMPLATE_ACTION_CLOSE:
	case SPAWN_TEMPLATE_ACTION_FCHDIR:
		return a->fd >= 0 && !a->flags && !a->newfd && !a->arg;
	case SPAWN_TEMPLATE_ACTION_DUP2:
		return a->fd >= 0 && a->newfd >= 0 && !(a->flags & ~(uint32_t)O_CLOEXEC) &&
		       !(a->fd == a->newfd && a->flags) && !a->arg;
	case SPAWN_TEMPLATE_ACTION_OPEN:
		return a->fd >= AT_FDCWD && a->newfd >= 0 && !a->flags && a->arg;
	case SPAWN_TEMPLATE_ACTION_CLOSE_RANGE:
		return a->fd >= 0 && a->newfd >= -1 && (a->newfd < 0 || a->fd <= a->newfd) &&
		       !(a->flags & ~(FL_RFC_CLOSE_RANGE_UNSHARE | FL_RFC_CLOSE_RANGE_CLOEXEC)) &&
		       !a->arg;
	case SPAWN_TEMPLATE_ACTION_SIGMASK:
	case SPAWN_TEMPLATE_ACTION_SIGDEFAULT:
		return !a->fd && !a->newfd && !a->flags && a->arg;
	}
	return 0;
}

/* Read the kernel sigset of a SIGMASK/SIGDEFAULT action into *set; 0 or -errno. */
static inline int fl_rfc__sigset(const struct spawn_template_action *a, uint64_t *set)
{
	const struct spawn_template_sigset *s =
		(const struct spawn_template_sigset *)(uintptr_t)a->arg;

	if (s->sigsetsize != FL_RFC_SIGSET_SIZE)
		return -EINVAL;
	if (!s->sigset)
		return -EFAULT;
	memcpy(set, (const void *)(uintptr_t)s->sigset, FL_RFC_SIGSET_SIZE);
	return 0;
}

/* Whether action a, which writes fd x, leaves x close-on-exec under the RFC. */
static inline int fl_rfc__leaves_cloexec(const struct spawn_template_action *act, size_t i)
{
	const struct spawn_template_action *a = &act[i];
	int x = a->newfd;

	if (a->type == SPAWN_TEMPLATE_ACTION_OPEN)
		return (((const struct spawn_template_open *)(uintptr_t)a->arg)->how.flags &
			O_CLOEXEC) != 0;
	if (a->fd != x)
		return (a->flags & O_CLOEXEC) != 0;
	/* DUP2(x, x) changes nothing: what did the earlier steps leave? */
	while (i-- > 0) {
		const struct spawn_template_action *p = &act[i];
		switch (p->type) {
		case SPAWN_TEMPLATE_ACTION_DUP2:
		case SPAWN_TEMPLATE_ACTION_OPEN:
			if (p->newfd == x)
				return fl_rfc__leaves_cloexec(act, i);
			break;
		case SPAWN_TEMPLATE_ACTION_CLOSE:
			if (p->fd == x)
				return 0; /* closed: the DUP2 fails with EBADF */
			break;
		case SPAWN_TEMPLATE_ACTION_CLOSE_RANGE:
			if (x >= p->fd && (p->newfd < 0 || x <= p->newfd))
				return (p->flags & FL_RFC_CLOSE_RANGE_CLOEXEC) != 0;
			break;
		}
	}
	int fl = fcntl(x, F_GETFD); /* the child starts with a copy of our table */
	return fl >= 0 && (fl & FD_CLOEXEC);
}

/* ---- the calls ----------------------------------------------------------- */

/*
 * fl_rfc_spawn_template_create - the RFC's spawn_template_create().
 * Returns the template fd (O_CLOEXEC only with SPAWN_TEMPLATE_CREATE_CLOEXEC),
 * or -1 with errno set.  Close it to release the template.
 */
static inline int fl_rfc_spawn_template_create(struct spawn_template_create_args *args,
					       size_t args_size)
{
	struct spawn_template_create_args a;
	struct fl_template_args fa;
	const char *filename;
	int saved = errno, r;

	if ((r = fl_rfc__copy_args(&a, sizeof(a), args, args_size)) < 0)
		return fl_rfc__fail(-r);
	filename = (const char *)(uintptr_t)a.filename;
	if ((a.flags & ~(uint64_t)(SPAWN_TEMPLATE_CREATE_CLOEXEC | SPAWN_TEMPLATE_CREATE_WARM)) ||
	    a.exec_flags ||
	    a.reserved[0] || a.reserved[1] || a.reserved[2] || a.reserved[3] || a.actions ||
	    a.actions_len || (a.execfd < 0) == !filename || (filename && filename[0] != '/'))
		return fl_rfc__fail(EINVAL);
	memset(&fa, 0, sizeof(fa));
	fa.flags = (a.flags & SPAWN_TEMPLATE_CREATE_CLOEXEC) ? 0 : FL_TEMPLATE_NO_CLOEXEC;
	if (a.flags & SPAWN_TEMPLATE_CREATE_WARM)
		fa.flags |= FL_TEMPLATE_WARM;
	fa.execfd = filename ? -1 : a.execfd;
	fa.filename = filename;
	fa.config_fd = -1;
	if ((r = fl_spawn_template_create(&fa, sizeof(fa))) < 0)
		return fl_rfc__fail(-r);
	errno = saved;
	return r;
}

/*
 * fl_rfc_spawn_template_spawn - the RFC's spawn_template_spawn().
 * Returns the child's pid and stores its pidfd (O_CLOEXEC) in
 * *(int *)args->pidfd, or returns -1 with errno set and leaves no child.
 */
static inline int fl_rfc_spawn_template_spawn(int template_fd,
					      struct spawn_template_spawn_args *args,
					      size_t args_size)
{
	struct spawn_template_spawn_args a;
	const struct spawn_template_action *act;
	struct fl_action *fa;
	struct fl_open *fo;
	struct fl_spawn_args sa;
	uint64_t mask = 0, dflt = 0;
	int saved = errno, inherit, builder, h = -1, r;
	size_t n, i, k = 0, nopen = 0;
	char nul[1] = { 0 };
	char *empty_argv[2] = { nul, NULL }, *empty_envp[1] = { NULL };

	if ((r = fl_rfc__copy_args(&a, sizeof(a), args, args_size)) < 0)
		return fl_rfc__fail(-r);
	if ((a.flags & ~(uint64_t)SPAWN_TEMPLATE_SPAWN_INHERIT_FDS) || !a.pidfd ||
	    a.reserved[0] || a.reserved[1] || a.reserved[2] || a.reserved[3])
		return fl_rfc__fail(EINVAL);
	if (a.actions_len > SPAWN_TEMPLATE_MAX_ACTIONS)
		return fl_rfc__fail(E2BIG);
	n = (size_t)a.actions_len;
	act = (const struct spawn_template_action *)(uintptr_t)a.actions;
	if (n && !act)
		return fl_rfc__fail(EINVAL);
	inherit = (a.flags & SPAWN_TEMPLATE_SPAWN_INHERIT_FDS) != 0;

	/* The caller's signal mask, which an RFC child inherits. */
	{
		sigset_t cur;
		memset(&cur, 0, sizeof(cur));
		pthread_sigmask(SIG_BLOCK, NULL, &cur);
		memcpy(&mask, &cur, sizeof(mask));
	}
	builder = mask != 0;
	for (i = 0; i < n; i++) {
		uint64_t set;
		if (!fl_rfc__action_valid(&act[i]))
			return fl_rfc__fail(EINVAL);
		if (act[i].type == SPAWN_TEMPLATE_ACTION_SIGMASK ||
		    act[i].type == SPAWN_TEMPLATE_ACTION_SIGDEFAULT) {
			if ((r = fl_rfc__sigset(&act[i], &set)) < 0)
				return fl_rfc__fail(-r);
			if (act[i].type == SPAWN_TEMPLATE_ACTION_SIGMASK)
				mask = set; /* the last one wins */
			else
				dflt |= set;
			builder = 1;
		}
		nopen += act[i].type == SPAWN_TEMPLATE_ACTION_OPEN;
	}

	/* n actions, up to n closing actions; then the fl_open records. */
	fa = (struct fl_action *)malloc((2 * n + 1) * sizeof(*fa) + (nopen + 1) * sizeof(*fo));
	if (!fa)
		return fl_rfc__fail(ENOMEM);
	fo = (struct fl_open *)(fa + 2 * n + 1);
	memset(fa, 0, (2 * n + 1) * sizeof(*fa));
	for (i = 0; i < n; i++) {
		const struct spawn_template_action *p = &act[i];
		struct fl_action *q = &fa[k];
		q->fd = p->fd;
		q->newfd = p->newfd;
		switch (p->type) {
		case SPAWN_TEMPLATE_ACTION_CLOSE:
			q->type = FL_ACTION_CLOSE;
			break;
		case SPAWN_TEMPLATE_ACTION_DUP2:
			q->type = FL_ACTION_DUP2; /* O_CLOEXEC: by a closing action below */
			break;
		case SPAWN_TEMPLATE_ACTION_FCHDIR:
			q->type = FL_ACTION_FCHDIR;
			q->newfd = 0;
			break;
		case SPAWN_TEMPLATE_ACTION_OPEN: {
			const struct spawn_template_open *o =
				(const struct spawn_template_open *)(uintptr_t)p->arg;
			fo->path = (const char *)(uintptr_t)o->path;
			fo->flags = o->how.flags & ~(uint64_t)O_CLOEXEC; /* as for DUP2 */
			fo->mode = o->how.mode;
			fo->resolve = o->how.resolve;
			q->type = FL_ACTION_OPEN;
			q->arg = (uint64_t)(uintptr_t)fo++;
			break;
		}
		case SPAWN_TEMPLATE_ACTION_CLOSE_RANGE:
			q->type = FL_ACTION_CLOSE_RANGE;
			q->flags = p->flags & FL_RFC_CLOSE_RANGE_CLOEXEC; /* UNSHARE: ours already */
			break;
		default:
			continue; /* SIGMASK, SIGDEFAULT: builder keys */
		}
		k++;
	}
	/*
	 * The RFC's fd rules: an fd that DUP2 or OPEN made is closed at the end
	 * if it is above 2 and fds are not inherited (forkless keeps the fds
	 * that actions name), or if the RFC leaves it close-on-exec.
	 */
	for (i = 0; i < n; i++) {
		size_t j;
		int x = act[i].newfd;
		if (act[i].type != SPAWN_TEMPLATE_ACTION_DUP2 &&
		    act[i].type != SPAWN_TEMPLATE_ACTION_OPEN)
			continue;
		for (j = i + 1; j < n; j++)
			if ((act[j].type == SPAWN_TEMPLATE_ACTION_DUP2 ||
			     act[j].type == SPAWN_TEMPLATE_ACTION_OPEN) && act[j].newfd == x)
				break;
		if (j < n)
			continue; /* a later action makes x again */
		if ((!inherit && x > 2) || fl_rfc__leaves_cloexec(act, i)) {
			fa[k].type = FL_ACTION_CLOSE;
			fa[k].flags = FL_ACTION_CLOSE_IF_OPEN;
			fa[k].fd = x;
			k++;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.flags = inherit ? FL_SPAWN_INHERIT_FDS : 0;
	sa.argv = a.argv ? (char *const *)(uintptr_t)a.argv : empty_argv;
	sa.envp = a.envp ? (char *const *)(uintptr_t)a.envp : empty_envp;
	sa.actions = fa;
	sa.nactions = k;
	sa.pidfd = (int *)(uintptr_t)a.pidfd;
	if (!builder) {
		r = fl_spawn_template_spawn(template_fd, &sa, sizeof(sa));
	} else if ((r = h = fl_pidfd_open(0, FL_PIDFD_EMPTY)) >= 0) {
		sigset_t s;
		memset(&s, 0, sizeof(s));
		memcpy(&s, &mask, sizeof(mask));
		r = fl_pidfd_config(h, FL_CONFIG_SET_FD, "template", NULL, template_fd);
		if (r == 0 && mask)
			r = fl_pidfd_config(h, FL_CONFIG_SET_BINARY, "sigmask", &s, sizeof(s));
		memcpy(&s, &dflt, sizeof(dflt));
		if (r == 0 && dflt)
			r = fl_pidfd_config(h, FL_CONFIG_SET_BINARY, "sigdefault", &s, sizeof(s));
		if (r == 0)
			r = fl_pidfd_spawn_run(h, &sa, sizeof(sa)); /* *sa.pidfd = h */
		if (r < 0)
			close(h);
	}
	free(fa);
	if (r < 0)
		return fl_rfc__fail(-r);
	errno = saved;
	return r;
}

#ifndef FL_NO_RFC_NAMES
#define spawn_template_create fl_rfc_spawn_template_create
#define spawn_template_spawn fl_rfc_spawn_template_spawn
#endif

#ifdef __cplusplus
}
#endif

#endif /* FORKLESS_SPAWN_TEMPLATE_H */
