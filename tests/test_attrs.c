/* SPDX-License-Identifier: MIT */
/*
 * test_attrs.c - every process attribute a builder can configure, as the
 * child sees it.
 *
 * Each test configures one attribute on a builder handle, runs the test
 * binary itself in helper mode (HELPER(attrs_*) below) and compares what the
 * helper prints about its own state (session, umask, rlimits, credentials,
 * affinity, scheduler, parent-death signal, memory policy, cgroup, signal
 * mask and dispositions, cwd, controlling tty) with what was asked.  Also
 * here: fl_pidfd_config()'s error rules (unknown keys, wrong commands, bad
 * values, a failed set changes nothing, FL_CONFIG_UNSET) and failures of an
 * attribute step in the child, reported with the right stage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

#ifndef __NR_close_range
#define __NR_close_range 436
#endif

#define NOBODY 65534
#define MPOL_PREFERRED_ 1
#define MPOL_LOCAL_ 4

/* ---- shared utilities -------------------------------------------------- */

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
	{ "cpu", RLIMIT_CPU },         { "fsize", RLIMIT_FSIZE },
	{ "data", RLIMIT_DATA },       { "stack", RLIMIT_STACK },
	{ "core", RLIMIT_CORE },       { "nproc", RLIMIT_NPROC },
	{ "nofile", RLIMIT_NOFILE },   { "memlock", RLIMIT_MEMLOCK },
	{ "as", RLIMIT_AS },           { "nice", RLIMIT_NICE },
	{ "rtprio", RLIMIT_RTPRIO },
};

static int rlimit_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (!strcmp(rlimit_names[i].name, name))
			return rlimit_names[i].res;
	return -1;
}

static void fmt_rlim(char *buf, size_t len, rlim_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* "cur:max" as the attrs_rlimit helper prints it. */
static void fmt_rlimit(char *buf, size_t len, const struct rlimit *rl)
{
	char cur[32], max[32];

	fmt_rlim(cur, sizeof(cur), rl->rlim_cur);
	fmt_rlim(max, sizeof(max), rl->rlim_max);
	snprintf(buf, len, "%s:%s", cur, max);
}

/* A CPU set as "0,1,5" (canonical: ascending, comma separated). */
static void fmt_cpuset(char *buf, size_t len, const cpu_set_t *set)
{
	size_t off = 0;

	buf[0] = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && off < len; cpu++)
		if (CPU_ISSET(cpu, set))
			off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "", cpu);
}

/* "0-3,8" (as in sysfs cpulist files) into set; -1 on junk. */
static int parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s && *s != '\n') {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;
		if (end == s)
			return -1;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (lo < 0 || hi < lo || hi >= CPU_SETSIZE)
			return -1;
		for (long c = lo; c <= hi; c++)
			CPU_SET((int)c, set);
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static unsigned long long sigbit(int sig)
{
	return 1ULL << (sig - 1);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '\n')
		s[--n] = 0;
}

static int new_handle(void)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	return fd;
}

/*
 * Run helper name from handle fd (which is closed), require exit status 0,
 * and return its output without the final newline (malloc'ed).
 */
static char *run_ok_at(int line, int fd, const char *name, char *const args[])
{
	int st = 0;
	char *out = fl_test_run_handle(fd, name, args, &st);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fl_test_fail(__FILE__, line, "helper %s: wait status 0x%x, output \"%s\"",
			     name, st, out);
	chomp(out);
	return out;
}
#define RUN_OK(fd, name, args) run_ok_at(__LINE__, (fd), (name), (args))

/* What a run that may fail gave. */
struct outcome {
	int r;             /* fl_pidfd_spawn_run()'s result */
	int status;        /* wait status when r > 0 */
	int waited;        /* fl_pidfd_wait()'s result when r > 0 */
	struct fl_error e;
	char *out;         /* stdout, without the final newline */
};

/*
 * Like fl_test_run_handle() but never fails the test on a failed run (the
 * caller checks, and may clean up first).  Closes fd either way.
 */
static struct outcome run_helper(int fd, const char *name, char *const args[])
{
	struct outcome o = { .r = -1, .waited = -1, .e = { 0, FL_STAGE_NONE, -1 } };
	struct fl_action a = { .type = FL_ACTION_DUP2, .newfd = 1 };
	struct fl_spawn_args sa = { .actions = &a, .nactions = 1,
				    .error = &o.e };
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		close(fd);
		o.r = -errno;
		o.out = strdup("");
		return o;
	}
	a.fd = p[1];
	sa.argv = fl_test_helper_argv(name, args);
	sa.path = fl_test_exe;
	o.r = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	o.out = fl_test_slurp(p[0]);
	chomp(o.out);
	if (o.r > 0)
		o.waited = fl_pidfd_wait(fd, &o.status, 0);
	close(fd);
	return o;
}

/* A run that must fail before exec with -err at stage, with index. */
static void expect_failure_at(int line, int fd, int err, int stage, int index)
{
	struct outcome o = run_helper(fd, "attrs_ids", NULL);

	if (o.r != -err || o.e.err != err || o.e.stage != stage || o.e.index != index)
		fl_test_fail(__FILE__, line,
			     "want -%d (%s) at stage %s index %d; got %d, error {%d (%s), %s, %d}",
			     err, strerror(err), fl_strstage(stage), index, o.r, o.e.err,
			     strerror(o.e.err), fl_strstage(o.e.stage), o.e.index);
	free(o.out);
}
#define EXPECT_FAILURE_AT(fd, err, stage, index) \
	expect_failure_at(__LINE__, (fd), (err), (stage), (index))

static void require_root(void)
{
	if (geteuid() != 0)
		SKIP("needs root");
}

/* Whether we hold capability cap (CapEff in /proc/self/status). */
static int have_cap(int cap)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "CapEff: %llx", &eff);
	fclose(f);
	return (eff >> cap) & 1;
}

/* Raising a hard rlimit takes CAP_SYS_RESOURCE (24), which containers often drop. */
static void require_cap_sys_resource(void)
{
	if (!have_cap(24))
		SKIP("needs CAP_SYS_RESOURCE");
}

/*
 * Become nobody for the rest of this test (the test body is its own
 * process).  Dumpable again so that the harness can still read our /proc.
 */
