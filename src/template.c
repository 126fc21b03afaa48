/* SPDX-License-Identifier: MIT */
/*
 * template.c - spawn templates: check an executable once, launch it many times.
 *
 * fl_spawn_template_create() opens the file (or takes the caller's fd),
 * checks everything exec would otherwise find out one spawn at a time (a
 * regular file the caller may execute; an ELF for this machine whose
 * PT_INTERP exists, or a "#!" script whose interpreter exists), records its
 * identity and the creator's credentials, and returns an fd OF THE FILE as
 * the template handle: closing it releases the file.  Spawning re-checks
 * only what may have changed (the creator's credentials; for a path
 * template, that the path still names the same file) and runs the cached
 * file with execveat(AT_EMPTY_PATH), through the same fl__run() and child
 * executor as every other front end.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "handle.h"
#include "internal.h"
#include "sys.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__i386__)
#define NATIVE_MACHINE EM_386
#else
#define NATIVE_MACHINE EM_NONE /* not checked */
#endif
#define NATIVE_CLASS (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)

#define ALL_FLAGS (FL_TEMPLATE_NO_CLOEXEC | FL_TEMPLATE_FOLLOW_PATH | FL_TEMPLATE_SEARCH_PATH | \
		   FL_TEMPLATE_INHERIT_FDS | FL_TEMPLATE_WARM)

struct fl__template {
	atomic_int refs;
	pthread_mutex_t id_lock; /* id may change under FOLLOW_PATH while others spawn */
	uint64_t flags;
	char *filename;     /* absolute path of a path template; NULL for an fd template */
	int open_flags;     /* how filename is (re)opened */
	struct stat id;     /* identity at create (or at the last FOLLOW_PATH re-open) */
	bool script;
	uid_t euid;
	gid_t egid;
	gid_t *groups;
	int ngroups;
	struct fl__config cfg; /* default configuration */
	struct fl_action *actions; /* default actions, deep copies */
	size_t nactions;
	struct fl__warm *warm;   /* FL_TEMPLATE_WARM that passed the file's checks */
	int cold_reason;         /* FL_WARM_*: why not, without one */
	int ktfd;                /* the kernel's template of the file (native.c), or -1 */
};

