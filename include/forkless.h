/* SPDX-License-Identifier: MIT */
/*
 * forkless.h - create Linux processes without fork().
 *
 * The builder API mirrors the 2026 kernel proposal so that code maps one to
 * one onto the syscalls if they land: fl_pidfd_open(0, FL_PIDFD_EMPTY) gives
 * a handle for a process that does not run yet, fl_pidfd_config() configures
 * it (modelled on fsconfig()), fl_pidfd_spawn_run() starts it, and the same fd
 * is then the child's pidfd.
 *
 * Conventions: every function returns a value >= 0 on success or a negative
 * errno value on failure (the POSIX front end: 0 or a positive errno value,
 * as POSIX has it).  No function changes errno: each saves it on entry and
 * restores it on return, whatever libc calls it makes inside.  Output
 * parameters are untouched on failure unless their description says
 * otherwise.
 */
#ifndef FORKLESS_H
#define FORKLESS_H

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_VERSION_MAJOR 0
#define FL_VERSION_MINOR 1
#define FL_VERSION_PATCH 0

/* ---- the layout of argument structs ------------------------------------ */

/*
 * Every struct the library reads from the caller has the same layout, size
 * and alignment on every Linux ABI (x86-64, i686, armv7, aarch64, ...), as
 * the kernel's struct clone_args: 64-bit fields are aligned to 8, and a
 * pointer sits in a 64-bit slot of its own.  FL__PTR(type, name) is such a
 * slot: the pointer `name`, which the library reads, overlaid with
 * `name_u64`, the whole slot.  Set either one; on 32-bit ABIs the half of
 * the slot that the pointer does not cover is ignored (it is the upper half
 * of name_u64 on both byte orders, so (uint64_t)(uintptr_t)p is right too).
 */
#if defined(__GNUC__) || defined(__clang__)
#define FL__ALIGN8 __attribute__((__aligned__(8)))
#else
#error "forkless.h needs __attribute__((aligned)) (GCC, Clang and compatible compilers)"
#endif

typedef uint64_t fl_aligned_u64 FL__ALIGN8; /* the kernel's __aligned_u64 */