static void drop_privileges(void)
{
	if (geteuid() == 0) {
		ASSERT_EQ(setgroups(0, NULL), 0);
		ASSERT_EQ(setresgid(NOBODY, NOBODY, NOBODY), 0);
		ASSERT_EQ(setresuid(NOBODY, NOBODY, NOBODY), 0);
	}
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* A fresh directory under the scratch dir; its canonical path in ret_real. */
static void make_dir(const char *name, mode_t mode, char *path, size_t len, char *ret_real)
{
	snprintf(path, len, "%s/%s", fl_test_tmpdir(), name);
	ASSERT_EQ(mkdir(path, mode), 0);
	ASSERT_EQ(chmod(path, mode), 0); /* whatever our umask */
	if (ret_real)
		ASSERT_TRUE(realpath(path, ret_real) != NULL);
}

/* ---- helpers: run in the child, print what it sees --------------------- */

HELPER(attrs_ids)
{
	printf("pid=%d pgrp=%d sid=%d\n", (int)getpid(), (int)getpgrp(), (int)getsid(0));
	return 0;
}

HELPER(attrs_umask)
{
	printf("%03o\n", (unsigned)umask(0));
	return 0;
}

/* "cur:max" of each named resource, space separated. */
HELPER(attrs_rlimit)
{
	struct rlimit rl;
	char buf[80];

	for (int i = 1; i < argc; i++) {
		int res = rlimit_by_name(argv[i]);
		if (res < 0 || getrlimit(res, &rl) < 0)
			return 2;
		fmt_rlimit(buf, sizeof(buf), &rl);
		printf("%s%s", i > 1 ? " " : "", buf);
	}
	printf("\n");
	return 0;
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return (x > y) - (x < y);
}

HELPER(attrs_creds)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, g[256];
	int n = getgroups(256, g);

	if (n < 0 || getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return 2;
	qsort(g, (size_t)n, sizeof(g[0]), cmp_gid);
	printf("uid=%u,%u,%u gid=%u,%u,%u groups=", ru, eu, su, rg, eg, sg);
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", g[i]);
	printf("\n");
	return 0;
}

HELPER(attrs_affinity)
{
	cpu_set_t set;
	char buf[4096];

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 2;
	fmt_cpuset(buf, sizeof(buf), &set);
	printf("%s\n", buf);
	return 0;
}

HELPER(attrs_sched)
{
	struct sched_param p = { 0 };

	if (sched_getparam(0, &p) < 0)
		return 2;
	printf("policy=%d prio=%d\n", sched_getscheduler(0), p.sched_priority);
	return 0;
}

HELPER(attrs_pdeathsig)
{
	int sig = -1;

	if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0)
		return 2;
	printf("%d\n", sig);
	return 0;
}

HELPER(attrs_mempolicy)
{
	unsigned long nodes[16] = { 0 };
	int mode = -1;

	if (syscall(SYS_get_mempolicy, &mode, nodes, 1024UL, NULL, 0UL) < 0) {
		printf("error=%d\n", errno);
		return 0;
	}
	printf("mode=%d nodes=%lx\n", mode, nodes[0]);
	return 0;
}

/* The cgroup2 path from /proc/self/cgroup ("0::PATH"). */
HELPER(attrs_cgroup)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return 2;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			fputs(line + 3, stdout);
	fclose(f);
	return 0;
}

/* SigBlk and SigIgn from /proc/self/status. */
HELPER(attrs_signals)
{
	unsigned long long blk = ~0ULL, ign = ~0ULL;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 2;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "SigBlk: %llx", &blk);
		sscanf(line, "SigIgn: %llx", &ign);
	}
	fclose(f);
	printf("blk=%llx ign=%llx\n", blk, ign);
	return 0;
}

HELPER(attrs_cwd)
{
	char buf[PATH_MAX];

	if (!getcwd(buf, sizeof(buf)))
		return 2;
	printf("%s\n", buf);
	return 0;
}

/*
 * Whether /dev/tty opens (we have a controlling tty), whether the terminal
 * argv[1] is it (tcgetsid() answers only for one's own controlling tty), and
 * whether we lead our session.
 */
HELPER(attrs_ctty)
{
	int t = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int devtty = t >= 0, mine = 0;

	if (t >= 0)
		close(t);
	if (argc > 1) {
		int s = open(argv[1], O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s >= 0) {
			pid_t sid = tcgetsid(s);
			mine = sid > 0 && sid == getsid(0);
			close(s);
		}
	}
	printf("devtty=%d ctty_is_arg=%d leader=%d\n", devtty, mine, getsid(0) == getpid());
	return 0;
}

/* Open fds >= 3, comma separated ("" when none). */
HELPER(attrs_fds)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 2;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd < 3 || fd == dirfd(d))
			continue;
		printf("%s%d", n++ ? "," : "", fd);
	}
	closedir(d);
	printf("\n");
	return 0;
}

/* ---- cwd --------------------------------------------------------------- */

TEST(attr_cwd_from_string)
{
	char dir[512], real[PATH_MAX], here[PATH_MAX];

	make_dir("cwd-str", 0755, dir, sizeof(dir), real);
	ASSERT_TRUE(getcwd(here, sizeof(here)) != NULL);
	ASSERT_NE(strcmp(here, real), 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_cwd(fd, dir), 0);
	char *out = RUN_OK(fd, "attrs_cwd", NULL);
	ASSERT_STREQ(out, real);
	free(out);
}

TEST(attr_cwd_from_fd_caller_closes_its_copy)
{
	char dir[512], real[PATH_MAX];

	make_dir("cwd-fd", 0755, dir, sizeof(dir), real);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_GE(dfd, 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_cwd_fd(fd, dfd), 0);
	close(dfd); /* the handle keeps its own duplicate */
	char *out = RUN_OK(fd, "attrs_cwd", NULL);
	ASSERT_STREQ(out, real);
	free(out);
}

TEST(attr_cwd_missing_fails_at_cwd_stage)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/no-such-dir", fl_test_tmpdir());
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_cwd(fd, path), 0);
	EXPECT_FAILURE_AT(fd, ENOENT, FL_STAGE_CWD, -1);
}

/* Credentials drop before cwd: the directory is entered as the target user. */
TEST(attr_cwd_is_entered_as_target_user)
{
	char dir[512];

	require_root();
	make_dir("cwd-private", 0700, dir, sizeof(dir), NULL);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_cwd(fd, dir), 0);
	ASSERT_EQ(fl_pidfd_set_gid(fd, NOBODY), 0);
	ASSERT_EQ(fl_pidfd_set_uid(fd, NOBODY), 0);
	EXPECT_FAILURE_AT(fd, EACCES, FL_STAGE_CWD, -1);
}

