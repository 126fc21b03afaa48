/* SPDX-License-Identifier: MIT */
/*
 * methods.c - the ways of creating a process that the benchmark compares.
 *
 * Each spawns the target with stdout on /dev/null and the caller's
 * environment, and returns the pid for the caller to reap.  They do the same
 * work, so the figures compare the mechanisms and nothing else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "forkless.h"

int bench_devnull = -1;

/* fork + exec as careful programs write it (Python's subprocess, glibc's
 * own posix_spawn before 2.24): a close-on-exec pipe tells the parent that
 * the exec happened or why it failed, so the call returns, as every other
 * synchronous method's, once the child has exec'ed. */
static pid_t fork_exec(const struct bench_target *t)
{
	int p[2], e = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(bench_devnull, 1);
		execve(t->path, t->argv, environ);
		e = errno;
		(void)!write(p[1], &e, sizeof(e));
		_exit(127);
	}
	if (pid < 0)
		e = errno;
	close(p[1]);
	if (pid > 0 && read(p[0], &e, sizeof(e)) == (ssize_t)sizeof(e))
		waitpid(pid, NULL, 0); /* exec failed: reaped here */
	close(p[0]);
	return e ? -e : pid;
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

/* A template per target, made on first use from the bare name: $PATH is
 * searched once, as a program would create it once and spawn many times.
 * Its creation is reported in every cell (setup, paid once). */
struct tmpl {
	const struct bench_target *owner;
	int fd;
	double setup_us;
	bool told; /* warm: why it runs cold was said */
};

static int tmpl_make_flags(struct tmpl *x, const struct bench_target *t, uint64_t flags)
{
	struct fl_template_args ta = { .flags = FL_TEMPLATE_SEARCH_PATH | flags, .execfd = -1,
				       .filename = t->file, .config_fd = -1 };
	double t0 = bench_now_us();
	x->fd = fl_spawn_template_create(&ta, sizeof(ta));
	x->setup_us = bench_now_us() - t0;
	x->owner = x->fd >= 0 ? t : NULL;
	return x->fd;
}

static int tmpl_make(struct tmpl *x, const struct bench_target *t)
{
	return tmpl_make_flags(x, t, 0);
}

static pid_t tmpl_spawn(int fd, const struct bench_target *t)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	struct fl_spawn_args sa = { .argv = t->argv, .envp = environ, .actions = &a, .nactions = 1 };
	return fl_spawn_template_spawn(fd, &sa, sizeof(sa));
}

static struct tmpl early[8];

/* t's slot of the 8 in set (its own, or a free one), or NULL. */
static struct tmpl *tmpl_of(struct tmpl *set, const struct bench_target *t)
{
	size_t i = 0;
	while (i < 8 && set[i].owner && set[i].owner != t)
		i++;
	return i < 8 ? &set[i] : NULL;
}

static struct tmpl *early_of(const struct bench_target *t)
{
	return tmpl_of(early, t);
}

/* Template x of t made with flags if it is not yet: its setup, or -errno. */
static double tmpl_begin(struct tmpl *x, const struct bench_target *t, uint64_t flags)
{
	if (!x)
		return -ENOMEM;
	if (!x->owner && tmpl_make_flags(x, t, flags) < 0)
		return x->fd;
	return x->setup_us;
}

static double template_begin(const struct bench_target *t)
{
	return tmpl_begin(early_of(t), t, 0);
}

static pid_t template_m(const struct bench_target *t)
{
	struct tmpl *x = early_of(t);
	return x && x->owner ? tmpl_spawn(x->fd, t) : -EBADF;
}

/*
 * warm: a warm template (FL_TEMPLATE_WARM) per target, made on first use:
 * its server (the program stopped before its constructors and main, the
 * dynamic linker's work done) copies itself for each spawn.  The setup
 * reported is the creation, which starts the server and waits for it.
 * A target that cannot be warm (the static true) runs cold: the note in
 * the cell says so.
 */
static struct tmpl warm[8];

static struct tmpl *warm_of(const struct bench_target *t)
{
	return tmpl_of(warm, t);
}

static double warm_begin(const struct bench_target *t)
{
	struct tmpl *x = warm_of(t);
	double r = tmpl_begin(x, t, FL_TEMPLATE_WARM);
	if (r < 0)
		return r;
	int why = fl_spawn_template_warm(x->fd);
	if (why > 0 && !x->told) {
		fprintf(stderr, "bench: warm %s runs cold: %s\n", t->name, fl_strwarm(why));
		x->told = true;
	}
	return x->setup_us;
}

