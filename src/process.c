/* SPDX-License-Identifier: MIT */
/*
 * process.c - the one-call form fl_spawn() and error formatting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"


FL__EXPORT pid_t fl_spawn(const char *path, char *const argv[], char *const envp[],
			  const struct fl_action *actions, size_t nactions,
			  struct fl_error *ret_error)
{
	FL__KEEP_ERRNO;
	struct fl__config c;
	struct fl_error e = { 0, FL_STAGE_NONE, -1 };
	struct fl_spawn_args a = {
		.path = path,
		.argv = argv,
		.envp = envp,
		.actions = actions,
		.nactions = nactions,
	};
	int r;

	fl__config_init(&c);
	r = fl__run(&c, &a, NULL, &e); /* no pidfd: the caller reaps by pid */
	if (r < 0 && ret_error)
		*ret_error = e;
	return r;
}

FL__EXPORT int fl_pidfd_set_rlimit(int fd, int resource, const struct rlimit *rl)
{
	FL__KEEP_ERRNO;
	const char *key = fl__rlimit_key(resource);

	if (!key)
		return -EINVAL;
	return fl_pidfd_config(fd, FL_CONFIG_SET_BINARY, key, rl, (int)sizeof(*rl));
}

static const char *const stage_names[FL_STAGE_MAX_] = {
	[FL_STAGE_NONE] = "none",
	[FL_STAGE_CONFIG] = "config",
	[FL_STAGE_CLONE] = "clone",
	[FL_STAGE_FDTABLE] = "fdtable",
	[FL_STAGE_CGROUP] = "cgroup",
	[FL_STAGE_SIGDEFAULT] = "sigdefault",
	[FL_STAGE_SETSID] = "setsid",
	[FL_STAGE_PGROUP] = "pgroup",
	[FL_STAGE_CTTY] = "ctty",
	[FL_STAGE_RLIMIT] = "rlimit",
	[FL_STAGE_SCHED] = "sched",
	[FL_STAGE_AFFINITY] = "affinity",
	[FL_STAGE_MEMPOLICY] = "mempolicy",
	[FL_STAGE_UMASK] = "umask",
	[FL_STAGE_GROUPS] = "groups",
	[FL_STAGE_GID] = "gid",
	[FL_STAGE_UID] = "uid",
	[FL_STAGE_PDEATHSIG] = "pdeathsig",
	[FL_STAGE_CWD] = "cwd",
	[FL_STAGE_ACTION] = "action",
	[FL_STAGE_CLOSE_FDS] = "close_fds",
	[FL_STAGE_SIGMASK] = "sigmask",
	[FL_STAGE_EXEC] = "exec",
	[FL_STAGE_KILLED] = "killed",
	[FL_STAGE_TEMPLATE] = "template",
	[FL_STAGE_SERVER] = "server",
};

static const char *const check_names[] = {
	[FL_TCHECK_ARGS] = "args",	   [FL_TCHECK_OPEN] = "open",
	[FL_TCHECK_TYPE] = "type",	   [FL_TCHECK_EXEC] = "exec",
	[FL_TCHECK_FORMAT] = "format",	   [FL_TCHECK_TRUNCATED] = "truncated",
	[FL_TCHECK_ARCH] = "arch",	   [FL_TCHECK_INTERP] = "interp",
	[FL_TCHECK_IDENTITY] = "identity", [FL_TCHECK_CREDS] = "creds",
};

FL__EXPORT const char *fl_strstage(int stage)
{
	FL__KEEP_ERRNO;
	if (stage < 0 || stage >= FL_STAGE_MAX_ || !stage_names[stage])
		return "unknown";
	return stage_names[stage];
}

FL__EXPORT char *fl_strerror_r(const struct fl_error *e, char *buf, size_t len)
{
	FL__KEEP_ERRNO;
	char msg[128];

	if (len == 0)
		return buf;
	if (e->stage == FL_STAGE_KILLED) {
		if (e->index > 0)
			snprintf(buf, len, "killed before exec by signal %d (%s)", e->index,
				 sigabbrev_np(e->index) ? sigabbrev_np(e->index) : "?");
		else
			snprintf(buf, len, "died before exec");
		return buf;
	}
	const char *m = strerror_r(e->err, msg, sizeof(msg));
	if (e->stage == FL_STAGE_TEMPLATE && e->index >= 0 &&
	    e->index < (int)(sizeof(check_names) / sizeof(check_names[0])))
		snprintf(buf, len, "template %s: %s", check_names[e->index], m);
	else if (e->stage == FL_STAGE_SERVER && e->index > 0 && e->index < FL_STAGE_MAX_)
		snprintf(buf, len, "server (%s): %s", fl_strstage(e->index), m);
	else if ((e->stage == FL_STAGE_ACTION || e->stage == FL_STAGE_RLIMIT) && e->index >= 0)
		snprintf(buf, len, "%s %d: %s", fl_strstage(e->stage), e->index, m);
	else
		snprintf(buf, len, "%s: %s", fl_strstage(e->stage), m);
	return buf;
}
