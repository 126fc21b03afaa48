/* SPDX-License-Identifier: MIT */
/*
 * test_embed.c - safe to embed: fork() in another thread, cancellation,
 * dlclose(), no lock across blocking work, handles and fd numbers, copies
 * for asynchronous runs, one handle table for every kind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <forkless.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The path of build/true-static; the same buffer for every thread, written
 * once. */
static void true_static_init(void);
static char true_static_path[4200];
static char *true_static(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, true_static_init);
	return true_static_path;
}

static void true_static_init(void)
{
	snprintf(true_static_path, sizeof(true_static_path), "%s/true-static", fl_test_builddir());
}

static pid_t run_true(int fd)
{
	char *av[] = { "true", NULL };
	struct fl_spawn_args a = { .path = true_static(), .argv = av };
	return fl_pidfd_spawn_run(fd, &a, sizeof(a));
}

/* A FIFO in the scratch directory; an OPEN action of it holds a child
 * before exec until release_fifo(). */
static const char *make_fifo(void)
{
	static char p[4200];
	snprintf(p, sizeof(p), "%s/hold.fifo", fl_test_tmpdir());
	unlink(p);
	if (mkfifo(p, 0600) < 0)
		fl_test_fail(__FILE__, __LINE__, "mkfifo: %s", strerror(errno));
	return p;
}

static int release_fifo(const char *p)
{
	return open(p, O_WRONLY | O_CLOEXEC); /* the child's open returns */
}

struct held_run {
	int fd;
	const char *fifo;
	struct fl_open o;
	struct fl_action ac;
	int pidfd;
	int ret;
	struct fl_error err;
	atomic_int done;
};

static void *held_runner(void *p)
{
	struct held_run *h = p;
	char *av[] = { "true", NULL };
	h->o = (struct fl_open){ .path = h->fifo, .flags = O_RDONLY };
	h->ac = (struct fl_action){ .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 0,
				    .arg = (uintptr_t)&h->o };
	struct fl_spawn_args a = { .path = true_static(), .argv = av, .actions = &h->ac,
				   .nactions = 1, .error = &h->err, .pidfd = &h->pidfd };
	h->pidfd = -1;
	h->ret = fl_pidfd_spawn_run(h->fd, &a, sizeof(a));
	atomic_store(&h->done, 1);
	return NULL;
}

/* Wait until a child of ours is in openat(2) (the FIFO: it blocks there
 * until release_fifo()); a probe open of the FIFO would release it.  A
 * child the kernel's builder makes (the native path) opens it in the
 * kernel, in no system call of its own: there, our child asleep. */
static void wait_blocked_in_fifo(void)
{
	for (int i = 0; i < 10000; i++) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char path[300], buf[512];
			int pid = atoi(de->d_name), ppid = 0;
			if (pid <= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			FILE *f = fopen(path, "re");
			if (!f)
				continue;
			char *p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL, state = 0;
			fclose(f);
			if (!p || sscanf(p + 2, "%c %d", &state, &ppid) != 2 || ppid != getpid())
				continue;
			snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
			if ((f = fopen(path, "re"))) {
				long nr = -1;
				int got = fscanf(f, "%ld", &nr);
				fclose(f);
				if ((got == 1 && nr == SYS_openat) ||
				    (state == 'S' && fl_test_native_path())) {
					closedir(d);
					return;
				}
			}
		}
		if (d)
			closedir(d);
		usleep(1000);
	}
	fl_test_fail(__FILE__, __LINE__, "no child of ours blocked in openat");
}

/* ---- 1. fork() in another thread ---------------------------------------- */

static atomic_int stop_busy;

/* A fork child of a threaded program holds memory its parent's other
 * threads had in flight; LeakSanitizer (SAN builds) would report it, and
 * stop the world of threads that do not exist here.  Its documented hook
 * turns it off in those children. */
static volatile int in_fork_child;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return in_fork_child;
}

static void *busy_user(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_busy)) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
		fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "cwd", "/tmp", 0);
		if (fd >= 0 && (rand() & 7) == 0) {
			pid_t p = run_true(fd);
			if (p > 0)
				fl_pidfd_wait(fd, NULL, 0);
		}
		close(fd);
	}
	return NULL;
}

