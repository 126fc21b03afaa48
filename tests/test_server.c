/* SPDX-License-Identifier: MIT */
/*
 * test_server.c - the spawn server (launcher=server): children stay the
 * caller's, errors and fds are those of the vfork launcher, what a child
 * inherits is the caller's at the request, credentials are checked per
 * request (a raw request after a drop is refused), and the server lives
 * exactly as long as the caller's use of it (exit, exec, its death, fork).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"
#include "seccomp.h"
#include "wire.h"

extern char **environ;

static int server_builder(void)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "launcher", "server", 0), 0);
	return fd;
}

/* Run helper name through a server builder; its output and exit status. */
static char *run_server_helper(const char *name, char *const args[], int *st)
{
	int fd = server_builder();
	return fl_test_run_handle(fd, name, args, st);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The children of this process (all tasks), with whether each is a live
 * process (not a zombie) and its real uid; returns how many. */
struct kid {
	pid_t pid;
	int live, uid;
	char exe[64];
};
static int list_children(struct kid *k, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		char path[300], buf[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t len = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
		if (f >= 0)
			close(f);
		buf[len > 0 ? len : 0] = 0;
		for (char *p = buf; *p && n < max;) {
			char *end;
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
			k[n] = (struct kid){ (pid_t)pid, 0, -1, "" };
			char st[300], line[256];
			snprintf(st, sizeof(st), "/proc/%ld/status", pid);
			FILE *sf = fopen(st, "re");
			while (sf && fgets(line, sizeof(line), sf)) {
				char state;
				if (sscanf(line, "State: %c", &state) == 1)
					k[n].live = state != 'Z';
				sscanf(line, "Uid: %d", &k[n].uid);
			}
			if (sf)
				fclose(sf);
			snprintf(st, sizeof(st), "/proc/%ld/comm", pid);
			int cf = open(st, O_RDONLY | O_CLOEXEC);
			ssize_t cl = cf >= 0 ? read(cf, k[n].exe, sizeof(k[n].exe) - 1) : -1;
			if (cf >= 0)
				close(cf);
			k[n].exe[cl > 0 ? cl - 1 : 0] = 0;
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* The pid of our forkless-server child (the first one), or 0. */
static pid_t server_pid(void)
{
	struct kid k[64];
	int n = list_children(k, 64);
	for (int i = 0; i < n; i++)
		if (k[i].live && !strcmp(k[i].exe, "forkless-server"))
			return k[i].pid;
	return 0;
}

/* ---- children stay the caller's ----------------------------------------- */

HELPER(srv_ids)
{
	(void)argc, (void)argv;
	printf("ppid %d\n", (int)getppid());
	return 0;
}

TEST(server_child_is_the_callers_own)
{
	int fd = server_builder(), st;
	char want[64];
	char *out = fl_test_run_handle(fd, "srv_ids", NULL, &st);
	snprintf(want, sizeof(want), "ppid %d\n", (int)getpid());
	ASSERT_STREQ(out, want); /* CLONE_PARENT: not the server's */
	free(out);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_NE(server_pid(), 0); /* the server did it, and is ours too */

	/* waitpid by pid and the pidfd both work, as with any child */
	char *argv[] = { "true", NULL };
	char path[4200];
	snprintf(path, sizeof(path), "%s/true-static", fl_test_builddir());
	fd = server_builder();
	int pidfd = -1;
	struct fl_spawn_args a = { .path = path, .argv = argv, .pidfd = &pidfd };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	ASSERT_GT(pid, 0);
	ASSERT_EQ(pidfd, fd); /* the handle became its pidfd */
	ASSERT_EQ(fl_pidfd_kill(fd, 0), 0);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	close(fd);
}

/* ---- errors: the same {errno, stage, index} as the vfork launcher --------- */

static void run_both(const char *path, const struct fl_action *acts, size_t n, const char *key,
		     const char *val)
{
	struct fl_error e[2];
	int r[2];
	char *argv[] = { "x", NULL };
	for (int i = 0; i < 2; i++) {
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
		ASSERT_GE(fd, 0);
		if (i)
			ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "launcher", "server", 0), 0);
		if (key)
			ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRING, key, val, 0), 0);
		struct fl_spawn_args a = { .path = path, .argv = argv, .actions = acts,
					   .nactions = n, .error = &e[i] };
		r[i] = fl_pidfd_spawn_run(fd, &a, sizeof(a));
		close(fd);
	}
	if (r[0] != r[1] || e[0].err != e[1].err || e[0].stage != e[1].stage ||
	    e[0].index != e[1].index)
		fl_test_fail(__FILE__, __LINE__, "%s: vfork %d {%d %d %d} server %d {%d %d %d}",
			     path, r[0], e[0].err, e[0].stage, e[0].index, r[1], e[1].err,
			     e[1].stage, e[1].index);
	ASSERT_LT(r[1], 0);
}

TEST(server_errors_are_the_vfork_launchers)
{
	int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(dn, 0);
	struct fl_action bad[] = {
		{ .type = FL_ACTION_DUP2, .fd = dn, .newfd = 5 },
		{ .type = FL_ACTION_DUP2, .fd = 987, .newfd = 6 }, /* not open */
	};
	struct fl_open o = { .path = "/nonexistent/x", .flags = O_RDONLY };
	struct fl_action badopen[] = {
		{ .type = FL_ACTION_CLOSE, .fd = dn },
		{ .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 4, .arg = (uintptr_t)&o },
	};
	run_both("/nonexistent", NULL, 0, NULL, NULL);
	run_both("/bin/true", bad, 2, NULL, NULL);
	run_both("/bin/true", badopen, 2, NULL, NULL);
	run_both("/bin/true", NULL, 0, "cwd", "/nonexistent");
	run_both("/etc/passwd", NULL, 0, NULL, NULL); /* EACCES at exec */
	close(dn);
}

