/* SPDX-License-Identifier: MIT */
/*
 * builder.c - the process builder front end: fl_pidfd_open(0, FL_PIDFD_EMPTY),
 * fl_pidfd_config(), fl_pidfd_spawn_run(), and waiting/killing on its handle.
 *
 * A handle is a memfd (O_CLOEXEC) whose inode identifies it; the library keeps
 * its configuration in a table indexed by fd number and checks, on every call,
 * that the fd still refers to that memfd (the number may have been closed and
 * reused) and that the caller is the process that created it (a forked child
 * gets a copy of the fd and of the table, and must not use either).  After a
 * successful run the child's pidfd is dup3()'d onto the handle's number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

enum { B_CONFIG, B_RUNNING, B_STARTED, B_SPENT };

/* An embryo handle's state: the process exists from fl_pidfd_open on. */
struct emb {
	struct fl__embryo *ctl; /* shared with the embryo: freed only once it is done */
	uint32_t eager;      /* FL__SET_* the embryo applied at config time */
	struct fl__spec spec;
	int *keep;
	struct fl__report rep;
	bool started, async, known;
	int result;          /* pid or -errno, once known */
	struct fl_error err;
	char *path;          /* FL_SPAWN_ASYNC: copies that outlive the run call */
	char **argv, **envp;
	struct fl_action *actions;
	size_t nactions;
	struct emb *next;    /* released while still on its way to exec */
	struct fl__config cfg; /* the handle's configuration, which the spec points
				* into, once the handle is gone */
};

/* Embryos whose handle is gone but which still use their memory. */
static struct emb *pending;

/* A table entry: a builder, or (tmpl set) a spawn template's handle. */
struct builder {
	dev_t dev;
	ino_t ino;
	pid_t owner;
	int state;
	int refs; /* the table's reference plus waiters' */
	struct fl__config cfg;
	struct fl__template *tmpl;
	int mark; /* templates: F_SETOWN value of our open file (0: none, O_PATH) */
	struct emb *emb; /* embryo handles */
};

static void emb_release(struct emb *m, bool ours);
static void emb_reap_pending(void);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t state_changed = PTHREAD_COND_INITIALIZER;
static struct builder **table;
static size_t table_len;

static void builder_put(struct builder *b)
{
	if (--b->refs == 0) {
		if (b->tmpl)
			fl__template_release(b->tmpl);
		if (b->emb) {
			/* the embryo may still read the configuration: it goes with it */
			b->emb->cfg = b->cfg;
			fl__config_init(&b->cfg);
			emb_release(b->emb, b->owner == getpid());
		}
		fl__config_free(&b->cfg);
		free(b);
	}
}

/* Drop the table's entry for fd (lock held); self is getpid(). */
static void table_drop_as(int fd, pid_t self)
{
	struct builder *b = table[fd];

	table[fd] = NULL;
	/* Another process's entry (we are a fork child) holds fds and memory
	 * that are copies: release only what is ours to release, the memory. */
	if (b->owner != self) {
		b->cfg.execfd = b->cfg.cwd_fd = b->cfg.ctty_fd = b->cfg.cgroup_fd = -1;
		b->cfg.tmpl_fd = -1;
		b->tmpl = NULL; /* a copy: the creator frees its own */
		b->cfg.tmpl = NULL;
		b->emb = NULL; /* the embryo is the creator's child, not ours */
	}
	builder_put(b);
}

static void table_drop(int fd)
{
	table_drop_as(fd, getpid());
}

/* Whether fd is a pidfd: its fdinfo has a "Pid:" line (pidfd_send_signal as a fallback). */
static int is_pidfd(int fd)
{
	char path[48], buf[512];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		long r = fl__sys4(__NR_pidfd_send_signal, fd, 0, NULL, 0);
		return r == 0 || r == -ESRCH || r == -EPERM;
	}
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, "\nPid:") != NULL;
}

/*
 * Find the builder of fd (lock held).  Errors: -ENOENT not a builder (no
 * system call made when the slot is empty), -EBADF not open, -EBADFD
 * created by another process.
 */
