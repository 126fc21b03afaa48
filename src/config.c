/* SPDX-License-Identifier: MIT */
/*
 * config.c - the configuration keys of fl_pidfd_config().
 *
 * One table maps each key to a setter.  A setter parses the value into
 * locals, checks it, and only then commits to the configuration, so a failed
 * call changes nothing.  Every key accepts FL_CONFIG_SET_STRING (what the
 * command line uses) besides its natural typed form, and FL_CONFIG_UNSET.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MPOL_DEFAULT_ 0
#define MPOL_PREFERRED_ 1
#define MPOL_BIND_ 2
#define MPOL_INTERLEAVE_ 3
#define MPOL_LOCAL_ 4
#define MAX_NODES (16 * 64)

void fl__config_init(struct fl__config *c)
{
	memset(c, 0, sizeof(*c));
	c->execfd = c->cwd_fd = c->ctty_fd = c->cgroup_fd = c->tmpl_fd = c->ktfd = -1;
	c->numa_node = -1;
	c->spec.execfd = c->spec.cwd_fd = c->spec.ctty_fd = c->spec.cgroup_fd = -1;
	c->spec.errfd = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void fl__config_free(struct fl__config *c)
{
	free(c->path);
	free(c->argv);
	free(c->envp);
	free(c->cwd);
	free(c->groups);
	close_fd(&c->execfd);
	close_fd(&c->cwd_fd);
	close_fd(&c->ctty_fd);
	close_fd(&c->cgroup_fd);
	close_fd(&c->tmpl_fd);
	if (c->tmpl)
		fl__template_release(c->tmpl);
	fl__config_init(c);
}

static int dup_fd(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int fl__config_copy(struct fl__config *dst, const struct fl__config *src)
{
	struct fl__config c = *src;
	bool ok = true;

	c.path = src->path ? strdup(src->path) : NULL;
	c.argv = src->argv ? fl__strv_dup(src->argv) : NULL;
	c.envp = src->envp ? fl__strv_dup(src->envp) : NULL;
	c.cwd = src->cwd ? strdup(src->cwd) : NULL;
	c.groups = NULL;
	if (src->groups && (c.groups = malloc(src->spec.ngroups * sizeof(gid_t) + 1)))
		memcpy(c.groups, src->groups, src->spec.ngroups * sizeof(gid_t));
	c.execfd = dup_fd(src->execfd);
	c.cwd_fd = dup_fd(src->cwd_fd);
	c.ctty_fd = dup_fd(src->ctty_fd);
	c.cgroup_fd = dup_fd(src->cgroup_fd);
	c.tmpl_fd = dup_fd(src->tmpl_fd);
	ok &= !src->path || c.path;
	ok &= !src->argv || c.argv;
	ok &= !src->envp || c.envp;
	ok &= !src->cwd || c.cwd;
	ok &= !src->groups || c.groups;
	ok &= (src->execfd < 0 || c.execfd >= 0) && (src->cwd_fd < 0 || c.cwd_fd >= 0);
	ok &= (src->ctty_fd < 0 || c.ctty_fd >= 0) && (src->cgroup_fd < 0 || c.cgroup_fd >= 0);
	ok &= src->tmpl_fd < 0 || c.tmpl_fd >= 0;
	if (c.tmpl)
		fl__template_get(c.tmpl);
	if (!ok) {
		int err = errno ? errno : ENOMEM;
		fl__config_free(&c);
		return -err;
	}
	*dst = c;
	return 0;
}

char **fl__strv_dup(char *const *v)
{
	size_t n = 0, bytes = 0;

	for (; v[n]; n++)
		bytes += strlen(v[n]) + 1;
	char **out = malloc((n + 1) * sizeof(char *) + bytes);
	if (!out)
		return NULL;
	char *p = (char *)(out + n + 1);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		out[i] = memcpy(p, v[i], len);
		p += len;
	}
	out[n] = NULL;
	return out;
}

/* ---- value parsers ----------------------------------------------------- */

