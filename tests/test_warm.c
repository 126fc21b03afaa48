/* SPDX-License-Identifier: MIT */
/*
 * test_warm.c - warm templates (FL_TEMPLATE_WARM): a corpus of real dynamic
 * programs gives the same stdout, stderr and exit status warm as cold; each
 * case that cannot be warm falls back to exec and says why; the warm server
 * lives as a server does (template close, caller exit, its death, a
 * privilege drop, fork).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"
#include "seccomp.h"

extern char **environ;

static int create(const char *path, uint64_t flags)
{
	if (sizeof(void *) == 4)
		SKIP("the programs here are 64-bit: a 32-bit build cannot run their templates");
	struct fl_error e = { -1, -1, -2 };
	struct fl_template_args a = { .flags = flags, .execfd = -1, .filename = path,
				      .config_fd = -1, .error = &e };
	int tfd = fl_spawn_template_create(&a, sizeof(a));
	if (tfd < 0)
		fl_test_fail(__FILE__, __LINE__, "create %s: %d (err %d index %d)", path, tfd,
			     e.err, e.index);
	return tfd;
}

/* Spawn from tfd in dir (NULL: here), stdout and stderr captured apart;
 * the exit status in *st. */
static void run(int tfd, char *const argv[], const char *dir, char **out, char **err, int *st)
{
	int o[2], e2[2];
	ASSERT_EQ(pipe2(o, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(e2, O_CLOEXEC), 0);
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = o[1], .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .fd = e2[1], .newfd = 2 },
		{ .type = FL_ACTION_CHDIR, .arg = (uintptr_t)dir },
	};
	struct fl_error fe = { -1, -1, -2 };
	struct fl_spawn_args a = { .argv = argv, .envp = environ, .actions = acts,
				   .nactions = dir ? 3 : 2, .error = &fe };
	int pid = fl_spawn_template_spawn(tfd, &a, sizeof(a));
	close(o[1]);
	close(e2[1]);
	if (pid <= 0)
		fl_test_fail(__FILE__, __LINE__, "spawn %s: %d (err %d stage %d)", argv[0], pid,
			     fe.err, fe.stage);
	/* stderr is small in every case here: read stdout first */
	*out = fl_test_slurp(o[0]);
	*err = fl_test_slurp(e2[0]);
	*st = fl_test_wait(pid);
}

/* The first of paths that exists, or NULL. */
static const char *which(const char *a, const char *b)
{
	if (access(a, X_OK) == 0)
		return a;
	return b && access(b, X_OK) == 0 ? b : NULL;
}

/* Cold and warm spawns of argv (program path) give the same results. */
static void same_warm_as_cold(const char *path, char *const argv[], const char *dir)
{
	int cold = create(path, 0), warm = create(path, FL_TEMPLATE_WARM);
	ASSERT_EQ(fl_spawn_template_warm(cold), FL_WARM_NOT_ASKED);
	if (fl_spawn_template_warm(warm) != FL_WARM_YES)
		fl_test_fail(__FILE__, __LINE__, "%s is cold: %s", path,
			     fl_strwarm(fl_spawn_template_warm(warm)));
	for (int round = 0; round < 2; round++) { /* the second from a used server */
		char *co, *ce, *wo, *we;
		int cs, ws;
		run(cold, argv, dir, &co, &ce, &cs);
		run(warm, argv, dir, &wo, &we, &ws);
		if (strcmp(co, wo) || strcmp(ce, we) || cs != ws)
			fl_test_fail(__FILE__, __LINE__,
				     "%s differs warm:\n--- cold (status %#x)\n%s%s\n--- warm (status %#x)\n%s%s",
				     argv[0], cs, co, ce, ws, wo, we);
		free(co);
		free(ce);
		free(wo);
		free(we);
	}
	close(cold);
	close(warm);
}

