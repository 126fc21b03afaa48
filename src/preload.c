/* SPDX-License-Identifier: MIT */
/*
 * preload.c - the LD_PRELOAD shim: libc's posix_spawn family, through forkless.
 *
 *   LD_PRELOAD=libforkless-preload.so PROGRAM
 *
 * exports posix_spawn, posix_spawnp, pidfd_spawn, pidfd_spawnp and every
 * posix_spawn_file_actions_* and posix_spawnattr_* function under its libc
 * name, so that every spawn PROGRAM makes through them runs on the builder
 * and the vfork launcher.  The objects keep glibc's layout (posix_actions.c),
 * so one initialised by glibc works here and the other way round.  The shim
 * keeps no state and adds nothing to the child: the child gets exactly the
 * fds, environment and attributes the program asked for.
 *
 * FORKLESS_LOG=PATH appends one line per spawn: function, path, result.
 *
 * Where glibc keeps the pre-2.15 versions of posix_spawn and posix_spawnp
 * (posix_spawn@GLIBC_2.2.5 on x86-64), a program bound to them gets their
 * behaviour here too: a file the kernel refuses with ENOEXEC (a script
 * without "#!") is run with /bin/sh.  The default versions return ENOEXEC.
 *
 * Not intercepted: statically linked programs, and libc's internal callers
 * (system, popen, wordexp), which reach glibc's spawn without the PLT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "posix.h"
#include "preload_compat.h"

#define SHIM __attribute__((visibility("default")))

/* Names glibc 2.36's <spawn.h> does not declare yet. */
int pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *fa,
		const posix_spawnattr_t *at, char *const argv[], char *const envp[]);
int pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *at, char *const argv[], char *const envp[]);
int posix_spawn_file_actions_addchdir(posix_spawn_file_actions_t *fa, const char *path);
int posix_spawn_file_actions_addfchdir(posix_spawn_file_actions_t *fa, int fd);
int posix_spawnattr_getcgroup_np(const posix_spawnattr_t *at, int *cgroup);
int posix_spawnattr_setcgroup_np(posix_spawnattr_t *at, int cgroup);

/* One line, one write(2) with O_APPEND: lines of threads do not mix. */
static void log_spawn(const char *fn, const char *path, int r, pid_t pid, const struct fl_error *e)
{
	const char *log = getenv("FORKLESS_LOG");
	char line[1024], msg[160];
	int saved = errno, n;

	if (!log || !*log)
		return;
	if (r == 0)
		n = snprintf(line, sizeof(line), "forkless %s %s pid=%d%s\n", fn, path, (int)pid,
			     fl__ran_warm ? " warm" : "");
	else
		n = snprintf(line, sizeof(line), "forkless %s %s error=%s\n", fn, path,
			     fl_strerror_r(e, msg, sizeof(msg)));
	if (n >= (int)sizeof(line)) { /* cut, but still one line */
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, line, (size_t)n);
		(void)w; /* a log is best effort */
		close(fd);
	}
	errno = saved;
}

static int spawn(const char *fn, pid_t *pid, int *pidfd, const char *path,
		 const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
		 char *const argv[], char *const envp[], int xflags)
{
	struct fl_error e = { 0, FL_STAGE_NONE, -1 };
	pid_t p = -1;
	int saved = errno;
	int r = fl__posix_spawn(&p, pidfd, path, fa, at, argv, envp, xflags, &e);

	log_spawn(fn, path, r, p, &e);
	if (r == 0 && pid)
		*pid = p;
	errno = saved;
	return r;
}

SHIM int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		     const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	return spawn("posix_spawn", pid, NULL, path, fa, at, argv, envp, 0);
}

SHIM int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	return spawn("posix_spawnp", pid, NULL, file, fa, at, argv, envp, FL__XFLAGS_USE_PATH);
}

#ifdef FL__SPAWN_OLD
/* The pre-2.15 versions (preload_compat.h; preload.map makes the plain names
 * the 2.15 ones and hides these fl_ names). */
SHIM int fl__posix_spawn_old(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *at, char *const argv[], char *const envp[]);
SHIM int fl__posix_spawnp_old(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *at, char *const argv[], char *const envp[]);
__asm__(".symver fl__posix_spawn_old, posix_spawn@" FL__SPAWN_OLD_STR);
__asm__(".symver fl__posix_spawnp_old, posix_spawnp@" FL__SPAWN_OLD_STR);

SHIM int fl__posix_spawn_old(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	return spawn("posix_spawn", pid, NULL, path, fa, at, argv, envp, FL__XFLAGS_TRY_SHELL);
}

