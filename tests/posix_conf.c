/* SPDX-License-Identifier: MIT */
/*
 * posix_conf.c - the POSIX conformance program: one posix_spawn scenario per
 * run, deterministic observations on stdout, against any implementation.
 *
 *   posix-conf IMPL SCENARIO BASE   IMPL: libc | fl; BASE: a scratch directory
 *   posix-conf child BASE WHAT...   the spawned side: print what it sees
 *
 * IMPL "libc" calls posix_spawn() and friends by their libc names: glibc when
 * run plainly, the forkless shim under LD_PRELOAD=libforkless-preload.so.
 * IMPL "old" is "libc" with posix_spawn and posix_spawnp bound to their
 * pre-2.15 symbol versions (posix_spawn@GLIBC_2.2.5 on x86-64), as in a
 * program linked against an old glibc; "unsupported" where there are none.
 * IMPL "fl" calls fl_posix_spawn() and friends; file actions and attributes
 * are still built with the libc-named functions, since the library reads
 * glibc's layout.  Functions glibc 2.36 lacks (pidfd_spawn, the POSIX.1-2024
 * addchdir/addfchdir, the cgroup attribute) are looked up with dlsym(): when
 * absent the scenario prints "unsupported" and nothing else.
 *
 * tests/test_posix.c runs each scenario three ways and requires the same
 * output: glibc proves the scenario right, forkless must match it.  So the
 * output holds nothing that changes between runs: errors by name (ENOENT),
 * no pids, paths relative to BASE.  Every child is reaped; a scenario that
 * cannot run here (no privilege) prints one line "skip: WHY".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "forkless.h"
#include "preload_compat.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define SETCGROUP 0x100 /* glibc 2.39's POSIX_SPAWN_SETCGROUP */
#define SENTINEL ((pid_t)-4242)

typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const[], char *const[]);
typedef int pidfd_spawn_fn(int *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
typedef int addchdir_fn(posix_spawn_file_actions_t *, const char *);
typedef int addfchdir_fn(posix_spawn_file_actions_t *, int);
typedef int setcgroup_fn(posix_spawnattr_t *, int);
typedef int getcgroup_fn(const posix_spawnattr_t *, int *);
typedef int setflags_fn(posix_spawnattr_t *, short);

/* One implementation; a NULL member is a function it does not have. */
struct impl {
	spawn_fn *spawn, *spawnp;
	pidfd_spawn_fn *pidfd_spawn, *pidfd_spawnp;
	addchdir_fn *addchdir;
	addfchdir_fn *addfchdir;
	setcgroup_fn *setcgroup;
	getcgroup_fn *getcgroup;
	setflags_fn *setflags; /* for SETCGROUP, which glibc 2.36's setflags refuses */
};

static struct impl impl;

#ifdef FL__SPAWN_OLD
/* The old versions, as a program linked against glibc < 2.15 binds them. */
int old_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		    const posix_spawnattr_t *at, char *const argv[], char *const envp[]);
int old_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		     const posix_spawnattr_t *at, char *const argv[], char *const envp[]);
__asm__(".symver old_posix_spawn, posix_spawn@" FL__SPAWN_OLD_STR);
__asm__(".symver old_posix_spawnp, posix_spawnp@" FL__SPAWN_OLD_STR);
#endif
static char base[PATH_MAX], exe[PATH_MAX];
static char *env_min[] = { "LC_ALL=C", NULL };

static void pick_impl(const char *name)
{
	if (!strcmp(name, "fl")) {
		impl = (struct impl){ fl_posix_spawn, fl_posix_spawnp, fl_pidfd_spawn,
				      fl_pidfd_spawnp, fl_posix_spawn_file_actions_addchdir,
				      fl_posix_spawn_file_actions_addfchdir,
				      fl_posix_spawnattr_setcgroup_np,
				      fl_posix_spawnattr_getcgroup_np, fl_posix_spawnattr_setflags };
		return;
	}
	/* glibc's names: whatever the dynamic linker binds them to */
	impl.spawn = posix_spawn;
	impl.spawnp = posix_spawnp;
	impl.pidfd_spawn = (pidfd_spawn_fn *)dlsym(RTLD_DEFAULT, "pidfd_spawn");
	impl.pidfd_spawnp = (pidfd_spawn_fn *)dlsym(RTLD_DEFAULT, "pidfd_spawnp");
	impl.addchdir = (addchdir_fn *)dlsym(RTLD_DEFAULT, "posix_spawn_file_actions_addchdir");
	impl.addfchdir = (addfchdir_fn *)dlsym(RTLD_DEFAULT, "posix_spawn_file_actions_addfchdir");
	impl.setcgroup = (setcgroup_fn *)dlsym(RTLD_DEFAULT, "posix_spawnattr_setcgroup_np");
	impl.getcgroup = (getcgroup_fn *)dlsym(RTLD_DEFAULT, "posix_spawnattr_getcgroup_np");
	impl.setflags = posix_spawnattr_setflags;
#ifdef FL__SPAWN_OLD
	if (!strcmp(name, "old")) {
		impl.spawn = old_posix_spawn;
		impl.spawnp = old_posix_spawnp;
	}
#endif
}

/* ---- output ------------------------------------------------------------ */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";
	return n ? n : "E?";
}

static const char *yes(int c)
{
	return c ? "yes" : "no";
}

/* Signals of a 64-bit set as names, "none" if empty. */
static const char *signames(unsigned long long set, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int sig = 1; sig <= 64; sig++) {
		if (!(set >> (sig - 1) & 1))
			continue;
		const char *n = sig < 32 ? sigabbrev_np(sig) : NULL;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? "," : "",
					n ? n : "");
		if (!n)
			off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%d", sig);
	}
	return buf[0] ? buf : "none";
}

/* ---- the child side ---------------------------------------------------- */

static unsigned long long status_set(const char *key)
{
	char line[256];
	unsigned long long v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Open fds >= 3, sorted, "none" if none. */
static const char *fd_list(char *buf, size_t len)
{
	int fds[256], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t off = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) >= 3 && atoi(de->d_name) != dirfd(d) &&
		    n < 256)
			fds[n++] = atoi(de->d_name);
	if (d)
		closedir(d);
	qsort(fds, (size_t)n, sizeof(int), cmp_int);
	buf[0] = 0;
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%d", i ? "," : "", fds[i]);
	return n ? buf : "none";
}