TEST_TIMEOUT(warm_corpus_gives_what_cold_gives, 240)
{
	char file[4200], sorted[4200];
	/* valgrind takes its preload out of a cold child's LD_PRELOAD (it
	 * sees the exec); a warm child gets the variable as sent */
	if (fl_test_valgrind())
		unsetenv("LD_PRELOAD");
	snprintf(file, sizeof(file), "%s/corpus.txt", fl_test_tmpdir());
	FILE *f = fopen(file, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "pear\napple\nfig\n");
	fclose(f);
	snprintf(sorted, sizeof(sorted), "%s", file);
	const char *src = fl_test_source_tree();
	const char *py =
		"import os, signal, sys\n"
		"print(sys.argv, sys.executable, os.readlink('/proc/self/exe'))\n"
		"print(os.getppid(), sorted(os.listdir('/proc/self/fd')))\n"
		"print(open('/proc/self/cmdline').read().split('\\0'))\n"
		"print(sorted(os.environ.items()) == sorted(dict(l.split('=', 1) for l in "
		"open('/proc/self/environ').read().split('\\0') if '=' in l).items()))\n"
		"print([s for s in range(1, 65) if s not in (9, 19, 32, 33) and "
		"signal.getsignal(s) != signal.SIG_DFL])\n"
		"print(signal.pthread_sigmask(signal.SIG_BLOCK, []), os.umask(0), os.getcwd())\n"
		"print(open('/proc/self/comm').read(), os.getpgrp() == os.getpgid(os.getppid()))\n"
		"import json, hashlib; print(hashlib.sha256(b'x').hexdigest()[:8], json.dumps([1]))\n";
	struct {
		const char *a, *b;
		char *argv[8];
		const char *dir;
	} corpus[] = {
		{ "/usr/bin/true", "/bin/true", { "true", NULL }, NULL },
		{ "/usr/bin/false", "/bin/false", { "false", NULL }, NULL },
		{ "/usr/bin/ls", "/bin/ls", { "ls", "-la", "--time-style=+", "/", NULL }, NULL },
		{ "/usr/bin/ls", "/bin/ls", { "ls", "-l", "/proc/self/exe", "/nonexistent", NULL }, NULL },
		{ "/usr/bin/cat", "/bin/cat", { "cat", file, NULL }, NULL },
		{ "/usr/bin/sort", "/bin/sort", { "sort", sorted, NULL }, NULL },
		{ "/usr/bin/env", "/bin/env", { "env", NULL }, NULL },
		{ "/usr/bin/grep", "/bin/grep", { "grep", "-E", "^(Sig(Blk|Ign|Cgt)|Umask|Groups|Uid|Gid|Cap|NoNewPrivs|Seccomp)", "/proc/self/status", NULL }, NULL },
		{ "/usr/bin/git", NULL, { "git", "rev-parse", "HEAD", NULL }, src },
		{ "/usr/bin/git", NULL, { "git", "status", "--porcelain", NULL }, src },
		{ "/usr/bin/git", NULL, { "git", "log", "-3", "--stat", NULL }, src },
		{ "/usr/bin/python3", NULL, { "python3", "-c", (char *)py, "arg1", NULL }, NULL },
		{ "/usr/bin/python3", NULL, { "python3", "-c", "pass", NULL }, NULL },
		{ "/usr/bin/gcc", "/usr/bin/cc", { "gcc", "--version", NULL }, NULL },
		{ "/usr/bin/make", NULL, { "make", "--version", NULL }, NULL },
		{ "/usr/bin/make", NULL, { "make", "-n", "--no-print-directory", "-C", (char *)src, "all", NULL }, NULL },
	};
	int ran = 0;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		const char *path = which(corpus[i].a, corpus[i].b);
		if (!path) {
			fprintf(stderr, "  (%s: not installed)\n", corpus[i].a);
			continue;
		}
		same_warm_as_cold(path, corpus[i].argv, corpus[i].dir);
		ran++;
	}
	ASSERT_GE(ran, 8); /* coreutils at least */
}

/* ---- refusals: each falls back to exec, and says why -------------------- */

/* Compile C source text into exe with cc (no library): 0, or skip. */
static void compile(const char *text, const char *exe, const char *flag)
{
	char src[4200], *out = NULL;
	snprintf(src, sizeof(src), "%s.c", exe);
	FILE *f = fopen(src, "w");
	ASSERT_TRUE(f != NULL);
	fputs(text, f);
	fclose(f);
	char *argv[] = { "cc", "-o", (char *)exe, src, "-lpthread", (char *)flag, NULL };
	int st = fl_test_run_capture("cc", argv, &out);
	if (st == -ENOENT)
		SKIP("no cc");
	if (st != 0)
		fl_test_fail(__FILE__, __LINE__, "cc: %s", out);
	free(out);
}

