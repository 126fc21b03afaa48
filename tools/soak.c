/* SPDX-License-Identifier: MIT */
/*
 * soak.c - many spawns through every front end; nothing may accumulate.
 *
 *   soak [-n N]      N spawns per front end (default $SOAK_N, else 100000)
 *
 * Runs N spawns of true-static (beside this binary) through fl_spawn, a
 * builder handle, a builder through the spawn server, a template,
 * fl_posix_spawn, glibc's posix_spawn in a
 * process that has the LD_PRELOAD shim loaded (this program run again with
 * --shim), embryo runs with FL_SPAWN_ASYNC (without and with a reserve),
 * then N more from 8 threads at once, each rotating over the front ends,
 * while other threads open and close fds (so freed handle numbers are
 * reused at once) and call setgroups() and setres[ug]id() with the values
 * the process already has (each such call in a threaded process signals
 * every thread: glibc's setxid broadcast; the library's credential checks
 * see no change), and one in four builder runs switches to another user in
 * the child.  Every spawn must succeed and its child exit 0.
 *
 * Before the counted run (after a short warm-up of the same shape, so that
 * thread stacks, malloc arenas and the library's caches exist) and after
 * it, it reports the open fds, the RSS and the children left (with the
 * spawn server let go: fl_server_release), and fails (exit 1) unless fds
 * and children are the same and the RSS grew less than RSS_SLACK_KB; the
 * server that served the whole run must have as many fds at its end as at
 * its start.  The shim process checks the same of itself.  Ends with
 * "N passed, N failed" (one check per phase and per measure).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forkless.h"

#define RSS_SLACK_KB 1024 /* allocator noise; a leak per spawn is far more */
#define THREADS 8
#define WARMUP 200

extern char **environ;

static char true_path[PATH_MAX], self_path[PATH_MAX], shim_path[PATH_MAX];
static char *true_argv[] = { "true", NULL };
static int passed, failed;

/* ---- measures ---------------------------------------------------------- */

struct snap {
	long fds, rss_kb, children;
};

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Processes whose parent is this one, zombies included. */
static long count_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long n = 0;
	pid_t me = getpid();

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], buf[512], *p;
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = 0;
		p = strrchr(buf, ')'); /* "pid (comm) S ppid ..." */
		if (p && atoi(p + 4) == me)
			n++;
	}
	closedir(d);
	return n;
}

