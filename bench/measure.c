/* SPDX-License-Identifier: MIT */
/*
 * measure.c - the timing of one spawn or one in-flight round, and the
 * conditions of the parent (resident memory, busy threads, open fds).
 *
 * Shared by the bench and its driver program, so that a method measured in
 * a process of its own is timed by the same code under the same condition.
 * Every condition is undone completely when it is set back to 0: memory and
 * thread stacks are mmap'ed and unmapped by us (no malloc arena or stack
 * cache is left behind to slow the next sweep), fds are closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ---- handles kept until the child is reaped ------------------------------ */

static struct {
	pid_t pid;
	int fd;
} held[BENCH_ROUND_MAX];

void bench_hold(pid_t pid, int fd)
{
	for (size_t i = 0; i < BENCH_ROUND_MAX; i++)
		if (held[i].pid == 0) {
			held[i].pid = pid, held[i].fd = fd;
			return;
		}
	close(fd);
}

void bench_reaped(pid_t pid)
{
	for (size_t i = 0; i < BENCH_ROUND_MAX; i++)
		if (held[i].pid == pid) {
			close(held[i].fd);
			held[i].pid = 0;
		}
}

/* ---- one sample, one round ---------------------------------------------- */

static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	bench_reaped(pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

int bench_sample(bench_spawn_fn *spawn, const struct bench_target *t, double *lat, double *blk)
{
	double t0 = bench_now_us();
	pid_t pid = spawn(t);
	double t1 = bench_now_us();

	if (pid < 0)
		return (int)pid;
	int r = reap(pid);
	*lat = bench_now_us() - t0;
	*blk = t1 - t0;
	return r;
}

void bench_round(bench_spawn_fn *spawn, const struct bench_target *t, int k, int total,
		 struct bench_round *ret)
{
	pid_t live[BENCH_ROUND_MAX];
	int started = 0, nlive = 0, st;

	memset(ret, 0, sizeof(*ret));
	if (total > BENCH_ROUND_MAX)
		total = BENCH_ROUND_MAX;
	double t0 = bench_now_us();
	while (started < total || nlive > 0) {
		while (nlive < k && started < total) {
			double a = bench_now_us();
			pid_t pid = spawn(t);
			ret->blk[ret->n] = bench_now_us() - a;
			started++;
			if (pid < 0) {
				ret->failed++; /* counted; the round goes on */
				continue;
			}
			ret->n++;
			live[nlive++] = pid;
		}
		if (!nlive)
			break;
		/* any of ours (a driver is a child too: not counted) */
		pid_t pid = waitpid(-1, &st, 0);
		if (pid < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nlive; i++)
			if (live[i] == pid) {
				live[i] = live[--nlive];
				bench_reaped(pid);
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					ret->failed++, ret->n--;
				break;
			}
	}
	double s = (bench_now_us() - t0) / 1e6;
	ret->rate = s > 0 ? ret->n / s : 0;
}

/* ---- resident memory ----------------------------------------------------- */

static struct {
	char *p;
	size_t len;
} chunk[8];
static size_t have_bytes;

int bench_cond_rss(size_t bytes)
{
	if (bytes < have_bytes) { /* back to nothing, then up */
		for (size_t i = 0; i < 8; i++)
			if (chunk[i].p)
				munmap(chunk[i].p, chunk[i].len), chunk[i].p = NULL;
		have_bytes = 0;
	}
	if (bytes == have_bytes)
		return 0;
	size_t i = 0, len = bytes - have_bytes;
	while (i < 8 && chunk[i].p)
		i++;
	if (i == 8)
		return -ENOMEM;
	/* fresh memory made resident, 4 KiB pages (as most heaps are) */
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, len, MADV_NOHUGEPAGE);
	if (madvise(p, len, 23 /* MADV_POPULATE_WRITE, 5.14 */) != 0)
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
	chunk[i].p = p, chunk[i].len = len;
	have_bytes = bytes;
	return 0;
}