static void copy(const char *from, const char *to, mode_t mode)
{
	char *argv[] = { "cp", (char *)from, (char *)to, NULL }, *out = NULL;
	ASSERT_EQ(fl_test_run_capture("cp", argv, &out), 0);
	free(out);
	ASSERT_EQ(chmod(to, mode), 0);
}

/* path's template asked warm is cold for want, and runs by exec:
 * output "ok\n" (or expect), exit 0. */
static void cold_because(const char *path, int want, const char *expect)
{
	int tfd = create(path, FL_TEMPLATE_WARM);
	int why = fl_spawn_template_warm(tfd);
	if (why != want)
		fl_test_fail(__FILE__, __LINE__, "%s: %d (%s), want %d (%s)", path, why,
			     fl_strwarm(why), want, fl_strwarm(want));
	char *argv[] = { "x", NULL }, *o, *e;
	int st;
	run(tfd, argv, NULL, &o, &e, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(o, expect ? expect : "ok\n");
	free(o);
	free(e);
	ASSERT_EQ(fl_spawn_template_warm(tfd), want); /* it stays cold */
	close(tfd);
}

static const char *tmp(const char *name)
{
	static char b[4][4200];
	static int k;
	char *p = b[k++ & 3];
	snprintf(p, sizeof(b[0]), "%s/%s", fl_test_tmpdir(), name);
	return p;
}

TEST(warm_refuses_static_script_setid_and_fcaps)
{
	char ts[4200];
	snprintf(ts, sizeof(ts), "%s/true-static", fl_test_builddir());
	cold_because(ts, FL_WARM_STATIC, "");
	const char *sh = tmp("script");
	FILE *f = fopen(sh, "w");
	fputs("#!/bin/sh\necho ok\n", f);
	fclose(f);
	chmod(sh, 0755);
	cold_because(sh, FL_WARM_SCRIPT, NULL);
	const char *echo = which("/usr/bin/echo", "/bin/echo");
	const char *suid = tmp("echo-suid");
	copy(echo, suid, 04755);
	cold_because(suid, FL_WARM_SETID, "\n");
	const char *sgid = tmp("echo-sgid");
	copy(echo, sgid, 02755);
	cold_because(sgid, FL_WARM_SETID, "\n");
	/* a file capability (vfs_cap_data revision 2: CAP_NET_RAW permitted) */
	const char *cap = tmp("echo-cap");
	copy(echo, cap, 0755);
	uint32_t data[5] = { 0x02000000, 1u << 13, 0, 0, 0 };
	if (setxattr(cap, "security.capability", data, sizeof(data), 0) < 0)
		fprintf(stderr, "  (no file capabilities here: %s)\n", strerror(errno));
	else
		cold_because(cap, FL_WARM_FCAPS, "\n");
}

TEST(warm_refuses_another_dynamic_linker)
{
#if defined(__x86_64__)
	/* /usr/bin/echo with its PT_INTERP pointed at a link of glibc's
	 * ld.so under another name (same length) */
	static const char real[] = "/lib64/ld-linux-x86-64.so.2";
	char link[] = "/tmp/ld-FLWARM-x86-64.so.2";
	ASSERT_EQ(strlen(link), strlen(real) - 1);
	unlink(link);
	ASSERT_EQ(symlink(real, link), 0);
	const char *exe = tmp("echo-interp");
	copy(which("/usr/bin/echo", "/bin/echo"), exe, 0755);
	size_t len;
	int fd = open(exe, O_RDONLY);
	char *b = fl_test_slurp_len(fd, &len);
	char *at = memmem(b, len, real, sizeof(real));
	ASSERT_TRUE(at != NULL);
	memset(at, 0, sizeof(real));
	memcpy(at, link, sizeof(link));
	fd = open(exe, O_WRONLY | O_TRUNC);
	ASSERT_EQ(write(fd, b, len), (ssize_t)len);
	close(fd);
	free(b);
	cold_because(exe, FL_WARM_INTERP, "\n");
	unlink(link);
#else
	SKIP("x86-64 only (the dynamic linker's path)");
#endif
}

/* Compile a library with constructor ctor and a program using it. */
static void program_with_library(const char *name, const char *ctor)
{
	char lib[8192], libsrc[8192], dir[4096], rpath[8192], *out = NULL;
	snprintf(dir, sizeof(dir), "%s", fl_test_tmpdir());
	snprintf(lib, sizeof(lib), "%s/lib%s.so", dir, name);
	snprintf(libsrc, sizeof(libsrc), "%s/lib%s.c", dir, name);
	FILE *f = fopen(libsrc, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "#include <fcntl.h>\n#include <pthread.h>\n#include <signal.h>\n"
		   "#include <unistd.h>\n%s\nint fl_lib_%s(void) { return 0; }\n", ctor, name);
	fclose(f);
	char *cc[] = { "cc", "-shared", "-fPIC", "-o", lib, libsrc, "-lpthread", NULL };
	int st = fl_test_run_capture("cc", cc, &out);
	if (st == -ENOENT)
		SKIP("no cc");
	if (st != 0)
		fl_test_fail(__FILE__, __LINE__, "cc: %s", out);
	free(out);
	char text[512];
	snprintf(text, sizeof(text), "#include <stdio.h>\nint fl_lib_%s(void);\n"
		 "int main(void) { puts(\"ok\"); return fl_lib_%s(); }\n", name, name);
	snprintf(rpath, sizeof(rpath), "-Wl,-rpath,%s", dir);

	char src[8192];
	snprintf(src, sizeof(src), "%s/%s.c", dir, name);
	f = fopen(src, "w");
	fputs(text, f);
	fclose(f);
	char *cc2[] = { "cc", "-o", (char *)tmp(name), src, lib, rpath, NULL };
	st = fl_test_run_capture("cc", cc2, &out);
	if (st != 0)
		fl_test_fail(__FILE__, __LINE__, "cc: %s", out);
	free(out);
}

TEST_TIMEOUT(warm_refuses_what_a_program_does_before_main, 60)
{
	struct {
		const char *name, *ctor;
		int want;
	} c[] = {
		{ "threads", "static void *idle(void *a) { pause(); return a; }\n"
			     "__attribute__((constructor)) static void c(void) "
			     "{ pthread_t t; pthread_create(&t, 0, idle, 0); }", FL_WARM_THREADS },
		{ "fds", "__attribute__((constructor)) static void c(void) "
			 "{ open(\"/dev/null\", O_RDONLY); }", FL_WARM_FDS },
		{ "signals", "static void h(int s) { (void)s; }\n"
			     "__attribute__((constructor)) static void c(void) "
			     "{ signal(SIGUSR1, h); }", FL_WARM_SIGNALS },
		{ "plain", "", FL_WARM_YES },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		program_with_library(c[i].name, c[i].ctor);
		cold_because(tmp(c[i].name), c[i].want, NULL);
	}
	/* its own _start, never __libc_start_main: refused before it runs */
	const char *own = tmp("own-start");
	compile("#include <unistd.h>\n"
		"void _start(void) { write(1, \"ok\\n\", 3); _exit(0); }\n", own, "-nostartfiles");
	cold_because(own, FL_WARM_NO_START_MAIN, NULL);
}

TEST(warm_query_and_texts)
{
	int tfd = create("/bin/sh", 0);
	ASSERT_EQ(fl_spawn_template_warm(tfd), FL_WARM_NOT_ASKED);
	close(tfd);
	ASSERT_EQ(fl_spawn_template_warm(tfd), -EBADF);
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(fl_spawn_template_warm(p[0]), -EINVAL);
	close(p[0]);
	close(p[1]);
	for (int r = FL_WARM_YES; r <= FL_WARM_START; r++)
		ASSERT_TRUE(strcmp(fl_strwarm(r), "unknown") != 0);
	ASSERT_STREQ(fl_strwarm(-1), "unknown");
	ASSERT_STREQ(fl_strwarm(999), "unknown");
	ASSERT_STREQ(fl_strwarm(FL_WARM_YES), "warm");
}

/* ---- the server's life ------------------------------------------------------ */

/* The warm server among our children (its environ area still names the
 * agent's variable; its children's are their own): its pid, or 0. */
static pid_t warm_server(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0, me = getpid();
	while (d && (de = readdir(d))) {
		char path[300], buf[8192];
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
		if (f >= 0)
			close(f);
		if (n <= 0)
			continue;
		buf[n] = 0;
		char *p = strrchr(buf, ')');
		int ppid = 0;
		char state = 0;
		if (!p || sscanf(p + 2, "%c %d", &state, &ppid) != 2 || ppid != me || state == 'Z')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/environ", pid);
		f = open(path, O_RDONLY | O_CLOEXEC);
		n = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
		if (f >= 0)
			close(f);
		if (n > 0 && memmem(buf, (size_t)n, "FORKLESS_WARM_FD=3", 18))
			found = pid;
	}
	if (d)
		closedir(d);
	return found;
}

/* Whether pid is gone (or a zombie) within ms. */
static bool gone_within(pid_t pid, int ms)
{
	for (int i = 0; i <= ms; i++) {
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			return true;
		ssize_t n = read(f, buf, sizeof(buf) - 1);
		close(f);
		buf[n > 0 ? n : 0] = 0;
		char *p = strrchr(buf, ')');
		if (!p || p[2] == 'Z' || p[2] == 'X')
			return true;
		usleep(1000);
	}
	return false;
}

static void echo_ok(int tfd)
{
	char *argv[] = { "echo", "ok", NULL }, *o, *e;
	int st;
	run(tfd, argv, NULL, &o, &e, &st);
	ASSERT_EQ(st, 0);
	ASSERT_STREQ(o, "ok\n");
	free(o);
	free(e);
}

static const char *echo_path(void)
{
	return which("/usr/bin/echo", "/bin/echo");
}

TEST(warm_server_ends_with_its_template_and_restarts_when_killed)
{
	int tfd = create(echo_path(), FL_TEMPLATE_WARM);
	ASSERT_EQ(fl_spawn_template_warm(tfd), FL_WARM_YES);
	pid_t s1 = warm_server();
	ASSERT_GT(s1, 0);
	echo_ok(tfd);
	ASSERT_EQ(warm_server(), s1); /* the same one serves */
	ASSERT_EQ(kill(s1, SIGKILL), 0);
	ASSERT_TRUE(gone_within(s1, 2000));
	usleep(20000); /* the watcher reaps it */
	echo_ok(tfd);  /* a new one */
	pid_t s2 = warm_server();
	ASSERT_GT(s2, 0);
	ASSERT_NE(s2, s1);
	ASSERT_EQ(fl_spawn_template_warm(tfd), FL_WARM_YES);
	ASSERT_EQ(fl_spawn_template_destroy(tfd), 0);
	ASSERT_TRUE(gone_within(s2, 1000)); /* ended and reaped with the template */
	ASSERT_EQ(warm_server(), 0);
	ASSERT_EQ(fl_spawn_template_destroy(tfd), -EBADF);
	/* a plain close: it goes when the library next looks at its handles */
	tfd = create(echo_path(), FL_TEMPLATE_WARM);
	pid_t s3 = warm_server();
	ASSERT_GT(s3, 0);
	close(tfd);
	int other = create(echo_path(), 0);
	ASSERT_TRUE(gone_within(s3, 1000));
	close(other);
}

/* A process exits, or execs, holding a warm template: its server goes. */
HELPER(warm_holder)
{
	int tfd = create(echo_path(), FL_TEMPLATE_WARM);
	if (fl_spawn_template_warm(tfd) != FL_WARM_YES)
		return 2;
	printf("%d\n", (int)warm_server());
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "exec")) {
		execl("/bin/sleep", "sleep", "0.5", (char *)NULL);
		return 3;
	}
	return 0;
}

