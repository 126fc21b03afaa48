/* SPDX-License-Identifier: MIT */
/*
 * posix_actions.c - posix_spawn_file_actions_t and posix_spawnattr_t, in
 * glibc's own memory layout.
 *
 * The POSIX front end reads these objects whoever initialised them: glibc's
 * functions or ours (the preload shim exports these under the libc names).
 * So both must write the same thing: glibc's struct __spawn_action array,
 * grown with realloc() and with strdup()'ed paths, and the attribute fields
 * of <spawn.h>, the cgroup in the first pad word as glibc 2.39 keeps it.
 * A static assert pins the layout; the differential tests check it against
 * the running glibc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"
#include "posix.h"

_Static_assert(sizeof(struct fl__spawn_action) == 8 + 3 * sizeof(void *),
	       "glibc's struct __spawn_action layout");

static inline struct fl__spawn_action **actions_of(posix_spawn_file_actions_t *fa)
{
	return (struct fl__spawn_action **)&fa->__actions;
}

int fl__fa_init(posix_spawn_file_actions_t *fa)
{
	memset(fa, 0, sizeof(*fa));
	return 0;
}

int fl__fa_destroy(posix_spawn_file_actions_t *fa)
{
	struct fl__spawn_action *a = *actions_of(fa);

	for (int i = 0; i < fa->__used; i++)
		if (a[i].tag == FL__SPAWN_DO_OPEN)
			free(a[i].action.open_action.path);
		else if (a[i].tag == FL__SPAWN_DO_CHDIR)
			free(a[i].action.chdir_action.path);
	free(a);
	return 0;
}

/* An fd that may be named at all: what glibc's __spawn_valid_fd checks. */
static int valid_fd(int fd)
{
	long max = sysconf(_SC_OPEN_MAX);
	return fd >= 0 && (max < 0 || fd < max);
}

/* Append one record (glibc grows by 8); the caller fills it. */
static struct fl__spawn_action *append(posix_spawn_file_actions_t *fa)
{
	struct fl__spawn_action *a = *actions_of(fa);

	if (fa->__used == fa->__allocated) {
		int n = fa->__allocated + 8;
		a = realloc(a, (size_t)n * sizeof(*a));
		if (!a)
			return NULL;
		*actions_of(fa) = a;
		fa->__allocated = n;
	}
	a = &a[fa->__used++];
	memset(a, 0, sizeof(*a));
	return a;
}

int fl__fa_addclose(posix_spawn_file_actions_t *fa, int fd)
{
	if (!valid_fd(fd))
		return EBADF;
	struct fl__spawn_action *a = append(fa);
	if (!a)
		return ENOMEM;
	a->tag = FL__SPAWN_DO_CLOSE;
	a->action.close_action.fd = fd;
	return 0;
}

int fl__fa_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	if (!valid_fd(fd) || !valid_fd(newfd))
		return EBADF;
	struct fl__spawn_action *a = append(fa);
	if (!a)
		return ENOMEM;
	a->tag = FL__SPAWN_DO_DUP2;
	a->action.dup2_action.fd = fd;
	a->action.dup2_action.newfd = newfd;
	return 0;
}

/* Append a record that owns a copy of path; NULL (ENOMEM) leaves fa as it was. */
static struct fl__spawn_action *append_path(posix_spawn_file_actions_t *fa, const char *path,
					    char **ret_copy)
{
	char *copy = strdup(path);
	struct fl__spawn_action *a = copy ? append(fa) : NULL;

	if (!a) {
		free(copy);
		return NULL;
	}
	*ret_copy = copy;
	return a;
}

int fl__fa_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path, int oflag,
		   mode_t mode)
{
	char *copy;

	if (!valid_fd(fd))
		return EBADF;
	struct fl__spawn_action *a = append_path(fa, path, &copy);
	if (!a)
		return ENOMEM;
	a->tag = FL__SPAWN_DO_OPEN;
	a->action.open_action.fd = fd;
	a->action.open_action.path = copy;
	a->action.open_action.oflag = oflag;
	a->action.open_action.mode = mode;
	return 0;
}

int fl__fa_addchdir(posix_spawn_file_actions_t *fa, const char *path)
{
	char *copy;
	struct fl__spawn_action *a = append_path(fa, path, &copy);

	if (!a)
		return ENOMEM;
	a->tag = FL__SPAWN_DO_CHDIR;
	a->action.chdir_action.path = copy;
	return 0;
}

/* fchdir, closefrom and tcsetpgrp records all hold one fd (checked unless !check). */
static int add_fd_action(posix_spawn_file_actions_t *fa, int tag, int fd, int check)
{
	if (check && !valid_fd(fd))
		return EBADF;
	struct fl__spawn_action *a = append(fa);
	if (!a)
		return ENOMEM;
	a->tag = tag;
	a->action.fd_action.fd = fd;
	return 0;
}

int fl__fa_addfchdir(posix_spawn_file_actions_t *fa, int fd)
{
	return add_fd_action(fa, FL__SPAWN_DO_FCHDIR, fd, 1);
}

/* glibc's _np name checks nothing at add time: a bad fd fails the spawn. */
int fl__fa_addfchdir_np(posix_spawn_file_actions_t *fa, int fd)
{
	return add_fd_action(fa, FL__SPAWN_DO_FCHDIR, fd, 0);
}

int fl__fa_addclosefrom(posix_spawn_file_actions_t *fa, int from)
{
	return add_fd_action(fa, FL__SPAWN_DO_CLOSEFROM, from, 1);
}

int fl__fa_addtcsetpgrp(posix_spawn_file_actions_t *fa, int fd)
{
	return add_fd_action(fa, FL__SPAWN_DO_TCSETPGRP, fd, 1);
}

/* ---- attributes -------------------------------------------------------- */

int fl__attr_init(posix_spawnattr_t *at)
{
	memset(at, 0, sizeof(*at));
	return 0;
}

int fl__attr_setflags(posix_spawnattr_t *at, short flags)
{
	if (flags & ~FL__POSIX_SPAWN_ALL)
		return EINVAL;
	at->__flags = flags;
	return 0;
}

int fl__attr_setcgroup(posix_spawnattr_t *at, int cgroup)
{
	at->__pad[0] = cgroup; /* where glibc 2.39 keeps __cgroup */
	return 0;
}

int fl__attr_getcgroup(const posix_spawnattr_t *at, int *cgroup)
{
	*cgroup = at->__pad[0];
	return 0;
}

FL__EXPORT int fl_posix_spawnattr_setcgroup_np(posix_spawnattr_t *attr, int cgroup)
{
	FL__KEEP_ERRNO;
	return fl__attr_setcgroup(attr, cgroup);
}

FL__EXPORT int fl_posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags)
{
	FL__KEEP_ERRNO;
	return fl__attr_setflags(attr, flags);
}

FL__EXPORT int fl_posix_spawnattr_getcgroup_np(const posix_spawnattr_t *attr, int *cgroup)
{
	FL__KEEP_ERRNO;
	return fl__attr_getcgroup(attr, cgroup);
}

FL__EXPORT int fl_posix_spawn_file_actions_addchdir(posix_spawn_file_actions_t *fa,
						    const char *path)
{
	FL__KEEP_ERRNO;
	return fl__fa_addchdir(fa, path);
}

FL__EXPORT int fl_posix_spawn_file_actions_addfchdir(posix_spawn_file_actions_t *fa, int fd)
{
	FL__KEEP_ERRNO;
	return fl__fa_addfchdir(fa, fd);
}
