/* SPDX-License-Identifier: MIT */
/*
 * main.c - the harness: registry, per-test process with timeout, TAP output,
 * leak checks (fds and children) after each test, helper dispatch.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

#define EXIT_SKIP 77

static struct fl_test *tests, **tests_tail = &tests;
static struct fl_helper *helpers;
const char *fl_test_exe;
static char exe_buf[4096];
static char tmpdir[256];

void fl_test_register(struct fl_test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

void fl_helper_register(struct fl_helper *h)
{
	h->next = helpers;
	helpers = h;
}

void fl_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "# %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	_exit(1);
}

void fl_test_skip(const char *why)
{
	fprintf(stderr, "# skip: %s\n", why);
	_exit(EXIT_SKIP);
}

const char *fl_test_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/forkless-test-%d", getpid());
		mkdir(tmpdir, 0755);
	}
	return tmpdir;
}

int fl_test_valgrind(void)
{
	return getenv("FORKLESS_TEST_VALGRIND") != NULL;
}

static char builddir[4096];

static void builddir_init(void)
{
	/* the test binary is <builddir>/tests/forkless-test */
	snprintf(builddir, sizeof(builddir), "%s", fl_test_exe);
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(builddir, '/');
		if (slash)
			*slash = 0;
	}
}

/* Once, whichever threads ask first (a test's threads may race to). */
const char *fl_test_builddir(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, builddir_init);
	return builddir;
}

char **fl_test_helper_argv(const char *name, char *const args[])
{
	static char *argv[64];
	int n = 0;

	argv[n++] = (char *)fl_test_exe;
	argv[n++] = "--helper";
	argv[n++] = (char *)name;
	for (int i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return argv;
}

char *fl_test_slurp_len(int fd, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	while ((n = read(fd, buf + len, cap - len - 1)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fl_test_fail(__FILE__, __LINE__, "read fd %d: %s", fd, strerror(errno));
		}
		len += (size_t)n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = 0;
	close(fd);
	if (ret_len)
		*ret_len = len;
	return buf;
}

char *fl_test_helper_output(const char *name, char *const args[])
{
	int out;
	pid_t pid = fl_test_helper(name, args, &out);
	char *s = fl_test_slurp(out);
	int st = fl_test_wait(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fl_test_fail(__FILE__, __LINE__, "helper %s: status %#x, said: %s", name, st, s);
	return s;
}

char *fl_test_slurp(int fd)
{
	return fl_test_slurp_len(fd, NULL);
}

int fl_test_wait(pid_t pid)
{
	int st = -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

pid_t fl_test_helper(const char *name, char *const args[], int *ret_out)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .newfd = 1 };
	struct fl_error e;
	int p[2];
	char msg[256];

	if (pipe2(p, O_CLOEXEC) < 0)
		fl_test_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
	a.fd = p[1];
	pid_t pid = fl_spawn(fl_test_exe, fl_test_helper_argv(name, args), NULL, &a, 1, &e);
	close(p[1]);
	if (pid < 0)
		fl_test_fail(__FILE__, __LINE__, "spawn helper %s: %s", name,
			     fl_strerror_r(&e, msg, sizeof(msg)));
	*ret_out = p[0];
	return pid;
}

char *fl_test_run_handle(int fd, const char *name, char *const args[], int *ret_status)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .newfd = 1 };
	struct fl_error e;
	struct fl_spawn_args sa = { .actions = &a, .nactions = 1, .error = &e };
	char msg[256];
	int p[2], st = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		fl_test_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
	a.fd = p[1];
	sa.argv = fl_test_helper_argv(name, args);
	sa.path = fl_test_exe;
	int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		fl_test_fail(__FILE__, __LINE__, "run helper %s: %s", name,
			     fl_strerror_r(&e, msg, sizeof(msg)));
	}
	char *out = fl_test_slurp(p[0]);
	if (fl_pidfd_wait(fd, &st, 0) != pid)
		fl_test_fail(__FILE__, __LINE__, "fl_pidfd_wait failed");
	close(fd);
	*ret_status = st;
	return out;
}

/* ---- compiling and running programs ------------------------------------ */

/* Run file (searched in PATH) with stdout and stderr into a pipe; returns
 * the wait status with the output in *out, or a negative errno from the spawn. */
int fl_test_run_capture(const char *file, char *const argv[], char **out)
{
	struct fl_action a[2] = {
		{ .type = FL_ACTION_DUP2, .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .newfd = 2 },
	};
	int p[2];

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	a[0].fd = a[1].fd = p[1];
	pid_t pid = fl_spawn(file, argv, NULL, a, 2, NULL);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return pid;
	}
	*out = fl_test_slurp(p[0]);
	return fl_test_wait(pid);
}

/* Whether a shared object whose name contains lib is mapped here. */
static int mapped(const char *lib)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, lib) != NULL;
	fclose(f);
	return found;
}

/* The source tree: the parent of the build directory; skips without one. */
const char *fl_test_source_tree(void)
{
	static char dir[4096];

	snprintf(dir, sizeof(dir), "%s", fl_test_builddir());
	char *slash = strrchr(dir, '/');
	if (!slash)
		SKIP("no source tree above the build directory");
	*slash = 0;
	return dir;
}

