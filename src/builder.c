/* SPDX-License-Identifier: MIT */
/*
 * builder.c - the process builder front end: fl_pidfd_open(0, FL_PIDFD_EMPTY),
 * fl_pidfd_config(), fl_pidfd_spawn_run(), and waiting/killing on its handle.
 *
 * A builder handle is a memfd (O_CLOEXEC), an embryo handle the embryo's
 * pidfd; both live in the handle table (handle.c), which checks identity
 * and owner on every call.  After a successful run the child's pidfd is
 * dup3()'d onto the builder handle's number, if that number still is the
 * handle.  h->lock guards a handle's state and configuration; a run reads
 * the configuration without it (B_RUNNING keeps it unchanged).
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

#include "handle.h"
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
	char *search;        /* FL_SPAWN_ASYNC: the $PATH the run searches */
	struct fl_action *actions;
	size_t nactions;
	struct emb *next;    /* released while still on its way to exec */
	struct fl__config cfg; /* the handle's configuration, which the spec points
				* into, once the handle is gone */
};

/* Embryos whose handle is gone but which still use their memory. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emb *pending;

/* A builder or embryo handle; h->lock guards the rest. */
struct builder {
	struct fl__handle h;
	int state;
	struct fl__config cfg;
	struct emb *emb; /* embryo handles */
};

static void emb_release(struct emb *m);
static void emb_reap_pending(void);

/* The last reference is gone (handle.c).  Not ours: a fork child's copy of
 * its creator's entry, whose fds and embryo are the creator's. */
static void builder_free(struct fl__handle *h, bool ours)
{
	struct builder *b = (struct builder *)h;

	if (!ours) {
		b->cfg.execfd = b->cfg.cwd_fd = b->cfg.ctty_fd = b->cfg.cgroup_fd = -1;
		b->cfg.tmpl_fd = -1;
		b->cfg.tmpl = NULL; /* a copy: the creator frees its own */
		b->emb = NULL;
	}
	if (b->emb) {
		/* the embryo may still read the configuration: it goes with it */
		b->emb->cfg = b->cfg;
		fl__config_init(&b->cfg);
		emb_release(b->emb);
	}
	fl__config_free(&b->cfg);
	free(b);
}

/*
 * The builder or embryo handle fd, with a reference.  Errors: -EBADF not
 * open, -EBADFD created by another process, -EBUSY a pidfd (a started
 * process), -EINVAL any other fd (a template handle too).
 */
static int get_builder(int fd, struct builder **ret)
{
	struct fl__handle *h;
	int r = fl__handle_get(fd, &h);

	if (r == 0 && !(h->kind & (FL__H_BUILDER | FL__H_EMBRYO))) {
		fl__handle_put(h);
		return -EINVAL;
	}
	if (r == 0) {
		*ret = (struct builder *)h;
		return 0;
	}
	if (r != -ENOENT)
		return r;
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	return fl__fd_is_pidfd(fd, NULL) ? -EBUSY : -EINVAL;
}

static int open_empty(void)
{
	struct builder *b = calloc(1, sizeof(*b));
	int fd, r;

	if (!b)
		return -ENOMEM;
	fl__config_init(&b->cfg);
	fd = memfd_create("forkless-builder", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(b);
		return r;
	}
	b->state = B_CONFIG;
	r = fl__handle_add(fd, &b->h, FL__H_BUILDER, 0, builder_free);
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
	free(m->search);
	fl__actions_free(m->actions, m->nactions);
	free(m->keep);
	m->path = m->search = NULL, m->argv = m->envp = NULL, m->actions = NULL, m->keep = NULL;
}

/*
 * The handle is gone (or the program exits): an embryo never run is told to
 * exit and reaped; the control block and stack are freed only once the
 * embryo no longer uses them (its mm released); otherwise they stay.
 */
static void emb_release(struct emb *m)
{
	if (!m->started)
		fl__embryo_kill(m->ctl);
	if (!fl__embryo_done(m->ctl, 0)) {
		int cs;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
		pthread_mutex_lock(&pending_lock);
		m->next = pending; /* still on its way to exec: freed later */
		pending = m;
		pthread_mutex_unlock(&pending_lock);
		pthread_setcancelstate(cs, NULL);
		return;
	}
	fl__embryo_free(m->ctl);
	emb_free_copies(m);
	free(m);
}