void fl__template_get(struct fl__template *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void fl__template_release(struct fl__template *t)
{
	if (atomic_fetch_sub(&t->refs, 1) == 1)
		fl__template_free(t);
}

/* A template handle: the executable's fd, in the handle table. */
struct thandle {
	struct fl__handle h;
	struct fl__template *t;
};

static void thandle_free(struct fl__handle *h, bool ours)
{
	struct thandle *th = (struct thandle *)h;

	if (ours) /* else a fork child's copy: the creator frees its own */
		fl__template_release(th->t);
	free(th);
}

int fl__template_acquire(int fd, struct fl__template **ret)
{
	struct fl__handle *h;
	int r = fl__handle_get(fd, &h);

	if (r == -ENOENT)
		return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
	if (r < 0)
		return r;
	if (h->kind == FL__H_TEMPLATE) {
		*ret = ((struct thandle *)h)->t;
		fl__template_get(*ret);
	} else {
		r = -EINVAL; /* a builder */
	}
	fl__handle_put(h);
	return r;
}

/* Point template handle fd at newfd's file (FL_TEMPLATE_FOLLOW_PATH), if fd
 * still is t's handle. */
static int repoint(int fd, struct fl__template *t, int newfd, int cloexec)
{
	struct fl__handle *h;
	int r = fl__handle_get(fd, &h);

	if (r < 0)
		return r;
	if (h->kind == FL__H_TEMPLATE && ((struct thandle *)h)->t == t)
		r = fl__handle_replace(fd, h, newfd, cloexec ? O_CLOEXEC : 0, true);
	else
		r = -EBADF;
	fl__handle_put(h);
	return r;
}

static void warm_free(struct fl__warm *w)
{
	if (!w)
		return;
	fl__warm_stop(w);
	if (w->execfd >= 0)
		close(w->execfd);
	free(w->argv0);
	free(w->envp);
	free(w->loader);
	free(w);
}

void fl__template_free(struct fl__template *t)
{
	warm_free(t->warm);
	if (t->ktfd >= 0)
		close(t->ktfd);
	free(t->filename);
	free(t->groups);
	fl__config_free(&t->cfg);
	fl__actions_free(t->actions, t->nactions);
	free(t);
}

/* ---- checks ------------------------------------------------------------ */

static int fail(struct fl_error *e, int err, int check)
{
	e->err = err;
	e->stage = FL_STAGE_TEMPLATE;
	e->index = check;
	return -err;
}

/* An interpreter must exist and be executable. */
static int check_interp(const char *path, struct fl_error *e)
{
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
		return 0;
	return fail(e, errno == EACCES ? EACCES : ENOENT, FL_TCHECK_INTERP);
}

static int check_script(const char *buf, size_t n, struct fl_error *e)
{
	char interp[PATH_MAX];
	size_t i = 2, k = 0;

	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	while (i < n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && k < sizeof(interp) - 1)
		interp[k++] = buf[i++];
	interp[k] = 0;
	if (k == 0)
		return fail(e, ENOEXEC, FL_TCHECK_FORMAT);
	return check_interp(interp, e);
}

static int check_elf(int fd, const struct stat *st, const unsigned char *buf, size_t n,
		     char *interp_out, struct fl_error *e)
{
	Elf64_Ehdr h;

	if (n < EI_NIDENT + 4)
		return fail(e, ENOEXEC, FL_TCHECK_TRUNCATED);
	if (buf[EI_CLASS] != NATIVE_CLASS || buf[EI_DATA] != ELFDATA2LSB)
		return fail(e, ENOEXEC, FL_TCHECK_ARCH);
	if (n < sizeof(h))
		return fail(e, ENOEXEC, FL_TCHECK_TRUNCATED);
	memcpy(&h, buf, sizeof(h));
	if (NATIVE_MACHINE != EM_NONE && h.e_machine != NATIVE_MACHINE)
		return fail(e, ENOEXEC, FL_TCHECK_ARCH);
	if (h.e_type != ET_EXEC && h.e_type != ET_DYN)
		return fail(e, ENOEXEC, FL_TCHECK_FORMAT);
	if (h.e_phentsize != sizeof(Elf64_Phdr) ||
	    h.e_phoff + (uint64_t)h.e_phnum * sizeof(Elf64_Phdr) > (uint64_t)st->st_size)
		return fail(e, ENOEXEC, FL_TCHECK_TRUNCATED);
	for (int i = 0; i < h.e_phnum; i++) {
		Elf64_Phdr ph;
		char interp[PATH_MAX];
		if (pread(fd, &ph, sizeof(ph), (off_t)(h.e_phoff + i * sizeof(ph))) != sizeof(ph))
			return fail(e, ENOEXEC, FL_TCHECK_TRUNCATED);
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz >= sizeof(interp) ||
		    ph.p_offset + ph.p_filesz > (uint64_t)st->st_size ||
		    pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
			return fail(e, ENOEXEC, FL_TCHECK_TRUNCATED);
		interp[ph.p_filesz] = 0;
		if (interp_out)
			memcpy(interp_out, interp, ph.p_filesz + 1);
		return check_interp(interp, e);
	}
	return 0; /* static */
}

/* May the caller execute fd?  faccessat2(AT_EMPTY_PATH) from 5.8. */
static int may_exec(int fd, const struct stat *st)
{
	long r = fl__sys4(439 /* faccessat2 */, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS);
	if (r != -ENOSYS && r != -EPERM)
		return r == 0;
	if (geteuid() == 0)
		return (st->st_mode & 0111) != 0;
	if (st->st_uid == geteuid())
		return (st->st_mode & 0100) != 0;
	if (st->st_gid == getegid())
		return (st->st_mode & 0010) != 0;
	return (st->st_mode & 0001) != 0;
}

/* Everything exec would find out one spawn at a time; interp (PATH_MAX,
 * if not NULL) gets an ELF's PT_INTERP, "" if none. */
static int check_file(int fd, struct stat *st, bool *script, char *interp, struct fl_error *e)
{
	unsigned char buf[256];
	ssize_t n;

	if (interp)
		*interp = 0;
	if (fstat(fd, st) < 0)
		return fail(e, errno, FL_TCHECK_OPEN);
	if (S_ISDIR(st->st_mode))
		return fail(e, EISDIR, FL_TCHECK_TYPE);
	if (!S_ISREG(st->st_mode))
		return fail(e, EACCES, FL_TCHECK_TYPE);
	if (!may_exec(fd, st))
		return fail(e, EACCES, FL_TCHECK_EXEC);
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0 && errno == EBADF)
		return 0; /* an O_PATH fd of an unreadable file: exec will judge the format */
	if (n < 0)
		return fail(e, errno, FL_TCHECK_OPEN);
	*script = n >= 2 && buf[0] == '#' && buf[1] == '!';
	if (*script)
		return check_script((const char *)buf, (size_t)n, e);
	if (n >= 4 && !memcmp(buf, ELFMAG, SELFMAG))
		return check_elf(fd, st, buf, (size_t)n, interp, e);
	return fail(e, ENOEXEC, FL_TCHECK_FORMAT);
}