#if defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 4 && \
	defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FL__PTR(type, name) \
	union FL__ALIGN8 { \
		struct { uint32_t fl__hi_##name; type name; }; \
		uint64_t name##_u64; \
	}
#else
#define FL__PTR(type, name) \
	union FL__ALIGN8 { \
		type name; \
		uint64_t name##_u64; \
	}
#endif

#ifdef __cplusplus
#define FL__STATIC_ASSERT(e, m) static_assert(e, m)
#define FL__ALIGNOF(t) alignof(t)
#else
#define FL__STATIC_ASSERT(e, m) _Static_assert(e, m)
#define FL__ALIGNOF(t) _Alignof(t)
#endif

/* ---- handles ----------------------------------------------------------- */

/* fl_pidfd_open() flag: with pid == 0, open an empty (not yet started) process. */
#define FL_PIDFD_EMPTY 0x1u
/* With FL_PIDFD_EMPTY: create the process now, as an "embryo" that waits
 * until it is run; the handle is its pidfd from the start. */
#define FL_PIDFD_EMBRYO 0x2u

/*
 * fl_pidfd_open - open a process handle.
 *
 * pid == 0 with FL_PIDFD_EMPTY: returns a new builder handle (an fd with
 * O_CLOEXEC) for a process that does not run yet.  Configure it with
 * fl_pidfd_config() and start it with fl_pidfd_spawn_run().
 * With FL_PIDFD_EMBRYO too, the process is created now, by the spawn
 * server (forkless-server(8)) in the server's memory, as a child of the
 * caller, and waits: the handle is its pidfd from the start (see
 * fl_pidfd_open(3)); clone errors (-EAGAIN ...) and the server's (-ENOENT:
 * no server program; -ECONNRESET: it died meanwhile) come from this call.
 * pid > 0 with flags == 0: returns a pidfd for the existing process (pidfd_open(2)).
 *
 * Errors: -EINVAL bad pid/flags combination; -EMFILE, -ENFILE, -ENOMEM;
 * whatever pidfd_open(2) returns (-ESRCH, -ENOSYS, -EPERM under seccomp).
 */
int fl_pidfd_open(pid_t pid, unsigned int flags);

/* ---- configuration ----------------------------------------------------- */

/* Commands for fl_pidfd_config(), as fsconfig(2) has them. */
enum fl_config_cmd {
	FL_CONFIG_SET_FLAG = 0,    /* key is a boolean; value NULL, aux 0 */
	FL_CONFIG_SET_STRING = 1,  /* value: const char *, parsed per key */
	FL_CONFIG_SET_BINARY = 2,  /* value: pointer to aux bytes (per-key type) */
	FL_CONFIG_SET_FD = 5,      /* aux: an fd (duplicated; caller keeps its own) */
	FL_CONFIG_SET_INT = 9,     /* aux: the integer */
	FL_CONFIG_SET_STRINGV = 10, /* value: NULL-terminated char *const[] */
	FL_CONFIG_UNSET = 11,      /* reset key to its default */
};

/*
 * fl_pidfd_config - set one attribute of a not yet started process.
 *
 * Keys (see fl_pidfd_config(3) for the value forms each accepts):
 *   path argv envp execfd cwd umask setsid pgroup ctty sigmask sigdefault
 *   rlimit.<name> (every RLIMIT_*, e.g. rlimit.nofile) uid gid groups cgroup
 *   pdeathsig affinity mempolicy numa_node sched_policy sched_priority
 *   inherit_fds resetids template (FL_CONFIG_SET_FD: a template fd)
 *   warm (a warm template's server, the default; false: by exec) launcher
 *
 * Returns 0.  Errors: -EBADF fd is not open, or a bad fd value; -EINVAL fd
 * is not a forkless handle, unknown key, wrong command for the key or a
 * value out of range; -EBUSY the process was already started (or a run
 * failed: a handle runs once); -EBADFD the handle was created by another
 * process (after fork()); -ENOENT empty path/cwd; -ENOTDIR, -ENOTTY a cwd or
 * cgroup that is no directory, a ctty that is no terminal; -EFAULT NULL
 * vector; -ENOMEM, -EMFILE; open(2) errors of the ctty and cgroup paths.
 * On error the configuration is unchanged: nothing is half-applied.
 * On an embryo handle the keys cwd, affinity, mempolicy and numa_node are
 * applied by the embryo during this call (their errors are this call's;
 * -ESRCH if the embryo died); once applied, FL_CONFIG_UNSET of them is
 * -EBUSY.  (numa_node sets affinity, then the policy: if the policy fails,
 * the embryo keeps the new affinity.)  Every key of an embryo killed with
 * its creating thread, or ended with its spawn server, fails: -EPERM if a
 * change of credentials ended the server, else -ESRCH.
 */
int fl_pidfd_config(int fd, unsigned int cmd, const char *key,
		    const void *value, int aux);

/* ---- actions ----------------------------------------------------------- */

/* Action types, applied in array order in the child. */
enum fl_action_type {
	FL_ACTION_CLOSE = 1,       /* close(fd) */
	FL_ACTION_DUP2 = 2,        /* dup2(fd, newfd); fd == newfd keeps fd open across exec */
	FL_ACTION_FCHDIR = 3,      /* fchdir(fd) */
	FL_ACTION_OPEN = 4,        /* newfd = openat(fd or AT_FDCWD, arg -> struct fl_open) */
	FL_ACTION_CLOSE_RANGE = 5, /* close_range(fd, newfd < 0 ? ~0U : newfd, flags) */
	FL_ACTION_CHDIR = 6,       /* chdir((const char *)arg) */
	FL_ACTION_INHERIT = 7,     /* keep fd open in the child, across exec (clears FD_CLOEXEC there) */
	FL_ACTION_TCSETPGRP = 8,   /* make the child's process group the foreground of tty fd */
};

/* fl_action.flags of FL_ACTION_CLOSE: an fd that is not open is no error (POSIX addclose). */
#define FL_ACTION_CLOSE_IF_OPEN 0x1u
/* fl_action.flags of FL_ACTION_OPEN: pass O_CLOEXEC to open(2) as given; newfd keeps
 * it only if open returned newfd itself (glibc's posix_spawn_file_actions_addopen). */
#define FL_ACTION_OPEN_OFLAG_AS_IS 0x1u

/* A fixed-size action record, as in the kernel proposal. */
struct fl_action {
	uint32_t type;
	uint32_t flags;
	int32_t fd;
	int32_t newfd;
	fl_aligned_u64 arg;
};

/* What FL_ACTION_OPEN's arg points to (open_how plus the path).  newfd is
 * closed first (unless it is the directory fd), as POSIX's addopen has it. */
struct fl_open {
	FL__PTR(const char *, path);
	fl_aligned_u64 flags;   /* O_* flags; O_CLOEXEC is cleared on newfd (see OFLAG_AS_IS) */
	fl_aligned_u64 mode;
	fl_aligned_u64 resolve; /* RESOLVE_* (openat2); 0 uses openat */
};

FL__STATIC_ASSERT(sizeof(struct fl_action) == 24 && FL__ALIGNOF(struct fl_action) == 8 &&
		  offsetof(struct fl_action, newfd) == 12 && offsetof(struct fl_action, arg) == 16,
		  "struct fl_action: one layout on every ABI");
FL__STATIC_ASSERT(sizeof(struct fl_open) == 32 && offsetof(struct fl_open, flags) == 8 &&
		  offsetof(struct fl_open, resolve) == 24, "struct fl_open: one layout on every ABI");

/* ---- running ----------------------------------------------------------- */

/*
 * Stages reported in struct fl_error: which step failed.  The child applies
 * them in this order (FL_STAGE_ACTION for each action, in array order).
 */
enum fl_stage {
	FL_STAGE_NONE = 0,
	FL_STAGE_CONFIG,     /* validation in the caller; no process was created */
	FL_STAGE_CLONE,      /* creating the process */
	FL_STAGE_FDTABLE,    /* unsharing the descriptor table */
	FL_STAGE_CGROUP,     /* joining the configured cgroup */
	FL_STAGE_SIGDEFAULT, /* resetting signal dispositions */
	FL_STAGE_SETSID,
	FL_STAGE_PGROUP,
	FL_STAGE_CTTY,
	FL_STAGE_RLIMIT,     /* index: the RLIMIT_* resource */
	FL_STAGE_SCHED,
	FL_STAGE_AFFINITY,
	FL_STAGE_MEMPOLICY,
	FL_STAGE_UMASK,
	FL_STAGE_GROUPS,
	FL_STAGE_GID,
	FL_STAGE_UID,
	FL_STAGE_PDEATHSIG,  /* after uid/gid: a credential change clears it */
	FL_STAGE_CWD,
	FL_STAGE_ACTION,     /* index: the action */
	FL_STAGE_CLOSE_FDS,  /* closing descriptors not named by actions */
	FL_STAGE_SIGMASK,
	FL_STAGE_EXEC,
	FL_STAGE_KILLED,     /* the child died before exec (err ECHILD); index: signal */
	FL_STAGE_TEMPLATE,   /* a template's executable or caller failed a check; index: enum fl_template_check */
	FL_STAGE_SERVER,     /* starting the spawn server failed; index: the stage of its start */
	FL_STAGE_MAX_
};

/* Where a failed run reports what went wrong. */
struct fl_error {
	int err;   /* positive errno value */
	int stage; /* enum fl_stage */
	int index; /* action index, RLIMIT_* resource, signal; -1 when none */
};

/* fl_spawn_args.flags */
#define FL_SPAWN_INHERIT_FDS 0x1u /* classic inheritance: keep every non-CLOEXEC fd */
#define FL_SPAWN_NO_SEARCH 0x2u   /* exec a bare name as a relative path: no $PATH search */
#define FL_SPAWN_ASYNC 0x4u       /* embryo handles: return once the embryo is released;
				   * fl_pidfd_spawn_result() tells the outcome */

/* Arguments of fl_pidfd_spawn_run(); zero means "use the configured value". */
struct fl_spawn_args {
	fl_aligned_u64 flags;                     /* FL_SPAWN_* */
	FL__PTR(const char *, path);              /* overrides "path" */
	FL__PTR(char *const *, argv);             /* overrides "argv" */
	FL__PTR(char *const *, envp);             /* overrides "envp" */
	FL__PTR(const struct fl_action *, actions);
	fl_aligned_u64 nactions;
	FL__PTR(struct fl_error *, error);        /* filled on failure if not NULL */
	FL__PTR(int *, pidfd);                    /* VER1: if not NULL, receives the child's pidfd */
};

#define FL_SPAWN_ARGS_SIZE_VER0 56 /* the first published size */
#define FL_SPAWN_ARGS_SIZE_VER1 64 /* + pidfd */

FL__STATIC_ASSERT(sizeof(struct fl_spawn_args) == FL_SPAWN_ARGS_SIZE_VER1 &&
		  FL__ALIGNOF(struct fl_spawn_args) == 8 &&
		  offsetof(struct fl_spawn_args, path) == 8 &&
		  offsetof(struct fl_spawn_args, argv) == 16 &&
		  offsetof(struct fl_spawn_args, envp) == 24 &&
		  offsetof(struct fl_spawn_args, actions) == 32 &&
		  offsetof(struct fl_spawn_args, nactions) == 40 &&
		  offsetof(struct fl_spawn_args, error) == 48 &&
		  offsetof(struct fl_spawn_args, pidfd) == FL_SPAWN_ARGS_SIZE_VER0,
		  "struct fl_spawn_args: one layout on every ABI");

/*
 * fl_pidfd_spawn_run - start the process configured on handle fd.
 *
 * args (may be NULL, with size 0) adds per-run overrides and actions.  size is
 * sizeof(*args); a larger size is accepted if the extra bytes are zero, up
 * to the page size (the kernel's rule for extensible structs: a larger size
 * is -E2BIG and nothing is read); a size below FL_SPAWN_ARGS_SIZE_VER0 is
 * -EINVAL.
 *
 * The file to run is args->path, else "path", else argv[0]; a name without
 * '/' is searched in the caller's $PATH (default "/bin:/usr/bin") with
 * execvp(3)'s error precedence, but an ENOEXEC file is an error, never run
 * by /bin/sh (unless FL_SPAWN_NO_SEARCH).  envp defaults to the caller's
 * environ at this call.
 *
 * The child applies, in the order of enum fl_stage, the configured attributes,
 * then the actions, closes every fd that no action names (unless
 * FL_SPAWN_INHERIT_FDS or the "inherit_fds" key), sets its signal mask and
 * execs.  The caller is blocked until the exec succeeded or failed; with
 * FL_SPAWN_ASYNC (embryo handles) not at all: path, argv, envp, the
 * actions and the fds they name are sent to the spawn server with the
 * call, so nothing needs to stay open or unchanged after it returns.
 * An embryo's run fails with -EPERM if the credentials changed since
 * fl_pidfd_open() (its server ended with them), -ESRCH if the embryo or
 * its server died.
 *
 * Returns the child's pid; fd (the same number) is now the child's pidfd,
 * O_CLOEXEC.  args->error (if set) is cleared to {0, FL_STAGE_NONE, -1} at
 * the start of the call.  On failure no child, zombie or fd is left,
 * args->error says what failed and the handle is spent (-EBUSY on a
 * second run).
 * Errors: -EBADF, -EINVAL, -EBUSY, -EBADFD as for fl_pidfd_config();
 * -EINVAL size below VER0 (args->error is then not used); -EFAULT NULL
 * argv, or NULL args with a size of VER0 or more; -E2BIG size above the
 * page size (args is not read), non-zero extra bytes, more than 2^24
 * actions, or argv and envp over ARG_MAX; -EAGAIN (RLIMIT_NPROC); and every error the child's
 * steps and execve(2) can return, with the stage in args->error.
 */
int fl_pidfd_spawn_run(int fd, struct fl_spawn_args *args, size_t size);

/*
 * fl_pidfd_spawn_result - the outcome of an FL_SPAWN_ASYNC run of embryo fd,
 * without blocking.  Returns the pid once the child has exec'd; -EINPROGRESS
 * while it has not yet; or the run's error (-errno, *ret_error filled when
 * not NULL; the failed child is reaped).  Once known, the outcome is kept:
 * later calls return the same.  -EINVAL for a handle that was not run with
 * FL_SPAWN_ASYNC.
 */
int fl_pidfd_spawn_result(int fd, struct fl_error *ret_error);

#define FL_EMBRYO_RESERVE_MAX 64

/*
 * fl_embryo_reserve - keep n embryos made ahead ("spares") in the spawn
 * server, so that fl_pidfd_open(0, FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO) hands
 * one out instead of having one made.  The server makes each spare's
 * successor as it hands one out.  A spare runs with what the caller has at
 * its run (credentials are checked at each request: a change starts a new
 * server, without the old spares).  The reserve ends at n == 0, with
 * fl_server_release() and at exit.  A new call replaces the previous
 * reserve.  flags must be 0.
 * Returns 0 or -errno: -EINVAL (flags, n > FL_EMBRYO_RESERVE_MAX),
 * -ENOMEM, -EAGAIN, and the errors of starting the server (-ENOENT: no
 * forkless-server program).  See fl_embryo_reserve(3).
 */
int fl_embryo_reserve(unsigned int n, unsigned int flags);

/*
 * fl_server_release - let every spawn server of this process go: each ends
 * with its embryos and spares (handles of them then refer to dead
 * processes), its fds and the library's watcher thread go (and the
 * sockets of asynchronous runs whose handles were closed uncollected), and
 * the next request that needs a server starts a new one.  For a program about to
 * drop privileges by means the library cannot see (raw syscalls), to enter
 * a sandbox, or to close every fd it did not open.  flags must be 0.
 * Returns 0, or -EINVAL.  See forkless-server(8).
 */
int fl_server_release(unsigned int flags);

/* ---- started processes ------------------------------------------------- */

/*
 * fl_pidfd_wait - wait for the process of pidfd fd to change state.
 *
 * flags: WEXITED is implied; WNOHANG, WSTOPPED, WCONTINUED, WNOWAIT as in
 * waitid(2).  Stores a waitpid()-style status in *ret_status (may be NULL).
 * On a handle whose process has not started yet it waits for the start and
 * then the exit (with WNOHANG it returns 0).
 * Returns the pid, or 0 with WNOHANG and nothing to report.
 * Errors: -EBADF fd not open; -EINVAL not a pidfd or handle, or bad flags;
 * -EBADFD a handle created by another process; -ECHILD not our child or
 * already reaped, or a handle whose run failed; -EINTR; -EAGAIN a
 * non-blocking pidfd whose process still runs.
 */
int fl_pidfd_wait(int fd, int *ret_status, int flags);

/*
 * fl_pidfd_kill - send signal sig to the process of pidfd fd.
 * Returns 0.  Errors: -ESRCH the process has exited, or the handle was not
 * started; -EBADF not open or not a pidfd; -EBADFD a handle created by
 * another process; -EINVAL bad signal; -EPERM as pidfd_send_signal(2).
 * Where pidfd_send_signal is refused, kill(2) of the pid the pidfd names.
 */
int fl_pidfd_kill(int fd, int sig);

/* ---- one call ---------------------------------------------------------- */

/*
 * fl_spawn - run path with argv and envp (NULL: a snapshot of environ) and
 * nactions actions; a path without '/' is searched in $PATH.
 * Returns the child's pid (reap it with waitpid(2)).  On failure *ret_error
 * (may be NULL) says which step failed.  Errors: as fl_pidfd_spawn_run().
 */
pid_t fl_spawn(const char *path, char *const argv[], char *const envp[],
	       const struct fl_action *actions, size_t nactions,
	       struct fl_error *ret_error);

/* fl_strstage - the name of a stage ("exec", "action", ...); never NULL. */
const char *fl_strstage(int stage);

/*
 * fl_strerror_r - format e as "STAGE[ INDEX]: strerror(err)" into buf.
 * Returns buf.  Always NUL-terminates when len > 0.
 */
char *fl_strerror_r(const struct fl_error *e, char *buf, size_t len);

/* ---- spawn templates --------------------------------------------------- */

/* fl_template_args.flags */
#define FL_TEMPLATE_NO_CLOEXEC 0x1u   /* the template fd without O_CLOEXEC */
#define FL_TEMPLATE_FOLLOW_PATH 0x2u  /* path replaced: re-open and re-check, not ESTALE */
#define FL_TEMPLATE_SEARCH_PATH 0x4u  /* a bare filename is looked up in $PATH, once */
#define FL_TEMPLATE_INHERIT_FDS 0x8u  /* classic fd inheritance in every spawn */
#define FL_TEMPLATE_WARM 0x10u        /* a warm server: spawns skip exec and dynamic linking
				       * (fl_spawn_template_warm(3); opt-in) */

/* Why a template is cold: fl_spawn_template_warm(), fl_strwarm(). */
enum fl_warm_reason {
	FL_WARM_YES = 0,        /* warm */
	FL_WARM_NOT_ASKED,      /* created without FL_TEMPLATE_WARM */
	FL_WARM_STATIC,         /* a static executable (no dynamic linker to skip) */
	FL_WARM_SETID,          /* set-user-ID or set-group-ID */
	FL_WARM_FCAPS,          /* file capabilities */
	FL_WARM_SCRIPT,         /* a "#!" script */
	FL_WARM_INTERP,         /* its interpreter is not glibc's dynamic linker */
	FL_WARM_NO_START_MAIN,  /* the program does not start through __libc_start_main */
	FL_WARM_THREADS,        /* it had threads before main */
	FL_WARM_FDS,            /* it had fds open beyond 0-2 before main */
	FL_WARM_SIGNALS,        /* it had a signal handler before main */
	FL_WARM_AGENT,          /* the agent did not report (not found, not loaded, died) */
	FL_WARM_UNSUPPORTED,    /* this system lacks what a copy needs (PR_GET_TID_ADDRESS) */
	FL_WARM_START,          /* starting it failed (the spawn's error says why) */
};

/* What failed, in struct fl_error.index with FL_STAGE_TEMPLATE. */
enum fl_template_check {
	FL_TCHECK_ARGS = 0,   /* the arguments themselves (EINVAL, E2BIG) */
	FL_TCHECK_OPEN,       /* the file could not be opened or found (errno of open/PATH search) */
	FL_TCHECK_TYPE,       /* not a regular file (EISDIR for a directory, EACCES otherwise) */
	FL_TCHECK_EXEC,       /* not executable by the caller (EACCES) */
	FL_TCHECK_FORMAT,     /* neither ELF nor "#!" (ENOEXEC) */
	FL_TCHECK_TRUNCATED,  /* an ELF whose headers end early (ENOEXEC) */
	FL_TCHECK_ARCH,       /* an ELF for another machine or class (ENOEXEC) */
	FL_TCHECK_INTERP,     /* PT_INTERP or "#!" interpreter missing or not executable (ENOENT, EACCES) */
	FL_TCHECK_IDENTITY,   /* at spawn: the path now names another file (ESTALE) */
	FL_TCHECK_CREDS,      /* at spawn: not the creator's credentials (EACCES) */
};

/* Arguments of fl_spawn_template_create(); extensible like fl_spawn_args. */
struct fl_template_args {
	fl_aligned_u64 flags;          /* FL_TEMPLATE_* */
	int32_t execfd;                /* an fd of the executable, or -1 to use filename */
	uint32_t exec_flags;           /* 0 or AT_SYMLINK_NOFOLLOW (filename) */
	FL__PTR(const char *, filename); /* absolute path (or a bare name with FL_TEMPLATE_SEARCH_PATH) */
	int32_t config_fd;             /* a not started builder handle: its configuration is every
					* spawn's default; -1 for none */
	uint32_t reserved;             /* 0 */
	FL__PTR(const struct fl_action *, actions); /* default actions, applied before each spawn's */
	fl_aligned_u64 nactions;
	FL__PTR(struct fl_error *, error); /* why create failed, if not NULL */
};

#define FL_TEMPLATE_ARGS_SIZE_VER0 56

FL__STATIC_ASSERT(sizeof(struct fl_template_args) == FL_TEMPLATE_ARGS_SIZE_VER0 &&
		  FL__ALIGNOF(struct fl_template_args) == 8 &&
		  offsetof(struct fl_template_args, execfd) == 8 &&
		  offsetof(struct fl_template_args, filename) == 16 &&
		  offsetof(struct fl_template_args, config_fd) == 24 &&
		  offsetof(struct fl_template_args, actions) == 32 &&
		  offsetof(struct fl_template_args, nactions) == 40 &&
		  offsetof(struct fl_template_args, error) == 48,
		  "struct fl_template_args: one layout on every ABI");

/*
 * fl_spawn_template_create - cache an executable for many spawns.
 *
 * size: as for fl_pidfd_spawn_run() (below FL_TEMPLATE_ARGS_SIZE_VER0
 * -EINVAL, above the page size -E2BIG, unread).
 * Exactly one of execfd (>= 0) and filename.  The file is checked once,
 * here: it must be a regular file the caller may execute, and an ELF for
 * this machine whose PT_INTERP exists, or a "#!" script whose interpreter
 * exists.  Each failure is a distinct {err, FL_STAGE_TEMPLATE, check} in
 * args->error.  The identity (dev, ino, size, mode, owner, ctime, mtime) is
 * recorded; the creator's credentials (euid, egid, groups) too.
 *
 * Returns the template fd: an fd of the executable itself, O_CLOEXEC unless
 * FL_TEMPLATE_NO_CLOEXEC.  Closing it frees the template.  Only
 * fl_spawn_template_spawn() and the builder key "template" accept it.
 */
int fl_spawn_template_create(struct fl_template_args *args, size_t size);

/*
 * fl_spawn_template_spawn - run the template's executable.
 *
 * args: per-spawn argv (required unless the template's configuration has
 * one), envp, actions (after the template's), flags, error, and pidfd.
 * args->path must be NULL.  The child is set up by the template's default
 * configuration (from config_fd) and runs the cached file with
 * execveat(AT_EMPTY_PATH); a path template first re-checks the path's
 * identity (-ESTALE if the file was replaced, unless FL_TEMPLATE_FOLLOW_PATH,
 * which re-opens and re-checks it); an fd template runs the exact file it
 * holds.  Returns the pid (reap it, or use *args->pidfd); errors as
 * fl_pidfd_spawn_run(), plus -EACCES when the caller's credentials are not
 * the creator's, -EBADFD in a forked child, -EINVAL for an fd that is not a
 * template.
 */
int fl_spawn_template_spawn(int tfd, struct fl_spawn_args *args, size_t size);

/*
 * fl_spawn_template_warm - is the template warm?
 *
 * Returns FL_WARM_YES (0) for a warm template, else why it is cold (enum
 * fl_warm_reason, > 0), or -errno (EBADF, EINVAL: not a template).
 */
int fl_spawn_template_warm(int tfd);

/*
 * fl_spawn_template_destroy - close template fd and free the template now.
 *
 * close(2) of a template fd frees it too, but only when the library next
 * looks at its handles; this ends a warm template's server at once.
 * Returns 0, or -EBADF / -EINVAL (not a template), -EBADFD (a fork child's
 * copy: the parent's to destroy; close it).
 */
int fl_spawn_template_destroy(int tfd);

/* A short text for an enum fl_warm_reason value (never NULL). */
const char *fl_strwarm(int reason);

/* ---- POSIX front end --------------------------------------------------- */

/*
 * fl_posix_spawn, fl_posix_spawnp - posix_spawn(3) and posix_spawnp(3), on
 * top of the builder.  They take the posix_spawn_file_actions_t and
 * posix_spawnattr_t objects of glibc (initialised by glibc's functions or by
 * the preload shim's, which share glibc's layout) and keep POSIX semantics:
 * non-CLOEXEC fds are inherited, the child starts with the caller's signal
 * mask unless POSIX_SPAWN_SETSIGMASK, closing an fd that is not open is no
 * error.  Return 0 and store the pid in *pid (if not NULL), or a POSITIVE
 * errno value with *pid untouched; an exec failure is such an error.  POSIX
 * leaves errno unspecified after posix_spawn; here it is left as it was.
 * fl_posix_spawnp searches a name without '/' in the caller's $PATH and
 * never runs an ENOEXEC file with /bin/sh, as glibc's posix_spawnp.
 * POSIX_SPAWN_USEVFORK is accepted and ignored; FL_POSIX_SPAWN_SETCGROUP
 * (glibc 2.39's POSIX_SPAWN_SETCGROUP) starts the child in the cgroup set
 * with fl_posix_spawnattr_setcgroup_np().
 */
int fl_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *file_actions,
		   const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
int fl_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *file_actions,
		    const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);