/* Free the released embryos that are done. */
static void emb_reap_pending(void)
{
	struct emb *done = NULL;
	int cs;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&pending_lock);
	for (struct emb **p = &pending; *p;) {
		struct emb *m = *p;
		if (!fl__embryo_done(m->ctl, 0)) {
			p = &m->next;
			continue;
		}
		*p = m->next;
		m->next = done;
		done = m;
	}
	pthread_mutex_unlock(&pending_lock);
	pthread_setcancelstate(cs, NULL);
	while (done) {
		struct emb *m = done;
		done = m->next;
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

	emb_reap_pending();
	if (m)
		fl__config_init(&m->cfg); /* its fds are -1, not 0 */
	if (!b || !m) {
		r = -ENOMEM;
		goto out_free;
	}
	fl__config_init(&b->cfg);
	if ((r = fl__embryo_new(&m->ctl, &fd)) < 0)
		goto out_free;
	b->emb = m;
	b->state = B_CONFIG;
	r = fl__handle_add(fd, &b->h, FL__H_EMBRYO, m->ctl->pid, builder_free);
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
	/* $PATH is read now, for a run that searches after this call returns */
	if ((a->flags & FL_SPAWN_ASYNC) && m->spec.search) {
		if (!(m->search = strdup(m->spec.search))) {
			e->err = ENOMEM, e->stage = FL_STAGE_CONFIG;
			return -ENOMEM;
		}
		m->spec.search = m->search;
	}
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
	FL__KEEP_ERRNO;
	struct builder *b;
	struct fl_error e = { 0, FL_STAGE_NONE, -1 };
	int cs, r;

	r = get_builder(fd, &b);
	if (r == -EBUSY)
		r = -EINVAL; /* a plain pidfd */
	if (r < 0)
		return r;
	cs = fl__handle_lock(&b->h);
	struct emb *m = b->emb;
	if (!m || !m->async) {
		r = -EINVAL;
	} else if (!m->known && !fl__embryo_done(m->ctl, 0)) {
		r = -EINPROGRESS;
	} else {
		if (!m->known) {
			/* reaped through the handle: the caller may have reaped
			 * it already, and the pid be another's */
			m->result = fl__outcome_reap(&m->rep, m->ctl->pid, -1, NULL, fd, &m->err);
			m->known = true;
		}
		r = m->result;
		e = m->err;
	}
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	if (r < 0 && r != -EINPROGRESS && ret_error && e.err)
		*ret_error = e;
	return r;
}

FL__EXPORT int fl_pidfd_open(pid_t pid, unsigned int flags)
{
	FL__KEEP_ERRNO;
	int cs, r = -EINVAL;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	if (pid == 0 && flags == FL_PIDFD_EMPTY)
		r = open_empty();
	else if (pid == 0 && flags == (FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO))
		r = open_embryo();
	else if (pid > 0 && flags == 0)
		r = (int)fl__sys2(__NR_pidfd_open, pid, 0); /* pidfds are always O_CLOEXEC */
	pthread_setcancelstate(cs, NULL);
	return r;
}

FL__EXPORT int fl_pidfd_config(int fd, unsigned int cmd, const char *key,
			       const void *value, int aux)
{
	FL__KEEP_ERRNO;
	struct builder *b;
	int cs, r;

	if ((r = get_builder(fd, &b)) < 0)
		return r;
	/* the handle's own lock: a slow name lookup here stalls no other handle */
	cs = fl__handle_lock(&b->h);
	if (b->state != B_CONFIG)
		r = -EBUSY;
	else
		r = b->emb ? emb_config(b, cmd, key, value, aux)
			   : fl__config_apply(&b->cfg, cmd, key, value, aux);
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	return r;
}