/* Open a path template's file; readable if possible, else O_PATH (exec only). */
static int open_file(const char *path, int oflags)
{
	/* O_NONBLOCK: a FIFO must not block us; check_file() refuses it */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | oflags);
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_PATH | O_CLOEXEC | oflags);
	if (fd >= 0)
		fcntl(fd, F_SETFL, 0);
	return fd < 0 ? -errno : fd;
}

/* $PATH search, once, as execvp(3) would (EACCES if only that was found). */
static int search_path(const char *name, char **ret)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX + NAME_MAX + 2], cwd[PATH_MAX];
	int err = ENOENT;

	if (!p)
		p = "/bin:/usr/bin";
	for (;;) {
		const char *end = strchrnul(p, ':');
		int len = (int)(end - p);
		if (len == 0 || p[0] != '/') { /* relative entries are relative to the cwd */
			if (!getcwd(cwd, sizeof(cwd)))
				return -errno;
			snprintf(buf, sizeof(buf), "%s/%.*s%s%s", cwd, len, p, len ? "/" : "", name);
		} else {
			snprintf(buf, sizeof(buf), "%.*s/%s", len, p, name);
		}
		struct stat st;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
			if (faccessat(AT_FDCWD, buf, X_OK, AT_EACCESS) == 0)
				return (*ret = strdup(buf)) ? 0 : -ENOMEM;
			err = EACCES;
		}
		if (!*end)
			return -err;
		p = end + 1;
	}
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* ---- creation ---------------------------------------------------------- */

static int record_creds(struct fl__template *t)
{
	t->euid = geteuid();
	t->egid = getegid();
	t->ngroups = getgroups(0, NULL);
	if (t->ngroups < 0)
		return -errno;
	t->groups = malloc((size_t)t->ngroups * sizeof(gid_t) + 1);
	if (!t->groups)
		return -ENOMEM;
	if (getgroups(t->ngroups, t->groups) < 0)
		return -errno;
	return 0;
}

static int copy_targs(struct fl_template_args *out, const struct fl_template_args *a, size_t size)
{
	int r = fl__copy_ext(out, sizeof(*out), a, size, FL_TEMPLATE_ARGS_SIZE_VER0);
	return r > 0 ? -EFAULT : r;
}

