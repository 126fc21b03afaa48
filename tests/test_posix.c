/* SPDX-License-Identifier: MIT */
/*
 * test_posix.c - POSIX conformance of the posix_spawn front end, tested
 * differentially: one rule per scenario, run by build/tests/posix-conf
 * (tests/posix_conf.c) three ways -
 *
 *   (a) "libc" plainly: glibc's own posix_spawn, which proves the scenario
 *       and its expected facts right;
 *   (b) "fl": fl_posix_spawn() and friends;
 *   (c) "libc" under LD_PRELOAD=libforkless-preload.so: glibc's names routed
 *       through the shim, which must log the spawn to FORKLESS_LOG;
 *
 * and all three must print the same thing, which must hold the rule's
 * expected lines (in order), so that a scenario cannot pass by being equally
 * wrong everywhere.  Scenarios of functions glibc 2.36 lacks (pidfd_spawn,
 * the POSIX.1-2024 addchdir/addfchdir, the cgroup attribute) print
 * "unsupported" under (a); then (b) and (c) are compared.  (c) is left out
 * where the shim cannot be preloaded: into an ASan binary, or under valgrind.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

extern char **environ;

enum {
	NEW_API = 1,   /* glibc 2.36 lacks it: (a) says "unsupported", compare (b) and (c) */
	PIDFD_LOG = 2, /* the shim logs "pidfd_spawn" rather than "posix_spawn" */
};

#if defined(__SANITIZE_ADDRESS__)
#define FL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FL_ASAN 1
#endif
#endif

/* Whether (c) can run: the shim has no ASan runtime, valgrind has its own preload. */
static int shim_usable(void)
{
#ifdef FL_ASAN
	return 0;
#else
	const char *b = fl_test_builddir();
	size_t n = strlen(b);

	if (n >= 9 && !strcmp(b + n - 9, "build-san"))
		return 0;
	return !fl_test_valgrind();
#endif
}

/*
 * Run "posix-conf IMPL SCENARIO BASE", its stdout into a pipe; with log set,
 * under the shim.  The caller's environment goes along without any
 * LD_PRELOAD (valgrind's, say) or FORKLESS_LOG of its own.
 */
static char *run_conf(const char *impl, const char *scenario, const char *variant,
		      const char *log)
{
	static char conf[4200], dir[4200], preload[4300], logvar[4300];
	char *argv[] = { "posix-conf", (char *)impl, (char *)scenario, dir, NULL };
	char *envp[512];
	size_t n = 0;
	struct fl_action a = { .type = FL_ACTION_DUP2, .newfd = 1 };
	struct fl_error e;
	char msg[256];
	int p[2];

	snprintf(conf, sizeof(conf), "%s/tests/posix-conf", fl_test_builddir());
	snprintf(dir, sizeof(dir), "%s/%s", fl_test_tmpdir(), variant);
	for (char **v = environ; *v && n < 500; v++)
		if (strncmp(*v, "LD_PRELOAD=", 11) && strncmp(*v, "FORKLESS_LOG=", 13))
			envp[n++] = *v;
	if (log) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/libforkless-preload.so",
			 fl_test_builddir());
		snprintf(logvar, sizeof(logvar), "FORKLESS_LOG=%s", log);
		envp[n++] = preload;
		envp[n++] = logvar;
	}
	envp[n] = NULL;

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	a.fd = p[1];
	pid_t pid = fl_spawn(conf, argv, envp, &a, 1, &e);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		fl_test_fail(__FILE__, __LINE__, "spawn %s: %s", conf,
			     fl_strerror_r(&e, msg, sizeof(msg)));
	}
	char *out = fl_test_slurp(p[0]);
	int st = fl_test_wait(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fl_test_fail(__FILE__, __LINE__, "posix-conf %s %s (%s) failed, status %#x:\n%s",
			     impl, scenario, variant, st, out);
	return out;
}