static pid_t warm_m(const struct bench_target *t)
{
	struct tmpl *x = warm_of(t);
	return x && x->owner ? tmpl_spawn(x->fd, t) : -EBADF;
}

/* The same template made at the start of each cell, after the condition:
 * in the fds sweep its fd is numbered above the caller's open fds. */
static struct tmpl late;

static double template_late_begin(const struct bench_target *t)
{
	return tmpl_make(&late, t) < 0 ? late.fd : late.setup_us;
}

static void template_late_end(void)
{
	if (late.owner)
		close(late.fd);
	late.owner = NULL;
}

static pid_t template_late_m(const struct bench_target *t)
{
	return late.owner == t ? tmpl_spawn(late.fd, t) : -EBADF;
}

/*
 * The handles of embryo runs stay open until the bench reaps their child,
 * as an event loop keeps a pidfd to learn of the exit: closing it is part
 * of reaping, which no method's blocked time counts (posix_spawn's
 * waitpid is not counted either).
 */
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
		bench_hold(pid, fd); /* the bench reaps by pid, then closes the handle */
	else
		close(fd);
	return pid;
}

/* An embryo per spawn, created on the caller's thread, then run: waits for
 * the exec. */
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

/* ---- the spawn server ------------------------------------------------------ */

/* A builder run synchronously through the spawn server (launcher=server):
 * the same work as fl_spawn, the child created by forkless-server with
 * CLONE_PARENT; returns once the child has exec'd.  The handle is kept
 * until the bench reaps the child, as for the embryo methods. */
/* A builder with one string key set (launcher=server, native=...) runs t. */
static pid_t builder_with(const struct bench_target *t, const char *key, const char *value)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	struct fl_spawn_args sa = { .path = t->path, .argv = t->argv, .envp = environ,
				    .actions = &a, .nactions = 1 };
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	if (fd < 0)
		return fd;
	int pid = fl_pidfd_config(fd, FL_CONFIG_SET_STRING, key, value, 0);
	if (pid == 0)
		pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	if (pid > 0)
		bench_hold(pid, fd);
	else
		close(fd);
	return pid;
}

static pid_t server_m(const struct bench_target *t)
{
	return builder_with(t, "launcher", "server");
}

/*
 * server_async: an event loop's way.  Each spawn is an embryo (made by the
 * server; in rounds of k in flight, from a reserve of k) run with
 * FL_SPAWN_ASYNC; the loop sleeps in poll() on the handles
 * (readable once the child has exited), asks fl_pidfd_spawn_result() for the
 * outcome, reaps the child and closes the handle.  Blocked time is the time
 * inside the library: fl_pidfd_open + fl_pidfd_spawn_run + the
 * fl_pidfd_spawn_result call; sleeping in poll() is the loop's idle time and
 * reaping is not counted for any method.
 */
static pid_t server_async_start(const struct bench_target *t, int *fd)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = bench_devnull, .newfd = 1 };
	struct fl_spawn_args sa = { .flags = FL_SPAWN_ASYNC, .path = t->path, .argv = t->argv,
				    .envp = environ, .actions = &a, .nactions = 1 };
	if ((*fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO)) < 0)
		return *fd;
	int pid = fl_pidfd_spawn_run(*fd, &sa, sizeof(sa));
	if (pid < 0)
		close(*fd);
	return pid;
}

int bench_early_exits;

/* The handle is readable: the outcome (timed into *blk), the reap, the
 * close.  0, or -ECHILD when the run failed or the child did not exit 0.
 * A readable handle means the child has exited, and fl_pidfd_spawn_result(3)
 * promises an outcome by then; -EINPROGRESS is counted (reported in the
 * summary) and the sample failed, the child reaped all the same. */
static int server_async_collect(int fd, pid_t pid, double *blk)
{
	int st = 0;
	double a = bench_now_us();
	int r = fl_pidfd_spawn_result(fd, NULL);
	*blk += bench_now_us() - a;
	if (r == -EINPROGRESS)
		bench_early_exits++;
	if (r == pid || r == -EINPROGRESS) /* a failed run was reaped by the call */
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR) {
				r = -errno;
				break;
			}
	close(fd);
	return r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