/*
 * fl_pidfd_spawn, fl_pidfd_spawnp - glibc 2.39's pidfd_spawn(3): as
 * fl_posix_spawn[p], but store a pidfd (O_CLOEXEC) of the child in *pidfd.
 */
int fl_pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *file_actions,
		   const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
int fl_pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *file_actions,
		    const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);

#define FL_POSIX_SPAWN_SETCGROUP 0x100

/* What glibc 2.36 lacks: the cgroup attribute (2.39) and the POSIX.1-2024
 * names of the chdir actions.  Return 0 or a positive errno. */
int fl_posix_spawnattr_setcgroup_np(posix_spawnattr_t *attr, int cgroup);
/* posix_spawnattr_setflags that also accepts FL_POSIX_SPAWN_SETCGROUP (EINVAL otherwise). */
int fl_posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags);
int fl_posix_spawnattr_getcgroup_np(const posix_spawnattr_t *attr, int *cgroup);
int fl_posix_spawn_file_actions_addchdir(posix_spawn_file_actions_t *fa, const char *path);
int fl_posix_spawn_file_actions_addfchdir(posix_spawn_file_actions_t *fa, int fd);

/* ---- typed helpers ----------------------------------------------------- */

static inline int fl_pidfd_set_path(int fd, const char *path)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "path", path, 0);
}

