/* SPDX-License-Identifier: MIT */
/*
 * test_cli.c - the forkless(1) tool, run as users run it.
 *
 * Each test spawns <builddir>/forkless with the library (fl_spawn), its
 * stdout and stderr captured through pipes, and checks the exit status and
 * output.  Where the command it runs must report what it sees (fds, session,
 * umask, signals), the command is this test binary in helper mode.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

#define MAX_ARGS 64

struct cli {
	int status; /* waitpid() status of the tool */
	char *out;  /* its stdout */
	char *err;  /* its stderr */
};

static const char *cli_path(void)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/forkless", fl_test_builddir());
	return path;
}

/* argv[0] then the NULL-terminated lists a and b, in static storage. */
static char **cli_argv(char *const a[], char *const b[])
{
	static char *argv[MAX_ARGS];
	int n = 0;

	argv[n++] = (char *)cli_path();
	for (int i = 0; a && a[i] && n < MAX_ARGS - 1; i++)
		argv[n++] = a[i];
	for (int i = 0; b && b[i] && n < MAX_ARGS - 1; i++)
		argv[n++] = b[i];
	argv[n] = NULL;
	return argv;
}

/* "run OPTS... -- <test exe> --helper NAME ARGS..." */
static char **cli_helper_argv(char *const opts[], const char *name, char *const args[])
{
	static char *pre[MAX_ARGS];
	int n = 0;

	pre[n++] = "run";
	for (int i = 0; opts && opts[i] && n < MAX_ARGS - 2; i++)
		pre[n++] = opts[i];
	pre[n++] = "--";
	pre[n] = NULL;
	return cli_argv(pre, fl_test_helper_argv(name, args));
}

/* Start the tool with stdout/stderr into pipes and extra actions after those. */
static pid_t cli_start(char *const argv[], const struct fl_action *extra, size_t nextra,
		       int *ret_out, int *ret_err)
{
	struct fl_action a[8] = {
		{ .type = FL_ACTION_DUP2, .newfd = 1 },
		{ .type = FL_ACTION_DUP2, .newfd = 2 },
	};
	struct fl_error e;
	char msg[256];
	int out[2], err[2];

	ASSERT_LE(nextra, 6);
	ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
	a[0].fd = out[1];
	a[1].fd = err[1];
	if (nextra)
		memcpy(a + 2, extra, nextra * sizeof(*extra));
	pid_t pid = fl_spawn(argv[0], argv, NULL, a, 2 + nextra, &e);
	close(out[1]);
	close(err[1]);
	if (pid < 0)
		fl_test_fail(__FILE__, __LINE__, "spawn forkless: %s",
			     fl_strerror_r(&e, msg, sizeof(msg)));
	*ret_out = out[0];
	*ret_err = err[0];
	return pid;
}

/* Run the tool to the end.  Outputs are small: reading one pipe, then the other, is safe. */
static void cli_run_with(char *const argv[], const struct fl_action *extra, size_t nextra,
			 struct cli *ret)
{
	int out, err;
	pid_t pid = cli_start(argv, extra, nextra, &out, &err);

	ret->out = fl_test_slurp(out);
	ret->err = fl_test_slurp(err);
	ret->status = fl_test_wait(pid);
}

static void cli_run(char *const argv[], struct cli *ret)
{
	cli_run_with(argv, NULL, 0, ret);
}

static void cli_free(struct cli *r)
{
	free(r->out);
	free(r->err);
}

/* The tool exited (not killed) with status code; its stderr shown if not. */
#define ASSERT_EXIT(r, code)                                                  \
	do {                                                                  \
		if (!WIFEXITED((r).status) || WEXITSTATUS((r).status) != (code)) \
			fprintf(stderr, "# forkless stderr: %s", (r).err);    \
		ASSERT_TRUE(WIFEXITED((r).status));                           \
		ASSERT_EQ(WEXITSTATUS((r).status), (code));                   \
	} while (0)

/* ---- helpers: the command the tool runs -------------------------------- */