static int parse_ll(const char *s, int base, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, base);
	if (*end || errno || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int get_int(unsigned int cmd, const void *value, int aux, long long min,
		   long long max, long long *out)
{
	if (cmd == FL_CONFIG_SET_INT) {
		if (aux < min || aux > max)
			return -EINVAL;
		*out = aux;
		return 0;
	}
	if (cmd == FL_CONFIG_SET_STRING)
		return parse_ll(value, 0, min, max, out);
	return -EINVAL;
}

static int get_bool(unsigned int cmd, const void *value, int aux, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	if (cmd == FL_CONFIG_SET_FLAG)
		return *out = true, 0;
	if (cmd == FL_CONFIG_SET_INT)
		return *out = aux != 0, 0;
	if (cmd != FL_CONFIG_SET_STRING || !value)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(value, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(value, no[i]))
			return *out = false, 0;
	}
	return -EINVAL;
}

/* A private CLOEXEC copy of the caller's fd, above 2. */
static int get_fd(int aux)
{
	if (aux < 0)
		return -EBADF;
	int fd = fcntl(aux, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

/* Signal by number, name or abbreviation ("SIGTERM", "TERM", "RTMIN+2"). */
static int parse_signal(const char *s, int allow_zero)
{
	long long v;

	if (!s)
		return -EINVAL;
	if (parse_ll(s, 10, allow_zero ? 0 : 1, 64, &v) == 0)
		return (int)v;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
		long long off = 0;
		if (s[5] && parse_ll(s + 5, 10, -64, 64, &off) < 0)
			return -EINVAL;
		v = (s[3] == 'I' || s[3] == 'i') ? SIGRTMIN + off : SIGRTMAX + off;
		return v >= SIGRTMIN && v <= SIGRTMAX ? (int)v : -EINVAL;
	}
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name && !strcasecmp(s, name))
			return sig;
	}
	return -EINVAL;
}

/* "all", "none", or a comma list of signals; BINARY takes a sigset_t. */
static int get_sigset(unsigned int cmd, const void *value, int aux, uint64_t *out)
{
	uint64_t m = 0;

	if (cmd == FL_CONFIG_SET_BINARY) {
		if (!value || aux < 8)
			return -EINVAL;
		memcpy(&m, value, 8); /* signals 1..64, bit n-1 is signal n */
		return *out = m, 0;
	}
	if (cmd != FL_CONFIG_SET_STRING || !value)
		return -EINVAL;
	if (!strcasecmp(value, "all"))
		return *out = ~0ULL, 0;
	char *copy = strdup(value), *save = NULL;
	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int sig = strcasecmp(t, "none") ? parse_signal(t, 0) : 0;
		if (sig < 0) {
			free(copy);
			return -EINVAL;
		}
		if (sig)
			m |= 1ULL << (sig - 1);
	}
	free(copy);
	return *out = m, 0;
}

/* "0-3,8" into a bitmap of nbits; -EINVAL on junk or out of range. */
static int parse_list(const char *s, unsigned long *bits, size_t nbits)
{
	const size_t w = 8 * sizeof(long);
	char *end;

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		errno = 0;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;
		if (end == s || errno)
			return -EINVAL;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (end == s || errno)
				return -EINVAL;
		}
		if (lo > hi || hi >= nbits)
			return -EINVAL;
		for (unsigned long i = lo; i <= hi; i++)
			bits[i / w] |= 1UL << (i % w);
		if (!*end)
			return 0;
		if (*end != ',')
			return -EINVAL;
		s = end + 1;
	}
}

/* ---- setters ----------------------------------------------------------- */

struct key;
typedef int setter_fn(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux);
struct key {
	const char *name;
	setter_fn *set;
	uint32_t bit; /* FL__SET_* the key sets, if any */
	int arg;      /* per-key constant (RLIMIT_*) */
};

static void commit_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

static void commit_fd(int *dst, int fd)
{
	close_fd(dst);
	*dst = fd;
}

