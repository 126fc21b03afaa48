/* SPDX-License-Identifier: MIT */
/*
 * spec.h - the one plain description of a process to create.
 *
 * Every front end (builder, one-call form, and later the POSIX front end and
 * templates) fills a struct fl__spec; every launcher hands it to the one child
 * executor, fl__child_main().  The caller prepares everything the child needs
 * (PATH value, sorted list of fds to keep, highest fd referenced) so that the
 * child only reads plain memory and makes raw syscalls.
 */
#ifndef FL_SPEC_H
#define FL_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "forkless.h"

#define FL__RLIM_MAX 16 /* RLIM_NLIMITS on Linux */

struct fl__rlimit64 {
	uint64_t cur;
	uint64_t max;
};

/* fl__spec.set: which attributes were configured. */
enum {
	FL__SET_SETSID = 1u << 0,
	FL__SET_PGROUP = 1u << 1,
	FL__SET_CTTY = 1u << 2,
	FL__SET_SCHED = 1u << 3,
	FL__SET_AFFINITY = 1u << 4,
	FL__SET_MEMPOLICY = 1u << 5,
	FL__SET_UMASK = 1u << 6,
	FL__SET_PDEATHSIG = 1u << 7,
	FL__SET_GROUPS = 1u << 8,
	FL__SET_GID = 1u << 9,
	FL__SET_UID = 1u << 10,
	FL__SET_CWD = 1u << 11,
	FL__SET_CGROUP = 1u << 12,
	FL__SET_SIGMASK = 1u << 13,
	FL__SET_SCHEDPARAM = 1u << 14, /* priority alone: sched_setparam */
	FL__SET_RESETIDS = 1u << 15,   /* effective ids := real ids (POSIX_SPAWN_RESETIDS) */
};

/* fl__spec.mode: how the launcher created the child; what is left to do. */
enum {
	FL__MODE_SIGHAND_CLEARED = 1u << 0, /* CLONE_CLEAR_SIGHAND worked */
	FL__MODE_FILES_SHARED = 1u << 1,    /* CLONE_FILES: unshare before anything */
	FL__MODE_IN_CGROUP = 1u << 2,       /* CLONE_INTO_CGROUP worked */
	FL__MODE_INHERIT_FDS = 1u << 3,     /* keep every non-CLOEXEC fd */
	FL__MODE_ERRPIPE = 1u << 4,         /* memory not shared: report via errfd */
	FL__MODE_EXECFD_INHERIT = 1u << 5,  /* a script by fd: the interpreter reads /dev/fd/N */
	FL__MODE_EMBRYO = 1u << 6,          /* run by an embryo: clear its SIGKILL death signal */
	FL__MODE_FAR_FDS = 1u << 7,         /* copy below near_limit, take the far fds by pidfd_getfd */
};

/* Caller fds numbered at least this high that the child reads are "far":
 * with FL__MODE_FAR_FDS it takes them one by one instead of copying the
 * caller's table up to them. */
#define FL__FAR_FD 256
#define FL__FAR_MAX 8

struct fl__spec {
	/* what to run: execfd >= 0 wins, else path (searched in search if set) */
	int execfd;
	const char *path;
	const char *search; /* PATH value for a bare name, or NULL */
	char *const *argv;
	char *const *envp;
	/* if set, an ENOEXEC file (a search stops there) is run as
	 * {"/bin/sh", path, argv[1]..., NULL}: glibc's posix_spawn[p] before 2.15 */
	char *const *shell_argv;

	uint32_t set; /* FL__SET_* */
	uint32_t mode; /* FL__MODE_* */

	uint64_t sigmask;    /* mask to exec with (bit n-1 is signal n) */
	uint64_t sigdefault; /* signals reset to SIG_DFL even if ignored */
	int cgroup_fd;
	int pgroup;
	int ctty_fd;
	uint32_t rlimit_set; /* bit per RLIMIT_* */
	struct fl__rlimit64 rlimits[FL__RLIM_MAX];
	int sched_policy;
	int sched_priority;
	const void *affinity; /* cpu mask, affinity_size bytes */
	size_t affinity_size;
	int mpol_mode;
	const unsigned long *mpol_nodes;
	unsigned long mpol_maxnode;
	unsigned int umask;
	int pdeathsig;
	pid_t parent_pid; /* for the PR_SET_PDEATHSIG race check */
	const gid_t *groups;
	size_t ngroups;
	gid_t gid;
	uid_t uid;
	int cwd_fd; /* >= 0: fchdir, else chdir(cwd) */
	const char *cwd;