/* Every line of want ('\n'-separated) is a whole line of out, in this order. */
static void expect_lines(const char *out, const char *want, const char *who)
{
	const char *o = out;

	for (const char *w = want; *w;) {
		size_t len = strcspn(w, "\n");
		const char *hit = NULL;
		for (const char *l = o; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
			if (strncmp(l, w, len) == 0 && (l[len] == '\n' || !l[len])) {
				hit = l;
				break;
			}
		}
		if (!hit)
			fl_test_fail(__FILE__, __LINE__, "%s: no line \"%.*s\" (in order) in:\n%s",
				     who, (int)len, w, out);
		o = hit + len + (hit[len] != 0);
		w += len + (w[len] != 0);
	}
}

static void skip_if_told(const char *out)
{
	if (!strncmp(out, "skip:", 5))
		SKIP(out);
}

/* The shim's log exists and names the function: it handled the spawn. */
static void expect_logged(const char *log, const char *what)
{
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	char *text = fl_test_slurp(fd);
	if (!strstr(text, what))
		fl_test_fail(__FILE__, __LINE__, "shim log lacks \"%s\":\n%s", what, text);
	free(text);
}

/* The shim's log file, created beforehand and writable by all (RESETIDS
 * runs the shim as nobody); its path is static. */
static const char *shim_log(void)
{
	static char log[4200];

	snprintf(log, sizeof(log), "%s/shim.log", fl_test_tmpdir());
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fchmod(fd, 0666), 0);
	close(fd);
	return log;
}

static void differential(const char *scenario, int flags, const char *want)
{
	const char *log = NULL;
	char *libc, *fl, *shim = NULL;

	libc = run_conf("libc", scenario, "libc", NULL);
	fl = run_conf("fl", scenario, "fl", NULL);
	if (shim_usable()) {
		log = shim_log();
		shim = run_conf("libc", scenario, "shim", log);
	}
	if (flags & NEW_API) {
		ASSERT_STREQ(libc, "unsupported\n");
		skip_if_told(fl);
		if (shim)
			ASSERT_STREQ(shim, fl);
		expect_lines(fl, want, "fl");
	} else {
		skip_if_told(libc);
		expect_lines(libc, want, "glibc"); /* the scenario itself is right */
		ASSERT_STREQ(fl, libc);
		if (shim)
			ASSERT_STREQ(shim, libc);
	}
	if (shim)
		expect_logged(log, flags & PIDFD_LOG ? "forkless pidfd_spawn" : "forkless posix_spawn");
	free(libc);
	free(fl);
	free(shim);
}