static int set_path(struct fl__config *c, const struct key *k, unsigned int cmd,
		    const void *value, int aux)
{
	(void)k, (void)aux;
	if (cmd == FL_CONFIG_UNSET)
		return commit_str(&c->path, NULL), 0;
	if (cmd != FL_CONFIG_SET_STRING || !value)
		return -EINVAL;
	if (!*(const char *)value)
		return -ENOENT;
	char *s = strdup(value);
	if (!s)
		return -ENOMEM;
	commit_str(&c->path, s);
	commit_fd(&c->execfd, -1);
	return 0;
}

static int set_execfd(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux)
{
	(void)k, (void)value;
	if (cmd == FL_CONFIG_UNSET)
		return commit_fd(&c->execfd, -1), 0;
	if (cmd != FL_CONFIG_SET_FD)
		return -EINVAL;
	int fd = get_fd(aux);
	if (fd < 0)
		return fd;
	commit_fd(&c->execfd, fd);
	commit_str(&c->path, NULL);
	return 0;
}

static int set_strv(struct fl__config *c, const struct key *k, unsigned int cmd,
		    const void *value, int aux)
{
	char ***dst = k->arg ? &c->envp : &c->argv;
	char **v = NULL;

	(void)aux;
	if (cmd == FL_CONFIG_SET_STRINGV) {
		if (!value)
			return -EFAULT;
		if (!(v = fl__strv_dup(value)))
			return -ENOMEM;
	} else if (cmd == FL_CONFIG_SET_STRING && value) {
		/* one word: argv of just argv[0], or an environment of one entry */
		char *one[] = { (char *)value, NULL };
		if (!(v = fl__strv_dup(one)))
			return -ENOMEM;
	} else if (cmd != FL_CONFIG_UNSET) {
		return -EINVAL;
	}
	free(*dst);
	*dst = v;
	return 0;
}

static int set_cwd(struct fl__config *c, const struct key *k, unsigned int cmd,
		   const void *value, int aux)
{
	(void)k;
	if (cmd == FL_CONFIG_UNSET) {
		commit_str(&c->cwd, NULL);
		commit_fd(&c->cwd_fd, -1);
		c->spec.set &= ~FL__SET_CWD;
		return 0;
	}
	if (cmd == FL_CONFIG_SET_FD) {
		struct stat st;
		if (aux < 0 || fstat(aux, &st) < 0)
			return -EBADF;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		int fd = get_fd(aux);
		if (fd < 0)
			return fd;
		commit_fd(&c->cwd_fd, fd);
		commit_str(&c->cwd, NULL);
	} else if (cmd == FL_CONFIG_SET_STRING && value) {
		if (!*(const char *)value)
			return -ENOENT;
		char *s = strdup(value);
		if (!s)
			return -ENOMEM;
		commit_str(&c->cwd, s);
		commit_fd(&c->cwd_fd, -1);
	} else {
		return -EINVAL;
	}
	c->spec.set |= FL__SET_CWD;
	return 0;
}

/* Keys whose value is one integer in spec; the key's bit marks it set. */
static int set_intkey(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux)
{
	long long v;
	int r;

	if (cmd == FL_CONFIG_UNSET)
		return c->spec.set &= ~k->bit, 0;
	switch (k->bit) {
	case FL__SET_UMASK:
		if (cmd == FL_CONFIG_SET_STRING) /* octal, as umask(1) */
			r = parse_ll(value, 8, 0, 0777, &v);
		else
			r = get_int(cmd, value, aux, 0, 0777, &v);
		if (r < 0)
			return r;
		c->spec.umask = (unsigned int)v;
		break;
	case FL__SET_PGROUP:
		if ((r = get_int(cmd, value, aux, 0, INT_MAX, &v)) < 0)
			return r;
		c->spec.pgroup = (int)v;
		break;
	case FL__SET_PDEATHSIG:
		if (cmd == FL_CONFIG_SET_STRING)
			v = parse_signal(value, 1);
		else if (get_int(cmd, value, aux, 0, 64, &v) < 0)
			v = -EINVAL;
		if (v < 0)
			return (int)v;
		c->spec.pdeathsig = (int)v;
		break;
	}
	c->spec.set |= k->bit;
	return 0;
}