static inline int fl_pidfd_set_argv(int fd, char *const argv[])
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_STRINGV, "argv", argv, 0);
}

static inline int fl_pidfd_set_envp(int fd, char *const envp[])
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_STRINGV, "envp", envp, 0);
}

static inline int fl_pidfd_set_cwd(int fd, const char *dir)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_STRING, "cwd", dir, 0);
}

static inline int fl_pidfd_set_cwd_fd(int fd, int dirfd)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_FD, "cwd", NULL, dirfd);
}

static inline int fl_pidfd_set_umask(int fd, mode_t mask)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_INT, "umask", NULL, (int)mask);
}

static inline int fl_pidfd_set_setsid(int fd)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_FLAG, "setsid", NULL, 0);
}

static inline int fl_pidfd_set_pgroup(int fd, pid_t pgid)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_INT, "pgroup", NULL, pgid);
}

static inline int fl_pidfd_set_sigmask(int fd, const sigset_t *set)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_BINARY, "sigmask", set, sizeof(*set));
}

static inline int fl_pidfd_set_sigdefault(int fd, const sigset_t *set)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_BINARY, "sigdefault", set, sizeof(*set));
}

/* resource is RLIMIT_*; the key is "rlimit.<name>" */
int fl_pidfd_set_rlimit(int fd, int resource, const struct rlimit *rl);