/* ---- umask ------------------------------------------------------------- */

TEST(attr_umask_from_int)
{
	umask(022);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_umask(fd, 027), 0);
	char *out = RUN_OK(fd, "attrs_umask", NULL);
	ASSERT_STREQ(out, "027");
	free(out);
}

TEST(attr_umask_from_octal_string)
{
	umask(022);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "umask", "0077", 0), 0);
	char *out = RUN_OK(fd, "attrs_umask", NULL);
	ASSERT_STREQ(out, "077");
	free(out);
}

TEST(attr_umask_default_is_callers)
{
	umask(026);
	int fd = new_handle();
	char *out = RUN_OK(fd, "attrs_umask", NULL);
	ASSERT_STREQ(out, "026");
	free(out);
}

/* ---- session and process group ----------------------------------------- */

TEST(attr_default_keeps_session_and_group)
{
	int pid, pgrp, sid;
	int fd = new_handle();
	char *out = RUN_OK(fd, "attrs_ids", NULL);

	ASSERT_EQ(sscanf(out, "pid=%d pgrp=%d sid=%d", &pid, &pgrp, &sid), 3);
	ASSERT_EQ(pgrp, getpgrp());
	ASSERT_EQ(sid, getsid(0));
	free(out);
}

TEST(attr_setsid_makes_session_leader)
{
	int pid, pgrp, sid;
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_setsid(fd), 0);
	char *out = RUN_OK(fd, "attrs_ids", NULL);
	ASSERT_EQ(sscanf(out, "pid=%d pgrp=%d sid=%d", &pid, &pgrp, &sid), 3);
	ASSERT_EQ(sid, pid);
	ASSERT_EQ(pgrp, pid);
	ASSERT_NE(sid, getsid(0));
	free(out);
}

TEST(attr_setsid_from_string_yes)
{
	int pid, pgrp, sid;
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "setsid", "yes", 0), 0);
	char *out = RUN_OK(fd, "attrs_ids", NULL);
	ASSERT_EQ(sscanf(out, "pid=%d pgrp=%d sid=%d", &pid, &pgrp, &sid), 3);
	ASSERT_EQ(sid, pid);
	free(out);
}

TEST(attr_pgroup_zero_makes_own_group_same_session)
{
	int pid, pgrp, sid;
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_pgroup(fd, 0), 0);
	char *out = RUN_OK(fd, "attrs_ids", NULL);
	ASSERT_EQ(sscanf(out, "pid=%d pgrp=%d sid=%d", &pid, &pgrp, &sid), 3);
	ASSERT_EQ(pgrp, pid);
	ASSERT_NE(pgrp, getpgrp());
	ASSERT_EQ(sid, getsid(0));
	free(out);
}

/* setpgid(2) to a group that does not exist in our session is EPERM. */
TEST(attr_pgroup_missing_fails_at_pgroup_stage)
{
	if (kill(-999999, 0) == 0 || errno != ESRCH)
		SKIP("process group 999999 exists");
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_pgroup(fd, 999999), 0);
	EXPECT_FAILURE_AT(fd, EPERM, FL_STAGE_PGROUP, -1);
}

/* ---- controlling terminal ---------------------------------------------- */

/* A new pty; the master in *ret_master, the slave's path in slave. */
static void open_pty(int *ret_master, char *slave, size_t len)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		SKIP("posix_openpt failed");
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, len) != 0) {
		close(m);
		SKIP("pty setup failed");
	}
	*ret_master = m;
}

TEST(attr_ctty_from_fd_is_controlling_tty)
{
	char slave[128];
	int master;

	open_pty(&master, slave, sizeof(slave));
	int s = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_GE(s, 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_ctty_fd(fd, s), 0);
	close(s);
	char *args[] = { slave, NULL };
	char *out = RUN_OK(fd, "attrs_ctty", args);
	ASSERT_STREQ(out, "devtty=1 ctty_is_arg=1 leader=1");
	free(out);
	close(master);
}

TEST(attr_ctty_from_path_is_controlling_tty)
{
	char slave[128];
	int master;

	open_pty(&master, slave, sizeof(slave));
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "ctty", slave, 0), 0);
	char *args[] = { slave, NULL };
	char *out = RUN_OK(fd, "attrs_ctty", args);
	ASSERT_STREQ(out, "devtty=1 ctty_is_arg=1 leader=1");
	free(out);
	close(master);
}

/* ---- signals ----------------------------------------------------------- */

static void child_signals(int fd, unsigned long long *blk, unsigned long long *ign)
{
	char *out = RUN_OK(fd, "attrs_signals", NULL);
	ASSERT_EQ(sscanf(out, "blk=%llx ign=%llx", blk, ign), 2);
	free(out);
}

static void block_signal(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
}

TEST(attr_sigmask_default_is_empty_even_if_caller_blocks)
{
	unsigned long long blk, ign;

	block_signal(SIGUSR1);
	int fd = new_handle();
	child_signals(fd, &blk, &ign);
	ASSERT_EQ(blk, 0);
}

TEST(attr_sigmask_is_exactly_the_configured_set)
{
	unsigned long long blk, ign;
	sigset_t set;

	block_signal(SIGUSR1);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_sigmask(fd, &set), 0);
	child_signals(fd, &blk, &ign);
	ASSERT_EQ(blk, sigbit(SIGUSR2) | sigbit(SIGTERM));
}

TEST(attr_sigmask_from_string)
{
	unsigned long long blk, ign;
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "sigmask", "USR2,SIGTERM,RTMIN+1", 0), 0);
	child_signals(fd, &blk, &ign);
	ASSERT_EQ(blk, sigbit(SIGUSR2) | sigbit(SIGTERM) | sigbit(SIGRTMIN + 1));
}

TEST(attr_ignored_signal_stays_ignored_by_default)
{
	unsigned long long blk, ign;

	signal(SIGUSR2, SIG_IGN);
	int fd = new_handle();
	child_signals(fd, &blk, &ign);
	ASSERT_TRUE(ign & sigbit(SIGUSR2));
}

TEST(attr_sigdefault_resets_only_named_ignored_signals)
{
	unsigned long long blk, ign;
	sigset_t set;

	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_sigdefault(fd, &set), 0);
	child_signals(fd, &blk, &ign);
	ASSERT_EQ(ign & sigbit(SIGUSR2), 0);
	ASSERT_TRUE(ign & sigbit(SIGHUP));
}

