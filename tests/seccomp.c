/* SPDX-License-Identifier: MIT */
/*
 * seccomp.c - the filters of seccomp.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "harness.h"
#include "seccomp.h"

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define ARCH AUDIT_ARCH_I386
#else
#error "seccomp tests: unknown architecture"
#endif

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARG0_OFF offsetof(struct seccomp_data, args[0]) /* low word (little endian) */
#define ARG1_OFF offsetof(struct seccomp_data, args[1])

static int do_seccomp(unsigned int flags, struct sock_fprog *prog)
{
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
}

void fl_sc_install(const struct fl_sc_rule *rules, int n)
{
	struct sock_filter f[8 + 8 * 16];
	int k = 0;

	f[k++] = (struct sock_filter)LD(offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	for (int i = 0; i < n && i < 16; i++) {
		const struct fl_sc_rule *r = &rules[i];
		uint32_t action = r->err ? SECCOMP_RET_ERRNO | (uint32_t)r->err
					 : SECCOMP_RET_KILL_PROCESS;
		f[k++] = (struct sock_filter)LD(NR_OFF);
		if (!r->arg0_mask) {
			f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 1);
			f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action);
			continue;
		}
		/* nr matches and (arg0 & mask) != want -> action */
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 4);
		f[k++] = (struct sock_filter)LD(ARG0_OFF);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, (uint32_t)r->arg0_mask);
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->arg0_want, 1, 0);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)k, .filter = f };
	int r = do_seccomp(0, &prog);
	if (r < 0 && fl_test_valgrind())
		fl_test_skip("valgrind does not support seccomp");
	if (r < 0)
		fl_test_fail(__FILE__, __LINE__, "seccomp: %s", strerror(errno));
}

void fl_sc_kill_on_fork(void)
{
	struct fl_sc_rule r[] = {
		{ SYS_clone3, ENOSYS, 0, 0 },
		{ SYS_clone, 0, CLONE_VM, CLONE_VM }, /* kill unless CLONE_VM */
#ifdef SYS_fork
		{ SYS_fork, 0, 0, 0 },
		{ SYS_vfork, 0, 0, 0 },
#endif
	};
	fl_sc_install(r, (int)(sizeof(r) / sizeof(r[0])));
}

struct supervisor {
	int listener;
	volatile int *refused, *passed;
	struct fl_sc_clone3_log *log; /* set: fl_sc_clone3_watch's policy */
};
static struct supervisor sup;
static int sup_ready[2];

/* clone_args of the caller (any process: read through process_vm_readv). */
static void watch_clone3(const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	uint64_t a[11] = { 0 }; /* flags pidfd child_tid parent_tid exit_signal stack
				 * stack_size tls set_tid set_tid_size cgroup */
	size_t size = req->data.args[1] < sizeof(a) ? req->data.args[1] : sizeof(a);
	struct iovec local = { a, size }, remote = { (void *)(uintptr_t)req->data.args[0], size };
	struct fl_sc_clone3_log *log = sup.log;

	log->calls++;
	log->caller_pid = (int)req->pid;
	if (process_vm_readv((pid_t)req->pid, &local, 1, &remote, 1, 0) != (ssize_t)size ||
	    !(a[0] & CLONE_VM)) {
		log->without_vm++;
		resp->error = -EPERM;
		return;
	}
	if (a[0] & 0x200000000ULL) { /* CLONE_INTO_CGROUP */
		char path[64];
		struct stat st;
		log->into_cgroup++;
		log->cgroup_fd = (int)a[10];
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)req->pid, (int)a[10]);
		log->cgroup_ino = stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
	}
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
}

static void *supervise(void *p)
{
	(void)p;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	char c;

	if (read(sup_ready[0], &c, 1) != 1)
		return NULL;
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(sup.listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		if (sup.log) {
			watch_clone3(&req, &resp);
			ioctl(sup.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
			continue;
		}
		/* same address space: read clone_args.flags directly */
		uint64_t flags = *(const uint64_t *)(uintptr_t)req.data.args[0];
		if (flags & 0x100000000ULL) { /* CLONE_CLEAR_SIGHAND */
			resp.error = -EINVAL;
			(*sup.refused)++;
		} else {
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			(*sup.passed)++;
		}
		ioctl(sup.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

static void start_supervisor(struct sock_filter *f, unsigned short len)
{
	struct sock_fprog prog = { .len = len, .filter = f };
	pthread_t t;

	if (pipe2(sup_ready, O_CLOEXEC) < 0 || pthread_create(&t, NULL, supervise, NULL))
		fl_test_fail(__FILE__, __LINE__, "supervisor: %s", strerror(errno));
	pthread_detach(t);
	/* only this thread is filtered: the supervisor was created before */
	sup.listener = do_seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (sup.listener < 0 && fl_test_valgrind())
		fl_test_skip("valgrind does not support seccomp");
	if (sup.listener < 0)
		fl_test_fail(__FILE__, __LINE__, "seccomp listener: %s", strerror(errno));
	if (write(sup_ready[1], "x", 1) != 1)
		fl_test_fail(__FILE__, __LINE__, "supervisor start");
}

void fl_sc_clone3_watch(struct fl_sc_clone3_log *log)
{
	struct sock_filter f[] = {
		LD(offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		LD(NR_OFF),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
#ifdef SYS_fork
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fork, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_vfork, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
		/* clone: kill unless CLONE_VM */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4),
		LD(ARG0_OFF),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, CLONE_VM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CLONE_VM, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	memset((void *)log, 0, sizeof(*log));
	log->cgroup_fd = -1;
	sup.log = log;
	start_supervisor(f, (unsigned short)(sizeof(f) / sizeof(f[0])));
}

void fl_sc_clone3_size(unsigned long size, int err)
{
	struct sock_filter f[] = {
		LD(NR_OFF),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 3),
		LD(ARG1_OFF),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)size, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (uint32_t)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (do_seccomp(0, &prog) < 0) {
		if (fl_test_valgrind())
			fl_test_skip("valgrind does not support seccomp");
		fl_test_fail(__FILE__, __LINE__, "seccomp: %s", strerror(errno));
	}
}

void fl_sc_no_clear_sighand(volatile int *refused, volatile int *passed)
{
	struct sock_filter f[] = {
		LD(NR_OFF),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	sup.refused = refused;
	sup.passed = passed;
	start_supervisor(f, 4);
}

void fl_sc_supervisor_close(void)
{
	close(sup.listener);
	close(sup_ready[0]);
	close(sup_ready[1]);
}