static int lookup(int fd, struct builder **ret)
{
	struct stat st;
	struct builder *b;

	if (fd < 0)
		return -EBADF;
	b = (size_t)fd < table_len ? table[fd] : NULL;
	if (!b)
		return -ENOENT;
	if (fstat(fd, &st) < 0) {
		table_drop(fd);
		return -EBADF;
	}
	/* A template handle is the executable's own fd: the same file opened
	 * again at the same number has our F_SETOWN mark only if it is ours. */
	if (b->dev != st.st_dev || b->ino != st.st_ino ||
	    (b->mark && fcntl(fd, F_GETOWN) != b->mark)) {
		table_drop(fd); /* closed and the number reused */
		return -ENOENT;
	}
	if (b->owner != getpid())
		return -EBADFD;
	*ret = b;
	return 0;
}

/* lookup() for calls that need a builder: -EBUSY for a started process, -EINVAL for any other fd. */
static int lookup_builder(int fd, struct builder **ret)
{
	int r = lookup(fd, ret);

	if (r == 0 && (*ret)->tmpl)
		return -EINVAL; /* a template handle */
	if (r != -ENOENT)
		return r;
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	return is_pidfd(fd) ? -EBUSY : -EINVAL;
}

/*
 * Release the entries whose fd was closed (lock held).  A handle closed
 * with close(2) leaves its configuration here, fds included, until its
 * number is reused or this sweep runs, at every fl_pidfd_open(0,
 * FL_PIDFD_EMPTY) and fl_spawn_template_create(), and at every 8th embryo
 * open (an fstat per live handle would cost more than the rest of handing
 * out a reserved embryo).
 */
static void sweep(pid_t self)
{
	struct stat st;

	emb_reap_pending();
	for (size_t i = 0; i < table_len; i++) {
		struct builder *b = table[i];
		if (!b || b->owner != self)
			continue;
		if (fstat((int)i, &st) < 0 || b->dev != st.st_dev || b->ino != st.st_ino ||
		    (b->mark && fcntl((int)i, F_GETOWN) != b->mark))
			table_drop_as((int)i, self);
	}
}

static int table_insert(int fd, struct builder *b, pid_t self)
{
	if ((size_t)fd >= table_len) {
		size_t n = table_len ? table_len : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct builder **t = realloc(table, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + table_len, 0, (n - table_len) * sizeof(*t));
		table = t;
		table_len = n;
	}
	if (table[fd])
		table_drop_as(fd, self); /* a stale entry: that handle was closed */
	table[fd] = b;
	return 0;
}

/* Enter b for handle fd (identity from fstat, owned by this process, one
 * reference); sweeps closed handles first.  0 or -errno. */
static int register_entry(int fd, struct builder *b, int state)
{
	static unsigned int embryos;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->owner = getpid();
	b->state = state;
	b->refs = 1;
	fl__config_init(&b->cfg);
	pthread_mutex_lock(&lock);
	if (!b->emb || ++embryos % 8 == 0)
		sweep(b->owner);
	else
		emb_reap_pending();
	r = table_insert(fd, b, b->owner);
	pthread_mutex_unlock(&lock);
	return r;
}

static int open_empty(void)
{
	struct builder *b = calloc(1, sizeof(*b));
	int fd, r;

	if (!b)
		return -ENOMEM;
	fd = memfd_create("forkless-builder", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(b);
		return r;
	}
	r = register_entry(fd, b, B_CONFIG);
	if (r < 0) {
		close(fd);
		free(b);
		return r;
	}
	return fd;
}

/* ---- embryo handles ----------------------------------------------------- */

static void emb_free_copies(struct emb *m)
{
	fl__config_free(&m->cfg);
	free(m->path);
	free(m->argv);
	free(m->envp);
	fl__actions_free(m->actions, m->nactions);
	free(m->keep);
	m->path = NULL, m->argv = m->envp = NULL, m->actions = NULL, m->keep = NULL;
}

