/* SPDX-License-Identifier: MIT */
/*
 * test_clients.c - real programs under the LD_PRELOAD shim.
 *
 * Each test runs a real client (GNU make, ninja, python3; for the threads,
 * this binary as a plain C client) twice with the library (fl_spawn, stdout
 * and stderr into pipes): once plain, once with
 * LD_PRELOAD=<builddir>/libforkless-preload.so and FORKLESS_LOG=<scratch
 * log>.  The two runs must be indistinguishable (outputs, built files, what
 * the children observed) and the log must prove that the client's spawns
 * went through forkless: one well-formed line per spawn, counted exactly.
 *
 * The clients get the caller's environ, less the variables through which a
 * make that runs this suite would steer a make run here (MAKEFLAGS, ...),
 * and less any LD_PRELOAD/FORKLESS_LOG of our own caller.  A program that is
 * not installed skips its test; a make or ninja that does not import
 * posix_spawn, or a python whose subprocess never uses it, is a skip that
 * says so, never a vacuous pass.  Under valgrind every test here skips: the
 * clients build and spawn too much.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

extern char **environ;

#define PATH_LEN 4096
#define NSRC 8 /* C files of the generated project: main.c and f1.c .. f7.c */

struct client {
	int status; /* waitpid() status */
	char *out;  /* stdout */
	char *err;  /* stderr */
};

/* ---- files ------------------------------------------------------------- */

static void put_file(const char *dir, const char *name, mode_t mode, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put_file(const char *dir, const char *name, mode_t mode, const char *fmt, ...)
{
	char path[PATH_LEN];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f)
		fl_test_fail(__FILE__, __LINE__, "create %s: %s", path, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ASSERT_EQ(fclose(f), 0);
	ASSERT_EQ(chmod(path, mode), 0);
}

/* The whole file, NUL-terminated, its size in *ret_len (may be NULL); NULL if missing. */
static char *read_file(const char *path, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? NULL : fl_test_slurp_len(fd, ret_len);
}

static int skip_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
}

/* The names in dir, sorted, one a line. */
static char *list_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, skip_dots, alphasort);
	if (n < 0)
		fl_test_fail(__FILE__, __LINE__, "scandir %s: %s", dir, strerror(errno));
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(names[i]->d_name) + 1;
	char *s = malloc(len);
	s[0] = 0;
	for (int i = 0; i < n; i++) {
		strcat(strcat(s, names[i]->d_name), "\n");
		free(names[i]);
	}
	free(names);
	return s;
}

/* Both trees hold the same names, and files not starting with volatile_prefix
 * (NULL: none) have the same bytes. */
