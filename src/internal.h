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
};

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

/* ---- embryos (launch_embryo.c) ---- */
/* A new embryo (a spare from the reserve if one is ready) with its pidfd;
 * its control block sits on its stack.  0 or -errno. */
int fl__embryo_new(struct fl__embryo **ret, int *ret_pidfd);
void fl__embryo_free(struct fl__embryo *e); /* once done (or never started) */
long fl__embryo_op(struct fl__embryo *e, int op, const void *ptr, long arg, long arg2);
void fl__embryo_start(struct fl__embryo *e);
int fl__embryo_done(struct fl__embryo *e, int block);
void fl__embryo_kill(struct fl__embryo *e);
void fl__reserve_cleanup(void);
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