static const char *policy_name(int p)
{
	switch (p & ~SCHED_RESET_ON_FORK) {
	case SCHED_OTHER: return "OTHER";
	case SCHED_FIFO: return "FIFO";
	case SCHED_RR: return "RR";
	case SCHED_BATCH: return "BATCH";
	case SCHED_IDLE: return "IDLE";
	}
	return "?";
}

static void child_read(int fd)
{
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n < 0) {
		say("child fd%d error=%s", fd, ename(errno));
		return;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	say("child fd%d=%s", fd, buf);
}

static void child_access(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0) {
		say("child fd%d error=%s", fd, ename(errno));
		return;
	}
	int acc = fl & O_ACCMODE;
	say("child fd%d access=%s append=%s", fd,
	    acc == O_RDONLY ? "r" : acc == O_WRONLY ? "w" : "rw", yes(fl & O_APPEND));
}

static void child_cgroup(const char *name)
{
	char line[512], want[300];
	int in = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");

	snprintf(want, sizeof(want), "/%s", name);
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		size_t n = strlen(line), w = strlen(want);
		if (!strncmp(line, "0::", 3) && n >= w && !strcmp(line + n - w, want))
			in = 1;
	}
	if (f)
		fclose(f);
	say("child in_cgroup=%s", yes(in));
}

/*
 * Dispositions of glibc's internal signals 32 (SIGCANCEL) and 33 (SIGSETXID)
 * are not shown: no application can name them (sigaction() refuses them),
 * and glibc's posix_spawn sets both to SIG_IGN in every child it makes,
 * which then stay ignored across exec; forkless leaves them at SIG_DFL.
 */
#define GLIBC_INTERNAL (3ULL << 31)

/* One observation; returns how many extra arguments it used. */
static int child_what(char **w)
{
	char buf[1024];

	if (!strcmp(w[0], "hello")) {
		say("child hello");
	} else if (!strcmp(w[0], "fds")) {
		say("child fds=%s", fd_list(buf, sizeof(buf)));
	} else if (!strcmp(w[0], "read") && w[1]) {
		child_read(atoi(w[1]));
		return 1;
	} else if (!strcmp(w[0], "access") && w[1]) {
		child_access(atoi(w[1]));
		return 1;
	} else if (!strcmp(w[0], "mask")) {
		say("child blocked=%s", signames(status_set("SigBlk"), buf, sizeof(buf)));
	} else if (!strcmp(w[0], "ign")) {
		say("child ignored=%s", signames(status_set("SigIgn") & ~GLIBC_INTERNAL, buf, sizeof(buf)));
	} else if (!strcmp(w[0], "cgt")) {
		say("child caught=%s", signames(status_set("SigCgt") & ~GLIBC_INTERNAL, buf, sizeof(buf)));
	} else if (!strcmp(w[0], "pgid")) {
		say("child pgid==pid %s", yes(getpgrp() == getpid()));
	} else if (!strcmp(w[0], "pgid-is") && w[1]) {
		say("child pgid==given %s", yes(getpgrp() == atoi(w[1])));
		return 1;
	} else if (!strcmp(w[0], "sid")) {
		say("child sid==pid %s", yes(getsid(0) == getpid()));
	} else if (!strcmp(w[0], "cwd")) {
		size_t n = strlen(base);
		if (!getcwd(buf, sizeof(buf)))
			say("child cwd error=%s", ename(errno));
		else if (!strncmp(buf, base, n) && (buf[n] == '/' || !buf[n]))
			say("child cwd=BASE%s", buf + n);
		else
			say("child cwd=%s", buf);
	} else if (!strcmp(w[0], "env")) {
		int n = 0;
		for (char **e = environ; *e; e++, n++)
			say("child env %s", *e);
		say("child envc=%d", n);
	} else if (!strcmp(w[0], "sched")) {
		struct sched_param p = { 0 };
		sched_getparam(0, &p);
		say("child policy=%s prio=%d", policy_name(sched_getscheduler(0)), p.sched_priority);
	} else if (!strcmp(w[0], "ids")) {
		say("child ruid=%d euid=%d rgid=%d egid=%d", (int)getuid(), (int)geteuid(),
		    (int)getgid(), (int)getegid());
	} else if (!strcmp(w[0], "cgroup-is") && w[1]) {
		child_cgroup(w[1]);
		return 1;
	} else if (!strcmp(w[0], "fg") && w[1]) {
		pid_t fg = tcgetpgrp(atoi(w[1]));
		if (fg < 0)
			say("child foreground error=%s", ename(errno));
		else
			say("child foreground=%s", yes(fg == getpgrp()));
		return 1;
	} else if (!strcmp(w[0], "block")) {
		while (read(0, buf, sizeof(buf)) > 0)
			;
	} else if (!strcmp(w[0], "exit") && w[1]) {
		exit(atoi(w[1]));
	} else {
		say("child unknown %s", w[0]);
	}
	return 0;
}

/* posix-conf child BASE WHAT...; "args" prints the whole argv, and ends. */
static int child_main(int argc, char **argv)
{
	snprintf(base, sizeof(base), "%s", argv[2]);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "args")) {
			say("child argc=%d", argc);
			for (int k = 0; k < argc; k++)
				if (k != 2) /* BASE differs between runs */
					say("child argv[%d]=[%s]", k, argv[k]);
			break;
		}
		i += child_what(&argv[i]);
	}
	return 0;
}

/* ---- the parent side: helpers ------------------------------------------ */

/* argv of "posix-conf child BASE WHAT..." (NULL-terminated list); static. */
static char **cargv(const char *what, ...)
{
	static char *v[32];
	va_list ap;
	int n = 0;

	v[n++] = "posix-conf";
	v[n++] = "child";
	v[n++] = base;
	va_start(ap, what);
	for (const char *w = what; w && n < 31; w = va_arg(ap, const char *))
		v[n++] = (char *)w;
	va_end(ap);
	v[n] = NULL;
	return v;
}

/* Wait for pid; the child's own lines are then all written.  Returns a
 * waitpid() status, or -errno if it could not be waited for. */
static int wait_for(pid_t pid)
{
	int st = 0;
	pid_t r;

	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? st : -errno;
}

/* "exit=N" or "signal=NAME" for a wait_for() result. */
static void say_status(int st)
{
	if (st < 0)
		say("waitpid error=%s", ename(-st));
	else if (WIFEXITED(st))
		say("exit=%d", WEXITSTATUS(st));
	else
		say("signal=%s", WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "?");
}

static void reap(pid_t pid)
{
	say_status(wait_for(pid));
}