TEST_TIMEOUT(fork_children_of_a_busy_user_never_hang_and_use_the_library, 120)
{
	pthread_t t[2];
	int mine = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	int hung = 0, bad = 0, n = fl_test_valgrind() ? 5 : 40;

	ASSERT_GE(mine, 0);
	atomic_store(&stop_busy, 0);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, busy_user, NULL), 0);
	usleep(10000);
	for (int i = 0; i < n; i++) {
		pid_t p = fork(); /* the test forks; the library never does */
		if (p == 0) {
			in_fork_child = 1;
			alarm(5); /* a hang dies of SIGALRM */
			/* the parent's handle: the documented error, nothing touched */
			if (fl_pidfd_config(mine, FL_CONFIG_SET_STRING, "umask", "022", 0) != -EBADFD)
				_exit(3);
			/* the library itself works in the child */
			int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
			if (fd < 0 || fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "umask", "022", 0))
				_exit(4);
			pid_t c = run_true(fd);
			int st = -1, w = c > 0 ? fl_pidfd_wait(fd, &st, 0) : 0;
			if (c <= 0 || w != c || st != 0) {
				fprintf(stderr, "# fork child: run %d, wait %d, status %#x\n", c, w, st);
				_exit(5);
			}
			close(fd);
			exit(0); /* runs the library's destructors */
		}
		int st;
		ASSERT_EQ(waitpid(p, &st, 0), p);
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
			hung++;
		else if (fl_test_valgrind() && WIFEXITED(st) && WEXITSTATUS(st) == 99)
			; /* valgrind's leak report of what other threads had in flight */
		else if ((!WIFEXITED(st) || WEXITSTATUS(st) != 0) && !bad++)
			fprintf(stderr, "# fork child: status %#x\n", st);
	}
	atomic_store(&stop_busy, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(hung, 0);
	ASSERT_EQ(bad, 0);
	/* still usable in the parent */
	pid_t c = run_true(mine);
	ASSERT_GT(c, 0);
	ASSERT_EQ(fl_pidfd_wait(mine, NULL, 0), c);
	close(mine);
}

/* A fork child (of a process that used the library, with a handle and a
 * reserve-free table) runs a child through a new handle and reaps it. */
TEST(a_fork_child_runs_children_with_the_library)
{
	int mine = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(mine, 0);
	pid_t c0 = run_true(mine);
	ASSERT_GT(c0, 0);
	ASSERT_EQ(fl_pidfd_wait(mine, NULL, 0), c0);
	int other = fl_pidfd_open(0, FL_PIDFD_EMPTY); /* not started: the child's EBADFD */
	ASSERT_GE(other, 0);
	for (int i = 0; i < 10; i++) {
		pid_t p = fork(); /* the test forks; the library never does */
		if (p == 0) {
			in_fork_child = 1;
			alarm(5);
			if (fl_pidfd_config(other, FL_CONFIG_SET_STRING, "umask", "022", 0) != -EBADFD)
				_exit(3);
			int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
			pid_t c = fd >= 0 ? run_true(fd) : fd;
			int st = -1, w = c > 0 ? fl_pidfd_wait(fd, &st, 0) : 0;
			if (c <= 0 || w != c || st != 0) {
				fprintf(stderr, "# fork child: run %d, wait %d, status %#x\n", c, w, st);
				_exit(5);
			}
			exit(0);
		}
		int st;
		ASSERT_EQ(waitpid(p, &st, 0), p);
		if (fl_test_valgrind() && WIFEXITED(st) && WEXITSTATUS(st) == 99)
			continue; /* valgrind's leak report in the child */
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(WEXITSTATUS(st), 0);
	}
	close(other);
	close(mine);
}

/* ---- 2. cancellation ---------------------------------------------------- */

static void *cancellable_waiter(void *p)
{
	int st;
	fl_pidfd_wait(*(int *)p, &st, 0); /* waits for another thread to run it */
	return (void *)1;
}