TEST(warm_server_ends_with_its_callers_exit_or_exec)
{
	ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	for (int k = 0; k < 2; k++) {
		char *args[] = { k ? "exec" : "exit", NULL };
		char *out = fl_test_helper_output("warm_holder", args);
		pid_t s = atoi(out);
		free(out);
		ASSERT_GT(s, 0);
		/* gone: ended at exit by the library, or at EOF after the
		 * exec (then adopted by us, the subreaper) */
		ASSERT_TRUE(gone_within(s, 2000));
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(warm_server_goes_at_a_privilege_drop_and_never_serves_the_new_ids)
{
	pid_t child = fork(); /* the test's own fork: the drop is the child's */
	ASSERT_GE(child, 0);
	if (child == 0) {
		int tfd = create(echo_path(), FL_TEMPLATE_WARM);
		pid_t s = warm_server();
		if (fl_spawn_template_warm(tfd) != FL_WARM_YES || s <= 0)
			_exit(2);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		if (!gone_within(s, 100))
			_exit(4); /* the watcher let it go at the drop */
		char *argv[] = { "echo", "x", NULL };
		struct fl_error e;
		struct fl_spawn_args a = { .argv = argv, .error = &e };
		int r = fl_spawn_template_spawn(tfd, &a, sizeof(a));
		if (r != -EACCES || e.index != FL_TCHECK_CREDS)
			_exit(5);
		if (warm_server() != 0)
			_exit(6); /* none started for the new ids */
		_exit(0);
	}
	int st = fl_test_wait(child);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* A fork child cannot use the parent's template (-EBADFD, as every handle)
 * and leaves its server alone; a template of its own gets its own. */
TEST(warm_fork_child_gets_a_server_of_its_own)
{
	int tfd = create(echo_path(), FL_TEMPLATE_WARM);
	pid_t s = warm_server();
	ASSERT_GT(s, 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		char *argv[] = { "echo", "ok", NULL };
		struct fl_spawn_args a = { .argv = argv };
		if (fl_spawn_template_spawn(tfd, &a, sizeof(a)) != -EBADFD)
			_exit(2);
		/* (tfd stays: its template is the parent's, never freed here) */
		struct fl_template_args ta = { .flags = FL_TEMPLATE_WARM, .execfd = -1,
					       .filename = echo_path(), .config_fd = -1 };
		int mine = fl_spawn_template_create(&ta, sizeof(ta));
		int pid = mine >= 0 ? fl_spawn_template_spawn(mine, &a, sizeof(a)) : -1;
		int st = -1;
		if (pid > 0)
			waitpid(pid, &st, 0);
		pid_t ms = warm_server();
		_exit(pid > 0 && st == 0 && ms > 0 && ms != s ? 0 : 1);
	}
	int st = fl_test_wait(child);
	ASSERT_EQ(st, 0);
	ASSERT_EQ(warm_server(), s); /* ours untouched */
	echo_ok(tfd);
	ASSERT_EQ(fl_spawn_template_destroy(tfd), 0);
	ASSERT_TRUE(gone_within(s, 1000));
}

static int threads_tfd;

static void *spawner(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++) {
		char *argv[] = { "true", NULL };
		struct fl_spawn_args a = { .argv = argv };
		int pid = fl_spawn_template_spawn(threads_tfd, &a, sizeof(a));
		if (pid <= 0 || fl_test_wait(pid) != 0)
			return (void *)1;
	}
	return NULL;
}

TEST_TIMEOUT(warm_4_threads_x_100_spawns, 120)
{
	threads_tfd = create(which("/usr/bin/true", "/bin/true"), FL_TEMPLATE_WARM);
	ASSERT_EQ(fl_spawn_template_warm(threads_tfd), FL_WARM_YES);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, spawner, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		ASSERT_TRUE(r == NULL);
	}
	close(threads_tfd);
}

/* Whether a spawn from tfd of a program that prints its own maps (argv)
 * with envp ran in a copy of the warm server: the agent is mapped there. */
static bool served_warm(int tfd, char *const argv[], char *const envp[])
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action act = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_spawn_args a = { .argv = argv, .envp = envp, .actions = &act, .nactions = 1 };
	int pid = fl_spawn_template_spawn(tfd, &a, sizeof(a));
	close(p[1]);
	ASSERT_GT(pid, 0);
	char *out = fl_test_slurp(p[0]);
	ASSERT_EQ(fl_test_wait(pid), 0);
	bool warm = strstr(out, "libforkless-warm.so") != NULL;
	free(out);
	return warm;
}