HELPER(cli_exit)
{
	return argc > 1 ? atoi(argv[1]) : 0;
}

HELPER(cli_raise)
{
	signal(SIGTERM, SIG_DFL);
	kill(getpid(), SIGTERM);
	return 1;
}

HELPER(cli_umask)
{
	mode_t m = umask(0);

	printf("%04o\n", (unsigned int)m);
	return 0;
}

HELPER(cli_session_leader)
{
	printf("%d\n", getsid(0) == getpid());
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The open fds, sorted, space-separated. */
HELPER(cli_fds)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fds[256], n = 0;

	if (!d)
		return 1;
	while ((de = readdir(d)) && n < 256)
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			fds[n++] = atoi(de->d_name);
	closedir(d);
	qsort(fds, (size_t)n, sizeof(int), cmp_int);
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? " " : "", fds[i]);
	printf("\n");
	return 0;
}

/* Copy fd argv[1] to stdout. */
HELPER(cli_cat_fd)
{
	char buf[256];
	ssize_t n;
	int fd = argc > 1 ? atoi(argv[1]) : 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return n < 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Say "ready", wait for signal argv[1], exit 42 if it came. */
HELPER(cli_wait_signal)
{
	int sig = argc > 1 ? atoi(argv[1]) : SIGTERM;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, sig);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(sig, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!got_signal)
		sigsuspend(&old);
	return got_signal == sig ? 42 : 1;
}

/* ---- general ----------------------------------------------------------- */

TEST(cli_help_exits_0_and_mentions_run)
{
	char *args[] = { "--help", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_TRUE(strstr(r.out, "forkless run") != NULL);
	ASSERT_STREQ(r.err, "");
	cli_free(&r);
}

TEST(cli_run_help_exits_0)
{
	char *args[] = { "run", "--help", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_TRUE(strstr(r.out, "--inherit-fds") != NULL);
	cli_free(&r);
}

TEST(cli_version_prints_version)
{
	char *args[] = { "--version", NULL };
	struct cli r;
	char want[64];

	snprintf(want, sizeof(want), "forkless %d.%d.%d\n", FL_VERSION_MAJOR,
		 FL_VERSION_MINOR, FL_VERSION_PATCH);
	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, want);
	cli_free(&r);
}

/* ---- usage errors ------------------------------------------------------ */

/* The tool exits 2 with a hint on stderr and nothing on stdout. */
static void assert_usage_error(char *const args[])
{
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 2);
	ASSERT_STREQ(r.out, "");
	ASSERT_TRUE(strstr(r.err, "Try 'forkless --help'.") != NULL);
	cli_free(&r);
}

TEST(cli_missing_subcommand_is_usage_error)
{
	assert_usage_error(NULL);
}

TEST(cli_unknown_subcommand_is_usage_error)
{
	char *args[] = { "walk", "true", NULL };
	assert_usage_error(args);
}

TEST(cli_unknown_option_is_usage_error)
{
	char *args[] = { "run", "--frobnicate", "true", NULL };
	assert_usage_error(args);
}

TEST(cli_missing_command_after_dashdash_is_usage_error)
{
	char *args[] = { "run", "--set", "setsid", "--", NULL };
	assert_usage_error(args);
}

TEST(cli_option_without_argument_is_usage_error)
{
	char *args[] = { "run", "--set", NULL };
	assert_usage_error(args);
}

TEST(cli_bad_child_fd_is_usage_error)
{
	char *a1[] = { "run", "--fd", "x=1", "true", NULL };
	char *a2[] = { "run", "--fd", "-1=1", "true", NULL };
	char *a3[] = { "run", "--fd", "1", "true", NULL };
	char *a4[] = { "run", "--fd", "99999999999=1", "true", NULL };

	assert_usage_error(a1);
	assert_usage_error(a2);
	assert_usage_error(a3);
	assert_usage_error(a4);
}