TEST(wait_is_a_cancellation_point_that_leaves_nothing_held)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	pthread_t t;
	void *ret = NULL;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(pthread_create(&t, NULL, cancellable_waiter, &fd), 0);
	usleep(100000);
	ASSERT_EQ(pthread_cancel(t), 0);
	ASSERT_EQ(pthread_join(t, &ret), 0);
	ASSERT_TRUE(ret == PTHREAD_CANCELED);
	alarm(5); /* a lock left held hangs what follows */
	int fd2 = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "umask", "022", 0), 0);
	pid_t c = run_true(fd);
	ASSERT_GT(c, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, NULL, 0), c);
	close(fd);
	close(fd2);
	alarm(0);
}

/* ---- 3. dlopen / dlclose ------------------------------------------------ */

struct dl_spawner {
	pid_t (*spawn)(const char *, char *const[], char *const[], const struct fl_action *,
		       size_t, struct fl_error *);
	atomic_int *go;
	int ok;
};

static void *dl_thread(void *p)
{
	struct dl_spawner *s = p;
	char *av[] = { "true", NULL };
	pid_t c = s->spawn(true_static(), av, NULL, NULL, 0, NULL);
	int st;
	s->ok = c > 0 && waitpid(c, &st, 0) == c && st == 0;
	while (!atomic_load(s->go)) /* exit only after the dlclose */
		usleep(1000);
	return NULL; /* thread exit runs the library's thread-specific destructors */
}

HELPER(dlclose_user)
{
	/* a private copy, so this process's own libforkless is not the one
	 * loaded and unloaded */
	char src[4200], dst[4200], cmd[8600];
	snprintf(src, sizeof(src), "%s/libforkless.so.0", fl_test_builddir());
	snprintf(dst, sizeof(dst), "%s/libcopy.so", argv[1]);
	snprintf(cmd, sizeof(cmd), "cp -L '%s' '%s'", src, dst);
	if (system(cmd) != 0)
		return 10;
	void *h = dlopen(dst, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 11;
	atomic_int go = 0;
	struct dl_spawner s[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		s[i] = (struct dl_spawner){ dlsym(h, "fl_spawn"), &go, 0 };
		if (!s[i].spawn || pthread_create(&t[i], NULL, dl_thread, &s[i]))
			return 12;
	}
	usleep(200000);
	dlclose(h);
	atomic_store(&go, 1);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		if (!s[i].ok)
			return 13;
	}
	/* the library refuses to be unloaded: still there */
	if (!dlopen(dst, RTLD_NOW | RTLD_NOLOAD))
		return 14;
	printf("clean\n");
	return 0;
}

TEST(dlclose_after_threads_spawned_leaves_them_a_clean_exit)
{
	char *args[] = { (char *)fl_test_tmpdir(), NULL };
	char *s = fl_test_helper_output("dlclose_user", args);
	ASSERT_STREQ(s, "clean\n");
	free(s);
}

/* ---- 4. no lock across blocking work ------------------------------------ */

TEST(a_run_held_before_exec_stalls_no_other_handle)
{
	if (fl_test_valgrind())
		SKIP("valgrind runs the vfork child as a fork: no run is held in its call");
	struct held_run h = { .fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), .fifo = make_fifo() };
	pthread_t t;

	ASSERT_GE(h.fd, 0);
	ASSERT_EQ(pthread_create(&t, NULL, held_runner, &h), 0);
	wait_blocked_in_fifo();
	alarm(10);
	/* other handles: open, config, run, wait, kill, all while it is held */
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "umask", "077", 0), 0);
	pid_t c = run_true(fd);
	ASSERT_GT(c, 0);
	ASSERT_EQ(fl_pidfd_wait(fd, NULL, 0), c);
	close(fd);
	ASSERT_EQ(atomic_load(&h.done), 0); /* the held run is still in its call */
	ASSERT_EQ(fl_pidfd_config(h.fd, FL_CONFIG_SET_STRING, "umask", "022", 0), -EBUSY);
	int w = release_fifo(h.fifo);
	pthread_join(t, NULL);
	ASSERT_GT(h.ret, 0);
	ASSERT_EQ(fl_pidfd_wait(h.fd, NULL, 0), h.ret);
	close(w);
	close(h.fd);
	alarm(0);
}