/* ---- fds: what the vfork launcher's child would have -------------------- */

HELPER(srv_fds)
{
	(void)argc, (void)argv;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			printf("%s ", de->d_name);
	closedir(d);
	printf("\n");
	return 0;
}

TEST(server_child_fds_are_the_callers)
{
	/* made after the server started: they travel with the request */
	int fd = server_builder(), st;
	int keep = open("/dev/null", O_RDONLY);           /* inheritable */
	int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(keep, 3);
	char *out = fl_test_run_handle(fd, "srv_fds", NULL, &st);
	ASSERT_STREQ(out, "0 1 2 \n"); /* only stdio: nothing else is inherited by default */
	free(out);

	fd = server_builder();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "inherit_fds", NULL, 0), 0);
	/* exactly our fds without FD_CLOEXEC (and stdio): none of the server's */
	char want[4096] = "";
	size_t off = 0;
	for (int f = 0; f < 1024; f++) {
		int fl = fcntl(f, F_GETFD);
		if (fl >= 0 && (f < 3 || !(fl & FD_CLOEXEC)))
			off += (size_t)snprintf(want + off, sizeof(want) - off, "%d ", f);
	}
	snprintf(want + off, sizeof(want) - off, "\n");
	out = fl_test_run_handle(fd, "srv_fds", NULL, &st);
	ASSERT_STREQ(out, want);
	char one[64];
	snprintf(one, sizeof(one), " %d ", keep);
	ASSERT_TRUE(strstr(out, one) != NULL); /* inherited, at its number */
	snprintf(one, sizeof(one), " %d ", cloexec);
	ASSERT_TRUE(strstr(out, one) == NULL); /* O_CLOEXEC: not */
	free(out);
	close(keep);
	close(cloexec);
}

/* ---- inherited state is the caller's at the request, not the server's ---- */

HELPER(srv_state)
{
	(void)argc, (void)argv;
	char cwd[4200];
	mode_t m = umask(0);
	struct sigaction sa;
	sigaction(SIGUSR2, NULL, &sa);
	struct rlimit rl;
	getrlimit(RLIMIT_MSGQUEUE, &rl);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	printf("%s %03o %s %lld %d\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?", (unsigned)m,
	       sa.sa_handler == SIG_IGN ? "ign" : "dfl", (long long)rl.rlim_cur, nice);
	return 0;
}

TEST(server_child_inherits_the_callers_state_at_the_request)
{
	int st;
	char *out = run_server_helper("srv_ids", NULL, &st); /* the server starts now */
	free(out);
	/* changed after the server started */
	char old[4200], want[4400], real[4200];
	ASSERT_TRUE(getcwd(old, sizeof(old)) != NULL);
	ASSERT_EQ(chdir(fl_test_tmpdir()), 0);
	mode_t om = umask(027);
	struct sigaction ign = { .sa_handler = SIG_IGN }, osa;
	sigaction(SIGUSR2, &ign, &osa);
	struct rlimit orl, rl = { 12345, RLIM_INFINITY };
	getrlimit(RLIMIT_MSGQUEUE, &orl);
	rl.rlim_max = orl.rlim_max;
	ASSERT_EQ(setrlimit(RLIMIT_MSGQUEUE, &rl), 0);
	errno = 0;
	int onice = getpriority(PRIO_PROCESS, 0);
	ASSERT_EQ(setpriority(PRIO_PROCESS, 0, onice + 1), 0);
	out = run_server_helper("srv_state", NULL, &st);
	ASSERT_TRUE(realpath(fl_test_tmpdir(), real) != NULL);
	snprintf(want, sizeof(want), "%s 027 ign %lld %d\n", real, (long long)rl.rlim_cur,
		 onice + 1);
	ASSERT_STREQ(out, want);
	free(out);
	ASSERT_EQ(chdir(old), 0);
	umask(om);
	sigaction(SIGUSR2, &osa, NULL);
	ASSERT_EQ(setrlimit(RLIMIT_MSGQUEUE, &orl), 0);
	setpriority(PRIO_PROCESS, 0, onice); /* root: may lower it again */
	/* back as they were: the child has them back too (the server leaves a
	 * limit equal to its own alone) */
	out = run_server_helper("srv_state", NULL, &st);
	ASSERT_TRUE(realpath(old, real) != NULL);
	snprintf(want, sizeof(want), "%s %03o dfl %lld %d\n", real, (unsigned)om,
		 (long long)orl.rlim_cur, onice);
	ASSERT_STREQ(out, want);
	free(out);
}

/* Run argv (argv[0] a full path) through a server, with its output in
 * out: 0, or -1 if it did not run and exit 0.  For helpers of ours that
 * cannot run our own binary (no /proc: its $ORIGIN is unknown). */
