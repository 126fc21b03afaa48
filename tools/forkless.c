/* SPDX-License-Identifier: MIT */
/*
 * forkless.c - the command-line tool: run one command through the builder.
 *
 *   forkless run [--set KEY[=VALUE]]... [--fd CHILD=PARENT|PATH[:MODE]]...
 *                [--inherit-fds] [--] CMD [ARGS...]
 *   forkless bench ...   the side-by-side benchmark (bench/)
 *
 * It exists to try the library from a shell and to show its intended use:
 * open an empty process, configure it key by key (the same strings the
 * library's FL_CONFIG_SET_STRING parsers take), describe the child's fds as
 * an action array that lives for one call, run, and wait on the same fd.
 * The tool then stands in for the child: it forwards the signals a
 * supervisor or terminal sends it and exits with the child's status, or
 * 128+N if the child was killed by signal N, as shells report it.
 *
 * Exit status of its own: 2 usage or configuration error, 127 the command
 * could not be started, 126 it was found but could not be executed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench/bench.h"
#include "forkless.h"

#define EXIT_USAGE 2
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127

/* What the command line asks for, parsed before any fd of ours exists. */
struct run_opts {
	char **sets;              /* the KEY[=VALUE] words, in order */
	size_t nsets;
	struct fl_action *actions; /* the --fd words, in order */
	struct fl_open *opens;    /* what FL_ACTION_OPEN records point to */
	size_t nactions;
	int inherit_fds;
	char **argv;              /* CMD ARGS... */
};

static const char usage_text[] =
	"Usage: forkless run [OPTION]... [--] CMD [ARGS...]\n"
	"       forkless bench [--quick] [--json FILE] [--plot DIR] [...]\n"
	"       forkless -h | --help | --version\n"
	"\n"
	"Run CMD (searched in $PATH if it has no '/') in a process created\n"
	"without fork(), wait for it and exit with its status (128+N if it was\n"
	"killed by signal N).  SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded.\n"
	"\n"
	"'forkless bench --help' describes the benchmark.\n"
	"\n"
	"Options of run:\n"
	"  --set KEY=VALUE       set a process attribute (cwd, umask, rlimit.nofile,\n"
	"                        uid, sigmask, envp, ...; see fl_pidfd_config(3))\n"
	"  --set KEY             set a boolean attribute (setsid, inherit_fds, resetids)\n"
	"  --fd CHILD=PARENT     give the child our fd PARENT as fd CHILD\n"
	"  --fd CHILD=PATH[:MODE]\n"
	"                        open PATH as the child's fd CHILD; MODE is r, w\n"
	"                        (truncate), a (append) or rw; default r for fd 0,\n"
	"                        w otherwise.  Write ./NAME for a file named by digits.\n"
	"  --inherit-fds         keep every fd without close-on-exec (by default\n"
	"                        the child gets only 0, 1, 2 and the --fd targets)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: CMD's, or 126 not executable, 127 not started, 2 usage error.\n";

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("forkless: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'forkless --help'.\n", stderr);
	exit(EXIT_USAGE);
}