static void assert_same_files(const char *a, const char *b, const char *volatile_prefix)
{
	char *la = list_dir(a), *lb = list_dir(b), *save;
	ASSERT_STREQ(la, lb);
	for (char *name = strtok_r(la, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		char pa[PATH_LEN], pb[PATH_LEN];
		struct stat st;
		size_t na, nb;

		if (volatile_prefix && !strncmp(name, volatile_prefix, strlen(volatile_prefix)))
			continue;
		snprintf(pa, sizeof(pa), "%s/%s", a, name);
		snprintf(pb, sizeof(pb), "%s/%s", b, name);
		ASSERT_EQ(lstat(pa, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			assert_same_files(pa, pb, volatile_prefix);
			continue;
		}
		char *ca = read_file(pa, &na), *cb = read_file(pb, &nb);
		if (!ca || !cb || na != nb || memcmp(ca, cb, na))
			fl_test_fail(__FILE__, __LINE__, "%s differs from %s", pa, pb);
		free(ca);
		free(cb);
	}
	free(la);
	free(lb);
}

/* Whether the file contains the bytes of s (with its NUL): an imported
 * symbol name is in the ELF's .dynstr. */
static int file_has_string(const char *path, const char *s)
{
	size_t len;
	char *buf = read_file(path, &len);
	int found = buf && memmem(buf, len, s, strlen(s) + 1) != NULL;
	free(buf);
	return found;
}

/* ---- programs ---------------------------------------------------------- */

/* name searched in $PATH as execvp does; 0, or -1 when not found. */
static int find_prog(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, len, "%.*s%s%s", (int)n, path, n ? "/" : "", name);
		if (access(buf, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

static const char *shim_path(void)
{
	static char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s/libforkless-preload.so", fl_test_builddir());
	return path;
}

/* Variables of our caller that must not reach the clients. */
static int env_dropped(const char *kv)
{
	static const char *const drop[] = { "LD_PRELOAD=", "FORKLESS_LOG=", "MAKEFLAGS=",
					    "MFLAGS=", "MAKELEVEL=", "MAKE_TERMOUT=",
					    "MAKE_TERMERR=", "GNUMAKEFLAGS=" };
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (!strncmp(kv, drop[i], strlen(drop[i])))
			return 1;
	return 0;
}

/* Whether "NAME=..." kv names a variable that extra sets. */
static int env_overridden(const char *kv, char *const extra[])
{
	size_t len = strcspn(kv, "=") + 1;

	for (size_t i = 0; extra && extra[i]; i++)
		if (!strncmp(kv, extra[i], len))
			return 1;
	return 0;
}

/* environ, plus the shim when log is set, plus extra "NAME=VALUE"
 * (NULL-terminated, may be NULL; replacing ours).  Free with client_env_free(). */
static char **client_env(const char *log, char *const extra[])
{
	size_t n = 0, k = 0;

	while (environ[n])
		n++;
	for (size_t i = 0; extra && extra[i]; i++)
		n++;
	char **env = calloc(n + 3, sizeof(*env));
	for (size_t i = 0; environ[i]; i++)
		if (!env_dropped(environ[i]) && !env_overridden(environ[i], extra))
			env[k++] = strdup(environ[i]);
	if (log) {
		if (asprintf(&env[k++], "LD_PRELOAD=%s", shim_path()) < 0 ||
		    asprintf(&env[k++], "FORKLESS_LOG=%s", log) < 0)
			fl_test_fail(__FILE__, __LINE__, "asprintf");
	}
	for (size_t i = 0; extra && extra[i]; i++)
		env[k++] = strdup(extra[i]);
	env[k] = NULL;
	return env;
}

static void client_env_free(char **env)
{
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* Read two pipes to their ends at once (a client may fill either); closes both. */
static void slurp2(int a, int b, char **ret_a, char **ret_b)
{
	struct pollfd pfd[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	char *buf[2];
	size_t len[2] = { 0, 0 }, cap[2] = { 4096, 4096 };
	int open_ends = 2;

	buf[0] = malloc(cap[0]);
	buf[1] = malloc(cap[1]);
	while (open_ends) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fl_test_fail(__FILE__, __LINE__, "poll: %s", strerror(errno));
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (cap[i] - len[i] < 2)
				buf[i] = realloc(buf[i], cap[i] *= 2);
			ssize_t n = read(pfd[i].fd, buf[i] + len[i], cap[i] - len[i] - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pfd[i].fd = -1; /* poll ignores it from now on */
				open_ends--;
				continue;
			}
			len[i] += (size_t)n;
		}
	}
	buf[0][len[0]] = 0;
	buf[1][len[1]] = 0;
	close(a);
	close(b);
	*ret_a = buf[0];
	*ret_b = buf[1];
}

/* Run path (searched in $PATH if it has no '/') with argv and envp in dir
 * (NULL: ours), stdout and stderr captured, to its end. */
static void client_run_env(const char *path, char *const argv[], char *const envp[],
			   const char *dir, struct client *ret)
{
	struct fl_action a[3] = {
		{ .type = FL_ACTION_DUP2, .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .newfd = 2 },
		{ .type = FL_ACTION_CHDIR, .arg = (uintptr_t)dir },
	};
	struct fl_error e;
	char msg[256];
	int out[2], err[2];

	ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
	a[0].fd = out[1];
	a[1].fd = err[1];
	pid_t pid = fl_spawn(path, argv, envp, a, dir ? 3 : 2, &e);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		fl_test_fail(__FILE__, __LINE__, "spawn %s: %s", path,
			     fl_strerror_r(&e, msg, sizeof(msg)));
	}
	slurp2(out[0], err[0], &ret->out, &ret->err);
	ret->status = fl_test_wait(pid);
}

/* The same with our environ, plus the shim when log is set. */
static void client_run(const char *path, char *const argv[], const char *dir, const char *log,
		       struct client *ret)
{
	char **env = client_env(log, NULL);

	client_run_env(path, argv, env, dir, ret);
	client_env_free(env);
}

static void client_free(struct client *c)
{
	free(c->out);
	free(c->err);
}

/* The client exited with status 0; its stderr shown if not. */
#define ASSERT_CLIENT_OK(c, what)                                             \
	do {                                                                  \
		if (!WIFEXITED((c).status) || WEXITSTATUS((c).status) != 0)   \
			fl_test_fail(__FILE__, __LINE__, "%s: status 0x%x\nstdout:\n%s\nstderr:\n%s", \
				     what, (c).status, (c).out, (c).err);     \
	} while (0)

/* Both runs gave the same output on stream (out or err). */
#define ASSERT_SAME_OUTPUT(plain, shim, stream)                               \
	do {                                                                  \
		if (strcmp((plain).stream, (shim).stream))                    \
			fl_test_fail(__FILE__, __LINE__,                      \
				     #stream " differs.\n--- plain:\n%s\n--- shim:\n%s", \
				     (plain).stream, (shim).stream);          \
	} while (0)

static void skip_under_valgrind(void)
{
	if (fl_test_valgrind())
		SKIP("real clients under valgrind are too slow");
}

/* A client of another ELF class cannot load this build's shim (a 64-bit
 * make under the 32-bit shim of make M32=1): nothing to test then. */
static void skip_other_class(const char *prog)
{
	unsigned char h[5] = { 0 };
	int fd = open(prog, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (read(fd, h, sizeof(h)) == (ssize_t)sizeof(h) && !memcmp(h, "\177ELF", 4) &&
	    h[4] != (sizeof(void *) == 8 ? 2 : 1)) {
		close(fd);
		SKIP("the client is of another ELF class than this build's shim");
	}
	close(fd);
}

/* ---- the shim's log ---------------------------------------------------- */

/*
 * Checks that every line of text is "forkless FN PATH pid=N" (N > 0) or
 * "forkless FN PATH error=STAGE: MESSAGE" with FN one of the shim's
 * functions, and returns the number of lines.
 */
static int log_check_lines(const char *text)
{
	static const char *const fns[] = { "posix_spawn", "posix_spawnp", "pidfd_spawn",
					   "pidfd_spawnp" };
	int n = 0;

	for (const char *l = text; *l; n++) {
		const char *end = strchr(l, '\n');
		char fn[64], path[PATH_LEN], result[PATH_LEN];
		int known = 0, pid = 0;

		if (!end)
			fl_test_fail(__FILE__, __LINE__, "log: unterminated line \"%s\"", l);
		char *line = strndup(l, (size_t)(end - l));
		if (sscanf(line, "forkless %63s %4095s %4095[^\n]", fn, path, result) != 3)
			fl_test_fail(__FILE__, __LINE__, "log: malformed line \"%s\"", line);
		for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
			known |= !strcmp(fn, fns[i]);
		if (!known)
			fl_test_fail(__FILE__, __LINE__, "log: unknown function in \"%s\"", line);
		if (!(sscanf(result, "pid=%d", &pid) == 1 && pid > 0) &&
		    strncmp(result, "error=", 6))
			fl_test_fail(__FILE__, __LINE__, "log: bad result in \"%s\"", line);
		free(line);
		l = end + 1;
	}
	return n;
}

/*
 * The number of log lines of function fn (exact), for path (NULL: any; a
 * path starting with '*' matches as a suffix) whose result starts with
 * result ("pid=", "error=", "error=exec: No such file or directory").
 */
static int log_count(const char *text, const char *fn, const char *path, const char *result)
{
	int n = 0;

	for (const char *l = text; *l;) {
		const char *end = strchr(l, '\n');
		char *line = strndup(l, (size_t)(end - l));
		char f[64], p[PATH_LEN], r[PATH_LEN];

		if (sscanf(line, "forkless %63s %4095s %4095[^\n]", f, p, r) == 3 &&
		    !strcmp(f, fn) && !strncmp(r, result, strlen(result))) {
			size_t pl = strlen(p), wl = path ? strlen(path) - 1 : 0;
			if (!path || !strcmp(p, path) ||
			    (path[0] == '*' && pl >= wl && !strcmp(p + pl - wl, path + 1)))
				n++;
		}
		free(line);
		l = end + 1;
	}
	return n;
}

/* The log has want well-formed lines; the log shown if not. */
static void log_expect_lines(const char *text, int want)
{
	int n = log_check_lines(text);
	if (n != want)
		fl_test_fail(__FILE__, __LINE__, "%d log lines, not %d:\n%s", n, want, text);
}

/* log_count() is want; the log shown if not. */
static void assert_log_count(const char *file, int line, const char *text, const char *fn,
			     const char *path, const char *result, int want)
{
	int n = log_count(text, fn, path, result);
	if (n != want)
		fl_test_fail(file, line, "%d log lines \"%s %s %s\", not %d:\n%s", n, fn,
			     path ? path : "*", result, want, text);
}
#define ASSERT_LOG_COUNT(text, fn, path, result, want)                        \
	assert_log_count(__FILE__, __LINE__, text, fn, path, result, want)

/* The log as a string ("" when the shim never wrote it). */
static char *log_read(const char *path)
{
	char *text = read_file(path, NULL);
	return text ? text : strdup("");
}

/*
 * An empty log from a client that ran fine: if the program does not import
 * posix_spawn at all, the test has nothing to check and says so; if it
 * does, the shim failed to intercept it.
 */
static void log_empty_verdict(const char *log_text, const char *binary, const char *what)
{
	char why[PATH_LEN + 128];

	if (*log_text)
		return;
	if (!file_has_string(binary, "posix_spawn")) {
		snprintf(why, sizeof(why), "%s (%s) does not call posix_spawn", what, binary);
		SKIP(why);
	}
	fl_test_fail(__FILE__, __LINE__, "%s imports posix_spawn, yet the shim logged nothing",
		     binary);
}

/* ---- a small C project ------------------------------------------------- */

#define SCALE 3

/* main.c and f1.c .. f7.c; config.h is left to the build. */
static void gen_sources(const char *dir)
{
	char name[32];

	ASSERT_EQ(mkdir(dir, 0755), 0);
	for (int i = 1; i < NSRC; i++) {
		snprintf(name, sizeof(name), "f%d.c", i);
		put_file(dir, name, 0644,
			 "#include \"config.h\"\n"
			 "int f%d(int x);\n"
			 "int f%d(int x) { return x * %d + SCALE; }\n", i, i, i);
	}
	FILE *f = NULL;
	char path[PATH_LEN];
	snprintf(path, sizeof(path), "%s/main.c", dir);
	ASSERT_TRUE((f = fopen(path, "we")) != NULL);
	fprintf(f, "#include <stdio.h>\n#include \"config.h\"\n");
	for (int i = 1; i < NSRC; i++)
		fprintf(f, "int f%d(int x);\n", i);
	fprintf(f, "int main(void)\n{\n\tprintf(\"%%s scale=%%d\\n\", NAME, SCALE);\n");
	for (int i = 1; i < NSRC; i++)
		fprintf(f, "\tprintf(\"f%d(10)=%%d\\n\", f%d(10));\n", i, i);
	fprintf(f, "\treturn 0;\n}\n");
	ASSERT_EQ(fclose(f), 0);
}

/* What the generated program prints. */
static char *expected_program_output(void)
{
	char *s = malloc(1024);
	size_t off = (size_t)sprintf(s, "generated scale=%d\n", SCALE);
	for (int i = 1; i < NSRC; i++)
		off += (size_t)sprintf(s + off, "f%d(10)=%d\n", i, 10 * i + SCALE);
	return s;
}

/* The built program of project dir prints what it should (run plainly). */
static void check_program(const char *dir)
{
	char prog[PATH_LEN];
	struct client c;

	snprintf(prog, sizeof(prog), "%s/prog", dir);
	char *argv[] = { prog, NULL };
	client_run(prog, argv, NULL, NULL, &c);
	ASSERT_CLIENT_OK(c, prog);
	char *want = expected_program_output();
	ASSERT_STREQ(c.out, want);
	free(want);
	client_free(&c);
}

/* The lines of s, sorted (parallel builds print them in any order), each
 * without a leading "[N/" (ninja numbers its lines in the order of jobs). */
static char *sorted_lines(const char *s)
{
	char *copy = strdup(s), **lines = NULL;
	size_t n = 0;

	for (char *l = strtok(copy, "\n"); l; l = strtok(NULL, "\n")) {
		size_t digits = l[0] == '[' ? strspn(l + 1, "0123456789") : 0;
		if (digits && l[1 + digits] == '/')
			l += 1 + digits; /* "[3/10] CC x.o" -> "/10] CC x.o" */
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		lines[n++] = l;
	}
	for (size_t i = 1; i < n; i++) /* insertion sort: a few dozen lines */
		for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			char *t = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = t;
		}
	char *out = malloc(strlen(s) + 2);
	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		strcat(strcat(out, lines[i]), "\n");
	free(lines);
	free(copy);
	return out;
}

/* ---- 1. GNU make ------------------------------------------------------- */

/*
 * $(shell) and the config.h recipe (a redirection) go through /bin/sh; the
 * compiles, the link and the echo are run by make directly.  A sub-make
 * (through /bin/sh) builds two files in sub/ as two jobs: it can only if
 * it inherited the jobserver pipe (else it warns on stderr).
 */
static void gen_make_project(const char *dir)
{
	char sub[PATH_LEN];

	gen_sources(dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ASSERT_EQ(mkdir(sub, 0755), 0);
	put_file(sub, "Makefile", 0644,
		 "all: a.txt b.txt\n"
		 "a.txt b.txt:\n"
		 "\techo $@ > $@\n");
	put_file(dir, "Makefile", 0644,
		 "all: prog sub.stamp\n"
		 "sub.stamp:\n"
		 "\t$(MAKE) -C sub && touch $@\n"
		 "CC = cc\n"
		 "CFLAGS = -O2\n"
		 "GREETING := $(shell echo hello | tr a-z A-Z)\n"
		 "OBJS = main.o f1.o f2.o f3.o f4.o f5.o f6.o f7.o\n"
		 "prog: $(OBJS)\n"
		 "\t$(CC) -o $@ $(OBJS)\n"
		 "\techo linked $@, $(GREETING)\n"
		 "%%.o: %%.c config.h\n"
		 "\t$(CC) $(CFLAGS) -c -o $@ $<\n"
		 "config.h: Makefile\n"
		 "\tprintf '#define SCALE %%d\\n#define NAME \"%%s\"\\n' %d generated > $@\n",
		 SCALE);
}

TEST_TIMEOUT(clients_make_parallel_build, 60)
{
	char make[PATH_LEN], cc[PATH_LEN], plain_dir[PATH_LEN], shim_dir[PATH_LEN], log[PATH_LEN];
	struct client plain, shim;

	skip_under_valgrind();
	if (find_prog("make", make, sizeof(make)) < 0)
		SKIP("make is not installed");
	skip_other_class(make);
	if (find_prog("cc", cc, sizeof(cc)) < 0)
		SKIP("no C compiler (cc) to build with");
	snprintf(plain_dir, sizeof(plain_dir), "%s/plain", fl_test_tmpdir());
	snprintf(shim_dir, sizeof(shim_dir), "%s/shim", fl_test_tmpdir());
	snprintf(log, sizeof(log), "%s/make.log", fl_test_tmpdir());
	gen_make_project(plain_dir);
	gen_make_project(shim_dir);

	char *argv[] = { "make", "-j2", "--no-print-directory", NULL };
	client_run(make, argv, plain_dir, NULL, &plain);
	ASSERT_CLIENT_OK(plain, "make");
	client_run(make, argv, shim_dir, log, &shim);
	ASSERT_CLIENT_OK(shim, "make under the shim");

	char *po = sorted_lines(plain.out), *so = sorted_lines(shim.out);
	ASSERT_STREQ(po, so);
	ASSERT_SAME_OUTPUT(plain, shim, err);
	ASSERT_STREQ(shim.err, ""); /* no jobserver warning from the sub-make */
	/* sources, config.h, objects, prog, sub/a.txt, sub/b.txt, sub.stamp */
	assert_same_files(plain_dir, shim_dir, NULL);
	check_program(plain_dir);
	check_program(shim_dir);

	/* make 4.3 runs every job with posix_spawn: NSRC compiles, the link and
	 * the echo by path (found in $PATH); config.h, $(shell), the sub-make
	 * and its two jobs through /bin/sh. */
	char *text = log_read(log);
	log_empty_verdict(text, make, "make");
	log_expect_lines(text, NSRC + 7);
	ASSERT_LOG_COUNT(text, "posix_spawn", "*/cc", "pid=", NSRC + 1);
	ASSERT_LOG_COUNT(text, "posix_spawn", "*/echo", "pid=", 1);
	ASSERT_LOG_COUNT(text, "posix_spawn", "/bin/sh", "pid=", 5);
	free(text);
	free(po);
	free(so);
	client_free(&plain);
	client_free(&shim);
}

/* ---- 2. ninja ---------------------------------------------------------- */

static void gen_ninja_project(const char *dir)
{
	char path[PATH_LEN];

	gen_sources(dir);
	snprintf(path, sizeof(path), "%s/build.ninja", dir);
	FILE *f = fopen(path, "we");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "cflags = -O2\n"
		   "rule cc\n"
		   "  command = cc $cflags -MMD -MF $out.d -c $in -o $out\n"
		   "  depfile = $out.d\n"
		   "  deps = gcc\n"
		   "  description = CC $out\n"
		   "rule link\n"
		   "  command = cc -o $out $in\n"
		   "  description = LINK $out\n"
		   "rule gen\n"
		   "  command = printf '#define SCALE %%d\\n#define NAME \"%%s\"\\n' %d generated > $out\n"
		   "  description = GEN $out\n"
		   "build config.h: gen\n"
		   "build main.o: cc main.c || config.h\n", SCALE);
	for (int i = 1; i < NSRC; i++)
		fprintf(f, "build f%d.o: cc f%d.c || config.h\n", i, i);
	fprintf(f, "build prog: link main.o");
	for (int i = 1; i < NSRC; i++)
		fprintf(f, " f%d.o", i);
	fprintf(f, "\ndefault prog\n");
	ASSERT_EQ(fclose(f), 0);
}

TEST_TIMEOUT(clients_ninja_parallel_build, 60)
{
	char ninja[PATH_LEN], cc[PATH_LEN], plain_dir[PATH_LEN], shim_dir[PATH_LEN], log[PATH_LEN];
	struct client plain, shim;

	skip_under_valgrind();
	if (find_prog("ninja", ninja, sizeof(ninja)) < 0)
		SKIP("ninja is not installed");
	skip_other_class(ninja);
	if (find_prog("cc", cc, sizeof(cc)) < 0)
		SKIP("no C compiler (cc) to build with");
	snprintf(plain_dir, sizeof(plain_dir), "%s/plain", fl_test_tmpdir());
	snprintf(shim_dir, sizeof(shim_dir), "%s/shim", fl_test_tmpdir());
	snprintf(log, sizeof(log), "%s/ninja.log", fl_test_tmpdir());
	gen_ninja_project(plain_dir);
	gen_ninja_project(shim_dir);

	char *argv[] = { "ninja", "-j2", NULL };
	client_run(ninja, argv, plain_dir, NULL, &plain);
	ASSERT_CLIENT_OK(plain, "ninja");
	client_run(ninja, argv, shim_dir, log, &shim);
	ASSERT_CLIENT_OK(shim, "ninja under the shim");

	char *po = sorted_lines(plain.out), *so = sorted_lines(shim.out);
	ASSERT_STREQ(po, so);
	ASSERT_SAME_OUTPUT(plain, shim, err);
	/* .ninja_log and .ninja_deps hold times: same names, not same bytes */
	assert_same_files(plain_dir, shim_dir, ".ninja_");
	check_program(plain_dir);
	check_program(shim_dir);

	/* ninja runs every edge as /bin/sh -c with posix_spawn: config.h,
	 * NSRC compiles, the link; and a second ninja has nothing to do. */
	char *text = log_read(log);
	log_empty_verdict(text, ninja, "ninja");
	log_expect_lines(text, NSRC + 2);
	ASSERT_LOG_COUNT(text, "posix_spawn", "/bin/sh", "pid=", NSRC + 2);
	free(text);

	struct client again;
	client_run(ninja, argv, shim_dir, log, &again);
	ASSERT_CLIENT_OK(again, "ninja again");
	ASSERT_STREQ(again.out, "ninja: no work to do.\n");
	text = log_read(log);
	log_expect_lines(text, NSRC + 2);
	free(text);
	client_free(&again);
	free(po);
	free(so);
	client_free(&plain);
	client_free(&shim);
}

/* ---- 3. make and ninja with FORKLESS_WARM ------------------------------ */

/* Log lines of fn spawning a path ending in suffix that were served warm. */
static int warm_lines(const char *text, const char *suffix)
{
	int n = 0;
	for (const char *l = text; *l;) {
		const char *end = strchr(l, '\n');
		char *line = strndup(l, (size_t)(end - l));
		char f[64], p[PATH_LEN];
		size_t ll = strlen(line), pl, sl = strlen(suffix);
		if (sscanf(line, "forkless %63s %4095s", f, p) == 2 && ll > 5 &&
		    !strcmp(line + ll - 5, " warm") && (pl = strlen(p)) >= sl &&
		    !strcmp(p + pl - sl, suffix))
			n++;
		free(line);
		l = end + 1;
	}
	return n;
}

/* A build under the shim with FORKLESS_WARM listing what it runs gives
 * the same bytes as a plain one, and the log shows the warm spawns. */
static void warm_build(const char *tool, char *const argv[], void (*gen)(const char *),
		       const char *warm, const char *ignore, struct client *plain,
		       struct client *shim, char **log_text)
{
	char plain_dir[PATH_LEN], shim_dir[PATH_LEN], log[PATH_LEN], var[3 * PATH_LEN];
	snprintf(plain_dir, sizeof(plain_dir), "%s/plain", fl_test_tmpdir());
	snprintf(shim_dir, sizeof(shim_dir), "%s/warm", fl_test_tmpdir());
	snprintf(log, sizeof(log), "%s/warm.log", fl_test_tmpdir());
	gen(plain_dir);
	gen(shim_dir);
	client_run(tool, argv, plain_dir, NULL, plain);
	ASSERT_CLIENT_OK(*plain, "plain build");
	snprintf(var, sizeof(var), "FORKLESS_WARM=%s", warm);
	char *extra[] = { var, NULL };
	char **env = client_env(log, extra);
	client_run_env(tool, argv, env, shim_dir, shim);
	client_env_free(env);
	ASSERT_CLIENT_OK(*shim, "build under the shim with FORKLESS_WARM");
	char *po = sorted_lines(plain->out), *so = sorted_lines(shim->out);
	ASSERT_STREQ(po, so);
	ASSERT_SAME_OUTPUT(*plain, *shim, err);
	assert_same_files(plain_dir, shim_dir, ignore);
	check_program(plain_dir);
	check_program(shim_dir);
	free(po);
	free(so);
	*log_text = log_read(log);
}

TEST_TIMEOUT(clients_make_build_with_forkless_warm, 90)
{
	char make[PATH_LEN], cc[PATH_LEN], echo[PATH_LEN], warm[3 * PATH_LEN + 16], *text;
	struct client plain, shim;

	skip_under_valgrind();
	if (find_prog("make", make, sizeof(make)) < 0)
		SKIP("make is not installed");
	skip_other_class(make);
	if (find_prog("cc", cc, sizeof(cc)) < 0 || find_prog("echo", echo, sizeof(echo)) < 0)
		SKIP("no C compiler (cc) to build with");
	snprintf(warm, sizeof(warm), "%s:%s:/bin/sh", cc, echo);
	char *argv[] = { "make", "-j2", "--no-print-directory", NULL };
	warm_build(make, argv, gen_make_project, warm, NULL, &plain, &shim, &text);
	/* the compiles and the link, the echo, the five through /bin/sh */
	log_expect_lines(text, NSRC + 7);
	if (warm_lines(text, "/cc") != NSRC + 1 || warm_lines(text, "/echo") != 1 ||
	    warm_lines(text, "/bin/sh") != 5)
		fl_test_fail(__FILE__, __LINE__, "not every listed spawn was warm:\n%s", text);
	free(text);
	client_free(&plain);
	client_free(&shim);
}

TEST_TIMEOUT(clients_ninja_build_with_forkless_warm, 90)
{
	char ninja[PATH_LEN], cc[PATH_LEN], *text;
	struct client plain, shim;

	skip_under_valgrind();
	if (find_prog("ninja", ninja, sizeof(ninja)) < 0)
		SKIP("ninja is not installed");
	skip_other_class(ninja);
	if (find_prog("cc", cc, sizeof(cc)) < 0)
		SKIP("no C compiler (cc) to build with");
	char *argv[] = { "ninja", "-j2", NULL };
	warm_build(ninja, argv, gen_ninja_project, "/bin/sh", ".ninja_", &plain, &shim, &text);
	log_expect_lines(text, NSRC + 2);
	if (warm_lines(text, "/bin/sh") != NSRC + 2)
		fl_test_fail(__FILE__, __LINE__, "not every edge's /bin/sh was warm:\n%s", text);
	free(text);
	client_free(&plain);
	client_free(&shim);
}

/* ---- python ------------------------------------------------------------ */

/*
 * The python3 binary to run: the real executable behind whatever python3
 * is first in $PATH (a pyenv shim is a shell script that ends in an exec),
 * else /usr/bin/python3.  -1 when there is none.
 */
static int find_python(char *buf, size_t len)
{
	char first[PATH_LEN];
	struct client c;

	if (find_prog("python3", first, sizeof(first)) < 0) {
		if (access("/usr/bin/python3", X_OK) < 0)
			return -1;
		snprintf(first, sizeof(first), "/usr/bin/python3");
	}
	skip_other_class(first); /* python3 may be a link: open() follows it */
	char *argv[] = { "python3", "-c", "import sys; print(sys.executable)", NULL };
	client_run(first, argv, NULL, NULL, &c);
	size_t n = strlen(c.out);
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0 && n > 1 && c.out[0] == '/') {
		c.out[n - 1] = 0;
		snprintf(buf, len, "%s", c.out);
	} else {
		snprintf(buf, len, "%s", first);
	}
	client_free(&c);
	return access(buf, X_OK);
}

/*
 * Every client script starts from the same signal state whatever our caller
 * left (a suite run under nohup ignores SIGHUP, and ignored signals are
 * inherited): nothing blocked, nothing ignored but what python itself
 * ignores, SIGPIPE and SIGXFSZ.
 */
static const char python_prelude[] =
	"import signal\n"
	"signal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
	"for s in signal.valid_signals():\n"
	"    if s not in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGKILL, signal.SIGSTOP):\n"
	"        signal.signal(s, signal.SIG_DFL)\n";

/* Write the prelude and script into the scratch directory; returns its path. */
static const char *python_script(const char *script)
{
	static char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s/client.py", fl_test_tmpdir());
	put_file(fl_test_tmpdir(), "client.py", 0644, "%s%s", python_prelude, script);
	return path;
}

/* Run script with python, plainly and under the shim (log). */
static void python_both(const char *python, const char *script, const char *log,
			struct client *plain, struct client *shim)
{
	char *argv[] = { "python3", "-I", (char *)python_script(script), NULL };

	client_run(python, argv, NULL, NULL, plain);
	ASSERT_CLIENT_OK(*plain, "python3");
	client_run(python, argv, NULL, log, shim);
	ASSERT_CLIENT_OK(*shim, "python3 under the shim");
	ASSERT_SAME_OUTPUT(*plain, *shim, out);
	ASSERT_SAME_OUTPUT(*plain, *shim, err);
}

/* ---- 3. subprocess ----------------------------------------------------- */

/*
 * Every call meets subprocess's conditions for os.posix_spawn (3.8 to
 * 3.13): an executable with a directory part, close_fds=False, no cwd, no
 * preexec_fn, pass_fds, start_new_session, process_group, uid, gid,
 * extra_groups or umask, and pipes above fd 2.
 */
static const char subprocess_script[] =
	"import subprocess, sys\n"
	"print('use_posix_spawn', subprocess._USE_POSIX_SPAWN)\n"
	"if not subprocess._USE_POSIX_SPAWN:\n"
	"    sys.exit(0)\n"
	"def run(tag, argv, **kw):\n"
	"    p = subprocess.run(argv, close_fds=False, capture_output=True, **kw)\n"
	"    print(tag, 'rc=%d' % p.returncode, 'out=%r' % p.stdout, 'err=%r' % p.stderr)\n"
	"run('echo', ['/bin/echo', 'hello', 'world'])\n"
	"run('sh', ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'])\n"
	"run('cat', ['/bin/cat'], input=b'line1\\nline2\\n')\n"
	"run('env', ['/usr/bin/env'], env={'A': '1', 'B': 'two words'})\n"
	"run('signal', ['/bin/sh', '-c', 'kill -TERM $$'])\n"
	/* restore_signals: SIGPIPE and SIGXFSZ, ignored by python, back to default;
	 * 32 and 33 masked out: see clients_shim_is_invisible */
	"p = subprocess.run(['/bin/grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status'],\n"
	"                   close_fds=False, capture_output=True, text=True)\n"
	"print('sigs', p.returncode, ['%s %016x' % (l.split(':')[0], int(l.split()[1], 16) & ~(3 << 31))\n"
	"                             for l in p.stdout.splitlines()])\n"
	"p = subprocess.Popen(['/bin/sh', '-c', 'read x; echo got $x; exit 7'], close_fds=False,\n"
	"                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
	"out, _ = p.communicate('ping\\n')\n"
	"print('popen', p.returncode, repr(out))\n"
	"print('check_output', repr(subprocess.check_output(\n"
	"    ['/bin/sh', '-c', 'echo $0 $1; echo to-stderr >&2', 'zero', 'one'],\n"
	"    close_fds=False, stderr=subprocess.STDOUT)))\n"
	"try:\n"
	"    subprocess.run(['/nonexistent/forkless-missing'], close_fds=False)\n"
	"except FileNotFoundError as e:\n"
	"    print('missing', type(e).__name__, e.errno, e.filename)\n"
	"print('done')\n";

TEST(clients_python_subprocess)
{
	char python[PATH_LEN], log[PATH_LEN];
	struct client plain, shim;

	skip_under_valgrind();
	if (find_python(python, sizeof(python)) < 0)
		SKIP("python3 is not installed");
	snprintf(log, sizeof(log), "%s/python.log", fl_test_tmpdir());
	python_both(python, subprocess_script, log, &plain, &shim);
	if (!strncmp(plain.out, "use_posix_spawn False", 21))
		SKIP("this python3's subprocess never uses posix_spawn (_USE_POSIX_SPAWN is False)");
	ASSERT_TRUE(strstr(plain.out, "\ncat rc=0 out=b'line1\\nline2\\n' err=b''\n") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\nsh rc=3 out=b'out\\n' err=b'err\\n'\n") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\nsignal rc=-15 ") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\npopen 7 'got ping\\n'\n") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\ncheck_output b'zero one\\nto-stderr\\n'\n") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\nsigs 0 ['SigBlk 0000000000000000', "
				      "'SigIgn 0000000000000000']\n") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\nmissing FileNotFoundError 2 "
				      "/nonexistent/forkless-missing\n") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\ndone\n") != NULL);

	/* 8 spawns and the missing program, all by os.posix_spawn */
	char *text = log_read(log);
	log_expect_lines(text, 9);
	ASSERT_LOG_COUNT(text, "posix_spawn", NULL, "pid=", 8);
	ASSERT_LOG_COUNT(text, "posix_spawn", "/nonexistent/forkless-missing",
			    "error=exec: No such file or directory", 1);
	free(text);
	client_free(&plain);
	client_free(&shim);
}