TEST(attr_sigdefault_from_string)
{
	unsigned long long blk, ign;

	signal(SIGUSR2, SIG_IGN);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "sigdefault", "SIGUSR2", 0), 0);
	child_signals(fd, &blk, &ign);
	ASSERT_EQ(ign & sigbit(SIGUSR2), 0);
}

/* ---- rlimits ----------------------------------------------------------- */

/*
 * Valgrind emulates RLIMIT_NOFILE (it keeps fds of its own at the top) and
 * refuses to change its hard limit in the child it runs before exec.
 */
static void skip_nofile_under_valgrind(void)
{
	if (fl_test_valgrind())
		SKIP("valgrind emulates RLIMIT_NOFILE");
}

static char *child_rlimit(int fd, const char *name)
{
	char *args[] = { (char *)name, NULL };
	return RUN_OK(fd, "attrs_rlimit", args);
}

TEST(attr_rlimit_nofile_soft_hard_string)
{
	skip_nofile_under_valgrind();
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "100:200", 0), 0);
	char *out = child_rlimit(fd, "nofile");
	ASSERT_STREQ(out, "100:200");
	free(out);
}

TEST(attr_rlimit_single_value_sets_soft_and_hard)
{
	skip_nofile_under_valgrind();
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "150", 0), 0);
	char *out = child_rlimit(fd, "nofile");
	ASSERT_STREQ(out, "150:150");
	free(out);
}

/* Sanitizer runtimes lower RLIMIT_CORE's soft limit at start unless told not to. */
static void helper_keeps_core_limit(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s%sdisable_coredump=0", old ? old : "",
		 old && *old ? ":" : "");
	ASSERT_EQ(setenv("ASAN_OPTIONS", buf, 1), 0);
}

TEST(attr_rlimit_core_unlimited)
{
	struct rlimit cur;

	ASSERT_EQ(getrlimit(RLIMIT_CORE, &cur), 0);
	if (cur.rlim_max != RLIM_INFINITY)
		require_cap_sys_resource();
	helper_keeps_core_limit();
	cur.rlim_cur = 0; /* lowering is always allowed: the child's value is visibly ours */
	ASSERT_EQ(setrlimit(RLIMIT_CORE, &cur), 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.core", "unlimited", 0), 0);
	char *out = child_rlimit(fd, "core");
	ASSERT_STREQ(out, "unlimited:unlimited");
	free(out);
}

TEST(attr_rlimit_core_soft_with_unlimited_hard)
{
	struct rlimit cur;

	ASSERT_EQ(getrlimit(RLIMIT_CORE, &cur), 0);
	if (cur.rlim_max != RLIM_INFINITY)
		require_cap_sys_resource();
	helper_keeps_core_limit();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.core", "4096:infinity", 0), 0);
	char *out = child_rlimit(fd, "core");
	ASSERT_STREQ(out, "4096:unlimited");
	free(out);
}

TEST(attr_rlimit_nproc)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nproc", "500:1000", 0), 0);
	char *out = child_rlimit(fd, "nproc");
	ASSERT_STREQ(out, "500:1000");
	free(out);
}

TEST(attr_rlimit_from_typed_helper)
{
	struct rlimit rl = { 64, 128 };

	skip_nofile_under_valgrind();
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_NOFILE, &rl), 0);
	char *out = child_rlimit(fd, "nofile");
	ASSERT_STREQ(out, "64:128");
	free(out);
}

TEST(attr_rlimit_several_at_once)
{
	struct rlimit nofile = { 90, 95 }, core = { 0, 0 };
	char *args[] = { "nofile", "core", NULL };

	skip_nofile_under_valgrind();
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_NOFILE, &nofile), 0);
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_CORE, &core), 0);
	char *out = RUN_OK(fd, "attrs_rlimit", args);
	ASSERT_STREQ(out, "90:95 0:0");
	free(out);
}

/* Rlimits apply before credentials drop: root may still raise a hard limit for nobody. */
TEST(attr_rlimit_applied_before_uid_drop)
{
	struct rlimit cur, want;
	char expect[80];

	skip_nofile_under_valgrind();
	require_root();
	require_cap_sys_resource();
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &cur), 0);
	if (cur.rlim_max == RLIM_INFINITY || cur.rlim_max >= 1048576)
		SKIP("nofile hard limit cannot be raised");
	want.rlim_cur = cur.rlim_cur;
	want.rlim_max = cur.rlim_max + 1;
	fmt_rlimit(expect, sizeof(expect), &want);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_NOFILE, &want), 0);
	ASSERT_EQ(fl_pidfd_set_groups(fd, NULL, 0), 0);
	ASSERT_EQ(fl_pidfd_set_gid(fd, NOBODY), 0);
	ASSERT_EQ(fl_pidfd_set_uid(fd, NOBODY), 0);
	char *out = child_rlimit(fd, "nofile");
	ASSERT_STREQ(out, expect);
	free(out);
}

TEST(attr_rlimit_raise_unprivileged_fails_at_rlimit_stage)
{
	struct rlimit cur, want;

	drop_privileges();
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &cur), 0);
	if (cur.rlim_max == RLIM_INFINITY)
		SKIP("nofile hard limit is unlimited");
	want.rlim_cur = cur.rlim_cur;
	want.rlim_max = cur.rlim_max + 1;
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_NOFILE, &want), 0);
	EXPECT_FAILURE_AT(fd, EPERM, FL_STAGE_RLIMIT, RLIMIT_NOFILE);
}

/* ---- credentials ------------------------------------------------------- */

TEST(attr_uid_gid_groups_from_typed_helpers)
{
	gid_t groups[] = { NOBODY, 100 };

	require_root();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_groups(fd, groups, 2), 0);
	ASSERT_EQ(fl_pidfd_set_gid(fd, NOBODY), 0);
	ASSERT_EQ(fl_pidfd_set_uid(fd, NOBODY), 0);
	char *out = RUN_OK(fd, "attrs_creds", NULL);
	ASSERT_STREQ(out, "uid=65534,65534,65534 gid=65534,65534,65534 groups=100,65534");
	free(out);
}

