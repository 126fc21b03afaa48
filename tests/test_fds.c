/* SPDX-License-Identifier: MIT */
/*
 * test_fds.c - descriptor hygiene and the actions.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"

/* Prints the child's open fds, "0 1 2 ", excluding the directory it reads. */
HELPER(fds)
{
	DIR *d = opendir("/proc/self/fd");
	int self = dirfd(d), fds[4096], n = 0;
	struct dirent *de;

	while ((de = readdir(d)) && n < 4096)
		if (de->d_name[0] != '.' && atoi(de->d_name) != self)
			fds[n++] = atoi(de->d_name);
	closedir(d);
	for (int i = 0; i < n; i++) /* sort for a stable output */
		for (int j = i + 1; j < n; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < n; i++)
		printf("%d ", fds[i]);
	return 0;
}

/* Prints the content readable from fd argv[1], and the cwd. */
HELPER(readfd)
{
	char buf[256], cwd[512];
	ssize_t n = read(atoi(argv[1]), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("%s|%s", buf, getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	return 0;
}

static char *run_helper(const char *name, char *const args[], struct fl_action *acts,
			size_t n, uint64_t flags)
{
	int fd = fl_pidfd_open(0, FL_PIDFD_EMPTY), st;
	struct fl_action all[16];
	for (size_t i = 0; i < n; i++)
		all[i] = acts[i];
	/* fl_test_run_handle adds the stdout action; run through a config + args */
	if (flags & FL_SPAWN_INHERIT_FDS)
		ASSERT_EQ(fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "inherit_fds", NULL, 0), 0);
	if (n == 0)
		return fl_test_run_handle(fd, name, args, &st);
	/* actions of our own: capture stdout with a pipe as action 0 */
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct fl_action with_out[17] = { { .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 } };
	for (size_t i = 0; i < n; i++)
		with_out[i + 1] = all[i];
	struct fl_error e;
	struct fl_spawn_args a = { .path = fl_test_exe,
				   .argv = fl_test_helper_argv(name, args),
				   .actions = with_out, .nactions = n + 1, .error = &e };
	int pid = fl_pidfd_spawn_run(fd, &a, sizeof(a));
	close(p[1]);
	ASSERT_GT(pid, 0);
	char *out = fl_test_slurp(p[0]);
	ASSERT_EQ(fl_pidfd_wait(fd, &st, 0), pid);
	ASSERT_EQ(st, 0);
	close(fd);
	return out;
}

TEST(child_sees_only_0_1_2_with_5000_open_fds)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 6000) {
		rl.rlim_cur = rl.rlim_max < 6000 ? rl.rlim_max : 6000;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	static int fds[5000];
	for (int i = 0; i < 5000; i++) {
		fds[i] = open("/dev/null", O_RDONLY); /* not CLOEXEC: inheritable */
		ASSERT_GE(fds[i], 0);
	}
	char *out = run_helper("fds", NULL, NULL, 0, 0);
	ASSERT_STREQ(out, "0 1 2 ");
	free(out);
	for (int i = 0; i < 5000; i++)
		close(fds[i]);
}

TEST(inherit_flag_keeps_non_cloexec_fds_only)
{
	int keep = open("/dev/null", O_RDONLY);
	int drop = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char want[64];
	char *out = run_helper("fds", NULL, NULL, 0, FL_SPAWN_INHERIT_FDS);
	snprintf(want, sizeof(want), " %d ", keep);
	ASSERT_TRUE(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), " %d ", drop);
	ASSERT_TRUE(strstr(out, want) == NULL);
	ASSERT_TRUE(strncmp(out, "0 1 2 ", 6) == 0);
	free(out);
	close(keep);
	close(drop);
}

TEST(action_targets_survive_and_others_do_not)
{
	int p[2];
	ASSERT_EQ(pipe(p), 0); /* not CLOEXEC: still closed unless named */
	ASSERT_EQ(write(p[1], "hello", 5), 5);
	close(p[1]);
	struct fl_action acts[] = {
		{ .type = FL_ACTION_DUP2, .fd = p[0], .newfd = 7 },
		{ .type = FL_ACTION_DUP2, .fd = 7, .newfd = 8 },
		{ .type = FL_ACTION_CLOSE, .fd = 8 },
	};
	char *out = run_helper("fds", NULL, acts, 3, 0);
	ASSERT_STREQ(out, "0 1 2 7 ");
	free(out);
	char *args[] = { "7", NULL };
	out = run_helper("readfd", args, acts, 1, 0);
	ASSERT_TRUE(strncmp(out, "hello|", 6) == 0);
	free(out);
	close(p[0]);
}