static int output_through_server(char *const argv[], char *out, size_t size)
{
	int fd = server_builder(), p[2], st = -1;
	struct fl_action a = { .type = FL_ACTION_DUP2, .newfd = 1 };
	struct fl_spawn_args sa = { .path = argv[0], .argv = argv, .actions = &a, .nactions = 1 };
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	a.fd = p[1];
	int pid = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	char *s = fl_test_slurp(p[0]);
	snprintf(out, size, "%s", s);
	free(s);
	if (pid < 0 || fl_pidfd_wait(fd, &st, 0) != pid || st != 0)
		return -1;
	close(fd);
	return 0;
}

static char *id_g[] = { "/usr/bin/id", "-G", NULL };

/* Where sched_getattr is refused (an old seccomp profile), the nice value
 * and policy come from the three calls it replaces. */
TEST(server_child_inherits_nice_with_sched_getattr_refused)
{
	struct fl_sc_rule r[] = { { SYS_sched_getattr, ENOSYS, 0, 0 } };
	fl_sc_install(r, 1);
	int st;
	free(run_server_helper("srv_ids", NULL, &st)); /* the server starts with our nice */
	errno = 0;
	int onice = getpriority(PRIO_PROCESS, 0);
	ASSERT_EQ(setpriority(PRIO_PROCESS, 0, onice + 2), 0);
	char *out = run_server_helper("srv_state", NULL, &st);
	ASSERT_EQ(st, 0);
	char want[32];
	snprintf(want, sizeof(want), " %d\n", onice + 2);
	ASSERT_TRUE(strlen(out) > strlen(want));
	ASSERT_STREQ(out + strlen(out) - strlen(want), want);
	free(out);
	setpriority(PRIO_PROCESS, 0, onice);
}

/* Without /proc the library reads the rlimits itself and sends them (the
 * server reads /proc/CALLER/limits otherwise): the same child either way. */
HELPER(srv_noproc)
{
	(void)argc, (void)argv;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2("/proc", MNT_DETACH) < 0)
		return 3;
	if (open("/proc/self/limits", O_RDONLY) >= 0)
		return 4;
	char out[256], *t[] = { "/bin/true", NULL };
	if (output_through_server(t, out, sizeof(out)) < 0)
		return 5; /* the server starts with our limits and umask */
	struct rlimit rl;
	getrlimit(RLIMIT_MSGQUEUE, &rl);
	rl.rlim_cur = 4321;
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) < 0)
		return 6;
	umask(026);
	char *sh[] = { "/bin/bash", "-c", "echo $(umask) $(ulimit -q)", NULL };
	if (output_through_server(sh, out, sizeof(out)) < 0)
		return 7;
	printf("%s", out);
	fflush(stdout);
	_exit(0); /* no exit handlers: a leak checker needs the /proc gone here */
}

TEST(server_child_inherits_rlimits_without_proc)
{
	char *s = fl_test_helper_output("srv_noproc", NULL);
	ASSERT_STREQ(s, "0026 4321\n");
	free(s);
}

/* ---- the environment variable: every front end, the shim too ------------ */

HELPER(srv_env_launcher)
{
	(void)argc, (void)argv;
	char *args[] = { "true", NULL };
	char path[4200];
	pid_t pid;
	int st;
	snprintf(path, sizeof(path), "%s/true-static", fl_test_builddir());
	if (fl_posix_spawn(&pid, path, NULL, NULL, args, environ) || waitpid(pid, &st, 0) != pid ||
	    st)
		return 3;
	printf("%s\n", server_pid() ? "server" : "none");
	return 0;
}

TEST(server_is_the_default_with_forkless_launcher_set)
{
	char *out = fl_test_helper_output("srv_env_launcher", NULL);
	ASSERT_STREQ(out, "none\n");
	free(out);
	setenv("FORKLESS_LAUNCHER", "server", 1);
	out = fl_test_helper_output("srv_env_launcher", NULL);
	unsetenv("FORKLESS_LAUNCHER");
	ASSERT_STREQ(out, "server\n");
	free(out);
}

/* ---- credentials ---------------------------------------------------------- */

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(20);
}

/* Changes the kernel's word (uid, gid of SCM_CREDENTIALS) does not show,
 * made by raw syscalls of this thread that the library's threads never
 * hear of: the library sees each at the next request, and the server of
 * the old credentials is gone by the time the request is answered; the
 * new server stays (the watcher's own credentials did not change). */
/* Run id -G through the server after a change: the server that runs it
 * is a new one and the old one (*srv) is gone; *srv becomes the new. */
static bool new_server_runs(pid_t *srv, char *out, size_t size)
{
	pid_t old = *srv;
	if (output_through_server(id_g, out, size) < 0)
		return false;
	*srv = server_pid();
	return *srv && *srv != old && kill(old, 0) < 0;
}

HELPER(srv_raw_creds)
{
	(void)argc, (void)argv;
	char out[256];
	if (output_through_server(id_g, out, sizeof(out)) < 0)
		return 3;
	pid_t srv = server_pid();
	gid_t g = 4242;
	if (!srv || syscall(SYS_setgroups, 1, &g) < 0)
		return 4;
	if (!new_server_runs(&srv, out, sizeof(out)) || strcmp(out, "0 4242\n"))
		return 5; /* and it has our new groups */
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return 6;
	d[0].effective &= ~(1u << CAP_KILL);
	if (syscall(SYS_capset, &h, d) < 0 || !new_server_runs(&srv, out, sizeof(out)))
		return 7;
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    !new_server_runs(&srv, out, sizeof(out)))
		return 8;
	/* no change: the same server */
	if (output_through_server(id_g, out, sizeof(out)) < 0 || server_pid() != srv)
		return 9;
	return 0;
}