/* Checks on the arguments alone; 0 or -errno with FL_TCHECK_ARGS. */
static int check_args(const struct fl_template_args *a, struct fl_error *e)
{
	if ((a->flags & ~(uint64_t)ALL_FLAGS) || a->reserved || (a->exec_flags & ~AT_SYMLINK_NOFOLLOW))
		return fail(e, EINVAL, FL_TCHECK_ARGS);
	if ((a->execfd >= 0) == (a->filename != NULL))
		return fail(e, EINVAL, FL_TCHECK_ARGS); /* exactly one of them */
	if (a->filename && a->filename[0] != '/' &&
	    (!(a->flags & FL_TEMPLATE_SEARCH_PATH) || strchr(a->filename, '/') || !a->filename[0]))
		return fail(e, EINVAL, FL_TCHECK_ARGS);
	return 0;
}

/* The template's file as a new fd: opened by path, or the caller's duplicated. */
static int open_target(struct fl__template *t, const struct fl_template_args *a,
		       struct fl_error *e)
{
	int fd, r;

	if (a->execfd >= 0) {
		fd = fcntl(a->execfd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? fail(e, errno, FL_TCHECK_OPEN) : fd;
	}
	if (a->filename[0] != '/') {
		if ((r = search_path(a->filename, &t->filename)) < 0)
			return fail(e, -r, FL_TCHECK_OPEN);
	} else if (!(t->filename = strdup(a->filename))) {
		return fail(e, ENOMEM, FL_TCHECK_ARGS);
	}
	t->open_flags = (a->exec_flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0;
	fd = open_file(t->filename, t->open_flags);
	return fd < 0 ? fail(e, -fd, FL_TCHECK_OPEN) : fd;
}

/* Default configuration and actions, copied so the caller's may go away. */
static int take_defaults(struct fl__template *t, const struct fl_template_args *a,
			 struct fl_error *e)
{
	int r;

	if (a->config_fd >= 0) {
		if ((r = fl__builder_config_copy(a->config_fd, &t->cfg)) < 0)
			return fail(e, -r, FL_TCHECK_ARGS);
		if (t->cfg.tmpl) /* a template's builder as the default of another: no */
			return fail(e, EINVAL, FL_TCHECK_ARGS);
	}
	if (a->nactions > (1u << 24))
		return fail(e, E2BIG, FL_TCHECK_ARGS);
	if ((r = fl__actions_dup(a->actions, a->nactions, &t->actions)) < 0)
		return fail(e, -r, FL_TCHECK_ARGS);
	t->nactions = a->nactions;
	if ((r = record_creds(t)) < 0)
		return fail(e, -r, FL_TCHECK_ARGS);
	return 0;
}

/* ---- warm templates ------------------------------------------------------ */

/* What of the file alone keeps it from being warm (FL_WARM_*), or 0. */
static int warm_refusal(int fd, const struct stat *st, bool script, const char *interp)
{
	char path[64];

	if (script)
		return FL_WARM_SCRIPT;
	if (st->st_mode & (S_ISUID | S_ISGID))
		return FL_WARM_SETID;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (getxattr(path, "security.capability", NULL, 0) > 0)
		return FL_WARM_FCAPS;
	if (!interp[0])
		return FL_WARM_STATIC;
	const char *base = strrchr(interp, '/');
	if (strncmp(base ? base + 1 : interp, "ld-linux", 8))
		return FL_WARM_INTERP; /* the agent needs glibc's */
	return 0;
}

/* t's warm server, started now, so that the query answers at once. */
static int warm_new(struct fl__template *t, int fd, const char *interp)
{
	static atomic_uint ids;
	struct fl__warm *w;
	int why = warm_refusal(fd, &t->id, t->script, interp);

	if (why) {
		t->cold_reason = why;
		return 0;
	}
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->id = atomic_fetch_add(&ids, 1) + 1;
	w->execfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	w->argv0 = strdup(t->filename ? t->filename : "forkless-warm");
	w->envp = fl__strv_dup(t->cfg.envp ? t->cfg.envp : environ);
	w->loader = w->envp ? fl__warm_loader(w->envp) : NULL;
	if (w->execfd < 0 || !w->argv0 || !w->envp || !w->loader) {
		int err = w->execfd < 0 ? -errno : -ENOMEM;
		t->warm = w;
		return err;
	}
	t->warm = w;
	fl__warm_check(w);
	return 0;
}

/* A template of checked args a: *ret, its file's fd returned (or -errno). */
static int template_build(const struct fl_template_args *a, struct fl__template **ret,
			  struct fl_error *e)
{
	struct fl__template *t;
	int r, fd = -1;

	if ((r = check_args(a, e)) < 0)
		return r;
	if (!(t = calloc(1, sizeof(*t))))
		return fail(e, ENOMEM, FL_TCHECK_ARGS);
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->id_lock, NULL);
	t->flags = a->flags;
	t->ktfd = -1;
	fl__config_init(&t->cfg);
	char interp[PATH_MAX];
	if ((r = fd = open_target(t, a, e)) < 0 ||
	    (r = check_file(fd, &t->id, &t->script, interp, e)) < 0 ||
	    (r = take_defaults(t, a, e)) < 0)
		goto out_free;
	t->cold_reason = FL_WARM_NOT_ASKED;
	if ((a->flags & FL_TEMPLATE_WARM) && (r = warm_new(t, fd, interp)) < 0) {
		fail(e, -r, FL_TCHECK_ARGS);
		goto out_free;
	}
	/* the kernel's template where it has them: not for what it cannot run
	 * as user space does (a script by fd, a path followed to a new file,
	 * a warm server's copies); a path it checks itself where it would
	 * resolve it as we do */
	if (!(a->flags & (FL_TEMPLATE_WARM | FL_TEMPLATE_FOLLOW_PATH)) && !t->script) {
		bool by_path = t->filename && t->filename[0] == '/' && !(t->open_flags & O_NOFOLLOW);
		t->ktfd = fl__native_template(fd, by_path ? t->filename : NULL, t->cfg.native);
	}
	*ret = t;
	return fd;

out_free:
	if (fd >= 0)
		close(fd);
	fl__template_free(t);
	return r;
}

static int template_create(struct fl_template_args *args, size_t size)
{
	FL__KEEP_ERRNO;
	struct fl_error scratch, *e = &scratch;
	struct fl_template_args a;
	struct fl__template *t;
	int r, fd;

	r = copy_targs(&a, args, size);
	if (a.error)
		e = a.error;
	*e = (struct fl_error){ 0, FL_STAGE_NONE, -1 };
	if (r < 0)
		return fail(e, -r, FL_TCHECK_ARGS);
	if ((r = fd = template_build(&a, &t, e)) < 0)
		return r;
	if ((a.flags & FL_TEMPLATE_NO_CLOEXEC) && fcntl(fd, F_SETFD, 0) < 0) {
		r = fail(e, errno, FL_TCHECK_OPEN);
		goto out_free;
	}
	struct thandle *th = calloc(1, sizeof(*th));
	if (!th || (th->t = t, r = fl__handle_add(fd, &th->h, FL__H_TEMPLATE, 0, thandle_free)) < 0) {
		fail(e, th ? -r : ENOMEM, FL_TCHECK_ARGS);
		free(th);
		goto out_free;
	}
	return fd;

out_free:
	close(fd);
	fl__template_free(t);
	return r;
}

/* ---- FORKLESS_WARM: warm templates for the POSIX front end ------------- */

/*
 * FORKLESS_WARM=/usr/bin/git:/usr/bin/ls: posix_spawn of those programs
 * (by that path, or by a bare name that $PATH resolves to it) is served by
 * a warm template of each, made on its first spawn and kept (no fd: the
 * template holds its file through its warm server's fd).  A template whose
 * file was replaced fails with ESTALE and is made anew; one that cannot be
 * warm runs its spawns by exec as any template does.
 */
#define WARM_LIST_MAX 64

static struct {
	char *path;
	struct fl__template *t;
} warm_list[WARM_LIST_MAX];
static int warm_n;
static pthread_once_t warm_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;

static void warm_list_init(void)
{
	const char *v = secure_getenv("FORKLESS_WARM");
	if (!v)
		return;
	for (const char *p = v; *p && warm_n < WARM_LIST_MAX;) {
		size_t len = strcspn(p, ":");
		if (len && p[0] == '/' && (warm_list[warm_n].path = strndup(p, len)))
			warm_n++;
		p += len + (p[len] == ':');
	}
}

/* The list's entry for path (a bare name resolved through $PATH as
 * execvp would with use_path), or -1. */
static int warm_index(const char *path, bool use_path)
{
	bool bare = use_path && !strchr(path, '/');
	char *found = NULL;
	int k = -1;

	for (int i = 0; i < warm_n && k < 0; i++) {
		const char *base = strrchr(warm_list[i].path, '/') + 1;
		if (!bare ? !strcmp(path, warm_list[i].path) : !strcmp(path, base)) {
			if (bare && !found && search_path(path, &found) < 0)
				return -1;
			if (!bare || !strcmp(found, warm_list[i].path))
				k = i;
		}
	}
	free(found);
	return k;
}

struct fl__template *fl__warm_for(const char *path, bool use_path)
{
	struct fl__template *t = NULL;

