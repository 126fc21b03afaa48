/* SPDX-License-Identifier: MIT */
/*
 * sys.h - the thin syscall layer.
 *
 * Two jobs, kept in one place: define what old kernel headers (Debian 12 and
 * earlier) lack, and wrap raw syscalls so that they return -errno and never
 * touch errno.  The child executor runs on the caller's memory between clone
 * and exec, where errno belongs to the suspended caller thread, so it may only
 * use fl__sys*() from here.  x86_64 and aarch64 use inline assembly; other
 * architectures fall back to syscall(3) and restore errno afterwards.
 */
#ifndef FL_SYS_H
#define FL_SYS_H

#include <stdint.h>
#include <sys/syscall.h>

/* ---- what old headers lack --------------------------------------------- */

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
/* The native path: the forkless test kernel's process builder and spawn
 * templates (kernel/patches), x86-64 only, in a private range of numbers no stock
 * kernel has (ENOSYS there; pidfd_open says EINVAL to PIDFD_EMPTY). */
#define FL__PIDFD_EMPTY 0x40000000u
#if defined(__x86_64__)
#define FL__NR_pidfd_config 1000
#define FL__NR_pidfd_spawn_run 1001
#define FL__NR_spawn_template_create 1002
#define FL__NR_spawn_template_spawn 1003
#endif
/* sched_getattr(2)'s struct, its first version (glibc before 2.41 has none) */
struct fl__sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#define FL__CLONE_CLEAR_SIGHAND 0x100000000ULL /* 5.5 */
#define FL__CLONE_INTO_CGROUP 0x200000000ULL   /* 5.7 */

#define FL__CLOSE_RANGE_UNSHARE (1U << 1) /* 5.9 */
#define FL__CLOSE_RANGE_CLOEXEC (1U << 2) /* 5.11 */

#define FL__PIDFD_THREAD 0200 /* O_EXCL: pidfd_open of a thread, 6.9 */

#define FL__KCMP_VM 1 /* enum kcmp_type */

/* struct timespec as the kernel's 64-bit ABIs take it (futex timeouts) */
struct fl__timespec {
	long tv_sec;
	long tv_nsec;
};

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* struct clone_args as of 5.7 (CLONE_ARGS_SIZE_VER2). */
struct fl__clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};
#define FL__CLONE_ARGS_SIZE_VER0 64
#define FL__CLONE_ARGS_SIZE_VER2 88

/* struct open_how (5.6). */
struct fl__open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

/* The kernel's struct sigaction for rt_sigaction(2) on the asm-generic layout. */
struct fl__ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};
#define FL__NSIG 64

/* ---- raw syscalls ------------------------------------------------------ */

#if defined(__x86_64__)

static inline long fl__sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define FL__HAVE_CLONE3_ASM 1

#elif defined(__aarch64__)

static inline long fl__sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}
#define FL__HAVE_CLONE3_ASM 1

#else

#include <errno.h>
#include <unistd.h>
static inline long fl__sys6(long n, long a, long b, long c, long d, long e, long f)
{
	int saved = errno;
	long r = syscall(n, a, b, c, d, e, f);
	if (r == -1) {
		r = -errno;
		errno = saved;
	}
	return r;
}

#endif

#define fl__sys0(n) fl__sys6((n), 0, 0, 0, 0, 0, 0)
#define fl__sys1(n, a) fl__sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define fl__sys2(n, a, b) fl__sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define fl__sys3(n, a, b, c) fl__sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define fl__sys4(n, a, b, c, d) \
	fl__sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define fl__sys5(n, a, b, c, d, e) \
	fl__sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/*
 * fl__clone3_run - clone3(args, size); in the child call fn(arg) on the new
 * stack and exit with its result.  Returns the child's pid or -errno in the
 * caller.  Only where FL__HAVE_CLONE3_ASM is defined (sys_clone.S).
 */
long fl__clone3_run(struct fl__clone_args *args, unsigned long size,
		    int (*fn)(void *), void *arg);

#endif /* FL_SYS_H */
