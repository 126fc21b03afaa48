/* SPDX-License-Identifier: MIT */
/*
 * native.c - the patched kernel's process builder, tested from user space
 * in the guest (make kernel-check): pidfd_open(0, PIDFD_EMPTY),
 * pidfd_config(), pidfd_spawn_run(), spawn_template_create() and
 * spawn_template_spawn().  Built static; needs only busybox.
 * Ends with one line "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

/* include/uapi/linux/pidfd_spawn.h of the patch, as the library will
 * carry it (the system's headers do not have it) */
#define NR_pidfd_open 434
#define NR_pidfd_config 1000
#define NR_pidfd_spawn_run 1001
#define PIDFD_EMPTY 0x40000000U
#define SET_FLAG 0
#define SET_STRING 1
#define SET_BINARY 2
#define SET_INT 9
#define SET_STRINGV 10
enum { A_CLOSE = 1, A_DUP2 = 2, A_FCHDIR = 3, A_OPEN = 4, A_CLOSE_RANGE = 5 };
enum { ST_CONFIG = 1, ST_CWD = 18, ST_ACTION = 19, ST_EXEC = 22, ST_RLIMIT = 9 };
struct action {
	uint32_t type, flags;
	int32_t fd, newfd;
	uint64_t arg;
};
struct sopen {
	uint64_t path, flags, mode, resolve;
};
struct serr {
	int32_t err, stage, index;
};
struct sargs {
	uint64_t flags, path, argv, envp, actions, nactions, error;
};

static int passed, failed;

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			printf("    %s:%d: %s (errno %d)\n", __func__, __LINE__, #c, errno); \
			return 1;                                                         \
		}                                                                         \
	} while (0)

static long builder(void)
{
	return syscall(NR_pidfd_open, 0, PIDFD_EMPTY);
}

static long config(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
	return syscall(NR_pidfd_config, fd, cmd, key, value, aux);
}

static long run(int fd, const char *path, char *const *argv, const struct action *a, int n,
		struct serr *e)
{
	struct sargs s = { 0, (uintptr_t)path, (uintptr_t)argv, 0, (uintptr_t)a,
			   (uint64_t)n, (uintptr_t)e };
	return syscall(NR_pidfd_spawn_run, fd, &s, sizeof(s));
}