/*
 * The handle is gone (or the program exits): an embryo never run is told to
 * exit and reaped; the control block and stack are freed only once the
 * embryo no longer uses them (its mm released); otherwise they stay.
 */
static void emb_release(struct emb *m, bool ours)
{
	if (!ours)
		return;
	if (!m->started)
		fl__embryo_kill(m->ctl);
	if (!fl__embryo_done(m->ctl, 0)) {
		m->next = pending; /* still on its way to exec: freed later */
		pending = m;
		return;
	}
	fl__embryo_free(m->ctl);
	emb_free_copies(m);
	free(m);
}

/* Free the released embryos that are done (lock held). */
static void emb_reap_pending(void)
{
	for (struct emb **p = &pending; *p;) {
		struct emb *m = *p;
		if (!fl__embryo_done(m->ctl, 0)) {
			p = &m->next;
			continue;
		}
		*p = m->next;
		fl__embryo_free(m->ctl);
		emb_free_copies(m);
		free(m);
	}
}

static int open_embryo(void)
{
	struct builder *b = calloc(1, sizeof(*b));
	struct emb *m = calloc(1, sizeof(*m));
	int fd = -1, r;

	if (m)
		fl__config_init(&m->cfg); /* its fds are -1, not 0 */
	if (!b || !m) {
		r = -ENOMEM;
		goto out_free;
	}
	if ((r = fl__embryo_new(&m->ctl, &fd)) < 0)
		goto out_free;
	b->emb = m;
	r = register_entry(fd, b, B_CONFIG);
	if (r < 0) {
		fl__embryo_kill(m->ctl);
		fl__embryo_free(m->ctl);
		close(fd);
		goto out_free;
	}
	return fd;

out_free:
	free(m);
	free(b);
	return r;
}

/* Keys an embryo applies itself at config time, and their FL__SET_ bits. */
static uint32_t eager_bits(const char *key)
{
	if (!key)
		return 0;
	if (!strcmp(key, "cwd"))
		return FL__SET_CWD;
	if (!strcmp(key, "affinity"))
		return FL__SET_AFFINITY;
	if (!strcmp(key, "mempolicy"))
		return FL__SET_MEMPOLICY;
	if (!strcmp(key, "numa_node"))
		return FL__SET_AFFINITY | FL__SET_MEMPOLICY;
	return 0;
}

/* Have the embryo apply what key set in c; 0 or -errno. */
static long emb_apply(struct emb *m, const struct fl__config *c, uint32_t bits)
{
	const struct fl__spec *s = &c->spec;
	long r = 0;

	if ((bits & FL__SET_CWD) && (s->set & FL__SET_CWD))
		r = c->cwd_fd >= 0 ? fl__embryo_op(m->ctl, FL__OP_FCHDIR, NULL, c->cwd_fd, 0)
				   : fl__embryo_op(m->ctl, FL__OP_CHDIR, c->cwd, 0, 0);
	if (r == 0 && (bits & FL__SET_AFFINITY) && (s->set & FL__SET_AFFINITY))
		r = fl__embryo_op(m->ctl, FL__OP_AFFINITY, &c->affinity, sizeof(c->affinity), 0);
	if (r == 0 && (bits & FL__SET_MEMPOLICY) && (s->set & FL__SET_MEMPOLICY))
		r = fl__embryo_op(m->ctl, FL__OP_MEMPOLICY, s->mpol_maxnode ? c->nodes : NULL,
				  s->mpol_mode, (long)s->mpol_maxnode);
	return r;
}

/*
 * Config of an embryo (lock held): keys that change the process (cwd,
 * affinity, memory policy) are done by the embryo now, so their error is
 * this call's and the work happens where the program will run.  Applied to
 * a copy first: on error nothing changes.  Once applied they cannot be
 * unset (-EBUSY): the embryo already is there.
 */