/* More groups than the library records one by one, and a status text
 * longer than its first read: the same credentials each time (no new
 * server per request), and the child has every group. */
HELPER(srv_many_groups)
{
	(void)argc, (void)argv;
	static gid_t g[3000];
	for (int i = 0; i < 3000; i++)
		g[i] = 100000 + (gid_t)i;
	if (setgroups(3000, g) < 0)
		return 3;
	char out[65536];
	if (output_through_server(id_g, out, sizeof(out)) < 0)
		return 4;
	pid_t a = server_pid();
	int n = 0;
	for (char *p = out; *p; p++)
		n += *p == ' ';
	if (n != 3000) /* "0 100000 ... 102999" */
		return 5;
	if (output_through_server(id_g, out, sizeof(out)) < 0 || !a || server_pid() != a)
		return 6;
	return 0;
}

TEST(many_groups_keep_one_server)
{
	free(fl_test_helper_output("srv_many_groups", NULL));
}

TEST(raw_credential_changes_get_a_new_server)
{
	free(fl_test_helper_output("srv_raw_creds", NULL));
}

/* An embryo made as root (a spare of a reserve made then, or made at the
 * open), run after the drop: refused, nothing runs. */
static int open_then_drop(int what, int reserve)
{
	if (reserve && fl_embryo_reserve(2, 0))
		return 9;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0)
		return 10;
	if (what == 0)
		drop_to_nobody();
	else if (what == 1 && setresgid(4242, 4242, 4242))
		return 11;
	else if (what == 2) {
		gid_t g[] = { 4242 };
		if (setgroups(1, g))
			return 11;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return 12;
	char *argv[] = { "id", NULL };
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	struct fl_error e;
	struct fl_spawn_args sa = { .path = "/usr/bin/id", .argv = argv, .actions = &a,
				    .nactions = 1, .error = &e };
	int r = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	char buf[256] = { 0 };
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	if (n > 0)
		return 13; /* a child of the old credentials ran */
	if (r != -EPERM || e.stage != FL_STAGE_CONFIG)
		return 14;
	close(fd);
	/* a new embryo has the new credentials */
	fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	if (fd < 0 || pipe2(p, O_CLOEXEC))
		return 15;
	a.fd = p[1];
	r = fl_pidfd_spawn_run(fd, &sa, sizeof(sa));
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	int st;
	if (r <= 0 || fl_pidfd_wait(fd, &st, 0) != r || n <= 0)
		return 16;
	if (what == 0 && !strstr(buf, "uid=65534"))
		return 17;
	if (what == 1 && !strstr(buf, "gid=4242"))
		return 18;
	if (what == 2 && !strstr(buf, "4242"))
		return 19;
	return 0;
}

TEST(credentials_drop_between_open_or_reserve_and_run_is_refused)
{
	if (geteuid() != 0)
		SKIP("needs root to drop privileges");
	for (int what = 0; what < 6; what++) { /* uid, gid, groups; without, with a reserve */
		pid_t c = fork();
		ASSERT_GE(c, 0);
		if (c == 0)
			_exit(open_then_drop(what % 3, what / 3));
		int st = fl_test_wait(c);
		ASSERT_TRUE(WIFEXITED(st));
		if (WEXITSTATUS(st))
			fl_test_fail(__FILE__, __LINE__, "change %d: exit %d", what, WEXITSTATUS(st));
	}
}

/* The server's own socket (the only socket the process has). */
static int find_socket(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1, n = 0;
	while ((de = readdir(d))) {
		char p[300], l[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
		ssize_t k = readlink(p, l, sizeof(l) - 1);
		if (k > 0 && (l[k] = 0, !strncmp(l, "socket:", 7))) {
			found = atoi(de->d_name);
			n++;
		}
	}
	closedir(d);
	return n == 1 ? found : -1;
}

/* What code that took over the caller's memory could do after the drop:
 * write a request of its own on the old socket. */
static int raw_request_after_drop(void)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/true-static", fl_test_builddir());
	if (fl_embryo_reserve(2, 0))
		return 10;
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO); /* an unrun embryo too */
	if (fd < 0)
		return 11;
	int sock = find_socket();
	if (sock < 0)
		return 12;
	int mine = dup(sock); /* kept: the library's own goes when it sees the drop */
	struct kid old[64];
	int nold = list_children(old, 64); /* server, spares, the embryo: all root */
	if (nold < 3) /* the spare that replaces the one handed out may be on its way */
		return 18;
	/* the drop, by raw syscalls of this thread alone: the library's
	 * threads do not see it (no set*id broadcast), the kernel does */
	if (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, 65534, 65534, 65534) ||
	    syscall(SYS_setresuid, 65534, 65534, 65534))
		return 13;
	/* a hand-made spawn request: header, empty payload, a reply socket */
	int rs[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rs))
		return 14;
	struct fl__wreq h = { .magic = FL__WIRE_MAGIC, .type = FL__W_SPAWN,
			      .spec_size = sizeof(struct fl__spec) };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	memset(u.b, 0, sizeof(u.b));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &rs[1], sizeof(int));
	if (sendmsg(mine, &m, MSG_NOSIGNAL) != sizeof(h))
		return 15;
	double t0 = now_ms();
	close(rs[1]);
	struct fl__wrep w;
	if (recv(rs[0], &w, sizeof(w), 0) != sizeof(w) || w.result != -EPERM)
		return 16; /* refused by the server, on the kernel's word */
	/* no process of the old credentials within 100 ms: each is gone */
	for (;;) {
		int left = 0;
		for (int i = 0; i < nold; i++) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/%d", old[i].pid);
			left += access(p, F_OK) == 0;
		}
		if (!left)
			break;
		if (now_ms() - t0 > 100) {
			for (int i = 0; i < nold; i++)
				fprintf(stderr, "# old: pid %d %s\n", old[i].pid, old[i].exe);
			return 17;
		}
		usleep(2000);
	}
	(void)fd;
	return 0;
}