/* The corpus compares outputs, which a cold spawn gives too: here a few of
 * its programs show they ran in a copy of the server (and a cold
 * template's children that they did not). */
TEST(warm_spawns_are_served_by_the_warm_server)
{
	char *cat[] = { "cat", "/proc/self/maps", NULL };
	char *py[] = { "python3", "-c", "print(open('/proc/self/maps').read())", NULL };
	const char *path[] = { which("/usr/bin/cat", "/bin/cat"), which("/usr/bin/python3", NULL) };
	char *const *argv[] = { cat, py };
	for (int i = 0; i < 2; i++) {
		if (!path[i])
			continue;
		int warm = create(path[i], FL_TEMPLATE_WARM), cold = create(path[i], 0);
		ASSERT_TRUE(served_warm(warm, argv[i], environ));
		ASSERT_TRUE(served_warm(warm, argv[i], environ)); /* and again */
		ASSERT_TRUE(!served_warm(cold, argv[i], environ));
		ASSERT_EQ(fl_spawn_template_destroy(warm), 0);
		close(cold);
	}
}

/* The loader's variables of a spawn differ from the start's: that spawn
 * runs by exec (it sees what it asked for, and no agent). */
TEST(warm_spawn_with_other_loader_variables_is_cold)
{
	int tfd = create(which("/usr/bin/cat", "/bin/cat"), FL_TEMPLATE_WARM);
	ASSERT_EQ(fl_spawn_template_warm(tfd), FL_WARM_YES);
	char *argv[] = { "cat", "/proc/self/maps", NULL };
	ASSERT_TRUE(served_warm(tfd, argv, environ));
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + 2, sizeof(*envp));
	memcpy(envp, environ, n * sizeof(*envp));
	envp[n] = "LD_BIND_NOW=1";
	ASSERT_TRUE(!served_warm(tfd, argv, envp));
	envp[n] = "MALLOC_ARENA_MAX=1";
	ASSERT_TRUE(!served_warm(tfd, argv, envp));
	envp[n] = "FORKLESS_TEST_OTHER=1"; /* not the loader's: still warm */
	ASSERT_TRUE(served_warm(tfd, argv, envp));
	free(envp);
	ASSERT_EQ(fl_spawn_template_destroy(tfd), 0);
}

