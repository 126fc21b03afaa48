/* SPDX-License-Identifier: MIT */
/*
 * methods.c - the ways of creating a process that the benchmark compares.
 *
 * Each spawns the target with stdout on /dev/null and the caller's
 * environment, and returns the pid for the caller to reap.  They do the same
 * work, so the figures compare the mechanisms and nothing else.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "forkless.h"

int bench_devnull = -1;

static pid_t fork_exec(const struct bench_target *t)
{
	pid_t pid = fork();
	if (pid == 0) {
		dup2(bench_devnull, 1);
		execve(t->path, t->argv, environ);
		_exit(127);
	}
	return pid < 0 ? -errno : pid;
}

static pid_t vfork_exec(const struct bench_target *t)
{
	/* the floor of exec-based spawning: CLONE_VM|CLONE_VFORK, nothing else */
	pid_t pid = vfork();
	if (pid == 0) {
		dup2(bench_devnull, 1);
		execve(t->path, t->argv, environ);
		_exit(127);
	}
	return pid < 0 ? -errno : pid;
}

static posix_spawn_file_actions_t *devnull_actions(void)
{
	static posix_spawn_file_actions_t fa;
	static int done;
	if (!done) {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, bench_devnull, 1);
		done = 1;
	}
	return &fa;
}

static pid_t posix_spawn_m(const struct bench_target *t)
{
	pid_t pid;
	int r = posix_spawn(&pid, t->path, devnull_actions(), NULL, t->argv, environ);
	return r ? -r : pid;
}

static pid_t posix_spawnp_m(const struct bench_target *t)
{
	pid_t pid;
	int r = posix_spawnp(&pid, t->file, devnull_actions(), NULL, t->argv, environ);
	return r ? -r : pid;
}

typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const[], char *const[]);

/* The shim's posix_spawn, as a program running under LD_PRELOAD would call
 * it: loaded from next to the forkless binary. */
static spawn_fn *shim_posix_spawn(void)
{
	static spawn_fn *fn;
	char path[4200], *slash;

	if (fn)
		return fn;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 40);
	path[n > 0 ? n : 0] = 0;
	if ((slash = strrchr(path, '/')))
		strcpy(slash + 1, "libforkless-preload.so");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h)
		fn = (spawn_fn *)dlsym(h, "posix_spawn");
	else
		fprintf(stderr, "bench: %s\n", dlerror());
	return fn;
}

static pid_t posix_shim(const struct bench_target *t)
{
	spawn_fn *fn = shim_posix_spawn();
	pid_t pid;
	if (!fn)
		return -ENOENT;
	int r = fn(&pid, t->path, devnull_actions(), NULL, t->argv, environ);
	return r ? -r : pid;
}

/* A template per target, made on first use from the bare name: $PATH is
 * searched once, as a program would create it once and spawn many times. */
static pid_t template_m(const struct bench_target *t)
{
	static const struct bench_target *owner[8];
	static int tfd[8];
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	size_t i = 0;

	while (i < 8 && owner[i] && owner[i] != t)
		i++;
	if (i == 8)
		return -ENOMEM;
	if (!owner[i]) {
		struct fl_template_args ta = { .flags = FL_TEMPLATE_SEARCH_PATH, .execfd = -1,
					       .filename = t->file, .config_fd = -1 };
		tfd[i] = fl_spawn_template_create(&ta, sizeof(ta));
		if (tfd[i] < 0)
			return tfd[i];
		owner[i] = t;
	}
	struct fl_spawn_args sa = { .argv = t->argv, .envp = environ, .actions = &a, .nactions = 1 };
	return fl_spawn_template_spawn(tfd[i], &sa, sizeof(sa));
}

/*
 * The handles of embryo runs stay open until the bench reaps their child,
 * as an event loop keeps a pidfd to learn of the exit: closing it is part
 * of reaping, which no method's blocked time counts (posix_spawn's
 * waitpid is not counted either).
 */
static struct {
	pid_t pid;
	int fd;
} held[64];

static void hold(pid_t pid, int fd)
{
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		if (held[i].pid == 0) {
			held[i].pid = pid, held[i].fd = fd;
			return;
		}
	close(fd);
}

void bench_reaped(pid_t pid)
{
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		if (held[i].pid == pid) {
			close(held[i].fd);
			held[i].pid = 0;
		}
}

/* An embryo per spawn: created, then run (and waited for, or not). */
static pid_t embryo_run(const struct bench_target *t, uint64_t flags)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	struct fl_spawn_args sa = { .flags = flags, .path = t->path, .argv = t->argv,
				    .envp = environ, .actions = &a, .nactions = 1 };
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0)
		return fd;
	int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	if (pid > 0)
		hold(pid, fd); /* the bench reaps by pid, then closes the handle */
	else
		close(fd);
	return pid;
}

/* The embryo methods without a reserve create each process on the caller's
 * thread; embryo_reserve hands out spares made ahead (fl_embryo_reserve). */
static int reserved;

static void no_reserve(void)
{
	if (reserved)
		fl_embryo_reserve(0, 0);
	reserved = 0;
}

static void with_reserve(void)
{
	if (!reserved)
		reserved = fl_embryo_reserve(4, 0) == 0;
}

static pid_t embryo_m(const struct bench_target *t)
{
	return embryo_run(t, 0);
}

/* Returns as soon as the embryo is released: the caller is not blocked by
 * the exec.  (An exec failure would show as the child's exit status 127.) */
static pid_t embryo_async_m(const struct bench_target *t)
{
	return embryo_run(t, FL_SPAWN_ASYNC);
}

static pid_t fl_spawn_m(const struct bench_target *t)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	return fl_spawn(t->path, t->argv, environ, &a, 1, NULL);
}

static pid_t fl_spawnp_m(const struct bench_target *t)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	return fl_spawn(t->file, t->argv, environ, &a, 1, NULL);
}

const struct bench_method bench_methods[] = {
	{ "fork_exec", fork_exec, "fork() + execve() + waitpid()", NULL },
	{ "vfork_exec", vfork_exec, "vfork() + execve(): the floor for exec-based spawning", NULL },
	{ "posix_spawn", posix_spawn_m, "glibc posix_spawn(), absolute path", NULL },
	{ "posix_spawnp", posix_spawnp_m, "glibc posix_spawnp(), bare name searched in $PATH", NULL },
	{ "fl_spawn", fl_spawn_m, "forkless fl_spawn(), vfork launcher, absolute path", NULL },
	{ "fl_spawnp", fl_spawnp_m, "forkless fl_spawn(), bare name searched in $PATH", NULL },
	{ "posix_shim", posix_shim, "libc's posix_spawn name routed through the preload shim", NULL },
	{ "template", template_m, "forkless spawn template of the bare name ($PATH searched once)", NULL },
	{ "embryo", embryo_m, "forkless embryo: fl_pidfd_open(EMBRYO) + run, waits for the exec",
	  no_reserve },
	{ "embryo_async", embryo_async_m,
	  "forkless embryo run with FL_SPAWN_ASYNC: returns once released", no_reserve },
	{ "embryo_reserve", embryo_async_m, /* the same call; its enter hook makes the reserve */
	  "embryo_async with fl_embryo_reserve(4): the process was made ahead", with_reserve },
};
const size_t bench_nmethods = sizeof(bench_methods) / sizeof(bench_methods[0]);