TEST(cli_closed_parent_fd_is_usage_error)
{
	/* fd 100 is not open in the tool: fl_spawn passed it only 0, 1, 2 */
	char *args[] = { "run", "--fd", "3=100", "true", NULL };
	assert_usage_error(args);
}

TEST(cli_unknown_set_key_exits_2)
{
	char *args[] = { "run", "--set", "nosuchkey=1", "--", "true", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 2);
	ASSERT_TRUE(strstr(r.err, "forkless: --set nosuchkey=1: ") != NULL);
	cli_free(&r);
}

TEST(cli_bad_set_value_exits_2)
{
	char *args[] = { "run", "--set", "umask=999", "--", "true", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 2);
	ASSERT_TRUE(strstr(r.err, "--set umask=999: Invalid argument") != NULL);
	cli_free(&r);
}

/* ---- running and exit status ------------------------------------------- */

TEST(cli_run_true_exits_0)
{
	char *args[] = { "run", "--", "true", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.err, "");
	cli_free(&r);
}

TEST(cli_propagates_exit_status)
{
	char *args[] = { "7", NULL };
	struct cli r;

	cli_run(cli_helper_argv(NULL, "cli_exit", args), &r);
	ASSERT_EXIT(r, 7);
	cli_free(&r);
}

TEST(cli_killed_child_exits_128_plus_signal)
{
	struct cli r;

	cli_run(cli_helper_argv(NULL, "cli_raise", NULL), &r);
	ASSERT_EXIT(r, 128 + SIGTERM);
	cli_free(&r);
}

TEST(cli_missing_command_exits_127)
{
	char *args[] = { "run", "--", "forkless-no-such-command", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 127);
	ASSERT_TRUE(strstr(r.err, "forkless-no-such-command") != NULL);
	ASSERT_TRUE(strstr(r.err, "exec") != NULL);
	ASSERT_TRUE(strstr(r.err, "No such file") != NULL);
	cli_free(&r);
}

/* A scratch file with mode and content; returns its path (static). */
static char *scratch_file(const char *name, mode_t mode, const char *content)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", fl_test_tmpdir(), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	ASSERT_EQ(chmod(path, mode), 0);
	return path;
}

TEST(cli_non_executable_file_exits_126)
{
	/* no x bit at all: EACCES even for root */
	char *args[] = { "run", "--", scratch_file("noexec", 0644, "#!/bin/sh\n"), NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 126);
	ASSERT_TRUE(strstr(r.err, "Permission denied") != NULL);
	cli_free(&r);
}

TEST(cli_unknown_format_exits_126)
{
	char *args[] = { "run", "--", scratch_file("garbage", 0755, "\1\2\3 not a program\n"),
			 NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 126);
	ASSERT_TRUE(strstr(r.err, "Exec format error") != NULL);
	cli_free(&r);
}

/* ---- --set ------------------------------------------------------------- */

TEST(cli_set_cwd)
{
	char *args[] = { "run", "--set", "cwd=/tmp", "--", "pwd", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "/tmp\n");
	cli_free(&r);
}

