/* SPDX-License-Identifier: MIT */
/*
 * driver.c - a method of the bench run in a process of its own.
 *
 * Some methods cannot share the bench's process honestly: the shim is what
 * a program gets when it is *started* with LD_PRELOAD (the shim loaded by
 * the dynamic loader, its children inheriting LD_PRELOAD), and a reserve of
 * embryos is process-wide (it would hand its spares to the other embryo
 * methods, which would have to end it before each of their samples).  This
 * program is built once per such method:
 *
 *   bench-shim     (-DDRIVER_SHIM, not linked with forkless) calls libc's
 *                  posix_spawn; the bench starts it with LD_PRELOAD set to
 *                  libforkless-preload.so, so the call is the shim's.
 *   bench-reserve  (-DDRIVER_RESERVE) keeps fl_embryo_reserve(4) for its
 *                  whole life, as a program does, and runs FL_SPAWN_ASYNC.
 *
 * The bench writes requests (struct drv_req) on fd 3, a socket, and reads
 * each reply (struct drv_rep) there.  The driver sets the same condition as the
 * bench (resident memory, busy threads, open fds) when asked, and times
 * with the same code (measure.c).  Its busy threads run only while it
 * measures; the bench's are held meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int bench_devnull = -1;

#ifdef DRIVER_SHIM
static pid_t spawn_one(const struct bench_target *t)
{
	static posix_spawn_file_actions_t fa;
	static int done;
	pid_t pid;

	if (!done) {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, bench_devnull, 1);
		done = 1;
	}
	int r = posix_spawn(&pid, t->path, &fa, NULL, t->argv, environ);
	return r ? -r : pid;
}

static double setup(void)
{
	return 0;
}
#elif defined(DRIVER_RESERVE)
#include "forkless.h"

static pid_t spawn_one(const struct bench_target *t)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	struct fl_spawn_args sa = { .flags = FL_SPAWN_ASYNC, .path = t->path, .argv = t->argv,
				    .envp = environ, .actions = &a, .nactions = 1 };
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0)
		return fd;
	int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	if (pid > 0)
		bench_hold(pid, fd); /* closed when the child is reaped */
	else
		close(fd);
	return pid;
}

/* The reserve, made once as a program makes it at its start. */
static double setup(void)
{
	double t0 = bench_now_us();
	int r = fl_embryo_reserve(4, 0);
	return r < 0 ? r : bench_now_us() - t0;
}
#else
#error "build with -DDRIVER_SHIM or -DDRIVER_RESERVE"
#endif

static int full(int fd, void *buf, size_t len, bool wr)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = wr ? write(fd, (char *)buf + done, len - done)
			       : read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* path\0file\0argv[0]\0...argv[n-1]\0 */
static void set_target(struct bench_target *t, char *buf, size_t len)
{
	static char *argv[64];
	char *p = buf, *end = buf + len;
	int n = 0;

	t->path = p, p += strlen(p) + 1;
	t->file = p, p += strlen(p) + 1;
	while (p < end && n < 63)
		argv[n++] = p, p += strlen(p) + 1;
	argv[n] = NULL;
	t->argv = argv;
}

int main(void)
{
	struct bench_target t = { .name = "driver" };
	char *buf = NULL;
	struct drv_req q;
	struct drv_rep r;

	fcntl(3, F_SETFD, FD_CLOEXEC);
	bench_devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	bench_cond_gate(false);
	double setup_us = setup();
	while (full(3, &q, sizeof(q), false) == 0) {
		const char *note = NULL;
		memset(&r, 0, sizeof(r));
		r.setup_us = setup_us;
		switch (q.op) {
		case DRV_TARGET:
			free(buf);
			buf = malloc(q.len + 1);
			if (!buf || full(3, buf, q.len, false) < 0)
				return 1;
			buf[q.len] = 0;
			set_target(&t, buf, q.len);
			break;
		case DRV_SAMPLE:
			bench_cond_gate(true);
			r.err = setup_us < 0 ? (int)setup_us : bench_sample(spawn_one, &t, &r.lat, &r.blk);
			bench_cond_gate(false);
			break;
		case DRV_ROUND:
			bench_cond_gate(true);
			if (setup_us < 0)
				r.err = (int)setup_us;
			else
				bench_round(spawn_one, &t, q.k, q.total, &r.round);
			bench_cond_gate(false);
			break;
		case DRV_RSS:
			r.err = bench_cond_rss((size_t)q.value);
			break;
		case DRV_THREADS:
			r.value = bench_cond_threads((int)q.value);
			break;
		case DRV_FDS:
			r.value = bench_cond_fds((int)q.value, &note);
			if (note)
				snprintf(r.note, sizeof(r.note), "%s", note);
			/* a reserve carries the rlimits of its making: made again,
			 * as fl_embryo_reserve(3) asks after such a change */
			r.setup_us = setup_us = setup();
			break;
		default:
			r.err = -EINVAL;
		}
		if (full(3, &r, sizeof(r), true) < 0)
			return 1;
	}
	return 0;
}
