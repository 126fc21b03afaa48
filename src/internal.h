/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the library's files share and do not export.
 */
#ifndef FL_INTERNAL_H
#define FL_INTERNAL_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <unistd.h>

#include "spec.h"

#define FL__EXPORT __attribute__((visibility("default")))

/* The page size of this system (4 KiB, 16 KiB, 64 KiB ...), never a constant. */
static inline size_t fl__page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * The first statement of every exported function: errno is saved here and
 * restored when the function returns, on every path (the cleanup runs after
 * the return value is computed), so that no call changes errno, as the
 * header promises.  Internal code may use errno freely.
 */
static inline void fl__errno_restore(const int *saved)
{
	errno = *saved;
}
#define FL__KEEP_ERRNO \
	int fl__errno_saved __attribute__((cleanup(fl__errno_restore), unused)) = errno

/*
 * The configuration a builder holds: a spec whose pointers point into
 * storage owned here.  fl__config_apply() changes it atomically (validate,
 * then commit); fl__config_free() releases it.
 */
struct fl__config {
	struct fl__spec spec; /* attributes only; what-to-run fields below */
	char *path;
	char **argv; /* one allocation: the array followed by the strings */
	char **envp;
	int execfd;
	char *cwd;
	int cwd_fd;
	int ctty_fd;
	int cgroup_fd;
	gid_t *groups;
	cpu_set_t affinity;
	unsigned long nodes[16]; /* 1024 NUMA nodes */
	bool inherit_fds;
	struct fl__template *tmpl; /* key "template": run this template's file */
	int tmpl_fd;               /* our fd of that file */
	bool execfd_inherit;       /* a script run from an fd: keep execfd open across exec */
	int launcher;              /* FL__LAUNCHER_*: "launcher" */
	int numa_node;             /* the node of "numa_node", or -1 */
	struct fl__warm *warm;     /* a warm template's run: its server (not owned) */
	bool cold;                 /* "warm" false: a warm template's file run by exec */
	int native;                /* "native": 1 the kernel's builder, -1 never, 0 auto */
	int ktfd;                  /* a template's run: the kernel's template of its file, or -1 */
};

enum { FL__LAUNCHER_DEFAULT, FL__LAUNCHER_VFORK, FL__LAUNCHER_SERVER };

void fl__config_init(struct fl__config *c);
void fl__config_free(struct fl__config *c);
/* Deep copy (strings, vectors, fds duplicated); 0 or -errno, dst untouched on failure. */
int fl__config_copy(struct fl__config *dst, const struct fl__config *src);
int fl__config_apply(struct fl__config *c, unsigned int cmd, const char *key,
		     const void *value, int aux);

/* Deep copies of an action array (OPEN's struct and paths, CHDIR's path). */
int fl__actions_dup(const struct fl_action *a, size_t n, struct fl_action **ret);
void fl__actions_free(struct fl_action *a, size_t n);

/* Copy a NULL-terminated vector into one allocation; NULL on ENOMEM. */
char **fl__strv_dup(char *const *v);

/*
 * Prepare spec from config + per-run args and launch it; the one spawn path
 * of every front end.  Returns the pid and the child's pidfd in *ret_pidfd
 * (ret_pidfd NULL: no pidfd is made, so none can be refused).
 */
int fl__run(const struct fl__config *c, const struct fl_spawn_args *a,
	    int *ret_pidfd, struct fl_error *err);

/* The key name of an RLIMIT_* resource ("rlimit.nofile"), or NULL. */
const char *fl__rlimit_key(int resource);

int fl__launch_vfork(struct fl__spec *s, int *ret_pidfd, struct fl_error *err);
int fl__outcome(const struct fl__report *rep, pid_t pid, int pidfd, int *ret_pidfd,
		struct fl_error *err);
int fl__outcome_reap(const struct fl__report *rep, pid_t pid, int pidfd, int *ret_pidfd,
		     int reap_fd, struct fl_error *err);

int fl__under_valgrind(void);

/* ---- the spawn server (launch_server.c) ---- */
/* A spawn through the server for node (-1: the default server). */
int fl__server_spawn(struct fl__spec *s, int node, int *ret_pidfd, struct fl_error *err);
/* A new embryo (a spare if the reserve has one): its server's generation,
 * pid, the handle and the library's own pidfd of it.  0 or -errno. */
int fl__server_emb_open(int node, unsigned int *ret_gen, pid_t *ret_pid, int *ret_fd,
			int *ret_own);
/* Embryo pid of server generation gen does op now; its result.  -EPERM:
 * that server is gone (credentials changed, or it died). */
int fl__server_emb_op(int node, unsigned int gen, pid_t pid, int op, const void *p, size_t len,
		      long arg, long arg2, int fd);
/* Start its run of s; the server's answer will come on *ret_reply. */
int fl__server_emb_run(int node, unsigned int gen, pid_t pid, const struct fl__spec *s,
		       uint32_t eager, int *ret_reply);