/*
 * A name lookup that blocks: an NSS module of ours ("flslow", built next to
 * the test binary) answers group "flslow" only once released.  The helper
 * runs in a mount namespace of its own whose /etc/nsswitch.conf names it.
 */
struct slow_cfg {
	int fd, ret;
	atomic_int returned;
};

static void *slow_config(void *p)
{
	struct slow_cfg *s = p;
	s->ret = fl_pidfd_config(s->fd, FL_CONFIG_SET_STRING, "gid", "flslow", 0);
	atomic_store(&s->returned, 1); /* no cancellation point before this */
	pthread_testcancel();
	return NULL;
}

HELPER(nss_slow_user)
{
	int enter = atoi(getenv("FLSLOW_ENTER_FD")), release = atoi(getenv("FLSLOW_RELEASE_FD"));
	struct slow_cfg s = { .fd = fl_pidfd_open(0, FL_PIDFD_EMPTY) };
	pthread_t t;
	char c;

	if (s.fd < 0 || pthread_create(&t, NULL, slow_config, &s))
		return 10;
	if (read(enter, &c, 1) != 1) /* the lookup is in progress */
		return 11;
	alarm(10);
	/* 4: other handles are not stalled by the lookup */
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	if (fd < 0 || fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "umask", "022", 0))
		return 12;
	pid_t p = run_true(fd);
	if (p <= 0 || fl_pidfd_wait(fd, NULL, 0) != p)
		return 13;
	close(fd);
	/* 2: cancelled inside the lookup (a read(2) there), the call still
	 * completes and leaves nothing held */
	pthread_cancel(t);
	usleep(50000);
	if (write(release, "x", 1) != 1)
		return 14;
	void *ret;
	pthread_join(t, &ret);
	if (ret != PTHREAD_CANCELED || !atomic_load(&s.returned) || s.ret != 0)
		return 15;
	if (fl_pidfd_config(s.fd, FL_CONFIG_SET_STRING, "umask", "022", 0))
		return 16;
	p = run_true(s.fd);
	if (p <= 0 || fl_pidfd_wait(s.fd, NULL, 0) != p)
		return 17;
	printf("ok\n");
	return 0;
}

TEST(a_blocking_name_lookup_stalls_no_other_handle_and_survives_cancel)
{
	char mod[4300], conf[4300], libdir[4200];
	snprintf(libdir, sizeof(libdir), "%s/tests", fl_test_builddir());
	snprintf(mod, sizeof(mod), "%s/libnss_flslow.so.2", libdir);
	if (access(mod, R_OK) != 0)
		SKIP("no libnss_flslow.so.2 built");
	if (fl_test_valgrind())
		SKIP("the NSS module is not loaded under valgrind's preload");
	snprintf(conf, sizeof(conf), "%s/nsswitch.conf", fl_test_tmpdir());
	FILE *f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "passwd: files\ngroup: flslow files\n");
	fclose(f);
	int enter[2], rel[2], out[2];
	ASSERT_EQ(pipe(enter), 0);
	ASSERT_EQ(pipe(rel), 0);
	ASSERT_EQ(pipe(out), 0);
	pid_t p = fork(); /* the test forks to enter a mount namespace */
	if (p == 0) {
		char v[4][16];
		dup2(out[1], 1);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount(conf, "/etc/nsswitch.conf", NULL, MS_BIND, NULL))
			_exit(20);
		/* the helper reads enter[0] and writes rel[1]; the module the others */
		snprintf(v[0], 16, "%d", enter[0]);
		snprintf(v[1], 16, "%d", rel[1]);
		snprintf(v[2], 16, "%d", enter[1]);
		snprintf(v[3], 16, "%d", rel[0]);
		setenv("FLSLOW_ENTER_FD", v[0], 1);
		setenv("FLSLOW_RELEASE_FD", v[1], 1);
		setenv("FLSLOW_MOD_ENTER_FD", v[2], 1);
		setenv("FLSLOW_MOD_RELEASE_FD", v[3], 1);
		setenv("LD_LIBRARY_PATH", libdir, 1);
		char **av = fl_test_helper_argv("nss_slow_user", NULL);
		execv(av[0], av);
		_exit(21);
	}
	close(out[1]);
	close(enter[0]), close(enter[1]), close(rel[0]), close(rel[1]);
	char *s = fl_test_slurp(out[0]);
	int st = fl_test_wait(p);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_STREQ(s, "ok\n");
	free(s);
}

