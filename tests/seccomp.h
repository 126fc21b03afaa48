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

/*
 * Emulate a kernel whose clone3 lacks CLONE_CLEAR_SIGHAND (5.3/5.4): a
 * supervisor thread answers EINVAL to clone3 calls whose flags contain it and
 * lets the others through.  Counts in *refused and *passed.
 */
void fl_sc_no_clear_sighand(volatile int *refused, volatile int *passed);

/* Close the supervisor's fds (the filter stays; clone3 then gets ENOSYS). */
void fl_sc_supervisor_close(void);

#endif
