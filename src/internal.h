/*
 * internal.h - what the library's files share and do not export.
 */
#ifndef FL_INTERNAL_H
#define FL_INTERNAL_H

#include <sched.h>
#include <stdbool.h>

#include "spec.h"

#define FL__EXPORT __attribute__((visibility("default")))

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
};

void fl__config_init(struct fl__config *c);
void fl__config_free(struct fl__config *c);
int fl__config_apply(struct fl__config *c, unsigned int cmd, const char *key,
		     const void *value, int aux);

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
void fl__vfork_release_stack(void);

#endif /* FL_INTERNAL_H */