TEST(raw_request_on_the_old_socket_after_a_drop_is_refused)
{
	if (geteuid() != 0)
		SKIP("needs root to drop privileges");
	pid_t c = fork();
	ASSERT_GE(c, 0);
	if (c == 0)
		_exit(raw_request_after_drop());
	int st = fl_test_wait(c);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* ---- lifetime ------------------------------------------------------------- */

/* The caller execs with a server, spares and an unrun embryo: an O_CLOEXEC
 * pipe sees EOF at exec (no helper holds the caller's fds), also with kcmp
 * refused; the server and embryos end (EOF on their socket). */
static int exec_with_embryos(int wfd, int deny_kcmp)
{
	if (deny_kcmp) {
		struct fl_sc_rule r[] = { { SYS_kcmp, EPERM, 0, 0 } };
		fl_sc_install(r, 1);
	}
	if (fl_embryo_reserve(2, 0) || fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO) < 0)
		return 10;
	(void)wfd; /* O_CLOEXEC: closed by the exec */
	execl("/bin/sleep", "sleep", "2", (char *)NULL);
	return 11;
}

TEST_TIMEOUT(caller_exec_closes_its_fds_at_once_and_ends_the_server, 30)
{
	for (int deny = 0; deny < 2 - fl_test_valgrind(); deny++) { /* no seccomp there */
		int p[2];
		ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
		pid_t c = fork();
		ASSERT_GE(c, 0);
		if (c == 0) {
			close(p[0]);
			_exit(exec_with_embryos(p[1], deny));
		}
		close(p[1]);
		char b;
		double t0 = now_ms();
		ASSERT_EQ(read(p[0], &b, 1), 0); /* EOF */
		double eof = now_ms() - t0;
		close(p[0]);
		siginfo_t si = { 0 };
		ASSERT_EQ(waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG | WNOWAIT), 0);
		ASSERT_EQ(si.si_pid, 0); /* sleep still runs: EOF came with the exec */
		ASSERT_LT(eof, 1500);
		/* the child's server and embryos end: no live child of it */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", c, c);
		int live = 1;
		for (int i = 0; i < 100 && live; i++) {
			char buf[512] = { 0 };
			int f = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t n = f >= 0 ? read(f, buf, sizeof(buf) - 1) : 0;
			if (f >= 0)
				close(f);
			live = 0;
			for (char *q = buf; n > 0 && *q;) {
				char *end;
				long pid = strtol(q, &end, 10), state = 'Z';
				if (end == q)
					break;
				q = end;
				char st[64], line[128];
				snprintf(st, sizeof(st), "/proc/%ld/stat", pid);
				FILE *sf = fopen(st, "re");
				if (sf && fgets(line, sizeof(line), sf)) {
					char *rp = strrchr(line, ')');
					state = rp ? rp[2] : 'Z';
				}
				if (sf)
					fclose(sf);
				live += state != 'Z';
			}
			if (live)
				usleep(10000);
		}
		ASSERT_EQ(live, 0);
		kill(c, SIGKILL);
		fl_test_wait(c);
	}
}

static int thread_embryo;
static void *open_and_exit(void *unused)
{
	(void)unused;
	thread_embryo = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	return NULL;
}

/* An embryo dies with the thread that made it (unless run); the server
 * does not: it serves the next. */
TEST(embryo_of_an_exited_thread_is_gone_at_once_and_the_server_stays)
{
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, open_and_exit, NULL), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_GE(thread_embryo, 0);
	pid_t srv = server_pid();
	ASSERT_NE(srv, 0);
	ASSERT_EQ(fl_pidfd_config(thread_embryo, FL_CONFIG_SET_STRING, "cwd", "/", 0), -ESRCH);
	struct pollfd p = { thread_embryo, POLLIN, 0 };
	ASSERT_EQ(poll(&p, 1, 200), 1); /* its process exited */
	close(thread_embryo);
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(server_pid(), srv); /* the same server */
	close(fd);
}

HELPER(srv_exit_with_embryos)
{
	(void)argc, (void)argv;
	if (fl_embryo_reserve(3, 0) || fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO) < 0)
		return 3;
	printf("%d\n", (int)server_pid());
	fflush(stdout);
	return 0; /* exit: nothing of the library runs at exit but EOF */
}

/* The caller exits: server and embryos go (we adopt them as subreaper). */
TEST(caller_exit_ends_the_server_and_its_embryos)
{
	ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	char *out = fl_test_helper_output("srv_exit_with_embryos", NULL);
	ASSERT_GT(atoi(out), 0);
	free(out);
	double t0 = now_ms();
	int left = 0;
	for (;;) { /* orphans are ours now: reap them as they end */
		siginfo_t si = { 0 };
		int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL);
		if (r < 0 && errno == ECHILD)
			break;
		if (r == 0 && si.si_pid)
			continue;
		if (now_ms() - t0 > 2000) {
			left = 1;
			break;
		}
		usleep(5000);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	ASSERT_EQ(left, 0);
}