TEST(attr_uid_gid_groups_from_strings)
{
	require_root();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "groups", "65534,100", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "gid", "65534", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "uid", "65534", 0), 0);
	char *out = RUN_OK(fd, "attrs_creds", NULL);
	ASSERT_STREQ(out, "uid=65534,65534,65534 gid=65534,65534,65534 groups=100,65534");
	free(out);
}

TEST(attr_uid_from_user_name)
{
	struct passwd *pw;

	require_root();
	if (!(pw = getpwnam("nobody")))
		SKIP("no user nobody");
	char expect[128];
	snprintf(expect, sizeof(expect), "uid=%u,%u,%u", pw->pw_uid, pw->pw_uid, pw->pw_uid);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "uid", "nobody", 0), 0);
	char *out = RUN_OK(fd, "attrs_creds", NULL);
	ASSERT_EQ(strncmp(out, expect, strlen(expect)), 0);
	free(out);
}

TEST(attr_setuid_unprivileged_fails_at_uid_stage)
{
	drop_privileges();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_uid(fd, 0), 0);
	EXPECT_FAILURE_AT(fd, EPERM, FL_STAGE_UID, -1);
}

TEST(attr_setgroups_unprivileged_fails_at_groups_stage)
{
	gid_t g = 0;

	drop_privileges();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_groups(fd, &g, 1), 0);
	EXPECT_FAILURE_AT(fd, EPERM, FL_STAGE_GROUPS, -1);
}

/* ---- CPU affinity ------------------------------------------------------ */

static void require_two_cpus_with_cpu0(void)
{
	cpu_set_t set;

	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	if (CPU_COUNT(&set) < 2 || !CPU_ISSET(0, &set))
		SKIP("needs CPU 0 and another CPU");
}

TEST(attr_affinity_from_string_cpu0)
{
	require_two_cpus_with_cpu0();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "affinity", "0", 0), 0);
	char *out = RUN_OK(fd, "attrs_affinity", NULL);
	ASSERT_STREQ(out, "0");
	free(out);
}

TEST(attr_affinity_from_cpu_set_cpu0)
{
	cpu_set_t set;

	require_two_cpus_with_cpu0();
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_affinity(fd, &set), 0);
	char *out = RUN_OK(fd, "attrs_affinity", NULL);
	ASSERT_STREQ(out, "0");
	free(out);
}

/* The caller's affinity at the run, not all CPUs and not the one it had
 * when the handle was opened: the caller narrows it to its last CPU first. */
TEST(attr_affinity_default_is_callers)
{
	cpu_set_t set, one;
	char expect[4096];
	int last = -1;

	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	if (CPU_COUNT(&set) < 2)
		SKIP("needs two CPUs: with one, any affinity is the caller's");
	int fd = new_handle();
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			last = i;
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	fmt_cpuset(expect, sizeof(expect), &one);
	char *out = RUN_OK(fd, "attrs_affinity", NULL);
	ASSERT_STREQ(out, expect);
	free(out);
	/* and a plain fl_spawn the same */
	int p;
	pid_t pid = fl_test_helper("attrs_affinity", NULL, &p);
	out = fl_test_slurp(p);
	ASSERT_EQ(fl_test_wait(pid), 0);
	ASSERT_EQ(strlen(out) > 0 && out[strlen(out) - 1] == '\n', 1);
	out[strlen(out) - 1] = 0;
	ASSERT_STREQ(out, expect);
	free(out);
}

/* A CPU the machine does not have: sched_setaffinity(2) says EINVAL. */
TEST(attr_affinity_absent_cpu_fails_at_affinity_stage)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	if (n >= CPU_SETSIZE)
		SKIP("every CPU number exists");
	char cpu[16];
	snprintf(cpu, sizeof(cpu), "%d", CPU_SETSIZE - 1);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "affinity", cpu, 0), 0);
	EXPECT_FAILURE_AT(fd, EINVAL, FL_STAGE_AFFINITY, -1);
}

/* ---- scheduler --------------------------------------------------------- */

static void check_sched(int line, int fd, int policy, int prio)
{
	char expect[64];
	char *out = run_ok_at(line, fd, "attrs_sched", NULL);

	snprintf(expect, sizeof(expect), "policy=%d prio=%d", policy, prio);
	if (strcmp(out, expect))
		fl_test_fail(__FILE__, line, "child has \"%s\", want \"%s\"", out, expect);
	free(out);
}

TEST(attr_sched_batch)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_sched(fd, SCHED_BATCH, 0), 0);
	check_sched(__LINE__, fd, SCHED_BATCH, 0);
}

TEST(attr_sched_idle_from_strings)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "sched_policy", "idle", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "sched_priority", "0", 0), 0);
	check_sched(__LINE__, fd, SCHED_IDLE, 0);
}

TEST(attr_sched_fifo_priority_1)
{
	struct sched_param p = { .sched_priority = 1 }, zero = { 0 };

	/* probe on ourselves, then go back: the child must get it from the config */
	if (sched_setscheduler(0, SCHED_FIFO, &p) < 0)
		SKIP("SCHED_FIFO not permitted here");
	ASSERT_EQ(sched_setscheduler(0, SCHED_OTHER, &zero), 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_sched(fd, SCHED_FIFO, 1), 0);
	check_sched(__LINE__, fd, SCHED_FIFO, 1);
}

TEST(attr_sched_fifo_priority_0_fails_at_sched_stage)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_sched(fd, SCHED_FIFO, 0), 0);
	EXPECT_FAILURE_AT(fd, EINVAL, FL_STAGE_SCHED, -1);
}

/* ---- parent-death signal ----------------------------------------------- */

static void check_pdeathsig(int line, int fd, int sig)
{
	char *out = run_ok_at(line, fd, "attrs_pdeathsig", NULL);

	if (atoi(out) != sig)
		fl_test_fail(__FILE__, line, "child's pdeathsig is %s, want %d", out, sig);
	free(out);
}

TEST(attr_pdeathsig_from_int)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_pdeathsig(fd, SIGUSR1), 0);
	check_pdeathsig(__LINE__, fd, SIGUSR1);
}

TEST(attr_pdeathsig_from_signal_name)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "pdeathsig", "SIGTERM", 0), 0);
	check_pdeathsig(__LINE__, fd, SIGTERM);
}

TEST(attr_pdeathsig_default_is_none)
{
	int fd = new_handle();

	check_pdeathsig(__LINE__, fd, 0);
}