	pthread_once(&warm_once, warm_list_init);
	if (!warm_n || !path)
		return NULL;
	int i = warm_index(path, use_path);
	if (i < 0)
		return NULL;
	pthread_mutex_lock(&warm_lock);
	if (!warm_list[i].t) {
		struct fl_template_args a = { .flags = FL_TEMPLATE_WARM, .execfd = -1,
					      .filename = warm_list[i].path, .config_fd = -1 };
		struct fl_error e;
		int fd = template_build(&a, &warm_list[i].t, &e);
		if (fd >= 0)
			close(fd);
	}
	if ((t = warm_list[i].t))
		fl__template_get(t);
	pthread_mutex_unlock(&warm_lock);
	return t;
}

void fl__warm_forget(struct fl__template *t)
{
	pthread_mutex_lock(&warm_lock);
	for (int i = 0; i < warm_n; i++)
		if (warm_list[i].t == t) {
			warm_list[i].t = NULL;
			fl__template_release(t);
		}
	pthread_mutex_unlock(&warm_lock);
}

/* ---- spawning ---------------------------------------------------------- */

static int same_creds(const struct fl__template *t)
{
	gid_t small[64], *g = small;
	int n, same;

	if (geteuid() != t->euid || getegid() != t->egid || getgroups(0, NULL) != t->ngroups)
		return 0;
	if (t->ngroups > 64 && !(g = malloc((size_t)t->ngroups * sizeof(gid_t))))
		return 0;
	n = getgroups(t->ngroups, g);
	same = n == t->ngroups && !memcmp(g, t->groups, (size_t)n * sizeof(gid_t));
	if (g != small)
		free(g);
	return same;
}

/*
 * A path template whose path names another file now: -ESTALE, or with
 * FL_TEMPLATE_FOLLOW_PATH re-open and re-check it, and (tfd >= 0) point the
 * handle at it.  Returns 0 or -errno; *ret_fd a new fd to run (or -1) and
 * *ret_script whether the file to run is a script.
 */
static int follow(struct fl__template *t, int tfd, int *ret_fd, bool *ret_script,
		  struct fl_error *e)
{
	struct stat now;
	int r, fd;