/* That answer: 1 with *rep (ret_reply closed), 0 not yet (nonblock), -errno. */
int fl__server_emb_result(int reply, int nonblock, struct fl__report *rep);
int fl__server_reserve(int node, unsigned int n);
/* Server generation gen is gone: each unstarted embryo of it fails with
 * -why from now on, and a pidfd of it is given to reap (builder.c). */
void fl__embryos_gone(unsigned int gen, int why, void (*reap)(int pidfd));
/* FORKLESS_LAUNCHER=server: the default launcher is the server. */
bool fl__server_default(void);

/* ---- warm templates (template.c owns them, launch_server.c runs them) ---- */
struct fl__warm {
	unsigned int id;  /* unique in the process: its server's slot is found by it */
	char *argv0;      /* the start's argv[0]: the template's path or name */
	int execfd;       /* our fd of the template's file: what the start runs */
	char **envp;      /* the creator's environment, the start's (the agent added) */
	char *loader;     /* what of it the dynamic linker reads (fl__warm_loader) */
	int reason;       /* FL_WARM_*: why it is cold (atomic); 0 while warm */
};
#define FL__WARM_COLD (-100000) /* fl__warm_spawn: run this one cold */
/* Spawn s from w's server, started if need be: as fl__run's launchers, or
 * FL__WARM_COLD (w is cold, or s's loader variables are not w's). */
int fl__warm_spawn(struct fl__warm *w, struct fl__spec *s, int *ret_pidfd, struct fl_error *e);
/* Start w's server if it has none: 0, or why w is cold. */
int fl__warm_check(struct fl__warm *w);
/* w's server goes, if it has one. */
void fl__warm_stop(struct fl__warm *w);
/* The LD_*, GLIBC_TUNABLES and MALLOC_* entries of envp, sorted, in one string. */
char *fl__warm_loader(char *const *envp);
/* FORKLESS_WARM (template.c): a reference to the warm template of path if
 * the variable lists it (use_path: a bare name is searched in $PATH), else
 * NULL; fl__warm_forget drops a stale one so that the next is made anew. */
struct fl__template *fl__warm_for(const char *path, bool use_path);
void fl__warm_forget(struct fl__template *t);
/* The native path (native.c): 1 to run s with the kernel's builder, 0 in
 * user space, -ENOSYS where it was asked for (key 1, FORKLESS_NATIVE=1)
 * and the kernel has none; and that run. */
int fl__native_wanted(const struct fl__spec *s, int key, int ktfd);
int fl__native_spawn(const struct fl__spec *s, int ktfd, int *ret_pidfd, struct fl_error *e);
/* What fl__native_spawn returns when a filter refused the kernel's calls
 * (ENOSYS, or EPERM before the kernel's own steps): no child, e untouched;
 * the spawn runs in user space unless native was forced. */
#define FL__NATIVE_REFUSED (-4097)
bool fl__native_forced(int key);
/* The kernel's template of the file at fd (path: an absolute path that
 * names it, which the kernel then checks at each spawn), if the kernel has
 * templates and key allows them; else -1. */
int fl__native_template(int fd, const char *path, int key);
/* Whether this thread's last fl__run was served by a warm server. */
extern __thread bool fl__ran_warm;

/* Prepare spec from config + args into *s (keep list in *ret_keep, the
 * caller frees it); the first half of fl__run. */
int fl__prepare(const struct fl__config *c, const struct fl_spawn_args *a, struct fl__spec *s,
		int **ret_keep, struct fl_error *e);

/* The extensible-struct rule (builder.c); 1 if in is NULL with size 0. */
int fl__copy_ext(void *out, size_t out_size, const void *in, size_t size, size_t ver0);
/* fl__copy_ext for struct fl_spawn_args (NULL args with size 0 is fine). */
int fl__copy_spawn_args(struct fl_spawn_args *out, const struct fl_spawn_args *a, size_t size);
/* Deep copy of the configuration of builder handle fd (not started). */
int fl__builder_config_copy(int fd, struct fl__config *ret);

/* ---- templates (template.c; their handles live in handle.c's table) ---- */

struct fl__template;
/* Take a reference to the template of fd.  -EBADF, -EINVAL not a
 * template, -EBADFD foreign. */
int fl__template_acquire(int fd, struct fl__template **ret);
void fl__template_get(struct fl__template *t);
void fl__template_release(struct fl__template *t);
/* Run t: the one template spawn path (fl_spawn_template_spawn and the
 * builder key).  base is the configuration to start from, execfd our fd of
 * the file (-1: t's handle fd is tfd). */
int fl__template_run(struct fl__template *t, int tfd, int execfd, const struct fl__config *base,
		     const struct fl_spawn_args *a, int *ret_pidfd, struct fl_error *e);
void fl__template_free(struct fl__template *t);
void fl__vfork_release_stack(void);

#endif /* FL_INTERNAL_H */