/*
 * The kernel clears the parent-death signal whenever the euid/egid change
 * (commit_creds()), so it must be set after the credentials drop.
 */
TEST(attr_pdeathsig_survives_uid_change)
{
	require_root();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_pdeathsig(fd, SIGTERM), 0);
	ASSERT_EQ(fl_pidfd_set_gid(fd, NOBODY), 0);
	ASSERT_EQ(fl_pidfd_set_uid(fd, NOBODY), 0);
	check_pdeathsig(__LINE__, fd, SIGTERM);
}

/* ---- NUMA -------------------------------------------------------------- */

static void require_numa(void)
{
	int mode;

	if (syscall(SYS_get_mempolicy, &mode, NULL, 0UL, NULL, 0UL) < 0 && errno == ENOSYS)
		SKIP("no NUMA support (get_mempolicy ENOSYS)");
	if (access("/sys/devices/system/node/node0", F_OK) < 0)
		SKIP("no node0 in sysfs");
}

static void child_mempolicy(int fd, int *mode, unsigned long *nodes)
{
	char *out = RUN_OK(fd, "attrs_mempolicy", NULL);

	if (sscanf(out, "mode=%d nodes=%lx", mode, nodes) != 2)
		fl_test_fail(__FILE__, __LINE__, "get_mempolicy in the child: %s", out);
	free(out);
}

TEST(attr_mempolicy_local)
{
	int mode;
	unsigned long nodes;

	require_numa();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "mempolicy", "local", 0), 0);
	child_mempolicy(fd, &mode, &nodes);
	/* kernels before 5.x report MPOL_LOCAL as MPOL_PREFERRED with no node */
	ASSERT_TRUE(mode == MPOL_LOCAL_ || (mode == MPOL_PREFERRED_ && nodes == 0));
}

TEST(attr_mempolicy_preferred_node0)
{
	int mode;
	unsigned long nodes;

	require_numa();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "mempolicy", "preferred:0", 0), 0);
	child_mempolicy(fd, &mode, &nodes);
	ASSERT_EQ(mode, MPOL_PREFERRED_);
	ASSERT_EQ(nodes, 1);
}

TEST(attr_numa_node0_sets_cpus_and_preferred_memory)
{
	char list[4096], expect[4096];
	cpu_set_t node, mine, both;
	int mode;
	unsigned long nodes;

	require_numa();
	FILE *f = fopen("/sys/devices/system/node/node0/cpulist", "re");
	ASSERT_TRUE(f != NULL);
	char *ok = fgets(list, sizeof(list), f);
	fclose(f);
	ASSERT_TRUE(ok != NULL);
	ASSERT_EQ(parse_cpulist(list, &node), 0);
	ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
	CPU_AND(&both, &node, &mine);
	if (!CPU_EQUAL(&both, &node))
		SKIP("we may not run on every CPU of node 0");
	fmt_cpuset(expect, sizeof(expect), &node);
	if (CPU_COUNT(&node) < 2)
		SKIP("node 0 has one CPU: its CPU set cannot differ from a narrowed caller's");

	/* the caller runs on one CPU of the node: the child must get the whole
	 * node, which then differs from what it would inherit (on a one-node
	 * machine, all CPUs are the node's) */
	cpu_set_t one;
	int first = 0;
	while (!CPU_ISSET(first, &node))
		first++;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_INT, "numa_node", NULL, 0), 0);
	char *out = RUN_OK(fd, "attrs_affinity", NULL);
	ASSERT_STREQ(out, expect);
	free(out);

	fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "numa_node", "0", 0), 0);
	child_mempolicy(fd, &mode, &nodes);
	ASSERT_EQ(mode, MPOL_PREFERRED_);
	ASSERT_EQ(nodes, 1);
}

/* ---- cgroup ------------------------------------------------------------ */

/* The first cgroup2 mount point from /proc/self/mountinfo; 0 or -1. */
static int cgroup2_mount(char *buf, size_t len)
{
	char line[4096], mnt[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int r = -1;

	if (!f)
		return -1;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < len) {
			strcpy(buf, mnt);
			r = 0;
		}
	}
	fclose(f);
	return r;
}

/* Make <cgroup2>/forkless-test-attrs-<pid>-<tag> or skip. */
static void make_cgroup(const char *tag, char *path, size_t len)
{
	char mnt[4096];

	require_root();
	if (cgroup2_mount(mnt, sizeof(mnt)) < 0)
		SKIP("no cgroup2 mount");
	snprintf(path, len, "%s/forkless-test-attrs-%d-%s", mnt, (int)getpid(), tag);
	if (mkdir(path, 0755) < 0)
		SKIP("cgroup2 mount not writable");
}

/* rmdir a cgroup whose last process was just reaped (may be briefly busy). */
static int remove_cgroup(const char *path)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 200; i++) {
		if (rmdir(path) == 0)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

/* Run attrs_cgroup from fd, clean the cgroup up, then judge. */
static void check_child_in_cgroup(int line, int fd, int config_r, const char *path)
{
	struct outcome o = { .r = config_r, .e = { 0, FL_STAGE_NONE, -1 }, .out = NULL };
	const char *name = strrchr(path, '/');

	if (config_r == 0)
		o = run_helper(fd, "attrs_cgroup", NULL);
	else
		close(fd);
	int rm = remove_cgroup(path);

	if (config_r != 0)
		fl_test_fail(__FILE__, line, "configuring cgroup %s: %d", path, config_r);
	if (o.r <= 0)
		fl_test_fail(__FILE__, line, "run: %d, error {%d (%s), %s, %d}", o.r, o.e.err,
			     strerror(o.e.err), fl_strstage(o.e.stage), o.e.index);
	if (o.waited != o.r || !WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0)
		fl_test_fail(__FILE__, line, "helper: wait %d status 0x%x", o.waited, o.status);
	size_t n = strlen(o.out), k = strlen(name);
	if (n < k || strcmp(o.out + n - k, name))
		fl_test_fail(__FILE__, line, "child's cgroup is \"%s\", want .../%s", o.out,
			     name + 1);
	if (rm < 0)
		fl_test_fail(__FILE__, line, "rmdir %s: %s", path, strerror(-rm));
	free(o.out);
}

TEST(attr_cgroup_from_path)
{
	char path[4200];

	make_cgroup("path", path, sizeof(path));
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	int r = fd < 0 ? fd : fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "cgroup", path, 0);
	if (fd < 0) {
		rmdir(path);
		ASSERT_GE(fd, 0);
	}
	check_child_in_cgroup(__LINE__, fd, r, path);
}