/*
 * The kernel's extensible-struct rule (copy_struct_from_user, as clone3
 * applies it): copy a caller's struct of any size >= ver0 into out
 * (out_size bytes, zero-filled beyond what the caller has); a larger size
 * is accepted if its extra bytes are zero (else -E2BIG, with out copied so
 * that its error pointer can still be used).  A size above a page is
 * -E2BIG and a size below ver0 -EINVAL, both before anything is read.
 */
int fl__copy_ext(void *out, size_t out_size, const void *in, size_t size, size_t ver0)
{
	memset(out, 0, out_size);
	if (!in && size == 0)
		return 1; /* no struct at all */
	if (size > fl__page_size())
		return -E2BIG;
	if (size < ver0)
		return -EINVAL;
	if (!in)
		return -EFAULT;
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
 * The handle becomes the child's pidfd, at the same number, if the number
 * still is the handle: one closed meanwhile (by another thread) may now be
 * anyone's fd, and is left alone; the pidfd is then the caller's at a
 * number of its own (*a->pidfd), or closed.  (h->lock held: a waiter sees
 * the new state and the new fd together.)
 */
static void become_pidfd(int fd, struct builder *b, int pidfd, const struct fl_spawn_args *a)
{
	if (fl__handle_replace(fd, &b->h, pidfd, O_CLOEXEC, false) == 0) {
		close(pidfd);
		if (a->pidfd)
			*a->pidfd = fd;
	} else if (a->pidfd) {
		*a->pidfd = pidfd;
	} else {
		close(pidfd);
	}
}

/*
 * The end of a run: the handle becomes the pidfd (pidfd >= 0), its state is
 * recorded, its waiters woken, the run's reference dropped.  A spent
 * builder's configuration is freed at once.
 */
static int run_finish(int fd, struct builder *b, int r, int pidfd, const struct fl_spawn_args *a)
{
	int cs = fl__handle_lock(&b->h);

	if (r >= 0 && pidfd >= 0)
		become_pidfd(fd, b, pidfd, a);
	b->state = r >= 0 ? B_STARTED : B_SPENT;
	if (r < 0 && !b->emb)
		fl__config_free(&b->cfg); /* spent: release its fds now (an embryo's may be in use) */
	pthread_cond_broadcast(&b->h.changed);
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	return r;
}

static int spawn_run(int fd, struct fl_spawn_args *args, size_t size)
{
	struct fl_error scratch, *e = args && size >= FL_SPAWN_ARGS_SIZE_VER0 &&
					      size <= fl__page_size() && args->error
					      ? args->error : &scratch;
	struct fl_spawn_args a;
	struct builder *b;
	int pidfd = -1, cs, r;

	r = get_builder(fd, &b);
	if (r == 0) {
		cs = fl__handle_lock(&b->h);
		if (b->state != B_CONFIG)
			r = -EBUSY;
		else
			b->state = B_RUNNING; /* config and a second run now get -EBUSY */
		fl__handle_unlock(&b->h, cs);
		if (r < 0)
			fl__handle_put(&b->h);
	}
	e->err = 0;
	e->stage = FL_STAGE_NONE;
	e->index = -1;
	if (r < 0) {
		e->err = -r;
		e->stage = FL_STAGE_CONFIG;
		return r;
	}
	/* the configuration is read without the lock: B_RUNNING keeps it still */
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
		if (r >= 0 && a.pidfd)
			*a.pidfd = fd; /* the handle already is the pidfd */
		if (!b->emb->async)
			fl__handle_remove(fd, &b->h); /* an ordinary pidfd now */
		/* an async run stays until collected */
		return run_finish(fd, b, r, -1, &a);
	} else if (b->cfg.tmpl) {
		r = fl__template_run(b->cfg.tmpl, -1, b->cfg.tmpl_fd, &b->cfg, &a, &pidfd, e);
	} else {
		r = fl__run(&b->cfg, &a, &pidfd, e);
	}
	return run_finish(fd, b, r, pidfd, &a);
}

FL__EXPORT int fl_pidfd_spawn_run(int fd, struct fl_spawn_args *args, size_t size)
{
	FL__KEEP_ERRNO;
	int cs, r;

	/* like posix_spawn: no cancellation inside (a run half done is a child
	 * nobody knows of) */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = spawn_run(fd, args, size);
	pthread_setcancelstate(cs, NULL);
	return r;
}