static int server_async_sample(const struct bench_target *t, double *lat, double *blk)
{
	struct pollfd p = { .events = POLLIN };
	double t0 = bench_now_us();
	pid_t pid = server_async_start(t, &p.fd);
	*blk = bench_now_us() - t0;
	if (pid < 0)
		return pid;
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	int r = server_async_collect(p.fd, pid, blk);
	*lat = bench_now_us() - t0;
	return r;
}

/* k runs in flight from this one thread: a new one started as soon as one
 * is collected. */
static int server_async_round(const struct bench_target *t, int k, int total,
			      struct bench_round *ret)
{
	struct {
		int fd, i;
		pid_t pid;
	} live[BENCH_ROUND_MAX];
	struct pollfd p[BENCH_ROUND_MAX];
	double blk[BENCH_ROUND_MAX];
	bool ok[BENCH_ROUND_MAX];
	int started = 0, nlive = 0, err = 0, n = 0;

	memset(ret, 0, sizeof(*ret));
	if (total > BENCH_ROUND_MAX)
		total = BENCH_ROUND_MAX;
	/* as an event loop keeps them: k embryos made ahead, each taken
	 * without a round trip to the server (untimed, as a program makes its
	 * reserve once) */
	fl_embryo_reserve((unsigned int)k, 0);
	double t0 = bench_now_us();
	while (started < total || nlive > 0) {
		while (nlive < k && started < total) {
			int fd, i = started++;
			double a = bench_now_us();
			pid_t pid = server_async_start(t, &fd);
			blk[i] = bench_now_us() - a;
			ok[i] = pid > 0;
			if (pid < 0) {
				err = err ? err : pid; /* counted; the round goes on */
				continue;
			}
			live[nlive].fd = fd, live[nlive].i = i, live[nlive].pid = pid;
			nlive++;
		}
		if (nlive <= 0)
			break;
		for (int i = 0; i < nlive; i++)
			p[i] = (struct pollfd){ .fd = live[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)nlive, -1) < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			fl_embryo_reserve(0, 0);
			return e;
		}
		for (int i = nlive - 1; i >= 0; i--) /* the last, already seen, fills the gap */
			if (p[i].revents) {
				int j = live[i].i;
				ok[j] = server_async_collect(live[i].fd, live[i].pid, &blk[j]) == 0;
				live[i] = live[--nlive];
			}
	}
	double s = (bench_now_us() - t0) / 1e6;
	fl_embryo_reserve(0, 0);
	for (int i = 0; i < started; i++) {
		if (ok[i])
			ret->blk[n++] = blk[i];
		else
			ret->failed++;
	}
	ret->n = n;
	ret->rate = s > 0 ? n / s : 0;
	return n == 0 && err ? err : 0;
}

/* ---- posix_spawn from k threads: the reference for one thread's rate ------- */

/*
 * k threads, each spawning with posix_spawn and reaping its own child (so
 * k children in flight), total spawns shared out as they go: what a program
 * gets from posix_spawn when it spends threads to overlap spawns.  Blocked
 * is each posix_spawn call, as for posix_spawn's own rows.
 */
struct mt_round {
	const struct bench_target *t;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go;
	atomic_int left, next, failed;
	struct bench_round *ret;
};