/* ---- 4. os.posix_spawn, os.posix_spawnp -------------------------------- */

/*
 * Children report what they observe on the client's stdout (the client
 * flushes before each spawn and waits for the child before printing on).
 * argv[1] is a scratch directory.
 */
static const char posix_spawn_script[] =
	"import os, signal, sys\n"
	"tmp = sys.argv[1]\n"
	"signal.signal(signal.SIGUSR2, signal.SIG_IGN)\n"
	"env = dict(os.environ)\n"
	"def spawn(tag, argv, fn=os.posix_spawn, path=None, **kw):\n"
	"    print('--', tag, flush=True)\n"
	"    try:\n"
	"        pid = fn(path or argv[0], argv, env, **kw)\n"
	"    except OSError as e:\n"
	"        print(tag, 'raised', type(e).__name__, e.errno, flush=True)\n"
	"        return\n"
	"    _, st = os.waitpid(pid, 0)\n"
	"    print(tag, 'exit', os.waitstatus_to_exitcode(st), flush=True)\n"
	"def sh(tag, script, *args, **kw):\n"
	"    spawn(tag, ['/bin/sh', '-c', script, 'sh'] + list(args), **kw)\n"
	"STAT = 'want=$1; set -- $(cat /proc/$$/stat); '\n"
	/* grep reports its own mask and ignored set; 32 and 33 are masked out:
	 * see clients_shim_is_invisible */
	"def sigs(tag, **kw):\n"
	"    r, w = os.pipe()\n"
	"    spawn(tag, ['/bin/grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status'],\n"
	"          file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)], **kw)\n"
	"    os.close(w)\n"
	"    out = os.read(r, 4096).decode()\n"
	"    os.close(r)\n"
	"    for l in out.splitlines():\n"
	"        print(l.split(':')[0], '%016x' % (int(l.split()[1], 16) & ~(3 << 31)))\n"
	/* POSIX_SPAWN_OPEN: stdout into a file, created with its mode */
	"out = os.path.join(tmp, 'open.txt')\n"
	"sh('open', 'echo written; ls /proc/$$/fd',\n"
	"   file_actions=[(os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)])\n"
	"print('file', repr(open(out).read()), oct(os.stat(out).st_mode & 0o777))\n"
	/* POSIX_SPAWN_DUP2 into stdout and POSIX_SPAWN_CLOSE of the read end */
	"r, w = os.pipe()\n"
	"os.set_inheritable(r, True)\n"
	"sh('dup2', 'echo through-pipe; [ -e /proc/$$/fd/$1 ] && echo r-open || echo r-closed', str(r),\n"
	"   file_actions=[(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r)])\n"
	"os.close(w)\n"
	"print('pipe', repr(os.read(r, 4096)))\n"
	"os.close(r)\n"
	/* DUP2 of an fd onto itself clears its FD_CLOEXEC (glibc >= 2.29) */
	"r, w = os.pipe()\n"
	"sh('dup2-self', 'echo kept-open >&$1', str(w), file_actions=[(os.POSIX_SPAWN_DUP2, w, w)])\n"
	"os.close(w)\n"
	"print('pipe', repr(os.read(r, 4096)))\n"
	"os.close(r)\n"
	"sh('close-stdin', '[ -e /proc/$$/fd/0 ] && echo stdin-open || echo stdin-closed',\n"
	"   file_actions=[(os.POSIX_SPAWN_CLOSE, 0)])\n"
	"sh('open-fails', 'echo not-reached',\n"
	"   file_actions=[(os.POSIX_SPAWN_OPEN, 3, '/nonexistent-dir/x', os.O_RDONLY, 0)])\n"
	/* attributes */
	"sh('no-pgroup', STAT + '[ $5 = $want ] && echo group-of-parent', str(os.getpgrp()))\n"
	"sh('setpgroup', STAT + '[ $5 = $$ ] && echo own-group || echo pgrp=$5', setpgroup=0)\n"
	"sh('setsid', STAT + '[ $6 = $$ ] && echo own-session || echo sid=$6', setsid=True)\n"
	"sigs('inherit-mask')\n"
	"sigs('setsigmask', setsigmask=[signal.SIGUSR1, signal.SIGTERM])\n"
	"sigs('setsigdef', setsigdef=[signal.SIGUSR2, signal.SIGPIPE])\n"
	"spawn('resetids', ['/bin/grep', '-E', '^(Uid|Gid)', '/proc/self/status'], resetids=True)\n"
	"sh('scheduler', STAT + 'echo policy=${41} nice=${19}',\n"
	"   scheduler=(os.SCHED_OTHER, os.sched_param(0)))\n"
	/* posix_spawnp: search in the caller's PATH, skipping a non-executable match */
	"for d, mode in (('bin1', 0o644), ('bin2', 0o755)):\n"
	"    os.mkdir(os.path.join(tmp, d))\n"
	"    p = os.path.join(tmp, d, 'flprobe')\n"
	"    open(p, 'w').write('#!/bin/sh\\necho flprobe from ' + d + '\\n')\n"
	"    os.chmod(p, mode)\n"
	"p = os.path.join(tmp, 'bin1', 'flnoexec')\n"
	"open(p, 'w').write('#!/bin/sh\\n')\n"
	"os.environ['PATH'] = '/nonexistent-dir:%s/bin1:%s/bin2:%s' % (tmp, tmp, os.environ['PATH'])\n"
	"spawn('spawnp-sh', ['sh', '-c', 'echo via-path'], fn=os.posix_spawnp)\n"
	"spawn('spawnp-search', ['flprobe'], fn=os.posix_spawnp)\n"
	"spawn('spawnp-eacces', ['flnoexec'], fn=os.posix_spawnp)\n"
	"spawn('spawnp-missing', ['forkless-no-such-program'], fn=os.posix_spawnp)\n"
	/* posix_spawn errors: not executable, no #! line */
	"spawn('not-executable', [os.path.join(tmp, 'bin1', 'flprobe')])\n"
	"p = os.path.join(tmp, 'noshebang')\n"
	"open(p, 'w').write('echo should not run\\n')\n"
	"os.chmod(p, 0o755)\n"
	"spawn('enoexec', [p])\n"
	"print('done')\n";

