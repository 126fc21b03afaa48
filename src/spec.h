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
	FL__SET_NICE = 1u << 16,       /* the caller's nice value (a server child) */
};

/* fl__spec.mode: how the launcher created the child; what is left to do. */
enum {
	FL__MODE_SIGHAND_CLEARED = 1u << 0, /* CLONE_CLEAR_SIGHAND worked */
	FL__MODE_FILES_SHARED = 1u << 1,    /* CLONE_FILES: unshare before anything */
	FL__MODE_IN_CGROUP = 1u << 2,       /* CLONE_INTO_CGROUP worked */
	FL__MODE_INHERIT_FDS = 1u << 3,     /* keep every non-CLOEXEC fd */
	FL__MODE_ERRPIPE = 1u << 4,         /* memory not shared: report via errfd */
	FL__MODE_EXECFD_INHERIT = 1u << 5,  /* a script by fd: the interpreter reads /dev/fd/N */
	FL__MODE_FAR_FDS = 1u << 7,         /* copy below near_limit, take the far fds by pidfd_getfd */
	FL__MODE_REMAP = 1u << 8,           /* a server child: put remap_src[] at the caller's numbers */
	FL__MODE_NOEXEC = 1u << 9,          /* a warm child: return instead of exec (warm.c) */
};

/* A caller fd a server child gets: its number there and its FD_CLOEXEC. */
struct fl__wfd {
	int32_t fd;
	int32_t cloexec;
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
	uint64_t sigignore; /* signals the caller ignores: SIG_IGN here too (a server child) */
	int base_fd;  /* FL__MODE_REMAP: the caller's cwd (its number), where a relative cwd starts */
	int nice;
	/* FL__MODE_REMAP: fd remap_src[i] of our table becomes the caller's
	 * remap[i].fd; every other fd is closed (the child overwrites remap_src) */
	int *remap_src;
	const struct fl__wfd *remap;
	size_t nremap;
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
/* Exits, or execs; with FL__MODE_NOEXEC, returns the report fd (-1: none)
 * once every step before exec is done, the program's fd closed. */
int fl__child_main(void *arg);

/*
 * An embryo: a process the spawn server creates ahead of its run
 * (CLONE_VM with the server, CLONE_PARENT: a child of the caller), which
 * waits in fl__embryo_main() for commands on its control socket (ctl, a
 * SOCK_SEQPACKET end; the server holds the other): a one-byte command with
 * fds.  EOF (the server is gone) makes it exit.  The block sits at the top
 * of the embryo's own stack mapping; the server reuses both only after tid
 * (CLONE_CHILD_CLEARTID) went to 0: the embryo's mm was released by exec
 * or exit.
 */
enum { FL__EMB_OP = 1, FL__EMB_FDS, FL__EMB_RUN };
enum { FL__OP_CHDIR = 1, FL__OP_FCHDIR, FL__OP_AFFINITY, FL__OP_MEMPOLICY };

struct fl__embryo {
	int tid;               /* futex: the embryo's tid, 0 once its mm is released */
	int ctl;               /* its end of the control socket, in its own table */
	int op;                /* FL__OP_* for FL__EMB_OP */
	const void *op_ptr;
	long op_arg, op_arg2;
	long op_result;
	size_t nsrc;           /* fds received for the run so far (into run_spec->remap_src) */
	struct fl__spec *run_spec; /* set by the server before FL__EMB_FDS */
	struct fl__child_arg arg;  /* for FL__EMB_RUN: spec is run_spec */
};

int fl__embryo_main(void *arg);

#endif /* FL_SPEC_H */