static int emb_config(struct builder *b, unsigned int cmd, const char *key, const void *value,
		      int aux)
{
	uint32_t bits = eager_bits(key);
	struct fl__config tmp;
	int r;

	if (!bits)
		return fl__config_apply(&b->cfg, cmd, key, value, aux);
	if (cmd == FL_CONFIG_UNSET)
		return (b->emb->eager & bits) ? -EBUSY : fl__config_apply(&b->cfg, cmd, key, value, aux);
	if ((r = fl__config_copy(&tmp, &b->cfg)) < 0)
		return r;
	r = fl__config_apply(&tmp, cmd, key, value, aux);
	if (r == 0)
		r = (int)emb_apply(b->emb, &tmp, bits);
	if (r < 0) {
		fl__config_free(&tmp);
		return r;
	}
	fl__config_free(&b->cfg);
	b->cfg = tmp;
	b->emb->eager |= bits;
	return 0;
}

/* Copies of what an asynchronous run reads after fl_pidfd_spawn_run returns. */
static int emb_copy_args(struct emb *m, const struct fl__config *c, struct fl_spawn_args *a)
{
	int r;

	if (a->path && !(m->path = strdup(a->path)))
		return -ENOMEM;
	if (a->argv && !(m->argv = fl__strv_dup(a->argv)))
		return -ENOMEM;
	if (!a->envp && !c->envp)
		a->envp = environ; /* the snapshot, taken now */
	if (a->envp && !(m->envp = fl__strv_dup(a->envp)))
		return -ENOMEM;
	if ((r = fl__actions_dup(a->actions, a->nactions, &m->actions)) < 0)
		return r;
	m->nactions = a->nactions;
	a->path = m->path;
	a->argv = m->argv ? m->argv : NULL;
	a->envp = m->envp;
	a->actions = m->actions;
	return 0;
}

/* Run embryo handle fd: synchronously, or released with FL_SPAWN_ASYNC. */
static int emb_run(int fd, struct builder *b, struct fl_spawn_args *a, struct fl_error *e)
{
	struct emb *m = b->emb;
	int r;

	if ((a->flags & FL_SPAWN_ASYNC) && (r = emb_copy_args(m, &b->cfg, a)) < 0) {
		e->err = -r, e->stage = FL_STAGE_CONFIG;
		return r;
	}
	if ((r = fl__prepare(&b->cfg, a, &m->spec, &m->keep, e)) < 0)
		return r;
	m->spec.set &= ~m->eager; /* already done, by the embryo itself */
	m->spec.mode |= FL__MODE_EMBRYO | FL__MODE_FILES_SHARED | m->ctl->mode;
	m->spec.errfd = -1;
	m->rep = (struct fl__report){ 0, 0, -1, 0, 0 };
	m->ctl->arg = (struct fl__child_arg){ &m->spec, &m->rep, NULL };
	m->async = a->flags & FL_SPAWN_ASYNC;
	m->started = true;
	fl__embryo_start(m->ctl);
	if (m->async)
		return m->ctl->pid; /* the fds the actions read must stay open until the outcome is known */
	fl__embryo_done(m->ctl, 1);
	m->result = fl__outcome_reap(&m->rep, m->ctl->pid, -1, NULL, fd, e);
	m->known = true;
	return m->result;
}

FL__EXPORT int fl_pidfd_spawn_result(int fd, struct fl_error *ret_error)
{
	struct builder *b;
	struct fl_error e = { 0, FL_STAGE_NONE, -1 };
	int r;

	pthread_mutex_lock(&lock);
	r = lookup(fd, &b);
	if (r == -ENOENT)
		r = fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
	else if (r == 0 && (!b->emb || !b->emb->async))
		r = -EINVAL;
	if (r == 0) {
		struct emb *m = b->emb;
		if (!m->known && !fl__embryo_done(m->ctl, 0)) {
			r = -EINPROGRESS;
		} else {
			if (!m->known) {
				/* reaped through the handle: the caller may have
				 * reaped it already, and the pid be another's */
				m->result = fl__outcome_reap(&m->rep, m->ctl->pid, -1, NULL, fd, &m->err);
				m->known = true;
			}
			r = m->result;
			e = m->err;
		}
	}
	pthread_mutex_unlock(&lock);
	if (r < 0 && r != -EINPROGRESS && ret_error && e.err)
		*ret_error = e;
	return r;
}