/* After a failed spawn: is any child left (a zombie exiting 127)? */
static void no_children(void)
{
	int st;
	pid_t p = waitpid(-1, &st, WNOHANG);

	if (p < 0 && errno == ECHILD) {
		say("children=none");
		return;
	}
	say("children=some");
	while (waitpid(-1, &st, 0) > 0) /* collect it anyway */
		;
}

/* Spawn with the implementation, print the result, reap; returns it. */
static int run(int search, const char *path, const posix_spawn_file_actions_t *fa,
	       const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	pid_t pid = SENTINEL;
	int r = (search ? impl.spawnp : impl.spawn)(&pid, path, fa, at, argv, envp);
	int st = r == 0 ? wait_for(pid) : 0; /* first: the child's lines come first */

	say("spawn=%s", ename(r));
	if (r == 0) {
		say_status(st);
	} else {
		say("pid=%s", pid == SENTINEL ? "untouched" : "changed");
		no_children();
	}
	return r;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		say("setup write %s error=%s", path, ename(errno));
	if (fd >= 0)
		close(fd);
	chmod(path, mode);
}

static void mkdirs(const char *a, const char *b)
{
	if (a)
		mkdir(a, 0755);
	if (b)
		mkdir(b, 0755);
}

/* dir/name -> this program, to be found by a PATH search or a relative path. */
static void link_self(const char *dir, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (symlink(exe, p) < 0)
		say("setup symlink error=%s", ename(errno));
}

static void set_path(const char *rel1, const char *rel2)
{
	char p[3 * PATH_MAX];

	if (rel2)
		snprintf(p, sizeof(p), "%s/%s:%s/%s", base, rel1, base, rel2);
	else
		snprintf(p, sizeof(p), "%s/%s", base, rel1);
	setenv("PATH", p, 1);
}

static int open_at(const char *path, int flags, int want)
{
	int fd = open(path, flags, 0644);

	if (fd != want)
		say("setup open %s: fd %d, wanted %d (%s)", path, fd, want, ename(errno));
	return fd;
}

static void close_from(int lo)
{
	syscall(SYS_close_range, lo, ~0U, 0);
}

static void parent_fds(void)
{
	char buf[512];
	say("parent fds=%s", fd_list(buf, sizeof(buf)));
}

/* ---- scenarios: return values, errors and the PATH search --------------- */

static void success_writes_pid(void)
{
	pid_t pid = SENTINEL;
	int r = impl.spawn(&pid, exe, NULL, NULL, cargv("exit", "3", NULL), env_min);

	say("spawn=%s", ename(r));
	say("pid_written=%s", yes(pid != SENTINEL && pid > 0));
	if (r == 0) /* the pid is the child's: waitpid(pid) reaps it */
		reap(pid);
	no_children();
}