static char fifo[4300];
static pid_t victim;
static int let_go; /* then open the FIFO, which lets the child go on */
static void *kill_server_later(void *unused)
{
	(void)unused;
	usleep(100 * 1000); /* the request is in flight: its child waits on the FIFO */
	kill(victim, SIGKILL);
	if (let_go) {
		usleep(100 * 1000);
		int w = open(fifo, O_WRONLY | O_CLOEXEC);
		if (w >= 0)
			close(w);
	}
	return NULL;
}

/* Spawn through a server whose child blocks opening the FIFO, killing the
 * server meanwhile; the run's result and error. */
static int spawn_while_the_server_dies(int embryo, struct fl_error *e)
{
	int st;
	char *out = run_server_helper("srv_ids", NULL, &st);
	free(out);
	victim = server_pid();
	ASSERT_NE(victim, 0); /* by pid: its blocked child has the same name */
	snprintf(fifo, sizeof(fifo), "%s/fifo", fl_test_tmpdir());
	unlink(fifo);
	ASSERT_EQ(mkfifo(fifo, 0600), 0);
	struct fl_open o = { .path = fifo, .flags = O_RDONLY };
	struct fl_action a = { .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 0,
			       .arg = (uintptr_t)&o };
	char *argv[] = { "true", NULL };
	char path[4200];
	snprintf(path, sizeof(path), "%s/true-static", fl_test_builddir());
	struct fl_spawn_args sa = { .path = path, .argv = argv, .actions = &a, .nactions = 1,
				    .error = e };
	pthread_t t;
	let_go = !embryo;
	ASSERT_EQ(pthread_create(&t, NULL, kill_server_later, NULL), 0);
	int fd = embryo ? fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO) : server_builder();
	ASSERT_GE(fd, 0);
	int r = fl_pidfd_spawn_run(fd, &sa, sizeof(sa)), wst = -1;
	pthread_join(t, NULL);
	if (r > 0) { /* ran to its end */
		ASSERT_EQ(fl_pidfd_wait(fd, &wst, 0), r);
		ASSERT_EQ(wst, 0);
	}
	close(fd);
	return r;
}

/* The next request after a server died: a new server. */
static void next_request_gets_a_new_server(void)
{
	int st;
	char *out = run_server_helper("srv_ids", NULL, &st);
	free(out);
	ASSERT_TRUE(WIFEXITED(st));
	pid_t second = server_pid();
	ASSERT_NE(second, 0);
	ASSERT_NE(second, victim);
}

/* The server dies with an embryo's run in flight (it waits for the
 * embryo's exec to answer): that request fails once with a clear error;
 * the next starts a new server. */
TEST_TIMEOUT(server_killed_mid_request_is_reported_and_restarted, 30)
{
	struct fl_error e;
	int r = spawn_while_the_server_dies(1, &e);
	ASSERT_ERR(r, e, -ECONNRESET, FL_STAGE_CLONE);
	/* its child still waits on the FIFO (it is ours): let it go, reap it */
	int w = open(fifo, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(w, 0);
	close(w);
	siginfo_t si;
	for (int i = 0; i < 100; i++) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid &&
		    si.si_pid != victim)
			break;
		usleep(10000);
	}
	ASSERT_GT(si.si_pid, 0);
	ASSERT_EQ(waitpid(si.si_pid, NULL, 0), si.si_pid);
	next_request_gets_a_new_server();
}

/* A spawn is answered when its child is cloned; the child, the caller's
 * own, reports its exec itself: the server dying after that loses
 * nothing, and the next request starts a new server. */
TEST_TIMEOUT(server_killed_after_a_spawns_clone_loses_nothing, 30)
{
	struct fl_error e;
	int r = spawn_while_the_server_dies(0, &e);
	ASSERT_GT(r, 0);
	next_request_gets_a_new_server();
}

/* A fork child leaves the parent's server alone and gets its own. */
TEST(fork_child_gets_a_server_of_its_own)
{
	int st;
	char *out = run_server_helper("srv_ids", NULL, &st);
	free(out);
	pid_t mine = server_pid();
	ASSERT_NE(mine, 0);
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	pid_t c = fork();
	ASSERT_GE(c, 0);
	if (c == 0) {
		close(p[0]);
		int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), s;
		char *argv[] = { "true", NULL };
		char path[4200];
		snprintf(path, sizeof(path), "%s/true-static", fl_test_builddir());
		struct fl_spawn_args a = { .path = path, .argv = argv };
		if (fd < 0 || fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "launcher", "server", 0))
			_exit(10);
		int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
		if (pid <= 0 || fl_pidfd_wait(fd, &s, 0) != pid || s)
			_exit(11);
		pid_t theirs = server_pid();
		if (write(p[1], &theirs, sizeof(theirs)) != sizeof(theirs))
			_exit(12);
		_exit(0);
	}
	close(p[1]);
	pid_t theirs = 0;
	ASSERT_EQ(read(p[0], &theirs, sizeof(theirs)), (long long)sizeof(theirs));
	close(p[0]);
	st = fl_test_wait(c);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_NE(theirs, 0);
	ASSERT_NE(theirs, mine);
	ASSERT_EQ(server_pid(), mine); /* ours lives on, and serves */
	out = run_server_helper("srv_ids", NULL, &st);
	free(out);
	ASSERT_EQ(server_pid(), mine);
}