TEST(cli_set_umask)
{
	char *opts[] = { "--set", "umask=077", NULL };
	struct cli r;

	cli_run(cli_helper_argv(opts, "cli_umask", NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "0077\n");
	cli_free(&r);
}

TEST(cli_set_flag_setsid)
{
	char *opts[] = { "--set", "setsid", NULL };
	struct cli r;

	cli_run(cli_helper_argv(NULL, "cli_session_leader", NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "0\n");
	cli_free(&r);
	cli_run(cli_helper_argv(opts, "cli_session_leader", NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "1\n");
	cli_free(&r);
}

TEST(cli_set_value_keeps_later_equals_signs)
{
	char *args[] = { "run", "--set=envp=FOO=a=b", "--", "env", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "FOO=a=b\n");
	cli_free(&r);
}

/* ---- --fd and fd hygiene ----------------------------------------------- */

/* The whole content of path, malloc'ed. */
static char *read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	return fl_test_slurp(fd);
}

TEST(cli_fd_path_writes_file)
{
	char path[512], word[600];
	struct cli r;

	snprintf(path, sizeof(path), "%s/out", fl_test_tmpdir());
	snprintf(word, sizeof(word), "1=%s", path);
	char *args[] = { "run", "--fd", word, "--", "echo", "hi", NULL };
	scratch_file("out", 0644, "old content that w truncates\n");
	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "");
	char *got = read_file(path);
	ASSERT_STREQ(got, "hi\n");
	free(got);
	cli_free(&r);
}

TEST(cli_fd_path_append_mode)
{
	char word[600];
	struct cli r;

	char *path = scratch_file("log", 0644, "a\n");
	snprintf(word, sizeof(word), "1=%s:a", path);
	char *args[] = { "run", "--fd", word, "--", "echo", "b", NULL };
	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	char *got = read_file(path);
	ASSERT_STREQ(got, "a\nb\n");
	free(got);
	cli_free(&r);
}

TEST(cli_fd_stdin_defaults_to_read)
{
	char word[600];
	struct cli r;

	snprintf(word, sizeof(word), "0=%s", scratch_file("in", 0644, "from a file\n"));
	char *args[] = { "run", "--fd", word, "--", "cat", NULL };
	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "from a file\n");
	cli_free(&r);
}

TEST(cli_fd_path_with_colon)
{
	char plain[512], w1[600], w2[600];
	struct cli r;

	/* "x:y": y is no MODE, so the whole word is the path */
	snprintf(plain, sizeof(plain), "%s/x:y", fl_test_tmpdir());
	snprintf(w1, sizeof(w1), "1=%s", plain);
	char *a1[] = { "run", "--fd", w1, "--", "echo", "one", NULL };
	cli_run(cli_argv(a1, NULL), &r);
	ASSERT_EXIT(r, 0);
	cli_free(&r);
	/* "x:y:a": split at the last ':' */
	snprintf(w2, sizeof(w2), "1=%s:a", plain);
	char *a2[] = { "run", "--fd", w2, "--", "echo", "two", NULL };
	cli_run(cli_argv(a2, NULL), &r);
	ASSERT_EXIT(r, 0);
	cli_free(&r);
	char *got = read_file(plain);
	ASSERT_STREQ(got, "one\ntwo\n");
	free(got);
}

TEST(cli_fd_open_failure_exits_127)
{
	char *args[] = { "run", "--fd", "0=/nonexistent/forkless-in", "--", "true", NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 127);
	ASSERT_TRUE(strstr(r.err, "action 0: No such file") != NULL);
	cli_free(&r);
}

TEST(cli_fd_passes_parent_fd)
{
	char *opts[] = { "--fd", "3=5", NULL };
	char *args[] = { "3", NULL };
	struct fl_action a = { .type = FL_ACTION_DUP2, .newfd = 5 };
	struct cli r;
	int p[2];

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	ASSERT_EQ(write(p[1], "hello", 5), 5);
	close(p[1]);
	a.fd = p[0];
	cli_run_with(cli_helper_argv(opts, "cli_cat_fd", args), &a, 1, &r);
	close(p[0]);
	ASSERT_EXIT(r, 0);
	ASSERT_STREQ(r.out, "hello");
	cli_free(&r);
}

/* The tool gets an extra fd 7 (not CLOEXEC); what does its child see? */
static void fds_seen(char *const opts[], struct cli *r)
{
	struct fl_action a = { .type = FL_ACTION_DUP2, .newfd = 7 };
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	a.fd = fd;
	cli_run_with(cli_helper_argv(opts, "cli_fds", NULL), &a, 1, r);
	close(fd);
	ASSERT_EXIT(*r, 0);
}

TEST(cli_child_gets_only_std_fds_by_default)
{
	struct cli r;

	fds_seen(NULL, &r);
	ASSERT_STREQ(r.out, "0 1 2\n");
	cli_free(&r);
}