	*ret_fd = -1;
	int nofollow = (t->open_flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
	pthread_mutex_lock(&t->id_lock);
	int same = fstatat(AT_FDCWD, t->filename, &now, nofollow) == 0 && same_file(&now, &t->id);
	*ret_script = t->script;
	pthread_mutex_unlock(&t->id_lock);
	if (same)
		return 0;
	if (!(t->flags & FL_TEMPLATE_FOLLOW_PATH))
		return fail(e, ESTALE, FL_TCHECK_IDENTITY);
	if ((fd = open_file(t->filename, t->open_flags)) < 0)
		return fail(e, -fd, FL_TCHECK_OPEN);
	bool script = false;
	if ((r = check_file(fd, &now, &script, NULL, e)) < 0) {
		close(fd);
		return r;
	}
	*ret_script = script;
	if (tfd >= 0 && repoint(tfd, t, fd, !(t->flags & FL_TEMPLATE_NO_CLOEXEC)) == 0) {
		pthread_mutex_lock(&t->id_lock);
		t->id = now; /* the handle now holds the new file */
		t->script = script;
		pthread_mutex_unlock(&t->id_lock);
		close(fd);
		return 0;
	}
	*ret_fd = fd; /* this run only */
	return 0;
}

/* Template actions, then the spawn's own. */
static struct fl_action *merge(const struct fl__template *t, const struct fl_spawn_args *a)
{
	size_t n = t->nactions + a->nactions;
	struct fl_action *m = malloc((n ? n : 1) * sizeof(*m));