static void *mt_thread(void *arg)
{
	struct mt_round *m = arg;
	int st;

	pthread_mutex_lock(&m->lock);
	while (!m->go)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
	while (atomic_fetch_sub(&m->left, 1) > 0) {
		pid_t pid;
		double a = bench_now_us();
		int r = posix_spawn(&pid, m->t->path, devnull_actions(), NULL, m->t->argv, environ);
		double b = bench_now_us();
		if (r == 0)
			while ((r = waitpid(pid, &st, 0) < 0 ? errno : 0) == EINTR)
				;
		if (r || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			atomic_fetch_add(&m->failed, 1);
		else
			m->ret->blk[atomic_fetch_add(&m->next, 1)] = b - a;
	}
	return NULL;
}

static int posix_spawn_threads_round(const struct bench_target *t, int k, int total,
				     struct bench_round *ret)
{
	struct mt_round m = { .t = t, .ret = ret, .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER };
	pthread_t th[BENCH_ROUND_MAX];
	pthread_attr_t attr;
	int n = 0, e = 0;

	memset(ret, 0, sizeof(*ret));
	if (total > BENCH_ROUND_MAX)
		total = BENCH_ROUND_MAX;
	devnull_actions(); /* made before the threads share it */
	atomic_init(&m.left, total);
	atomic_init(&m.next, 0);
	atomic_init(&m.failed, 0);
	if (k > BENCH_ROUND_MAX)
		k = BENCH_ROUND_MAX;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256u << 10); /* posix_spawn brings its own */
	while (n < k && (e = pthread_create(&th[n], &attr, mt_thread, &m)) == 0)
		n++;
	pthread_attr_destroy(&attr);
	if (n < k) /* those made go, with nothing to do */
		atomic_store(&m.left, 0);
	pthread_mutex_lock(&m.lock);
	m.go = true;
	pthread_cond_broadcast(&m.cond);
	pthread_mutex_unlock(&m.lock);
	double t0 = bench_now_us(); /* threads made: only the spawns are timed */
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	double s = (bench_now_us() - t0) / 1e6;
	ret->n = atomic_load(&m.next);
	ret->failed = atomic_load(&m.failed);
	ret->rate = s > 0 ? ret->n / s : 0;
	return n < k ? -e : 0;
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

/*
 * The native path against user space, in one run: a builder, and a
 * template, with the key "native" true or false.  Native needs the forkless
 * test kernel (make kernel-check): elsewhere those cells are left out.
 */
static bool kernel_has_native(void)
{
	long fd = syscall(SYS_pidfd_open, 0, 0x40000000u /* PIDFD_EMPTY */);
	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

static double native_begin(const struct bench_target *t)
{
	(void)t;
	return kernel_has_native() ? 0 : -ENOSYS;
}

static pid_t builder_native_m(const struct bench_target *t)
{
	return builder_with(t, "native", "true");
}

static pid_t builder_user_m(const struct bench_target *t)
{
	return builder_with(t, "native", "false");
}

static struct tmpl tnative[8], tuser[8];

/* Template x of t whose configuration has native = v. */
static double tmpl_native_begin(struct tmpl *x, const struct bench_target *t, const char *v)
{
	if (!x)
		return -ENOMEM;
	if (x->owner)
		return x->setup_us;
	if (!strcmp(v, "true") && !kernel_has_native())
		return -ENOSYS;
	double t0 = bench_now_us();
	int cfd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	if (cfd < 0)
		return cfd;
	int r = fl_pidfd_config(cfd, FL_CONFIG_SET_STRING, "native", v, 0);
	struct fl_template_args ta = { .flags = FL_TEMPLATE_SEARCH_PATH, .execfd = -1,
				       .filename = t->file, .config_fd = cfd };
	x->fd = r < 0 ? r : fl_spawn_template_create(&ta, sizeof(ta));
	close(cfd);
	x->setup_us = bench_now_us() - t0;
	x->owner = x->fd >= 0 ? t : NULL;
	return x->fd < 0 ? x->fd : x->setup_us;
}

static double template_native_begin(const struct bench_target *t)
{
	return tmpl_native_begin(tmpl_of(tnative, t), t, "true");
}

static double template_user_begin(const struct bench_target *t)
{
	return tmpl_native_begin(tmpl_of(tuser, t), t, "false");
}

static pid_t template_native_m(const struct bench_target *t)
{
	struct tmpl *x = tmpl_of(tnative, t);
	return x && x->owner ? tmpl_spawn(x->fd, t) : -EBADF;
}

static pid_t template_user_m(const struct bench_target *t)
{
	struct tmpl *x = tmpl_of(tuser, t);
	return x && x->owner ? tmpl_spawn(x->fd, t) : -EBADF;
}

/* ---- methods run by a driver (driver.c) ---------------------------------- */

static struct drv {
	const char *name;
	pid_t pid;
	int sock;
	const struct bench_target *target; /* the one it was last sent */
	double setup_us;
	double rss, threads, fds; /* the condition it has */
} drv[4];
static double cur_rss, cur_threads, cur_fds; /* the bench's */

static int drv_io(int fd, void *buf, size_t len, bool wr)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = wr ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
			       : read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		done += (size_t)n;
	}
	return 0;
}

/* One request, its reply; the bench's busy threads are held meanwhile. */
static int drv_call(struct drv *d, const struct drv_req *q, const void *payload,
		    struct drv_rep *r)
{
	int e;

	bench_cond_gate(false);
	if ((e = drv_io(d->sock, (void *)q, sizeof(*q), true)) == 0 &&
	    (!q->len || (e = drv_io(d->sock, (void *)payload, q->len, true)) == 0))
		e = drv_io(d->sock, r, sizeof(*r), false);
	bench_cond_gate(true);
	if (e == 0)
		d->setup_us = r->setup_us;
	return e;
}