TEST(attr_cgroup_from_fd)
{
	char path[4200];

	make_cgroup("fd", path, sizeof(path));
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	int cg = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? fd : cg < 0 ? -errno : fl_pidfd_set_cgroup_fd(fd, cg);
	if (cg >= 0)
		close(cg);
	if (fd < 0) {
		rmdir(path);
		ASSERT_GE(fd, 0);
	}
	check_child_in_cgroup(__LINE__, fd, r, path);
}

/* ---- configuration errors ---------------------------------------------- */

TEST(attr_config_failed_set_leaves_value_unchanged)
{
	skip_nofile_under_valgrind();
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "100:200", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "300:100", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "300:x", 0), -EINVAL);
	struct rlimit bad = { 300, 100 };
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_NOFILE, &bad), -EINVAL);
	char *out = child_rlimit(fd, "nofile");
	ASSERT_STREQ(out, "100:200");
	free(out);
}

TEST(attr_config_failed_sets_keep_earlier_values)
{
	umask(022);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_umask(fd, 027), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "umask", "999", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_INT, "umask", NULL, 01000), -EINVAL);
	char *out = RUN_OK(fd, "attrs_umask", NULL);
	ASSERT_STREQ(out, "027");
	free(out);

	fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_pdeathsig(fd, SIGUSR1), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "pdeathsig", "SIGNOPE", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_set_pdeathsig(fd, 65), -EINVAL);
	check_pdeathsig(__LINE__, fd, SIGUSR1);
}

TEST(attr_config_unknown_key_is_einval)
{
	int fd = new_handle();
	struct rlimit rl = { 1, 1 };

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "no-such-key", "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.bogus", "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.", "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "UMASK", "022", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, NULL, "1", 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "no-such-key", NULL, 0), -EINVAL);
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, 1000, &rl), -EINVAL);
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, -1, &rl), -EINVAL);
	close(fd);
}

struct bad_config {
	unsigned int cmd;
	const char *key;
	const void *value;
	int aux;
	int want;
};

static void check_bad_configs(int line, const struct bad_config *t, size_t n)
{
	int fd = new_handle();

	for (size_t i = 0; i < n; i++) {
		int r = fl_pidfd_config(fd, t[i].cmd, t[i].key, t[i].value, t[i].aux);
		if (r != t[i].want)
			fl_test_fail(__FILE__, line,
				     "case %zu: cmd %u key \"%s\" value \"%s\" aux %d: got %d, want %d",
				     i, t[i].cmd, t[i].key,
				     t[i].cmd == FL_CONFIG_SET_STRING && t[i].value ?
					     (const char *)t[i].value : "-",
				     t[i].aux, r, t[i].want);
	}
	close(fd);
}

TEST(attr_config_wrong_command_for_key_is_einval)
{
	static const sigset_t set;
	static const struct rlimit rl = { 1, 1 };
	static char *const v[] = { "0", NULL };
	const struct bad_config t[] = {
		{ FL_CONFIG_SET_FD, "umask", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_STRINGV, "umask", v, 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "cwd", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_FLAG, "cwd", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_BINARY, "uid", &rl, 4, -EINVAL },
		{ FL_CONFIG_SET_FD, "gid", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "groups", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "rlimit.nofile", NULL, 5, -EINVAL },
		{ FL_CONFIG_SET_FD, "rlimit.core", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "sigmask", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_FD, "sigdefault", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_BINARY, "setsid", &set, sizeof(set), -EINVAL },
		{ FL_CONFIG_SET_STRINGV, "pgroup", v, 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "ctty", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "cgroup", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_FD, "pdeathsig", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_FD, "affinity", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "mempolicy", NULL, 1, -EINVAL },
		{ FL_CONFIG_SET_FD, "numa_node", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_FD, "sched_policy", NULL, 0, -EINVAL },
		{ FL_CONFIG_SET_BINARY, "sched_priority", &rl, 4, -EINVAL },
		{ 42, "umask", "022", 0, -EINVAL },
		{ 3, "uid", "0", 0, -EINVAL },
	};

	check_bad_configs(__LINE__, t, sizeof(t) / sizeof(t[0]));
}

TEST(attr_config_bad_values_are_rejected)
{
	const struct bad_config t[] = {
		{ FL_CONFIG_SET_STRING, "umask", "999", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "umask", "", 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "umask", NULL, -1, -EINVAL },
		{ FL_CONFIG_SET_STRING, "pdeathsig", "SIGNOPE", 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "pdeathsig", NULL, -1, -EINVAL },
		{ FL_CONFIG_SET_STRING, "affinity", "", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "affinity", "0-", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "affinity", "3-1", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "affinity", "99999", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "groups", "x", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "groups", "0,nosuchgroup-zz", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "uid", "nosuchuser-zz", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "gid", "nosuchgroup-zz", 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "uid", NULL, -1, -EINVAL },
		{ FL_CONFIG_SET_STRING, "mempolicy", "bind", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "mempolicy", "interleave", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "mempolicy", "local:0", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "mempolicy", "sometimes", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "mempolicy", "bind:1023", 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "numa_node", NULL, 1023, -EINVAL },
		{ FL_CONFIG_SET_STRING, "sched_policy", "bogus", 0, -EINVAL },
		{ FL_CONFIG_SET_INT, "sched_policy", NULL, 4, -EINVAL },
		{ FL_CONFIG_SET_INT, "sched_priority", NULL, 100, -EINVAL },
		{ FL_CONFIG_SET_INT, "pgroup", NULL, -1, -EINVAL },
		{ FL_CONFIG_SET_STRING, "setsid", "maybe", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "sigmask", "SIGNOPE", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "rlimit.nofile", "10:", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "rlimit.nofile", "-1", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "rlimit.nofile", "300:100", 0, -EINVAL },
		{ FL_CONFIG_SET_STRING, "ctty", "/dev/null", 0, -ENOTTY },
		{ FL_CONFIG_SET_STRING, "cwd", "", 0, -ENOENT },
		{ FL_CONFIG_SET_STRING, "cgroup", fl_test_exe, 0, -ENOTDIR },
	};

	check_bad_configs(__LINE__, t, sizeof(t) / sizeof(t[0]));
}