/* With classic inheritance, what an exec would close (FD_CLOEXEC) is
 * closed in a warm child too; the rest stays, as cold. */
TEST(warm_inherited_fds_are_what_an_exec_leaves)
{
	const char *ls = which("/usr/bin/ls", "/bin/ls");
	int cold = create(ls, FL_TEMPLATE_INHERIT_FDS), warm = create(ls, FL_TEMPLATE_WARM |
								     FL_TEMPLATE_INHERIT_FDS);
	ASSERT_EQ(fl_spawn_template_warm(warm), FL_WARM_YES);
	int kept = open("/dev/null", O_RDONLY), gone = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(kept, 0);
	ASSERT_GE(gone, 0);
	char *argv[] = { "ls", "/proc/self/fd", NULL }, *co, *ce, *wo, *we;
	int cs, ws;
	run(cold, argv, NULL, &co, &ce, &cs);
	run(warm, argv, NULL, &wo, &we, &ws);
	ASSERT_EQ(cs, 0);
	ASSERT_EQ(ws, 0);
	ASSERT_STREQ(wo, co);
	char want[32];
	snprintf(want, sizeof(want), "\n%d\n", kept);
	ASSERT_TRUE(strstr(wo, want) != NULL);
	snprintf(want, sizeof(want), "\n%d\n", gone);
	ASSERT_TRUE(strstr(wo, want) == NULL);
	free(co);
	free(ce);
	free(wo);
	free(we);
	close(kept);
	close(gone);
	close(cold);
	ASSERT_EQ(fl_spawn_template_destroy(warm), 0);
}

