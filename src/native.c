/* SPDX-License-Identifier: MIT */
/*
 * native.c - the native path: a spawn made by the kernel's process builder
 * (pidfd_open(0, PIDFD_EMPTY), pidfd_config(), pidfd_spawn_run()) where
 * the running kernel has it: the forkless test kernel (kernel/patches).
 *
 * It is found once: pidfd_open(0, PIDFD_EMPTY) gives a builder there and
 * EINVAL on stock kernels.  The builder takes a spec whose every part it
 * can do (what to run by path; argv, envp; cwd by path, umask, setsid,
 * sigmask, sigdefault, rlimits; the actions close, dup2, open, close_range
 * and fchdir); any other spec runs in user space, as everything does where
 * the kernel has no builder.  FORKLESS_NATIVE=0 (or the key native=false)
 * never uses it; FORKLESS_NATIVE=1 (native=true) uses it for every spec it
 * can do and fails with ENOSYS where the kernel has none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

/* struct pidfd_spawn_args of the patch: fl_spawn_args up to error */
struct native_args {
	uint64_t flags, path, argv, envp, actions, nactions, error;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool have, forced, never;

static void native_init(void)
{
	const char *v = secure_getenv("FORKLESS_NATIVE");

	never = v && !strcmp(v, "0");
	forced = v && !strcmp(v, "1");
#ifdef FL__NR_pidfd_config
	long fd = fl__sys2(__NR_pidfd_open, 0, FL__PIDFD_EMPTY);
	if (fd >= 0) {
		have = true;
		close((int)fd);
	}
#endif
}

/* Whether the builder can make s exactly. */
static bool can(const struct fl__spec *s)
{
	const uint32_t ok = FL__SET_SETSID | FL__SET_UMASK | FL__SET_CWD | FL__SET_SIGMASK;

	if (s->execfd >= 0 || s->search || s->shell_argv || !s->path || (s->set & ~ok) ||
	    (s->mode & FL__MODE_INHERIT_FDS) || ((s->set & FL__SET_CWD) && s->cwd_fd >= 0))
		return false;
	for (size_t i = 0; i < s->nactions; i++) {
		const struct fl_action *a = &s->actions[i];
		switch (a->type) {
		case FL_ACTION_CLOSE:
		case FL_ACTION_FCHDIR:
		case FL_ACTION_CLOSE_RANGE:
			break;
		case FL_ACTION_DUP2:
			if (a->flags)
				return false;
			break;
		case FL_ACTION_OPEN:
			if (a->flags || ((const struct fl_open *)(uintptr_t)a->arg)->resolve)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* 1: use it for s; 0: user space; -ENOSYS: asked for where there is none. */
int fl__native_wanted(const struct fl__spec *s, int key)
{
	pthread_once(&once, native_init);
	if (key < 0 || (never && key == 0))
		return 0;
	if (!have)
		return key > 0 || forced ? -ENOSYS : 0;
	return can(s);
}

static int fail_at(struct fl_error *e, int err, int stage, int index)
{
	e->err = err;
	e->stage = stage;
	e->index = index;
	return -err;
}

#ifdef FL__NR_pidfd_config
static int set(int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
	long r = fl__sys5(FL__NR_pidfd_config, fd, cmd, key, value, aux);
	return (int)r;
}

/* The spec's configuration onto builder fd: 0 or -errno. */
static int configure(int fd, const struct fl__spec *s)
{
	int r = set(fd, FL_CONFIG_SET_BINARY, "sigdefault", &s->sigdefault, 8);

	if (r == 0) /* the mask to exec with: the configured one, else empty */
		r = set(fd, FL_CONFIG_SET_BINARY, "sigmask", &s->sigmask, 8);
	if (r == 0 && (s->set & FL__SET_UMASK))
		r = set(fd, FL_CONFIG_SET_INT, "umask", NULL, (int)s->umask);
	if (r == 0 && (s->set & FL__SET_SETSID))
		r = set(fd, FL_CONFIG_SET_FLAG, "setsid", NULL, 0);
	if (r == 0 && (s->set & FL__SET_CWD))
		r = set(fd, FL_CONFIG_SET_STRING, "cwd", s->cwd, 0);
	for (int i = 0; r == 0 && i < FL__RLIM_MAX; i++) {
		const char *name = fl__rlimit_key(i);
		if ((s->rlimit_set & (1u << i)) && name)
			r = set(fd, FL_CONFIG_SET_BINARY, name, &s->rlimits[i], 16);
	}
	return r;
}
#endif

int fl__native_spawn(const struct fl__spec *s, int *ret_pidfd, struct fl_error *e)
{
#ifdef FL__NR_pidfd_config
	struct fl_error ke = { 0, 0, -1 };
	long fd = fl__sys2(__NR_pidfd_open, 0, FL__PIDFD_EMPTY);
	int r;

	if (fd < 0)
		return fail_at(e, (int)-fd, FL_STAGE_CLONE, -1);
	if ((r = configure((int)fd, s)) < 0) {
		close((int)fd);
		return fail_at(e, -r, FL_STAGE_CONFIG, -1);
	}
	struct native_args a = { 0, (uintptr_t)s->path, (uintptr_t)s->argv, (uintptr_t)s->envp,
				 (uintptr_t)s->actions, s->nactions, (uintptr_t)&ke };
	long pid = fl__sys3(FL__NR_pidfd_spawn_run, fd, &a, sizeof(a));
	if (pid < 0) {
		close((int)fd);
		return ke.err ? fail_at(e, ke.err, ke.stage, ke.index)
			      : fail_at(e, (int)-pid, FL_STAGE_CLONE, -1);
	}
	if (ret_pidfd) /* the builder is the child's pidfd now */
		*ret_pidfd = (int)fd;
	else
		close((int)fd);
	return (int)pid;
#else
	(void)s;
	(void)ret_pidfd;
	return fail_at(e, ENOSYS, FL_STAGE_CONFIG, -1);
#endif
}