/* ---- 5. handles and fd numbers ------------------------------------------ */

TEST(a_handle_closed_while_it_runs_never_overwrites_the_new_fd_at_its_number)
{
	if (fl_test_valgrind())
		SKIP("valgrind runs the vfork child as a fork: no run is held in its call");
	struct held_run h = { .fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), .fifo = make_fifo() };
	pthread_t t;
	char link[256] = "";

	ASSERT_GE(h.fd, 0);
	ASSERT_EQ(pthread_create(&t, NULL, held_runner, &h), 0);
	wait_blocked_in_fifo();
	int num = h.fd;
	close(num);
	int victim = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	ASSERT_EQ(victim, num); /* the lowest free number: the handle's */
	int w = release_fifo(h.fifo);
	pthread_join(t, NULL);
	ASSERT_GT(h.ret, 0); /* the child ran */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", victim);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	ASSERT_STREQ(link, "/etc/hostname");
	/* the pidfd came back at a number of its own */
	ASSERT_GE(h.pidfd, 0);
	ASSERT_NE(h.pidfd, victim);
	ASSERT_EQ(fl_pidfd_wait(h.pidfd, NULL, 0), h.ret);
	close(h.pidfd);
	close(victim);
	close(w);
}

static void *plain_waiter(void *p)
{
	int *a = p;
	a[1] = fl_pidfd_wait(a[0], NULL, 0);
	return NULL;
}

TEST(a_waiter_on_a_handle_closed_before_it_ran_wakes_with_ebadf)
{
	int a[2] = { fl_pidfd_open(0, FL_PIDFD_EMPTY), 1 };
	pthread_t t;

	ASSERT_GE(a[0], 0);
	ASSERT_EQ(pthread_create(&t, NULL, plain_waiter, a), 0);
	usleep(100000);
	close(a[0]);
	alarm(5); /* a waiter that never wakes fails here */
	pthread_join(t, NULL);
	alarm(0);
	ASSERT_EQ(a[1], -EBADF);
}

/* A waiter on an unstarted handle sleeps: it rechecks the handle a few
 * times a second, it does not spin (its deadline clock once made every
 * timed wait return at once). */
TEST(a_waiter_on_an_unstarted_handle_sleeps)
{
	if (fl_test_valgrind())
		SKIP("CPU time under valgrind says nothing");
	int a[2] = { fl_pidfd_open(0, FL_PIDFD_EMPTY), 1 };
	pthread_t t;
	clockid_t clk;
	struct timespec cpu;

	ASSERT_GE(a[0], 0);
	ASSERT_EQ(pthread_create(&t, NULL, plain_waiter, a), 0);
	ASSERT_EQ(pthread_getcpuclockid(t, &clk), 0);
	usleep(500 * 1000);
	ASSERT_EQ(clock_gettime(clk, &cpu), 0);
	close(a[0]);
	pthread_join(t, NULL);
	ASSERT_EQ(a[1], -EBADF);
	/* a spinning waiter uses about all of the 500 ms */
	ASSERT_LT(cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000, 150);
}

/* The library reaps an embryo it ends through its pidfd: a program that
 * reaped it first, its pid now another child's, loses nothing. */