/* The fds of our spawn server (the first forkless-server child), or -1. */
static long server_fds(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long n = -1;
	pid_t me = getpid();

	while (d && n < 0 && (de = readdir(d))) {
		char path[300], buf[512], *p;
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (k <= 0)
			continue;
		buf[k] = 0;
		p = strrchr(buf, ')');
		if (!p || atoi(p + 4) != me || !strstr(buf, "(forkless-serve"))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		DIR *f = opendir(path);
		struct dirent *e;
		n = 0;
		while (f && (e = readdir(f)))
			n += e->d_name[0] != '.';
		if (f)
			closedir(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* The process's own state: with the spawn server let go first (it is
 * process state; a new one starts on the next use), so that what is left
 * is the library's. */
static struct snap snap_take(void)
{
	fl_server_release(0);
	struct snap s = { count_fds(), rss_kb(), count_children() };
	return s;
}

static void check(int ok, const char *what)
{
	if (ok)
		passed++;
	else
		failed++;
	printf("%s %s\n", ok ? "ok" : "FAILED", what);
	fflush(stdout);
}

/* Compare before and after; one check per measure. */
static void snap_check(const char *who, struct snap a, struct snap b)
{
	char what[200];

	printf("%s: fds %ld -> %ld, RSS %ld -> %ld KiB, children %ld -> %ld\n", who, a.fds,
	       b.fds, a.rss_kb, b.rss_kb, a.children, b.children);
	snprintf(what, sizeof(what), "%s: fds flat", who);
	check(a.fds >= 0 && a.fds == b.fds, what);
	snprintf(what, sizeof(what), "%s: RSS flat (grew %ld KiB, limit %d)", who,
		 b.rss_kb - a.rss_kb, RSS_SLACK_KB);
	check(a.rss_kb > 0 && b.rss_kb - a.rss_kb < RSS_SLACK_KB, what);
	snprintf(what, sizeof(what), "%s: no child left", who);
	check(a.children == 0 && b.children == 0, what);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- front ends: each spawns true-static once and reaps it; 0 or -1 ---- */

static int exited_ok(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int reap_pid(pid_t pid)
{
	int st;

	if (pid <= 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return exited_ok(st);
}

static int reap_fd(int fd, pid_t pid)
{
	int st, r;

	while ((r = fl_pidfd_wait(fd, &st, 0)) == -EINTR)
		;
	close(fd);
	return r == pid ? exited_ok(st) : -1;
}

static int do_fl_spawn(void)
{
	struct fl_error e;
	return reap_pid(fl_spawn(true_path, true_argv, NULL, NULL, 0, &e));
}

/* A builder run; with other_user the child becomes nobody (groups too). */
static int builder_run(int other_user, int server)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	gid_t nogroup = 65534;
	struct fl_error e;

	if (fd < 0)
		return -1;
	if ((server && fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "launcher", "server", 0) < 0) ||
	    fl_pidfd_set_umask(fd, 022) < 0 ||
	    (other_user && (fl_pidfd_set_groups(fd, &nogroup, 1) < 0 ||
			    fl_pidfd_set_gid(fd, 65534) < 0 || fl_pidfd_set_uid(fd, 65534) < 0))) {
		close(fd);
		return -1;
	}
	struct fl_spawn_args a = { .path = true_path, .argv = true_argv, .error = &e };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	if (pid < 0) {
		close(fd);
		return -1;
	}
	return reap_fd(fd, pid);
}

static int do_builder(void)
{
	return builder_run(0, 0);
}

/* The builder through the spawn server. */
static int do_server(void)
{
	return builder_run(0, 1);
}

static int tmpl_fd = -1;

static int do_template(void)
{
	struct fl_error e;
	struct fl_spawn_args a = { .argv = true_argv, .error = &e };
	return reap_pid(fl_spawn_template_spawn(tmpl_fd, &a, sizeof(a)));
}

/* With file actions and attributes made and freed each time, as callers do. */
static int posix_run(int (*spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
				  const posix_spawnattr_t *, char *const[], char *const[]))
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid = -1;

	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	int r = spawn(&pid, true_path, &fa, &at, true_argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return r ? -1 : reap_pid(pid);
}

static int do_fl_posix_spawn(void)
{
	return posix_run(fl_posix_spawn);
}

static int do_libc_posix_spawn(void)
{
	return posix_run(posix_spawn);
}

static int do_embryo_async(void)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	struct fl_error e;

	if (fd < 0)
		return -1;
	struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .path = true_path,
				   .argv = true_argv, .error = &e };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	if (pid < 0) {
		close(fd);
		return -1;
	}
	int st, r;
	while ((r = fl_pidfd_wait(fd, &st, 0)) == -EINTR)
		;
	/* exited with 0 and reaped: the outcome is known and is the exec */
	int res = fl_pidfd_spawn_result(fd, &e);
	close(fd);
	return r == pid && res == pid ? exited_ok(st) : -1;
}

/* ---- phases ------------------------------------------------------------ */

struct front_end {
	const char *name;
	int (*fn)(void);
};

static long run_phase(const char *name, int (*fn)(void), long n, int quiet)
{
	long bad = 0;
	double t0 = now();

	for (long i = 0; i < n; i++)
		if (fn() < 0)
			bad++;
	if (!quiet) {
		double dt = now() - t0;
		char what[200];
		snprintf(what, sizeof(what), "%-16s %ld spawns, %ld failed, %.1f s, %.0f/s", name,
			 n, bad, dt, n / (dt > 0 ? dt : 1));
		check(bad == 0, what);
	}
	return bad;
}

/* The racing part: 8 spawners, an fd churner, a credential caller. */
static const struct front_end race_fe[] = {
	{ "fl_spawn", do_fl_spawn },
	{ "builder", do_builder },
	{ "template", do_template },
	{ "fl_posix_spawn", do_fl_posix_spawn },
	{ "embryo_async", do_embryo_async },
};
#define NRACE (sizeof(race_fe) / sizeof(race_fe[0]))

static atomic_long race_left, race_bad;
static atomic_int race_stop;
static atomic_long churned, setxids;

static void *spawner(void *arg)
{
	unsigned long k = (unsigned long)(uintptr_t)arg;

	while (atomic_fetch_sub(&race_left, 1) > 0) {
		int r = k % (NRACE + 1) == NRACE ? builder_run(getuid() == 0, 0)
						 : race_fe[k % (NRACE + 1)].fn();
		if (r < 0)
			atomic_fetch_add(&race_bad, 1);
		k++;
	}
	return NULL;
}

/* Open and close fds without pause: numbers the library just freed are taken
 * at once; some are inheritable (they must not reach the children). */
static void *fd_churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&race_stop)) {
		int p[2];
		int a = open("/dev/null", O_RDONLY);
		int b = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (pipe(p) == 0) {
			close(p[0]);
			close(p[1]);
		}
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		atomic_fetch_add(&churned, 1);
	}
	return NULL;
}