TEST(open_chdir_fchdir_inherit_close_range_actions)
{
	const char *dir = fl_test_tmpdir();
	char file[4200];
	snprintf(file, sizeof(file), "%s/data", dir);
	int w = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_EQ(write(w, "xyz", 3), 3);
	close(w);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct fl_open o = { .path = "data", .flags = O_RDONLY | O_CLOEXEC };
	struct fl_action acts[] = {
		{ .type = FL_ACTION_CHDIR, .arg = (uintptr_t)"/" },
		{ .type = FL_ACTION_OPEN, .fd = dfd, .newfd = 5, .arg = (uintptr_t)&o },
		{ .type = FL_ACTION_FCHDIR, .fd = dfd },
		{ .type = FL_ACTION_INHERIT, .fd = dfd },
	};
	char *args[] = { "5", NULL };
	char *out = run_helper("readfd", args, acts, 4, 0);
	char want[4300];
	snprintf(want, sizeof(want), "xyz|%s", dir);
	ASSERT_STREQ(out, want);
	free(out);
	out = run_helper("fds", NULL, acts, 4, 0);
	snprintf(want, sizeof(want), "0 1 2 %d 5 ", dfd);
	if (dfd > 5)
		snprintf(want, sizeof(want), "0 1 2 5 %d ", dfd);
	ASSERT_STREQ(out, want);
	free(out);
	/* close_range over everything from 3 leaves 0..2 */
	struct fl_action cr[] = {
		{ .type = FL_ACTION_INHERIT, .fd = dfd },
		{ .type = FL_ACTION_CLOSE_RANGE, .fd = 3, .newfd = -1 },
	};
	out = run_helper("fds", NULL, cr, 2, 0);
	ASSERT_STREQ(out, "0 1 2 ");
	free(out);
	close(dfd);
	if (fl_test_valgrind())
		return; /* valgrind does not know openat2 */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* openat2 with RESOLVE_BENEATH refuses to escape the directory */
	struct fl_open esc = { .path = "../etc/passwd", .flags = O_RDONLY, .resolve = 0x08 };
	struct fl_action bad = { .type = FL_ACTION_OPEN, .fd = dfd, .newfd = 5, .arg = (uintptr_t)&esc };
	struct fl_error e;
	char *argv[] = { "true", NULL };
	ASSERT_ERR(fl_spawn("/bin/true", argv, NULL, &bad, 1, &e), e, -EXDEV, FL_STAGE_ACTION);
	close(dfd);
}

TEST(dup2_onto_itself_clears_cloexec)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct fl_action a = { .type = FL_ACTION_DUP2, .fd = fd, .newfd = fd };
	char *out = run_helper("fds", NULL, &a, 1, 0);
	char want[64];
	snprintf(want, sizeof(want), "0 1 2 %d ", fd);
	ASSERT_STREQ(out, want);
	free(out);
	/* the caller's fd keeps its flag */
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(child_actions_do_not_touch_caller_fd_table)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct fl_action acts[] = {
		{ .type = FL_ACTION_CLOSE, .fd = fd },
		{ .type = FL_ACTION_DUP2, .fd = 2, .newfd = 50 },
	};
	char *out = run_helper("fds", NULL, acts, 2, 0);
	ASSERT_STREQ(out, "0 1 2 50 ");
	free(out);
	ASSERT_GE(fcntl(fd, F_GETFD), 0); /* still open here */
	ASSERT_EQ(fcntl(50, F_GETFD), -1); /* never created here */
	close(fd);
}

/* ---- the caller's many fds cost the child nothing ----------------------- */

struct far_run {
	int tfd;                 /* >= 0: spawn this template, else fl_spawn /bin/true */
	struct fl_action act[2]; /* a dup2 from a high fd, then the blocking open */
	size_t nact;
	pid_t pid;
};

static void *far_spawn(void *arg)
{
	struct far_run *r = arg;
	char *argv[] = { "true", NULL };

	if (r->tfd >= 0) {
		struct fl_spawn_args sa = { .argv = argv, .actions = r->act, .nactions = r->nact };
		r->pid = fl_spawn_template_spawn(r->tfd, &sa, sizeof(sa));
	} else {
		r->pid = fl_spawn("/bin/true", argv, NULL, r->act, r->nact, NULL);
	}
	return NULL;
}

/* The open fds of the one child of thread tid, counted while it blocks in
 * an open action (before the cleanup of fds); -1 if not found. */