static inline int fl_pidfd_set_uid(int fd, uid_t uid)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_INT, "uid", NULL, (int)uid);
}

static inline int fl_pidfd_set_gid(int fd, gid_t gid)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_INT, "gid", NULL, (int)gid);
}

static inline int fl_pidfd_set_groups(int fd, const gid_t *groups, size_t n)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_BINARY, "groups", groups,
			       (int)(n * sizeof(gid_t)));
}

static inline int fl_pidfd_set_cgroup_fd(int fd, int cgroupfd)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_FD, "cgroup", NULL, cgroupfd);
}

static inline int fl_pidfd_set_pdeathsig(int fd, int sig)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_INT, "pdeathsig", NULL, sig);
}

static inline int fl_pidfd_set_affinity(int fd, const cpu_set_t *set)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_BINARY, "affinity", set, sizeof(*set));
}

static inline int fl_pidfd_set_ctty_fd(int fd, int ttyfd)
{
	return fl_pidfd_config(fd, FL_CONFIG_SET_FD, "ctty", NULL, ttyfd);
}

static inline int fl_pidfd_set_sched(int fd, int policy, int priority)
{
	if (priority < 0 || priority > 99)
		return -EINVAL; /* checked first: both keys are set or neither */
	int r = fl_pidfd_config(fd, FL_CONFIG_SET_INT, "sched_policy", NULL, policy);
	return r < 0 ? r : fl_pidfd_config(fd, FL_CONFIG_SET_INT, "sched_priority",
					   NULL, priority);
}

#ifdef __cplusplus
}
#endif

#endif /* FORKLESS_H */