FL__EXPORT int fl_pidfd_open(pid_t pid, unsigned int flags)
{
	if (pid == 0 && flags == FL_PIDFD_EMPTY)
		return open_empty();
	if (pid == 0 && flags == (FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO))
		return open_embryo();
	if (pid > 0 && flags == 0) {
		long r = fl__sys2(__NR_pidfd_open, pid, 0);
		return (int)r; /* pidfds are always O_CLOEXEC */
	}
	return -EINVAL;
}

FL__EXPORT int fl_pidfd_config(int fd, unsigned int cmd, const char *key,
			       const void *value, int aux)
{
	struct builder *b;
	int r;

	pthread_mutex_lock(&lock);
	r = lookup_builder(fd, &b);
	if (r == 0 && b->state != B_CONFIG)
		r = -EBUSY;
	else if (r == 0)
		r = b->emb ? emb_config(b, cmd, key, value, aux)
			   : fl__config_apply(&b->cfg, cmd, key, value, aux);
	pthread_mutex_unlock(&lock);
	return r;
}

/*
 * The kernel's extensible-struct rule: copy a caller's struct of any size
 * >= ver0 into out (out_size bytes, zero-filled beyond what the caller has);
 * a larger size is accepted if its extra bytes are zero (else -E2BIG, with
 * out copied so that its error pointer can still be used).
 */
int fl__copy_ext(void *out, size_t out_size, const void *in, size_t size, size_t ver0)
{
	memset(out, 0, out_size);
	if (!in)
		return size == 0 ? 1 : -EFAULT; /* 1: no struct at all */
	if (size < ver0)
		return -E2BIG;
	memcpy(out, in, size < out_size ? size : out_size);
	for (size_t i = out_size; i < size; i++)
		if (((const unsigned char *)in)[i])
			return -E2BIG;
	return 0;
}

int fl__copy_spawn_args(struct fl_spawn_args *out, const struct fl_spawn_args *a, size_t size)
{
	int r = fl__copy_ext(out, sizeof(*out), a, size, FL_SPAWN_ARGS_SIZE_VER0);
	return r > 0 ? 0 : r;
}

/*
 * The end of a run (takes the lock): record the handle's state, drop the
 * run's reference, and take the entry out of the table when the fd is a
 * plain pidfd now (leave).  A spent builder's configuration is freed at once.
 */
static int run_finish(int fd, struct builder *b, const struct fl_spawn_args *a, int r, bool leave)
{
	if (r >= 0 && a->pidfd)
		*a->pidfd = fd;
	pthread_mutex_lock(&lock);
	b->state = r >= 0 ? B_STARTED : B_SPENT;
	if (r < 0 && !b->emb)
		fl__config_free(&b->cfg); /* spent: release its fds now (an embryo's may be in use) */
	if (leave && (size_t)fd < table_len && table[fd] == b) {
		table[fd] = NULL;
		builder_put(b);
	}
	pthread_cond_broadcast(&state_changed);
	builder_put(b);
	pthread_mutex_unlock(&lock);
	return r;
}