/* "warm": a warm template's server (true, the default) or exec. */
static int set_warm(struct fl__config *c, const struct key *k, unsigned int cmd,
		    const void *value, int aux)
{
	bool on = true;
	int r = cmd == FL_CONFIG_UNSET ? 0 : get_bool(cmd, value, aux, &on);

	if (r == 0)
		c->cold = !on;
	return r;
}

/* "native": the kernel's builder (true), user space (false), or where it
 * can (auto, the default). */
static int set_native(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux)
{
	bool on = false;
	int r = 0;

	if (cmd == FL_CONFIG_UNSET || (cmd == FL_CONFIG_SET_STRING && value &&
				       !strcmp(value, "auto")))
		c->native = 0;
	else if ((r = get_bool(cmd, value, aux, &on)) == 0)
		c->native = on ? 1 : -1;
	return r;
}

static int set_flag(struct fl__config *c, const struct key *k, unsigned int cmd,
		    const void *value, int aux)
{
	bool on = false;
	int r = cmd == FL_CONFIG_UNSET ? 0 : get_bool(cmd, value, aux, &on);

	if (r < 0)
		return r;
	if (!k->bit) {
		c->inherit_fds = on;
		return 0;
	}
	if (on)
		c->spec.set |= k->bit;
	else
		c->spec.set &= ~k->bit;
	return 0;
}