	const struct fl_action *actions;
	size_t nactions;
	const int *keep; /* sorted, unique fds >= 3 that survive the cleanup */
	size_t nkeep;
	int fd_limit; /* 1 + the highest fd the child names (reads or writes) */
	int read_limit; /* 1 + the highest caller fd whose open file the child reads */
	int near_limit; /* the same without the far fds */
	int far[FL__FAR_MAX]; /* the far fds, ascending, each >= near_limit + 2 */
	int nfar;
	/* bit i: far[i] need not sit at its own number (nothing keeps it
	 * across exec, writes or closes it, or reads it as an attribute): it
	 * is taken to a free number >= far_min, which the child reads instead,
	 * so the table does not grow to the caller's size */
	unsigned int far_moved;
	int far_min; /* 1 + the highest fd named by anything but a moved far fd */
	pid_t caller_tid; /* FL__MODE_FAR_FDS: the thread whose table holds them */
	int errfd;    /* FL__MODE_ERRPIPE: write end of the report pipe */
	int errfd_read; /* and its read end, which the child closes */
};

/* Written by the child, read by the caller once the child exec'd or exited. */
struct fl__report {
	int err;
	int stage;
	int index;
	int reached; /* last stage entered; FL_STAGE_EXEC once exec is tried */
	int retry;   /* the far fds could not be taken: launch again without FL__MODE_FAR_FDS */
};

/* The child executor: the start function of every launcher's child. */
struct fl__child_arg {
	const struct fl__spec *spec;
	volatile struct fl__report *report;
	volatile int *pidfd; /* where clone put the pidfd number (written before we run) */
};
int fl__child_main(void *arg);

/*
 * An embryo: a process created ahead of its run (CLONE_VM|CLONE_FILES, no
 * CLONE_VFORK) that waits in fl__embryo_main() on cmd, a futex word in this
 * block.  The block sits at the top of the embryo's own stack mapping; the
 * caller frees both only after tid (CLONE_CHILD_CLEARTID) went to 0: the
 * embryo's mm was released by exec or exit.
 */
enum { FL__EMB_WAIT, FL__EMB_OP, FL__EMB_RUN, FL__EMB_EXIT };
enum { FL__OP_CHDIR = 1, FL__OP_FCHDIR, FL__OP_AFFINITY, FL__OP_MEMPOLICY };
/* a reserve slot: no block, a block to fill, being filled, a spare, failed */
enum { FL__SPARE_NONE, FL__SPARE_EMPTY, FL__SPARE_CLONING, FL__SPARE_READY, FL__SPARE_FAILED };

struct fl__reserve;

struct fl__embryo {
	uint32_t cmd;          /* futex: FL__EMB_* */
	int tid;               /* futex: the embryo's tid, 0 once its mm is released */
	pid_t parent_pid;      /* the caller's pid: the death-signal race check */
	pid_t creator_tid;     /* the thread it dies with: the exec check */
	pid_t pid;             /* set by whoever cloned it */
	int pidfd;             /* the library's own pidfd of it, to reap by (-1: none) */
	uint32_t mode;         /* FL__MODE_SIGHAND_CLEARED if its handlers are default */
	long clone_err;        /* a spare whose clone failed: -errno */
	int sched_restore;     /* waits as SCHED_BATCH: back to SCHED_OTHER at the run */
	struct fl__reserve *reserve; /* a spare: kick this nursery when run */
	int op;                /* FL__OP_* with cmd FL__EMB_OP */
	const void *op_ptr;
	long op_arg, op_arg2;
	long op_result;
	struct fl__child_arg arg; /* for FL__EMB_RUN */
};

/*
 * The reserve: the nursery, an embryo that never runs a program, clones
 * spares (CLONE_PARENT: they are the caller's children) into the blocks
 * of the slots whose state is EMPTY, whenever kick changes.  One per
 * process, never freed, so that a late kick from a spare never writes to
 * freed memory.  The block of a spare is at the top of its stack.
 */
#define FL__RESERVE_MAX 64
struct fl__reserve {
	uint32_t kick;                 /* futex: bumped to make the nursery look */
	uint32_t quit;                 /* the nursery exits when set */
	uint32_t passes;               /* futex: bumped after each pass over the slots */
	unsigned long spare_flags;     /* clone flags of a spare */
	uint32_t state[FL__RESERVE_MAX]; /* FL__SPARE_* */
	struct fl__embryo *slot[FL__RESERVE_MAX];
};

int fl__embryo_main(void *arg);
int fl__nursery_main(void *arg);

#endif /* FL_SPEC_H */
