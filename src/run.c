/* SPDX-License-Identifier: MIT */
/*
 * run.c - turn a configuration and per-run arguments into a spec, and launch.
 *
 * Everything that may allocate, read the environment or fail cheaply happens
 * here in the caller, before any process exists: action validation, the
 * sorted list of fds to keep, the highest fd the child needs, the $PATH value
 * for a bare name.  The child then only reads what this file prepared.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int fail_at(struct fl_error *e, int err, int stage, int index)
{
	e->err = err;
	e->stage = stage;
	e->index = index;
	return -err;
}

/* The fds an action reads (src) and leaves open in the child (dst); -1 if none. */
static int check_action(const struct fl_action *a, int *src, int *dst)
{
	*src = *dst = -1;
	switch (a->type) {
	case FL_ACTION_CLOSE:
		if (a->flags & ~FL_ACTION_CLOSE_IF_OPEN)
			return -EINVAL;
		*src = a->fd;
		return a->fd < 0 ? -EBADF : 0;
	case FL_ACTION_FCHDIR:
	case FL_ACTION_TCSETPGRP:
		*src = a->fd;
		break;
	case FL_ACTION_INHERIT:
		*src = *dst = a->fd;
		break;
	case FL_ACTION_DUP2:
		if (a->newfd < 0)
			return -EBADF;
		*src = a->fd;
		*dst = a->newfd;
		break;
	case FL_ACTION_OPEN: {
		const struct fl_open *o = (const struct fl_open *)(uintptr_t)a->arg;
		if (a->newfd < 0)
			return -EBADF;
		if (!o || !o->path)
			return -EFAULT;
		*dst = a->newfd;
		if (a->flags & ~FL_ACTION_OPEN_OFLAG_AS_IS)
			return -EINVAL;
		if (a->fd == AT_FDCWD)
			return 0;
		*src = a->fd;
		return a->fd < 0 ? -EBADF : 0;
	}
	case FL_ACTION_CLOSE_RANGE:
		if (a->flags & ~(uint32_t)CLOSE_RANGE_CLOEXEC)
			return -EINVAL;
		if (a->newfd >= 0 && a->newfd < a->fd)
			return -EINVAL;
		*src = a->fd;
		return a->fd < 0 ? -EBADF : 0;
	case FL_ACTION_CHDIR:
		if (a->flags)
			return -EINVAL;
		return a->arg ? 0 : -EFAULT;
	default:
		return -EINVAL;
	}
	if (a->flags)
		return -EINVAL;
	return *src < 0 ? -EBADF : 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int max3(int a, int b, int c)
{
	int m = a > b ? a : b;
	return m > c ? m : c;
}

/*
 * Split the caller fds the child reads (sorted, unique, n of them) into the
 * near ones, which the child's unshare copies (below s->near_limit), and
 * up to FL__FAR_MAX far ones, which it takes one by one.  A far fd sits at
 * least two above near_limit: the child's pidfd and the fd it takes land
 * at the lowest free numbers, at most near_limit + 1, and must not hit one.
 */
static void split_far(struct fl__spec *s, const int *reads, size_t n)
{
	s->near_limit = 3;
	s->nfar = 0;
	for (size_t i = 0; i < n; i++) {
		if (reads[i] < FL__FAR_FD) {
			s->near_limit = reads[i] + 1 > 3 ? reads[i] + 1 : 3;
		} else if (s->nfar == FL__FAR_MAX || reads[i] < s->near_limit + 2) {
			s->nfar = 0; /* too many or too close: copy them all */
			s->near_limit = s->read_limit;
			return;
		} else {
			s->far[s->nfar++] = reads[i];
		}
	}
}

/* Whether far fd f may sit elsewhere in the child (see far_moved). */
static bool far_movable(const struct fl__spec *s, int execfd, int f)
{
	if (f == s->cwd_fd || f == s->ctty_fd || f == s->cgroup_fd)
		return false;
	for (size_t i = 0; i < s->nactions; i++) {
		const struct fl_action *a = &s->actions[i];
		int src, dst;
		check_action(a, &src, &dst);
		if (f == execfd) {
			/* the exec fd is a held fd (child.c): moved out of an
			 * action's way wherever it sits; only no other reader */
			if (src == f && a->type != FL_ACTION_CLOSE)
				return false;
			continue;
		}
		/* a close_range could close the moved copy but not f */
		if (dst == f || (src == f && a->type == FL_ACTION_CLOSE) ||
		    a->type == FL_ACTION_CLOSE_RANGE)
			return false;
	}
	return true;
}

static bool is_moved(const struct fl__spec *s, int fd)
{
	for (int i = 0; i < s->nfar; i++)
		if (s->far[i] == fd)
			return s->far_moved & (1u << i);
	return false;
}

/* Which far fds move, and above which number (actions validated). */
static void far_moves(struct fl__spec *s, int execfd)
{
	int top = max3(2, s->cwd_fd, max3(s->ctty_fd, s->cgroup_fd, -1));

	s->far_moved = 0;
	for (int i = 0; i < s->nfar; i++)
		if (far_movable(s, execfd, s->far[i]))
			s->far_moved |= 1u << i;
	if (execfd >= 0 && !is_moved(s, execfd))
		top = max3(top, execfd, -1);
	for (size_t i = 0; i < s->nactions; i++) {
		int src, dst;
		check_action(&s->actions[i], &src, &dst);
		top = max3(top, is_moved(s, src) ? -1 : src, dst); /* a number written counts */
	}
	s->far_min = top + 1;
}

/* Sort and drop duplicates; returns the new length. */
static size_t sort_unique(int *v, size_t n)
{
	size_t u = 0;

	qsort(v, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || v[u - 1] != v[i])
			v[u++] = v[i];
	return u;
}

/*
 * Validate the actions; collect the fds they leave open (sorted, unique,
 * >= 3) into *ret_keep, the highest fd the child names into s->fd_limit,
 * and the caller fds whose open file it reads (s->read_limit, split into
 * near and far).  An fd an action only writes (a dup2 or open target), or
 * a close_range bound, needs nothing from the caller's table: the child
 * closes every fd it did not copy or write anyway.
 */
static int prepare_fds(struct fl__spec *s, int execfd, int **ret_keep, struct fl_error *e)
{
	size_t n = 0, nr = 0;
	int hi = max3(2, execfd, max3(s->cwd_fd, s->ctty_fd, s->cgroup_fd));
	int *keep = malloc((2 * s->nactions + 5) * sizeof(int));
	int *reads = keep ? keep + s->nactions + 1 : NULL; /* one block: callers free keep */
	int own[] = { execfd, s->cwd_fd, s->ctty_fd, s->cgroup_fd };

	if (!keep)
		return fail_at(e, ENOMEM, FL_STAGE_CONFIG, -1);
	for (size_t i = 0; i < 4; i++)
		if (own[i] >= 0)
			reads[nr++] = own[i];
	for (size_t i = 0; i < s->nactions; i++) {
		int src, dst, r = check_action(&s->actions[i], &src, &dst);
		if (r < 0) {
			free(keep);
			return fail_at(e, -r, FL_STAGE_ACTION, (int)i);
		}
		hi = max3(hi, src, dst);
		if (dst >= 3)
			keep[n++] = dst;
		if (src >= 0 && s->actions[i].type != FL_ACTION_CLOSE_RANGE)
			reads[nr++] = src;
	}
	if (execfd >= 3)
		keep[n++] = execfd; /* CLOEXEC: closed by the exec that uses it */
	s->keep = keep;
	s->nkeep = sort_unique(keep, n);
	s->fd_limit = hi + 1;
	nr = sort_unique(reads, nr);
	s->read_limit = nr && reads[nr - 1] >= 3 ? reads[nr - 1] + 1 : 3;
	split_far(s, reads, nr);
	far_moves(s, execfd);
	*ret_keep = keep;
	return 0;
}

/* Which file to run, and where to search it. */
static int prepare_exec(struct fl__spec *s, const struct fl__config *c,
			const struct fl_spawn_args *a, struct fl_error *e)
{
	s->argv = a->argv ? a->argv : c->argv;
	if (!s->argv)
		return fail_at(e, EFAULT, FL_STAGE_CONFIG, -1);
	s->envp = a->envp ? a->envp : c->envp;
	if (!s->envp)
		s->envp = environ; /* the snapshot: the child reads it before we return */
	s->execfd = a->path ? -1 : c->execfd;
	s->path = a->path ? a->path : c->path ? c->path : s->argv[0];
	s->search = NULL;
	if (s->execfd >= 0)
		return 0;
	if (!s->path)
		return fail_at(e, EINVAL, FL_STAGE_CONFIG, -1);
	if (!(a->flags & FL_SPAWN_NO_SEARCH) && s->path[0] && !strchr(s->path, '/')) {
		s->search = getenv("PATH");
		if (!s->search)
			s->search = "/bin:/usr/bin"; /* glibc's default */
	}
	return 0;
}

int fl__prepare(const struct fl__config *c, const struct fl_spawn_args *a, struct fl__spec *ret,
		int **ret_keep, struct fl_error *e)
{
	struct fl__spec s = c->spec;
	int r;

	if (a->flags & ~(uint64_t)(FL_SPAWN_INHERIT_FDS | FL_SPAWN_NO_SEARCH | FL_SPAWN_ASYNC))
		return fail_at(e, EINVAL, FL_STAGE_CONFIG, -1);
	if ((r = prepare_exec(&s, c, a, e)) < 0)
		return r;
	s.actions = a->actions;
	s.nactions = a->nactions;
	if (s.nactions && !s.actions)
		return fail_at(e, EFAULT, FL_STAGE_CONFIG, -1);
	if (s.nactions > (1u << 24))
		return fail_at(e, E2BIG, FL_STAGE_CONFIG, -1);
	s.mode = 0;
	if (c->inherit_fds || (a->flags & FL_SPAWN_INHERIT_FDS))
		s.mode |= FL__MODE_INHERIT_FDS;
	if (c->execfd_inherit && s.execfd >= 0)
		s.mode |= FL__MODE_EXECFD_INHERIT;
	if (s.set & FL__SET_PDEATHSIG)
		s.parent_pid = getpid(); /* the child's race check */
	/* point into the configuration's own storage */
	s.cwd = c->cwd;
	s.cwd_fd = c->cwd_fd;
	s.ctty_fd = c->ctty_fd;
	s.cgroup_fd = c->cgroup_fd;
	s.groups = c->groups;
	s.affinity = &c->affinity;
	s.affinity_size = sizeof(c->affinity);
	s.mpol_nodes = s.mpol_maxnode ? c->nodes : NULL;
	if ((r = prepare_fds(&s, s.execfd, ret_keep, e)) < 0)
		return r;
	*ret = s;
	return 0;
}

__thread bool fl__ran_warm;

int fl__run(const struct fl__config *c, const struct fl_spawn_args *a,
	    int *ret_pidfd, struct fl_error *e)
{
	struct fl__spec s;
	int *keep = NULL, r;

	if (a->flags & FL_SPAWN_ASYNC)
		return fail_at(e, EINVAL, FL_STAGE_CONFIG, -1); /* embryos only */
	/* no cancellation inside a spawn, as in posix_spawn(3) */
	int cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	if ((r = fl__prepare(c, a, &s, &keep, e)) >= 0) {
		r = FL__WARM_COLD;
		if (c->warm && !c->cold)
			r = fl__warm_spawn(c->warm, &s, ret_pidfd, e);
		fl__ran_warm = r != FL__WARM_COLD;
		bool server = c->launcher == FL__LAUNCHER_SERVER ||
			      (c->launcher == FL__LAUNCHER_DEFAULT && fl__server_default());
		int native = r == FL__WARM_COLD && !server ? fl__native_wanted(&s, c->native, c->ktfd)
							     : 0;
		if (r != FL__WARM_COLD)
			;
		else if (native < 0)
			r = fail_at(e, -native, FL_STAGE_CONFIG, -1);
		else if (native && (r = fl__native_spawn(&s, c->ktfd, ret_pidfd, e)) != FL__NATIVE_REFUSED)
			;
		else if (native && fl__native_forced(c->native))
			r = fail_at(e, ENOSYS, FL_STAGE_CONFIG, -1); /* refused: as where there is none */
		else if (server)
			r = fl__server_spawn(&s, c->numa_node, ret_pidfd, e);
		else
			r = fl__launch_vfork(&s, ret_pidfd, e);
		free(keep);
	}
	pthread_setcancelstate(cs, NULL);
	return r;
}

void fl__actions_free(struct fl_action *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		if (a[i].type == FL_ACTION_OPEN && a[i].arg) {
			struct fl_open *o = (struct fl_open *)(uintptr_t)a[i].arg;
			free((char *)o->path);
			free(o);
		} else if (a[i].type == FL_ACTION_CHDIR) {
			free((char *)(uintptr_t)a[i].arg);
		}
	}
	free(a);
}

int fl__actions_dup(const struct fl_action *a, size_t n, struct fl_action **ret)
{
	struct fl_action *c;

	*ret = NULL;
	if (n == 0)
		return 0;
	if (!a)
		return -EFAULT;
	if (!(c = calloc(n, sizeof(*c))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		c[i] = a[i];
		if (a[i].type != FL_ACTION_OPEN && a[i].type != FL_ACTION_CHDIR)
			continue;
		c[i].arg = 0;
		if (a[i].type == FL_ACTION_OPEN && a[i].arg) {
			const struct fl_open *o = (const struct fl_open *)(uintptr_t)a[i].arg;
			struct fl_open *oc = malloc(sizeof(*oc));
			if (oc) {
				*oc = *o;
				oc->path = o->path ? strdup(o->path) : NULL;
				c[i].arg = (uintptr_t)oc;
			}
			if (!oc || (o->path && !oc->path))
				goto nomem;
		} else if (a[i].type == FL_ACTION_CHDIR && a[i].arg) {
			if (!(c[i].arg = (uintptr_t)strdup((const char *)(uintptr_t)a[i].arg)))
				goto nomem;
		}
	}
	*ret = c;
	return 0;
nomem:
	fl__actions_free(c, n);
	return -ENOMEM;
}