/* Many fds: more than one message carries them (SCM_RIGHTS takes 253). */
TEST(server_passes_more_fds_than_one_message_holds)
{
	int fds[300], st;
	for (int i = 0; i < 300; i++)
		ASSERT_GE(fds[i] = open("/dev/null", O_RDONLY), 0);
	int fd = server_builder();
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "inherit_fds", NULL, 0), 0);
	char *out = fl_test_run_handle(fd, "srv_fds", NULL, &st);
	int n = 0;
	for (char *p = out; *p; p++)
		n += *p == ' ';
	ASSERT_GE(n, 303); /* stdio, ours, and what the harness holds open */
	char want[32];
	snprintf(want, sizeof(want), " %d ", fds[299]);
	ASSERT_TRUE(strstr(out, want) != NULL);
	free(out);
	for (int i = 0; i < 300; i++)
		close(fds[i]);
}

/* A request too big for one message travels in a memfd. */
HELPER(srv_envlen)
{
	(void)argc, (void)argv;
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		char name[8] = "BIG0";
		name[3] = (char)('0' + i);
		const char *v = getenv(name);
		n += v ? strlen(v) : 0;
	}
	printf("%zu\n", n);
	return 0;
}

TEST(server_takes_a_request_larger_than_a_message)
{
	size_t n = 50 * 1024; /* four of them: 200 KiB, over what one message takes */
	char *big[4], *envp[5] = { NULL }, want[32];
	for (int i = 0; i < 4; i++) {
		envp[i] = big[i] = malloc(n + 6);
		memcpy(big[i], "BIG0=", 5);
		big[i][3] = (char)('0' + i);
		memset(big[i] + 5, 'x', n);
		big[i][n + 5] = 0;
	}
	n *= 4;
	int fd = server_builder(), st;
	ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_STRINGV, "envp", envp, 0), 0);
	char *out = fl_test_run_handle(fd, "srv_envlen", NULL, &st);
	snprintf(want, sizeof(want), "%zu\n", n);
	ASSERT_STREQ(out, want);
	free(out);
	for (int i = 0; i < 4; i++)
		free(big[i]);
}

/* ---- NUMA: a server per node, started there -------------------------------- */

HELPER(srv_numa)
{
	(void)argc, (void)argv;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:", 18))
			printf("cpus %s", line + 19);
	if (f)
		fclose(f);
	int mode = -1;
	unsigned long mask[16] = { 0 };
	syscall(SYS_get_mempolicy, &mode, mask, 1024, NULL, 0);
	printf("policy %d nodes %#lx\n", mode, mask[0]);
	return 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[4400];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

/*
 * numa_node routes a server spawn to that node's server, started on the
 * node's CPUs with its memory bound there; the child runs with the node's
 * CPU set and a preference for its memory.  The machine is described by a
 * sysfs of our own with two nodes (CPU 0 and CPU 1); the kernel knows only
 * its real nodes, so on a one-node machine node 1's memory policy is
 * refused, at the server's start.
 */
TEST(numa_node_routes_to_a_server_started_on_that_node)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP("needs two CPUs");
	char root[4300], d[4400];
	snprintf(root, sizeof(root), "%s/sys", fl_test_tmpdir());
	const char *parts[] = { "", "/devices", "/devices/system", "/devices/system/node",
				"/devices/system/node/node0", "/devices/system/node/node1" };
	for (size_t i = 0; i < 6; i++) {
		snprintf(d, sizeof(d), "%s%s", root, parts[i]);
		ASSERT_EQ(mkdir(d, 0755), 0);
	}
	snprintf(d, sizeof(d), "%s/devices/system/node/node0", root);
	write_file(d, "cpulist", "0\n");
	snprintf(d, sizeof(d), "%s/devices/system/node/node1", root);
	write_file(d, "cpulist", "1\n");
	setenv("FORKLESS_SYSFS_ROOT", root, 1); /* read at config and at the server's start */
	int st, fd = server_builder();
	int r = fl_pidfd_config(fd, FL_CONFIG_SET_INT, "numa_node", NULL, 0);
	ASSERT_EQ(r, 0);
	char *out = fl_test_run_handle(fd, "srv_numa", NULL, &st);
	ASSERT_STREQ(out, "cpus 0\npolicy 1 nodes 0x1\n"); /* MPOL_PREFERRED, node 0 */
	free(out);
	/* that node's server: on CPU 0, its memory bound to node 0 */
	struct kid k[64];
	int n = list_children(k, 64), on0 = 0;
	for (int i = 0; i < n; i++) {
		if (!k[i].live || strcmp(k[i].exe, "forkless-server"))
			continue;
		char p[64], line[256];
		snprintf(p, sizeof(p), "/proc/%d/status", k[i].pid);
		FILE *f = fopen(p, "re");
		while (f && fgets(line, sizeof(line), f))
			on0 += !strcmp(line, "Cpus_allowed_list:\t0\n");
		if (f)
			fclose(f);
	}
	ASSERT_EQ(on0, 1);
	/* node 1: its own server, or (one real node) its start refused */
	fd = server_builder();
	r = fl_pidfd_config(fd, FL_CONFIG_SET_INT, "numa_node", NULL, 1);
	ASSERT_EQ(r, 0);
	char *argv[] = { "x", NULL };
	struct fl_error e;
	struct fl_spawn_args a = { .path = "/bin/true", .argv = argv, .error = &e };
	r = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	unsetenv("FORKLESS_SYSFS_ROOT");
	if (access("/sys/devices/system/node/node1", F_OK) == 0) {
		ASSERT_GT(r, 0);
		ASSERT_GT(fl_pidfd_wait(fd, &st, 0), 0);
	} else {
		ASSERT_ERR(r, e, -EINVAL, FL_STAGE_SERVER);
		ASSERT_EQ(e.index, FL_STAGE_MEMPOLICY); /* the step of its start */
		char msg[128];
		ASSERT_STREQ(fl_strerror_r(&e, msg, sizeof(msg)), "server (mempolicy): Invalid argument");
	}
	close(fd);
}