TEST(cli_inherit_fds_keeps_fds_but_not_the_tools_own)
{
	char *opts[] = { "--inherit-fds", NULL };
	struct cli r;

	/* fd 7 comes through; the tool's handle and signalfd (CLOEXEC) do not */
	fds_seen(opts, &r);
	ASSERT_STREQ(r.out, "0 1 2 7\n");
	cli_free(&r);
}

TEST(cli_fd_targets_are_the_only_extra_fds)
{
	char *opts[] = { "--fd", "4=7", "--fd", "9=/dev/null", NULL };
	struct cli r;

	fds_seen(opts, &r);
	ASSERT_STREQ(r.out, "0 1 2 4 9\n");
	cli_free(&r);
}

/* ---- signals ----------------------------------------------------------- */

/* Read one line (up to '\n') from fd into buf. */
static void read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = 0;
}

TEST(cli_forwards_signals_to_child)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char num[16], line[64];
		char *args[] = { num, NULL };
		int out, err;

		snprintf(num, sizeof(num), "%d", sigs[i]);
		pid_t pid = cli_start(cli_helper_argv(NULL, "cli_wait_signal", args), NULL, 0,
				      &out, &err);
		read_line(out, line, sizeof(line));
		ASSERT_STREQ(line, "ready");
		/* The child runs, so the tool is past spawning: the signal is its to forward. */
		ASSERT_EQ(kill(pid, sigs[i]), 0);
		free(fl_test_slurp(out));
		free(fl_test_slurp(err));
		int st = fl_test_wait(pid);
		ASSERT_TRUE(WIFEXITED(st)); /* the tool did not die of it */
		ASSERT_EQ(WEXITSTATUS(st), 42);
	}
}

/* ---- bench: the command line is checked before anything is measured ------ */

/* Exit 2, the word named on stderr, nothing measured (no table on stdout). */
static void assert_bench_rejects(char *const args[], const char *word)
{
	struct cli r;
	char want[128];

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 2);
	snprintf(want, sizeof(want), "'%s'", word);
	ASSERT_TRUE(strstr(r.err, want) != NULL);
	ASSERT_TRUE(strstr(r.out, "==") == NULL);
	cli_free(&r);
}

TEST(cli_bench_unknown_method_is_usage_error)
{
	char *args[] = { "bench", "--quick", "--sweep", "baseline", "--targets", "true_static",
			 "--methods", "fl_spawn,fl_spwan", NULL };
	assert_bench_rejects(args, "fl_spwan");
}

TEST(cli_bench_unknown_target_is_usage_error)
{
	char *args[] = { "bench", "--quick", "--sweep", "baseline", "--methods", "fl_spawn",
			 "--targets", "true_static,ture", NULL };
	assert_bench_rejects(args, "ture");
}

TEST(cli_bench_unknown_sweep_is_usage_error)
{
	char *args[] = { "bench", "--quick", "--targets", "true_static", "--methods", "fl_spawn",
			 "--sweep", "baseline,fd", NULL };
	assert_bench_rejects(args, "fd");
}

/* A destination that cannot be written: its path on stderr, exit 1, before the run. */
static void assert_bench_bad_output(const char *opt, const char *path)
{
	char *args[] = { "bench", "--quick", "--sweep", "baseline", "--targets", "true_static",
			 "--methods", "fl_spawn", (char *)opt, (char *)path, NULL };
	struct cli r;

	cli_run(cli_argv(args, NULL), &r);
	ASSERT_EXIT(r, 1);
	ASSERT_TRUE(strstr(r.err, path) != NULL);
	ASSERT_TRUE(strstr(r.out, "==") == NULL);
	cli_free(&r);
}

TEST(cli_bench_unwritable_json_is_reported_before_the_run)
{
	assert_bench_bad_output("--json", "/dev/null/results.json");
}

TEST(cli_bench_unwritable_plot_dir_is_reported_before_the_run)
{
	assert_bench_bad_output("--plot", "/dev/null/plots");
}