TEST(ending_an_embryo_the_program_reaped_never_reaps_a_stranger)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	ASSERT_GE(fd, 0);
	pid_t p = 0;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	char *pl = strstr(buf, "\nPid:");
	ASSERT_TRUE(pl != NULL);
	p = atoi(pl + 5);
	ASSERT_GT(p, 0);
	/* the program kills and reaps it (a wait for any child would) */
	ASSERT_EQ(kill(p, SIGKILL), 0);
	ASSERT_EQ(waitpid(p, NULL, __WALL), p);
	/* a stranger gets its pid */
	if (access("/proc/sys/kernel/ns_last_pid", W_OK) != 0)
		SKIP("no ns_last_pid");
	pid_t s = -1;
	for (int tries = 0; tries < 20 && s != p; tries++) {
		if (s > 0) {
			kill(s, SIGKILL);
			waitpid(s, NULL, 0);
		}
		int lp = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		dprintf(lp, "%d", p - 1);
		close(lp);
		s = fork();
		if (s == 0) {
			pause();
			_exit(0);
		}
	}
	if (s != p) {
		kill(s, SIGKILL);
		waitpid(s, NULL, 0);
		close(fd);
		SKIP("could not give the pid to a stranger");
	}
	alarm(10); /* reaping by pid would wait for the stranger forever */
	close(fd);
	/* ending the handle: the next open sweeps and ends the embryo */
	int fd2 = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd2, 0);
	close(fd2);
	for (int i = 0; i < 9; i++) { /* embryo sweeps are every 8th open */
		int e = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
		ASSERT_GE(e, 0);
		close(e);
	}
	int fd3 = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	close(fd3);
	alarm(0);
	ASSERT_EQ(waitpid(s, NULL, WNOHANG), 0); /* still ours, still running */
	kill(s, SIGKILL);
	ASSERT_EQ(waitpid(s, NULL, 0), s);
}

/* ---- 6. asynchronous runs copy what they read later ---------------------- */

TEST(an_async_run_searches_the_path_of_its_call)
{
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	for (int i = 0; i < 50; i++) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
		ASSERT_GE(fd, 0);
		/* PATH from a buffer of the program's (putenv): the build
		 * directory, which holds true-static */
		size_t len = strlen(fl_test_builddir()) + 6;
		char *buf = malloc(len);
		snprintf(buf, len, "PATH=%s", fl_test_builddir());
		putenv(buf);
		char *av[] = { "true-static", NULL };
		struct fl_spawn_args a = { .flags = FL_SPAWN_ASYNC, .argv = av };
		pid_t p = fl_pidfd_spawn_run(fd, &a, sizeof(a));
		ASSERT_GT(p, 0);
		/* the buffer leaves the environment; the program reuses it */
		setenv("PATH", "/nonexistent-forkless-a:/nonexistent-forkless-b", 1);
		memset(buf, 'X', len - 1);
		free(buf);
		int r;
		while ((r = fl_pidfd_spawn_result(fd, NULL)) == -EINPROGRESS)
			usleep(100);
		ASSERT_EQ(r, p);
		int st = -1;
		ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), p);
		ASSERT_EQ(st, 0);
		close(fd);
	}
	if (old)
		setenv("PATH", old, 1);
	free(old);
}

/* ---- 13. one table for every kind of handle ---------------------------- */

TEST(a_number_reused_by_another_kind_of_handle_is_that_kind)
{
	int b = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(b, 0);
	close(b);
	struct fl_template_args ta = { .execfd = -1, .filename = true_static(), .config_fd = -1 };
	int t = fl_spawn_template_create(&ta, sizeof(ta));
	ASSERT_EQ(t, b); /* the builder's number, now a template */
	ASSERT_EQ(fl_pidfd_config(t, FL_CONFIG_SET_STRING, "umask", "022", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_kill(t, 0), -EBADF);
	char *av[] = { "true", NULL };
	struct fl_spawn_args a = { .argv = av };
	pid_t c = fl_spawn_template_spawn(t, &a, sizeof(a));
	ASSERT_GT(c, 0);
	ASSERT_EQ(waitpid(c, NULL, 0), c);
	close(t);
	/* and back: a builder at the template's number */
	b = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_EQ(b, t);
	ASSERT_EQ(fl_spawn_template_spawn(b, &a, sizeof(a)), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(b, FL_CONFIG_SET_STRING, "umask", "022", 0), 0);
	close(b);
}

/* ---- 17. a license ------------------------------------------------------ */

TEST(every_source_file_names_its_license)
{
	char script[4200], *out = NULL;
	snprintf(script, sizeof(script), "%s/scripts/check-license.sh", fl_test_source_tree());
	if (access(script, X_OK) != 0)
		SKIP("no scripts/check-license.sh in the source tree");
	char *av[] = { script, NULL };
	int st = fl_test_run_capture(script, av, &out);
	if (st != 0)
		fprintf(stderr, "%s", out ? out : "");
	ASSERT_EQ(st, 0);
	free(out);
}