FL__EXPORT int fl_pidfd_spawn_run(int fd, struct fl_spawn_args *args, size_t size)
{
	struct fl_error scratch, *e = args && size >= FL_SPAWN_ARGS_SIZE_VER0 && args->error
					      ? args->error : &scratch;
	struct fl_spawn_args a;
	struct builder *b;
	int pidfd = -1, r;

	pthread_mutex_lock(&lock);
	r = lookup_builder(fd, &b);
	if (r == 0 && b->state != B_CONFIG)
		r = -EBUSY;
	if (r == 0) {
		b->state = B_RUNNING; /* config and a second run now get -EBUSY */
		b->refs++;
	}
	pthread_mutex_unlock(&lock);
	e->err = 0;
	e->stage = FL_STAGE_NONE;
	e->index = -1;
	if (r < 0) {
		e->err = -r;
		e->stage = FL_STAGE_CONFIG;
		return r;
	}
	r = fl__copy_spawn_args(&a, args, size);
	if (r < 0) {
		e->err = -r;
		e->stage = FL_STAGE_CONFIG;
	} else if (b->emb) {
		if (b->cfg.tmpl) {
			r = -EINVAL; /* an embryo runs no template (yet) */
			e->err = EINVAL, e->stage = FL_STAGE_CONFIG;
		} else {
			r = emb_run(fd, b, &a, e);
		}
		/* the handle already is the pidfd; an async run stays until collected */
		return run_finish(fd, b, &a, r, !b->emb->async);
	} else if (b->cfg.tmpl) {
		r = fl__template_run(b->cfg.tmpl, -1, b->cfg.tmpl_fd, &b->cfg, &a, &pidfd, e);
	} else {
		r = fl__run(&b->cfg, &a, &pidfd, e);
	}
	if (r >= 0) {
		/* The handle becomes the pidfd, at the same number. */
		dup3(pidfd, fd, O_CLOEXEC);
		close(pidfd);
	}
	return run_finish(fd, b, &a, r, r >= 0);
}

/*
 * For wait: 1 if fd is a started process (a pidfd), 0 if a builder that
 * started meanwhile, or -errno.  Waits for a builder to start unless nohang.
 */
static int wait_started(int fd, int nohang)
{
	struct builder *b;
	int r;

	pthread_mutex_lock(&lock);
	r = lookup(fd, &b);
	if (r == -ENOENT) {
		pthread_mutex_unlock(&lock);
		return 1; /* not a builder: let waitid(P_PIDFD) judge the fd */
	}
	if (r == 0 && b->tmpl)
		r = -EINVAL;
	if (r == 0 && b->emb) {
		pthread_mutex_unlock(&lock);
		return 1; /* a real process from the start: waitid waits for start and exit */
	}
	if (r == 0 && nohang) {
		r = b->state == B_SPENT ? -ECHILD : 0;
	} else if (r == 0) {
		b->refs++;
		while (b->state == B_CONFIG || b->state == B_RUNNING)
			pthread_cond_wait(&state_changed, &lock);
		r = b->state == B_STARTED ? 1 : -ECHILD;
		builder_put(b);
	}
	pthread_mutex_unlock(&lock);
	return r;
}

/* waitid()'s siginfo as a waitpid() status. */
static int status_of(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return (si->si_status & 0xff) << 8;
	case CLD_KILLED:
		return si->si_status & 0x7f;
	case CLD_DUMPED:
		return (si->si_status & 0x7f) | 0x80;
	case CLD_STOPPED:
	case CLD_TRAPPED:
		return ((si->si_status & 0xff) << 8) | 0x7f;
	case CLD_CONTINUED:
		return 0xffff;
	}
	return 0;
}

FL__EXPORT int fl_pidfd_wait(int fd, int *ret_status, int flags)
{
	siginfo_t si;
	int r;

	if (flags & ~(WNOHANG | WSTOPPED | WCONTINUED | WNOWAIT | WEXITED))
		return -EINVAL;
	r = wait_started(fd, flags & WNOHANG);
	if (r <= 0)
		return r;
	memset(&si, 0, sizeof(si));
	r = (int)fl__sys5(__NR_waitid, P_PIDFD, fd, &si, flags | WEXITED, NULL);
	if (r == -EBADF && fcntl(fd, F_GETFD) >= 0)
		return -EINVAL; /* open, but not a pidfd */
	if (r < 0)
		return r;
	if (si.si_pid == 0)
		return 0; /* WNOHANG, nothing yet */
	if (ret_status)
		*ret_status = status_of(&si);
	return si.si_pid;
}

/* The pid a pidfd refers to (its fdinfo "Pid:" line), 0 once the process
 * is reaped (fdinfo then says -1 or 0), or -errno. */