/* ---- what differs from a cold child, measured ------------------------------ */

#if defined(__x86_64__)
/* A program that prints its canary, AT_RANDOM's two words, and where its
 * stack, heap and libc are. */
static const char *whoami(void)
{
	const char *exe = tmp("whoami");
	compile("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
		"#include <sys/auxv.h>\n"
		"int main(void) {\n"
		"  unsigned long c, r[2]; int local;\n"
		"  __asm__(\"movq %%fs:0x28, %0\" : \"=r\"(c));\n"
		"  memcpy(r, (void *)getauxval(AT_RANDOM), 16);\n"
		"  printf(\"%lx %lx %lx %p %p %p\\n\", c, r[0] & ~0xfful, r[1], (void *)&local,\n"
		"         malloc(16), (void *)printf);\n"
		"  return 0; }\n", exe, NULL);
	return exe;
}

/* Where libc's printf is in a child run from builder handle fd. */
static unsigned long printf_at(int fd)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	char *argv[] = { "whoami", NULL };
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_spawn_args sa = { .argv = argv, .actions = &a, .nactions = 1 };
	int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	ASSERT_GT(pid, 0);
	char *out = fl_test_slurp(p[0]), *last = strrchr(out, ' ');
	ASSERT_EQ(fl_pidfd_wait(fd, NULL, 0), pid);
	close(fd);
	ASSERT_TRUE(last != NULL);
	unsigned long v = strtoul(last + 1, NULL, 16);
	free(out);
	return v;
}