static int set_ctty(struct fl__config *c, const struct key *k, unsigned int cmd,
		    const void *value, int aux)
{
	int fd;

	(void)k;
	if (cmd == FL_CONFIG_UNSET) {
		commit_fd(&c->ctty_fd, -1);
		c->spec.set &= ~FL__SET_CTTY;
		return 0;
	}
	if (cmd == FL_CONFIG_SET_FD) {
		fd = get_fd(aux);
	} else if (cmd == FL_CONFIG_SET_STRING && value) {
		fd = open(value, O_RDWR | O_NOCTTY | O_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
	} else {
		return -EINVAL;
	}
	if (fd < 0)
		return fd;
	if (!isatty(fd)) {
		close(fd);
		return -ENOTTY;
	}
	commit_fd(&c->ctty_fd, fd);
	c->spec.set |= FL__SET_CTTY; /* implies setsid in the child: TIOCSCTTY needs a session leader */
	return 0;
}

static int set_sigset(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux)
{
	uint64_t m = 0;
	uint64_t *dst = k->arg ? &c->spec.sigdefault : &c->spec.sigmask;
	int r = cmd == FL_CONFIG_UNSET ? 0 : get_sigset(cmd, value, aux, &m);

	if (r < 0)
		return r;
	*dst = m;
	return 0;
}

static int parse_rlim_value(const char *s, uint64_t *out)
{
	long long v;

	if (!strcasecmp(s, "unlimited") || !strcasecmp(s, "infinity"))
		return *out = RLIM_INFINITY, 0;
	if (parse_ll(s, 10, 0, LLONG_MAX, &v) < 0)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* "SOFT[:HARD]" (HARD defaults to SOFT); BINARY takes a struct rlimit. */
static int set_rlimit(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux)
{
	struct fl__rlimit64 rl;

	if (cmd == FL_CONFIG_UNSET) {
		c->spec.rlimit_set &= ~(1u << k->arg);
		return 0;
	}
	if (cmd == FL_CONFIG_SET_BINARY) {
		const struct rlimit *r = value;
		if (!r || aux != (int)sizeof(*r))
			return -EINVAL;
		rl.cur = r->rlim_cur;
		rl.max = r->rlim_max;
	} else if (cmd == FL_CONFIG_SET_STRING && value) {
		char buf[64];
		if (strlen(value) >= sizeof(buf))
			return -EINVAL;
		strcpy(buf, value);
		char *colon = strchr(buf, ':');
		if (colon)
			*colon = 0;
		if (parse_rlim_value(buf, &rl.cur) < 0 ||
		    parse_rlim_value(colon ? colon + 1 : buf, &rl.max) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (rl.cur > rl.max)
		return -EINVAL;
	c->spec.rlimits[k->arg] = rl;
	c->spec.rlimit_set |= 1u << k->arg;
	return 0;
}

static int lookup_user(const char *s, int group, long long *out)
{
	char buf[4096];
	int r;

	if (parse_ll(s, 10, 0, UINT_MAX - 1, out) == 0)
		return 0;
	if (group) {
		struct group g, *gp = NULL;
		r = getgrnam_r(s, &g, buf, sizeof(buf), &gp);
		if (gp)
			*out = g.gr_gid;
	} else {
		struct passwd p, *pp = NULL;
		r = getpwnam_r(s, &p, buf, sizeof(buf), &pp);
		if (pp)
			*out = p.pw_uid;
	}
	return r ? -r : 0;
}

static int set_id(struct fl__config *c, const struct key *k, unsigned int cmd,
		  const void *value, int aux)
{
	long long v = -1;
	int r;

	if (cmd == FL_CONFIG_UNSET)
		return c->spec.set &= ~k->bit, 0;
	if (cmd == FL_CONFIG_SET_STRING && value)
		r = lookup_user(value, k->bit == FL__SET_GID, &v);
	else
		r = get_int(cmd, value, aux, 0, INT_MAX, &v);
	if (r < 0)
		return r;
	if (v < 0)
		return -EINVAL; /* no such user or group */
	if (k->bit == FL__SET_GID)
		c->spec.gid = (gid_t)v;
	else
		c->spec.uid = (uid_t)v;
	c->spec.set |= k->bit;
	return 0;
}

static int set_groups(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux)
{
	gid_t *g = NULL;
	size_t n = 0;

	(void)k;
	if (cmd == FL_CONFIG_UNSET) {
		commit_str((char **)&c->groups, NULL);
		c->spec.set &= ~FL__SET_GROUPS;
		return 0;
	}
	if (cmd == FL_CONFIG_SET_BINARY) {
		if (aux < 0 || aux % (int)sizeof(gid_t) || (aux && !value) ||
		    (size_t)aux / sizeof(gid_t) > 65536)
			return -EINVAL;
		n = (size_t)aux / sizeof(gid_t);
		if (!(g = malloc(aux ? (size_t)aux : 1)))
			return -ENOMEM;
		memcpy(g, value, (size_t)aux);
	} else if (cmd == FL_CONFIG_SET_STRING && value) {
		char *copy = strdup(value), *save = NULL;
		if (!copy || !(g = malloc((strlen(value) / 2 + 1) * sizeof(gid_t)))) {
			free(copy);
			return -ENOMEM;
		}
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			long long v = -1;
			if (lookup_user(t, 1, &v) < 0 || v < 0) {
				free(copy);
				free(g);
				return -EINVAL;
			}
			g[n++] = (gid_t)v;
		}
		free(copy);
	} else {
		return -EINVAL;
	}
	commit_str((char **)&c->groups, (char *)g);
	c->spec.groups = g;
	c->spec.ngroups = n;
	c->spec.set |= FL__SET_GROUPS;
	return 0;
}

static int set_cgroup(struct fl__config *c, const struct key *k, unsigned int cmd,
		      const void *value, int aux)
{
	struct stat st;
	int fd;

	(void)k;
	if (cmd == FL_CONFIG_UNSET) {
		commit_fd(&c->cgroup_fd, -1);
		c->spec.set &= ~FL__SET_CGROUP;
		return 0;
	}
	if (cmd == FL_CONFIG_SET_FD) {
		fd = get_fd(aux);
	} else if (cmd == FL_CONFIG_SET_STRING && value) {
		/* not O_PATH: CLONE_INTO_CGROUP refuses O_PATH fds */
		fd = open(value, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
	} else {
		return -EINVAL;
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	commit_fd(&c->cgroup_fd, fd);
	c->spec.set |= FL__SET_CGROUP;
	return 0;
}

static int set_affinity(struct fl__config *c, const struct key *k, unsigned int cmd,
			const void *value, int aux)
{
	cpu_set_t set;

	(void)k;
	if (cmd == FL_CONFIG_UNSET)
		return c->spec.set &= ~FL__SET_AFFINITY, 0;
	CPU_ZERO(&set);
	if (cmd == FL_CONFIG_SET_BINARY) {
		if (!value || aux <= 0 || (size_t)aux > sizeof(set))
			return -EINVAL;
		memcpy(&set, value, (size_t)aux);
	} else if (cmd == FL_CONFIG_SET_STRING) {
		if (parse_list(value, (unsigned long *)&set, CPU_SETSIZE) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (CPU_COUNT(&set) == 0)
		return -EINVAL;
	c->affinity = set;
	c->spec.set |= FL__SET_AFFINITY;
	return 0;
}

/* Where sysfs is: FORKLESS_SYSFS_ROOT lets the tests describe NUMA
 * machines this one is not (never for set-id programs). */
static const char *sysfs_root(void)
{
	const char *r = secure_getenv("FORKLESS_SYSFS_ROOT");
	return r && *r ? r : "/sys";
}

static int node_exists(unsigned long *nodes)
{
	char path[64];
	struct stat st;

	for (int i = 0; i < MAX_NODES; i++) {
		if (!(nodes[i / 64] & (1UL << (i % 64))))
			continue;
		snprintf(path, sizeof(path), "%s/devices/system/node/node%d", sysfs_root(), i);
		if (stat(path, &st) < 0)
			return 0;
	}
	return 1;
}

/* "default", "local", "bind:LIST", "interleave:LIST", "preferred:NODE". */
static int set_mempolicy(struct fl__config *c, const struct key *k, unsigned int cmd,
			 const void *value, int aux)
{
	static const struct { const char *name; int mode; } modes[] = {
		{ "default", MPOL_DEFAULT_ }, { "preferred", MPOL_PREFERRED_ },
		{ "bind", MPOL_BIND_ },       { "interleave", MPOL_INTERLEAVE_ },
		{ "local", MPOL_LOCAL_ },
	};
	unsigned long nodes[MAX_NODES / 64] = { 0 };
	const char *s = value, *colon;
	int mode = -1;

	(void)k, (void)aux;
	if (cmd == FL_CONFIG_UNSET)
		return c->spec.set &= ~FL__SET_MEMPOLICY, 0;
	if (cmd != FL_CONFIG_SET_STRING || !s)
		return -EINVAL;
	colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strlen(modes[i].name) == len && !strncmp(s, modes[i].name, len))
			mode = modes[i].mode;
	if (mode < 0)
		return -EINVAL;
	int wants_nodes = mode == MPOL_BIND_ || mode == MPOL_INTERLEAVE_ || mode == MPOL_PREFERRED_;
	if (wants_nodes != !!colon)
		return -EINVAL;
	if (colon && parse_list(colon + 1, nodes, MAX_NODES) < 0)
		return -EINVAL;
	if (!node_exists(nodes))
		return -EINVAL;
	memcpy(c->nodes, nodes, sizeof(nodes));
	c->spec.mpol_mode = mode;
	c->spec.mpol_nodes = wants_nodes ? c->nodes : NULL;
	c->spec.mpol_maxnode = wants_nodes ? MAX_NODES + 1 : 0;
	c->spec.set |= FL__SET_MEMPOLICY;
	return 0;
}

/* The node's CPUs and a preference for its memory: a NUMA-local child. */
static int set_numa_node(struct fl__config *c, const struct key *k, unsigned int cmd,
			 const void *value, int aux)
{
	char path[80], list[4096], pol[32];
	long long node;
	int r;

	(void)k;
	if (cmd == FL_CONFIG_UNSET) {
		c->spec.set &= ~(FL__SET_MEMPOLICY | FL__SET_AFFINITY);
		c->numa_node = -1;
		return 0;
	}
	if ((r = get_int(cmd, value, aux, 0, MAX_NODES - 1, &node)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/devices/system/node/node%lld/cpulist", sysfs_root(), node);
	FILE *f = fopen(path, "re");
	if (!f)
		return -EINVAL;
	char *ok = fgets(list, sizeof(list), f);
	fclose(f);
	if (!ok)
		return -EINVAL;
	list[strcspn(list, "\n")] = 0;
	struct fl__config tmp = *c; /* both keys or neither */
	snprintf(pol, sizeof(pol), "preferred:%lld", node);
	if ((r = set_affinity(&tmp, NULL, FL_CONFIG_SET_STRING, list, 0)) < 0 ||
	    (r = set_mempolicy(&tmp, NULL, FL_CONFIG_SET_STRING, pol, 0)) < 0)
		return r;
	c->affinity = tmp.affinity;
	memcpy(c->nodes, tmp.nodes, sizeof(c->nodes));
	c->spec.mpol_mode = tmp.spec.mpol_mode;
	c->spec.mpol_nodes = c->nodes;
	c->spec.mpol_maxnode = tmp.spec.mpol_maxnode;
	c->spec.set |= FL__SET_MEMPOLICY | FL__SET_AFFINITY;
	c->numa_node = (int)node; /* the server launcher: that node's server */
	return 0;
}

/* "launcher": "vfork" (the default) or "server" (launch_server.c). */
static int set_launcher(struct fl__config *c, const struct key *k, unsigned int cmd,
			const void *value, int aux)
{
	(void)k, (void)aux;
	if (cmd == FL_CONFIG_UNSET) {
		c->launcher = FL__LAUNCHER_DEFAULT;
		return 0;
	}
	if (cmd != FL_CONFIG_SET_STRING || !value)
		return -EINVAL;
	if (!strcmp(value, "vfork"))
		c->launcher = FL__LAUNCHER_VFORK;
	else if (!strcmp(value, "server"))
		c->launcher = FL__LAUNCHER_SERVER;
	else
		return -EINVAL;
	return 0;
}

static int set_sched(struct fl__config *c, const struct key *k, unsigned int cmd,
		     const void *value, int aux)
{
	static const struct { const char *name; int policy; } pol[] = {
		{ "other", SCHED_OTHER }, { "normal", SCHED_OTHER }, { "fifo", SCHED_FIFO },
		{ "rr", SCHED_RR },       { "batch", SCHED_BATCH },  { "idle", SCHED_IDLE },
	};
	long long v = -1;
	int r;

	if (cmd == FL_CONFIG_UNSET) {
		c->spec.set &= ~(k->arg ? FL__SET_SCHEDPARAM : FL__SET_SCHED);
		if (k->arg)
			c->spec.sched_priority = 0;
		return 0;
	}
	if (k->arg) { /* sched_priority: checked against the policy by the kernel */
		if ((r = get_int(cmd, value, aux, 0, 99, &v)) < 0)
			return r;
		c->spec.sched_priority = (int)v;
		c->spec.set |= FL__SET_SCHEDPARAM; /* alone: sched_setparam */
		return 0;
	}
	if (cmd == FL_CONFIG_SET_STRING && value)
		for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++)
			if (!strcasecmp(value, pol[i].name))
				v = pol[i].policy;
	if (v < 0 && (r = get_int(cmd, value, aux, 0, 6, &v)) < 0)
		return r;
	if (v != SCHED_OTHER && v != SCHED_FIFO && v != SCHED_RR && v != SCHED_BATCH &&
	    v != SCHED_IDLE)
		return -EINVAL;
	c->spec.sched_policy = (int)v;
	c->spec.set |= FL__SET_SCHED;
	return 0;
}

/* "template": run a spawn template's file with this builder's settings. */
static int set_template(struct fl__config *c, const struct key *k, unsigned int cmd,
			const void *value, int aux)
{
	struct fl__template *t;
	int r, fd;

	(void)k, (void)value;
	if (cmd == FL_CONFIG_UNSET) {
		close_fd(&c->tmpl_fd);
		if (c->tmpl)
			fl__template_release(c->tmpl);
		c->tmpl = NULL;
		return 0;
	}
	if (cmd != FL_CONFIG_SET_FD)
		return -EINVAL;
	if ((r = fl__template_acquire(aux, &t)) < 0)
		return r;
	if ((fd = get_fd(aux)) < 0) {
		fl__template_release(t);
		return fd;
	}
	close_fd(&c->tmpl_fd);
	if (c->tmpl)
		fl__template_release(c->tmpl);
	c->tmpl = t;
	c->tmpl_fd = fd;
	return 0;
}

#define RL(name, res) { "rlimit." name, set_rlimit, 0, res }
static const struct key keys[] = {
	{ "path", set_path, 0, 0 },
	{ "execfd", set_execfd, 0, 0 },
	{ "argv", set_strv, 0, 0 },
	{ "envp", set_strv, 0, 1 },
	{ "cwd", set_cwd, 0, 0 },
	{ "umask", set_intkey, FL__SET_UMASK, 0 },
	{ "setsid", set_flag, FL__SET_SETSID, 0 },
	{ "pgroup", set_intkey, FL__SET_PGROUP, 0 },
	{ "ctty", set_ctty, 0, 0 },
	{ "sigmask", set_sigset, 0, 0 },
	{ "sigdefault", set_sigset, 0, 1 },
	RL("cpu", RLIMIT_CPU), RL("fsize", RLIMIT_FSIZE), RL("data", RLIMIT_DATA),
	RL("stack", RLIMIT_STACK), RL("core", RLIMIT_CORE), RL("rss", RLIMIT_RSS),
	RL("nproc", RLIMIT_NPROC), RL("nofile", RLIMIT_NOFILE),
	RL("memlock", RLIMIT_MEMLOCK), RL("as", RLIMIT_AS), RL("locks", RLIMIT_LOCKS),
	RL("sigpending", RLIMIT_SIGPENDING), RL("msgqueue", RLIMIT_MSGQUEUE),
	RL("nice", RLIMIT_NICE), RL("rtprio", RLIMIT_RTPRIO), RL("rttime", RLIMIT_RTTIME),
	{ "uid", set_id, FL__SET_UID, 0 },
	{ "gid", set_id, FL__SET_GID, 0 },
	{ "groups", set_groups, 0, 0 },
	{ "cgroup", set_cgroup, 0, 0 },
	{ "pdeathsig", set_intkey, FL__SET_PDEATHSIG, 0 },
	{ "affinity", set_affinity, 0, 0 },
	{ "mempolicy", set_mempolicy, 0, 0 },
	{ "numa_node", set_numa_node, 0, 0 },
	{ "sched_policy", set_sched, 0, 0 },
	{ "sched_priority", set_sched, 0, 1 },
	{ "inherit_fds", set_flag, 0, 0 },
	{ "warm", set_warm, 0, 0 },
	{ "native", set_native, 0, 0 },
	{ "resetids", set_flag, FL__SET_RESETIDS, 0 },
	{ "template", set_template, 0, 0 },
	{ "launcher", set_launcher, 0, 0 },
};

int fl__config_apply(struct fl__config *c, unsigned int cmd, const char *key,
		     const void *value, int aux)
{
	if (!key)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].name))
			return keys[i].set(c, &keys[i], cmd, value, aux);
	return -EINVAL;
}

/* The key name of an RLIMIT_* resource, for fl_pidfd_set_rlimit(). */
const char *fl__rlimit_key(int resource)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].set == set_rlimit && keys[i].arg == resource)
			return keys[i].name;
	return NULL;
}