static pid_t pidfd_pid(int fd)
{
	char path[48], buf[512], *p;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	p = strstr(buf, "\nPid:");
	if (!p)
		return -EBADF; /* not a pidfd: what pidfd_send_signal says */
	pid_t pid = (pid_t)atoi(p + 5);
	return pid > 0 ? pid : 0;
}

FL__EXPORT int fl_pidfd_kill(int fd, int sig)
{
	struct builder *b;
	int r;

	pthread_mutex_lock(&lock);
	r = lookup(fd, &b);
	if (r == 0 && b->tmpl)
		r = -EBADF; /* not a pidfd */
	if (r == 0 && b->emb && b->emb->started)
		r = -ENOENT; /* running: an ordinary pidfd */
	pthread_mutex_unlock(&lock);
	if (r == 0)
		return -ESRCH; /* not started: there is no process to signal */
	if (r != -ENOENT)
		return r;
	r = (int)fl__sys4(__NR_pidfd_send_signal, fd, sig, NULL, 0);
	if (r != -ENOSYS)
		return r;
	/*
	 * pidfd_send_signal refused (seccomp, emulators): signal the pid the
	 * fdinfo names.  Exact for our own unreaped children (a zombie keeps
	 * its pid); for other processes the usual pid-reuse race applies.
	 */
	pid_t pid = pidfd_pid(fd);
	if (pid <= 0)
		return pid == 0 ? -ESRCH : pid == -ENOENT ? -EBADF : pid;
	return kill(pid, sig) < 0 ? -errno : 0;
}

/* ---- template handles -------------------------------------------------- */

int fl__builder_config_copy(int fd, struct fl__config *ret)
{
	struct builder *b;
	int r;

	pthread_mutex_lock(&lock);
	r = lookup_builder(fd, &b);
	if (r == 0)
		r = b->state == B_CONFIG ? fl__config_copy(ret, &b->cfg) : -EBUSY;
	pthread_mutex_unlock(&lock);
	return r;
}

int fl__template_register(int fd, struct fl__template *t)
{
	struct builder *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	b->tmpl = t;
	if (fcntl(fd, F_SETOWN, getpid()) == 0) /* fails on O_PATH: no mark then */
		b->mark = getpid();
	r = register_entry(fd, b, B_SPENT); /* never runs as a builder */
	if (r < 0)
		free(b);
	return r;
}

int fl__template_acquire(int fd, struct fl__template **ret, bool locked)
{
	struct builder *b;
	int r;

	if (!locked)
		pthread_mutex_lock(&lock);
	r = lookup(fd, &b);
	if (r == -ENOENT)
		r = fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
	else if (r == 0 && !b->tmpl)
		r = -EINVAL; /* a builder */
	if (r == 0) {
		fl__template_get(b->tmpl);
		*ret = b->tmpl;
	}
	if (!locked)
		pthread_mutex_unlock(&lock);
	return r;
}

int fl__template_repoint(int fd, int newfd, int cloexec)
{
	struct stat st;
	int r = 0;

	pthread_mutex_lock(&lock);
	if (fstat(newfd, &st) < 0 || (size_t)fd >= table_len || !table[fd] || !table[fd]->tmpl) {
		r = -EBADF;
	} else if (dup3(newfd, fd, cloexec ? O_CLOEXEC : 0) < 0) {
		r = -errno;
	} else {
		table[fd]->dev = st.st_dev;
		table[fd]->ino = st.st_ino;
		table[fd]->mark = fcntl(fd, F_SETOWN, getpid()) == 0 ? getpid() : 0;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

/* At exit, free what handles the program never ran (for leak checkers). */
__attribute__((destructor)) static void builder_cleanup(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < table_len; i++)
		if (table[i] && table[i]->refs == 1)
			table_drop((int)i);
	if (table) {
		int busy = 0;
		for (size_t i = 0; i < table_len; i++)
			busy |= table[i] != NULL;
		if (!busy) {
			free(table);
			table = NULL;
			table_len = 0;
		}
	}
	pthread_mutex_unlock(&lock);
	fl__reserve_cleanup();
	fl__vfork_release_stack();
}