SHIM int fl__posix_spawnp_old(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	return spawn("posix_spawnp", pid, NULL, file, fa, at, argv, envp,
		     FL__XFLAGS_USE_PATH | FL__XFLAGS_TRY_SHELL);
}
#endif

SHIM int pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *fa,
		     const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	return spawn("pidfd_spawn", NULL, pidfd, path, fa, at, argv, envp, 0);
}

SHIM int pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	return spawn("pidfd_spawnp", NULL, pidfd, file, fa, at, argv, envp, FL__XFLAGS_USE_PATH);
}

/* ---- file actions ------------------------------------------------------ */

SHIM int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	return fl__fa_init(fa);
}

SHIM int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	return fl__fa_destroy(fa);
}

SHIM int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *fa, int fd)
{
	return fl__fa_addclose(fa, fd);
}

SHIM int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	return fl__fa_adddup2(fa, fd, newfd);
}

SHIM int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
					  const char *path, int oflag, mode_t mode)
{
	return fl__fa_addopen(fa, fd, path, oflag, mode);
}

SHIM int posix_spawn_file_actions_addchdir(posix_spawn_file_actions_t *fa, const char *path)
{
	return fl__fa_addchdir(fa, path);
}

SHIM int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa, const char *path)
{
	return fl__fa_addchdir(fa, path);
}

SHIM int posix_spawn_file_actions_addfchdir(posix_spawn_file_actions_t *fa, int fd)
{
	return fl__fa_addfchdir(fa, fd);
}

SHIM int posix_spawn_file_actions_addfchdir_np(posix_spawn_file_actions_t *fa, int fd)
{
	return fl__fa_addfchdir_np(fa, fd);
}

SHIM int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *fa, int from)
{
	return fl__fa_addclosefrom(fa, from);
}

SHIM int posix_spawn_file_actions_addtcsetpgrp_np(posix_spawn_file_actions_t *fa, int fd)
{
	return fl__fa_addtcsetpgrp(fa, fd);
}

/* ---- attributes -------------------------------------------------------- */

SHIM int posix_spawnattr_init(posix_spawnattr_t *at)
{
	return fl__attr_init(at);
}

SHIM int posix_spawnattr_destroy(posix_spawnattr_t *at)
{
	(void)at;
	return 0;
}

SHIM int posix_spawnattr_getflags(const posix_spawnattr_t *at, short *flags)
{
	*flags = at->__flags;
	return 0;
}

SHIM int posix_spawnattr_setflags(posix_spawnattr_t *at, short flags)
{
	return fl__attr_setflags(at, flags);
}

SHIM int posix_spawnattr_getpgroup(const posix_spawnattr_t *at, pid_t *pgroup)
{
	*pgroup = at->__pgrp;
	return 0;
}

SHIM int posix_spawnattr_setpgroup(posix_spawnattr_t *at, pid_t pgroup)
{
	at->__pgrp = pgroup;
	return 0;
}

SHIM int posix_spawnattr_getsigdefault(const posix_spawnattr_t *at, sigset_t *set)
{
	*set = at->__sd;
	return 0;
}

SHIM int posix_spawnattr_setsigdefault(posix_spawnattr_t *at, const sigset_t *set)
{
	at->__sd = *set;
	return 0;
}

SHIM int posix_spawnattr_getsigmask(const posix_spawnattr_t *at, sigset_t *set)
{
	*set = at->__ss;
	return 0;
}

SHIM int posix_spawnattr_setsigmask(posix_spawnattr_t *at, const sigset_t *set)
{
	at->__ss = *set;
	return 0;
}

SHIM int posix_spawnattr_getschedparam(const posix_spawnattr_t *at, struct sched_param *p)
{
	*p = at->__sp;
	return 0;
}

SHIM int posix_spawnattr_setschedparam(posix_spawnattr_t *at, const struct sched_param *p)
{
	at->__sp = *p;
	return 0;
}

SHIM int posix_spawnattr_getschedpolicy(const posix_spawnattr_t *at, int *policy)
{
	*policy = at->__policy;
	return 0;
}

SHIM int posix_spawnattr_setschedpolicy(posix_spawnattr_t *at, int policy)
{
	if (policy != SCHED_OTHER && policy != SCHED_FIFO && policy != SCHED_RR)
		return EINVAL; /* as glibc */
	at->__policy = policy;
	return 0;
}

SHIM int posix_spawnattr_getcgroup_np(const posix_spawnattr_t *at, int *cgroup)
{
	return fl__attr_getcgroup(at, cgroup);
}

SHIM int posix_spawnattr_setcgroup_np(posix_spawnattr_t *at, int cgroup)
{
	return fl__attr_setcgroup(at, cgroup);
}