static void pid_untouched_on_failure(void)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;

	say("case exec");
	run(0, "missing", NULL, NULL, cargv("hello", NULL), env_min);
	say("case action");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, 9, 5); /* 9 is not open */
	run(0, exe, &fa, NULL, cargv("hello", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	say("case attr");
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDPARAM);
	posix_spawnattr_setschedparam(&at, &(struct sched_param){ .sched_priority = 5 });
	run(0, exe, NULL, &at, cargv("hello", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void exec_enoent(void)
{
	run(0, "nodir/missing", NULL, NULL, cargv("hello", NULL), env_min);
}

static void exec_eacces(void)
{
	write_file("noexec", "#!/bin/sh\nexit 0\n", 0644);
	run(0, "noexec", NULL, NULL, cargv("hello", NULL), env_min);
}

static void exec_enoexec(void)
{
	write_file("garbage", "\x01\x02\x03 not a program\n", 0755);
	run(0, "./garbage", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawn_no_path_search(void)
{
	mkdirs("bin", NULL);
	link_self("bin", "confchild");
	set_path("bin", NULL);
	run(0, "confchild", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_searches_path(void)
{
	mkdirs("empty", "bin");
	link_self("bin", "confchild");
	set_path("empty", "bin");
	run(1, "confchild", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_slash_not_searched(void)
{
	mkdirs("bin", "bin/sub");
	link_self("bin/sub", "confchild");
	set_path("bin", NULL);
	say("case relative");
	run(1, "sub/confchild", NULL, NULL, cargv("hello", NULL), env_min);
	say("case from cwd");
	mkdirs("sub", NULL);
	link_self("sub", "confchild");
	run(1, "sub/confchild", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_empty_path_element_is_cwd(void)
{
	char p[PATH_MAX + 16];

	mkdirs("empty", NULL);
	link_self(".", "confchild");
	snprintf(p, sizeof(p), "%s/empty:", base); /* trailing empty element */
	setenv("PATH", p, 1);
	say("case trailing");
	run(1, "confchild", NULL, NULL, cargv("hello", NULL), env_min);
	snprintf(p, sizeof(p), ":%s/empty", base);
	setenv("PATH", p, 1);
	say("case leading");
	run(1, "confchild", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_default_path(void)
{
	char *argv[] = { "true", NULL };

	link_self(".", "confchild"); /* the default path has no current directory */
	unsetenv("PATH");
	say("case true");
	run(1, "true", NULL, NULL, argv, env_min);
	say("case cwd");
	run(1, "confchild", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_enoexec_no_shell(void)
{
	char script[PATH_MAX + 64];

	mkdirs("bin", NULL);
	snprintf(script, sizeof(script), "echo ran > %s/marker\n", base);
	write_file("bin/script", script, 0755);
	set_path("bin", NULL);
	run(1, "script", NULL, NULL, cargv("hello", NULL), env_min);
	say("shell_ran=%s", yes(access("marker", F_OK) == 0));
}

static void spawnp_stops_at_enoexec(void)
{
	mkdirs("d1", "d2");
	write_file("d1/prog", "\x01\x02\x03 not a program\n", 0755);
	link_self("d2", "prog");
	set_path("d1", "d2");
	run(1, "prog", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_eacces_remembered(void)
{
	mkdirs("d1", "d2");
	write_file("d1/prog", "#!/bin/sh\nexit 0\n", 0644);
	set_path("d1", "d2");
	run(1, "prog", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_continues_after_eacces(void)
{
	mkdirs("d1", "d2");
	write_file("d1/prog", "#!/bin/sh\nexit 0\n", 0644);
	link_self("d2", "prog");
	set_path("d1", "d2");
	run(1, "prog", NULL, NULL, cargv("hello", NULL), env_min);
}

static void spawnp_enoent_when_absent(void)
{
	mkdirs("d1", "d2");
	set_path("d1", "d2");
	run(1, "prog", NULL, NULL, cargv("hello", NULL), env_min);
}

/* ---- scenarios: the pre-2.15 versions (IMPL "old") ---------------------- */

/* A file without "#!" that prints how /bin/sh ran it, paths relative to base. */
static void write_script(const char *path, const char *tag)
{
	char text[PATH_MAX + 128];

	snprintf(text, sizeof(text), "b='%s'\necho \"%s 0=${0#$b/} argc=$# 1=$1 2=$2\"\n",
		 base, tag);
	write_file(path, text, 0755);
}

/* posix_spawn runs an ENOEXEC file as {"/bin/sh", path, argv[1]...}. */
static void old_spawn_runs_shell(void)
{
	char *two[] = { "x", "one", "two words", NULL }, *none[] = { NULL };

	write_script("script", "script");
	say("case args");
	run(0, "./script", NULL, NULL, two, env_min);
	say("case no argv");
	run(0, "./script", NULL, NULL, none, env_min);
	say("case absolute");
	char abs[PATH_MAX + 16];
	snprintf(abs, sizeof(abs), "%s/script", base);
	run(0, abs, NULL, NULL, two, env_min);
	say("case program");
	run(0, exe, NULL, NULL, cargv("hello", NULL), env_min);
	say("case missing");
	run(0, "./nonexistent", NULL, NULL, two, env_min);
}

/* posix_spawnp: the search stops at the ENOEXEC file, and /bin/sh gets the
 * name as given, which it opens from the cwd (here: another script). */
static void old_spawnp_runs_shell(void)
{
	char *two[] = { "x", "one", "two words", NULL };

	mkdirs("bin", "d2");
	write_script("bin/script", "in-path");
	write_script("d2/script", "later");
	write_script("script", "in-cwd");
	set_path("bin", "d2");
	say("case bare name");
	run(1, "script", NULL, NULL, two, env_min);
	say("case with slash");
	run(1, "bin/script", NULL, NULL, two, env_min);
	say("case program");
	link_self("bin", "confchild");
	run(1, "confchild", NULL, NULL, cargv("hello", NULL), env_min);
}

/* ---- scenarios: file descriptors and file actions ----------------------- */

static void fd_inherit_non_cloexec(void)
{
	write_file("data", "hello\n", 0644);
	open_at("data", O_RDONLY, 3);
	open_at("data", O_RDONLY | O_CLOEXEC, 4);
	open_at("data", O_RDONLY, 5);
	run(0, exe, NULL, NULL, cargv("fds", NULL), env_min);
	close_from(3);
}

static void addclose_child_only(void)
{
	posix_spawn_file_actions_t fa;

	write_file("data", "hello\n", 0644);
	open_at("data", O_RDONLY, 3);
	open_at("data", O_RDONLY, 4);
	posix_spawn_file_actions_init(&fa);
	say("addclose=%s", ename(posix_spawn_file_actions_addclose(&fa, 3)));
	run(0, exe, &fa, NULL, cargv("fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	parent_fds();
	close_from(3);
}

static void addclose_not_open_ok(void)
{
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	say("addclose=%s", ename(posix_spawn_file_actions_addclose(&fa, 7)));
	run(0, exe, &fa, NULL, cargv("hello", "fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

static void add_bad_fd_ebadf(void)
{
	posix_spawn_file_actions_t fa;
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	int lim = (int)rl.rlim_cur;
	posix_spawn_file_actions_init(&fa);
	say("addclose(-1)=%s", ename(posix_spawn_file_actions_addclose(&fa, -1)));
	say("addclose(LIMIT)=%s", ename(posix_spawn_file_actions_addclose(&fa, lim)));
	say("adddup2(-1,5)=%s", ename(posix_spawn_file_actions_adddup2(&fa, -1, 5)));
	say("adddup2(1,-1)=%s", ename(posix_spawn_file_actions_adddup2(&fa, 1, -1)));
	say("adddup2(LIMIT,5)=%s", ename(posix_spawn_file_actions_adddup2(&fa, lim, 5)));
	say("adddup2(1,LIMIT)=%s", ename(posix_spawn_file_actions_adddup2(&fa, 1, lim)));
	say("addopen(-1)=%s",
	    ename(posix_spawn_file_actions_addopen(&fa, -1, "data", O_RDONLY, 0)));
	say("addopen(LIMIT)=%s",
	    ename(posix_spawn_file_actions_addopen(&fa, lim, "data", O_RDONLY, 0)));
	say("addclosefrom_np(-1)=%s", ename(posix_spawn_file_actions_addclosefrom_np(&fa, -1)));
	say("addtcsetpgrp_np(-1)=%s", ename(posix_spawn_file_actions_addtcsetpgrp_np(&fa, -1)));
	/* the highest valid fd is accepted; nothing failed was recorded */
	say("addclose(LIMIT-1)=%s", ename(posix_spawn_file_actions_addclose(&fa, lim - 1)));
	run(0, exe, &fa, NULL, cargv("hello", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

/* glibc 2.36 does not check addfchdir_np's fd when it is added. */
static void addfchdir_np_bad_fd(void)
{
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	say("addfchdir_np(-1)=%s", ename(posix_spawn_file_actions_addfchdir_np(&fa, -1)));
	run(0, exe, &fa, NULL, cargv("hello", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

static void adddup2_onto_fd(void)
{
	posix_spawn_file_actions_t fa;

	write_file("data", "hello\n", 0644);
	open_at("data", O_RDONLY | O_CLOEXEC, 3);
	posix_spawn_file_actions_init(&fa);
	say("adddup2=%s", ename(posix_spawn_file_actions_adddup2(&fa, 3, 5)));
	run(0, exe, &fa, NULL, cargv("fds", "read", "5", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	close_from(3);
}

static void adddup2_same_fd_clears_cloexec(void)
{
	posix_spawn_file_actions_t fa;

	write_file("data", "hello\n", 0644);
	open_at("data", O_RDONLY | O_CLOEXEC, 3);
	posix_spawn_file_actions_init(&fa);
	say("adddup2=%s", ename(posix_spawn_file_actions_adddup2(&fa, 3, 3)));
	run(0, exe, &fa, NULL, cargv("fds", "read", "3", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	say("parent fd3 cloexec=%s", yes(fcntl(3, F_GETFD) & FD_CLOEXEC));
	close_from(3);
}

static void adddup2_closed_source_ebadf(void)
{
	posix_spawn_file_actions_t fa;

	say("case other");
	posix_spawn_file_actions_init(&fa);
	say("adddup2=%s", ename(posix_spawn_file_actions_adddup2(&fa, 9, 5)));
	run(0, exe, &fa, NULL, cargv("hello", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	say("case same");
	posix_spawn_file_actions_init(&fa);
	say("adddup2=%s", ename(posix_spawn_file_actions_adddup2(&fa, 9, 9)));
	run(0, exe, &fa, NULL, cargv("hello", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

static void addopen_creates_with_mode(void)
{
	posix_spawn_file_actions_t fa;
	struct stat st;

	write_file("data", "hello\n", 0644);
	umask(027);
	posix_spawn_file_actions_init(&fa);
	say("addopen=%s", ename(posix_spawn_file_actions_addopen(
				  &fa, 5, "out", O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0666)));
	say("addopen=%s", ename(posix_spawn_file_actions_addopen(&fa, 6, "data", O_RDONLY, 0)));
	say("case create");
	run(0, exe, &fa, NULL, cargv("fds", "access", "5", "access", "6", "read", "6", NULL),
	    env_min);
	if (stat("out", &st) == 0)
		say("out mode=%04o size=%lld reg=%s", (unsigned)(st.st_mode & 07777),
		    (long long)st.st_size, yes(S_ISREG(st.st_mode)));
	else
		say("out stat error=%s", ename(errno));
	say("case exclusive");
	run(0, exe, &fa, NULL, cargv("fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

static void addopen_failure_returned(void)
{
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	say("addopen=%s", ename(posix_spawn_file_actions_addopen(&fa, 5, "nodir/x", O_RDONLY, 0)));
	run(0, exe, &fa, NULL, cargv("hello", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

/*
 * POSIX: "If fildes was already an open file descriptor, it shall be closed
 * before the new file is opened" - which lets a process at its fd limit
 * still spawn with an open action onto one of its own fds.
 */
static void addopen_closes_fildes_first(void)
{
	posix_spawn_file_actions_t fa;
	struct rlimit rl;

	write_file("data", "hello\n", 0644);
	say("case before");
	run(0, exe, NULL, NULL, cargv("hello", NULL), env_min); /* the shim can still log */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 32;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		say("setup setrlimit error=%s", ename(errno));
	int fd, last = -1;
	while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		last = fd;
	say("parent full at fd %d", last);
	posix_spawn_file_actions_init(&fa);
	say("addopen=%s", ename(posix_spawn_file_actions_addopen(&fa, 31, "data", O_RDONLY, 0)));
	say("case at limit");
	run(0, exe, &fa, NULL, cargv("fds", "read", "31", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	close_from(3);
}

/* addopen is "as if open(path, oflag, mode)": oflag's O_CLOEXEC included. */
static void addopen_oflag_cloexec(void)
{
	posix_spawn_file_actions_t fa;

	write_file("data", "hello\n", 0644);
	posix_spawn_file_actions_init(&fa);
	say("case lowest free fd");
	say("addopen=%s",
	    ename(posix_spawn_file_actions_addopen(&fa, 3, "data", O_RDONLY | O_CLOEXEC, 0)));
	run(0, exe, &fa, NULL, cargv("fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	say("case moved to fildes");
	say("addopen=%s",
	    ename(posix_spawn_file_actions_addopen(&fa, 7, "data", O_RDONLY | O_CLOEXEC, 0)));
	run(0, exe, &fa, NULL, cargv("fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

static void addchdir_np_relative_exec(void)
{
	posix_spawn_file_actions_t fa;

	mkdirs("sub", NULL);
	link_self("sub", "confchild");
	posix_spawn_file_actions_init(&fa);
	say("addchdir_np=%s", ename(posix_spawn_file_actions_addchdir_np(&fa, "sub")));
	run(0, "./confchild", &fa, NULL, cargv("cwd", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	char cwd[PATH_MAX];
	say("parent cwd unchanged=%s", yes(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, base)));
}

static void addfchdir_np(void)
{
	posix_spawn_file_actions_t fa;

	mkdirs("sub", NULL);
	open_at("sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 3);
	posix_spawn_file_actions_init(&fa);
	say("addfchdir_np=%s", ename(posix_spawn_file_actions_addfchdir_np(&fa, 3)));
	run(0, exe, &fa, NULL, cargv("cwd", "fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	close_from(3);
}

static void actions_in_order(void)
{
	posix_spawn_file_actions_t fa;

	mkdirs("sub", NULL);
	write_file("f", "in-base\n", 0644);
	write_file("sub/f", "in-sub\n", 0644);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 5, "f", O_RDONLY, 0);
	posix_spawn_file_actions_addchdir_np(&fa, "sub");
	posix_spawn_file_actions_addopen(&fa, 6, "f", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 5, 7);
	posix_spawn_file_actions_addclose(&fa, 5);
	run(0, exe, &fa, NULL, cargv("fds", "read", "6", "read", "7", "cwd", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

static void addchdir(void)
{
	posix_spawn_file_actions_t fa;

	if (!impl.addchdir) {
		say("unsupported");
		return;
	}
	mkdirs("sub", NULL);
	link_self("sub", "confchild");
	posix_spawn_file_actions_init(&fa);
	say("addchdir=%s", ename(impl.addchdir(&fa, "sub")));
	run(0, "./confchild", &fa, NULL, cargv("cwd", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
}

static void addfchdir(void)
{
	posix_spawn_file_actions_t fa;

	if (!impl.addfchdir) {
		say("unsupported");
		return;
	}
	mkdirs("sub", NULL);
	open_at("sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 3);
	posix_spawn_file_actions_init(&fa);
	say("addfchdir(-1)=%s", ename(impl.addfchdir(&fa, -1)));
	say("addfchdir=%s", ename(impl.addfchdir(&fa, 3)));
	run(0, exe, &fa, NULL, cargv("cwd", "fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	close_from(3);
}

static void addclosefrom_np(void)
{
	posix_spawn_file_actions_t fa;

	write_file("data", "hello\n", 0644);
	open_at("data", O_RDONLY, 3);
	open_at("data", O_RDONLY, 4);
	open_at("data", O_RDONLY, 5);
	dup2(3, 9);
	posix_spawn_file_actions_init(&fa);
	say("addclosefrom_np=%s", ename(posix_spawn_file_actions_addclosefrom_np(&fa, 4)));
	run(0, exe, &fa, NULL, cargv("fds", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	parent_fds();
	close_from(3);
}

static void addtcsetpgrp_np_foreground(void)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;

	if (setsid() < 0) { /* a session of our own, with a pty as its terminal */
		say("setup setsid error=%s", ename(errno));
		return;
	}
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m != 3 || grantpt(m) < 0 || unlockpt(m) < 0) {
		say("skip: no pty (%s)", ename(errno));
		return;
	}
	int s = open_at(ptsname(m), O_RDWR, 4); /* no O_NOCTTY: our controlling tty */
	say("ctty=%s", yes(tcgetsid(s) == getpid()));
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawn_file_actions_init(&fa);
	say("addtcsetpgrp_np=%s", ename(posix_spawn_file_actions_addtcsetpgrp_np(&fa, s)));
	run(0, exe, &fa, &at, cargv("pgid", "fg", "4", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	signal(SIGHUP, SIG_IGN); /* closing the master hangs up our own session */
	close_from(3);
}

static void addtcsetpgrp_np_notty(void)
{
	posix_spawn_file_actions_t fa;

	write_file("data", "hello\n", 0644);
	open_at("data", O_RDONLY | O_CLOEXEC, 3);
	posix_spawn_file_actions_init(&fa);
	say("addtcsetpgrp_np=%s", ename(posix_spawn_file_actions_addtcsetpgrp_np(&fa, 3)));
	run(0, exe, &fa, NULL, cargv("hello", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	close_from(3);
}

/* ---- scenarios: attributes --------------------------------------------- */

static void block(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static void setsigmask(void)
{
	posix_spawnattr_t at;
	sigset_t s;

	block(SIGUSR1);
	posix_spawnattr_init(&at);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGTERM);
	posix_spawnattr_setsigmask(&at, &s);
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK)));
	say("case two signals");
	run(0, exe, NULL, &at, cargv("mask", NULL), env_min);
	say("case empty");
	sigemptyset(&s);
	posix_spawnattr_setsigmask(&at, &s);
	run(0, exe, NULL, &at, cargv("mask", NULL), env_min);
	say("case full");
	sigfillset(&s);
	posix_spawnattr_setsigmask(&at, &s);
	run(0, exe, NULL, &at, cargv("mask", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void sigmask_inherited(void)
{
	posix_spawnattr_t at;
	sigset_t s;

	block(SIGUSR1);
	say("case null attr");
	run(0, exe, NULL, NULL, cargv("mask", NULL), env_min);
	say("case mask without flag");
	posix_spawnattr_init(&at);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	posix_spawnattr_setsigmask(&at, &s);
	run(0, exe, NULL, &at, cargv("mask", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void setsigdef_resets_ignored(void)
{
	posix_spawnattr_t at;
	sigset_t s;

	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	posix_spawnattr_init(&at);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	posix_spawnattr_setsigdefault(&at, &s);
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF)));
	say("case one");
	run(0, exe, NULL, &at, cargv("ign", NULL), env_min);
	say("case full set");
	sigfillset(&s);
	posix_spawnattr_setsigdefault(&at, &s);
	run(0, exe, NULL, &at, cargv("ign", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void ignored_stay_ignored(void)
{
	posix_spawnattr_t at;
	sigset_t s;

	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	say("case null attr");
	run(0, exe, NULL, NULL, cargv("ign", NULL), env_min);
	say("case sigdefault without flag");
	posix_spawnattr_init(&at);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	posix_spawnattr_setsigdefault(&at, &s);
	run(0, exe, NULL, &at, cargv("ign", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
}

static void caught_reset_to_default(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	/* exec drops handlers anyway (and a sanitizer runtime installs its own
	 * at start): what is left to see is that none became SIG_IGN */
	run(0, exe, NULL, NULL, cargv("ign", NULL), env_min);
}

static void setpgroup_zero(void)
{
	posix_spawnattr_t at;

	say("case null attr");
	run(0, exe, NULL, NULL, cargv("pgid", NULL), env_min);
	say("case setpgroup 0");
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0);
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP)));
	run(0, exe, NULL, &at, cargv("pgid", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void setpgroup_existing(void)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t leader = SENTINEL;
	int p[2];
	char num[16];

	if (pipe2(p, O_CLOEXEC) < 0) {
		say("setup pipe error=%s", ename(errno));
		return;
	}
	/* a group leader that waits for EOF on its stdin */
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	int r = impl.spawn(&leader, exe, &fa, &at, cargv("block", NULL), env_min);
	say("leader spawn=%s", ename(r));
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	/* join its group */
	snprintf(num, sizeof(num), "%d", (int)leader);
	posix_spawnattr_setpgroup(&at, leader);
	run(0, exe, NULL, &at, cargv("pgid-is", num, "pgid", NULL), env_min);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (r == 0) {
		say("case leader");
		reap(leader);
	}
}

static void attr_failure_returned(void)
{
	posix_spawnattr_t at;

	posix_spawnattr_init(&at);
	say("case setpgroup to no group");
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, getppid()); /* not a group leader of our session */
	run(0, exe, NULL, &at, cargv("hello", NULL), env_min);
	say("case setschedparam out of range");
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDPARAM);
	posix_spawnattr_setschedparam(&at, &(struct sched_param){ .sched_priority = 5 });
	run(0, exe, NULL, &at, cargv("hello", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void setsid_attr(void)
{
	posix_spawnattr_t at;

	say("case null attr");
	run(0, exe, NULL, NULL, cargv("sid", "pgid", NULL), env_min);
	say("case setsid");
	posix_spawnattr_init(&at);
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID)));
	run(0, exe, NULL, &at, cargv("sid", "pgid", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void caller_batch(void)
{
	struct sched_param p = { 0 };
	if (sched_setscheduler(0, SCHED_BATCH, &p) < 0)
		say("setup SCHED_BATCH error=%s", ename(errno));
}

static void setscheduler(void)
{
	posix_spawnattr_t at;

	caller_batch();
	say("case null attr");
	run(0, exe, NULL, NULL, cargv("sched", NULL), env_min);
	say("case SCHED_OTHER");
	posix_spawnattr_init(&at);
	say("setschedpolicy=%s", ename(posix_spawnattr_setschedpolicy(&at, SCHED_OTHER)));
	posix_spawnattr_setschedparam(&at, &(struct sched_param){ .sched_priority = 0 });
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER)));
	run(0, exe, NULL, &at, cargv("sched", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void setscheduler_fifo(void)
{
	posix_spawnattr_t at;
	struct sched_param p = { .sched_priority = 1 };

	if (sched_setscheduler(0, SCHED_FIFO, &p) < 0) {
		say("skip: SCHED_FIFO not permitted (%s)", ename(errno));
		return;
	}
	p.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &p);
	posix_spawnattr_init(&at);
	say("setschedpolicy=%s", ename(posix_spawnattr_setschedpolicy(&at, SCHED_FIFO)));
	posix_spawnattr_setschedparam(&at, &(struct sched_param){ .sched_priority = 1 });
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER)));
	run(0, exe, NULL, &at, cargv("sched", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void setschedparam_alone(void)
{
	posix_spawnattr_t at;

	caller_batch();
	posix_spawnattr_init(&at);
	posix_spawnattr_setschedpolicy(&at, SCHED_OTHER); /* not applied: no SETSCHEDULER */
	posix_spawnattr_setschedparam(&at, &(struct sched_param){ .sched_priority = 0 });
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDPARAM)));
	say("case priority 0");
	run(0, exe, NULL, &at, cargv("sched", NULL), env_min);
	say("case priority 5");
	posix_spawnattr_setschedparam(&at, &(struct sched_param){ .sched_priority = 5 });
	run(0, exe, NULL, &at, cargv("sched", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void resetids(void)
{
	posix_spawnattr_t at;

	if (getuid() != 0) {
		say("skip: needs root");
		return;
	}
	posix_spawnattr_init(&at);
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_RESETIDS)));
	if (setegid(65534) < 0 || seteuid(65534) < 0) {
		say("setup seteuid error=%s", ename(errno));
		return;
	}
	say("parent ruid=%d euid=%d rgid=%d egid=%d", (int)getuid(), (int)geteuid(),
	    (int)getgid(), (int)getegid());
	run(0, exe, NULL, &at, cargv("ids", NULL), env_min);
	if (seteuid(0) < 0 || setegid(0) < 0)
		say("restore error=%s", ename(errno));
	posix_spawnattr_destroy(&at);
}

static void usevfork_accepted(void)
{
	posix_spawnattr_t at;

	posix_spawnattr_init(&at);
	say("setflags=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_USEVFORK)));
	run(0, exe, NULL, &at, cargv("hello", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void setflags_invalid_einval(void)
{
	posix_spawnattr_t at;
	short fl = -1;

	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0);
	say("setflags(SETPGROUP)=%s", ename(posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP)));
	say("setflags(0x200)=%s", ename(posix_spawnattr_setflags(&at, 0x200)));
	say("setflags(0x8000)=%s", ename(posix_spawnattr_setflags(&at, (short)0x8000)));
	posix_spawnattr_getflags(&at, &fl);
	say("flags=%#x", (unsigned)(unsigned short)fl);
	run(0, exe, NULL, &at, cargv("pgid", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

static void setschedpolicy_invalid_einval(void)
{
	posix_spawnattr_t at;
	int pol = -1;

	caller_batch();
	posix_spawnattr_init(&at);
	say("setschedpolicy(OTHER)=%s", ename(posix_spawnattr_setschedpolicy(&at, SCHED_OTHER)));
	say("setschedpolicy(BATCH)=%s", ename(posix_spawnattr_setschedpolicy(&at, SCHED_BATCH)));
	say("setschedpolicy(IDLE)=%s", ename(posix_spawnattr_setschedpolicy(&at, SCHED_IDLE)));
	say("setschedpolicy(42)=%s", ename(posix_spawnattr_setschedpolicy(&at, 42)));
	posix_spawnattr_getschedpolicy(&at, &pol);
	say("policy=%s", policy_name(pol));
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER);
	run(0, exe, NULL, &at, cargv("sched", NULL), env_min);
	posix_spawnattr_destroy(&at);
}

/* ---- scenarios: arguments, environment, volume --------------------------- */

static void null_actions_and_attr(void)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;

	say("case null");
	run(0, exe, NULL, NULL, cargv("hello", NULL), env_min);
	say("case empty");
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	run(0, exe, &fa, &at, cargv("hello", NULL), env_min);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
}

static void envp_exact(void)
{
	char *two[] = { "A=1", "B=two words", NULL };
	char *none[] = { NULL };

	setenv("PARENT_ONLY", "x", 1);
	say("case two");
	run(0, exe, NULL, NULL, cargv("env", NULL), two);
	say("case empty");
	run(0, exe, NULL, NULL, cargv("env", NULL), none);
}

static void argv_exact(void)
{
	char *argv[] = { "zero", "child", base, "args", "", "with space", "x=y", NULL };
	run(0, exe, NULL, NULL, argv, env_min);
}

static void huge_action_list(void)
{
	posix_spawn_file_actions_t fa;
	int bad = 0;

	write_file("data", "hello\n", 0644);
	open_at("data", O_RDONLY | O_CLOEXEC, 3);
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 5000; i++) {
		bad |= posix_spawn_file_actions_adddup2(&fa, 3, 10);
		bad |= posix_spawn_file_actions_addclose(&fa, 10);
	}
	bad |= posix_spawn_file_actions_adddup2(&fa, 3, 11);
	say("10001 actions added=%s", yes(!bad));
	run(0, exe, &fa, NULL, cargv("fds", "read", "11", NULL), env_min);
	posix_spawn_file_actions_destroy(&fa);
	parent_fds();
	close_from(3);
}

/* ---- scenarios: pidfd_spawn and the cgroup attribute (glibc 2.39) ------- */

static void pidfd_report(int r, int pidfd)
{
	siginfo_t si = { 0 };
	char path[64], buf[512] = "";

	if (r) {
		say("spawn=%s", ename(r));
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	int cloexec = fcntl(pidfd, F_GETFD) & FD_CLOEXEC;
	int w = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 ? errno : 0;
	say("spawn=%s", ename(r)); /* after the wait: the child's lines come first */
	say("pidfd cloexec=%s", yes(cloexec));
	say("pidfd is_pidfd=%s", yes(strstr(buf, "\nPid:") != NULL));
	say("waitid=%s exited=%s status=%d", ename(w), yes(si.si_code == CLD_EXITED),
	    si.si_status);
	close(pidfd);
}

static void pidfd_spawn_scenario(void)
{
	int pidfd = -1;

	if (!impl.pidfd_spawn) {
		say("unsupported");
		return;
	}
	say("case success");
	int r = impl.pidfd_spawn(&pidfd, exe, NULL, NULL, cargv("exit", "7", NULL), env_min);
	pidfd_report(r, pidfd);
	no_children();
	say("case failure");
	pidfd = -4242;
	r = impl.pidfd_spawn(&pidfd, "nodir/missing", NULL, NULL, cargv("hello", NULL), env_min);
	say("spawn=%s pidfd=%s", ename(r), pidfd == -4242 ? "untouched" : "changed");
	no_children();
}

static void pidfd_spawnp_searches_path(void)
{
	int pidfd = -1;

	if (!impl.pidfd_spawnp) {
		say("unsupported");
		return;
	}
	mkdirs("empty", "bin");
	link_self("bin", "confchild");
	set_path("empty", "bin");
	int r = impl.pidfd_spawnp(&pidfd, "confchild", NULL, NULL, cargv("hello", "exit", "5", NULL),
				  env_min);
	pidfd_report(r, pidfd);
	no_children();
}

/* The first writable cgroup2 mount, from /proc/self/mountinfo. */
static int cgroup2_mount(char *buf, size_t len)
{
	char line[1024], mnt[512], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	while (!found && f && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (!strcmp(fstype, "cgroup2") && access(mnt, W_OK) == 0) {
			snprintf(buf, len, "%s", mnt);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static void setcgroup(void)
{
	posix_spawnattr_t at;
	char mnt[512], dir[700], name[64];
	int got = -1;

	if (!impl.setcgroup) {
		say("unsupported");
		return;
	}
	if (!cgroup2_mount(mnt, sizeof(mnt))) {
		say("skip: no writable cgroup2 mount");
		return;
	}
	snprintf(name, sizeof(name), "forkless-posix-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/%s", mnt, name);
	if (mkdir(dir, 0755) < 0) {
		say("skip: cannot create a cgroup (%s)", ename(errno));
		return;
	}
	int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	posix_spawnattr_init(&at);
	say("setcgroup_np=%s", ename(impl.setcgroup(&at, cg)));
	impl.getcgroup(&at, &got);
	say("getcgroup_np same=%s", yes(got == cg));
	say("setflags(SETCGROUP)=%s", ename(impl.setflags(&at, SETCGROUP)));
	run(0, exe, NULL, &at, cargv("cgroup-is", name, NULL), env_min);
	posix_spawnattr_destroy(&at);
	close(cg);
	if (rmdir(dir) < 0)
		say("rmdir cgroup error=%s", ename(errno));
}

/* A negative cgroup fd is EINVAL, as clone3 has it; one not open is EBADF. */
static void setcgroup_bad_fd(void)
{
	static const int fds[] = { -1, -100, 999 };
	posix_spawnattr_t at;

	if (!impl.setcgroup) {
		say("unsupported");
		return;
	}
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		posix_spawnattr_init(&at);
		say("case cgroup %d", fds[i]);
		say("setcgroup_np=%s", ename(impl.setcgroup(&at, fds[i])));
		say("setflags(SETCGROUP)=%s", ename(impl.setflags(&at, SETCGROUP)));
		run(0, exe, NULL, &at, cargv("hello", NULL), env_min);
		posix_spawnattr_destroy(&at);
	}
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct scenario {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
#define S(n) { #n, n }
	S(success_writes_pid),
	S(pid_untouched_on_failure),
	S(exec_enoent),
	S(exec_eacces),
	S(exec_enoexec),
	S(spawn_no_path_search),
	S(spawnp_searches_path),
	S(spawnp_slash_not_searched),
	S(spawnp_empty_path_element_is_cwd),
	S(spawnp_default_path),
	S(spawnp_enoexec_no_shell),
	S(spawnp_stops_at_enoexec),
	S(spawnp_eacces_remembered),
	S(spawnp_continues_after_eacces),
	S(spawnp_enoent_when_absent),
	S(old_spawn_runs_shell),
	S(old_spawnp_runs_shell),
	S(fd_inherit_non_cloexec),
	S(addclose_child_only),
	S(addclose_not_open_ok),
	S(add_bad_fd_ebadf),
	S(addfchdir_np_bad_fd),
	S(adddup2_onto_fd),
	S(adddup2_same_fd_clears_cloexec),
	S(adddup2_closed_source_ebadf),
	S(addopen_creates_with_mode),
	S(addopen_failure_returned),
	S(addopen_closes_fildes_first),
	S(addopen_oflag_cloexec),
	S(addchdir_np_relative_exec),
	S(addfchdir_np),
	S(actions_in_order),
	S(addchdir),
	S(addfchdir),
	S(addclosefrom_np),
	S(addtcsetpgrp_np_foreground),
	S(addtcsetpgrp_np_notty),
	S(setsigmask),
	S(sigmask_inherited),
	S(setsigdef_resets_ignored),
	S(ignored_stay_ignored),
	S(caught_reset_to_default),
	S(setpgroup_zero),
	S(setpgroup_existing),
	S(attr_failure_returned),
	{ "setsid", setsid_attr },
	S(setscheduler),
	S(setscheduler_fifo),
	S(setschedparam_alone),
	S(resetids),
	S(usevfork_accepted),
	S(setflags_invalid_einval),
	S(setschedpolicy_invalid_einval),
	S(null_actions_and_attr),
	S(envp_exact),
	S(argv_exact),
	S(huge_action_list),
	{ "pidfd_spawn", pidfd_spawn_scenario },
	S(pidfd_spawnp_searches_path),
	S(setcgroup),
	S(setcgroup_bad_fd),
#undef S
};

/* A known starting state whoever started us: no extra fds, no blocked or
 * ignored signals, umask 022, in BASE. */
static int setup(const char *dir)
{
	sigset_t none;

	close_from(3);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	umask(022);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	mkdir(dir, 0755);
	if (!realpath(dir, base) || chdir(base) < 0) {
		fprintf(stderr, "posix-conf: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "child"))
		return child_main(argc, argv);
	if (argc != 4 || (strcmp(argv[1], "libc") && strcmp(argv[1], "fl") &&
			  strcmp(argv[1], "old"))) {
		fprintf(stderr, "usage: posix-conf libc|old|fl SCENARIO BASE\n"
				"       posix-conf child BASE WHAT...\n");
		return 2;
	}
#ifndef FL__SPAWN_OLD
	if (!strcmp(argv[1], "old")) {
		say("unsupported");
		return 0;
	}
#endif
	pick_impl(argv[1]);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(scenarios[i].name, argv[2]))
			continue;
		if (setup(argv[3]) < 0)
			return 1;
		scenarios[i].fn();
		fflush(stdout);
		return 0;
	}
	fprintf(stderr, "posix-conf: no scenario %s\n", argv[2]);
	return 2;
}