HELPER(srv_cwd)
{
	(void)argc, (void)argv;
	char cwd[4200];
	printf("%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	return 0;
}

/* A relative cwd starts at the caller's cwd, as with the vfork launcher
 * (the server's own is "/"): for a server spawn and an embryo's eager cwd. */
TEST(relative_cwd_starts_at_the_callers_cwd)
{
	char old[4200], dir[4200], sub[4300], want[4400];
	ASSERT_TRUE(getcwd(old, sizeof(old)) != NULL);
	ASSERT_TRUE(realpath(fl_test_tmpdir(), dir) != NULL);
	snprintf(sub, sizeof(sub), "%.4100s/sub", dir);
	ASSERT_EQ(mkdir(sub, 0755), 0);
	ASSERT_EQ(chdir(dir), 0);
	snprintf(want, sizeof(want), "%s\n", sub);
	for (int embryo = 0; embryo < 2; embryo++) {
		int fd = embryo ? fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO) : server_builder();
		ASSERT_GE(fd, 0);
		ASSERT_EQ(fl_pidfd_set_cwd(fd, "sub"), 0);
		int st;
		char *out = fl_test_run_handle(fd, "srv_cwd", NULL, &st);
		ASSERT_STREQ(out, want);
		free(out);
	}
	ASSERT_EQ(chdir(old), 0);
}

/* A drop by glibc's set*id calls: the watcher thread ends the servers and
 * spares of the old credentials before the drop's next step returns, so
 * that none is left when the drop is done (and the watcher's own exit,
 * with no server left, never deadlocks with the drop). */
static int drop_after_reserve(void)
{
	if (fl_embryo_reserve(3, 0) || fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO) < 0)
		return 10;
	drop_to_nobody();
	struct kid k[64];
	int n = list_children(k, 64);
	for (int i = 0; i < n; i++)
		if (k[i].uid == 0) {
			fprintf(stderr, "# pid %d uid 0 %s %s\n", k[i].pid, k[i].exe,
				k[i].live ? "live" : "zombie");
			return 11;
		}
	return 0;
}

TEST_TIMEOUT(a_drop_leaves_no_process_of_the_old_credentials, 60)
{
	if (geteuid() != 0)
		SKIP("needs root to drop privileges");
	for (int i = 0; i < 10; i++) {
		pid_t c = fork();
		ASSERT_GE(c, 0);
		if (c == 0)
			_exit(drop_after_reserve());
		int st = fl_test_wait(c);
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(WEXITSTATUS(st), 0);
	}
}

/* The server is pristine: exec'd, its socket its only fd, an empty
 * environment, no signal ignored or blocked, cwd "/". */
TEST(server_is_pristine)
{
	int st;
	signal(SIGUSR2, SIG_IGN); /* ours: it must not reach the server */
	char *out = run_server_helper("srv_ids", NULL, &st);
	signal(SIGUSR2, SIG_DFL);
	free(out);
	pid_t s = server_pid();
	ASSERT_NE(s, 0);
	char p[64], line[256], link[64];
	snprintf(p, sizeof(p), "/proc/%d/fd", s);
	DIR *d = opendir(p);
	ASSERT_TRUE(d != NULL);
	struct dirent *de;
	int nfd = 0, sock = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		nfd++;
		sock += !strcmp(de->d_name, "3");
	}
	closedir(d);
	ASSERT_EQ(nfd, 1);
	ASSERT_EQ(sock, 1);
	snprintf(p, sizeof(p), "/proc/%d/environ", s);
	int f = open(p, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(f, 0);
	char env[16];
	ASSERT_EQ(read(f, env, sizeof(env)), 0);
	close(f);
	snprintf(p, sizeof(p), "/proc/%d/status", s);
	FILE *sf = fopen(p, "re");
	ASSERT_TRUE(sf != NULL);
	/* what a child could inherit (caught ones are reset by CLONE_CLEAR_SIGHAND
	 * or the executor, and a sanitizer runtime catches some) */
	int quiet = 0;
	while (fgets(line, sizeof(line), sf))
		quiet += !strcmp(line, "SigIgn:\t0000000000000000\n") ||
			 !strcmp(line, "SigBlk:\t0000000000000000\n");
	fclose(sf);
	ASSERT_EQ(quiet, 2);
	snprintf(p, sizeof(p), "/proc/%d/cwd", s);
	ssize_t n = readlink(p, link, sizeof(link) - 1);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(link[0], '/');
}