TEST(attr_config_cgroup_on_regular_file_fd_is_enotdir)
{
	int f = open(fl_test_exe, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(f, 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_cgroup_fd(fd, f), -ENOTDIR);
	ASSERT_EQ(fl_pidfd_set_cwd_fd(fd, f), -ENOTDIR);
	ASSERT_EQ(fl_pidfd_set_ctty_fd(fd, f), -ENOTTY);
	ASSERT_EQ(fl_pidfd_set_cgroup_fd(fd, -1), -EBADF);
	ASSERT_EQ(fl_pidfd_set_cwd_fd(fd, -1), -EBADF);
	close(f);
	close(fd);
}

/* ---- FL_CONFIG_UNSET --------------------------------------------------- */

TEST(attr_unset_umask_restores_callers)
{
	umask(022);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_umask(fd, 077), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "umask", NULL, 0), 0);
	char *out = RUN_OK(fd, "attrs_umask", NULL);
	ASSERT_STREQ(out, "022");
	free(out);
}

TEST(attr_unset_rlimit_restores_callers)
{
	struct rlimit cur, rl = { 50, 60 };
	char expect[80];

	ASSERT_EQ(getrlimit(RLIMIT_NPROC, &cur), 0);
	fmt_rlimit(expect, sizeof(expect), &cur);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_rlimit(fd, RLIMIT_NPROC, &rl), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "rlimit.nproc", NULL, 0), 0);
	char *out = child_rlimit(fd, "nproc");
	ASSERT_STREQ(out, expect);
	free(out);
}

TEST(attr_unset_cwd_restores_callers)
{
	char dir[512], here[PATH_MAX];

	make_dir("cwd-unset", 0755, dir, sizeof(dir), NULL);
	ASSERT_TRUE(getcwd(here, sizeof(here)) != NULL);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_GE(dfd, 0);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_cwd_fd(fd, dfd), 0);
	close(dfd);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "cwd", NULL, 0), 0);
	char *out = RUN_OK(fd, "attrs_cwd", NULL);
	ASSERT_STREQ(out, here);
	free(out);
}

TEST(attr_unset_uid_gid_groups_restores_callers)
{
	gid_t g = NOBODY;

	require_root();
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_set_groups(fd, &g, 1), 0);
	ASSERT_EQ(fl_pidfd_set_gid(fd, NOBODY), 0);
	ASSERT_EQ(fl_pidfd_set_uid(fd, NOBODY), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "uid", NULL, 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "gid", NULL, 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "groups", NULL, 0), 0);
	char *out = RUN_OK(fd, "attrs_creds", NULL);
	ASSERT_EQ(strncmp(out, "uid=0,0,0 gid=0,0,0 groups=", 27), 0);
	ASSERT_EQ(strstr(out, "65534") == NULL, 1);
	free(out);
}

TEST(attr_unset_setsid_keeps_session)
{
	int pid, pgrp, sid;
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_setsid(fd), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "setsid", NULL, 0), 0);
	char *out = RUN_OK(fd, "attrs_ids", NULL);
	ASSERT_EQ(sscanf(out, "pid=%d pgrp=%d sid=%d", &pid, &pgrp, &sid), 3);
	ASSERT_EQ(sid, getsid(0));
	free(out);
}

TEST(attr_unset_sigmask_restores_empty_mask)
{
	unsigned long long blk, ign;
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "sigmask", "TERM", 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "sigmask", NULL, 0), 0);
	child_signals(fd, &blk, &ign);
	ASSERT_EQ(blk, 0);
}

TEST(attr_unset_sched_restores_other)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_sched(fd, SCHED_BATCH, 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "sched_policy", NULL, 0), 0);
	check_sched(__LINE__, fd, SCHED_OTHER, 0);
}

TEST(attr_unset_pdeathsig_restores_none)
{
	int fd = new_handle();

	ASSERT_EQ(fl_pidfd_set_pdeathsig(fd, SIGUSR1), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "pdeathsig", NULL, 0), 0);
	check_pdeathsig(__LINE__, fd, 0);
}

/* Unsetting ctty must undo all that setting it did, the implied setsid too. */
TEST(attr_unset_ctty_leaves_no_setsid_behind)
{
	char slave[128];
	int master, pid, pgrp, sid;

	open_pty(&master, slave, sizeof(slave));
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "ctty", slave, 0), 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_UNSET, "ctty", NULL, 0), 0);
	close(master);
	char *out = RUN_OK(fd, "attrs_ids", NULL);
	ASSERT_EQ(sscanf(out, "pid=%d pgrp=%d sid=%d", &pid, &pgrp, &sid), 3);
	ASSERT_EQ(sid, getsid(0));
	free(out);
}

TEST(attr_unset_key_never_set_is_fine)
{
	static const char *const keys[] = {
		"cwd", "umask", "setsid", "pgroup", "ctty", "sigmask", "sigdefault",
		"rlimit.nofile", "uid", "gid", "groups", "cgroup", "pdeathsig",
		"affinity", "mempolicy", "numa_node", "sched_policy", "sched_priority",
	};
	int fd = new_handle();

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (fl_pidfd_config(fd, FL_CONFIG_UNSET, keys[i], NULL, 0) != 0)
			fl_test_fail(__FILE__, __LINE__, "UNSET %s failed", keys[i]);
	char *out = RUN_OK(fd, "attrs_ids", NULL);
	free(out);
}

/* ---- rlimit.nofile and the fd cleanup ---------------------------------- */

/* Make close_range(2) fail with ENOSYS for this process, as on kernels < 5.9. */
static void refuse_close_range(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ASSERT_EQ(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), 0);
	ASSERT_EQ(syscall(__NR_close_range, 1000, 1000, 0), -1);
	ASSERT_EQ(errno, ENOSYS);
}

/*
 * A low configured rlimit.nofile must not let the caller's fds above it
 * into the child when the cleanup has to close fds one by one.
 */
TEST(attr_low_rlimit_nofile_still_closes_fds_above_it)
{
	skip_nofile_under_valgrind();
	refuse_close_range();
	int nul = open("/dev/null", O_RDONLY); /* inheritable: only the cleanup closes it */
	ASSERT_GE(nul, 0);
	ASSERT_EQ(dup2(nul, 50), 50);
	close(nul);
	int fd = new_handle();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "rlimit.nofile", "10", 0), 0);
	char *out = RUN_OK(fd, "attrs_fds", NULL);
	close(50);
	ASSERT_STREQ(out, "");
	free(out);
}