TEST(clients_python_os_posix_spawn)
{
	char python[PATH_LEN], log[PATH_LEN], dir1[PATH_LEN], dir2[PATH_LEN];
	struct client plain, shim;

	skip_under_valgrind();
	if (find_python(python, sizeof(python)) < 0)
		SKIP("python3 is not installed");
	snprintf(log, sizeof(log), "%s/python.log", fl_test_tmpdir());
	/* one scratch path for both runs: the outputs must not differ by it */
	snprintf(dir1, sizeof(dir1), "%s/s", fl_test_tmpdir());
	snprintf(dir2, sizeof(dir2), "%s/s.plain", fl_test_tmpdir());
	char *argv[] = { "python3", "-I", (char *)python_script(posix_spawn_script), dir1, NULL };

	ASSERT_EQ(mkdir(dir1, 0755), 0);
	client_run(python, argv, NULL, NULL, &plain);
	ASSERT_CLIENT_OK(plain, "python3");
	ASSERT_EQ(rename(dir1, dir2), 0);
	ASSERT_EQ(mkdir(dir1, 0755), 0);
	client_run(python, argv, NULL, log, &shim);
	ASSERT_CLIENT_OK(shim, "python3 under the shim");
	ASSERT_SAME_OUTPUT(plain, shim, out);
	ASSERT_SAME_OUTPUT(plain, shim, err);

	const char *o = plain.out;
	ASSERT_TRUE(strstr(o, "\nfile 'written\\n0\\n1\\n2\\n' 0o640\n") != NULL);
	ASSERT_TRUE(strstr(o, "\npipe b'through-pipe\\nr-closed\\n'\n") != NULL);
	ASSERT_TRUE(strstr(o, "\npipe b'kept-open\\n'\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nstdin-closed\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nopen-fails raised FileNotFoundError 2\n") != NULL);
	ASSERT_TRUE(strstr(o, "\ngroup-of-parent\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nown-group\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nown-session\n") != NULL);
	/* SIGUSR2 12 (the client's), SIGPIPE 13 and SIGXFSZ 25 (python's) stay
	 * ignored but for setsigdef; setsigmask blocks SIGUSR1 10 and SIGTERM 15 */
	ASSERT_TRUE(strstr(o, "\ninherit-mask exit 0\nSigBlk 0000000000000000\n"
			      "SigIgn 0000000001001800\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nsetsigmask exit 0\nSigBlk 0000000000004200\n"
			      "SigIgn 0000000001001800\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nsetsigdef exit 0\nSigBlk 0000000000000000\n"
			      "SigIgn 0000000001000000\n") != NULL);
	ASSERT_TRUE(strstr(o, "\n-- scheduler\npolicy=0 nice=") != NULL); /* SCHED_OTHER */
	ASSERT_TRUE(strstr(o, "\nflprobe from bin2\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nspawnp-eacces raised PermissionError 13\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nspawnp-missing raised FileNotFoundError 2\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nnot-executable raised PermissionError 13\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nenoexec raised OSError 8\n") != NULL);
	ASSERT_TRUE(strstr(o, "\ndone\n") != NULL);

	char *text = log_read(log);
	log_expect_lines(text, 19);
	/* posix_spawn: 12 children, and the failing open, EACCES, ENOEXEC */
	ASSERT_LOG_COUNT(text, "posix_spawn", NULL, "pid=", 12);
	ASSERT_LOG_COUNT(text, "posix_spawn", "/bin/sh", "error=action 0: No such file", 1);
	ASSERT_LOG_COUNT(text, "posix_spawn", "*/bin1/flprobe", "error=exec: Permission denied", 1);
	ASSERT_LOG_COUNT(text, "posix_spawn", "*/noshebang", "error=exec: Exec format error", 1);
	/* posix_spawnp: sh, flprobe, and the EACCES and ENOENT searches */
	ASSERT_LOG_COUNT(text, "posix_spawnp", "sh", "pid=", 1);
	ASSERT_LOG_COUNT(text, "posix_spawnp", "flprobe", "pid=", 1);
	ASSERT_LOG_COUNT(text, "posix_spawnp", "flnoexec", "error=exec: Permission denied", 1);
	ASSERT_LOG_COUNT(text, "posix_spawnp", "forkless-no-such-program",
			    "error=exec: No such file or directory", 1);
	free(text);
	client_free(&plain);
	client_free(&shim);
}