static int child_open_fds(pid_t tid)
{
	char path[64], buf[64];
	for (int tries = 0; tries < 5000; tries++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/children", tid);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
		if (f >= 0)
			close(f);
		if (n > 0) {
			buf[n] = 0;
			int pid = atoi(buf);
			/* asleep: in the open of the FIFO, past the unshare */
			for (int i = 0; i < 5000; i++) {
				char st[512] = "";
				snprintf(path, sizeof(path), "/proc/%d/stat", pid);
				int sf = open(path, O_RDONLY | O_CLOEXEC);
				ssize_t k = sf >= 0 ? read(sf, st, sizeof(st) - 1) : -1;
				if (sf >= 0)
					close(sf);
				char *e = k > 0 ? strrchr(st, ')') : NULL;
				if (e && e[1] == ' ' && e[2] == 'S')
					break;
				usleep(1000);
			}
			snprintf(path, sizeof(path), "/proc/%d/fd", pid);
			DIR *d = opendir(path);
			int count = 0;
			struct dirent *de;
			while (d && (de = readdir(d)))
				count += de->d_name[0] != '.';
			if (d)
				closedir(d);
			return d ? count : -1;
		}
		usleep(1000);
	}
	return -1;
}

/*
 * A caller with 10 000 open fds, and a template (or a dup2 source) numbered
 * above them all: the child copies none of the 10 000 (it once copied the
 * table up to the highest fd it reads, then closed them one by one).  The
 * child blocks in an open action on a FIFO while its fds are counted.
 */
TEST(far_fds_are_not_copied_into_the_child)
{
	if (fl_test_valgrind())
		SKIP("valgrind runs the vfork child as a fork, with its own fd table");
	long tp = syscall(SYS_pidfd_open, (pid_t)syscall(SYS_gettid), O_EXCL /* PIDFD_THREAD */);
	if (tp < 0)
		SKIP("no thread pidfds (Linux 6.9): the child copies the whole table, as before");
	close((int)tp);
	if (fl_test_native_path())
		SKIP("the native path: the kernel's builder makes this child (no vfork launcher)");
	struct rlimit old, rl;
	int many = 10000, base, hi, tfd, st;
	char fifo[] = "/tmp/fl-test-far-XXXXXX";

	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	if (rl.rlim_cur < (rlim_t)many + 100) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)many + 100 > rl.rlim_max ? (rlim_t)many + 100 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			SKIP("RLIMIT_NOFILE below 10100");
	}
	ASSERT_TRUE(mkdtemp(fifo) != NULL);
	ASSERT_EQ(rmdir(fifo), 0);
	ASSERT_EQ(mkfifo(fifo, 0600), 0);
	base = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(base, 0);
	int last = base, *mine = malloc(many * sizeof(int)); /* the harness has fds among them */
	ASSERT_TRUE(mine != NULL);
	mine[0] = base;
	for (int i = 1; i < many; i++)
		ASSERT_GE((mine[i] = last = fcntl(base, F_DUPFD_CLOEXEC, 0)), 0);
	struct fl_template_args ta = { .execfd = -1, .filename = "/bin/true", .config_fd = -1 };
	tfd = fl_spawn_template_create(&ta, sizeof(ta));
	ASSERT_GT(tfd, last);
	hi = fcntl(base, F_DUPFD_CLOEXEC, 0);
	ASSERT_GT(hi, tfd);
	struct fl_open op = { .path = fifo, .flags = O_RDONLY };

	for (int k = 0; k < 2; k++) {
		struct far_run r = { .tfd = k ? -1 : tfd, .nact = 2 };
		pthread_t th;
		r.act[0] = (struct fl_action){ .type = FL_ACTION_DUP2, .fd = hi, .newfd = 3 };
		r.act[1] = (struct fl_action){ .type = FL_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 0,
					       .arg = (uintptr_t)&op };
		ASSERT_EQ(pthread_create(&th, NULL, far_spawn, &r), 0);
		/* the spawning thread's tid: it sleeps in clone until the exec */
		pid_t tid = -1;
		for (int tries = 0; tries < 5000 && tid < 0; tries++) {
			DIR *d = opendir("/proc/self/task");
			struct dirent *de;
			while (d && (de = readdir(d)))
				if (de->d_name[0] != '.' && atoi(de->d_name) != gettid()) {
					char p[300], b[64];
					snprintf(p, sizeof(p), "/proc/self/task/%s/children", de->d_name);
					int f = open(p, O_RDONLY | O_CLOEXEC);
					if (f >= 0 && read(f, b, sizeof(b)) > 0)
						tid = atoi(de->d_name);
					if (f >= 0)
						close(f);
				}
			if (d)
				closedir(d);
			if (tid < 0)
				usleep(1000);
		}
		int count = tid > 0 ? child_open_fds(tid) : -1;
		int w = open(fifo, O_WRONLY | O_CLOEXEC); /* lets the child go on */
		ASSERT_GE(w, 0);
		close(w);
		ASSERT_EQ(pthread_join(th, NULL), 0);
		ASSERT_GT(r.pid, 0);
		ASSERT_EQ(waitpid(r.pid, &st, 0), r.pid);
		ASSERT_EQ(st, 0);
		ASSERT_GT(count, 0);
		ASSERT_LT(count, 64); /* was more than 10 000 */
	}
	close(hi);
	close(tfd);
	for (int i = 0; i < many; i++)
		close(mine[i]);
	free(mine);
	unlink(fifo);
	setrlimit(RLIMIT_NOFILE, &old);
}