	if (!m)
		return NULL;
	if (t->nactions)
		memcpy(m, t->actions, t->nactions * sizeof(*m));
	if (a->nactions)
		memcpy(m + t->nactions, a->actions, a->nactions * sizeof(*m));
	return m;
}

int fl__template_run(struct fl__template *t, int tfd, int execfd, const struct fl__config *base,
		     const struct fl_spawn_args *a, int *ret_pidfd, struct fl_error *e)
{
	struct fl_spawn_args sa = *a;
	struct fl__config c = *base; /* shallow: owned by base */
	bool script = t->script; /* fd templates: fixed at create */
	int newfd = -1, r;

	if (a->path)
		return fail(e, EINVAL, FL_TCHECK_ARGS);
	if (a->nactions && !a->actions)
		return fail(e, EFAULT, FL_TCHECK_ARGS);
	if (!same_creds(t))
		return fail(e, EACCES, FL_TCHECK_CREDS);
	pthread_mutex_lock(&t->id_lock);
	struct stat was = t->id;
	pthread_mutex_unlock(&t->id_lock);
	if (t->filename && (r = follow(t, tfd, &newfd, &script, e)) < 0)
		return r;
	if (t->warm && (newfd >= 0 || !same_file(&was, &t->id))) {
		/* FL_TEMPLATE_FOLLOW_PATH found another file: the warm server
		 * runs the old one; it goes, and this spawn is cold */
		fl__warm_stop(t->warm);
		__atomic_store_n(&t->warm->reason, FL_WARM_START, __ATOMIC_RELAXED);
	}
	c.warm = t->warm;
	c.ktfd = newfd < 0 ? t->ktfd : -1;
	c.execfd = newfd >= 0 ? newfd : execfd >= 0 ? execfd : tfd;
	c.path = c.execfd < 0 ? t->filename : NULL; /* no handle (FORKLESS_WARM's): by its path, just checked */
	c.execfd_inherit = false;
	if (script && t->filename) { /* by its path, just checked */
		c.execfd = -1;
		c.path = t->filename;
	} else if (script) {
		c.execfd_inherit = true;
	}
	if (t->flags & FL_TEMPLATE_INHERIT_FDS)
		sa.flags |= FL_SPAWN_INHERIT_FDS;
	sa.actions = merge(t, a);
	sa.nactions = t->nactions + a->nactions;
	if (!sa.actions) {
		r = fail(e, ENOMEM, FL_TCHECK_ARGS);
	} else {
		r = fl__run(&c, &sa, ret_pidfd, e);
		free((void *)sa.actions);
	}
	if (newfd >= 0)
		close(newfd);
	return r;
}

static int template_spawn(int tfd, struct fl_spawn_args *args, size_t size)
{
	FL__KEEP_ERRNO;
	struct fl_error scratch, *e = &scratch;
	struct fl_spawn_args a;
	struct fl__template *t;
	int pidfd = -1, r;

	r = fl__copy_spawn_args(&a, args, size);
	if (a.error)
		e = a.error;
	*e = (struct fl_error){ 0, FL_STAGE_NONE, -1 };
	if (r < 0)
		return fail(e, -r, FL_TCHECK_ARGS);
	if ((r = fl__template_acquire(tfd, &t)) < 0) {
		e->err = -r;
		e->stage = FL_STAGE_CONFIG;
		return r;
	}
	r = fl__template_run(t, tfd, -1, &t->cfg, &a, a.pidfd ? &pidfd : NULL, e);
	if (r >= 0 && a.pidfd)
		*a.pidfd = pidfd;
	fl__template_release(t);
	return r;
}

static int template_destroy(int tfd)
{
	struct fl__handle *h;
	int r = fl__handle_get(tfd, &h);

	if (r == -ENOENT)
		return fcntl(tfd, F_GETFD) < 0 ? -EBADF : -EINVAL;
	if (r < 0)
		return r;
	if (h->kind != FL__H_TEMPLATE) {
		fl__handle_put(h);
		return -EINVAL;
	}
	fl__handle_remove(tfd, h);
	close(tfd);
	fl__handle_put(h); /* the last reference: freed now (a spawn in flight keeps its own) */
	return 0;
}

FL__EXPORT int fl_spawn_template_destroy(int tfd)
{
	FL__KEEP_ERRNO;
	int cs, r;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = template_destroy(tfd);
	pthread_setcancelstate(cs, NULL);
	return r;
}

static int template_warm(int tfd)
{
	struct fl__template *t;
	int r = fl__template_acquire(tfd, &t);

	if (r < 0)
		return r;
	r = t->warm ? fl__warm_check(t->warm) : t->cold_reason;
	fl__template_release(t);
	return r;
}

FL__EXPORT int fl_spawn_template_warm(int tfd)
{
	FL__KEEP_ERRNO;
	int cs, r;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = template_warm(tfd);
	pthread_setcancelstate(cs, NULL);
	return r;
}

FL__EXPORT const char *fl_strwarm(int reason)
{
	static const char *const text[] = {
		[FL_WARM_YES] = "warm",
		[FL_WARM_NOT_ASKED] = "not asked to be warm",
		[FL_WARM_STATIC] = "a static executable",
		[FL_WARM_SETID] = "set-user-ID or set-group-ID",
		[FL_WARM_FCAPS] = "file capabilities",
		[FL_WARM_SCRIPT] = "a script",
		[FL_WARM_INTERP] = "its interpreter is not glibc's dynamic linker",
		[FL_WARM_NO_START_MAIN] = "does not start through __libc_start_main",
		[FL_WARM_THREADS] = "threads before main",
		[FL_WARM_FDS] = "fds open before main",
		[FL_WARM_SIGNALS] = "signal handlers before main",
		[FL_WARM_AGENT] = "the warm agent did not report",
		[FL_WARM_UNSUPPORTED] = "not supported here",
		[FL_WARM_START] = "its warm server could not start",
	};
	if (reason < 0 || reason >= (int)(sizeof(text) / sizeof(text[0])) || !text[reason])
		return "unknown";
	return text[reason];
}

FL__EXPORT int fl_spawn_template_create(struct fl_template_args *args, size_t size)
{
	int cs, r;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = template_create(args, size);
	pthread_setcancelstate(cs, NULL);
	return r;
}

FL__EXPORT int fl_spawn_template_spawn(int tfd, struct fl_spawn_args *args, size_t size)
{
	int cs, r;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = template_spawn(tfd, args, size);
	pthread_setcancelstate(cs, NULL);
	return r;
}