/* ---- busy threads -------------------------------------------------------- */

#define BUSY_MAX 64
#define BUSY_BUF (1u << 20)
#define BUSY_STACK (256u << 10)

static atomic_int stop_threads, gate = 1;
static pthread_t busy_th[BUSY_MAX];
static void *busy_mem[BUSY_MAX]; /* stack, then buffer: unmapped after the join */
static int busy_n;

static void *busy(void *arg)
{
	char *buf = arg;
	while (!atomic_load_explicit(&stop_threads, memory_order_relaxed)) {
		if (!atomic_load_explicit(&gate, memory_order_acquire)) {
			syscall(SYS_futex, &gate, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
			continue;
		}
		for (size_t off = 0; off < BUSY_BUF; off += 4096)
			buf[off]++; /* keep touching memory */
		struct timespec ts = { 0, 50 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void bench_cond_gate(bool on)
{
	atomic_store_explicit(&gate, on, memory_order_release);
	if (on && busy_n)
		syscall(SYS_futex, &gate, FUTEX_WAKE_PRIVATE, BUSY_MAX, NULL, NULL, 0);
}

int bench_cond_threads(int n)
{
	atomic_store(&stop_threads, 1);
	syscall(SYS_futex, &gate, FUTEX_WAKE_PRIVATE, BUSY_MAX, NULL, NULL, 0);
	while (busy_n > 0) {
		busy_n--;
		pthread_join(busy_th[busy_n], NULL);
		munmap(busy_mem[busy_n], BUSY_STACK + BUSY_BUF);
	}
	atomic_store(&stop_threads, 0);
	while (busy_n < n && busy_n < BUSY_MAX) {
		pthread_attr_t a;
		char *m = mmap(NULL, BUSY_STACK + BUSY_BUF, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			break;
		pthread_attr_init(&a);
		pthread_attr_setstack(&a, m, BUSY_STACK);
		int r = pthread_create(&busy_th[busy_n], &a, busy, m + BUSY_STACK);
		pthread_attr_destroy(&a);
		if (r) {
			munmap(m, BUSY_STACK + BUSY_BUF);
			break;
		}
		busy_mem[busy_n++] = m;
	}
	return busy_n;
}

/* ---- open fds ------------------------------------------------------------ */

static int *fds_open, fds_n;
static struct rlimit fds_old;
static bool fds_raised;

/* n fds open in all (close-on-exec, as programs open them), RLIMIT_NOFILE
 * raised as needed; as many as the hard limit allows without
 * CAP_SYS_RESOURCE (*note says so); -1 if not even that is more. */
int bench_cond_fds(int n, const char **note)
{
	struct rlimit rl;

	*note = NULL;
	while (fds_n > 0) /* only ours: never a range (fds made meanwhile) */
		close(fds_open[--fds_n]);
	free(fds_open), fds_open = NULL;
	if (!fds_raised && getrlimit(RLIMIT_NOFILE, &fds_old) == 0)
		fds_raised = true;
	if (n <= 10) {
		if (fds_raised)
			setrlimit(RLIMIT_NOFILE, &fds_old);
		fds_raised = false;
	}
	int want = n, have = 0;
	rl.rlim_cur = rl.rlim_max = (rlim_t)want + 64;
	if (fds_old.rlim_max > rl.rlim_max)
		rl.rlim_max = fds_old.rlim_max;
	if (rl.rlim_cur > fds_old.rlim_cur && setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rl.rlim_cur = rl.rlim_max = fds_old.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || fds_old.rlim_max <= 1064)
			return -1;
		want = (int)fds_old.rlim_max - 64;
		*note = "fewer fds than asked: the hard RLIMIT_NOFILE cannot be raised";
	}
	for (int fd = 0; fd < 3; fd++)
		have += fcntl(fd, F_GETFD) >= 0;
	fds_open = calloc((size_t)want + 1, sizeof(int));
	while (fds_open && have + fds_n < want) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		fds_open[fds_n++] = fd;
	}
	return want;
}