static int print_usage(void)
{
	fputs(usage_text, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- parsing ----------------------------------------------------------- */

/* A decimal fd number, strictly; -1 if s is anything else. */
static int parse_fd(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	return (int)v;
}

/* open(2) flags of MODE, or -1 if it is not one. */
static int parse_mode(const char *m)
{
	if (!strcmp(m, "r"))
		return O_RDONLY;
	if (!strcmp(m, "w"))
		return O_WRONLY | O_CREAT | O_TRUNC;
	if (!strcmp(m, "a"))
		return O_WRONLY | O_CREAT | O_APPEND;
	if (!strcmp(m, "rw"))
		return O_RDWR | O_CREAT;
	return -1;
}

/* PATH[:MODE] for child fd: split at the last ':' only if a MODE follows it. */
static int parse_open(char *spec, int child, struct fl_action *a, struct fl_open *o)
{
	char *colon = strrchr(spec, ':');
	int flags = child == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;

	if (colon && parse_mode(colon + 1) >= 0) {
		flags = parse_mode(colon + 1);
		*colon = 0;
	}
	if (!*spec)
		return -1;
	*o = (struct fl_open){ .path = spec, .flags = (uint64_t)flags, .mode = 0666 };
	*a = (struct fl_action){ .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = child,
				 .arg = (uint64_t)(uintptr_t)o };
	return 0;
}

/*
 * One --fd word.  A PARENT fd must be open now: checked before the tool
 * opens fds of its own, so it can never hand the child one of those.
 */
static void parse_fd_opt(struct run_opts *o, char *word)
{
	struct fl_action *a = &o->actions[o->nactions];
	char *eq = strchr(word, '=');
	int child, parent;

	if (!eq)
		usage_error("--fd %s: expected CHILD=PARENT or CHILD=PATH[:MODE]", word);
	*eq = 0;
	child = parse_fd(word);
	*eq = '=';
	if (child < 0)
		usage_error("--fd %s: CHILD is not an fd number", word);
	parent = parse_fd(eq + 1);
	if (parent < 0) {
		if (parse_open(eq + 1, child, a, &o->opens[o->nactions]) < 0)
			usage_error("--fd %s: missing PATH", word);
	} else {
		if (fcntl(parent, F_GETFD) < 0)
			usage_error("--fd %s: PARENT is not an open fd", word);
		*a = (struct fl_action){ .type = FL_ACTION_DUP2, .fd = parent, .newfd = child };
	}
	o->nactions++;
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *i; NULL if arg is not --name. */
static char *opt_value(char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n])
		return NULL;
	if (!argv[*i + 1])
		usage_error("option '%s' needs an argument", name);
	return argv[++*i];
}

static void parse_run(struct run_opts *o, int argc, char **argv)
{
	int i;
	char *v;

	o->sets = calloc((size_t)argc, sizeof(*o->sets));
	o->actions = calloc((size_t)argc, sizeof(*o->actions));
	o->opens = calloc((size_t)argc, sizeof(*o->opens));
	if (!o->sets || !o->actions || !o->opens) {
		fputs("forkless: out of memory\n", stderr);
		exit(EXIT_NOTFOUND);
	}
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			exit(print_usage());
		} else if (!strcmp(argv[i], "--inherit-fds")) {
			o->inherit_fds = 1;
		} else if ((v = opt_value(argv, &i, "--set"))) {
			o->sets[o->nsets++] = v;
		} else if ((v = opt_value(argv, &i, "--fd"))) {
			parse_fd_opt(o, v);
		} else {
			usage_error("run: unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc)
		usage_error("run: missing command");
	o->argv = argv + i;
}

/* ---- running ----------------------------------------------------------- */

/* Apply the --set words in order; prints and fails on the first refused. */
static int apply_sets(int fd, const struct run_opts *o)
{
	for (size_t i = 0; i < o->nsets; i++) {
		char *w = o->sets[i], *eq = strchr(w, '=');
		int r;

		if (eq) {
			*eq = 0; /* w is the key now, for a moment */
			r = fl_pidfd_config(fd, FL_CONFIG_SET_STRING, w, eq + 1, 0);
			*eq = '=';
		} else {
			r = fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, w, NULL, 0);
		}
		if (r < 0) {
			fprintf(stderr, "forkless: --set %s: %s\n", w, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Like a shell: found but not runnable is 126, everything else 127. */
static int spawn_failed(const char *cmd, const struct fl_error *e)
{
	char msg[256];

	fprintf(stderr, "forkless: %s: %s\n", cmd, fl_strerror_r(e, msg, sizeof(msg)));
	if (e->stage == FL_STAGE_EXEC && (e->err == EACCES || e->err == ENOEXEC))
		return EXIT_NOEXEC;
	return EXIT_NOTFOUND;
}

/*
 * Forward what signalfd sfd holds to the child.  A signal the kernel sent
 * (SI_KERNEL: the terminal's ^C, ^\, hangup) went to our whole process
 * group; if the child is still in it, it got its own copy already.
 */
static void forward_signals(int sfd, int pidfd, pid_t pid)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_code == SI_KERNEL && getpgid(pid) == getpgrp())
			continue;
		fl_pidfd_kill(pidfd, (int)si.ssi_signo); /* -ESRCH: it just exited */
	}
}

/* Wait for the child, forwarding signals; returns the exit status to use. */
static int supervise(int pidfd, pid_t pid, int sfd)
{
	struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
	int st = 0, r;

	for (;;) {
		r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("forkless: poll");
			break; /* no more forwarding, but still wait */
		}
		if (p[1].revents & POLLIN)
			forward_signals(sfd, pidfd, pid);
		if (p[0].revents)
			break; /* exited: the wait below does not block */
	}
	while ((r = fl_pidfd_wait(pidfd, &st, 0)) == -EINTR)
		;
	if (r < 0) {
		fprintf(stderr, "forkless: wait: %s\n", strerror(-r));
		return EXIT_NOTFOUND;
	}
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* A CLOEXEC signalfd for the forwarded signals, which stay blocked from here on. */
static int forwarded_signals_fd(void)
{
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	/* Blocked before the child exists: nothing sent meanwhile is lost.
	 * The child does not inherit the mask; it gets the configured one. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perror("forkless: signalfd");
		exit(EXIT_NOTFOUND);
	}
	return sfd;
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct fl_error e;
	struct fl_spawn_args a = { .error = &e };
	int fd, sfd, pid, ret = EXIT_USAGE;

	parse_run(&o, argc, argv);
	sfd = forwarded_signals_fd();
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	if (fd < 0) {
		fprintf(stderr, "forkless: fl_pidfd_open: %s\n", strerror(-fd));
		ret = EXIT_NOTFOUND;
		goto out_close_sfd;
	}
	if (apply_sets(fd, &o) < 0)
		goto out_close_handle;
	if ((pid = fl_pidfd_set_argv(fd, o.argv)) < 0) {
		fprintf(stderr, "forkless: %s: %s\n", o.argv[0], strerror(-pid));
		goto out_close_handle;
	}
	a.flags = o.inherit_fds ? FL_SPAWN_INHERIT_FDS : 0;
	a.actions = o.actions;
	a.nactions = o.nactions;
	pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ret = pid < 0 ? spawn_failed(o.argv[0], &e) : supervise(fd, pid, sfd);
out_close_handle:
	close(fd); /* the builder, or the child's pidfd after a run */
out_close_sfd:
	close(sfd);
	free(o.sets);
	free(o.actions);
	free(o.opens);
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		usage_error("missing subcommand (try 'run')");
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return fl_bench_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return print_usage();
	if (!strcmp(cmd, "--version")) {
		printf("forkless %d.%d.%d\n", FL_VERSION_MAJOR, FL_VERSION_MINOR,
		       FL_VERSION_PATCH);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (cmd[0] == '-')
		usage_error("unknown option '%s'", cmd);
	usage_error("unknown command '%s'", cmd);
}