/* Read fd to its end into buf (NUL-terminated), and close it. */
static void slurp(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t k;
	while (len + 1 < size && (k = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)k;
	buf[len] = 0;
	close(fd);
}

/* Run argv with stdout into a pipe; its output in buf, the status. */
static int capture(int fd, char *const *argv, struct action *extra, int n, char *buf,
		   size_t size, int *status)
{
	int p[2];
	struct action a[8] = { { A_DUP2, 0, 0, 1, 0 } };

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	a[0].fd = p[1];
	memcpy(a + 1, extra, n * sizeof(*extra));
	struct serr e = { 0, 0, 0 };
	long pid = run(fd, NULL, argv, a, n + 1, &e);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	slurp(p[0], buf, size);
	waitpid((pid_t)pid, status, 0);
	return (int)pid;
}

static int no_child_left(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static int t_builder_runs_and_becomes_pidfd(void)
{
	int fd = (int)builder();
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	char *argv[] = { "true", NULL };
	CHECK(config(fd, SET_STRING, "path", "/bin/true", 0) == 0);
	CHECK(config(fd, SET_STRINGV, "argv", argv, 0) == 0);
	long pid = run(fd, NULL, NULL, NULL, 0, NULL);
	CHECK(pid > 0);
	/* the same fd is the child's pidfd now */
	siginfo_t si = { 0 };
	CHECK(waitid(P_PIDFD, (id_t)fd, &si, WEXITED) == 0);
	CHECK(si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 0);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	close(fd);
	CHECK(no_child_left());
	return 0;
}

static int t_child_is_the_callers(void)
{
	int fd = (int)builder();
	char buf[256], *argv[] = { "sh", "-c", "echo $PPID", NULL };
	int st;
	CHECK(config(fd, SET_STRING, "path", "/bin/sh", 0) == 0);
	int pid = capture(fd, argv, NULL, 0, buf, sizeof(buf), &st);
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(atoi(buf) == getpid());
	close(fd);
	return 0;
}

static int t_actions_and_fds(void)
{
	int fd = (int)builder();
	int keep = open("/dev/null", O_RDONLY); /* not CLOEXEC: still closed in the child */
	char buf[512], *argv[] = { "sh", "-c", "ls /proc/self/fd | tr '\\n' ' '", NULL };
	int st;
	CHECK(config(fd, SET_STRING, "path", "/bin/sh", 0) == 0);
	int pid = capture(fd, argv, NULL, 0, buf, sizeof(buf), &st);
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* 0 1 2, and the fd ls reads the directory with */
	CHECK(!strcmp(buf, "0 1 2 3 "));
	close(fd);
	/* dup2 to 20 and open at 21 are kept; an inherited fd too */
	fd = (int)builder();
	CHECK(config(fd, SET_STRING, "path", "/bin/sh", 0) == 0);
	CHECK(config(fd, SET_INT, "inherit", NULL, keep) == 0);
	struct sopen o = { (uintptr_t)"/dev/zero", O_RDONLY, 0, 0 };
	struct action a[] = { { A_DUP2, 0, 1, 20, 0 },
			      { A_OPEN, 0, AT_FDCWD, 21, (uintptr_t)&o } };
	char *argv2[] = { "sh", "-c", "ls /proc/self/fd | tr '\\n' ' '", NULL };
	pid = capture(fd, argv2, a, 2, buf, sizeof(buf), &st);
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* 0 1 2, keep, 20, 21 and the fd ls reads the directory with: 7 */
	int n = 0, seen = 0;
	for (char *p = buf; *p;) {
		int v = (int)strtol(p, &p, 10);
		n++;
		seen |= (v == keep) | (v == 20) << 1 | (v == 21) << 2;
		while (*p == ' ')
			p++;
	}
	if (n != 7 || seen != 7)
		printf("    fds: %s(keep %d)\n", buf, keep);
	CHECK(n == 7 && seen == 7);
	close(fd);
	close(keep);
	return 0;
}

static int t_cwd_umask_rlimit_setsid(void)
{
	int fd = (int)builder();
	char buf[512], *argv[] = { "sh", "-c", "pwd; umask; ulimit -n; ps -o sid= 2>/dev/null; "
					  "cat /proc/self/stat | cut -d' ' -f6", NULL };
	struct { uint64_t cur, max; } nofile = { 77, 77 };
	int st;
	CHECK(config(fd, SET_STRING, "path", "/bin/sh", 0) == 0);
	CHECK(config(fd, SET_STRING, "cwd", "/tmp", 0) == 0);
	CHECK(config(fd, SET_INT, "umask", NULL, 027) == 0);
	CHECK(config(fd, SET_BINARY, "rlimit.nofile", &nofile, sizeof(nofile)) == 0);
	CHECK(config(fd, SET_FLAG, "setsid", NULL, 0) == 0);
	int pid = capture(fd, argv, NULL, 0, buf, sizeof(buf), &st);
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char want[128];
	snprintf(want, sizeof(want), "/tmp\n0027\n77\n");
	CHECK(!strncmp(buf, want, strlen(want)));
	char sid[32];
	snprintf(sid, sizeof(sid), "\n%d\n", pid); /* its own session */
	CHECK(strstr(buf, sid) != NULL);
	close(fd);
	return 0;
}

static int t_sigmask_and_sigdefault(void)
{
	int fd = (int)builder();
	char buf[1024], *argv[] = { "sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL };
	uint64_t mask = 1ULL << (SIGUSR1 - 1), def = 1ULL << (SIGUSR2 - 1);
	int st;
	signal(SIGUSR2, SIG_IGN); /* ignored here: default there (sigdefault) */
	signal(SIGHUP, SIG_IGN);  /* ignored here: stays ignored */
	CHECK(config(fd, SET_STRING, "path", "/bin/sh", 0) == 0);
	CHECK(config(fd, SET_BINARY, "sigmask", &mask, 8) == 0);
	CHECK(config(fd, SET_BINARY, "sigdefault", &def, 8) == 0);
	int pid = capture(fd, argv, NULL, 0, buf, sizeof(buf), &st);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(strstr(buf, "SigBlk:\t0000000000000200") != NULL);
	char *ign = strstr(buf, "SigIgn:\t");
	CHECK(ign != NULL);
	unsigned long long v = strtoull(ign + 8, NULL, 16);
	/* (sh ignores SIGQUIT itself) */
	CHECK((v & (1ULL << (SIGHUP - 1))) && !(v & (1ULL << (SIGUSR2 - 1))));
	close(fd);
	return 0;
}

static int t_errors_leave_nothing(void)
{
	struct serr e = { 0, 0, 0 };
	char *argv[] = { "x", NULL };
	int fd = (int)builder();
	CHECK(run(fd, "/nonexistent/x", argv, NULL, 0, &e) == -1 && errno == ENOENT);
	CHECK(e.err == ENOENT && e.stage == ST_EXEC);
	CHECK(no_child_left());
	CHECK(run(fd, "/bin/true", argv, NULL, 0, &e) == -1 && errno == EBUSY); /* runs once */
	close(fd);

	fd = (int)builder();
	CHECK(config(fd, SET_STRING, "cwd", "/nonexistent", 0) == 0);
	CHECK(run(fd, "/bin/true", argv, NULL, 0, &e) == -1 && errno == ENOENT);
	CHECK(e.stage == ST_CWD);
	CHECK(no_child_left());
	close(fd);

	fd = (int)builder();
	struct action bad[] = { { A_DUP2, 0, 1, 7, 0 }, { A_DUP2, 0, 99, 8, 0 } };
	CHECK(run(fd, "/bin/true", argv, bad, 2, &e) == -1 && errno == EBADF);
	CHECK(e.stage == ST_ACTION && e.index == 1);
	CHECK(no_child_left());
	close(fd);

	fd = (int)builder();
	CHECK(config(fd, SET_STRING, "nosuchkey", "x", 0) == -1 && errno == EINVAL);
	CHECK(config(fd, SET_INT, "umask", NULL, 01000) == -1 && errno == EINVAL);
	CHECK(config(fd, SET_STRING, "argv", "x", 0) == -1 && errno == EINVAL);
	CHECK(run(fd, NULL, NULL, NULL, 0, &e) == -1 && errno == EINVAL); /* no argv */
	CHECK(e.stage == ST_CONFIG);
	close(fd);

	CHECK(syscall(NR_pidfd_open, 1, PIDFD_EMPTY) == -1 && errno == EINVAL);
	CHECK(config(0, SET_STRING, "path", "/bin/true", 0) == -1 && errno == EINVAL);
	CHECK(config(999, SET_STRING, "path", "/bin/true", 0) == -1 && errno == EBADF);
	CHECK(no_child_left());
	return 0;
}

static int t_many_runs(void)
{
	for (int i = 0; i < 200; i++) {
		int fd = (int)builder();
		char *argv[] = { "true", NULL };
		CHECK(fd >= 0);
		long pid = run(fd, "/bin/true", argv, NULL, 0, NULL);
		CHECK(pid > 0);
		int st;
		CHECK(waitpid((pid_t)pid, &st, 0) == pid && st == 0);
		close(fd);
	}
	CHECK(no_child_left());
	return 0;
}

/* A caller killed while its run waits (the child blocked opening a FIFO)
 * dies, and leaves no child: the wait is killable, the child killed. */
static int t_killed_caller_leaves_no_child(void)
{
	unlink("/tmp/fifo");
	CHECK(mkfifo("/tmp/fifo", 0600) == 0);
	pid_t k = fork();
	if (k == 0) {
		char *argv[] = { "true", NULL };
		struct sopen o = { (uintptr_t)"/tmp/fifo", O_RDONLY, 0, 0 };
		struct action a = { A_OPEN, 0, AT_FDCWD, 0, (uintptr_t)&o };
		int fd = (int)builder();
		run(fd, "/bin/true", argv, &a, 1, NULL);
		_exit(0);
	}
	pid_t c = 0;
	for (int i = 0; i < 5000 && !c; i++) { /* k's child, blocked in the kernel */
		char path[64], buf[256];
		for (pid_t p = k + 1; p < k + 64 && !c; p++) {
			snprintf(path, sizeof(path), "/proc/%d/stat", p);
			FILE *f = fopen(path, "re");
			int ppid = 0;
			char *r = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			if (f)
				fclose(f);
			if (r && sscanf(r + 2, "%*c %d", &ppid) == 1 && ppid == k)
				c = p;
		}
		usleep(1000);
	}
	CHECK(c > 0);
	usleep(100000);
	CHECK(kill(k, SIGKILL) == 0);
	int st;
	alarm(20);
	CHECK(waitpid(k, &st, 0) == k && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	alarm(0);
	CHECK(kill(c, 0) == -1 && errno == ESRCH); /* killed and reaped */
	unlink("/tmp/fifo");
	return 0;
}

/* ---- spawn templates: spawn_template_create(), spawn_template_spawn() ---- */

#define NR_spawn_template_create 1002
#define NR_spawn_template_spawn 1003
enum { T_CLOSE, T_DUP2, T_FCHDIR, T_OPEN, T_CLOSE_RANGE, T_SIGMASK, T_SIGDEFAULT };
enum { ST_TEMPLATE = 24, CHECK_IDENTITY = 8, CHECK_CREDS = 9 };
struct tcreate {
	uint64_t flags;
	int32_t execfd;
	uint32_t exec_flags;
	uint64_t filename, actions, actions_len, reserved[4];
};
struct tspawn {
	uint64_t flags, pidfd, argv, envp, actions, actions_len, reserved[4], error;
};
struct tsigset {
	uint64_t sigset, sigsetsize;
};

static int tcreate_path(const char *path)
{
	struct tcreate c = { 1, -1, 0, (uintptr_t)path, 0, 0, { 0 } };
	return (int)syscall(NR_spawn_template_create, &c, sizeof(c));
}

static int tcreate_fd(int fd)
{
	struct tcreate c = { 1, fd, 0, 0, 0, 0, { 0 } };
	return (int)syscall(NR_spawn_template_create, &c, sizeof(c));
}

static long tspawn(int tfd, uint64_t flags, char *const *argv, const struct action *a, int n,
		   int *pidfd, struct serr *e)
{
	struct tspawn s = { flags, (uintptr_t)pidfd, (uintptr_t)argv, 0, (uintptr_t)a,
			    (uint64_t)n, { 0 }, (uintptr_t)e };
	return syscall(NR_spawn_template_spawn, tfd, &s, sizeof(s));
}

/* A template spawn of argv with stdout into a pipe: output, status. */
static long tcapture(int tfd, uint64_t flags, char *const *argv, struct action *extra, int n,
		     char *buf, size_t size, int *status)
{
	int p[2], pidfd = -1;
	struct action a[8] = { { T_DUP2, 0, 0, 1, 0 } };
	struct serr e = { 0, 0, 0 };

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	a[0].fd = p[1];
	memcpy(a + 1, extra, n * sizeof(*extra));
	long pid = tspawn(tfd, flags, argv, a, n + 1, &pidfd, &e);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	slurp(p[0], buf, size);
	siginfo_t si = { 0 };
	if (pidfd < 0 || waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 || si.si_pid != pid)
		return -1;
	*status = si.si_status;
	close(pidfd);
	return pid;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;

	unlink(to);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

static int open_fds(void)
{
	char p[64];
	int n = 0;
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n += access(p, F_OK) == 0;
	}
	return n;
}

static int t_template_path_and_fd(void)
{
	char buf[256], *argv[] = { "echo", "hello", NULL };
	int st, tfd = tcreate_path("/bin/busybox");
	CHECK(tfd >= 0 && fcntl(tfd, F_GETFD) == FD_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		CHECK(tcapture(tfd, 0, argv, NULL, 0, buf, sizeof(buf), &st) > 0);
		CHECK(st == 0 && !strcmp(buf, "hello\n"));
	}
	close(tfd);
	int fd = open("/bin/busybox", O_PATH | O_CLOEXEC);
	tfd = tcreate_fd(fd);
	close(fd); /* the template holds the file */
	CHECK(tfd >= 0);
	char *ppid[] = { "sh", "-c", "echo $PPID", NULL };
	CHECK(tcapture(tfd, 0, ppid, NULL, 0, buf, sizeof(buf), &st) > 0);
	CHECK(st == 0 && atoi(buf) == getpid());
	close(tfd);
	CHECK(no_child_left());
	return 0;
}

static int t_template_identity(void)
{
	char buf[256], *argv[] = { "echo", "x", NULL };
	struct serr e = { 0, 0, 0 };
	int st, pidfd = -1;
	CHECK(copy_file("/bin/busybox", "/tmp/tpl", 0755) == 0);
	int tfd = tcreate_path("/tmp/tpl");
	int ffd = open("/tmp/tpl", O_RDONLY | O_CLOEXEC);
	int tfd2 = tcreate_fd(ffd);
	close(ffd);
	CHECK(tfd >= 0 && tfd2 >= 0);
	CHECK(tcapture(tfd, 0, argv, NULL, 0, buf, sizeof(buf), &st) > 0 && st == 0);
	/* another file at the path: ESTALE, no child */
	CHECK(copy_file("/bin/busybox", "/tmp/tpl.new", 0755) == 0);
	CHECK(rename("/tmp/tpl.new", "/tmp/tpl") == 0);
	CHECK(tspawn(tfd, 0, argv, NULL, 0, &pidfd, &e) == -1 && errno == ESTALE);
	CHECK(e.err == ESTALE && e.stage == ST_TEMPLATE && e.index == CHECK_IDENTITY);
	CHECK(pidfd == -1 && no_child_left());
	/* an fd template runs the file it holds */
	CHECK(tcapture(tfd2, 0, argv, NULL, 0, buf, sizeof(buf), &st) > 0 && st == 0);
	close(tfd);
	/* the same file with new times: ESTALE too; gone: ESTALE */
	tfd = tcreate_path("/tmp/tpl");
	CHECK(tfd >= 0);
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	CHECK(utimensat(AT_FDCWD, "/tmp/tpl", ts, 0) == 0);
	CHECK(tspawn(tfd, 0, argv, NULL, 0, &pidfd, &e) == -1 && errno == ESTALE);
	close(tfd);
	tfd = tcreate_path("/tmp/tpl");
	CHECK(unlink("/tmp/tpl") == 0);
	CHECK(tspawn(tfd, 0, argv, NULL, 0, &pidfd, &e) == -1 && errno == ESTALE);
	close(tfd);
	close(tfd2);
	CHECK(no_child_left());
	return 0;
}

static int t_template_creds(void)
{
	int tfd = tcreate_path("/bin/busybox");
	CHECK(tfd >= 0);
	pid_t k = fork();
	if (k == 0) {
		char *argv[] = { "true", NULL };
		struct serr e = { 0, 0, 0 };
		int pidfd = -1;
		if (setresgid(65534, 65534, 65534) || setgroups(0, NULL) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		long r = tspawn(tfd, 0, argv, NULL, 0, &pidfd, &e);
		_exit(r == -1 && errno == EACCES && e.stage == ST_TEMPLATE &&
				      e.index == CHECK_CREDS && no_child_left() ? 0 : 1);
	}
	int st;
	CHECK(waitpid(k, &st, 0) == k && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(tfd);
	return 0;
}

static int t_template_errors(void)
{
	struct tcreate c = { 0, -1, 0, (uintptr_t)"/bin/busybox", 0, 0, { 0 } };
	char big[4200] = { 0 };
	long nr = NR_spawn_template_create;
	CHECK(syscall(nr, &c, 64) == -1 && errno == EINVAL);
	memcpy(big, &c, sizeof(c));
	CHECK(syscall(nr, big, 4097) == -1 && errno == E2BIG);
	big[100] = 1;
	CHECK(syscall(nr, big, 200) == -1 && errno == E2BIG);
	CHECK(syscall(nr, NULL, sizeof(c)) == -1 && errno == EFAULT);
	c.flags = 2;
	CHECK(syscall(nr, &c, sizeof(c)) == -1 && errno == EINVAL);
	c.flags = 0;
	c.reserved[3] = 1;
	CHECK(syscall(nr, &c, sizeof(c)) == -1 && errno == EINVAL);
	c.reserved[3] = 0;
	c.execfd = 0; /* both */
	CHECK(syscall(nr, &c, sizeof(c)) == -1 && errno == EINVAL);
	c.execfd = -1;
	c.filename = 0; /* neither */
	CHECK(syscall(nr, &c, sizeof(c)) == -1 && errno == EINVAL);
	CHECK(tcreate_path("bin/busybox") == -1 && errno == EINVAL);
	CHECK(tcreate_path("/nonexistent") == -1 && errno == ENOENT);
	CHECK(tcreate_path("/tmp") == -1 && errno == EACCES);
	CHECK(tcreate_fd(999) == -1 && errno == EBADF);
	int fd = open("/tmp/tpl.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(write(fd, "#!/bin/sh\n", 10) == 10 && close(fd) == 0);
	CHECK(tcreate_path("/tmp/tpl.txt") == -1 && errno == EACCES); /* no x bit */
	CHECK(chmod("/tmp/tpl.txt", 0755) == 0);
	CHECK(tcreate_path("/tmp/tpl.txt") == -1 && errno == ENOEXEC); /* a script */
	fd = open("/tmp/tpl.txt", O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(write(fd, "garbage!", 8) == 8 && close(fd) == 0);

	/* spawn: arguments, then a failure in the child */
	char *argv[] = { "true", NULL };
	struct serr e = { 0, 0, 0 };
	int pidfd = -1, tfd = tcreate_path("/bin/busybox"), bad = tcreate_path("/tmp/tpl.txt");
	CHECK(tfd >= 0 && bad >= 0);
	struct tspawn s = { 0, (uintptr_t)&pidfd, (uintptr_t)argv, 0, 0, 0, { 0 }, 0 };
	nr = NR_spawn_template_spawn;
	CHECK(syscall(nr, tfd, &s, 72) == -1 && errno == EINVAL);
	s.pidfd = 0;
	CHECK(syscall(nr, tfd, &s, sizeof(s)) == -1 && errno == EINVAL);
	s.pidfd = (uintptr_t)&pidfd;
	s.flags = 2;
	CHECK(syscall(nr, tfd, &s, sizeof(s)) == -1 && errno == EINVAL);
	s.flags = 0;
	s.actions_len = 257;
	CHECK(syscall(nr, tfd, &s, sizeof(s)) == -1 && errno == E2BIG);
	struct action a = { T_DUP2, 0, 1, -2, 0 };
	CHECK(tspawn(tfd, 0, argv, &a, 1, &pidfd, &e) == -1 && errno == EINVAL);
	CHECK(e.stage == ST_CONFIG);
	int notpl = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
	CHECK(tspawn(notpl, 0, argv, NULL, 0, &pidfd, &e) == -1 && errno == EINVAL);
	close(notpl);
	CHECK(tspawn(999, 0, argv, NULL, 0, &pidfd, &e) == -1 && errno == EBADF);
	struct action b[] = { { T_DUP2, 0, 1, 7, 0 }, { T_CLOSE, 0, 99, 0, 0 } };
	CHECK(tspawn(tfd, 0, argv, b, 2, &pidfd, &e) == -1 && errno == EBADF);
	CHECK(e.stage == ST_ACTION && e.index == 1 && pidfd == -1);
	CHECK(tspawn(bad, 0, argv, NULL, 0, &pidfd, &e) == -1 && errno == ENOEXEC);
	CHECK(e.stage == ST_EXEC && pidfd == -1);
	CHECK(no_child_left());
	close(tfd);
	close(bad);
	return 0;
}

static int t_template_fds_and_signals(void)
{
	char buf[256];
	char *fd7[] = { "sh", "-c", "test -e /proc/self/fd/7 && echo yes || echo no", NULL };
	char *blk[] = { "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL };
	int st, before = open_fds(), tfd = tcreate_path("/bin/busybox");
	CHECK(tfd >= 0);
	CHECK(dup2(0, 7) == 7); /* without FD_CLOEXEC */
	CHECK(tcapture(tfd, 0, fd7, NULL, 0, buf, sizeof(buf), &st) > 0 && !strcmp(buf, "no\n"));
	CHECK(tcapture(tfd, 1, fd7, NULL, 0, buf, sizeof(buf), &st) > 0 && !strcmp(buf, "yes\n"));
	close(7);
	/* the RFC's rule: without INHERIT_FDS an action's fd above 2 goes too */
	struct action d = { T_DUP2, 0, 0, 7, 0 };
	CHECK(tcapture(tfd, 0, fd7, &d, 1, buf, sizeof(buf), &st) > 0 && !strcmp(buf, "no\n"));
	CHECK(tcapture(tfd, 1, fd7, &d, 1, buf, sizeof(buf), &st) > 0 && !strcmp(buf, "yes\n"));

	/* the caller's mask is the child's unless SIGMASK says; SIGDEFAULT */
	sigset_t m, old;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, &old);
	signal(SIGUSR2, SIG_IGN);
	CHECK(tcapture(tfd, 0, blk, NULL, 0, buf, sizeof(buf), &st) > 0);
	CHECK(strstr(buf, "SigBlk:\t0000000000000200") && strstr(buf, "SigIgn:\t0000000000000800"));
	uint64_t none = 0, usr2 = 1u << (SIGUSR2 - 1);
	struct tsigset sn = { (uintptr_t)&none, 8 }, su = { (uintptr_t)&usr2, 8 };
	struct action sa[] = { { T_SIGMASK, 0, 0, 0, (uintptr_t)&sn },
			       { T_SIGDEFAULT, 0, 0, 0, (uintptr_t)&su } };
	CHECK(tcapture(tfd, 0, blk, sa, 2, buf, sizeof(buf), &st) > 0);
	CHECK(strstr(buf, "SigBlk:\t0000000000000000") && strstr(buf, "SigIgn:\t0000000000000000"));
	signal(SIGUSR2, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	struct tsigset odd = { (uintptr_t)&none, 16 };
	struct action so = { T_SIGMASK, 0, 0, 0, (uintptr_t)&odd };
	struct serr e;
	int pidfd = -1;
	CHECK(tspawn(tfd, 0, blk, &so, 1, &pidfd, &e) == -1 && errno == EINVAL);
	close(tfd);
	CHECK(open_fds() == before && no_child_left());
	return 0;
}

static int t_template_many_spawns(void)
{
	char *argv[] = { "true", NULL };
	int before = open_fds(), tfd = tcreate_path("/bin/busybox");
	for (int i = 0; i < 200; i++) {
		int pidfd = -1;
		struct serr e;
		long pid = tspawn(tfd, 0, argv, NULL, 0, &pidfd, &e);
		siginfo_t si = { 0 };
		CHECK(pid > 0 && pidfd >= 0);
		CHECK(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) == 0 && si.si_status == 0);
		close(pidfd);
	}
	close(tfd);
	CHECK(open_fds() == before && no_child_left());
	return 0;
}

int main(void)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} tests[] = {
		{ "builder_runs_and_becomes_pidfd", t_builder_runs_and_becomes_pidfd },
		{ "child_is_the_callers", t_child_is_the_callers },
		{ "actions_and_fds", t_actions_and_fds },
		{ "cwd_umask_rlimit_setsid", t_cwd_umask_rlimit_setsid },
		{ "sigmask_and_sigdefault", t_sigmask_and_sigdefault },
		{ "errors_leave_nothing", t_errors_leave_nothing },
		{ "many_runs", t_many_runs },
		{ "killed_caller_leaves_no_child", t_killed_caller_leaves_no_child },
		{ "template_path_and_fd", t_template_path_and_fd },
		{ "template_identity", t_template_identity },
		{ "template_creds", t_template_creds },
		{ "template_errors", t_template_errors },
		{ "template_fds_and_signals", t_template_fds_and_signals },
		{ "template_many_spawns", t_template_many_spawns },
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (builder() < 0 && errno == EINVAL) {
		printf("native: this kernel has no process builder (pidfd_open: EINVAL)\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int r = tests[i].fn();
		printf("%s %d native_%s\n", r ? "not ok" : "ok", (int)i + 1, tests[i].name);
		r ? failed++ : passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