/* ---- 5. the shim is invisible ------------------------------------------ */

/*
 * The client sets up a mask, ignored and caught signals, an inheritable and
 * a close-on-exec fd, then spawns (os.posix_spawn, inheriting all of it):
 * sh -c, which lists its own fds and copies its own environment block to a
 * pipe; and grep of its own /proc/self/status (sh resets its signal mask,
 * so the mask is read from a direct child).  It prints what the children
 * saw next to what it passed or holds itself.
 */
static const char invisible_script[] =
	"import os, signal\n"
	"signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGWINCH})\n"
	"signal.signal(signal.SIGUSR2, signal.SIG_IGN)\n"
	"signal.signal(signal.SIGTERM, lambda s, f: None)\n"
	"keep = os.open('/dev/null', os.O_RDONLY)\n"
	"os.set_inheritable(keep, True)\n"
	"hide = os.open('/dev/null', os.O_RDONLY)\n"
	"def inheritable():\n"
	"    fds = []\n"
	"    for name in os.listdir('/proc/self/fd'):\n"
	"        try:\n"
	"            if os.get_inheritable(int(name)):\n"
	"                fds.append(int(name))\n"
	"        except OSError:\n"
	"            pass\n"
	"    return sorted(fds)\n"
	"def sigs(text):\n"
	"    return {l.split(':')[0]: int(l.split()[1], 16) for l in text.splitlines()\n"
	"            if l[:6] in ('SigBlk', 'SigIgn', 'SigCgt')}\n"
	"def run(argv, env):\n"
	"    r, w = os.pipe()\n"
	"    pid = os.posix_spawn(argv[0], argv, env,\n"
	"                         file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])\n"
	"    os.close(w)\n"
	"    out = b''\n"
	"    while True:\n"
	"        b = os.read(r, 65536)\n"
	"        if not b:\n"
	"            break\n"
	"        out += b\n"
	"    os.close(r)\n"
	"    _, st = os.waitpid(pid, 0)\n"
	"    return out, os.waitstatus_to_exitcode(st)\n"
	"env = dict(os.environ)\n"
	"env['FL_PROBE'] = 'spaces and\\na newline'\n"
	"passed = b''.join(k.encode() + b'=' + v.encode() + b'\\0' for k, v in env.items())\n"
	"want_fds = inheritable()\n"
	"out, st = run(['/bin/sh', '-c', 'ls /proc/$$/fd; echo @@; cat /proc/$$/environ'], env)\n"
	"fds, environ = out.split(b'\\n@@\\n', 1)\n"
	"print('sh exit', st)\n"
	"print('fds', fds.decode().split(), 'passed', want_fds)\n"
	"print('env equal', environ == passed, 'count-delta', environ.count(b'\\0') - len(env))\n"
	"print('preload in env', b'LD_PRELOAD=' in environ, 'LD_PRELOAD' in env)\n"
	"mine = sigs(open('/proc/self/status').read())\n"
	"out, st = run(['/bin/grep', '-E', '^Sig(Blk|Ign|Cgt)', '/proc/self/status'], env)\n"
	"child = sigs(out.decode())\n"
	"print('grep exit', st)\n"
	"INTERNAL = 3 << 31\n"
	"print('SigBlk %016x parent %016x' % (child['SigBlk'], mine['SigBlk']))\n"
	"print('SigIgn %016x parent %016x' % (child['SigIgn'] & ~INTERNAL, mine['SigIgn'] & ~INTERNAL))\n"
	"print('SigCgt %016x' % child['SigCgt'])\n"
	"with open(os.environ['FL_SIDE'], 'w') as f:\n"
	"    print('internal-ignored %x parent %x' % ((child['SigIgn'] & INTERNAL) >> 31,\n"
	"          (mine['SigIgn'] & INTERNAL) >> 31), file=f)\n";