/* Compile src into exe with the first C compiler found; skips without one. */
void fl_test_compile(const char *src, const char *exe)
{
	char inc[4200], lib[4200], *argv[16], *out = NULL;
	int n = 0, st = -ENOENT;
	static const char *const compilers[] = { "cc", "gcc", "clang" };

	snprintf(inc, sizeof(inc), "-I%s/include", fl_test_source_tree());
	snprintf(lib, sizeof(lib), "%s/libforkless.a", fl_test_builddir());
	argv[n++] = "cc";
	argv[n++] = "-Wall";
	argv[n++] = "-Werror";
#if defined(__i386__)
	argv[n++] = "-m32"; /* the library under test is 32-bit (make M32=1) */
#endif
	argv[n++] = inc;
	if (mapped("libasan.so"))
		argv[n++] = "-fsanitize=address";
	if (mapped("libubsan.so"))
		argv[n++] = "-fsanitize=undefined";
	argv[n++] = "-o";
	argv[n++] = (char *)exe;
	argv[n++] = (char *)src;
	argv[n++] = lib;
	argv[n++] = "-lpthread";
	argv[n] = NULL;
	for (size_t i = 0; i < sizeof(compilers) / sizeof(compilers[0]) && st == -ENOENT; i++) {
		argv[0] = (char *)compilers[i];
		st = fl_test_run_capture(compilers[i], argv, &out);
	}
	if (st == -ENOENT)
		SKIP("no C compiler (cc, gcc, clang) in PATH");
	ASSERT_GE(st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fl_test_fail(__FILE__, __LINE__, "%s failed (status %#x):\n%s", argv[0], st, out);
	free(out);
}

/* ---- leak checks ------------------------------------------------------- */

static int open_fds(char *buf, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0, self = dirfd(d);
	size_t off = 0;

	buf[0] = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		n++;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s ", de->d_name);
	}
	closedir(d);
	return n;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)type, (void)f;
	return remove(path);
}

static void run_one(struct fl_test *t)
{
	char before[4096], after[4096];

	open_fds(before, sizeof(before));
	t->fn();
	/* the spawn server a test started is process state, not a leak: it
	 * goes here, with its spares, so that what remains is the test's */
	fl_server_release(0);
	open_fds(after, sizeof(after));
	if (strcmp(before, after))
		fl_test_fail(__FILE__, __LINE__, "fd leak: before [%s] after [%s]", before, after);
	pid_t p = waitpid(-1, NULL, WNOHANG | __WALL);
	if (p != -1 || errno != ECHILD)
		fl_test_fail(__FILE__, __LINE__, "child left behind (pid %d)", (int)p);
	if (tmpdir[0] && nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "# could not remove %s\n", tmpdir);
	_exit(0);
}

int fl_test_native_path(void)
{
	const char *v = getenv("FORKLESS_NATIVE");
	long fd = syscall(SYS_pidfd_open, 0, 0x40000000u /* PIDFD_EMPTY */);
	if (fd < 0)
		return 0;
	close((int)fd);
	return !v || strcmp(v, "0");
}

/* How much longer than here a test may take: FORKLESS_TEST_TIMEOUT_SCALE
 * (an emulated machine: kernel-check sets it), else 10 under valgrind. */
static unsigned timeout_scale(void)
{
	const char *v = getenv("FORKLESS_TEST_TIMEOUT_SCALE");
	long n = v ? strtol(v, NULL, 10) : 0;
	if (n >= 1 && n <= 1000)
		return (unsigned)n;
	return fl_test_valgrind() ? 10 : 1;
}

/* 0 pass, 1 fail, 2 skip */
static int run_test(struct fl_test *t)
{
	fflush(NULL);
	pid_t pid = fork(); /* the harness isolates tests; the library never forks */
	if (pid == 0) {
		alarm((unsigned)t->timeout * timeout_scale());
		run_one(t);
	}
	int st = fl_test_wait(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SKIP)
		return 2;
	if (WIFSIGNALED(st))
		fprintf(stderr, "# %s: killed by signal %d%s\n", t->name, WTERMSIG(st),
			WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: forkless-test [-l] [NAME...]\n"
			"       forkless-test --helper NAME [ARGS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", exe_buf, sizeof(exe_buf) - 1);
	exe_buf[n > 0 ? n : 0] = 0;
	fl_test_exe = exe_buf;
	if (argc >= 3 && !strcmp(argv[1], "--helper")) {
		for (struct fl_helper *h = helpers; h; h = h->next)
			if (!strcmp(h->name, argv[2]))
				return h->fn(argc - 2, argv + 2);
		fprintf(stderr, "no helper %s\n", argv[2]);
		return 2;
	}
	if (argc >= 2 && !strcmp(argv[1], "-l")) {
		for (struct fl_test *t = tests; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	if (argc >= 2 && argv[1][0] == '-')
		return usage();
	/* the spawn server of this build, for every program the tests start
	 * (a statically linked one cannot find it beside the library) */
	char server[4200];
	snprintf(server, sizeof(server), "%s/forkless-server", fl_test_builddir());
	setenv("FORKLESS_SERVER", server, 0);

	int total = 0, pass = 0, fail = 0, skip = 0;
	for (struct fl_test *t = tests; t; t = t->next) {
		int selected = argc < 2;
		for (int i = 1; i < argc; i++)
			selected |= !strcmp(argv[i], t->name);
		total += selected;
	}
	printf("TAP version 13\n1..%d\n", total);
	int i = 0;
	for (struct fl_test *t = tests; t; t = t->next) {
		int selected = argc < 2;
		for (int k = 1; k < argc; k++)
			selected |= !strcmp(argv[k], t->name);
		if (!selected)
			continue;
		int r = run_test(t);
		i++;
		if (r == 0)
			pass++, printf("ok %d %s\n", i, t->name);
		else if (r == 2)
			skip++, printf("ok %d %s # SKIP\n", i, t->name);
		else
			fail++, printf("not ok %d %s\n", i, t->name);
		fflush(stdout);
	}
	printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
	return fail ? 1 : 0;
}