#define POSIX_TEST(name, flags, want)                                         \
	TEST(posix_##name)                                                    \
	{                                                                     \
		differential(#name, flags, want);                             \
	}

/* ---- return values, errors, the PATH search ----------------------------- */

/* Success returns 0 and stores the child's pid: waitpid(*pid) reaps it. */
POSIX_TEST(success_writes_pid, 0,
	   "spawn=0\npid_written=yes\nexit=3\nchildren=none")

/* *pid is untouched on failure, whichever step failed. */
POSIX_TEST(pid_untouched_on_failure, 0,
	   "case exec\nspawn=ENOENT\npid=untouched\nchildren=none\n"
	   "case action\nspawn=EBADF\npid=untouched\nchildren=none\n"
	   "case attr\nspawn=EINVAL\npid=untouched\nchildren=none")

/* An exec failure is the returned error, never a child that exits 127. */
POSIX_TEST(exec_enoent, 0, "spawn=ENOENT\npid=untouched\nchildren=none")
POSIX_TEST(exec_eacces, 0, "spawn=EACCES\npid=untouched\nchildren=none")
POSIX_TEST(exec_enoexec, 0, "spawn=ENOEXEC\npid=untouched\nchildren=none")

/* posix_spawn takes a bare name as a relative path: no $PATH search. */
POSIX_TEST(spawn_no_path_search, 0, "spawn=ENOENT\nchildren=none")

/* posix_spawnp searches $PATH for a name without '/'. */
POSIX_TEST(spawnp_searches_path, 0, "child hello\nspawn=0\nexit=0")

/* ... but not for a name with a '/', which is relative to the cwd. */
POSIX_TEST(spawnp_slash_not_searched, 0,
	   "case relative\nspawn=ENOENT\ncase from cwd\nchild hello\nspawn=0")

/* An empty $PATH element is the current directory. */
POSIX_TEST(spawnp_empty_path_element_is_cwd, 0,
	   "case trailing\nchild hello\nspawn=0\ncase leading\nchild hello\nspawn=0")

/* Without $PATH, glibc searches /bin:/usr/bin (not the cwd). */
POSIX_TEST(spawnp_default_path, 0,
	   "case true\nspawn=0\nexit=0\ncase cwd\nspawn=ENOENT")

/* glibc 2.15+: posix_spawnp returns ENOEXEC and never runs the file with /bin/sh. */
POSIX_TEST(spawnp_enoexec_no_shell, 0, "spawn=ENOEXEC\nchildren=none\nshell_ran=no")

/* ENOEXEC ends the search: a later directory's program is not tried. */
POSIX_TEST(spawnp_stops_at_enoexec, 0, "spawn=ENOEXEC\nchildren=none")

/* An EACCES seen on the way is reported if nothing else is found... */
POSIX_TEST(spawnp_eacces_remembered, 0, "spawn=EACCES\nchildren=none")

/* ... but does not stop the search. */
POSIX_TEST(spawnp_continues_after_eacces, 0, "child hello\nspawn=0\nexit=0")

POSIX_TEST(spawnp_enoent_when_absent, 0, "spawn=ENOENT\nchildren=none")

/* ---- file descriptors and file actions ---------------------------------- */

/* Non-CLOEXEC fds are inherited, CLOEXEC ones are not. */
POSIX_TEST(fd_inherit_non_cloexec, 0, "child fds=3,5\nspawn=0")

/* addclose closes the fd in the child only. */
POSIX_TEST(addclose_child_only, 0, "addclose=0\nchild fds=4\nspawn=0\nparent fds=3,4")

/* Closing an fd that is not open in the child is no error. */
POSIX_TEST(addclose_not_open_ok, 0, "addclose=0\nchild hello\nspawn=0\nexit=0")

/* A negative or too large fd is EBADF when the action is added; nothing is recorded. */
POSIX_TEST(add_bad_fd_ebadf, 0,
	   "addclose(-1)=EBADF\naddclose(LIMIT)=EBADF\n"
	   "adddup2(-1,5)=EBADF\nadddup2(1,-1)=EBADF\nadddup2(LIMIT,5)=EBADF\n"
	   "adddup2(1,LIMIT)=EBADF\naddopen(-1)=EBADF\naddopen(LIMIT)=EBADF\n"
	   "addclosefrom_np(-1)=EBADF\naddtcsetpgrp_np(-1)=EBADF\n"
	   "addclose(LIMIT-1)=0\nchild hello\nspawn=0")

/* glibc 2.36 accepts addfchdir_np(-1) and fails the spawn with EBADF. */
POSIX_TEST(addfchdir_np_bad_fd, 0,
	   "addfchdir_np(-1)=0\nspawn=EBADF\npid=untouched\nchildren=none")

/* adddup2 onto another fd: the copy survives exec, the CLOEXEC source does not. */
POSIX_TEST(adddup2_onto_fd, 0, "adddup2=0\nchild fds=5\nchild fd5=hello\nspawn=0")

/* adddup2(fd, fd) clears FD_CLOEXEC in the child (POSIX.1-2024), not in the caller. */
POSIX_TEST(adddup2_same_fd_clears_cloexec, 0,
	   "adddup2=0\nchild fds=3\nchild fd3=hello\nspawn=0\nparent fd3 cloexec=yes")

/* adddup2 from an fd that is not open fails the spawn with EBADF. */
POSIX_TEST(adddup2_closed_source_ebadf, 0,
	   "case other\nadddup2=0\nspawn=EBADF\npid=untouched\nchildren=none\n"
	   "case same\nadddup2=0\nspawn=EBADF\npid=untouched\nchildren=none")

/* addopen opens with oflag and mode (under the umask). */
POSIX_TEST(addopen_creates_with_mode, 0,
	   "case create\nchild fds=5,6\nchild fd5 access=w append=yes\n"
	   "child fd6 access=r append=no\nchild fd6=hello\nspawn=0\n"
	   "out mode=0640 size=0 reg=yes\ncase exclusive\nspawn=EEXIST")

/* An open that fails in the child is the returned error. */
POSIX_TEST(addopen_failure_returned, 0,
	   "addopen=0\nspawn=ENOENT\npid=untouched\nchildren=none")

/* "If fildes was already an open file descriptor, it shall be closed before
 * the new file is opened": works at the fd limit. */
POSIX_TEST(addopen_closes_fildes_first, 0,
	   "parent full at fd 31\ncase at limit\nchild fds=31\nchild fd31=hello\nspawn=0")

/* addopen is as if open(path, oflag, mode): O_CLOEXEC in oflag holds when
 * open returns fildes itself; dup2 onto fildes clears it. */
POSIX_TEST(addopen_oflag_cloexec, 0,
	   "case lowest free fd\nchild fds=none\nspawn=0\n"
	   "case moved to fildes\nchild fds=7\nspawn=0")

/* addchdir_np changes the child's cwd; a relative path is run from there. */
POSIX_TEST(addchdir_np_relative_exec, 0,
	   "addchdir_np=0\nchild cwd=BASE/sub\nspawn=0\nparent cwd unchanged=yes")

POSIX_TEST(addfchdir_np, 0, "addfchdir_np=0\nchild cwd=BASE/sub\nchild fds=none\nspawn=0")

/* Actions run in the order they were added. */
POSIX_TEST(actions_in_order, 0,
	   "child fds=6,7\nchild fd6=in-sub\nchild fd7=in-base\nchild cwd=BASE/sub\nspawn=0")

/* The POSIX.1-2024 names (fl_posix_spawn_file_actions_addchdir, the shim). */
POSIX_TEST(addchdir, NEW_API, "addchdir=0\nchild cwd=BASE/sub\nspawn=0")
POSIX_TEST(addfchdir, NEW_API,
	   "addfchdir(-1)=EBADF\naddfchdir=0\nchild cwd=BASE/sub\nchild fds=none\nspawn=0")

/* addclosefrom_np(n) closes every fd >= n in the child. */
POSIX_TEST(addclosefrom_np, 0,
	   "addclosefrom_np=0\nchild fds=3\nspawn=0\nparent fds=3,4,5,9")

/* addtcsetpgrp_np makes the child's group the terminal's foreground group. */
POSIX_TEST(addtcsetpgrp_np_foreground, 0,
	   "ctty=yes\naddtcsetpgrp_np=0\nchild pgid==pid yes\nchild foreground=yes\nspawn=0")

/* ... and fails the spawn with ENOTTY on an fd that is no terminal. */
POSIX_TEST(addtcsetpgrp_np_notty, 0, "addtcsetpgrp_np=0\nspawn=ENOTTY\nchildren=none")

/* ---- attributes --------------------------------------------------------- */

/* POSIX_SPAWN_SETSIGMASK: the child's mask is the attribute's. */
POSIX_TEST(setsigmask, 0,
	   "case two signals\nchild blocked=USR2,TERM\nspawn=0\n"
	   "case empty\nchild blocked=none\nspawn=0\ncase full\n"
	   "child blocked=HUP,INT,QUIT,ILL,TRAP,ABRT,BUS,FPE,USR1,SEGV,USR2,PIPE,ALRM,TERM,"
	   "STKFLT,CHLD,CONT,TSTP,TTIN,TTOU,URG,XCPU,XFSZ,VTALRM,PROF,WINCH,POLL,PWR,SYS,"
	   "34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,"
	   "60,61,62,63,64\nspawn=0")

/* Without it the child inherits the caller's mask. */
POSIX_TEST(sigmask_inherited, 0,
	   "case null attr\nchild blocked=USR1\ncase mask without flag\nchild blocked=USR1")

/* POSIX_SPAWN_SETSIGDEF resets the named signals, ignored ones included. */
POSIX_TEST(setsigdef_resets_ignored, 0,
	   "setflags=0\ncase one\nchild ignored=USR2\nspawn=0\n"
	   "case full set\nchild ignored=none\nspawn=0")

/* Without it ignored signals stay ignored. */
POSIX_TEST(ignored_stay_ignored, 0,
	   "case null attr\nchild ignored=USR1,PIPE\n"
	   "case sigdefault without flag\nchild ignored=USR1,PIPE")

/* Caught signals are set to the default action in the child. */
POSIX_TEST(caught_reset_to_default, 0, "child ignored=none\nspawn=0")

/* POSIX_SPAWN_SETPGROUP with 0: the child leads a new group. */
POSIX_TEST(setpgroup_zero, 0,
	   "case null attr\nchild pgid==pid no\ncase setpgroup 0\nsetflags=0\n"
	   "child pgid==pid yes\nspawn=0")

/* ... with a pgid: the child joins that group. */
POSIX_TEST(setpgroup_existing, 0,
	   "leader spawn=0\nchild pgid==given yes\nchild pgid==pid no\nspawn=0\n"
	   "case leader\nexit=0")

/* An attribute the child cannot apply is the returned error. */
POSIX_TEST(attr_failure_returned, 0,
	   "case setpgroup to no group\nspawn=EPERM\npid=untouched\nchildren=none\n"
	   "case setschedparam out of range\nspawn=EINVAL\npid=untouched\nchildren=none")

/* POSIX_SPAWN_SETSID: the child leads a new session. */
POSIX_TEST(setsid, 0,
	   "case null attr\nchild sid==pid no\ncase setsid\nsetflags=0\n"
	   "child sid==pid yes\nchild pgid==pid yes\nspawn=0")

/* POSIX_SPAWN_SETSCHEDULER sets policy and priority; without it the
 * caller's policy (SCHED_BATCH) is inherited. */
POSIX_TEST(setscheduler, 0,
	   "case null attr\nchild policy=BATCH prio=0\ncase SCHED_OTHER\n"
	   "child policy=OTHER prio=0\nspawn=0")

POSIX_TEST(setscheduler_fifo, 0, "child policy=FIFO prio=1\nspawn=0")

/* POSIX_SPAWN_SETSCHEDPARAM alone sets the priority under the caller's policy. */
POSIX_TEST(setschedparam_alone, 0,
	   "case priority 0\nchild policy=BATCH prio=0\nspawn=0\ncase priority 5\nspawn=EINVAL")

/* POSIX_SPAWN_RESETIDS: the child's effective ids are the real ones. */
POSIX_TEST(resetids, 0,
	   "parent ruid=0 euid=65534 rgid=0 egid=65534\n"
	   "child ruid=0 euid=0 rgid=0 egid=0\nspawn=0")

POSIX_TEST(usevfork_accepted, 0, "setflags=0\nchild hello\nspawn=0")

/* An unknown flag is EINVAL and leaves the attribute unchanged. */
POSIX_TEST(setflags_invalid_einval, 0,
	   "setflags(SETPGROUP)=0\nsetflags(0x200)=EINVAL\nsetflags(0x8000)=EINVAL\n"
	   "flags=0x2\nchild pgid==pid yes\nspawn=0")

/* glibc's setschedpolicy takes SCHED_OTHER, SCHED_FIFO and SCHED_RR only. */
POSIX_TEST(setschedpolicy_invalid_einval, 0,
	   "setschedpolicy(OTHER)=0\nsetschedpolicy(BATCH)=EINVAL\n"
	   "setschedpolicy(IDLE)=EINVAL\nsetschedpolicy(42)=EINVAL\npolicy=OTHER\n"
	   "child policy=OTHER prio=0\nspawn=0")

/* ---- arguments, environment, volume ------------------------------------- */

POSIX_TEST(null_actions_and_attr, 0,
	   "case null\nchild hello\nspawn=0\ncase empty\nchild hello\nspawn=0")

/* The child's environment is exactly envp. */
POSIX_TEST(envp_exact, 0,
	   "case two\nchild env A=1\nchild env B=two words\nchild envc=2\nspawn=0\n"
	   "case empty\nchild envc=0\nspawn=0")

/* The child's argv is exactly argv, argv[0] and empty strings included. */
POSIX_TEST(argv_exact, 0,
	   "child argc=7\nchild argv[0]=[zero]\nchild argv[1]=[child]\nchild argv[3]=[args]\n"
	   "child argv[4]=[]\nchild argv[5]=[with space]\nchild argv[6]=[x=y]\nspawn=0")

/* 10 001 actions work and leave nothing behind. */
POSIX_TEST(huge_action_list, 0,
	   "10001 actions added=yes\nchild fds=11\nchild fd11=hello\nspawn=0\nparent fds=3")

/* ---- glibc 2.39's pidfd_spawn and cgroup attribute ---------------------- */

/* pidfd_spawn stores an O_CLOEXEC pidfd that waitid(P_PIDFD) reaps. */
POSIX_TEST(pidfd_spawn, NEW_API | PIDFD_LOG,
	   "case success\nspawn=0\npidfd cloexec=yes\npidfd is_pidfd=yes\n"
	   "waitid=0 exited=yes status=7\nchildren=none\n"
	   "case failure\nspawn=ENOENT pidfd=untouched\nchildren=none")

POSIX_TEST(pidfd_spawnp_searches_path, NEW_API | PIDFD_LOG,
	   "child hello\nspawn=0\npidfd cloexec=yes\nwaitid=0 exited=yes status=5\n"
	   "children=none")

/* POSIX_SPAWN_SETCGROUP starts the child in the cgroup of the attribute. */
POSIX_TEST(setcgroup, NEW_API,
	   "setcgroup_np=0\ngetcgroup_np same=yes\nsetflags(SETCGROUP)=0\n"
	   "child in_cgroup=yes\nspawn=0")

/* A negative cgroup fd: EINVAL, as clone3 (and so glibc 2.39); not open: EBADF. */
POSIX_TEST(setcgroup_bad_fd, NEW_API,
	   "case cgroup -1\nsetcgroup_np=0\nsetflags(SETCGROUP)=0\nspawn=EINVAL\n"
	   "pid=untouched\nchildren=none\n"
	   "case cgroup -100\nsetcgroup_np=0\nsetflags(SETCGROUP)=0\nspawn=EINVAL\n"
	   "case cgroup 999\nsetcgroup_np=0\nsetflags(SETCGROUP)=0\nspawn=EBADF\n"
	   "pid=untouched\nchildren=none")

/* ---- the pre-2.15 symbol versions --------------------------------------- */

/*
 * A program bound to posix_spawn@GLIBC_2.2.5 (posix-conf "old") gets glibc's
 * old behaviour from the shim too: an ENOEXEC file is run with /bin/sh.
 * glibc itself (no shim) is the reference.  The default versions keep
 * returning ENOEXEC: exec_enoexec, spawnp_enoexec_no_shell above.
 */
static void old_versions(const char *scenario, const char *want)
{
	/* first: ASan's posix_spawn interceptor would take the old versions' calls */
	if (!shim_usable())
		SKIP("the shim cannot run in this build");
	char *libc = run_conf("old", scenario, "libc", NULL);

	if (!strcmp(libc, "unsupported\n")) {
		free(libc);
		SKIP("no pre-2.15 posix_spawn on this architecture");
	}
	expect_lines(libc, want, "glibc");
	const char *log = shim_log();
	char *shim = run_conf("old", scenario, "shim", log);
	ASSERT_STREQ(shim, libc);
	expect_logged(log, "forkless posix_spawn");
	free(libc);
	free(shim);
}

TEST(posix_old_spawn_runs_enoexec_with_shell)
{
	old_versions("old_spawn_runs_shell",
		     "case args\nscript 0=./script argc=2 1=one 2=two words\nspawn=0\nexit=0\n"
		     "case no argv\nscript 0=./script argc=0 1= 2=\nspawn=0\n"
		     "case absolute\nscript 0=script argc=2 1=one 2=two words\nspawn=0\n"
		     "case program\nchild hello\nspawn=0\n"
		     "case missing\nspawn=ENOENT\npid=untouched\nchildren=none");
}

TEST(posix_old_spawnp_runs_enoexec_with_shell)
{
	old_versions("old_spawnp_runs_shell",
		     "case bare name\nin-cwd 0=script argc=2 1=one 2=two words\nspawn=0\n"
		     "case with slash\nin-path 0=bin/script argc=2 1=one 2=two words\nspawn=0\n"
		     "case program\nchild hello\nspawn=0\nexit=0");
}