static bool started_or_spent(struct fl__handle *h)
{
	int st = ((struct builder *)h)->state;
	return st == B_STARTED || st == B_SPENT;
}

/*
 * For wait: 1 if fd is a started process (a pidfd), 0 if a builder not
 * started (nohang), or -errno.  Waits for a builder to start unless nohang;
 * a cancellation point then.
 */
static int wait_started(int fd, int nohang)
{
	struct fl__handle *h;
	struct builder *b;
	int cs, r;

	r = fl__handle_get(fd, &h);
	if (r == -ENOENT)
		return 1; /* not a handle: let waitid(P_PIDFD) judge the fd */
	if (r < 0)
		return r;
	if (h->kind != FL__H_BUILDER) {
		fl__handle_put(h);
		/* an embryo is a real process from the start: waitid waits for
		 * start and exit */
		return h->kind == FL__H_EMBRYO ? 1 : -EINVAL;
	}
	b = (struct builder *)h;
	cs = fl__handle_lock(h);
	if (nohang)
		r = started_or_spent(h) ? 0 : -EAGAIN;
	else
		r = fl__handle_wait(fd, h, started_or_spent, cs);
	if (r == 0)
		r = b->state == B_STARTED ? 1 : -ECHILD;
	else if (r == -EAGAIN)
		r = 0; /* not started: nothing to report yet */
	fl__handle_unlock(h, cs);
	fl__handle_put(h);
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
	FL__KEEP_ERRNO;
	siginfo_t si;
	int r;

	if (flags & ~(WNOHANG | WSTOPPED | WCONTINUED | WNOWAIT | WEXITED))
		return -EINVAL;
	r = wait_started(fd, flags & WNOHANG);
	if (r <= 0)
		return r;
	memset(&si, 0, sizeof(si));
	/* libc's waitid: a cancellation point, as waitpid(2) is; nothing of
	 * the library is held here */
	r = waitid((idtype_t)P_PIDFD, (id_t)fd, &si, flags | WEXITED) < 0 ? -errno : 0;
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

FL__EXPORT int fl_pidfd_kill(int fd, int sig)
{
	FL__KEEP_ERRNO;
	struct fl__handle *h;
	int cs, r;

	r = fl__handle_get(fd, &h);
	if (r == 0) {
		struct builder *b = (struct builder *)h;
		if (h->kind == FL__H_TEMPLATE) {
			r = -EBADF; /* not a pidfd */
		} else {
			cs = fl__handle_lock(h);
			/* a started embryo is an ordinary pidfd; anything else
			 * has no process to signal yet */
			r = b->emb && b->emb->started ? -ENOENT : -ESRCH;
			fl__handle_unlock(h, cs);
		}
		fl__handle_put(h);
	}
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
	pid_t pid = 0;
	if (!fl__fd_is_pidfd(fd, &pid))
		return -EBADF; /* not open, or not a pidfd: what pidfd_send_signal says */
	if (pid <= 0)
		return pid == 0 ? -ESRCH : -ENOSYS;
	return kill(pid, sig) < 0 ? -errno : 0;
}

/* ---- for template.c ----------------------------------------------------- */

int fl__builder_config_copy(int fd, struct fl__config *ret)
{
	struct builder *b;
	int cs, r;

	if ((r = get_builder(fd, &b)) < 0)
		return r;
	cs = fl__handle_lock(&b->h);
	r = b->state == B_CONFIG ? fl__config_copy(ret, &b->cfg) : -EBUSY;
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	return r;
}

static void builder_atfork_child(void)
{
	pthread_mutex_init(&pending_lock, NULL);
	pending = NULL; /* the creator's embryos, not ours */
}

__attribute__((constructor)) static void builder_init(void)
{
	pthread_atfork(NULL, NULL, builder_atfork_child);
}

/* At exit, free what handles the program never ran (for leak checkers). */
__attribute__((destructor)) static void builder_cleanup(void)
{
	fl__handle_cleanup();
	emb_reap_pending();
	fl__reserve_cleanup();
	fl__vfork_release_stack();
}
