/* SPDX-License-Identifier: MIT */
/*
 * rfc_example.c - a program written against the spawn-template UAPI of Li
 * Chen's RFC ("exec: add spawn templates for repeated executable startup"),
 * built unchanged on forkless through <forkless_spawn_template.h>.
 *
 * It uses only the RFC's names and libc; the calls follow syscall
 * conventions (-1 and errno).  Usage: rfc_example SCRATCH_DIR.  Prints
 * "rfc example ok" and exits 0 when every check passed; otherwise says what
 * failed on stderr and exits 1.
 *
 *	cc -Wall -Werror -Iinclude -o rfc_example tests/rfc_example.c \
 *		build/libforkless.a -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <forkless_spawn_template.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int failures;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "rfc_example:%d: ", __LINE__);        \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno)); \
			failures++;                                           \
		}                                                             \
	} while (0)

/* A kernel sigset, as the RFC's SIGMASK and SIGDEFAULT actions take it. */
struct kernel_sigset {
	unsigned long sig[64 / (8 * sizeof(unsigned long))];
};

static void kernel_sigadd(struct kernel_sigset *set, int sig)
{
	sig--;
	set->sig[sig / (8 * sizeof(unsigned long))] |= 1UL << (sig % (8 * sizeof(unsigned long)));
}

static int create_path(const char *path)
{
	struct spawn_template_create_args args = {
		.flags = SPAWN_TEMPLATE_CREATE_CLOEXEC,
		.execfd = -1,
		.filename = (uintptr_t)path,
	};

	return spawn_template_create(&args, sizeof(args));
}

static int create_fd(int execfd)
{
	struct spawn_template_create_args args = {
		.flags = SPAWN_TEMPLATE_CREATE_CLOEXEC,
		.execfd = execfd,
	};

	return spawn_template_create(&args, sizeof(args));
}

/*
 * Spawn from tfd, wait through the pidfd; returns the exit status, -2 if
 * the child did not exit normally, or -1 with errno if the spawn failed.
 */
static int run(int tfd, char *const argv[], char *const envp[],
	       const struct spawn_template_action *actions, unsigned int n, uint64_t flags)
{
	struct spawn_template_spawn_args args = {
		.flags = flags,
		.argv = (uintptr_t)argv,
		.envp = (uintptr_t)envp,
		.actions = (uintptr_t)actions,
		.actions_len = n,
	};
	siginfo_t info;
	int pidfd = -1;
	pid_t pid;

	args.pidfd = (uintptr_t)&pidfd;
	pid = spawn_template_spawn(tfd, &args, sizeof(args));
	if (pid < 0)
		return -1;
	if (pidfd < 0 || !(fcntl(pidfd, F_GETFD) & FD_CLOEXEC)) {
		fprintf(stderr, "rfc_example: no close-on-exec pidfd (%d)\n", pidfd);
		failures++;
		waitpid(pid, NULL, 0);
		return -2;
	}
	memset(&info, 0, sizeof(info));
	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0) {
		int err = errno;
		waitpid(pid, NULL, 0);
		close(pidfd);
		errno = err;
		return -1;
	}
	close(pidfd);
	if (info.si_pid != pid)
		return -2;
	return info.si_code == CLD_EXITED ? info.si_status : -2;
}

/* Read what the child wrote into the pipe whose write end we still hold. */
static void slurp(int p[2], char *buf, size_t len)
{
	size_t off = 0;
	ssize_t r;

	close(p[1]);
	while (off < len - 1 && (r = read(p[0], buf + off, len - 1 - off)) > 0)
		off += (size_t)r;
	buf[off] = 0;
	close(p[0]);
}