static int drv_cond(struct drv *d, int op, double value, double *have)
{
	struct drv_req q = { .op = op, .value = value };
	struct drv_rep r = { 0 }; /* not read back when the driver has it already */
	int e = *have == value ? 0 : drv_call(d, &q, NULL, &r);
	if (e == 0 && (e = r.err) == 0)
		*have = value;
	return e;
}

static char *exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 64);
	buf[n > 0 ? n : 0] = 0;
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
	return buf;
}

/* Start the method's driver: bench-shim with LD_PRELOAD, as a program is
 * started under the shim (its children inherit it), bench-reserve as is. */
static int drv_start(struct drv *d, const char *name)
{
	char dir[4096], path[4200], preload[4300];
	char *argv[] = { path, NULL }, **envp;
	int sv[2];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", exe_dir(dir, sizeof(dir)), name);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/libforkless-preload.so", dir);
	while (environ[n])
		n++;
	if (!(envp = calloc(n + 2, sizeof(char *))))
		return -ENOMEM;
	n = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11))
			envp[n++] = *e;
	if (!strcmp(name, "bench-shim"))
		envp[n++] = preload;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(envp);
		return -errno;
	}
	int low = fcntl(sv[1], F_DUPFD_CLOEXEC, 10); /* never 3 itself */
	close(sv[1]);
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = low, .newfd = 3 };
	pid_t pid = fl_spawn(path, argv, envp, &a, 1, NULL);
	close(low);
	free(envp);
	if (pid < 0) {
		close(sv[0]);
		return pid;
	}
	*d = (struct drv){ .name = name, .pid = pid, .sock = sv[0] };
	/* the bench's present condition */
	int e = drv_cond(d, DRV_RSS, cur_rss, &d->rss);
	if (!e)
		e = drv_cond(d, DRV_THREADS, cur_threads, &d->threads);
	if (!e)
		e = drv_cond(d, DRV_FDS, cur_fds, &d->fds);
	return e;
}

static struct drv *drv_of(const struct bench_method *m, const struct bench_target *t, int *err)
{
	size_t i = 0;

	*err = 0;
	while (i < 4 && drv[i].name && strcmp(drv[i].name, m->driver))
		i++;
	if (i == 4)
		return *err = -ENOMEM, NULL;
	if (!drv[i].name && (*err = drv_start(&drv[i], m->driver)) < 0)
		return NULL;
	if (drv[i].target != t) {
		char buf[8192];
		size_t len = 0;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", t->path) + 1;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", t->file) + 1;
		for (char **a = t->argv; *a && len < sizeof(buf); a++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", *a) + 1;
		if (len > sizeof(buf))
			return *err = -E2BIG, NULL;
		struct drv_req q = { .op = DRV_TARGET, .len = (unsigned int)len };
		struct drv_rep r;
		if ((*err = drv_call(&drv[i], &q, buf, &r)) < 0)
			return NULL;
		drv[i].target = t;
	}
	return &drv[i];
}

int bench_driver_sample(const struct bench_method *m, const struct bench_target *t,
			double *lat, double *blk)
{
	struct drv_req q = { .op = DRV_SAMPLE };
	struct drv_rep r;
	int e;
	struct drv *d = drv_of(m, t, &e);

	if (!d || (e = drv_call(d, &q, NULL, &r)) < 0)
		return e;
	*lat = r.lat, *blk = r.blk;
	return r.err;
}

int bench_driver_round(const struct bench_method *m, const struct bench_target *t, int k,
		       int total, struct bench_round *ret)
{
	struct drv_req q = { .op = DRV_ROUND, .k = k, .total = total };
	struct drv_rep r;
	int e;
	struct drv *d = drv_of(m, t, &e);

	if (!d || (e = drv_call(d, &q, NULL, &r)) < 0)
		return e;
	*ret = r.round;
	return r.err;
}

double bench_driver_setup_us(const struct bench_method *m)
{
	for (size_t i = 0; i < 4 && drv[i].name; i++)
		if (!strcmp(drv[i].name, m->driver))
			return drv[i].setup_us;
	return 0;
}

