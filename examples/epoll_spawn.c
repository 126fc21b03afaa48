/* SPDX-License-Identifier: MIT */
/*
 * epoll_spawn.c - keep N spawns in flight from one thread that never blocks.
 *
 *   epoll_spawn [N [M [CMD [ARG...]]]]
 *
 * runs CMD (default /bin/true) M times (default 200), N at a time (default
 * 4), and prints "M spawns, N in flight, X spawns/s, F failed".  The exit
 * status is 0 when nothing failed.
 *
 * Each spawn is an embryo handle, fl_pidfd_open(0, FL_PIDFD_EMPTY |
 * FL_PIDFD_EMBRYO): the process exists from that call on and the handle is
 * its pidfd, so it goes into epoll at once.  fl_pidfd_spawn_run() with
 * FL_SPAWN_ASYNC releases the embryo into its exec and returns without
 * waiting for it.  A pidfd becomes readable when its process exits; then
 * fl_pidfd_spawn_result() tells whether the run reached exec (the pid) or
 * failed (-errno, with the failed step; that child is reaped already), and
 * fl_pidfd_wait() reaps a child that ran.  Closing the handle frees it.
 *
 * Embryos die with the thread that created them (PR_SET_PDEATHSIG): this
 * one thread creates them all and outlives them.  fl_embryo_reserve(N)
 * keeps N embryos made ahead by a helper, so that fl_pidfd_open() does not
 * create a process on this thread; without it (valgrind) the loop works
 * the same, only with that cost on this thread.
 *
 * Build: cc -Iinclude -o epoll_spawn examples/epoll_spawn.c build/libforkless.a -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <forkless.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct loop {
	int ep;            /* the epoll instance */
	char **argv;       /* the command */
	int started, done; /* spawns started and finished, of total */
	int total, failed, in_flight;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, int r, const struct fl_error *e)
{
	char msg[256];

	if (e && e->err)
		fprintf(stderr, "epoll_spawn: %s: %s\n", what, fl_strerror_r(e, msg, sizeof(msg)));
	else
		fprintf(stderr, "epoll_spawn: %s: %s\n", what, strerror(-r));
}

/* Create an embryo, release it into its run and watch its pidfd.  A failure
 * here counts as a finished, failed spawn. */
static void start_one(struct loop *l)
{
	struct fl_error err = { 0, FL_STAGE_NONE, -1 };
	struct fl_spawn_args args = { .flags = FL_SPAWN_ASYNC, .argv = l->argv, .error = &err };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, r;

	l->started++;
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0) {
		report("fl_pidfd_open", fd, NULL);
		goto failed;
	}
	/* argv and the environment are copied: nothing here must outlive the call */
	r = fl_pidfd_spawn_run(fd, &args, sizeof(args));
	if (r < 0) {
		report("fl_pidfd_spawn_run", r, &err);
		goto failed;
	}
	ev.data.fd = fd;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		perror("epoll_spawn: epoll_ctl");
		fl_pidfd_wait(fd, NULL, 0); /* cannot watch it: wait for it here */
		goto failed;
	}
	l->in_flight++;
	return;

failed:
	if (fd >= 0)
		close(fd);
	l->failed++;
	l->done++;
}

/* fd's process exited: collect the outcome of its run, reap it, close fd. */
static void finish_one(struct loop *l, int fd)
{
	struct fl_error err = { 0, FL_STAGE_NONE, -1 };
	int r, status = 0;

	r = fl_pidfd_spawn_result(fd, &err);
	if (r == -EINPROGRESS)
		return; /* not yet at exec: stay in epoll */
	if (r < 0) {
		report("spawn", r, &err); /* the child is reaped already */
		l->failed++;
	} else if ((r = fl_pidfd_wait(fd, &status, 0)) < 0) {
		report("fl_pidfd_wait", r, NULL);
		l->failed++;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "epoll_spawn: pid %d: status %#x\n", r, status);
		l->failed++;
	}
	close(fd); /* also takes it out of epoll */
	l->in_flight--;
	l->done++;
}

/* Start spawns until n are in flight or all have started. */
static void fill(struct loop *l, int n)
{
	while (l->in_flight < n && l->started < l->total)
		start_one(l);
}

static int run_loop(struct loop *l, int n)
{
	struct epoll_event evs[64];

	fill(l, n);
	while (l->done < l->total) {
		int k = epoll_wait(l->ep, evs, 64, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			perror("epoll_spawn: epoll_wait");
			return -1;
		}
		for (int i = 0; i < k; i++)
			finish_one(l, evs[i].data.fd);
		fill(l, n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char *dflt[] = { "/bin/true", NULL };
	int n = argc > 1 ? atoi(argv[1]) : 4;
	struct loop l = { .total = argc > 2 ? atoi(argv[2]) : 200,
			  .argv = argc > 3 ? argv + 3 : dflt };
	double t0, secs;

	if (n <= 0 || l.total <= 0) {
		fprintf(stderr, "usage: epoll_spawn [N [M [CMD [ARG...]]]]\n");
		return 2;
	}
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep < 0) {
		perror("epoll_spawn: epoll_create1");
		return 1;
	}
	int r = fl_embryo_reserve(n <= FL_EMBRYO_RESERVE_MAX ? (unsigned)n : FL_EMBRYO_RESERVE_MAX, 0);
	if (r < 0)
		fprintf(stderr, "epoll_spawn: no reserve (%s): embryos made here\n", strerror(-r));
	t0 = now();
	if (run_loop(&l, n) < 0)
		return 1;
	secs = now() - t0;
	close(l.ep);
	fl_embryo_reserve(0, 0);
	printf("%d spawns, %d in flight, %.0f spawns/s, %d failed\n", l.total, n,
	       secs > 0 ? l.total / secs : 0.0, l.failed);
	return l.failed ? 1 : 0;
}