/* The builder key "template" with a warm template runs it warm (children
 * share the server's layout); "warm" false runs it by exec. */
TEST(warm_builder_key_runs_warm_or_cold)
{
	const char *exe = whoami();
	int tfd = create(exe, FL_TEMPLATE_WARM);
	unsigned long at[4];
	for (int i = 0; i < 4; i++) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FD, "template", NULL, tfd), 0);
		if (i >= 2)
			ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "warm", "false", 0), 0);
		at[i] = printf_at(fd);
	}
	ASSERT_EQ(at[0], at[1]); /* the warm server's */
	ASSERT_NE(at[2], at[3]); /* each exec its own */
	ASSERT_EQ(fl_spawn_template_destroy(tfd), 0);
}
#endif

/*
 * Two warm children and two cold ones of a program that prints its stack
 * canary, the two words of AT_RANDOM (the canary's source and the pointer
 * guard's), and where its stack, heap and libc are.  Cold children differ
 * in all of it (ASLR, a fresh AT_RANDOM each); warm ones draw a new canary
 * (and its AT_RANDOM word) but share the server's layout and pointer guard,
 * as zygote children do: the documented differences.
 */
TEST(warm_children_differ_from_cold_only_as_documented)
{
#if defined(__x86_64__)
	const char *exe = whoami();
	int cold = create(exe, 0), warm = create(exe, FL_TEMPLATE_WARM);
	ASSERT_EQ(fl_spawn_template_warm(warm), FL_WARM_YES);
	char *argv[] = { "whoami", NULL };
	unsigned long v[4][6];
	for (int i = 0; i < 4; i++) {
		char *o, *e;
		int st;
		run(i < 2 ? cold : warm, argv, NULL, &o, &e, &st);
		ASSERT_EQ(st, 0);
		ASSERT_EQ(sscanf(o, "%lx %lx %lx %lx %lx %lx", &v[i][0], &v[i][1], &v[i][2], &v[i][3],
				 &v[i][4], &v[i][5]), 6);
		ASSERT_EQ(v[i][0], v[i][1]); /* the canary is AT_RANDOM's first word */
		free(o);
		free(e);
	}
	for (int k = 0; k < 6; k++)
		ASSERT_NE(v[0][k], v[1][k]);   /* cold: all of it new */
	ASSERT_NE(v[2][0], v[3][0]);           /* warm: a new canary */
	for (int k = 2; k < 6; k++)            /* warm: the server's guard and layout */
		if (k != 4)                    /* (where malloc lands follows its heap's use) */
			ASSERT_EQ(v[2][k], v[3][k]);
	ASSERT_EQ(v[2][4] >> 24, v[3][4] >> 24); /* the heap is the server's */
	close(cold);
	ASSERT_EQ(fl_spawn_template_destroy(warm), 0);
#else
	SKIP("x86-64: the canary's place (fs:0x28)");
#endif
}

/* clone3 refused (as container profiles do): the warm server copies
 * itself with clone(2), and the children are the same. */
TEST(warm_spawns_with_clone3_refused)
{
	if (fl_test_valgrind())
		SKIP("no seccomp filters under valgrind");
	struct fl_sc_rule r[] = { { SYS_clone3, ENOSYS, 0, 0 } };
	fl_sc_install(r, 1); /* the servers started from here inherit it */
	int tfd = create(echo_path(), FL_TEMPLATE_WARM);
	ASSERT_EQ(fl_spawn_template_warm(tfd), FL_WARM_YES);
	for (int i = 0; i < 3; i++)
		echo_ok(tfd);
	char *argv[] = { "env", NULL }, *o, *e;
	int st;
	int env = create(which("/usr/bin/env", "/bin/env"), FL_TEMPLATE_WARM);
	run(env, argv, NULL, &o, &e, &st);
	ASSERT_EQ(st, 0);
	ASSERT_TRUE(strstr(o, "FORKLESS_WARM_FD") == NULL && strstr(o, "LD_PRELOAD=") == NULL);
	free(o);
	free(e);
	ASSERT_EQ(fl_spawn_template_destroy(env), 0);
	ASSERT_EQ(fl_spawn_template_destroy(tfd), 0);
}
