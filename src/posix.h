/* SPDX-License-Identifier: MIT */
/*
 * posix.h - the POSIX front end's view of glibc's spawn objects.
 *
 * struct fl__spawn_action is glibc's internal struct __spawn_action (the
 * records behind posix_spawn_file_actions_t.__actions), tags in glibc's order.
 */
#ifndef FL_POSIX_H
#define FL_POSIX_H

#include <spawn.h>
#include <sys/types.h>

#include "forkless.h"

enum {
	FL__SPAWN_DO_CLOSE,
	FL__SPAWN_DO_DUP2,
	FL__SPAWN_DO_OPEN,
	FL__SPAWN_DO_CHDIR,
	FL__SPAWN_DO_FCHDIR,
	FL__SPAWN_DO_CLOSEFROM, /* glibc 2.34 */
	FL__SPAWN_DO_TCSETPGRP, /* glibc 2.35 */
};

struct fl__spawn_action {
	int tag;
	union {
		struct { int fd; } close_action;
		struct { int fd, newfd; } dup2_action;
		struct { int fd; char *path; int oflag; mode_t mode; } open_action;
		struct { char *path; } chdir_action;
		struct { int fd; } fd_action; /* fchdir, closefrom (from), tcsetpgrp */
	} action;
};

#ifndef POSIX_SPAWN_USEVFORK
#define POSIX_SPAWN_USEVFORK 0x40
#endif
#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif
#define FL__POSIX_SPAWN_SETCGROUP 0x100 /* glibc 2.39 */
#define FL__POSIX_SPAWN_ALL 0x1ff

int fl__fa_init(posix_spawn_file_actions_t *fa);
int fl__fa_destroy(posix_spawn_file_actions_t *fa);
int fl__fa_addclose(posix_spawn_file_actions_t *fa, int fd);
int fl__fa_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd);
int fl__fa_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path, int oflag,
		   mode_t mode);
int fl__fa_addchdir(posix_spawn_file_actions_t *fa, const char *path);
int fl__fa_addfchdir(posix_spawn_file_actions_t *fa, int fd);
int fl__fa_addfchdir_np(posix_spawn_file_actions_t *fa, int fd);
int fl__fa_addclosefrom(posix_spawn_file_actions_t *fa, int from);
int fl__fa_addtcsetpgrp(posix_spawn_file_actions_t *fa, int fd);
int fl__attr_init(posix_spawnattr_t *at);
int fl__attr_setflags(posix_spawnattr_t *at, short flags);
int fl__attr_setcgroup(posix_spawnattr_t *at, int cgroup);
int fl__attr_getcgroup(const posix_spawnattr_t *at, int *cgroup);

/* fl__posix_spawn's xflags, as glibc's SPAWN_XFLAGS_* */
#define FL__XFLAGS_USE_PATH 0x1  /* posix_spawnp: search $PATH */
#define FL__XFLAGS_TRY_SHELL 0x2 /* the pre-2.15 symbol versions: run an ENOEXEC file with /bin/sh */

/* The spawn itself: ret_pidfd NULL for the posix_spawn forms; positive errno. */
int fl__posix_spawn(pid_t *ret_pid, int *ret_pidfd, const char *path,
		    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		    char *const argv[], char *const envp[], int xflags,
		    struct fl_error *ret_error);

#endif
