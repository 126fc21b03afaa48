/* SPDX-License-Identifier: MIT */
/*
 * native.c - the native path: a spawn made by the kernel's process builder
 * (pidfd_open(0, PIDFD_EMPTY), pidfd_config(), pidfd_spawn_run()) or by its
 * spawn templates (spawn_template_create(), spawn_template_spawn()) where
 * the running kernel has them: the forkless test kernel (kernel/patches).
 *
 * The builder is found once: pidfd_open(0, PIDFD_EMPTY) gives one there
 * and EINVAL on stock kernels.  It takes a spec whose every part it can do
 * (what to run by path; argv, envp; cwd by path, umask, setsid, sigmask,
 * sigdefault, rlimits; the actions close, dup2, open, close_range and
 * fchdir).  A template (template.c) gets a kernel template of its file when
 * it is made, where the kernel has them and the file is not a script; its
 * spawns go to the kernel when they set nothing but the mask and the
 * dispositions, with the same actions.  Any other spec runs in user space,
 * as everything does where the kernel has neither.  FORKLESS_NATIVE=0 (or
 * the key native=false) never uses the kernel; FORKLESS_NATIVE=1
 * (native=true) uses it for every spec it can do and fails with ENOSYS
 * where the kernel has no builder.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

#define FL_NO_RFC_NAMES
#include "forkless_spawn_template.h"

/* struct pidfd_spawn_args of the patch: fl_spawn_args up to error */
struct native_args {
	uint64_t flags, path, argv, envp, actions, nactions, error;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool have, forced, never;
static atomic_bool refused; /* a filter refused the calls: user space from then on */

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

/* Whether action a is one the kernel does as user space does. */
static bool can_action(const struct fl_action *a, bool rfc)
{
	switch (a->type) {
	case FL_ACTION_CLOSE:
		return true;
	case FL_ACTION_FCHDIR:
	case FL_ACTION_CLOSE_RANGE:
		return !rfc || a->fd >= 0; /* the RFC: EINVAL before the child */
	case FL_ACTION_DUP2:
		return !a->flags;
	case FL_ACTION_OPEN:
		return !a->flags && !((const struct fl_open *)(uintptr_t)a->arg)->resolve;
	}
	return false;
}

/* Whether the builder can make s exactly. */
static bool can(const struct fl__spec *s)
{
	const uint32_t ok = FL__SET_SETSID | FL__SET_UMASK | FL__SET_CWD | FL__SET_SIGMASK;

	if (s->execfd >= 0 || s->search || s->shell_argv || !s->path || (s->set & ~ok) ||
	    (s->mode & FL__MODE_INHERIT_FDS) || ((s->set & FL__SET_CWD) && s->cwd_fd >= 0))
		return false;
	for (size_t i = 0; i < s->nactions; i++)
		if (!can_action(&s->actions[i], false))
			return false;
	return true;
}

/* Whether the kernel's template can run s: the file, the mask, the
 * dispositions and the actions (with room for the closing ones). */
static bool can_template(const struct fl__spec *s)
{
	if (s->set & ~(uint32_t)FL__SET_SIGMASK || s->rlimit_set || s->search || s->shell_argv ||
	    (s->mode & ~(uint32_t)FL__MODE_INHERIT_FDS) || !s->argv ||
	    2 * s->nactions + 3 > SPAWN_TEMPLATE_MAX_ACTIONS)
		return false;
	for (size_t i = 0; i < s->nactions; i++)
		if (!can_action(&s->actions[i], true))
			return false;
	return true;
}

/* 1: use it for s; 0: user space; -ENOSYS: asked for where there is none. */
int fl__native_wanted(const struct fl__spec *s, int key, int ktfd)
{
	pthread_once(&once, native_init);
	if (key < 0 || (never && key == 0))
		return 0;
	if (!have || atomic_load_explicit(&refused, memory_order_relaxed))
		return fl__native_forced(key) ? -ENOSYS : 0;
	return ktfd >= 0 && s->execfd >= 0 ? can_template(s) : can(s);
}

bool fl__native_forced(int key)
{
	return key > 0 || (forced && key == 0);
}

/* r, a call's -errno with no stage of the kernel's: a seccomp filter's
 * answer (ENOSYS, or EPERM, as container profiles give unknown numbers)? */
static bool refusal(long r)
{
	if (r != -ENOSYS && r != -EPERM)
		return false;
	atomic_store_explicit(&refused, true, memory_order_relaxed);
	return true;
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

/* The RFC's records for s: its actions as they are, then closes of
 * everything above 2 that they do not target (forkless's rule; the RFC's
 * own would close the targets too), then the mask and the dispositions.
 * n: room for 2 * s->nactions + 3. */
static size_t rfc_actions(const struct fl__spec *s, struct spawn_template_action *out,
			  struct spawn_template_open *opens, struct spawn_template_sigset sets[2])
{
	size_t n = 0;

	for (size_t i = 0; i < s->nactions; i++) {
		const struct fl_action *a = &s->actions[i];
		struct spawn_template_action *r = &out[n++];
		*r = (struct spawn_template_action){ 0, 0, a->fd, a->newfd, 0 };
		switch (a->type) {
		case FL_ACTION_CLOSE: /* not open is no error: close_range's way */
			r->type = a->flags ? SPAWN_TEMPLATE_ACTION_CLOSE_RANGE
					   : SPAWN_TEMPLATE_ACTION_CLOSE;
			r->newfd = a->flags ? a->fd : 0;
			break;
		case FL_ACTION_DUP2:
			r->type = SPAWN_TEMPLATE_ACTION_DUP2;
			break;
		case FL_ACTION_FCHDIR:
			r->type = SPAWN_TEMPLATE_ACTION_FCHDIR;
			r->newfd = 0;
			break;
		case FL_ACTION_CLOSE_RANGE:
			r->type = SPAWN_TEMPLATE_ACTION_CLOSE_RANGE;
			r->flags = a->flags;
			r->newfd = a->newfd < 0 ? -1 : a->newfd;
			break;
		case FL_ACTION_OPEN: { /* newfd without FD_CLOEXEC, as forkless has it */
			const struct fl_open *o = (const struct fl_open *)(uintptr_t)a->arg;
			r->type = SPAWN_TEMPLATE_ACTION_OPEN;
			opens[i] = (struct spawn_template_open){
				(uintptr_t)o->path, { o->flags & ~(uint64_t)O_CLOEXEC, o->mode, 0 } };
			r->arg = (uintptr_t)&opens[i];
			break;
		}
		}
	}
	if (!(s->mode & FL__MODE_INHERIT_FDS)) {
		int lo = 3;
		for (size_t i = 0; i < s->nkeep; i++) {
			int k = s->keep[i];
			if (k == s->execfd || k < lo)
				continue; /* the kernel runs its own copy of the file */
			if (k > lo)
				out[n++] = (struct spawn_template_action){
					SPAWN_TEMPLATE_ACTION_CLOSE_RANGE, 0, lo, k - 1, 0 };
			lo = k + 1;
		}
		out[n++] = (struct spawn_template_action){ SPAWN_TEMPLATE_ACTION_CLOSE_RANGE, 0, lo,
							   -1, 0 };
	}
	sets[0] = (struct spawn_template_sigset){ (uintptr_t)&s->sigmask, 8 };
	sets[1] = (struct spawn_template_sigset){ (uintptr_t)&s->sigdefault, 8 };
	out[n++] = (struct spawn_template_action){ SPAWN_TEMPLATE_ACTION_SIGMASK, 0, 0, 0,
						   (uintptr_t)&sets[0] };
	out[n++] = (struct spawn_template_action){ SPAWN_TEMPLATE_ACTION_SIGDEFAULT, 0, 0, 0,
						   (uintptr_t)&sets[1] };
	return n;
}

/* spawn_template_spawn_args with the test kernel's error word (SIZE_VER1) */
struct native_targs {
	struct spawn_template_spawn_args a;
	fl_aligned_u64 error;
};

static int template_spawn(int ktfd, const struct fl__spec *s, int *ret_pidfd, struct fl_error *e)
{
#ifdef FL__NR_spawn_template_spawn
	struct spawn_template_action act[SPAWN_TEMPLATE_MAX_ACTIONS];
	struct spawn_template_open opens[SPAWN_TEMPLATE_MAX_ACTIONS / 2];
	struct spawn_template_sigset sets[2];
	struct fl_error ke = { 0, 0, -1 };
	int pidfd = -1;
	size_t n = rfc_actions(s, act, opens, sets);
	char *const empty[] = { NULL };
	struct native_targs t = {
		{ SPAWN_TEMPLATE_SPAWN_INHERIT_FDS, (uintptr_t)&pidfd, (uintptr_t)s->argv,
		  (uintptr_t)(s->envp ? s->envp : empty), (uintptr_t)act, n, { 0 } },
		(uintptr_t)&ke };
	long pid = fl__sys3(FL__NR_spawn_template_spawn, ktfd, &t, sizeof(t));

	if (pid < 0) {
		if (!ke.err && refusal(pid))
			return FL__NATIVE_REFUSED;
		if (ke.stage == FL_STAGE_ACTION && ke.index >= (int)s->nactions)
			ke = (struct fl_error){ ke.err, FL_STAGE_CLOSE_FDS, -1 }; /* a closing one */
		return ke.err ? fail_at(e, ke.err, ke.stage, ke.index)
			      : fail_at(e, (int)-pid, FL_STAGE_CLONE, -1);
	}
	if (ret_pidfd)
		*ret_pidfd = pidfd;
	else if (pidfd >= 0)
		close(pidfd);
	return (int)pid;
#else
	(void)ktfd;
	(void)s;
	(void)ret_pidfd;
	return fail_at(e, ENOSYS, FL_STAGE_CONFIG, -1);
#endif
}

int fl__native_template(int fd, const char *path, int key)
{
	pthread_once(&once, native_init);
	if (!have || key < 0 || (never && key == 0))
		return -1;
#ifdef FL__NR_spawn_template_create
	struct spawn_template_create_args a = { SPAWN_TEMPLATE_CREATE_CLOEXEC, path ? -1 : fd, 0,
						(uintptr_t)path, 0, 0, { 0 } };
	long k = fl__sys2(FL__NR_spawn_template_create, &a, sizeof(a));
	if (k >= 0 && k < 3) { /* the library's fds stay above 0-2 */
		int d = fcntl((int)k, F_DUPFD_CLOEXEC, 3);
		close((int)k);
		k = d;
	}
	return k < 0 ? -1 : (int)k;
#else
	(void)fd;
	(void)path;
	return -1;
#endif
}

int fl__native_spawn(const struct fl__spec *s, int ktfd, int *ret_pidfd, struct fl_error *e)
{
	if (ktfd >= 0 && s->execfd >= 0)
		return template_spawn(ktfd, s, ret_pidfd, e);
#ifdef FL__NR_pidfd_config
	struct fl_error ke = { 0, 0, -1 };
	long fd = fl__sys2(__NR_pidfd_open, 0, FL__PIDFD_EMPTY);
	int r;

	if (fd < 0)
		return refusal(fd) ? FL__NATIVE_REFUSED : fail_at(e, (int)-fd, FL_STAGE_CLONE, -1);
	if ((r = configure((int)fd, s)) < 0) {
		close((int)fd);
		return refusal(r) ? FL__NATIVE_REFUSED : fail_at(e, -r, FL_STAGE_CONFIG, -1);
	}
	struct native_args a = { 0, (uintptr_t)s->path, (uintptr_t)s->argv, (uintptr_t)s->envp,
				 (uintptr_t)s->actions, s->nactions, (uintptr_t)&ke };
	long pid = fl__sys3(FL__NR_pidfd_spawn_run, fd, &a, sizeof(a));
	if (pid < 0) {
		close((int)fd);
		if (!ke.err && refusal(pid))
			return FL__NATIVE_REFUSED;
		return ke.err ? fail_at(e, ke.err, ke.stage, ke.index)
			      : fail_at(e, (int)-pid, FL_STAGE_CLONE, -1);
	}
	if (ret_pidfd) /* the builder is the child's pidfd now */
		*ret_pidfd = (int)fd;
	else
		close((int)fd);
	return (int)pid;
#else
	(void)ret_pidfd;
	return fail_at(e, ENOSYS, FL_STAGE_CONFIG, -1);
#endif
}
