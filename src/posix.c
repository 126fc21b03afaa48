/* SPDX-License-Identifier: MIT */
/*
 * posix.c - posix_spawn() on top of the builder: the POSIX front end.
 *
 * The kernel proposal's test of a good builder is that posix_spawn() can be
 * written on top of it; this is that: glibc's file actions become an action
 * array, the attributes become configuration, and the one spawn path
 * (fl__run, the child executor, the vfork launcher) does the rest.  POSIX
 * semantics differ from the native API in three places, all handled here:
 * non-CLOEXEC fds are inherited, the child starts with the caller's signal
 * mask, and a close of an fd that is not open is no error.  Errors are
 * positive errno values; *pid is written only on success; an exec failure is
 * an error, never a child that exits 127.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "posix.h"
#include "sys.h"

/* Attributes into configuration; 0 or a positive errno. */
static int apply_attr(struct fl__config *c, const posix_spawnattr_t *at)
{
	short fl = at ? at->__flags : 0;
	uint64_t mask = 0;

	if (fl & POSIX_SPAWN_SETSIGMASK)
		memcpy(&mask, &at->__ss, sizeof(mask));
	else /* POSIX: the child inherits the caller's mask */
		fl__sys4(__NR_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8);
	c->spec.sigmask = mask;
	if (!at)
		return 0;
	if (fl & POSIX_SPAWN_SETSIGDEF)
		memcpy(&c->spec.sigdefault, &at->__sd, sizeof(c->spec.sigdefault));
	if (fl & POSIX_SPAWN_SETSID)
		c->spec.set |= FL__SET_SETSID;
	if (fl & POSIX_SPAWN_SETPGROUP) {
		c->spec.set |= FL__SET_PGROUP;
		c->spec.pgroup = at->__pgrp;
	}
	if (fl & (POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETSCHEDPARAM))
		c->spec.sched_priority = at->__sp.sched_priority;
	if (fl & POSIX_SPAWN_SETSCHEDULER) {
		c->spec.set |= FL__SET_SCHED;
		c->spec.sched_policy = at->__policy;
	} else if (fl & POSIX_SPAWN_SETSCHEDPARAM) {
		c->spec.set |= FL__SET_SCHEDPARAM;
	}
	if (fl & POSIX_SPAWN_RESETIDS)
		c->spec.set |= FL__SET_RESETIDS;
	if (fl & FL__POSIX_SPAWN_SETCGROUP) {
		if (at->__pad[0] < 0)
			return EINVAL; /* as clone3 (glibc 2.39 passes it on): a cgroup above INT_MAX */
		int fd = fcntl(at->__pad[0], F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return errno;
		c->cgroup_fd = fd;
		c->spec.set |= FL__SET_CGROUP;
	}
	return 0;
}

/* glibc's records into an action array; opens point into *ret_opens. */
static int convert_actions(const posix_spawn_file_actions_t *fa, struct fl_action **ret,
			   struct fl_open **ret_opens, size_t *ret_n)
{
	const struct fl__spawn_action *sa = (const struct fl__spawn_action *)fa->__actions;
	size_t n = fa->__used > 0 ? (size_t)fa->__used : 0;
	struct fl_action *a = calloc(n ? n : 1, sizeof(*a));
	struct fl_open *o = calloc(n ? n : 1, sizeof(*o));

	if (!a || !o) {
		free(a);
		free(o);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		switch (sa[i].tag) {
		case FL__SPAWN_DO_CLOSE:
			a[i] = (struct fl_action){ .type = FL_ACTION_CLOSE, .flags = FL_ACTION_CLOSE_IF_OPEN,
						   .fd = sa[i].action.close_action.fd };
			break;
		case FL__SPAWN_DO_DUP2:
			a[i] = (struct fl_action){ .type = FL_ACTION_DUP2, .fd = sa[i].action.dup2_action.fd,
						   .newfd = sa[i].action.dup2_action.newfd };
			break;
		case FL__SPAWN_DO_OPEN:
			o[i] = (struct fl_open){ .path = sa[i].action.open_action.path,
						 .flags = (uint64_t)(unsigned)sa[i].action.open_action.oflag,
						 .mode = sa[i].action.open_action.mode };
			a[i] = (struct fl_action){ .type = FL_ACTION_OPEN, .fd = AT_FDCWD,
						   .flags = FL_ACTION_OPEN_OFLAG_AS_IS,
						   .newfd = sa[i].action.open_action.fd,
						   .arg = (uintptr_t)&o[i] };
			break;
		case FL__SPAWN_DO_CHDIR:
			a[i] = (struct fl_action){ .type = FL_ACTION_CHDIR,
						   .arg = (uintptr_t)sa[i].action.chdir_action.path };
			break;
		case FL__SPAWN_DO_FCHDIR:
			a[i] = (struct fl_action){ .type = FL_ACTION_FCHDIR, .fd = sa[i].action.fd_action.fd };
			break;
		case FL__SPAWN_DO_CLOSEFROM:
			a[i] = (struct fl_action){ .type = FL_ACTION_CLOSE_RANGE,
						   .fd = sa[i].action.fd_action.fd, .newfd = -1 };
			break;
		case FL__SPAWN_DO_TCSETPGRP:
			a[i] = (struct fl_action){ .type = FL_ACTION_TCSETPGRP, .fd = sa[i].action.fd_action.fd };
			break;
		default:
			free(a);
			free(o);
			return EINVAL;
		}
	}
	*ret = a;
	*ret_opens = o;
	*ret_n = n;
	return 0;
}

/*
 * The argument vector glibc's compat posix_spawn[p] give /bin/sh for an
 * ENOEXEC file: {"/bin/sh", path, argv[1], ..., NULL}, path as the caller
 * gave it (a bare name too, not the file the search found: glibc's
 * maybe_script_execute).  NULL on ENOMEM.
 */
static char **shell_argv(const char *path, char *const argv[])
{
	size_t n = 0;

	while (argv[n])
		n++;
	char **v = malloc((n + 3) * sizeof(*v));
	if (!v)
		return NULL;
	v[0] = "/bin/sh";
	v[1] = (char *)path;
	for (size_t i = 1; i < n; i++)
		v[i + 1] = argv[i];
	v[n > 1 ? n + 1 : 2] = NULL;
	return v;
}

static int posix_spawn_body(pid_t *ret_pid, int *ret_pidfd, const char *path,
		    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		    char *const argv[], char *const envp[], int xflags, struct fl_error *ret_error)
{
	static char *const empty[] = { NULL };
	struct fl_error e = { 0, FL_STAGE_NONE, -1 };
	struct fl__config c;
	struct fl_action *acts = NULL;
	struct fl_open *opens = NULL;
	char **sh_argv = NULL;
	size_t n = 0;
	int pidfd = -1, r;

	fl__config_init(&c);
	r = apply_attr(&c, attr);
	if (r == 0 && fa)
		r = convert_actions(fa, &acts, &opens, &n);
	if (r == 0 && (xflags & FL__XFLAGS_TRY_SHELL) &&
	    !(sh_argv = shell_argv(path, argv ? argv : empty)))
		r = ENOMEM;
	c.spec.shell_argv = sh_argv;
	if (r) {
		e = (struct fl_error){ r, FL_STAGE_CONFIG, -1 };
		goto out;
	}
	/* execve(2) takes NULL argv and envp as empty: so do we */
	struct fl_spawn_args a = {
		.flags = FL_SPAWN_INHERIT_FDS | (xflags & FL__XFLAGS_USE_PATH ? 0 : FL_SPAWN_NO_SEARCH),
		.path = path,
		.argv = argv ? argv : empty,
		.envp = envp ? envp : empty,
		.actions = acts,
		.nactions = n,
	};
	struct fl__template *t = fl__warm_for(path, xflags & FL__XFLAGS_USE_PATH);
	if (t) { /* FORKLESS_WARM lists it: its warm template (the path checked) */
		a.path = NULL;
		r = fl__template_run(t, -1, -1, &c, &a, ret_pidfd ? &pidfd : NULL, &e);
		if (r < 0 && e.stage == FL_STAGE_TEMPLATE) {
			/* the file was replaced (ESTALE) or is gone, or our
			 * credentials changed: this spawn as without the list,
			 * a new template next time */
			fl__warm_forget(t);
			a.path = path;
			r = fl__run(&c, &a, ret_pidfd ? &pidfd : NULL, &e);
		}
		fl__template_release(t);
	} else {
		r = fl__run(&c, &a, ret_pidfd ? &pidfd : NULL, &e);
	}
	if (r >= 0) {
		if (ret_pid)
			*ret_pid = r;
		if (ret_pidfd)
			*ret_pidfd = pidfd;
		r = 0;
	} else {
		r = -r;
	}
out:
	if (r && ret_error)
		*ret_error = e;
	free(acts);
	free(opens);
	free(sh_argv);
	fl__config_free(&c);
	return r;
}

int fl__posix_spawn(pid_t *ret_pid, int *ret_pidfd, const char *path,
		    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		    char *const argv[], char *const envp[], int xflags, struct fl_error *ret_error)
{
	int cs, r;

	/* as glibc and musl: no cancellation inside a spawn */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = posix_spawn_body(ret_pid, ret_pidfd, path, fa, attr, argv, envp, xflags, ret_error);
	pthread_setcancelstate(cs, NULL);
	return r;
}

FL__EXPORT int fl_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FL__KEEP_ERRNO;
	return fl__posix_spawn(pid, NULL, path, fa, attr, argv, envp, 0, NULL);
}

FL__EXPORT int fl_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FL__KEEP_ERRNO;
	return fl__posix_spawn(pid, NULL, file, fa, attr, argv, envp, FL__XFLAGS_USE_PATH, NULL);
}

FL__EXPORT int fl_pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FL__KEEP_ERRNO;
	return fl__posix_spawn(NULL, pidfd, path, fa, attr, argv, envp, 0, NULL);
}

FL__EXPORT int fl_pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *fa,
			       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FL__KEEP_ERRNO;
	return fl__posix_spawn(NULL, pidfd, file, fa, attr, argv, envp, FL__XFLAGS_USE_PATH, NULL);
}