void bench_drivers_cond(int op, double value)
{
	double *cur = op == DRV_RSS ? &cur_rss : op == DRV_THREADS ? &cur_threads : &cur_fds;
	*cur = value;
	for (size_t i = 0; i < 4 && drv[i].name; i++) {
		double *have = op == DRV_RSS	   ? &drv[i].rss
			       : op == DRV_THREADS ? &drv[i].threads
						   : &drv[i].fds;
		if (drv_cond(&drv[i], op, value, have) < 0)
			fprintf(stderr, "bench: %s: could not set its condition\n", drv[i].name);
	}
}

void bench_drivers_stop(void)
{
	for (size_t i = 0; i < 4 && drv[i].name; i++) {
		close(drv[i].sock); /* it reads EOF and exits */
		waitpid(drv[i].pid, NULL, 0);
		drv[i] = (struct drv){ 0 };
	}
}

const struct bench_method bench_methods[] = {
	{ .name = "fork_exec", .spawn = fork_exec,
	  .about = "fork() + execve() + waitpid(), exec errors through a pipe" },
	{ .name = "vfork_exec", .spawn = vfork_exec,
	  .about = "vfork() + execve(): the floor for exec-based spawning" },
	{ .name = "posix_spawn", .spawn = posix_spawn_m, .about = "glibc posix_spawn(), absolute path" },
	{ .name = "posix_spawnp", .spawn = posix_spawnp_m,
	  .about = "glibc posix_spawnp(), bare name searched in $PATH" },
	{ .name = "fl_spawn", .spawn = fl_spawn_m,
	  .about = "forkless fl_spawn(), vfork launcher, absolute path" },
	{ .name = "fl_spawnp", .spawn = fl_spawnp_m,
	  .about = "forkless fl_spawn(), bare name searched in $PATH" },
	{ .name = "posix_shim", .driver = "bench-shim",
	  .about = "posix_spawn() in a program started with LD_PRELOAD of the shim" },
	{ .name = "template", .spawn = template_m, .cell_begin = template_begin,
	  .about = "forkless spawn template of the bare name ($PATH searched once)" },
	{ .name = "template_late", .spawn = template_late_m, .cell_begin = template_late_begin,
	  .cell_end = template_late_end,
	  .about = "the template made at each cell's start (fds sweep: numbered above the open fds)" },
	{ .name = "warm", .spawn = warm_m, .cell_begin = warm_begin,
	  .about = "forkless warm template (FL_TEMPLATE_WARM): the program's server, past the "
		   "dynamic linker, copies itself per spawn" },
	{ .name = "builder_native", .spawn = builder_native_m, .cell_begin = native_begin,
	  .about = "forkless builder, native=true: the kernel's process builder (the forkless "
		   "test kernel only)" },
	{ .name = "builder_user", .spawn = builder_user_m,
	  .about = "forkless builder, native=false: the vfork launcher in user space" },
	{ .name = "template_native", .spawn = template_native_m, .cell_begin = template_native_begin,
	  .about = "spawn template of the bare name, native=true: the kernel's spawn template "
		   "(the forkless test kernel only)" },
	{ .name = "template_user", .spawn = template_user_m, .cell_begin = template_user_begin,
	  .about = "spawn template of the bare name, native=false: user space" },
	{ .name = "embryo", .spawn = embryo_m,
	  .about = "forkless embryo (made by the spawn server): fl_pidfd_open(EMBRYO) + run, "
		   "waits for the exec" },
	{ .name = "embryo_async", .spawn = embryo_async_m,
	  .about = "forkless embryo (made by the spawn server) run with FL_SPAWN_ASYNC: "
		   "returns once released" },
	{ .name = "embryo_reserve", .driver = "bench-reserve",
	  .about = "embryo_async in a program that keeps fl_embryo_reserve(4): spares made "
		   "ahead by the spawn server" },
	{ .name = "server", .spawn = server_m,
	  .about = "forkless builder with launcher=server: the spawn server creates the "
		   "child, waits for the exec" },
	{ .name = "server_async", .sample = server_async_sample, .round = server_async_round,
	  .about = "embryos run with FL_SPAWN_ASYNC from one thread's poll() loop, outcome by "
		   "fl_pidfd_spawn_result, reaped" },
	{ .name = "posix_spawn_mt", .round = posix_spawn_threads_round, .inflight_only = true,
	  .about = "posix_spawn() + waitpid() in each of k threads (in-flight cells only)" },
};
const size_t bench_nmethods = sizeof(bench_methods) / sizeof(bench_methods[0]);
