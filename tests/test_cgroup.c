/* SPDX-License-Identifier: MIT */
/*
 * test_cgroup.c - the "cgroup" key on its two paths.
 *
 * Where clone3 takes CLONE_INTO_CGROUP (Linux 5.7), the child is created in
 * the cgroup: a seccomp supervisor reads clone3's arguments and sees the
 * flag and the cgroup's fd.  Where the kernel or a filter refuses the
 * larger clone_args (E2BIG from 5.3-5.6, EPERM or ENOSYS from a seccomp
 * policy), the library retries without the flag and the child joins the
 * cgroup itself (cgroup.procs) before exec: seccomp refuses clone3 of that
 * size here, and the child must still start in the cgroup.  Each test makes
 * its own cgroup under the cgroup2 mount and removes it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forkless.h"
#include "harness.h"
#include "seccomp.h"

#define CLONE_ARGS_SIZE_VER2 88 /* up to .cgroup */

extern char **environ;

/* Make <cgroup2>/forkless-test-cg-<pid>-<tag> or skip. */
static void make_cgroup(const char *tag, char *path, size_t len)
{
	char line[4096], mnt[4096] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (geteuid() != 0)
		SKIP("needs root");
	while (f && !mnt[0] && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (sep && !strncmp(sep + 3, "cgroup2 ", 8))
			sscanf(line, "%*s %*s %*s %*s %4095s", mnt);
	}
	if (f)
		fclose(f);
	if (!mnt[0])
		SKIP("no cgroup2 mount");
	snprintf(path, len, "%s/forkless-test-cg-%d-%s", mnt, (int)getpid(), tag);
	if (mkdir(path, 0755) < 0)
		SKIP("cgroup2 mount not writable");
}

/* rmdir a cgroup whose last process was just reaped (may be briefly busy). */
static void remove_cgroup(const char *path)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 500 && rmdir(path) < 0 && errno == EBUSY; i++)
		nanosleep(&ts, NULL);
}

/* Run the attrs_cgroup helper from a builder handle configured with path;
 * returns 1 if the child started in that cgroup.  Removes the cgroup. */
static int child_in_cgroup(const char *path)
{
	int st, fd = fl_pidfd_open(0, FL_PIDFD_EMPTY);
	int r = fd < 0 ? fd : fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "cgroup", path, 0);
	char *out = r == 0 ? fl_test_run_handle(fd, "attrs_cgroup", NULL, &st) : NULL;
	const char *name = strrchr(path, '/');

	remove_cgroup(path);
	if (r < 0)
		fl_test_fail(__FILE__, __LINE__, "cgroup key: %s", strerror(-r));
	size_t n = strlen(out), k = strlen(name);
	if (n && out[n - 1] == '\n')
		out[--n] = 0;
	int in = st == 0 && n >= k && !strcmp(out + n - k, name);
	if (!in)
		fprintf(stderr, "# child's cgroup: \"%s\", want .../%s\n", out, name + 1);
	free(out);
	return in;
}

TEST(cgroup_child_created_in_it_by_clone_into_cgroup)
{
	char path[4200];
	struct fl_sc_clone3_log log;
	struct stat st;

	make_cgroup("into", path, sizeof(path));
	if (stat(path, &st) < 0) {
		rmdir(path);
		ASSERT_EQ(errno, 0);
	}
	fl_sc_clone3_watch(&log);
	int in = child_in_cgroup(path);
	fl_sc_supervisor_close();
	ASSERT_TRUE(in);
	ASSERT_EQ(log.into_cgroup, 1);
	ASSERT_EQ(log.cgroup_ino, (unsigned long)st.st_ino); /* clone_args.cgroup: that cgroup */
}

/* The posix front end's cgroup attribute takes the same way. */
TEST(cgroup_posix_setcgroup_uses_clone_into_cgroup)
{
	char path[4200];
	struct fl_sc_clone3_log log;
	posix_spawnattr_t at;
	pid_t pid;

	make_cgroup("posix", path, sizeof(path));
	int cg = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	ASSERT_EQ(fstat(cg, &st), 0);
	posix_spawnattr_init(&at);
	fl_posix_spawnattr_setcgroup_np(&at, cg);
	fl_posix_spawnattr_setflags(&at, FL_POSIX_SPAWN_SETCGROUP);
	char *argv[] = { "true", NULL };
	fl_sc_clone3_watch(&log);
	char true_path[4200];
	snprintf(true_path, sizeof(true_path), "%s/true-static", fl_test_builddir());
	int r = fl_posix_spawn(&pid, true_path, NULL, &at, argv, environ);
	int status = r == 0 ? fl_test_wait(pid) : -1;
	fl_sc_supervisor_close();
	posix_spawnattr_destroy(&at);
	close(cg);
	remove_cgroup(path);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(status, 0);
	ASSERT_EQ(log.into_cgroup, 1);
	ASSERT_EQ(log.cgroup_ino, (unsigned long)st.st_ino);
}

static void fallback(int err, const char *tag)
{
	char path[4200];

	make_cgroup(tag, path, sizeof(path));
	fl_sc_clone3_size(CLONE_ARGS_SIZE_VER2, err);
	ASSERT_TRUE(child_in_cgroup(path));
}

TEST(cgroup_joined_by_child_when_clone_into_cgroup_is_e2big)
{
	fallback(E2BIG, "e2big");
}

TEST(cgroup_joined_by_child_when_clone_into_cgroup_is_eperm)
{
	fallback(EPERM, "eperm");
}
