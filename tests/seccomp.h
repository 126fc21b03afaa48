/* SPDX-License-Identifier: MIT */
/*
 * seccomp.h - seccomp filters that make this process look like an older or
 * locked-down kernel, so each fallback of the library is exercised for real.
 * Filters apply to the calling thread and the processes it creates.
 */
#ifndef FL_TEST_SECCOMP_H
#define FL_TEST_SECCOMP_H

/* One rule: syscall nr fails with errno err (or, with err == 0, kills the process). */
struct fl_sc_rule {
	int nr;
	int err;
	unsigned long arg0_mask; /* if set: the rule applies only when (arg0 & mask) != want */
	unsigned long arg0_want;
};

/* Install rules; everything else is allowed.  Fails the test on error. */
void fl_sc_install(const struct fl_sc_rule *rules, int n);

/* The never-fork proof: clone3 refused (its flags are not visible to
 * seccomp, so every creation goes through clone(), whose are), and the
 * process killed by a clone without CLONE_VM, a fork or a vfork. */
void fl_sc_kill_on_fork(void);

/*
 * Emulate a kernel whose clone3 lacks CLONE_CLEAR_SIGHAND (5.3/5.4): a
 * supervisor thread answers EINVAL to clone3 calls whose flags contain it and
 * lets the others through.  Counts in *refused and *passed.
 */
void fl_sc_no_clear_sighand(volatile int *refused, volatile int *passed);

/* Close the supervisor's fds (the filter stays; clone3 then gets ENOSYS). */
void fl_sc_supervisor_close(void);

/* What fl_sc_clone3_watch saw. */
struct fl_sc_clone3_log {
	volatile int calls;        /* clone3 calls seen */
	volatile int without_vm;   /* of them, without CLONE_VM: refused with EPERM */
	volatile int into_cgroup;  /* of them, with CLONE_INTO_CGROUP */
	volatile int cgroup_fd;    /* clone_args.cgroup of the last of those */
	volatile unsigned long cgroup_ino; /* the inode that fd named in the caller */
	volatile int caller_pid;   /* the tgid of the last caller */
};

/*
 * Never fork, clone3 included: a supervisor thread reads the clone_args of
 * every clone3 this thread and its descendants make (process_vm_readv of
 * the caller) and refuses one without CLONE_VM (EPERM), letting the others
 * through; log says what it saw.  clone(2) without CLONE_VM, fork(2) and
 * vfork(2) kill the process (SIGSYS).  Close with fl_sc_supervisor_close().
 */
void fl_sc_clone3_watch(struct fl_sc_clone3_log *log);

/*
 * Refuse clone3 with err when its size argument is size (arg 1; e.g. the
 * 88 bytes that CLONE_INTO_CGROUP needs, as a 5.3-5.6 kernel refuses them
 * with E2BIG), letting other clone3 calls through.
 */
void fl_sc_clone3_size(unsigned long size, int err);

#endif