/* Credential calls that change nothing, each a signal to every thread. */
static void *cred_churn(void *arg)
{
	gid_t groups[64];
	int n = getgroups(64, groups);
	struct timespec pause = { 0, 200 * 1000 };

	(void)arg;
	while (!atomic_load(&race_stop)) {
		if (n >= 0 && getuid() == 0 && setgroups((size_t)n, groups) < 0)
			atomic_fetch_add(&race_bad, 1);
		if (setresuid((uid_t)-1, (uid_t)-1, (uid_t)-1) < 0 ||
		    setresgid((gid_t)-1, (gid_t)-1, (gid_t)-1) < 0 || seteuid(geteuid()) < 0)
			atomic_fetch_add(&race_bad, 1);
		atomic_fetch_add(&setxids, 1);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static long run_race(long n, int quiet)
{
	pthread_t sp[THREADS], fc, cc;
	double t0 = now();

	atomic_store(&race_left, n);
	atomic_store(&race_bad, 0);
	atomic_store(&race_stop, 0);
	atomic_store(&churned, 0);
	atomic_store(&setxids, 0);
	pthread_create(&fc, NULL, fd_churn, NULL);
	pthread_create(&cc, NULL, cred_churn, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&sp[i], NULL, spawner, (void *)(uintptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(sp[i], NULL);
	atomic_store(&race_stop, 1);
	pthread_join(fc, NULL);
	pthread_join(cc, NULL);
	long bad = atomic_load(&race_bad);
	if (!quiet) {
		double dt = now() - t0;
		char what[300];
		snprintf(what, sizeof(what),
			 "%-16s %ld spawns by %d threads, %ld failed, %.1f s, %.0f/s "
			 "(%ld fd churns, %ld setxid rounds)",
			 "race", n, THREADS, bad, dt, n / (dt > 0 ? dt : 1),
			 atomic_load(&churned), atomic_load(&setxids));
		check(bad == 0, what);
	}
	return bad;
}

/* ---- the shim, in a process of its own --------------------------------- */

/* In the preloaded process: glibc's posix_spawn must be the shim's. */
static int shim_main(long n)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "posix_spawn");

	if (!sym || !dladdr(sym, &info) || !info.dli_fname ||
	    !strstr(info.dli_fname, "libforkless-preload")) {
		printf("FAILED shim: posix_spawn is %s's, not the shim's\n",
		       sym && info.dli_fname ? info.dli_fname : "nobody");
		return 1;
	}
	run_phase("shim", do_libc_posix_spawn, WARMUP, 1);
	struct snap a = snap_take();
	run_phase("shim posix_spawn", do_libc_posix_spawn, n, 0);
	snap_check("shim process", a, snap_take());
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* Run this program under LD_PRELOAD; its checks are counted here. */
static void shim_phase(long n)
{
	char nbuf[32], pre[PATH_MAX + 16], line[512];
	char *argv[] = { self_path, "--shim", nbuf, NULL };
	size_t k = 0;
	int p[2];

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", shim_path);
	for (char **e = environ; *e; e++)
		k++;
	char **envp = calloc(k + 2, sizeof(*envp));
	k = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11))
			envp[k++] = *e;
	envp[k] = pre;
	if (!envp || pipe2(p, O_CLOEXEC) < 0) {
		check(0, "shim: pipe");
		return;
	}
	struct fl_action out = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_error e;
	pid_t pid = fl_spawn(self_path, argv, envp, &out, 1, &e);
	close(p[1]);
	free(envp);
	FILE *f = fdopen(p[0], "r");
	int np = -1, nf = -1;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d passed, %d failed", &np, &nf) == 2)
			continue;
		fputs(line, stdout);
	}
	if (f)
		fclose(f);
	int st = pid > 0 ? 0 : -1;
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	if (np < 0 || pid <= 0 || exited_ok(st) < 0) {
		check(0, "shim process ran and reported");
		return;
	}
	passed += np;
	failed += nf;
}