/* Remove the first line of s that starts with prefix. */
static void drop_line(char *s, const char *prefix)
{
	for (char *l = s; *l;) {
		char *end = strchrnul(l, '\n');
		if (*end)
			end++;
		if (!strncmp(l, prefix, strlen(prefix))) {
			memmove(l, end, strlen(end) + 1);
			return;
		}
		l = end;
	}
}

TEST(clients_shim_is_invisible)
{
	char python[PATH_LEN], log[PATH_LEN], side[PATH_LEN], side_env[PATH_LEN + 16];
	struct client plain, shim;

	skip_under_valgrind();
	if (find_python(python, sizeof(python)) < 0)
		SKIP("python3 is not installed");
	snprintf(log, sizeof(log), "%s/python.log", fl_test_tmpdir());
	snprintf(side, sizeof(side), "%s/side", fl_test_tmpdir());
	snprintf(side_env, sizeof(side_env), "FL_SIDE=%s", side);
	char *argv[] = { "python3", "-I", (char *)python_script(invisible_script), NULL };
	char *extra[] = { side_env, NULL };

	char **env = client_env(NULL, extra);
	client_run_env(python, argv, env, NULL, &plain);
	client_env_free(env);
	ASSERT_CLIENT_OK(plain, "python3");
	char *plain_side = read_file(side, NULL);
	env = client_env(log, extra);
	client_run_env(python, argv, env, NULL, &shim);
	client_env_free(env);
	ASSERT_CLIENT_OK(shim, "python3 under the shim");
	char *shim_side = read_file(side, NULL);

	/* Same fds, environment (each exactly as passed), mask, ignored set. */
	ASSERT_SAME_OUTPUT(plain, shim, err);
	const char *o = shim.out;
	ASSERT_TRUE(strstr(o, "sh exit 0\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nfds ['0', '1', '2', '3'] passed [0, 1, 2, 3]\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nenv equal True ") != NULL);
	ASSERT_TRUE(strstr(o, "\npreload in env True True\n") != NULL);
	ASSERT_TRUE(strstr(plain.out, "\npreload in env False False\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nSigBlk 0000000008000200 parent 0000000008000200\n") != NULL);
	ASSERT_TRUE(strstr(o, "\nSigIgn 0000000001001800 parent 0000000001001800\n") != NULL);
	/* the two outputs differ only in the line that says LD_PRELOAD was passed */
	drop_line(plain.out, "preload in env ");
	drop_line(shim.out, "preload in env ");
	ASSERT_SAME_OUTPUT(plain, shim, out);

	/*
	 * Signals 32 and 33 are glibc's SIGCANCEL and SIGSETXID.  glibc 2.36's
	 * posix_spawn sets them to SIG_IGN in the child (its child loop over
	 * all signals ignores the "internal" ones) and the exec keeps that;
	 * forkless follows POSIX: the new program ignores them exactly when the
	 * caller does (which depends on who started this suite: make, itself
	 * spawned through glibc, passes them on ignored).  Not compared with
	 * glibc; the shim's side must equal its parent's.
	 */
	ASSERT_TRUE(plain_side && shim_side);
	int child_ign = -1, parent_ign = -2;
	ASSERT_EQ(sscanf(shim_side, "internal-ignored %x parent %x", &child_ign, &parent_ign), 2);
	ASSERT_EQ(child_ign, parent_ign);
	free(plain_side);
	free(shim_side);

	char *text = log_read(log);
	log_expect_lines(text, 2);
	ASSERT_LOG_COUNT(text, "posix_spawn", "/bin/sh", "pid=", 1);
	ASSERT_LOG_COUNT(text, "posix_spawn", "/bin/grep", "pid=", 1);
	free(text);
	client_free(&plain);
	client_free(&shim);
}