/* Run /bin/cat ARG with actions, stdout into a pipe; its output (or NULL
 * when the spawn failed: *ret the -errno, *err the error). */
static char *cat_with(const char *arg, struct fl_action *act, size_t n, int *ret, struct fl_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	struct fl_action all[8];
	memcpy(all, act, n * sizeof(*act));
	all[n++] = (struct fl_action){ .type = FL_ACTION_DUP2, .fd = p[1], .newfd = 1 };
	char *av[] = { "cat", (char *)arg, NULL };
	pid_t pid = fl_spawn("/bin/cat", av, NULL, all, n, err);
	close(p[1]);
	*ret = pid;
	if (pid < 0) {
		close(p[0]);
		return NULL;
	}
	char *out = fl_test_slurp(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return out;
}

/*
 * Far fds that only actions read are taken to numbers above every fd the
 * spawn names, not to their own: the child reads them there (dup2 and
 * fchdir sources, the exec fd of a template with a close_range action),
 * and a closed low number an action reads stays closed.
 */
TEST(moved_far_fds_are_read_where_they_are_and_hide_from_closed_numbers)
{
	if (fl_test_valgrind())
		SKIP("valgrind runs the vfork child as a fork, with its own fd table");
	char dir[4300], file[4400];
	snprintf(dir, sizeof(dir), "%s", fl_test_tmpdir());
	snprintf(file, sizeof(file), "%s/far.txt", dir);
	FILE *f = fopen(file, "w");
	ASSERT_TRUE(f != NULL);
	fputs("far file\n", f);
	fclose(f);
	int base = open("/dev/null", O_RDONLY | O_CLOEXEC), n = 400, mine[400];
	ASSERT_GE(base, 0);
	for (int i = 0; i < n; i++)
		ASSERT_GE((mine[i] = fcntl(base, F_DUPFD_CLOEXEC, 0)), 0);
	int hfile = open(file, O_RDONLY | O_CLOEXEC), hdir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_GT(hfile, 300);
	ASSERT_GT(hdir, 300);
	struct fl_template_args ta = { .execfd = -1, .filename = "/bin/true", .config_fd = -1 };
	int tfd = fl_spawn_template_create(&ta, sizeof(ta));
	ASSERT_GT(tfd, 300);
	int r;
	struct fl_error e;

	/* a dup2 source: read at its new place */
	struct fl_action a1[] = { { .type = FL_ACTION_DUP2, .fd = hfile, .newfd = 0 } };
	char *out = cat_with("-", a1, 1, &r, &e);
	ASSERT_GT(r, 0);
	ASSERT_STREQ(out, "far file\n");
	free(out);
	/* an fchdir source: the same */
	struct fl_action a2[] = { { .type = FL_ACTION_FCHDIR, .fd = hdir } };
	out = cat_with("far.txt", a2, 1, &r, &e);
	ASSERT_GT(r, 0);
	ASSERT_STREQ(out, "far file\n");
	free(out);
	/* the lowest closed numbers, where the child's own fds land, read
	 * after a far one was taken: still closed */
	int a = mine[10], b = mine[11]; /* near numbers, now the lowest closed ones */
	ASSERT_LT(b, 256);
	close(a);
	close(b);
	mine[10] = mine[11] = -1;
	char *av0[] = { "true", NULL };
	struct fl_action a3[] = { { .type = FL_ACTION_DUP2, .fd = hfile, .newfd = 0 },
				  { .type = FL_ACTION_DUP2, .fd = b, .newfd = 21 },
				  { .type = FL_ACTION_DUP2, .fd = a, .newfd = 20 } };
	r = fl_spawn("/bin/true", av0, NULL, a3, 3, &e);
	ASSERT_ERR(r, e, -EBADF, FL_STAGE_ACTION);
	ASSERT_EQ(e.index, 1);
	/* a template above them all, with a close_range action */
	struct fl_action cr = { .type = FL_ACTION_CLOSE_RANGE, .fd = 3, .newfd = -1 };
	char *av[] = { "true", NULL };
	struct fl_spawn_args sa = { .argv = av, .actions = &cr, .nactions = 1 };
	pid_t p = fl_spawn_template_spawn(tfd, &sa, sizeof(sa));
	ASSERT_GT(p, 0);
	int st;
	ASSERT_EQ(waitpid(p, &st, 0), p);
	ASSERT_EQ(st, 0);
	close(tfd);
	close(hfile);
	close(hdir);
	for (int i = 0; i < n; i++)
		if (mine[i] >= 0)
			close(mine[i]);
	close(base);
}