/* ---- main -------------------------------------------------------------- */

static void paths(void)
{
	ssize_t k = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	char dir[PATH_MAX - 32]; /* room for the names below */

	self_path[k > 0 ? k : 0] = 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)sizeof(dir) - 1, self_path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	snprintf(true_path, sizeof(true_path), "%s/true-static", dir);
	snprintf(shim_path, sizeof(shim_path), "%s/libforkless-preload.so", dir);
}

static void usage(void)
{
	fprintf(stderr, "usage: soak [-n N]   (N spawns per front end; default $SOAK_N or 100000)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *env = getenv("SOAK_N");
	long n = env && *env ? atol(env) : 100000;
	int opt;

	paths();
	if (argc == 3 && !strcmp(argv[1], "--shim")) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		return shim_main(atol(argv[2]));
	}
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			usage();
		n = atol(optarg);
	}
	if (optind != argc || n <= 0)
		usage();
	if (access(true_path, X_OK) < 0 || access(shim_path, R_OK) < 0) {
		fprintf(stderr, "soak: %s or %s missing (make all)\n", true_path, shim_path);
		return 2;
	}
	struct fl_template_args ta = { .execfd = -1, .filename = true_path, .config_fd = -1 };
	if ((tmpl_fd = fl_spawn_template_create(&ta, sizeof(ta))) < 0) {
		fprintf(stderr, "soak: template: %s\n", strerror(-tmpl_fd));
		return 1;
	}
	static const struct front_end fe[] = {
		{ "fl_spawn", do_fl_spawn },
		{ "builder", do_builder },
		{ "server", do_server },
		{ "template", do_template },
		{ "fl_posix_spawn", do_fl_posix_spawn },
		{ "embryo_async", do_embryo_async },
	};
	const size_t nfe = sizeof(fe) / sizeof(fe[0]);

	printf("soak: %ld spawns per front end of %s%s\n", n, true_path,
	       getuid() == 0 ? "" : " (not root: no setgroups, no user switch)");
	fflush(stdout);
	double t0 = now();

	/* warm-up: every path once at least, the reserve made and ended, threads */
	for (size_t i = 0; i < nfe; i++)
		run_phase(fe[i].name, fe[i].fn, WARMUP, 1);
	fl_embryo_reserve(4, 0);
	run_phase("embryo_reserve", do_embryo_async, WARMUP, 1);
	fl_embryo_reserve(0, 0);
	run_race(WARMUP * THREADS, 1);
	struct snap before = snap_take();
	run_phase("embryo_async", do_embryo_async, WARMUP, 1); /* a server again */
	long srv_before = server_fds();

	for (size_t i = 0; i < nfe; i++)
		run_phase(fe[i].name, fe[i].fn, n, 0);
	int rr = fl_embryo_reserve(4, 0);
	check(rr == 0, "embryo_reserve: fl_embryo_reserve(4, 0)");
	run_phase("embryo_reserve", do_embryo_async, n, 0);
	fl_embryo_reserve(0, 0);
	shim_phase(n);
	run_race(n, 0);

	/* the server of the whole run kept no fd of the requests it served */
	long srv_after = server_fds();
	printf("spawn server: fds %ld -> %ld\n", srv_before, srv_after);
	check(srv_before > 0 && srv_after == srv_before, "spawn server: fds flat");
	snap_check("soak process", before, snap_take());
	close(tmpl_fd);
	printf("soak: %.1f s in all\n", now() - t0);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