/* ---- 6. threads -------------------------------------------------------- */

#define SPAWN_THREADS 4
#define SPAWNS_PER_THREAD 200

/* Each thread spawns the program at path arg (stdout to /dev/null, an empty
 * signal mask) SPAWNS_PER_THREAD times and waits for each; returns the failures. */
static void *spawn_loop(void *arg)
{
	char *path = arg, *argv[] = { path, NULL };
	long bad = 0;

	for (int i = 0; i < SPAWNS_PER_THREAD; i++) {
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t at;
		sigset_t none;
		pid_t pid;
		int st = -1;

		sigemptyset(&none);
		if (posix_spawn_file_actions_init(&fa) || posix_spawnattr_init(&at))
			return (void *)(bad + SPAWNS_PER_THREAD - i);
		if (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ||
		    posix_spawnattr_setsigmask(&at, &none) ||
		    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK) ||
		    posix_spawn(&pid, path, &fa, &at, argv, environ) != 0)
			bad++;
		else if (waitpid(pid, &st, 0) != pid || st != 0)
			bad++;
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
	}
	return (void *)bad;
}

HELPER(clients_spawn_threads)
{
	pthread_t t[SPAWN_THREADS];
	long bad = 0;

	if (argc < 2)
		return 2;
	for (int i = 0; i < SPAWN_THREADS; i++)
		if (pthread_create(&t[i], NULL, spawn_loop, argv[1]))
			return 3;
	for (int i = 0; i < SPAWN_THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("spawned %d failed %ld\n", SPAWN_THREADS * SPAWNS_PER_THREAD, bad);
	return bad ? 1 : 0;
}

TEST(clients_spawn_from_threads)
{
	char target[PATH_LEN], log[PATH_LEN];
	struct client plain, shim;

	skip_under_valgrind();
	snprintf(target, sizeof(target), "%s/true-static", fl_test_builddir());
	if (access(target, X_OK) < 0)
		snprintf(target, sizeof(target), "/bin/true");
	snprintf(log, sizeof(log), "%s/threads.log", fl_test_tmpdir());
	char *args[] = { target, NULL }, **argv = fl_test_helper_argv("clients_spawn_threads", args);
#ifdef __SANITIZE_ADDRESS__
	/* The test binary has ASan; the shim, preloaded, comes before its runtime. */
	char asan[512];
	const char *old = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 old ? old : "", old && *old ? ":" : "");
	char *extra[] = { asan, NULL };
#else
	char **extra = NULL;
#endif
	char **env = client_env(NULL, extra);
	client_run_env(fl_test_exe, argv, env, NULL, &plain);
	client_env_free(env);
	ASSERT_CLIENT_OK(plain, "threads helper");
	env = client_env(log, extra);
	client_run_env(fl_test_exe, argv, env, NULL, &shim);
	client_env_free(env);
	ASSERT_CLIENT_OK(shim, "threads helper under the shim");
	ASSERT_SAME_OUTPUT(plain, shim, out);
	ASSERT_STREQ(shim.out, "spawned 800 failed 0\n");

	char *text = log_read(log);
	log_expect_lines(text, SPAWN_THREADS * SPAWNS_PER_THREAD);
	ASSERT_LOG_COUNT(text, "posix_spawn", target, "pid=", SPAWN_THREADS * SPAWNS_PER_THREAD);
	free(text);
	client_free(&plain);
	client_free(&shim);
}