int main(int argc, char **argv)
{
	char *const true_argv[] = { "true", NULL };
	char *const envp[] = { "GREETING=hello from a template", "PATH=/usr/bin:/bin", NULL };
	char path[4096], out[512];
	int p[2];

	if (argc != 2) {
		fprintf(stderr, "usage: rfc_example SCRATCH_DIR\n");
		return 2;
	}
	const char *dir = argv[1];

	/* 1. A template of /bin/true by path; spawned three times. */
	int t_true = create_path("/bin/true");
	CHECK(t_true >= 0, "spawn_template_create(/bin/true)");
	CHECK(fcntl(t_true, F_GETFD) & FD_CLOEXEC, "SPAWN_TEMPLATE_CREATE_CLOEXEC");
	for (int i = 0; i < 3; i++)
		CHECK(run(t_true, true_argv, envp, NULL, 0, 0) == 0, "true exits 0");

	/* 2. A template of /bin/true by fd. */
	int exe = open("/bin/true", O_RDONLY | O_CLOEXEC);
	int t_fd = create_fd(exe);
	CHECK(t_fd >= 0, "spawn_template_create(execfd)");
	close(exe);
	CHECK(run(t_fd, true_argv, NULL, NULL, 0, 0) == 0, "true by fd exits 0");
	close(t_fd);

	/*
	 * 3. /bin/sh with DUP2, OPEN and CLOSE: stdout into a pipe, stdin from
	 * a file, and fd 2 closed.  An fd above 2 that the caller has open
	 * without O_CLOEXEC does not reach the child (the RFC's default).
	 */
	int t_sh = create_path("/bin/sh");
	CHECK(t_sh >= 0, "spawn_template_create(/bin/sh)");
	snprintf(path, sizeof(path), "%s/input", dir);
	int in = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(in >= 0 && write(in, "line from a file\n", 17) == 17, "write %s", path);
	close(in);
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */
	char leak_check[64];
	snprintf(leak_check, sizeof(leak_check), "{ true <&%d; } 2>/dev/null && echo leak", leak);
	char script[512];
	snprintf(script, sizeof(script),
		 "printf '%%s\\n' \"$GREETING\"; read line; printf '%%s\\n' \"$line\"; "
		 "%s; if true >&2; then :; else echo no-stderr; fi; exit 7", leak_check);
	char *const sh_argv[] = { "sh", "-c", script, NULL };
	struct spawn_template_open open_in = {
		.path = (uintptr_t)path,
		.how = { .flags = O_RDONLY },
	};
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	struct spawn_template_action actions[] = {
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = p[1], .newfd = 1 },
		{ .type = SPAWN_TEMPLATE_ACTION_OPEN, .fd = AT_FDCWD, .newfd = 0,
		  .arg = (uintptr_t)&open_in },
		{ .type = SPAWN_TEMPLATE_ACTION_CLOSE, .fd = 2 },
	};
	CHECK(run(t_sh, sh_argv, envp, actions, 3, 0) == 7, "sh exits 7");
	slurp(p, out, sizeof(out));
	CHECK(!strcmp(out, "hello from a template\nline from a file\nno-stderr\n"),
	      "sh wrote [%s]", out);

	/* With SPAWN_TEMPLATE_SPAWN_INHERIT_FDS the fd reaches it. */
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	actions[0].fd = p[1];
	CHECK(run(t_sh, sh_argv, envp, actions, 3, SPAWN_TEMPLATE_SPAWN_INHERIT_FDS) == 7,
	      "sh (inherit) exits 7");
	slurp(p, out, sizeof(out));
	CHECK(!strcmp(out, "hello from a template\nline from a file\nleak\nno-stderr\n"),
	      "sh (inherit) wrote [%s]", out);

	/* A DUP2 with O_CLOEXEC: newfd does not survive the exec. */
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	char *const cloexec_argv[] = { "sh", "-c", "{ true >&0; } 2>/dev/null || echo no-stdin", NULL };
	struct spawn_template_action cloexec_actions[] = {
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = p[1], .newfd = 1 },
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = p[1], .newfd = 0, .flags = O_CLOEXEC },
	};
	CHECK(run(t_sh, cloexec_argv, envp, cloexec_actions, 2, 0) == 0, "sh (cloexec) exits 0");
	slurp(p, out, sizeof(out));
	CHECK(!strcmp(out, "no-stdin\n"), "sh (cloexec) wrote [%s]", out);

	/* CLOSE_RANGE to the end (newfd -1) over the inherited fd. */
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	struct spawn_template_action range_actions[] = {
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = p[1], .newfd = 1 },
		{ .type = SPAWN_TEMPLATE_ACTION_CLOSE_RANGE, .fd = leak, .newfd = -1 },
	};
	char range_check[96];
	snprintf(range_check, sizeof(range_check), "%s; exit 0", leak_check);
	char *const range_argv[] = { "sh", "-c", range_check, NULL };
	CHECK(run(t_sh, range_argv, envp, range_actions, 2, SPAWN_TEMPLATE_SPAWN_INHERIT_FDS) == 0,
	      "sh (close_range) exits 0");
	slurp(p, out, sizeof(out));
	CHECK(!strcmp(out, ""), "sh (close_range) wrote [%s]", out);
	close(leak);

	/*
	 * 4. SIGMASK and SIGDEFAULT: the child starts with SIGUSR1 blocked and
	 * with SIGUSR2, which we ignore, back at SIG_DFL.
	 */
	struct kernel_sigset usr1 = { { 0 } }, usr2 = { { 0 } };
	kernel_sigadd(&usr1, SIGUSR1);
	kernel_sigadd(&usr2, SIGUSR2);
	struct spawn_template_sigset mask_arg = { .sigset = (uintptr_t)&usr1,
						  .sigsetsize = sizeof(usr1) };
	struct spawn_template_sigset dflt_arg = { .sigset = (uintptr_t)&usr2,
						  .sigsetsize = sizeof(usr2) };
	signal(SIGUSR2, SIG_IGN);
	char *const sig_argv[] = { "sh", "-c",
				   "while read k v; do case $k in SigBlk:|SigIgn:) echo $k $v;; "
				   "esac; done </proc/self/status", NULL };
	struct spawn_template_action sig_actions[] = {
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .newfd = 1 },
		{ .type = SPAWN_TEMPLATE_ACTION_SIGMASK, .arg = (uintptr_t)&mask_arg },
		{ .type = SPAWN_TEMPLATE_ACTION_SIGDEFAULT, .arg = (uintptr_t)&dflt_arg },
	};
	unsigned long long usr1_bit = 1ULL << (SIGUSR1 - 1), usr2_bit = 1ULL << (SIGUSR2 - 1);
	unsigned long long blk, ign;
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	sig_actions[0].fd = p[1];
	CHECK(run(t_sh, sig_argv, envp, sig_actions, 3, 0) == 0, "sh (signals) exits 0");
	slurp(p, out, sizeof(out));
	CHECK(sscanf(out, "SigBlk: %llx SigIgn: %llx", &blk, &ign) == 2 && (blk & usr1_bit) &&
	      !(ign & usr2_bit), "sh (signals) wrote [%s]", out);
	/* without the actions: SIGUSR1 not blocked, SIGUSR2 still ignored */
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	sig_actions[0].fd = p[1];
	CHECK(run(t_sh, sig_argv, envp, sig_actions, 1, 0) == 0, "sh (no signals) exits 0");
	slurp(p, out, sizeof(out));
	CHECK(sscanf(out, "SigBlk: %llx SigIgn: %llx", &blk, &ign) == 2 && !(blk & usr1_bit) &&
	      (ign & usr2_bit), "sh (no signals) wrote [%s]", out);
	/* without SIGMASK the child inherits the caller's mask, as any clone does */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	sig_actions[0].fd = p[1];
	CHECK(run(t_sh, sig_argv, envp, sig_actions, 1, 0) == 0, "sh (inherited mask) exits 0");
	slurp(p, out, sizeof(out));
	CHECK(sscanf(out, "SigBlk: %llx SigIgn: %llx", &blk, &ign) == 2 && (blk & usr1_bit),
	      "sh (inherited mask) wrote [%s]", out);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR2, SIG_DFL);
	close(t_sh);

	/*
	 * 5. As the RFC's own selftest does: an fd opened before the template
	 * is created, closed by a CLOSE_RANGE action to the end that thus
	 * covers the template fd's number too (the child's copy of it; the
	 * spawn must still work).
	 */
	int extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int t_sh2 = create_path("/bin/sh");
	CHECK(t_sh2 > extra, "spawn_template_create(/bin/sh) after fd %d", extra);
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	char extra_check[96];
	snprintf(extra_check, sizeof(extra_check), "{ true <&%d; } 2>/dev/null && echo open; exit 0",
		 extra);
	char *const extra_argv[] = { "sh", "-c", extra_check, NULL };
	struct spawn_template_action extra_actions[] = {
		{ .type = SPAWN_TEMPLATE_ACTION_DUP2, .fd = p[1], .newfd = 1 },
		{ .type = SPAWN_TEMPLATE_ACTION_CLOSE_RANGE, .fd = extra, .newfd = -1 },
	};
	CHECK(run(t_sh2, extra_argv, envp, extra_actions, 2, SPAWN_TEMPLATE_SPAWN_INHERIT_FDS) == 0,
	      "close_range over the template fd");
	slurp(p, out, sizeof(out));
	CHECK(!strcmp(out, ""), "sh (close_range max) wrote [%s]", out);
	close(t_sh2);
	close(extra);

	/*
	 * A template created without SPAWN_TEMPLATE_CREATE_CLOEXEC (the RFC's
	 * default) is not close-on-exec in the caller, but it reaches no child
	 * that does not inherit fds.
	 */
	struct spawn_template_create_args keep = { .execfd = -1, .filename = (uintptr_t)"/bin/sh" };
	int t_keep = spawn_template_create(&keep, sizeof(keep));
	CHECK(t_keep >= 0 && !(fcntl(t_keep, F_GETFD) & FD_CLOEXEC), "template without CLOEXEC");
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	snprintf(extra_check, sizeof(extra_check), "{ true <&%d; } 2>/dev/null && echo leak; exit 0",
		 t_keep);
	extra_actions[1] = (struct spawn_template_action){ 0 };
	extra_actions[0].fd = p[1];
	CHECK(run(t_keep, extra_argv, envp, extra_actions, 1, 0) == 0, "sh (no CLOEXEC) exits 0");
	slurp(p, out, sizeof(out));
	CHECK(!strcmp(out, ""), "sh (template without CLOEXEC) wrote [%s]", out);
	close(t_keep);

	/* 6. Errors, as the RFC's kernel code reports them. */
	struct spawn_template_create_args bad = { .execfd = -1, .filename = (uintptr_t)"true" };
	errno = 0;
	CHECK(spawn_template_create(&bad, sizeof(bad)) == -1 && errno == EINVAL, "relative path");
	bad.filename = (uintptr_t)"/bin/true";
	CHECK(spawn_template_create(&bad, 64) == -1 && errno == EINVAL, "short size");
	bad.reserved[1] = 1;
	CHECK(spawn_template_create(&bad, sizeof(bad)) == -1 && errno == EINVAL, "reserved");
	struct spawn_template_spawn_args no_pidfd = { .argv = (uintptr_t)true_argv };
	CHECK(spawn_template_spawn(t_true, &no_pidfd, sizeof(no_pidfd)) == -1 && errno == EINVAL,
	      "pidfd 0");
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int pidfd = -1;
	struct spawn_template_spawn_args not_tmpl = { .pidfd = (uintptr_t)&pidfd,
						      .argv = (uintptr_t)true_argv };
	CHECK(spawn_template_spawn(devnull, &not_tmpl, sizeof(not_tmpl)) == -1 && errno == EINVAL,
	      "not a template");
	close(devnull);

	/* A path template whose file changed: ESTALE. */
	snprintf(path, sizeof(path), "%s/tool", dir);
	int src = open("/bin/true", O_RDONLY | O_CLOEXEC);
	int dst = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	char buf[65536];
	ssize_t r;
	while (src >= 0 && dst >= 0 && (r = read(src, buf, sizeof(buf))) > 0)
		CHECK(write(dst, buf, (size_t)r) == r, "copy");
	close(src);
	close(dst);
	int t_tool = create_path(path);
	CHECK(t_tool >= 0, "spawn_template_create(%s)", path);
	CHECK(run(t_tool, true_argv, envp, NULL, 0, 0) == 0, "tool exits 0");
	CHECK(chmod(path, 0755) == 0, "chmod");
	errno = 0;
	CHECK(run(t_tool, true_argv, envp, NULL, 0, 0) == -1 && errno == ESTALE, "stale path");
	close(t_tool);
	unlink(path);
	snprintf(path, sizeof(path), "%s/input", dir);
	unlink(path);
	close(t_true);

	if (failures)
		return 1;
	printf("rfc example ok\n");
	return 0;
}
